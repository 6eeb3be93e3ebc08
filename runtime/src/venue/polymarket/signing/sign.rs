//! Signing a V2 order with a local key, as an EOA/proxy/Safe owner or through a deposit wallet (POLY_1271).

use alloy_primitives::{Address, B256};

use super::domain::Exchange;
use super::order::{Order, SignatureType};
use super::poly1271;
use super::secrets::{PrivateKey, SecretError};

/// An order with its signature: 65 bytes, or 317 for [`SignatureType::Poly1271`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOrder {
    pub order: Order,
    /// Unix seconds after which a GTD order lapses; 0 for all other order types.
    /// Sent beside the order but not covered by the signature.
    pub expiration: u64,
    pub signature: Vec<u8>,
}

impl SignedOrder {
    /// The CLOB's order id: the EIP-712 signing hash of the order.
    pub fn id(&self, exchange: &Exchange) -> B256 {
        self.order.signing_hash(exchange)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("order signer {signer} is not the signing key's address {key}")]
    SignerMismatch { signer: Address, key: Address },
    #[error(
        "POLY_1271 order must have maker = signer = deposit wallet, got maker {maker}, signer {signer}"
    )]
    WalletMismatch { maker: Address, signer: Address },
    #[error(transparent)]
    Key(#[from] SecretError),
}

/// Signs `order` for `exchange`. For types 0–2 the key must be the order's `signer`;
/// for POLY_1271 the key is the deposit wallet's owner and `maker = signer = wallet`.
pub fn sign_order(
    key: &PrivateKey,
    order: &Order,
    exchange: &Exchange,
) -> Result<SignedOrder, SignError> {
    let signature = match order.signature_type {
        SignatureType::Poly1271 => {
            if order.maker != order.signer {
                return Err(SignError::WalletMismatch {
                    maker: order.maker,
                    signer: order.signer,
                });
            }
            let contents = order.struct_hash();
            let digest = poly1271::wrapped_digest(
                &exchange.separator(),
                &contents,
                exchange.chain_id(),
                order.signer,
            );
            let sig = key.sign_hash(&digest)?.as_bytes();
            poly1271::wrap(&sig, &exchange.separator(), &contents)
        }
        SignatureType::Eoa | SignatureType::PolyProxy | SignatureType::PolyGnosisSafe => {
            if order.signer != key.address() {
                return Err(SignError::SignerMismatch {
                    signer: order.signer,
                    key: key.address(),
                });
            }
            key.sign_hash(&order.signing_hash(exchange))?
                .as_bytes()
                .to_vec()
        }
    };
    Ok(SignedOrder {
        order: order.clone(),
        expiration: 0,
        signature,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use alloy_primitives::{U256, address, b256, hex};

    use super::*;
    use crate::model::Side;
    use crate::venue::polymarket::signing::domain::{
        AMOY, CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2, POLYGON,
    };
    use crate::venue::polymarket::signing::order::tests::vector_order;

    pub(crate) const KEY: &str =
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const WALLET: Address = address!("0x1111111111111111111111111111111111111111");

    pub(crate) fn key() -> PrivateKey {
        PrivateKey::from_hex(KEY, "test").unwrap()
    }

    fn check(order: &Order, exchange: &Exchange, hash: B256, sig: &str) {
        assert_eq!(order.signing_hash(exchange), hash);
        let signed = sign_order(&key(), order, exchange).unwrap();
        assert_eq!(hex::encode_prefixed(&signed.signature), sig);
        assert_eq!(signed.id(exchange), hash);
    }

    #[test]
    fn reference_vector_1_standard_buy() {
        let order = vector_order(123456789, Side::Buy, 100_000_000, 50_000_000, 1713398400000);
        check(
            &order,
            &Exchange::v2(POLYGON, CTF_EXCHANGE_V2),
            b256!("0x32961c48ddac87ed3582f8e02097cd0eff4fcf80460306bd44b3710438dfa64c"),
            "0x89f178136333c8ebb32a19146cb891233e3202d474be6ef730c24dbc06ae4d2a0c99948a86d9b57de0f2c0bb8ec6964aa244ecf17cfa3a95b86878d0b64ad78a1b",
        );
    }

    #[test]
    fn reference_vector_2_neg_risk_sell() {
        let order = vector_order(
            987654321,
            Side::Sell,
            50_000_000,
            100_000_000,
            1713398400000,
        );
        check(
            &order,
            &Exchange::v2(POLYGON, NEG_RISK_CTF_EXCHANGE_V2),
            b256!("0x8b878404bd92dea2bfea9975c9fcd816ec70a57ae431cb20d67bb773744aaef3"),
            "0xf7d60d64364e2615b08d9f69f3ea9afd3b4f83ecfbf05ddd3ca83f4916277fb97d2d080758d17c8e91c928aceb8ff252477ebaec051b672832500f63b4d36b061c",
        );
    }

    #[test]
    fn reference_vector_3_builder_code() {
        let mut order = vector_order(1, Side::Buy, 100_000_000, 50_000_000, 1713398500000);
        order.builder = B256::with_last_byte(1);
        check(
            &order,
            &Exchange::for_market(POLYGON, false),
            b256!("0x3df0b6f6ddfca837bc36964cae968b34ad35640b5d98f557c104da97e804e36a"),
            "0xf4d2b34659e8bc07a9572d40ee5a1639a1157409613b4c21566b1f33fd8fe11a364b3f306668cae7248ca7cdf72378f9266bc5628585aa939644400030671e081c",
        );
    }

    pub(crate) fn wallet_order(chain: u64, salt: u64, token: U256, ts: u64) -> (Order, Exchange) {
        let mut order = vector_order(salt, Side::Buy, 100_000_000, 50_000_000, ts);
        order.token_id = token;
        order.maker = WALLET;
        order.signer = WALLET;
        order.signature_type = SignatureType::Poly1271;
        (order, Exchange::v2(chain, CTF_EXCHANGE_V2))
    }

    #[test]
    fn reference_poly1271_vectors() {
        let (order, ex) = wallet_order(AMOY, 479249096354, U256::from(1234), 1710000000000);
        let signed = sign_order(&key(), &order, &ex).unwrap();
        let text = hex::encode_prefixed(&signed.signature);
        assert_eq!(text.len(), 636);
        assert!(
            text.starts_with("0xa3a093c83b6c20c83355c16ce94c92e6e9fcbdeb840618cc74f6c57a42ad145b2b98db73d2c73cbf1f2b6af288566ae81960ddbc3a13921027358a8bff3be6ff1c"),
            "{text}"
        );
        assert_eq!(&signed.signature[65..97], ex.separator().as_slice());
        assert_eq!(&signed.signature[97..129], order.struct_hash().as_slice());

        let token = order_token();
        let (order, ex) = wallet_order(POLYGON, 333333333, token, 1713398400000);
        let signed = sign_order(&key(), &order, &ex).unwrap();
        assert!(hex::encode_prefixed(&signed.signature).starts_with("0x780beffb568c4510"));
    }

    fn order_token() -> U256 {
        vector_order(1, Side::Buy, 1, 1, 1).token_id
    }

    #[test]
    fn refuses_to_sign_for_someone_else() {
        let mut order = vector_order(1, Side::Buy, 1, 1, 1);
        order.signer = WALLET;
        let ex = Exchange::for_market(POLYGON, false);
        assert!(matches!(
            sign_order(&key(), &order, &ex),
            Err(SignError::SignerMismatch { .. })
        ));
        order.signature_type = SignatureType::Poly1271;
        assert!(matches!(
            sign_order(&key(), &order, &ex),
            Err(SignError::WalletMismatch { .. })
        ));
    }
}
