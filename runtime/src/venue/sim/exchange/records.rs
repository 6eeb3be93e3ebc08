//! The exchange's records of orders and trades, and their JSON shapes
//! (`/data/orders`, `/data/trades`, and the user channel's events).

use alloy_primitives::Address;
use serde_json::{Value, json};

use crate::model::{ConditionId, OrderKey, Price, Side, Size, TokenId};
use crate::venue::polymarket::signing::OrderType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Live,
    Matched,
    Cancelled,
}

impl OrderStatus {
    pub fn text(self) -> &'static str {
        match self {
            OrderStatus::Live => "LIVE",
            OrderStatus::Matched => "MATCHED",
            OrderStatus::Cancelled => "CANCELED",
        }
    }
}

/// An order the exchange accepted.
#[derive(Debug, Clone)]
pub struct ExOrder {
    pub id: String,
    /// The signed order's salt (shown only by `GET /_sim/orders`, so a test
    /// can tell a re-signed copy of an order from the original).
    pub salt: u64,
    pub key: OrderKey,
    /// API key that placed it.
    pub owner: String,
    /// Address of that key (whose user channel hears about it).
    pub owner_address: Address,
    /// Funder whose balances it moves.
    pub maker: Address,
    pub market: ConditionId,
    pub asset_id: TokenId,
    pub outcome: String,
    pub side: Side,
    pub price: Price,
    pub original_size: Size,
    pub size_matched: Size,
    pub status: OrderStatus,
    pub order_type: OrderType,
    pub expiration: u64,
    pub created_at_s: u64,
    pub associate_trades: Vec<String>,
    /// The market's base fee (bps) as `/fee-rate` reports it.
    pub fee_rate_bps: u32,
}

impl ExOrder {
    pub fn remaining(&self) -> Size {
        self.original_size.saturating_sub(self.size_matched)
    }

    pub fn is_open(&self) -> bool {
        self.status == OrderStatus::Live
    }

    /// The OpenOrder shape of `/data/orders` and `/data/order/{id}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status.text(),
            "owner": self.owner,
            "maker_address": self.maker.to_checksum(None),
            "market": self.market.as_str(),
            "asset_id": self.asset_id.as_str(),
            "side": side_text(self.side),
            "original_size": self.original_size.to_string(),
            "size_matched": self.size_matched.to_string(),
            "price": self.price.to_string(),
            "outcome": self.outcome,
            "expiration": self.expiration.to_string(),
            "order_type": order_type_text(self.order_type),
            "associate_trades": self.associate_trades,
            "created_at": self.created_at_s,
        })
    }

    /// A user-channel `order` event of kind PLACEMENT, UPDATE or CANCELLATION.
    pub fn event(&self, kind: &str, now_ms: u64) -> Value {
        let mut v = self.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("event_type".into(), json!("order"));
            o.insert("type".into(), json!(kind));
            o.insert("order_owner".into(), json!(self.owner));
            o.insert("timestamp".into(), json!(now_ms.to_string()));
        }
        v
    }
}

pub fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub fn order_type_text(t: OrderType) -> &'static str {
    match t {
        OrderType::Gtc => "GTC",
        OrderType::Gtd => "GTD",
        OrderType::Fok => "FOK",
        OrderType::Fak => "FAK",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    Matched,
    Mined,
    Confirmed,
    Retrying,
    Failed,
}

impl TradeStatus {
    pub fn text(self) -> &'static str {
        match self {
            TradeStatus::Matched => "MATCHED",
            TradeStatus::Mined => "MINED",
            TradeStatus::Confirmed => "CONFIRMED",
            TradeStatus::Retrying => "RETRYING",
            TradeStatus::Failed => "FAILED",
        }
    }
}

/// The account's side of one match.
#[derive(Debug, Clone)]
pub struct MakerLeg {
    pub order_id: String,
    pub owner: String,
    pub maker_address: String,
    pub matched_amount: Size,
    pub price: Price,
    pub side: Side,
}

/// One match of an account's order against the simulated book.
#[derive(Debug, Clone)]
pub struct Trade {
    pub id: String,
    /// The order of ours that traded.
    pub order_id: String,
    pub taker_order_id: String,
    pub market: ConditionId,
    pub asset_id: TokenId,
    pub outcome: String,
    /// The taker's side, size and price.
    pub side: Side,
    pub size: Size,
    pub price: Price,
    pub fee_rate_bps: u32,
    pub status: TradeStatus,
    pub match_time_s: u64,
    pub last_update_s: u64,
    pub owner: String,
    pub owner_address: Address,
    pub maker_address: Address,
    pub transaction_hash: String,
    pub trader_side_maker: bool,
    pub maker_orders: Vec<MakerLeg>,
    /// Balance effects (collateral units, shares units) on `maker_address`.
    pub collateral_delta: i128,
    pub shares_delta: i128,
    /// Wall time of the match, and whether settlement will fail.
    pub matched_wall_ms: u64,
    pub will_fail: bool,
}

impl Trade {
    /// The Trade shape of `/data/trades`.
    pub fn to_json(&self) -> Value {
        let makers: Vec<Value> = self
            .maker_orders
            .iter()
            .map(|m| {
                json!({
                    "order_id": m.order_id,
                    "owner": m.owner,
                    "maker_address": m.maker_address,
                    "matched_amount": m.matched_amount.to_string(),
                    "price": m.price.to_string(),
                    "fee_rate_bps": "0",
                    "asset_id": self.asset_id.as_str(),
                    "outcome": self.outcome,
                    "side": side_text(m.side),
                })
            })
            .collect();
        json!({
            "id": self.id,
            "taker_order_id": self.taker_order_id,
            "market": self.market.as_str(),
            "asset_id": self.asset_id.as_str(),
            "side": side_text(self.side),
            "size": self.size.to_string(),
            "fee_rate_bps": self.fee_rate_bps.to_string(),
            "price": self.price.to_string(),
            "status": self.status.text(),
            "match_time": self.match_time_s.to_string(),
            "last_update": self.last_update_s.to_string(),
            "outcome": self.outcome,
            "bucket_index": 0,
            "owner": self.owner,
            "maker_address": self.maker_address.to_checksum(None),
            "transaction_hash": self.transaction_hash,
            "trader_side": if self.trader_side_maker { "MAKER" } else { "TAKER" },
            "maker_orders": makers,
        })
    }

    /// A user-channel `trade` event for the current status.
    pub fn event(&self, now_ms: u64) -> Value {
        let mut v = self.to_json();
        if let Some(o) = v.as_object_mut() {
            o.insert("event_type".into(), json!("trade"));
            o.insert("type".into(), json!("TRADE"));
            o.insert("matchtime".into(), json!(self.match_time_s.to_string()));
            o.insert("trade_owner".into(), json!(self.owner));
            o.insert("timestamp".into(), json!(now_ms.to_string()));
        }
        v
    }
}
