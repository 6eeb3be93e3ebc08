//! The host's shared vocabulary: identifiers, exact price/size units and the
//! normalised market events every other module speaks. Depends on nothing else in
//! the runtime.

pub mod event;
pub mod ids;
pub mod money;
pub mod order;
pub mod time;
pub mod units_serde;

pub use event::{BookLevel, LevelChange, MarketEvent, Payout, Side, payouts_of};
pub use ids::{ConditionId, IdError, TokenId};
pub use order::{
    CancelCause, Fill, FillCause, Liquidity, Order, OrderEvent, OrderKey, StrategyId, TimeInForce,
    VenueRef, VenueReject,
};
/// Exact micro-unit price and size: the same types strategies use.
pub use pqap_strategy_sdk::{Price, Size, UnitError};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_roundtrip_through_json_in_micro_units() {
        let token = TokenId::parse("123").unwrap();
        let ev = MarketEvent::PriceChange {
            market: ConditionId::parse(&format!("0x{}", "ab".repeat(32))).unwrap(),
            ts_ms: 7,
            changes: vec![LevelChange {
                token,
                side: Side::Sell,
                price: Price::new(514_000).unwrap(),
                size: Size::from_micros(21_574_080_000),
                best_bid: None,
                best_ask: Price::new(514_000),
            }],
        };
        let json = serde_json::to_string(&ev).unwrap();
        assert!(
            json.contains(r#""kind":"price_change""#) && json.contains("514000"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<MarketEvent>(&json).unwrap(), ev);
        assert!(serde_json::from_str::<MarketEvent>(&json.replace("514000,", "1514000,")).is_err());
    }
}
