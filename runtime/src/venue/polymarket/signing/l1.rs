//! L1 authentication: the ClobAuth EIP-712 signature that creates or derives API keys, and its recovery.

use std::str::FromStr as _;

use alloy_primitives::{Address, B256, U256, hex, keccak256};
use alloy_sol_types::Eip712Domain;

use super::domain::typed_data_digest;
use super::order::SignatureType;
use super::secrets::{PrivateKey, SecretError};
use super::verify::{VerifyError, recover_prehash};

/// The fixed statement every ClobAuth signature attests to.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L1Error {
    #[error("POLY_ADDRESS `{0}` is not a 0x-prefixed 20-byte address")]
    Address(String),
    #[error("POLY_NONCE `{0}` is not a decimal uint256")]
    Nonce(String),
    #[error("POLY_SIGNATURE `{0}` is not 0x-prefixed hex")]
    SignatureHex(String),
    #[error("POLY_SIGNATURE: {0}")]
    Signature(VerifyError),
    #[error("POLY_SIGNATURE was made by {recovered}, not POLY_ADDRESS {claimed}")]
    Mismatch {
        recovered: Address,
        claimed: Address,
    },
}

/// The four L1 headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Headers {
    pub address: String,
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl L1Headers {
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_NONCE", &self.nonce),
        ]
    }
}

/// The EIP-712 digest of `ClobAuth{address, timestamp, nonce, message}` under the domain
/// `ClobAuthDomain` v1 on `chain_id` (no verifying contract).
pub fn clob_auth_signing_hash(
    chain_id: u64,
    address: Address,
    timestamp: &str,
    nonce: U256,
) -> B256 {
    let domain = Eip712Domain::new(
        Some("ClobAuthDomain".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        None,
        None,
    );
    let mut enc = [0u8; 32 * 5];
    enc[..32].copy_from_slice(keccak256(CLOB_AUTH_TYPE).as_slice());
    enc[44..64].copy_from_slice(address.as_slice());
    enc[64..96].copy_from_slice(keccak256(timestamp).as_slice());
    enc[96..128].copy_from_slice(&nonce.to_be_bytes::<32>());
    enc[128..].copy_from_slice(keccak256(CLOB_AUTH_MESSAGE).as_slice());
    typed_data_digest(&domain.separator(), &keccak256(enc))
}

/// Signs the L1 headers for `POST /auth/api-key` or `GET /auth/derive-api-key`.
pub fn l1_headers(
    key: &PrivateKey,
    chain_id: u64,
    timestamp: u64,
    nonce: u64,
) -> Result<L1Headers, SecretError> {
    let timestamp = timestamp.to_string();
    let digest = clob_auth_signing_hash(chain_id, key.address(), &timestamp, U256::from(nonce));
    let signature = key.sign_hash(&digest)?;
    Ok(L1Headers {
        address: key.address().to_checksum(None),
        signature: hex::encode_prefixed(signature.as_bytes()),
        timestamp,
        nonce: nonce.to_string(),
    })
}

/// The server's check of L1 headers as received: recovers the signer and requires it to be
/// `POLY_ADDRESS`. Freshness of the timestamp is the caller's rule.
pub fn recover_l1_signer(
    chain_id: u64,
    address: &str,
    signature: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<Address, L1Error> {
    let cut = |s: &str| s.chars().take(140).collect::<String>();
    let claimed = Address::from_str(address)
        .ok()
        .filter(|_| address.starts_with("0x"))
        .ok_or_else(|| L1Error::Address(cut(address)))?;
    let nonce_value = U256::from_str_radix(nonce, 10).map_err(|_| L1Error::Nonce(cut(nonce)))?;
    let sig = signature
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| L1Error::SignatureHex(cut(signature)))?;
    let digest = clob_auth_signing_hash(chain_id, claimed, timestamp, nonce_value);
    let recovered =
        recover_prehash(&sig, SignatureType::Eoa, &digest).map_err(L1Error::Signature)?;
    if recovered != claimed {
        return Err(L1Error::Mismatch { recovered, claimed });
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use alloy_primitives::b256;

    use super::*;
    use crate::venue::polymarket::signing::domain::AMOY;
    use crate::venue::polymarket::signing::sign::tests::key;

    const SIG: &str = "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b";

    #[test]
    fn reference_clob_auth_vector() {
        let k = key();
        assert_eq!(
            clob_auth_signing_hash(AMOY, k.address(), "10000000", U256::from(23)),
            b256!("0x8f442df8073c9cf2e36d7b20ca9d64d1a9352e982cc82a293b7de2df57920610")
        );
        let h = l1_headers(&k, AMOY, 10000000, 23).unwrap();
        assert_eq!(h.signature, SIG);
        assert_eq!(
            h.pairs(),
            [
                ("POLY_ADDRESS", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
                ("POLY_SIGNATURE", SIG),
                ("POLY_TIMESTAMP", "10000000"),
                ("POLY_NONCE", "23"),
            ]
        );
    }

    #[test]
    fn server_recovers_and_checks_the_claimed_address() {
        let h = l1_headers(&key(), AMOY, 10000000, 23).unwrap();
        let lower = h.address.to_lowercase();
        let got = recover_l1_signer(AMOY, &lower, &h.signature, &h.timestamp, &h.nonce).unwrap();
        assert_eq!(got, key().address());
        // Any changed field recovers someone else.
        let err = recover_l1_signer(AMOY, &h.address, &h.signature, "10000001", &h.nonce);
        assert!(matches!(err, Err(L1Error::Mismatch { .. })), "{err:?}");
        assert!(recover_l1_signer(137, &h.address, &h.signature, &h.timestamp, &h.nonce).is_err());
        assert!(matches!(
            recover_l1_signer(AMOY, "0x12", &h.signature, &h.timestamp, &h.nonce),
            Err(L1Error::Address(_))
        ));
        assert!(matches!(
            recover_l1_signer(AMOY, &h.address, &h.signature, &h.timestamp, "-1"),
            Err(L1Error::Nonce(_))
        ));
        assert!(matches!(
            recover_l1_signer(AMOY, &h.address, "0xzz", &h.timestamp, &h.nonce),
            Err(L1Error::SignatureHex(_))
        ));
        assert!(matches!(
            recover_l1_signer(AMOY, &h.address, "0x00", &h.timestamp, &h.nonce),
            Err(L1Error::Signature(VerifyError::Length { .. }))
        ));
    }
}
