//! The `POST /order` JSON body of a signed V2 order: writing it, and parsing it back with typed errors.

use alloy_primitives::{Address, B256, U256, hex};
use serde::{Deserialize, Serialize};

use super::order::{Order, SignatureType};
use super::poly1271::WRAPPED_LEN;
use super::salt::Salt;
use super::sign::SignedOrder;
use crate::model::Side;

/// Most orders one `POST /orders` accepts.
pub const MAX_BATCH: usize = 15;

/// How long an order may rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderType {
    /// Good till cancelled.
    Gtc,
    /// Good till `expiration` (unix seconds).
    Gtd,
    /// Fill completely now or cancel.
    Fok,
    /// Fill what is possible now, cancel the rest.
    Fak,
}

/// One order as `POST /order` takes it. `owner` is the API key of the credentials that sign the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub order: SignedOrder,
    pub owner: String,
    pub order_type: OrderType,
    pub defer_exec: bool,
    pub post_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("order body is not valid JSON of the V2 shape: {0}")]
    Json(String),
    #[error("order field `{field}` = `{value}`: {reason}")]
    Field {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("batch of {0} orders exceeds the limit of {MAX_BATCH}")]
    BatchTooLarge(usize),
}

// Field order is the wire's (key order as the reference SDK emits it).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOrder {
    salt: u64,
    maker: String,
    signer: String,
    token_id: String,
    maker_amount: String,
    taker_amount: String,
    side: String,
    expiration: String,
    signature_type: u8,
    timestamp: String,
    metadata: String,
    builder: String,
    signature: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    order: WireOrder,
    owner: String,
    order_type: OrderType,
    #[serde(default)]
    defer_exec: bool,
    #[serde(default)]
    post_only: bool,
}

impl OrderRequest {
    pub fn to_json(&self) -> Result<String, WireError> {
        serde_json::to_string(&self.to_wire()).map_err(|e| WireError::Json(e.to_string()))
    }

    pub fn from_json(text: &str) -> Result<OrderRequest, WireError> {
        let wire: WireRequest =
            serde_json::from_str(text).map_err(|e| WireError::Json(e.to_string()))?;
        OrderRequest::from_wire(wire)
    }

    /// The body of `POST /orders`: a JSON array.
    pub fn batch_to_json(orders: &[OrderRequest]) -> Result<String, WireError> {
        if orders.len() > MAX_BATCH {
            return Err(WireError::BatchTooLarge(orders.len()));
        }
        let wire: Vec<WireRequest> = orders.iter().map(OrderRequest::to_wire).collect();
        serde_json::to_string(&wire).map_err(|e| WireError::Json(e.to_string()))
    }

    pub fn batch_from_json(text: &str) -> Result<Vec<OrderRequest>, WireError> {
        let wire: Vec<WireRequest> =
            serde_json::from_str(text).map_err(|e| WireError::Json(e.to_string()))?;
        if wire.len() > MAX_BATCH {
            return Err(WireError::BatchTooLarge(wire.len()));
        }
        wire.into_iter().map(OrderRequest::from_wire).collect()
    }

    fn to_wire(&self) -> WireRequest {
        let o = &self.order.order;
        WireRequest {
            order: WireOrder {
                salt: o.salt.get(),
                maker: o.maker.to_checksum(None),
                signer: o.signer.to_checksum(None),
                token_id: o.token_id.to_string(),
                maker_amount: o.maker_amount.to_string(),
                taker_amount: o.taker_amount.to_string(),
                side: match o.side {
                    Side::Buy => "BUY",
                    Side::Sell => "SELL",
                }
                .to_string(),
                expiration: self.order.expiration.to_string(),
                signature_type: o.signature_type.code(),
                timestamp: o.timestamp_ms.to_string(),
                metadata: o.metadata.to_string(),
                builder: o.builder.to_string(),
                signature: hex::encode_prefixed(&self.order.signature),
            },
            owner: self.owner.clone(),
            order_type: self.order_type,
            defer_exec: self.defer_exec,
            post_only: self.post_only,
        }
    }

    fn from_wire(w: WireRequest) -> Result<OrderRequest, WireError> {
        let o = w.order;
        let signature_type = SignatureType::from_code(o.signature_type).ok_or_else(|| {
            bad(
                "signatureType",
                &o.signature_type.to_string(),
                "not 0, 1, 2 or 3",
            )
        })?;
        let signature = hex_bytes("signature", &o.signature)?;
        let want = match signature_type {
            SignatureType::Poly1271 => WRAPPED_LEN,
            _ => 65,
        };
        if signature.len() != want {
            return Err(bad(
                "signature",
                &o.signature,
                "wrong length for its signatureType (65 bytes, 317 for POLY_1271)",
            ));
        }
        let order = Order {
            salt: Salt::new(o.salt)
                .map_err(|_| bad("salt", &o.salt.to_string(), "exceeds 2^53-1"))?,
            maker: address("maker", &o.maker)?,
            signer: address("signer", &o.signer)?,
            token_id: token_id(&o.token_id)?,
            maker_amount: dec_u64("makerAmount", &o.maker_amount)?,
            taker_amount: dec_u64("takerAmount", &o.taker_amount)?,
            side: match o.side.as_str() {
                "BUY" => Side::Buy,
                "SELL" => Side::Sell,
                _ => return Err(bad("side", &o.side, "not BUY or SELL")),
            },
            signature_type,
            timestamp_ms: dec_u64("timestamp", &o.timestamp)?,
            metadata: bytes32("metadata", &o.metadata)?,
            builder: bytes32("builder", &o.builder)?,
        };
        Ok(OrderRequest {
            order: SignedOrder {
                order,
                expiration: dec_u64("expiration", &o.expiration)?,
                signature,
            },
            owner: w.owner,
            order_type: w.order_type,
            defer_exec: w.defer_exec,
            post_only: w.post_only,
        })
    }
}

fn bad(field: &'static str, value: &str, reason: &'static str) -> WireError {
    WireError::Field {
        field,
        value: value.chars().take(100).collect(),
        reason,
    }
}

fn is_digits(s: &str, max_len: usize) -> bool {
    !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())
}

fn dec_u64(field: &'static str, s: &str) -> Result<u64, WireError> {
    is_digits(s, 20)
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| bad(field, s, "not a decimal integer below 2^64"))
}

fn token_id(s: &str) -> Result<U256, WireError> {
    is_digits(s, 78)
        .then(|| U256::from_str_radix(s, 10).ok())
        .flatten()
        .ok_or_else(|| bad("tokenId", s, "not a decimal uint256"))
}

fn hex_bytes(field: &'static str, s: &str) -> Result<Vec<u8>, WireError> {
    s.strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| bad(field, s, "not 0x-prefixed hex"))
}

fn address(field: &'static str, s: &str) -> Result<Address, WireError> {
    let bytes = hex_bytes(field, s)?;
    <[u8; 20]>::try_from(bytes.as_slice())
        .map(Address::from)
        .map_err(|_| bad(field, s, "not a 20-byte address"))
}

fn bytes32(field: &'static str, s: &str) -> Result<B256, WireError> {
    let bytes = hex_bytes(field, s)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(B256::from)
        .map_err(|_| bad(field, s, "not 32 bytes of hex"))
}
