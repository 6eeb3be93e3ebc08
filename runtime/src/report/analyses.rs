//! Automated sanity checks printed with every backtest: the ways a result can look
//! better than live trading would be (stale fills, too few trades, one lucky
//! market, PnL that only exists at the end-of-run marks, data from the future).

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::attribution::Attribution;
use super::result::RunSummary;
use crate::data::update::FeedUpdate;
use crate::model::{ConditionId, MarketEvent, OrderEvent, TokenId};
use crate::store::{Entry, Stored};
use crate::venue::MarketSpec;

/// A fill is at a stale price when its market's book had not changed for this long.
pub const STALE_AFTER_MS: u64 = 300_000;
/// Fewer closed trades than this are too few to judge a strategy by.
pub const MIN_TRADES: usize = 30;
/// One market earning more than this share of the absolute PnL dominates.
pub const DOMINANCE_SHARE: Decimal = Decimal::from_parts(7, 0, 0, false, 1);

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub passed: bool,
    pub message: String,
}

/// All checks of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analyses {
    pub findings: Vec<Finding>,
    /// Fills against a book unchanged for `STALE_AFTER_MS` or more.
    pub stale_fills: usize,
    /// Events stamped more than a second after they were delivered.
    pub look_ahead_events: u64,
}

impl Analyses {
    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| !f.passed).count()
    }

    fn push(&mut self, check: &str, passed: bool, message: String) {
        self.findings.push(Finding {
            check: check.to_string(),
            passed,
            message,
        });
    }
}

/// Runs every check. `stale_fills` comes from a `StaleFills` fed during the run;
/// `look_ahead_events` from the runner, which saw the delivery order.
pub fn analyse(
    summary: &RunSummary,
    attribution: &Attribution,
    stale_fills: usize,
    look_ahead_events: u64,
) -> Analyses {
    let mut a = Analyses {
        look_ahead_events,
        ..Analyses::default()
    };
    let trades = summary.metrics.trades;
    a.push(
        "enough_trades",
        trades >= MIN_TRADES,
        if trades >= MIN_TRADES {
            format!("{trades} closed trades")
        } else {
            format!("only {trades} closed trades: too few to judge (want ≥ {MIN_TRADES})")
        },
    );

    let abs: Decimal = attribution.by_market.values().map(|s| s.pnl().abs()).sum();
    let top = attribution
        .by_market
        .iter()
        .max_by_key(|(_, s)| s.pnl().abs())
        .filter(|_| !abs.is_zero());
    match top {
        Some((market, s)) => {
            let share = s.pnl().abs() / abs;
            let traded = attribution
                .by_market
                .values()
                .filter(|s| s.fills > 0)
                .count();
            let dominated = share > DOMINANCE_SHARE || traded < 2;
            a.push(
                "market_concentration",
                !dominated,
                format!(
                    "{}% of the absolute PnL from {market:?} ({traded} market(s) traded)",
                    (share * Decimal::ONE_HUNDRED).round_dp(1)
                ),
            );
        }
        None => a.push("market_concentration", true, "no PnL to attribute".into()),
    }

    a.stale_fills = stale_fills;
    a.push(
        "stale_fills",
        a.stale_fills == 0,
        format!(
            "{} of {} fills against a book unchanged for ≥ {} s",
            a.stale_fills,
            summary.fills,
            STALE_AFTER_MS / 1_000
        ),
    );

    a.push(
        "look_ahead",
        look_ahead_events == 0,
        if look_ahead_events == 0 {
            "updates delivered in receive order; no event stamped after its delivery; \
             settlements only from resolution events"
                .to_string()
        } else {
            format!("{look_ahead_events} events stamped more than 1 s after their delivery")
        },
    );

    let total = summary.metrics.total_pnl;
    let unrealized: Decimal = attribution.by_market.values().map(|s| s.unrealized).sum();
    let marked = !total.is_zero() && unrealized.abs() * Decimal::TWO > total.abs();
    a.push(
        "open_at_end",
        !marked,
        format!(
            "{} $ of the {} $ PnL is open positions marked to the last mid",
            unrealized.round_dp(4),
            total.round_dp(4)
        ),
    );

    a.push(
        "faults",
        summary.faults == 0,
        format!("{} sandbox faults", summary.faults),
    );
    let rejected = summary.risk_rejections;
    let shaped = rejected * 10 > summary.orders.max(1);
    a.push(
        "risk_rejections",
        !shaped,
        format!(
            "{rejected} orders rejected by risk of {} submitted",
            summary.orders
        ),
    );
    a
}

/// Counts fills whose market's book had not changed for `STALE_AFTER_MS` before
/// them, as a run goes: fed the market updates in receive order and the
/// strategy's fills as they are journaled.
///
/// A change received in the same millisecond as a fill counts as before it, even
/// when it is fed after the fill: a fill at `T` is judged only once an update
/// received after `T` arrives (or at `finish`), when every change up to `T` is
/// known. So fills must be fed before any update received after their
/// millisecond: one fed later is judged against the changes known when it is
/// judged, and a change after it hides its staleness.
#[derive(Debug, Clone)]
pub struct StaleFills {
    strategy: u32,
    market_of: HashMap<TokenId, ConditionId>,
    /// When each market's book last changed (receive time, ms).
    changed: HashMap<ConditionId, Option<u64>>,
    /// Fills not yet judged, by millisecond.
    pending: BTreeMap<u64, Vec<ConditionId>>,
    stale: usize,
}

impl StaleFills {
    /// Tracks `strategy`'s fills in `markets`; fills of other tokens are ignored.
    pub fn new(strategy: u32, markets: &[MarketSpec]) -> StaleFills {
        let mut market_of = HashMap::new();
        let mut changed = HashMap::new();
        for m in markets {
            changed.insert(m.condition.clone(), None);
            for (t, _) in &m.tokens {
                market_of.insert(t.clone(), m.condition.clone());
            }
        }
        StaleFills {
            strategy,
            market_of,
            changed,
            pending: BTreeMap::new(),
            stale: 0,
        }
    }

    /// Takes the next market update; updates must come in receive order.
    pub fn on_update(&mut self, update: &FeedUpdate) {
        let at = update.received_ms;
        // Nothing fed from now on is at or before these fills' millisecond.
        if self.pending.first_key_value().is_some_and(|(t, _)| *t < at) {
            let later = self.pending.split_off(&at);
            let due = std::mem::replace(&mut self.pending, later);
            self.judge(due);
        }
        for e in &update.events {
            if let MarketEvent::Book { market, .. } | MarketEvent::PriceChange { market, .. } = e
                && let Some(last) = self.changed.get_mut(market)
            {
                *last = Some(at);
            }
        }
    }

    /// Takes a journal entry; only the strategy's fills matter.
    pub fn on_entry(&mut self, e: &Stored) {
        if let Entry::Order {
            event: OrderEvent::Filled(f),
        } = &e.entry
            && f.key.strategy == self.strategy
        {
            self.on_fill(f.ts_ns / 1_000_000, &f.token);
        }
    }

    /// Takes one of the strategy's fills, at `ts_ms`.
    pub fn on_fill(&mut self, ts_ms: u64, token: &TokenId) {
        if let Some(m) = self.market_of.get(token) {
            self.pending.entry(ts_ms).or_default().push(m.clone());
        }
    }

    fn judge(&mut self, fills: BTreeMap<u64, Vec<ConditionId>>) {
        for (ts, markets) in fills {
            for m in markets {
                let stale = match self.changed.get(&m).copied().flatten() {
                    Some(last) => ts.saturating_sub(last) >= STALE_AFTER_MS,
                    None => true,
                };
                if stale {
                    self.stale += 1;
                }
            }
        }
    }

    /// The number of stale fills, judging those still pending against every
    /// change seen.
    pub fn finish(mut self) -> usize {
        let due = std::mem::take(&mut self.pending);
        self.judge(due);
        self.stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::attribution::Slice;

    fn attribution(pnls: &[(&str, i64, usize)]) -> Attribution {
        let mut a = Attribution::default();
        for (m, pnl, fills) in pnls {
            a.by_market.insert(
                m.to_string(),
                Slice {
                    realized: Decimal::new(*pnl, 0),
                    fills: *fills,
                    ..Slice::default()
                },
            );
        }
        a
    }

    fn check<'a>(a: &'a Analyses, name: &str) -> &'a Finding {
        a.findings.iter().find(|f| f.check == name).unwrap()
    }

    #[test]
    fn flags_few_trades_and_one_lucky_market() {
        let mut s = RunSummary::default();
        s.metrics.trades = 12;
        s.metrics.total_pnl = Decimal::new(100, 0);
        // 80 of |80| + |−10| + |10| = 80 %.
        let a = analyse(
            &s,
            &attribution(&[("A", 80, 5), ("B", -10, 5), ("C", 10, 5)]),
            0,
            0,
        );
        assert!(!check(&a, "enough_trades").passed);
        let c = check(&a, "market_concentration");
        assert!(!c.passed);
        assert!(c.message.starts_with("80.0% "), "{}", c.message);
        s.metrics.trades = 30;
        let a = analyse(&s, &attribution(&[("A", 50, 5), ("B", 50, 5)]), 0, 0);
        assert!(check(&a, "enough_trades").passed);
        assert!(check(&a, "market_concentration").passed);
        assert!(check(&a, "look_ahead").passed);
        assert_eq!(a.warnings(), 0);
        let a = analyse(&s, &attribution(&[("A", 50, 5)]), 0, 3);
        assert!(
            !check(&a, "market_concentration").passed,
            "one market traded"
        );
        assert!(!check(&a, "look_ahead").passed);
    }

    #[test]
    fn flags_pnl_that_is_mostly_end_marks() {
        let mut s = RunSummary::default();
        s.metrics.total_pnl = Decimal::new(10, 0);
        let mut a = attribution(&[("A", 2, 1), ("B", 2, 1)]);
        if let Some(slice) = a.by_market.get_mut("A") {
            slice.unrealized = Decimal::new(6, 0);
        }
        let r = analyse(&s, &a, 0, 0);
        assert!(!check(&r, "open_at_end").passed);
    }
}
