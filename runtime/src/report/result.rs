//! A run's summary for one strategy, replayed from the journal: the equity curve
//! (its marks), each realisation as a trade, and the order and fill counts.

use rust_decimal::Decimal;
use serde::Serialize;

use super::metrics::{self, EquityPoint, Metrics};
use crate::model::Liquidity;
use crate::model::money::shares;
use crate::store::{Entry, Projections, Stored};

/// The numbers of one strategy in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    pub orders: usize,
    pub risk_rejections: usize,
    pub fills: usize,
    pub maker_fills: usize,
    pub volume_shares: Decimal,
    pub fees: Decimal,
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
    for e in entries {
        let before = realized(&p);
        p.apply(e);
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
                s.fees += f.fee;
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
    if let Some(a) = p.portfolio.account(strategy) {
        s.realized_closed = a.realized_closed;
        s.realized_resolution = a.realized_resolution;
    }
    s.metrics = metrics::compute(&curve, &trades, capital);
    s
}
