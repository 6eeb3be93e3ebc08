//! A run's summary for one strategy, replayed from the journal: the equity curve
//! (its marks), each realisation as a trade, and the order and fill counts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::metrics::{self, EquityPoint, Metrics};
use std::collections::HashMap;

use crate::model::money::{notional, shares};
use crate::model::{Liquidity, OrderEvent, Side, TokenId};
use crate::store::{Entry, PortfolioProjection, Stored};

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

/// A run's summary for one strategy, built entry by entry as the journal is
/// written, so a run need not keep its journal to report on it.
#[derive(Debug, Clone)]
pub struct SummaryFold {
    strategy: u32,
    capital: Option<Decimal>,
    p: PortfolioProjection,
    s: RunSummary,
    curve: Vec<EquityPoint>,
    trades: Vec<Decimal>,
    /// Index in `trades` of the trade each closing fill made, by trade id.
    trade_of: HashMap<String, usize>,
    /// Indexes in `trades` of trades a reversal undid whole.
    voided: Vec<usize>,
    opened: HashMap<TokenId, i64>,
    holding_ns: i128,
    in_market_since: Option<i64>,
    in_market_ns: i128,
    /// Timestamps of the first and the latest entry seen.
    span: Option<(i64, i64)>,
}

impl SummaryFold {
    pub fn new(strategy: u32, capital: Option<Decimal>) -> SummaryFold {
        SummaryFold {
            strategy,
            capital,
            p: PortfolioProjection::default(),
            s: RunSummary::default(),
            curve: Vec::new(),
            trades: Vec::new(),
            trade_of: HashMap::new(),
            voided: Vec::new(),
            opened: HashMap::new(),
            holding_ns: 0,
            in_market_since: None,
            in_market_ns: 0,
            span: None,
        }
    }

    fn realized(&self) -> Decimal {
        self.p
            .portfolio
            .account(self.strategy)
            .map_or(Decimal::ZERO, |a| a.realized())
    }

    fn held(&self, t: &TokenId) -> bool {
        self.p
            .portfolio
            .account(self.strategy)
            .is_some_and(|a| a.holding(t).size.micros() > 0)
    }

    fn any_held(&self) -> bool {
        self.p
            .portfolio
            .account(self.strategy)
            .is_some_and(|a| a.holdings.values().any(|h| h.size.micros() > 0))
    }

    /// Takes the next journal entry, in sequence order.
    pub fn observe(&mut self, e: &Stored) {
        let strategy = self.strategy;
        self.span = Some(match self.span {
            Some((first, _)) => (first, e.ts_ns),
            None => (e.ts_ns, e.ts_ns),
        });
        let before = self.realized();
        // A trade that ended FAILED is taken out of the summary again.
        let reversal = self
            .p
            .fresh_reversal(e)
            .filter(|f| f.key.strategy == strategy)
            .cloned();
        let touched = match &e.entry {
            Entry::Order {
                event: OrderEvent::Filled(f),
            } if f.key.strategy == strategy => Some(f.token.clone()),
            Entry::Settlement { token, .. } => Some(token.clone()),
            _ => reversal.as_ref().map(|f| f.token.clone()),
        };
        let was_held = touched.as_ref().is_some_and(|t| self.held(t));
        self.p.apply(e);
        if let Some(t) = &touched {
            match (was_held, self.held(t)) {
                (false, true) => {
                    self.opened.insert(t.clone(), e.ts_ns);
                }
                (true, false) => {
                    if let Some(at) = self.opened.remove(t) {
                        self.holding_ns += i128::from(e.ts_ns - at);
                        self.s.round_trips += 1;
                    }
                }
                _ => {}
            }
            match (self.in_market_since, self.any_held()) {
                (None, true) => self.in_market_since = Some(e.ts_ns),
                (Some(at), false) => {
                    self.in_market_ns += i128::from(e.ts_ns - at);
                    self.in_market_since = None;
                }
                _ => {}
            }
        }
        let s = &mut self.s;
        match &e.entry {
            Entry::OrderSubmitted { order } if order.key.strategy == strategy => s.orders += 1,
            Entry::RiskVerdict {
                key,
                accepted: false,
                ..
            } if key.strategy == strategy => s.risk_rejections += 1,
            Entry::Fault { strategy: id, .. } if *id == strategy => s.faults += 1,
            Entry::Order {
                event: OrderEvent::Filled(f),
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
            } if *id == strategy => self.curve.push(EquityPoint {
                ts_ns: e.ts_ns,
                // Journal equity starts at zero; the curve starts at the capital.
                equity: *equity + self.capital.unwrap_or(Decimal::ZERO),
            }),
            _ => {}
        }
        if let Some(f) = &reversal {
            s.fills = s.fills.saturating_sub(1);
            if f.liquidity == Liquidity::Maker {
                s.maker_fills = s.maker_fills.saturating_sub(1);
            }
            s.volume_shares -= shares(f.size);
            s.turnover -= notional(f.price, f.size);
            s.fees -= f.fee_value();
        }
        let after = self.realized();
        // Fees alone (a buy's fee or rebate) are costs, not a closed trade.
        let closing = matches!(&e.entry, Entry::Settlement { .. })
            || matches!(&e.entry, Entry::Order { event: OrderEvent::Filled(f) }
                if f.key.strategy == strategy && f.side == Side::Sell);
        if closing && after != before {
            if let Entry::Order {
                event: OrderEvent::Filled(f),
            } = &e.entry
                && let Some(id) = &f.trade_id
            {
                self.trade_of.insert(id.clone(), self.trades.len());
            }
            self.trades.push(after - before);
        }
        // A reversed sell's closed trade is corrected by what the reversal
        // moved, so the trades still add up to the realised PnL.
        if let Some(f) = &reversal
            && let Some(i) = f.trade_id.as_ref().and_then(|id| self.trade_of.remove(id))
            && let Some(t) = self.trades.get_mut(i)
        {
            *t += after - before;
            if t.is_zero() {
                // Undone whole: the trade never happened.
                self.voided.push(i);
            }
        }
    }

    /// The summary of everything observed; a position still open counts as in
    /// the market up to the last entry.
    pub fn finish(self) -> RunSummary {
        let mut s = self.s;
        let mut in_market_ns = self.in_market_ns;
        if let Some((first, last)) = self.span {
            if let Some(at) = self.in_market_since {
                in_market_ns += i128::from(last - at);
            }
            let span = i128::from(last - first);
            if span > 0 {
                s.time_in_market = Some(in_market_ns as f64 / span as f64);
            }
        }
        if s.round_trips > 0 {
            s.average_holding_s = Some(self.holding_ns as f64 / 1e9 / s.round_trips as f64);
        }
        if s.fills > 0 {
            s.maker_share = Some(s.maker_fills as f64 / s.fills as f64);
        }
        if let Some(a) = self.p.portfolio.account(self.strategy) {
            s.realized_closed = a.realized_closed;
            s.realized_resolution = a.realized_resolution;
        }
        let trades: Vec<Decimal> = self
            .trades
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.voided.contains(i))
            .map(|(_, t)| *t)
            .collect();
        s.metrics = metrics::compute(&self.curve, &trades, self.capital);
        s
    }
}

/// Replays `entries` for `strategy`: every change of its realised PnL (a closing
/// fill or a settlement) is one trade; its marks are the equity curve.
pub fn summarize(entries: &[Stored], strategy: u32, capital: Option<Decimal>) -> RunSummary {
    let mut fold = SummaryFold::new(strategy, capital);
    for e in entries {
        fold.observe(e);
    }
    fold.finish()
}
