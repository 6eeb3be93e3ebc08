//! RTDS (real-time data service) price messages: `crypto_prices` and
//! `equity_prices` subscribe snapshots and updates, values kept as exact decimals
//! (`full_accuracy_value` when given, otherwise the number's own text).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

/// One price point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricePoint {
    pub timestamp_ms: u64,
    pub value: Decimal,
}

/// A decoded RTDS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtdsPrices {
    pub topic: String,
    /// `subscribe` (a snapshot of recent points) or `update`.
    pub kind: String,
    pub timestamp_ms: u64,
    pub symbol: String,
    pub points: Vec<PricePoint>,
}

#[derive(Deserialize)]
struct RawPoint<'a> {
    timestamp: u64,
    #[serde(borrow)]
    value: &'a RawValue,
    #[serde(default)]
    full_accuracy_value: Option<String>,
}

#[derive(Deserialize)]
struct RawPayload<'a> {
    symbol: String,
    #[serde(default)]
    timestamp: Option<u64>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(default)]
    full_accuracy_value: Option<String>,
    #[serde(borrow, default)]
    data: Vec<RawPoint<'a>>,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    topic: String,
    #[serde(rename = "type")]
    kind: String,
    timestamp: u64,
    #[serde(borrow)]
    payload: RawPayload<'a>,
}

fn exact(raw: &RawValue, full: Option<&str>) -> Result<Decimal, String> {
    let text = full.unwrap_or_else(|| raw.get()).trim_matches('"');
    Decimal::from_str(text).map_err(|e| format!("value `{text}`: {e}"))
}

/// Decodes an RTDS price message; errors name the problem.
pub fn decode_prices(json: &str) -> Result<RtdsPrices, String> {
    let m: RawMessage =
        serde_json::from_str(json).map_err(|e| format!("not an RTDS price message: {e}"))?;
    let mut points = Vec::new();
    if let (Some(ts), Some(v)) = (m.payload.timestamp, m.payload.value) {
        points.push(PricePoint {
            timestamp_ms: ts,
            value: exact(v, m.payload.full_accuracy_value.as_deref())?,
        });
    }
    for p in &m.payload.data {
        points.push(PricePoint {
            timestamp_ms: p.timestamp,
            value: exact(p.value, p.full_accuracy_value.as_deref())?,
        });
    }
    Ok(RtdsPrices {
        topic: m.topic,
        kind: m.kind,
        timestamp_ms: m.timestamp,
        symbol: m.payload.symbol,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values() {
        let u = decode_prices(r#"{"topic":"crypto_prices","type":"update","timestamp":5,"payload":{"symbol":"btcusdt","timestamp":4,"value":61035.86,"full_accuracy_value":"61035.86000000"}}"#).unwrap();
        assert_eq!(u.points[0].value.to_string(), "61035.86000000");
        let s = decode_prices(r#"{"topic":"equity_prices","type":"subscribe","timestamp":5,"payload":{"symbol":"aapl","data":[{"timestamp":1,"value":307.91}]}}"#).unwrap();
        assert_eq!(s.points[0].value.to_string(), "307.91");
        assert!(decode_prices("{}").is_err());
    }
}
