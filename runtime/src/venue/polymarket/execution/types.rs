//! The trading API's answers as the CLOB sends them (§3 of the reference):
//! posted orders, open orders, trades, cancels, balances, keys, heartbeats.
//! Amounts are decimal strings read exactly; fields a venue may omit default.

use rust_decimal::Decimal;
use serde::Deserialize;

/// The first page's cursor, and the one that says there are no more.
pub const FIRST_CURSOR: &str = "MA==";
pub const END_CURSOR: &str = "LTE=";

/// One result of `POST /order` (or an element of `POST /orders`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PostedOrder {
    pub success: bool,
    pub error_msg: String,
    #[serde(rename = "orderID")]
    pub order_id: String,
    /// `live`, `matched`, `delayed` or `unmatched`.
    pub status: String,
    #[serde(rename = "tradeIDs")]
    pub trade_ids: Option<Vec<String>>,
}

/// An order as `GET /data/orders` and `GET /data/order/{id}` report it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VenueOrder {
    pub id: String,
    /// `LIVE`, `MATCHED`, `CANCELED`, ... (any case).
    pub status: String,
    #[serde(default)]
    pub asset_id: String,
    /// `BUY` or `SELL` (any case).
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    pub price: Decimal,
    pub original_size: Decimal,
    pub size_matched: Decimal,
    #[serde(default)]
    pub associate_trades: Option<Vec<String>>,
}

impl VenueOrder {
    pub fn is_live(&self) -> bool {
        self.status.eq_ignore_ascii_case("live")
    }
}

/// One of the account's maker orders matched in a trade.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MakerOrder {
    pub order_id: String,
    pub matched_amount: Decimal,
    pub price: Decimal,
    #[serde(default)]
    pub fee_rate_bps: Option<String>,
}

/// A trade as `GET /data/trades` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VenueTrade {
    pub id: String,
    pub taker_order_id: String,
    pub asset_id: String,
    pub side: String,
    pub size: Decimal,
    pub price: Decimal,
    /// `MATCHED`, `MINED`, `CONFIRMED`, `RETRYING` or `FAILED`.
    pub status: String,
    /// `TAKER` or `MAKER`: which side of the trade the account was on.
    #[serde(default)]
    pub trader_side: String,
    #[serde(default)]
    pub maker_orders: Vec<MakerOrder>,
    #[serde(default)]
    pub match_time: Option<String>,
}

/// A page of a cursor-paged list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// `DELETE /order`, `/orders`, `/cancel-all`, `/cancel-market-orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Cancelled {
    #[serde(default)]
    pub canceled: Option<Vec<String>>,
    #[serde(default, alias = "notCanceled")]
    pub not_canceled: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /balance-allowance`: 6-decimal integer units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BalanceAllowance {
    pub balance: String,
    #[serde(default)]
    pub allowances: std::collections::BTreeMap<String, String>,
}

/// `POST /auth/api-key`, `GET /auth/derive-api-key`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyAnswer {
    pub api_key: String,
    pub secret: String,
    pub passphrase: String,
}

/// `POST /v1/heartbeats`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeartbeatAnswer {
    pub heartbeat_id: String,
}

/// `GET /auth/ban-status/closed-only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ClosedOnly {
    pub closed_only: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_the_references_shapes_parse() {
        let posted: PostedOrder = serde_json::from_str(
            r#"{"success":true,"errorMsg":"","orderID":"0xab","status":"live","makingAmount":"","takingAmount":"","transactionsHashes":null,"tradeIDs":null}"#,
        )
        .unwrap();
        assert!(posted.success && posted.order_id == "0xab" && posted.status == "live");
        let page: Page<VenueOrder> = serde_json::from_str(
            r#"{"data":[{"id":"0xab","status":"LIVE","owner":"k","maker_address":"0x1","market":"0xc","asset_id":"12","side":"BUY","original_size":"10","size_matched":"2.5","price":"0.5","outcome":"Yes","expiration":"0","order_type":"GTC","associate_trades":["t1"],"created_at":1713398400}],"next_cursor":"LTE=","limit":100,"count":1}"#,
        )
        .unwrap();
        assert!(page.data[0].is_live());
        assert_eq!(page.data[0].size_matched, Decimal::new(25, 1));
        assert_eq!(
            (page.data[0].side.as_str(), page.data[0].price),
            ("BUY", Decimal::new(5, 1))
        );
        let trade: VenueTrade = serde_json::from_str(
            r#"{"id":"t1","taker_order_id":"0xff","market":"0xc","asset_id":"12","side":"SELL","size":"5","fee_rate_bps":"0","price":"0.52","status":"MATCHED","match_time":"1713398400","last_update":"1713398400","outcome":"Yes","bucket_index":0,"owner":"k","maker_address":"0x1","transaction_hash":"0x0","trader_side":"MAKER","maker_orders":[{"order_id":"0xab","owner":"k","maker_address":"0x1","matched_amount":"2.5","price":"0.5","fee_rate_bps":"0","asset_id":"12","outcome":"Yes","side":"BUY"}]}"#,
        )
        .unwrap();
        assert_eq!(trade.maker_orders[0].matched_amount, Decimal::new(25, 1));
        let c: Cancelled =
            serde_json::from_str(r#"{"canceled":["0xab"],"notCanceled":{"0xcd":"not found"}}"#)
                .unwrap();
        assert_eq!(c.not_canceled.unwrap()["0xcd"], "not found");
    }
}
