//! EIP-712 domains of the CTF exchanges (V2), with the separator computed once per exchange.

use alloy_primitives::{Address, B256, U256, address};
use alloy_sol_types::Eip712Domain;

/// Polygon PoS mainnet.
pub const POLYGON: u64 = 137;
/// Polygon Amoy testnet.
pub const AMOY: u64 = 80002;

/// CTF Exchange V2 (domain version "2"); the SDKs list the same address on Amoy.
pub const CTF_EXCHANGE_V2: Address = address!("0xE111180000d2663C0091e4f400237545B87B996B");
/// Neg-Risk CTF Exchange V2; the same on Amoy per the SDKs.
pub const NEG_RISK_CTF_EXCHANGE_V2: Address =
    address!("0xe2222d279d744050d28e00520010520000310F59");

/// Domain name every CTF exchange signs under.
pub const EXCHANGE_DOMAIN_NAME: &str = "Polymarket CTF Exchange";
/// Domain version of the CLOB V2 exchanges.
pub const EXCHANGE_DOMAIN_VERSION_V2: &str = "2";

/// One exchange contract on one chain: what an order's signature is bound to.
///
/// The domain separator is hashed once here because every order signed against the
/// exchange needs it and it never changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    chain_id: u64,
    contract: Address,
    separator: B256,
}

impl Exchange {
    /// The V2 exchange at `contract` on `chain_id`.
    pub fn v2(chain_id: u64, contract: Address) -> Exchange {
        let separator = Self::domain_of(chain_id, contract).separator();
        Exchange {
            chain_id,
            contract,
            separator,
        }
    }

    /// The V2 exchange a market trades on: neg-risk markets settle on their own contract.
    pub fn for_market(chain_id: u64, neg_risk: bool) -> Exchange {
        let contract = if neg_risk {
            NEG_RISK_CTF_EXCHANGE_V2
        } else {
            CTF_EXCHANGE_V2
        };
        Exchange::v2(chain_id, contract)
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub fn contract(&self) -> Address {
        self.contract
    }

    /// `hashStruct(EIP712Domain)` of this exchange.
    pub fn separator(&self) -> B256 {
        self.separator
    }

    /// The full domain, for callers that hand it to generic EIP-712 code.
    pub fn domain(&self) -> Eip712Domain {
        Self::domain_of(self.chain_id, self.contract)
    }

    fn domain_of(chain_id: u64, contract: Address) -> Eip712Domain {
        Eip712Domain::new(
            Some(EXCHANGE_DOMAIN_NAME.into()),
            Some(EXCHANGE_DOMAIN_VERSION_V2.into()),
            Some(U256::from(chain_id)),
            Some(contract),
            None,
        )
    }
}

/// `keccak256(0x1901 ‖ separator ‖ struct_hash)`: the EIP-712 digest that gets signed.
pub fn typed_data_digest(separator: &B256, struct_hash: &B256) -> B256 {
    let mut input = [0u8; 66];
    input[0] = 0x19;
    input[1] = 0x01;
    input[2..34].copy_from_slice(separator.as_slice());
    input[34..].copy_from_slice(struct_hash.as_slice());
    alloy_primitives::keccak256(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_separator_matches_the_generic_domain_hash() {
        let ex = Exchange::for_market(POLYGON, true);
        assert_eq!(ex.separator(), ex.domain().hash_struct());
        assert_eq!(ex.contract(), NEG_RISK_CTF_EXCHANGE_V2);
        assert_eq!(
            Exchange::for_market(AMOY, false).contract(),
            CTF_EXCHANGE_V2
        );
    }
}
