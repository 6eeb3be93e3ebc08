//! POLY_1271 (deposit wallet) signatures: the ERC-7739 `TypedDataSign` digest and the 317-byte wire form.

use std::sync::LazyLock;

use alloy_primitives::{Address, B256, U256, keccak256};

use super::domain::typed_data_digest;
use super::order::ORDER_TYPE_STRING;

/// r‖s‖v ‖ app domain separator ‖ contents ‖ type string ‖ uint16 length.
pub const WRAPPED_LEN: usize = 65 + 32 + 32 + ORDER_TYPE_STRING.len() + 2;

/// The deposit wallet's own EIP-712 domain name and version, which `TypedDataSign` nests.
const WALLET_NAME: &str = "DepositWallet";
const WALLET_VERSION: &str = "1";

/// keccak256("TypedDataSign(Order contents,…,bytes32 salt)" ‖ ORDER_TYPE_STRING), and the
/// name/version hashes: constant, so hashed once.
static TYPED_DATA_SIGN_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    let mut s = String::from(
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
    );
    s.push_str(ORDER_TYPE_STRING);
    keccak256(s.as_bytes())
});
static WALLET_NAME_HASH: LazyLock<B256> = LazyLock::new(|| keccak256(WALLET_NAME));
static WALLET_VERSION_HASH: LazyLock<B256> = LazyLock::new(|| keccak256(WALLET_VERSION));

/// The digest the wallet owner signs: `0x1901 ‖ appDomainSeparator ‖ hashStruct(TypedDataSign)`,
/// where the nested domain is the deposit wallet's on the exchange's chain.
pub fn wrapped_digest(
    app_separator: &B256,
    contents: &B256,
    chain_id: u64,
    wallet: Address,
) -> B256 {
    let mut enc = [0u8; 32 * 7];
    enc[..32].copy_from_slice(TYPED_DATA_SIGN_TYPEHASH.as_slice());
    enc[32..64].copy_from_slice(contents.as_slice());
    enc[64..96].copy_from_slice(WALLET_NAME_HASH.as_slice());
    enc[96..128].copy_from_slice(WALLET_VERSION_HASH.as_slice());
    enc[128..160].copy_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    enc[172..192].copy_from_slice(wallet.as_slice());
    // The salt word stays zero.
    typed_data_digest(app_separator, &keccak256(enc))
}

/// Appends the ERC-7739 trailer to a 65-byte owner signature.
pub fn wrap(sig65: &[u8; 65], app_separator: &B256, contents: &B256) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.extend_from_slice(sig65);
    out.extend_from_slice(app_separator.as_slice());
    out.extend_from_slice(contents.as_slice());
    out.extend_from_slice(ORDER_TYPE_STRING.as_bytes());
    out.extend_from_slice(&(ORDER_TYPE_STRING.len() as u16).to_be_bytes());
    out
}

/// The parts of a wrapped signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    pub sig65: &'a [u8; 65],
    pub app_separator: B256,
    pub contents: B256,
    pub type_string: &'a [u8],
}

/// Why a wrapped signature could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    #[error("POLY_1271 signature is {0} bytes, expected {WRAPPED_LEN}")]
    Length(usize),
    #[error("POLY_1271 signature declares a {declared}-byte type string but carries {actual}")]
    TypeLength { declared: usize, actual: usize },
}

/// Splits a 317-byte wrapped signature; the contents are checked by the caller.
pub fn unwrap(sig: &[u8]) -> Result<Unwrapped<'_>, UnwrapError> {
    if sig.len() != WRAPPED_LEN {
        return Err(UnwrapError::Length(sig.len()));
    }
    let (sig65, rest) = sig.split_at(65);
    let (app, rest) = rest.split_at(32);
    let (contents, rest) = rest.split_at(32);
    let (type_string, len) = rest.split_at(rest.len() - 2);
    let declared = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if declared != type_string.len() {
        return Err(UnwrapError::TypeLength {
            declared,
            actual: type_string.len(),
        });
    }
    let sig65 = <&[u8; 65]>::try_from(sig65).map_err(|_| UnwrapError::Length(sig.len()))?;
    Ok(Unwrapped {
        sig65,
        app_separator: B256::from_slice(app),
        contents: B256::from_slice(contents),
        type_string,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_length_is_317_bytes() {
        assert_eq!(WRAPPED_LEN, 317);
        let w = wrap(&[7u8; 65], &B256::repeat_byte(1), &B256::repeat_byte(2));
        assert_eq!(w.len(), 317);
        let u = unwrap(&w).unwrap();
        assert_eq!(u.sig65, &[7u8; 65]);
        assert_eq!(u.contents, B256::repeat_byte(2));
        assert_eq!(u.type_string, ORDER_TYPE_STRING.as_bytes());
    }

    #[test]
    fn malformed_wrappings_are_refused() {
        assert_eq!(unwrap(&[0u8; 65]), Err(UnwrapError::Length(65)));
        let mut w = wrap(&[7u8; 65], &B256::ZERO, &B256::ZERO);
        let n = w.len();
        w[n - 1] = 185;
        assert_eq!(
            unwrap(&w),
            Err(UnwrapError::TypeLength {
                declared: 185,
                actual: 186
            })
        );
    }
}
