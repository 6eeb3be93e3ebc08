//! The CLOB V2 order as signed (11 fields), its EIP-712 struct hash and its id.

use std::sync::LazyLock;

use alloy_primitives::{Address, B256, Keccak256, U256, keccak256};
use alloy_sol_types::SolStruct;

use super::amounts::Amounts;
use super::domain::{Exchange, typed_data_digest};
use super::salt::Salt;
use crate::model::{Side, TokenId};

mod sol {
    alloy_sol_types::sol! {
        /// Field order and types are the exchange's; the type string is derived from them.
        struct Order {
            uint256 salt;
            address maker;
            address signer;
            uint256 tokenId;
            uint256 makerAmount;
            uint256 takerAmount;
            uint8 side;
            uint8 signatureType;
            uint256 timestamp;
            bytes32 metadata;
            bytes32 builder;
        }
    }
}

/// The EIP-712 type string of the V2 order (186 bytes); POLY_1271 signatures embed it.
pub const ORDER_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";

/// `keccak256(ORDER_TYPE_STRING)`. alloy rebuilds and rehashes the type string on every
/// `eip712_hash_struct`; hashing it once takes about a third off the order hash.
static ORDER_TYPEHASH: LazyLock<B256> =
    LazyLock::new(|| keccak256(sol::Order::eip712_encode_type().as_bytes()));

/// Who holds the funds and how the exchange checks the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// maker = signer = an externally owned account.
    Eoa = 0,
    /// maker = Polymarket proxy wallet, signer = its owner EOA.
    PolyProxy = 1,
    /// maker = Gnosis Safe, signer = its owner EOA.
    PolyGnosisSafe = 2,
    /// maker = signer = deposit wallet (ERC-1271, ERC-7739 wrapped signature).
    Poly1271 = 3,
}

impl SignatureType {
    pub const fn code(self) -> u8 {
        self as u8
    }

    pub const fn from_code(code: u8) -> Option<SignatureType> {
        match code {
            0 => Some(SignatureType::Eoa),
            1 => Some(SignatureType::PolyProxy),
            2 => Some(SignatureType::PolyGnosisSafe),
            3 => Some(SignatureType::Poly1271),
            _ => None,
        }
    }
}

/// Side as the signed struct encodes it.
pub const fn side_code(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// A token id that does not fit the order's uint256.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token id `{0}` does not fit in a uint256")]
pub struct OrderIdError(pub String);

/// The fields of a V2 order that the signature covers. Amounts are in 6-decimal units
/// (1 share = 1 pUSD = 1_000_000); `timestamp_ms` is the creation time in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub salt: Salt,
    pub maker: Address,
    pub signer: Address,
    pub token_id: U256,
    pub maker_amount: u64,
    pub taker_amount: u64,
    pub side: Side,
    pub signature_type: SignatureType,
    pub timestamp_ms: u64,
    pub metadata: B256,
    pub builder: B256,
}

/// Whose funds an order moves and who signs it: fixed per trading account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub maker: Address,
    pub signer: Address,
    pub signature_type: SignatureType,
    /// Builder code attributed on every order (zero if none).
    pub builder: B256,
}

impl Account {
    /// An EOA trading its own funds.
    pub const fn eoa(address: Address) -> Account {
        Account::with(address, address, SignatureType::Eoa)
    }

    /// A Polymarket proxy wallet owned by `owner`.
    pub const fn proxy(proxy: Address, owner: Address) -> Account {
        Account::with(proxy, owner, SignatureType::PolyProxy)
    }

    /// A Gnosis Safe owned by `owner`.
    pub const fn safe(safe: Address, owner: Address) -> Account {
        Account::with(safe, owner, SignatureType::PolyGnosisSafe)
    }

    /// A deposit wallet: it is both maker and signer; its owner's key signs the wrapping.
    pub const fn deposit_wallet(wallet: Address) -> Account {
        Account::with(wallet, wallet, SignatureType::Poly1271)
    }

    const fn with(maker: Address, signer: Address, signature_type: SignatureType) -> Account {
        Account {
            maker,
            signer,
            signature_type,
            builder: B256::ZERO,
        }
    }
}

impl Order {
    /// An order of `account` on `token` with amounts from [`super::amounts`]. The salt is
    /// the caller's so it can be journaled before the order is sent.
    pub fn new(
        account: &Account,
        token: &TokenId,
        side: Side,
        amounts: Amounts,
        salt: Salt,
        timestamp_ms: u64,
    ) -> Result<Order, OrderIdError> {
        Ok(Order {
            salt,
            maker: account.maker,
            signer: account.signer,
            token_id: Order::token_id_of(token)?,
            maker_amount: amounts.maker,
            taker_amount: amounts.taker,
            side,
            signature_type: account.signature_type,
            timestamp_ms,
            metadata: B256::ZERO,
            builder: account.builder,
        })
    }

    /// The token id as the order's uint256.
    pub fn token_id_of(token: &TokenId) -> Result<U256, OrderIdError> {
        U256::from_str_radix(token.as_str(), 10).map_err(|_| OrderIdError(token.to_string()))
    }

    /// `hashStruct(Order)`.
    pub fn struct_hash(&self) -> B256 {
        let mut hasher = Keccak256::new();
        hasher.update(ORDER_TYPEHASH.as_slice());
        hasher.update(self.to_sol().eip712_encode_data());
        hasher.finalize()
    }

    fn to_sol(&self) -> sol::Order {
        sol::Order {
            salt: U256::from(self.salt.get()),
            maker: self.maker,
            signer: self.signer,
            tokenId: self.token_id,
            makerAmount: U256::from(self.maker_amount),
            takerAmount: U256::from(self.taker_amount),
            side: side_code(self.side),
            signatureType: self.signature_type.code(),
            timestamp: U256::from(self.timestamp_ms),
            metadata: self.metadata,
            builder: self.builder,
        }
    }

    /// The EIP-712 signing hash against `exchange`. It is also the order id the CLOB reports.
    pub fn signing_hash(&self, exchange: &Exchange) -> B256 {
        typed_data_digest(&exchange.separator(), &self.struct_hash())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloy_primitives::address;

    pub(crate) const TOKEN: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    pub(crate) const EOA: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

    /// The reference §4.5 vector 1 order.
    pub(crate) fn vector_order(salt: u64, side: Side, maker: u64, taker: u64, ts: u64) -> Order {
        Order {
            salt: Salt::new(salt).unwrap(),
            maker: EOA,
            signer: EOA,
            token_id: U256::from_str_radix(TOKEN, 10).unwrap(),
            maker_amount: maker,
            taker_amount: taker,
            side,
            signature_type: SignatureType::Eoa,
            timestamp_ms: ts,
            metadata: B256::ZERO,
            builder: B256::ZERO,
        }
    }

    #[test]
    fn cached_type_hash_gives_alloys_struct_hash() {
        let mut order = vector_order(7, Side::Sell, 3, 4, 5);
        order.builder = B256::repeat_byte(9);
        assert_eq!(order.struct_hash(), order.to_sol().eip712_hash_struct());
    }

    #[test]
    fn type_string_is_what_the_macro_derives() {
        assert_eq!(sol::Order::eip712_encode_type(), ORDER_TYPE_STRING);
        assert_eq!(ORDER_TYPE_STRING.len(), 186);
    }

    #[test]
    fn new_orders_take_the_account_and_amounts() {
        let token = TokenId::parse(TOKEN).unwrap();
        let amounts = Amounts {
            maker: 100_000_000,
            taker: 50_000_000,
        };
        let salt = Salt::new(123456789).unwrap();
        let order = Order::new(
            &Account::eoa(EOA),
            &token,
            Side::Buy,
            amounts,
            salt,
            1713398400000,
        );
        let expected = vector_order(123456789, Side::Buy, 100_000_000, 50_000_000, 1713398400000);
        assert_eq!(order.unwrap(), expected);
        let wallet = Address::repeat_byte(0x11);
        let mut acct = Account::deposit_wallet(wallet);
        acct.builder = B256::with_last_byte(1);
        let order = Order::new(&acct, &token, Side::Sell, amounts, salt, 1).unwrap();
        assert_eq!((order.maker, order.signer), (wallet, wallet));
        assert_eq!(order.signature_type, SignatureType::Poly1271);
        assert_eq!(order.builder, B256::with_last_byte(1));
        let safe = Account::safe(wallet, EOA);
        assert_eq!((safe.maker, safe.signer), (wallet, EOA));
        assert_eq!(Account::proxy(wallet, EOA).signature_type.code(), 1);
    }

    #[test]
    fn signature_type_codes_roundtrip() {
        for code in 0..4 {
            assert_eq!(SignatureType::from_code(code).unwrap().code(), code);
        }
        assert_eq!(SignatureType::from_code(4), None);
    }

    #[test]
    fn token_ids_beyond_uint256_are_refused() {
        let too_big = TokenId::parse(&"9".repeat(78)).unwrap();
        assert!(Order::token_id_of(&too_big).is_err());
        let ok = TokenId::parse(TOKEN).unwrap();
        assert_eq!(Order::token_id_of(&ok).unwrap().to_string(), TOKEN);
    }
}
