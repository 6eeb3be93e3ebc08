//! Risk limits (per strategy and global) and the global trading state.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Limits one strategy (or, for the global set, all strategies together) must
/// stay within. `None` means no limit of that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskLimits {
    /// Shares held plus open buys, per token.
    pub max_position_shares: Option<Decimal>,
    /// Dollars (at the order price) held plus open buys, per token.
    pub max_position_notional: Option<Decimal>,
    /// Dollars at cost held plus open buys, across all tokens.
    pub max_total_exposure: Option<Decimal>,
    pub max_open_orders: Option<u32>,
    /// Orders submitted per rolling minute.
    pub max_orders_per_minute: Option<u32>,
    /// Shares per order.
    pub max_order_shares: Option<Decimal>,
    /// Furthest an order price may be from the mid, in dollars.
    pub price_band: Option<Decimal>,
    /// Loss (realised today + unrealised, marked to mid) that halts the strategy.
    pub max_daily_loss: Option<Decimal>,
}

/// A risk-limit value as written (`LIMIT=VALUE`): whole numbers become JSON
/// numbers (counts); anything else stays text, which money limits parse exactly.
pub fn limit_value(text: &str) -> serde_json::Value {
    let text = text.trim();
    text.parse::<u64>().map_or_else(
        |_| serde_json::Value::String(text.to_string()),
        serde_json::Value::from,
    )
}

/// Risk limits: `defaults` with `overrides` (limit name → value) laid over them.
/// An unknown limit or a value of the wrong kind is named.
pub fn merged_limits(
    defaults: &RiskLimits,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> Result<RiskLimits, String> {
    let mut base = match serde_json::to_value(defaults) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    // Counts are whole numbers; money and share limits are exact decimals,
    // which parse from text: either spelling is taken for both.
    const COUNTS: [&str; 2] = ["max_open_orders", "max_orders_per_minute"];
    for (k, v) in overrides {
        let v = match v {
            serde_json::Value::Number(n) if !COUNTS.contains(&k.as_str()) => {
                serde_json::Value::String(n.to_string())
            }
            serde_json::Value::String(s) if COUNTS.contains(&k.as_str()) => s
                .trim()
                .parse::<u64>()
                .map_or_else(|_| v.clone(), serde_json::Value::from),
            other => other.clone(),
        };
        base.insert(k.clone(), v);
    }
    serde_json::from_value(serde_json::Value::Object(base)).map_err(|e| format!("risk limits: {e}"))
}

/// The global switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingState {
    /// Orders pass the other checks.
    #[default]
    Active,
    /// Only orders that reduce a position pass.
    Reducing,
    /// No new orders.
    Halted,
}

impl std::fmt::Display for TradingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TradingState::Active => "active",
            TradingState::Reducing => "reducing",
            TradingState::Halted => "halted",
        })
    }
}

impl std::str::FromStr for TradingState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" | "resume" => Ok(TradingState::Active),
            "reducing" | "reduce" => Ok(TradingState::Reducing),
            "halted" | "halt" => Ok(TradingState::Halted),
            other => Err(format!(
                "trading state `{other}` is not one of active, reducing, halted"
            )),
        }
    }
}
