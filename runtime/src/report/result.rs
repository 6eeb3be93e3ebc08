//! A run's summary for one strategy, replayed from the journal: the equity curve
//! (its marks), each realisation as a trade, and the order and fill counts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::metrics::{self, EquityPoint, Metrics};
use std::collections::HashMap;

use crate::model::money::{notional, shares};
use crate::model::{Liquidity, TokenId};
use crate::store::{Entry, Projections, Stored};

/// The numbers of one strategy in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub orders: usize,
    pub risk_rejections: usize,
    pub fills: usize,
    pub maker_fills: usize,
    pub volume_shares: Decimal,
    /// Dollars traded (price × shares), both sides.
    pub turnover: Decimal,
    /// Share of fills that rested on the book (maker) rather than took.
    pub maker_share: Option<f64>,
    pub fees: Decimal,
    /// Share of the run (first to last entry) with any position open.
    pub time_in_market: Option<f64>,
    /// Mean time from opening a position in a token (from flat) to flat again
    /// (by selling or settlement); positions still open at the end do not count.
    pub average_holding_s: Option<f64>,
    /// Positions opened and closed (the population of `average_holding_s`).
    pub round_trips: usize,
    /// Realised by trading out before resolution, and by settlement.
    pub realized_closed: Decimal,
    pub realized_resolution: Decimal,
    pub faults: usize,
    pub metrics: Metrics,
}

/// Replays `entries` for `strategy`: every change of its realised PnL (a closing
/// fill or a settlement) is one trade; its marks are the equity curve.
pub fn summarize(entries: &[Stored], strategy: u32, capital: Option<Decimal>) -> RunSummary {
    let mut p = Projections::default();
    let mut s = RunSummary::default();
    let mut curve = Vec::new();
    let mut trades = Vec::new();
    let realized = |p: &Projections| {
        p.portfolio
            .account(strategy)
            .map_or(Decimal::ZERO, |a| a.realized())
    };
    let held = |p: &Projections, t: &TokenId| {
        p.portfolio
            .account(strategy)
            .is_some_and(|a| a.holding(t).size.micros() > 0)
    };
    let any_held = |p: &Projections| {
        p.portfolio
            .account(strategy)
            .is_some_and(|a| a.holdings.values().any(|h| h.size.micros() > 0))
    };
    let mut opened: HashMap<TokenId, i64> = HashMap::new();
    let mut holding_ns: i128 = 0;
    let mut in_market_since: Option<i64> = None;
    let mut in_market_ns: i128 = 0;
    for e in entries {
        let before = realized(&p);
        let touched = match &e.entry {
            Entry::Order {
                event: crate::model::OrderEvent::Filled(f),
            } if f.key.strategy == strategy => Some(f.token.clone()),
            Entry::Settlement { token, .. } => Some(token.clone()),
            _ => None,
        };
        let was_held = touched.as_ref().is_some_and(|t| held(&p, t));
        p.apply(e);
        if let Some(t) = &touched {
            match (was_held, held(&p, t)) {
                (false, true) => {
                    opened.insert(t.clone(), e.ts_ns);
                }
                (true, false) => {
                    if let Some(at) = opened.remove(t) {
                        holding_ns += i128::from(e.ts_ns - at);
                        s.round_trips += 1;
                    }
                }
                _ => {}
            }
            match (in_market_since, any_held(&p)) {
                (None, true) => in_market_since = Some(e.ts_ns),
                (Some(at), false) => {
                    in_market_ns += i128::from(e.ts_ns - at);
                    in_market_since = None;
                }
                _ => {}
            }
        }
        match &e.entry {
            Entry::OrderSubmitted { order } if order.key.strategy == strategy => s.orders += 1,
            Entry::RiskVerdict {
                key,
                accepted: false,
                ..
            } if key.strategy == strategy => s.risk_rejections += 1,
            Entry::Fault { strategy: id, .. } if *id == strategy => s.faults += 1,
            Entry::Order {
                event: crate::model::OrderEvent::Filled(f),
            } if f.key.strategy == strategy => {
                s.fills += 1;
                if f.liquidity == Liquidity::Maker {
                    s.maker_fills += 1;
                }
                s.volume_shares += shares(f.size);
                s.turnover += notional(f.price, f.size);
                s.fees += f.fee_value();
            }
            Entry::Mark {
                strategy: id,
                equity,
                ..
            } if *id == strategy => curve.push(EquityPoint {
                ts_ns: e.ts_ns,
                // Journal equity starts at zero; the curve starts at the capital.
                equity: *equity + capital.unwrap_or(Decimal::ZERO),
            }),
            _ => {}
        }
        let after = realized(&p);
        // Fees alone (a buy's fee or rebate) are costs, not a closed trade.
        let closing = matches!(&e.entry, Entry::Settlement { .. })
            || matches!(&e.entry, Entry::Order { event: crate::model::OrderEvent::Filled(f) }
                if f.key.strategy == strategy && f.side == crate::model::Side::Sell);
        if closing && after != before {
            trades.push(after - before);
        }
    }
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        if let Some(at) = in_market_since {
            in_market_ns += i128::from(last.ts_ns - at);
        }
        let span = i128::from(last.ts_ns - first.ts_ns);
        if span > 0 {
            s.time_in_market = Some(in_market_ns as f64 / span as f64);
        }
    }
    if s.round_trips > 0 {
        s.average_holding_s = Some(holding_ns as f64 / 1e9 / s.round_trips as f64);
    }
    if s.fills > 0 {
        s.maker_share = Some(s.maker_fills as f64 / s.fills as f64);
    }
    if let Some(a) = p.portfolio.account(strategy) {
        s.realized_closed = a.realized_closed;
        s.realized_resolution = a.realized_resolution;
    }
    s.metrics = metrics::compute(&curve, &trades, capital);
    s
}
