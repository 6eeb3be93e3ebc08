//! The exchange's side of order signing: recover who signed a V2 order, with typed reasons for refusal.

use alloy_primitives::{Address, B256, Signature};
use alloy_signer::k256::ecdsa::VerifyingKey;
use alloy_signer::k256::elliptic_curve::ff::PrimeField as _;
use alloy_signer::k256::elliptic_curve::ops::{LinearCombination as _, Reduce};
use alloy_signer::k256::elliptic_curve::point::DecompressPoint as _;
use alloy_signer::k256::elliptic_curve::subtle::Choice;
use alloy_signer::k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

use super::domain::Exchange;
use super::order::{ORDER_TYPE_STRING, Order, SignatureType};
use super::poly1271::{self, UnwrapError};
use super::sign::SignedOrder;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{kind:?} signature is {len} bytes, expected 65")]
    Length { kind: SignatureType, len: usize },
    #[error("signature v byte is {0}, expected 27 or 28")]
    V(u8),
    #[error("signature s value is in the upper half of the curve order (malleable)")]
    HighS,
    #[error("signature does not recover to any key: {0}")]
    Recover(String),
    #[error(transparent)]
    Wrapping(#[from] UnwrapError),
    #[error(
        "POLY_1271 signature embeds domain separator {embedded}, expected {expected} for this exchange"
    )]
    WrappedDomain { embedded: B256, expected: B256 },
    #[error("POLY_1271 signature embeds contents {embedded}, but the order hashes to {expected}")]
    WrappedContents { embedded: B256, expected: B256 },
    #[error("POLY_1271 signature embeds a type string other than the V2 Order type")]
    WrappedType,
    #[error(
        "POLY_1271 order must have maker = signer = deposit wallet, got maker {maker}, signer {signer}"
    )]
    WalletMismatch { maker: Address, signer: Address },
    #[error("signature recovers to {recovered}, but the order's signer is {signer}")]
    SignerMismatch { recovered: Address, signer: Address },
}

/// Checks the 65-byte r‖s‖v form the exchange's ECDSA library accepts and recovers the address.
pub fn recover_prehash(
    sig: &[u8],
    kind: SignatureType,
    digest: &B256,
) -> Result<Address, VerifyError> {
    let bytes: &[u8; 65] = sig.try_into().map_err(|_| VerifyError::Length {
        kind,
        len: sig.len(),
    })?;
    let v = bytes[64];
    if v != 27 && v != 28 {
        return Err(VerifyError::V(v));
    }
    let parsed =
        Signature::from_raw_array(bytes).map_err(|e| VerifyError::Recover(e.to_string()))?;
    if parsed.normalize_s().is_some() {
        return Err(VerifyError::HighS);
    }
    ecrecover(&parsed, digest)
        .ok_or_else(|| VerifyError::Recover("no curve point has x = r, or r/s out of range".into()))
}

/// Public key recovery, Q = r⁻¹(s·R − z·G). k256's `recover_from_prehash` computes the same
/// and then verifies the signature against Q, a second double multiplication that cannot
/// fail for a Q obtained this way; skipping it halves the cost.
fn ecrecover(sig: &Signature, digest: &B256) -> Option<Address> {
    let scalar = |x: alloy_primitives::U256| {
        Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(x.to_be_bytes::<32>())))
            .filter(|v| !bool::from(v.is_zero()))
    };
    let r = scalar(sig.r())?;
    let s = scalar(sig.s())?;
    let z = <Scalar as Reduce<alloy_signer::k256::U256>>::reduce_bytes(&FieldBytes::from(digest.0));
    let big_r = AffinePoint::decompress(&r.to_repr(), Choice::from(u8::from(sig.v())));
    let big_r = ProjectivePoint::from(Option::<AffinePoint>::from(big_r)?);
    let r_inv = Option::<Scalar>::from(r.invert())?;
    let q = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &-(r_inv * z),
        &big_r,
        &(r_inv * s),
    );
    let key = VerifyingKey::from_affine(q.to_affine()).ok()?;
    Some(alloy_signer::utils::public_key_to_address(&key))
}

/// The EOA whose key produced `signature` over `order` on `exchange`: the signer itself for
/// types 0–2, the deposit wallet's owner for POLY_1271 (whose ownership only the chain knows).
pub fn recover_order_signer(
    order: &Order,
    signature: &[u8],
    exchange: &Exchange,
) -> Result<Address, VerifyError> {
    match order.signature_type {
        SignatureType::Poly1271 => {
            if order.maker != order.signer {
                return Err(VerifyError::WalletMismatch {
                    maker: order.maker,
                    signer: order.signer,
                });
            }
            let parts = poly1271::unwrap(signature)?;
            if parts.app_separator != exchange.separator() {
                return Err(VerifyError::WrappedDomain {
                    embedded: parts.app_separator,
                    expected: exchange.separator(),
                });
            }
            let contents = order.struct_hash();
            if parts.contents != contents {
                return Err(VerifyError::WrappedContents {
                    embedded: parts.contents,
                    expected: contents,
                });
            }
            if parts.type_string != ORDER_TYPE_STRING.as_bytes() {
                return Err(VerifyError::WrappedType);
            }
            let digest = poly1271::wrapped_digest(
                &exchange.separator(),
                &contents,
                exchange.chain_id(),
                order.signer,
            );
            recover_prehash(parts.sig65, order.signature_type, &digest)
        }
        kind => recover_prehash(signature, kind, &order.signing_hash(exchange)),
    }
}

/// Verifies a signed order as far as the signature alone allows and returns the signing EOA:
/// for types 0–2 it must be the order's `signer`; for POLY_1271 the caller checks that it owns
/// the deposit wallet.
pub fn verify_order(signed: &SignedOrder, exchange: &Exchange) -> Result<Address, VerifyError> {
    let recovered = recover_order_signer(&signed.order, &signed.signature, exchange)?;
    if signed.order.signature_type != SignatureType::Poly1271 && recovered != signed.order.signer {
        return Err(VerifyError::SignerMismatch {
            recovered,
            signer: signed.order.signer,
        });
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use alloy_primitives::U256;

    use super::*;
    use crate::model::Side;
    use crate::venue::polymarket::signing::domain::{AMOY, POLYGON};
    use crate::venue::polymarket::signing::order::tests::{EOA, vector_order};
    use crate::venue::polymarket::signing::sign::sign_order;
    use crate::venue::polymarket::signing::sign::tests::{key, wallet_order};

    #[test]
    fn sign_then_recover_gives_the_signer_for_every_type() {
        let ex = Exchange::for_market(POLYGON, true);
        for kind in [
            SignatureType::Eoa,
            SignatureType::PolyProxy,
            SignatureType::PolyGnosisSafe,
        ] {
            let mut order = vector_order(42, Side::Sell, 7_000_000, 3_500_000, 1);
            order.signature_type = kind;
            let signed = sign_order(&key(), &order, &ex).unwrap();
            assert_eq!(verify_order(&signed, &ex).unwrap(), EOA);
        }
        let (order, ex) = wallet_order(AMOY, 5, U256::from(9), 1);
        let signed = sign_order(&key(), &order, &ex).unwrap();
        assert_eq!(verify_order(&signed, &ex).unwrap(), EOA);
    }

    #[test]
    fn tampered_orders_fail() {
        let ex = Exchange::for_market(POLYGON, false);
        let order = vector_order(42, Side::Buy, 50_000_000, 100_000_000, 1);
        let signed = sign_order(&key(), &order, &ex).unwrap();

        let mut more = signed.clone();
        more.order.maker_amount += 1;
        assert!(matches!(
            verify_order(&more, &ex),
            Err(VerifyError::SignerMismatch { .. })
        ));
        let other_exchange = Exchange::for_market(POLYGON, true);
        assert!(verify_order(&signed, &other_exchange).is_err());

        let mut bad_v = signed.clone();
        bad_v.signature[64] = 1;
        assert_eq!(verify_order(&bad_v, &ex), Err(VerifyError::V(1)));
        let mut short = signed.clone();
        short.signature.pop();
        assert!(matches!(
            verify_order(&short, &ex),
            Err(VerifyError::Length { len: 64, .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn recovery_agrees_with_k256(secret in proptest::prelude::any::<[u8; 32]>(), digest in proptest::prelude::any::<[u8; 32]>()) {
            let Ok(key) = crate::venue::polymarket::signing::PrivateKey::from_hex(&alloy_primitives::hex::encode(secret), "p") else {
                return Ok(());
            };
            let digest = B256::from(digest);
            let sig = key.sign_hash(&digest).unwrap();
            proptest::prop_assert_eq!(ecrecover(&sig, &digest), Some(key.address()));
            proptest::prop_assert_eq!(sig.recover_address_from_prehash(&digest).ok(), Some(key.address()));
            // A different digest recovers someone else (or no one), as k256 does.
            let other = B256::from(alloy_primitives::U256::from_be_bytes(digest.0).wrapping_add(alloy_primitives::U256::from(1)));
            proptest::prop_assert_eq!(ecrecover(&sig, &other), sig.recover_address_from_prehash(&other).ok());
        }
    }

    #[test]
    fn malleated_high_s_is_refused() {
        let ex = Exchange::for_market(POLYGON, false);
        let order = vector_order(42, Side::Buy, 50_000_000, 100_000_000, 1);
        let signed = sign_order(&key(), &order, &ex).unwrap();
        let sig = Signature::from_raw(&signed.signature).unwrap();
        let n = U256::from_str_radix(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
            16,
        )
        .unwrap();
        let flipped = Signature::new(sig.r(), n - sig.s(), !sig.v());
        let mut high = signed.clone();
        high.signature = flipped.as_bytes().to_vec();
        assert_eq!(verify_order(&high, &ex), Err(VerifyError::HighS));
    }

    #[test]
    fn tampered_poly1271_wrappings_fail() {
        let (order, ex) = wallet_order(POLYGON, 5, U256::from(9), 1);
        let signed = sign_order(&key(), &order, &ex).unwrap();

        let mut other_domain = signed.clone();
        other_domain.signature[70] ^= 1;
        assert!(matches!(
            verify_order(&other_domain, &ex),
            Err(VerifyError::WrappedDomain { .. })
        ));
        let mut changed = signed.clone();
        changed.order.taker_amount += 1;
        assert!(matches!(
            verify_order(&changed, &ex),
            Err(VerifyError::WrappedContents { .. })
        ));
        let mut typ = signed.clone();
        typ.signature[140] ^= 0x20;
        assert_eq!(verify_order(&typ, &ex), Err(VerifyError::WrappedType));
        let mut sig = signed.clone();
        sig.signature[10] ^= 1;
        assert_ne!(verify_order(&sig, &ex).ok(), Some(EOA));
        let mut short = signed;
        short.signature.truncate(65);
        assert!(matches!(
            verify_order(&short, &ex),
            Err(VerifyError::Wrapping(UnwrapError::Length(65)))
        ));
    }
}
