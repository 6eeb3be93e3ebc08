//! Market discovery from Gamma: the binary markets open for trading, with their
//! tokens, outcomes, tick and minimum size (Gamma double-encodes its arrays as
//! JSON strings; both forms are accepted).

use rust_decimal::Decimal;
use serde_json::Value;

use super::client::{HttpError, PolymarketHttp};
use super::limits::Family;
use crate::execution::fees::{FeeSchedule, millionths};
use crate::model::{ConditionId, MarketEvent, Payout, Price, Size, TokenId};
use pqap_strategy_sdk::fees::MAX_FEE_EXPONENT;

/// A tradable binary market as Gamma describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredMarket {
    pub condition: ConditionId,
    pub slug: String,
    pub question: String,
    pub tokens: [(TokenId, String); 2],
    pub tick: Price,
    pub min_size: Size,
    pub closed: bool,
    /// `feeSchedule` when `feesEnabled` (no fees otherwise).
    pub fees: FeeSchedule,
    /// Traded on the neg-risk exchange (signing and conversions differ).
    pub neg_risk: bool,
}

/// The V2 fee schedule — `rate`, `exponent`, `takerOnly`, `rebateRate` of
/// `feeSchedule` — exact; a market without `feesEnabled` charges nothing.
fn fee_schedule(v: &Value) -> Result<FeeSchedule, String> {
    if !v
        .get("feesEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Ok(FeeSchedule::FREE);
    }
    let Some(schedule) = v.get("feeSchedule").filter(|s| s.is_object()) else {
        return Ok(FeeSchedule::FREE);
    };
    let number = |k: &str| -> Result<Decimal, String> {
        match decimal_text(schedule.get(k)) {
            None => Ok(Decimal::ZERO),
            Some(t) => Decimal::from_str_exact(&t)
                .or_else(|_| Decimal::from_scientific(&t))
                .map_err(|e| format!("`feeSchedule.{k}` = {t}: {e}")),
        }
    };
    let (rate, rebate) = (number("rate")?, number("rebateRate")?);
    let exact = |what: &str, d: Decimal| {
        millionths(d).ok_or_else(|| {
            format!("`feeSchedule.{what}` {d} is not in [0, 1] with at most 6 decimals")
        })
    };
    let exponent = match schedule.get("exponent") {
        None | Some(Value::Null) => 1,
        Some(e) => e
            .as_u64()
            .and_then(|e| u32::try_from(e).ok())
            .filter(|e| *e <= MAX_FEE_EXPONENT)
            .ok_or_else(|| {
                format!(
                    "`feeSchedule.exponent` {e} is not a whole number from 0 to {MAX_FEE_EXPONENT}"
                )
            })?,
    };
    Ok(FeeSchedule {
        rate_millionths: exact("rate", rate)?,
        exponent,
        taker_only: schedule
            .get("takerOnly")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        rebate_millionths: exact("rebateRate", rebate)?,
    })
}

/// A string array that may arrive double-encoded (`"[\"a\",\"b\"]"`).
fn string_array(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => serde_json::from_str::<Vec<String>>(s).ok(),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// A decimal that may arrive as a number or a string, parsed exactly.
fn decimal_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads one Gamma market object; `Err` says which field is unusable.
pub fn parse_market(v: &Value) -> Result<DiscoveredMarket, String> {
    let field = |k: &str| v.get(k);
    let condition = field("conditionId")
        .and_then(Value::as_str)
        .ok_or("no `conditionId`")?;
    let condition = ConditionId::parse(condition).map_err(|e| e.to_string())?;
    let ids = string_array(field("clobTokenIds")).ok_or("no usable `clobTokenIds`")?;
    let outcomes = string_array(field("outcomes")).ok_or("no usable `outcomes`")?;
    let [a, b] = ids.as_slice() else {
        return Err(format!("{} tokens, not a binary market", ids.len()));
    };
    if outcomes.len() != 2 {
        return Err(format!("{} outcomes, not a binary market", outcomes.len()));
    }
    let tick = decimal_text(field("orderPriceMinTickSize")).map_or(
        Ok(Price::new(10_000).unwrap_or(Price::ZERO)),
        |t| {
            t.parse::<Price>()
                .map_err(|e| format!("`orderPriceMinTickSize`: {e}"))
        },
    )?;
    let min_size =
        decimal_text(field("orderMinSize")).map_or(Ok(Size::from_micros(5_000_000)), |t| {
            t.parse::<Size>()
                .map_err(|e| format!("`orderMinSize`: {e}"))
        })?;
    let fees = fee_schedule(v)?;
    Ok(DiscoveredMarket {
        condition,
        slug: field("slug")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        question: field("question")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        tokens: [
            (
                TokenId::parse(a).map_err(|e| e.to_string())?,
                outcomes[0].clone(),
            ),
            (
                TokenId::parse(b).map_err(|e| e.to_string())?,
                outcomes[1].clone(),
            ),
        ],
        tick,
        min_size,
        closed: field("closed").and_then(Value::as_bool).unwrap_or(false),
        fees,
        neg_risk: field("negRisk").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Pages of Gamma's `/markets/keyset` at most: a bound on a listing loop.
const MAX_PAGES: usize = 500;

/// Every market Gamma's cursor-paged `/markets/keyset` lists for `query`
/// (`limit` 100 a page, `after_cursor` from the previous page's
/// `next_cursor`), up to `max` of them.
async fn keyset(
    http: &PolymarketHttp,
    query: &[(&str, String)],
    max: usize,
) -> Result<Vec<Value>, HttpError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("limit", "100".into()));
        if let Some(c) = &cursor {
            q.push(("after_cursor", c.clone()));
        }
        let page: Value = http
            .gamma_get(Family::GammaMarkets, "/markets/keyset", &q)
            .await?;
        out.extend(page["markets"].as_array().cloned().unwrap_or_default());
        cursor = page["next_cursor"]
            .as_str()
            .filter(|c| !c.is_empty() && *c != "LTE=")
            .map(str::to_string);
        if cursor.is_none() || out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    Ok(out)
}

/// Why a listed market is not one to trade, if it is not.
fn untradeable(v: &Value, m: &DiscoveredMarket) -> Option<String> {
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(true);
    if m.closed {
        Some("closed".into())
    } else if !flag("acceptingOrders") {
        Some("not accepting orders".into())
    } else if !flag("enableOrderBook") {
        Some("no order book".into())
    } else if !matches!(v.get("version").and_then(Value::as_str), None | Some("v1")) {
        Some(format!(
            "order version {} (only v1 markets are traded)",
            v["version"]
        ))
    } else {
        None
    }
}

/// Open binary markets Gamma lists (active, not closed, accepting orders, with
/// an order book, on the order version this platform signs), through cursor
/// paging, up to `max`; markets that do not parse are skipped with a warning.
pub async fn open_markets(
    http: &PolymarketHttp,
    max: usize,
) -> Result<Vec<DiscoveredMarket>, HttpError> {
    let items = keyset(
        http,
        &[("active", "true".into()), ("closed", "false".into())],
        max,
    )
    .await?;
    let mut out = Vec::new();
    for item in &items {
        match parse_market(item) {
            Ok(m) => match untradeable(item, &m) {
                None => out.push(m),
                Some(why) => tracing::debug!(market = %m.condition, %why, "not trading market"),
            },
            Err(why) => tracing::warn!(market = ?item.get("id"), %why, "skipping market"),
        }
    }
    Ok(out)
}

/// What Gamma says of the markets of `tokens` that closed with a final result:
/// resolution events whose payouts are the final `outcomePrices` (1 and 0, or
/// 0.5 each in a 50-50). Markets still open, or closed without a final
/// price, are left out.
pub async fn resolutions(
    http: &PolymarketHttp,
    tokens: &[TokenId],
    now_ms: u64,
) -> Result<Vec<MarketEvent>, HttpError> {
    let mut out = Vec::new();
    for chunk in tokens.chunks(50) {
        let mut q: Vec<(&str, String)> = vec![("closed", "true".into())];
        q.extend(chunk.iter().map(|t| ("clob_token_ids", t.to_string())));
        for item in keyset(http, &q, 1_000).await? {
            if let Some(e) = resolution(&item, now_ms) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// A closed Gamma market with final prices as a resolution event.
pub fn resolution(v: &Value, now_ms: u64) -> Option<MarketEvent> {
    let m = parse_market(v).ok()?;
    if !m.closed {
        return None;
    }
    let prices = string_array(v.get("outcomePrices"))?;
    let [a, b] = prices.as_slice() else {
        return None;
    };
    let (a, b) = (a.parse::<Price>().ok()?, b.parse::<Price>().ok()?);
    let final_ = |p: Price| matches!(p.micros(), 0 | 500_000 | 1_000_000);
    if !final_(a) || !final_(b) || a.micros() + b.micros() != 1_000_000 {
        return None;
    }
    let [(ya, yo), (nb, no)] = m.tokens;
    let (winner, winning_outcome) = if a >= b {
        (ya.clone(), yo)
    } else {
        (nb.clone(), no)
    };
    Some(MarketEvent::Resolved {
        market: m.condition,
        ts_ms: now_ms,
        tokens: vec![ya.clone(), nb.clone()],
        winner,
        winning_outcome,
        payouts: vec![
            Payout {
                token: ya,
                payout: a,
            },
            Payout {
                token: nb,
                payout: b,
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_schedule_only_counts_when_fees_are_enabled() {
        let c = format!("0x{}", "ab".repeat(32));
        let base = serde_json::json!({"conditionId": c, "clobTokenIds": ["11", "22"], "outcomes": ["Yes", "No"],
            "feeSchedule": {"rate": 0.07, "exponent": 1, "takerOnly": true, "rebateRate": 0.2}});
        let off = parse_market(&base).unwrap();
        assert_eq!(off.fees, FeeSchedule::FREE);
        assert!(!off.neg_risk);
        let mut neg = base.clone();
        neg["negRisk"] = true.into();
        assert!(parse_market(&neg).unwrap().neg_risk);
        let mut on = base.clone();
        on["feesEnabled"] = true.into();
        let m = parse_market(&on).unwrap();
        assert_eq!(
            m.fees,
            FeeSchedule {
                rate_millionths: 70_000,
                exponent: 1,
                taker_only: true,
                rebate_millionths: 200_000
            }
        );
        on["feeSchedule"]["exponent"] = serde_json::json!(2);
        on["feeSchedule"]["takerOnly"] = false.into();
        let m = parse_market(&on).unwrap();
        assert_eq!((m.fees.exponent, m.fees.taker_only), (2, false));
        on["feeSchedule"]["exponent"] = serde_json::json!(3);
        assert!(
            parse_market(&on)
                .unwrap_err()
                .contains("feeSchedule.exponent")
        );
        on["feeSchedule"]["exponent"] = serde_json::json!(1);
        on["feeSchedule"]["rate"] = serde_json::json!(3);
        assert!(parse_market(&on).unwrap_err().contains("feeSchedule.rate"));
        on["feeSchedule"]["rate"] = serde_json::json!("0.0000001");
        assert!(parse_market(&on).unwrap_err().contains("6 decimals"));
    }

    #[test]
    fn closed_markets_with_final_prices_are_resolutions() {
        let c = format!("0x{}", "ab".repeat(32));
        let mut v = serde_json::json!({"conditionId": c, "clobTokenIds": ["11", "22"],
            "outcomes": ["Yes", "No"], "closed": true, "outcomePrices": "[\"0\", \"1\"]"});
        let Some(MarketEvent::Resolved {
            winner, payouts, ..
        }) = resolution(&v, 5)
        else {
            panic!("no resolution");
        };
        assert_eq!(winner.as_str(), "22");
        assert_eq!(payouts[1].payout, Price::ONE);
        v["outcomePrices"] = "[\"0.5\", \"0.5\"]".into();
        let Some(MarketEvent::Resolved { payouts, .. }) = resolution(&v, 5) else {
            panic!("no 50-50 resolution");
        };
        assert!(payouts.iter().all(|p| p.payout.micros() == 500_000));
        // Still trading, or closed without a final price: not a resolution.
        v["outcomePrices"] = "[\"0.62\", \"0.38\"]".into();
        assert!(resolution(&v, 5).is_none());
        v["outcomePrices"] = "[\"1\", \"0\"]".into();
        v["closed"] = false.into();
        assert!(resolution(&v, 5).is_none());
    }

    #[test]
    fn both_encodings_of_the_arrays() {
        let c = format!("0x{}", "ab".repeat(32));
        let encoded = serde_json::json!({
            "conditionId": c, "slug": "s", "question": "q?",
            "clobTokenIds": "[\"11\", \"22\"]", "outcomes": "[\"Yes\", \"No\"]",
            "orderPriceMinTickSize": 0.001, "orderMinSize": 5
        });
        let m = parse_market(&encoded).unwrap();
        assert_eq!(m.tokens[1].0.as_str(), "22");
        assert_eq!(m.tick.micros(), 1_000);
        let plain = serde_json::json!({
            "conditionId": c, "clobTokenIds": ["11", "22"], "outcomes": ["Up", "Down"]
        });
        assert_eq!(parse_market(&plain).unwrap().tokens[0].1, "Up");
        let three = serde_json::json!({"conditionId": c, "clobTokenIds": ["1","2","3"], "outcomes": ["a","b","c"]});
        assert!(parse_market(&three).unwrap_err().contains("3 tokens"));
        assert!(
            parse_market(&serde_json::json!({}))
                .unwrap_err()
                .contains("conditionId")
        );
    }
}

/// Every market from Gamma's keyset endpoint (`/markets/keyset`), following
/// `next_cursor` (passed back as `after_cursor`) until it is missing or empty.
pub async fn gamma_markets_keyset(
    http: &PolymarketHttp,
    query: &[(&str, String)],
    max_pages: usize,
) -> Result<Vec<Value>, HttpError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..max_pages {
        let mut q: Vec<(&str, String)> = query.to_vec();
        if let Some(c) = &cursor {
            q.push(("after_cursor", c.clone()));
        }
        let page: Value = http
            .gamma_get(Family::GammaMarkets, "/markets/keyset", &q)
            .await?;
        out.extend(page["markets"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) if !c.is_empty() && c != "LTE=" => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// Gamma events (`/events`), each with its markets.
pub async fn gamma_events(
    http: &PolymarketHttp,
    query: &[(&str, String)],
) -> Result<Vec<Value>, HttpError> {
    let v: Value = http
        .gamma_get(Family::GammaEvents, "/events", query)
        .await?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// Every CLOB market (`/markets`), following the cursor from `MA==` to `LTE=`.
pub async fn clob_markets(
    http: &PolymarketHttp,
    max_pages: usize,
) -> Result<Vec<Value>, HttpError> {
    let mut out = Vec::new();
    let mut cursor = "MA==".to_string();
    for _ in 0..max_pages {
        let page: Value = http
            .clob_get(
                Family::ClobGeneral,
                "/markets",
                &[("next_cursor", cursor.clone())],
            )
            .await?;
        out.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) if !c.is_empty() && c != "LTE=" => cursor = c.to_string(),
            _ => break,
        }
    }
    Ok(out)
}

/// `/tick-size` of a token.
pub async fn tick_size(http: &PolymarketHttp, token: &TokenId) -> Result<Price, HttpError> {
    let v: Value = http
        .clob_get(
            Family::ClobTickSize,
            "/tick-size",
            &[("token_id", token.to_string())],
        )
        .await?;
    decimal_text(v.get("minimum_tick_size"))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| HttpError::Decode {
            url: "/tick-size".into(),
            message: format!("no usable minimum_tick_size in {v}"),
        })
}

/// One point of `/prices-history`: unix seconds and the price as exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPoint {
    pub t: u64,
    pub price: Price,
}

/// `/prices-history` of a token between two unix times, `fidelity` minutes apart.
pub async fn prices_history(
    http: &PolymarketHttp,
    token: &TokenId,
    start: u64,
    end: u64,
    fidelity_minutes: u32,
) -> Result<Vec<HistoryPoint>, HttpError> {
    let v: Value = http
        .clob_get(
            Family::ClobPricesHistory,
            "/prices-history",
            &[
                ("market", token.to_string()),
                ("startTs", start.to_string()),
                ("endTs", end.to_string()),
                ("fidelity", fidelity_minutes.to_string()),
            ],
        )
        .await?;
    let mut out = Vec::new();
    for p in v["history"].as_array().into_iter().flatten() {
        let (Some(t), Some(price)) = (p["t"].as_u64(), decimal_text(p.get("p"))) else {
            continue;
        };
        // Prices with more than six decimals are rounded by the venue's own
        // 6-decimal precision; anything unparseable is skipped with a warning.
        match price.parse::<Price>() {
            Ok(price) => out.push(HistoryPoint { t, price }),
            Err(e) => tracing::warn!(%price, error = %e, "unusable history point"),
        }
    }
    Ok(out)
}
