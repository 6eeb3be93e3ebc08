//! The authenticated user channel: `order` events (placement, update,
//! cancellation) and `trade` events (matched → mined → confirmed, or failed), with
//! exact prices and sizes. Unknown statuses are kept, never fatal; messages without
//! `event_type` are recognised by their `type`.

use std::str::FromStr;

use serde::Deserialize;

use crate::model::{Price, Side, Size};

/// Why a user-channel message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserDecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("neither an order nor a trade message")]
    Unknown,
    #[error("bad `{field}` (`{value}`): {reason}")]
    Bad {
        field: &'static str,
        value: String,
        reason: String,
    },
}

/// What an order event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEventKind {
    Placement,
    Update,
    Cancellation,
    Other(String),
}

/// The venue's order status text, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatusText {
    Live,
    Matched,
    /// `CANCELED`, possibly with the venue's detail (FOK kills say why).
    Canceled {
        detail: String,
    },
    /// The venue invalidated the order (e.g. balance or allowance gone).
    Invalid,
    Other(String),
}

/// Settlement stage of a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeStatus {
    Matched,
    Mined,
    Confirmed,
    Retrying,
    Failed,
    Other(String),
}

/// An `order` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOrder {
    pub id: String,
    pub market: String,
    pub asset_id: String,
    pub kind: OrderEventKind,
    pub status: OrderStatusText,
    pub side: Side,
    pub price: Price,
    pub original_size: Size,
    pub size_matched: Size,
    pub order_type: String,
    pub timestamp_ms: Option<u64>,
}

/// One maker order matched in a trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakerFill {
    pub order_id: String,
    pub owner: String,
    pub asset_id: String,
    pub outcome: String,
    pub price: Price,
    pub matched: Size,
    pub side: Option<Side>,
}

/// A `trade` event (reported once per settlement stage; dedupe by `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTrade {
    pub id: String,
    pub taker_order_id: String,
    pub market: String,
    pub asset_id: String,
    pub side: Side,
    pub price: Price,
    pub size: Size,
    pub status: TradeStatus,
    /// Whether we were the taker or a maker (when the venue says).
    pub trader_side: Option<String>,
    pub maker_orders: Vec<MakerFill>,
    pub match_time: Option<String>,
}

/// A user-channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMessage {
    Order(UserOrder),
    Trade(UserTrade),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMaker {
    order_id: String,
    owner: String,
    asset_id: String,
    outcome: String,
    price: String,
    matched_amount: String,
    side: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawUser {
    event_type: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    id: String,
    taker_order_id: Option<String>,
    market: String,
    asset_id: String,
    side: String,
    price: String,
    size: Option<String>,
    original_size: Option<String>,
    size_matched: Option<String>,
    status: String,
    order_type: String,
    timestamp: Option<serde_json::Value>,
    trader_side: Option<String>,
    maker_orders: Vec<RawMaker>,
    match_time: Option<serde_json::Value>,
}

fn bad(field: &'static str, value: &str, reason: impl ToString) -> UserDecodeError {
    UserDecodeError::Bad {
        field,
        value: value.chars().take(80).collect(),
        reason: reason.to_string(),
    }
}

fn side(s: &str) -> Result<Side, UserDecodeError> {
    match s {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(bad("side", other, "expected BUY or SELL")),
    }
}

fn price(field: &'static str, s: &str) -> Result<Price, UserDecodeError> {
    Price::from_str(s).map_err(|e| bad(field, s, e))
}

/// Sizes; the venue sends `""` for zero matched.
fn size(field: &'static str, s: Option<&str>) -> Result<Size, UserDecodeError> {
    match s.map(str::trim) {
        None | Some("") => Ok(Size::ZERO),
        Some(s) => Size::from_str(s).map_err(|e| bad(field, s, e)),
    }
}

fn text(v: &Option<serde_json::Value>) -> Option<String> {
    match v.as_ref()? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decodes one user-channel message.
pub fn decode_user(json: &str) -> Result<UserMessage, UserDecodeError> {
    let raw: RawUser =
        serde_json::from_str(json).map_err(|e| UserDecodeError::NotJson(e.to_string()))?;
    let is_trade = raw.event_type.as_deref() == Some("trade")
        || raw.kind.as_deref() == Some("TRADE")
        || raw.taker_order_id.is_some();
    let is_order = raw.event_type.as_deref() == Some("order")
        || matches!(
            raw.kind.as_deref(),
            Some("PLACEMENT" | "UPDATE" | "CANCELLATION")
        );
    if is_trade {
        let makers = raw
            .maker_orders
            .iter()
            .map(|m| {
                Ok(MakerFill {
                    order_id: m.order_id.clone(),
                    owner: m.owner.clone(),
                    asset_id: m.asset_id.clone(),
                    outcome: m.outcome.clone(),
                    price: price("maker_orders.price", &m.price)?,
                    matched: size("maker_orders.matched_amount", Some(&m.matched_amount))?,
                    side: m.side.as_deref().map(side).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, UserDecodeError>>()?;
        return Ok(UserMessage::Trade(UserTrade {
            id: raw.id,
            taker_order_id: raw.taker_order_id.unwrap_or_default(),
            market: raw.market,
            asset_id: raw.asset_id,
            side: side(&raw.side)?,
            price: price("price", &raw.price)?,
            size: size("size", raw.size.as_deref())?,
            status: match raw.status.as_str() {
                "MATCHED" => TradeStatus::Matched,
                "MINED" => TradeStatus::Mined,
                "CONFIRMED" => TradeStatus::Confirmed,
                "RETRYING" => TradeStatus::Retrying,
                "FAILED" => TradeStatus::Failed,
                other => TradeStatus::Other(other.to_string()),
            },
            trader_side: raw.trader_side,
            maker_orders: makers,
            match_time: text(&raw.match_time),
        }));
    }
    if !is_order {
        return Err(UserDecodeError::Unknown);
    }
    let status = match raw.status.as_str() {
        "LIVE" => OrderStatusText::Live,
        "MATCHED" => OrderStatusText::Matched,
        "INVALID" => OrderStatusText::Invalid,
        s if s.starts_with("CANCELED") => OrderStatusText::Canceled {
            detail: s
                .trim_start_matches("CANCELED")
                .trim_start_matches('_')
                .to_string(),
        },
        other => OrderStatusText::Other(other.to_string()),
    };
    Ok(UserMessage::Order(UserOrder {
        id: raw.id,
        market: raw.market,
        asset_id: raw.asset_id,
        kind: match raw.kind.as_deref() {
            Some("PLACEMENT") => OrderEventKind::Placement,
            Some("UPDATE") => OrderEventKind::Update,
            Some("CANCELLATION") => OrderEventKind::Cancellation,
            other => OrderEventKind::Other(other.unwrap_or_default().to_string()),
        },
        status,
        side: side(&raw.side)?,
        price: price("price", &raw.price)?,
        original_size: size("original_size", raw.original_size.as_deref())?,
        size_matched: size("size_matched", raw.size_matched.as_deref())?,
        order_type: raw.order_type,
        timestamp_ms: text(&raw.timestamp).and_then(|t| t.parse().ok()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn order_and_trade_shapes() {
        let o = decode_user(r#"{"type":"CANCELLATION","status":"CANCELED_order couldn't be fully filled.","side":"BUY","price":"0.6","original_size":"12","size_matched":""}"#).unwrap();
        let UserMessage::Order(o) = o else { panic!() };
        assert_eq!(o.kind, OrderEventKind::Cancellation);
        assert!(
            matches!(o.status, OrderStatusText::Canceled { ref detail } if detail.starts_with("order couldn't"))
        );
        assert!(o.size_matched.is_zero());
        let t = decode_user(r#"{"taker_order_id":"0x1","side":"SELL","price":"0.5","size":"15","status":"WEIRD","maker_orders":[{"price":"0.4","matched_amount":"5","side":"BUY"}]}"#).unwrap();
        let UserMessage::Trade(t) = t else { panic!() };
        assert_eq!(t.status, TradeStatus::Other("WEIRD".into()));
        assert_eq!(t.maker_orders[0].side, Some(Side::Buy));
        assert_eq!(decode_user("{}"), Err(UserDecodeError::Unknown));
        assert!(matches!(
            decode_user(r#"{"type":"TRADE","side":"UP","price":"0.5"}"#),
            Err(UserDecodeError::Bad { field: "side", .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = decode_user(&s);
        }
    }
}
