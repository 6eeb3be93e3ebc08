//! Projections rebuilt by replaying the journal: orders with their status and
//! reason, fills, positions and PnL per strategy, risk verdicts, faults, the
//! trading state. Replay is the definition; anything stored (a checkpoint)
//! must equal it. What they keep of history is bounded (`retention`).

mod retention;

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use retention::{KEPT_ENDED_ORDERS, KEPT_EVENTS, KEPT_FILLS, RECENT_NS};

use super::entry::{CommandAction, Entry};
use super::journal::Stored;
use crate::model::{
    CancelCause, Fill, Order, OrderEvent, OrderKey, Price, StrategyId, TokenId, VenueReject,
};
use crate::portfolio::{Portfolio, PortfolioError};
use crate::risk::TradingState;

/// Where an order stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OrderStatus {
    /// Sent; the venue has not answered (after a crash: unknown until reconciled).
    Submitted,
    Open,
    /// The answer to sending it was lost; working as far as limits go, until
    /// reconciliation says what it is.
    Unknown,
    Filled,
    Cancelled {
        cause: CancelCause,
    },
    Rejected {
        reject: VenueReject,
    },
}

/// An order with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order: Order,
    pub status: OrderStatus,
    pub filled: Decimal,
    /// Journal sequence of the command that asked for it, its reason and cause.
    pub command_seq: Option<i64>,
    pub reason: String,
    pub cause_seq: Option<i64>,
    pub submitted_seq: i64,
}

/// A fill with its journal sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRecord {
    pub seq: i64,
    pub fill: Fill,
}

/// The portfolio alone as the journal leaves it (fills and settlements, the
/// same [`Portfolio`] rules [`Projections`] applies): what run reports fold
/// entry by entry without keeping every order.
#[derive(Debug, Clone, Default)]
pub struct PortfolioProjection {
    pub portfolio: Portfolio,
    /// Trades whose fills were reversed (each is undone once).
    reversed: std::collections::BTreeSet<String>,
}

impl PortfolioProjection {
    /// The fill `stored` reverses, when it is a reversal `apply` has not yet
    /// undone (a repeated reversal of the same trade undoes nothing).
    pub fn fresh_reversal<'e>(&self, stored: &'e Stored) -> Option<&'e Fill> {
        match &stored.entry {
            Entry::Order {
                event:
                    OrderEvent::FillReversed {
                        trade_id,
                        fill: Some(fill),
                        ..
                    },
            } if !self.reversed.contains(trade_id) => Some(fill),
            _ => None,
        }
    }

    pub fn apply(&mut self, stored: &Stored) {
        match &stored.entry {
            Entry::Order {
                event: OrderEvent::Filled(fill),
            } => {
                // An oversell is an anomaly `Projections` reports; the
                // figures go on from what the portfolio accepted.
                let _ = self.portfolio.apply_fill(fill);
            }
            Entry::Order {
                event:
                    OrderEvent::FillReversed {
                        trade_id,
                        fill: Some(fill),
                        ..
                    },
            } if self.reversed.insert(trade_id.clone()) => {
                let _ = self.portfolio.reverse_fill(fill);
            }
            Entry::Settlement {
                token,
                payout_micros,
            } => {
                if let Some(p) = Price::new(*payout_micros) {
                    self.portfolio.settle(token, p);
                }
            }
            _ => {}
        }
    }
}

/// Everything replay knows. Serialised whole, it is a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Projections {
    pub strategies: BTreeMap<StrategyId, (String, String)>,
    /// Every working order, and the newest [`KEPT_ENDED_ORDERS`] ended ones
    /// (and those of the fills kept).
    pub orders: BTreeMap<OrderKey, OrderRecord>,
    /// Orders ever sent.
    pub orders_total: u64,
    /// Fills that stand (a reversed one leaves this list for `reversals`):
    /// the newest [`KEPT_FILLS`], those of the last hour and those of
    /// working orders.
    pub fills: VecDeque<FillRecord>,
    /// Fills that stand, in all.
    pub fills_total: u64,
    /// The newest fills reversed (their trades failed to settle), at the
    /// reversal's sequence: their trade ids stay known, so none is booked again.
    pub reversals: VecDeque<FillRecord>,
    pub portfolio: Portfolio,
    pub rejections: u64,
    /// The newest [`KEPT_EVENTS`] faults.
    pub faults: VecDeque<(i64, StrategyId, serde_json::Value)>,
    /// Equity marks (ts_ns, strategy, equity, realised, unrealised): the curve,
    /// thinned with age (`retention`).
    pub marks: Vec<(i64, StrategyId, Decimal, Decimal, Decimal)>,
    /// The newest [`KEPT_EVENTS`] halts.
    pub halts: VecDeque<(i64, StrategyId, String)>,
    /// Strategies an operator paused (and has not resumed).
    pub paused: std::collections::BTreeSet<StrategyId>,
    /// Strategies an operator retired (and nobody has deployed since).
    pub retired: std::collections::BTreeSet<StrategyId>,
    /// Strategies quarantined (and not started since), with the reason.
    pub quarantined: BTreeMap<StrategyId, String>,
    pub trading_state: TradingState,
    pub last_seq: i64,
    /// Entries applied (the journal's length when replayed whole).
    pub entries: u64,
    /// The latest run: (id, mode).
    pub last_run: Option<(String, String)>,
    pub last_ts_ns: i64,
    pub first_ts_ns: Option<i64>,
    /// Problems replay found (a fill the portfolio refused, ...): the newest
    /// [`KEPT_EVENTS`].
    pub anomalies: VecDeque<String>,
    /// Problems replay found, in all.
    pub anomalies_total: u64,
    /// Runs the journal holds (each start or restart is one).
    pub runs: u64,
    /// Resolved tokens and their payout per share, in micro-dollars.
    pub settled: BTreeMap<TokenId, u32>,
    /// The last restart point per strategy.
    pub snapshots: BTreeMap<StrategyId, SnapshotRef>,
    /// Timers strategies asked for: (strategy, timer id) → host time.
    pub timers: BTreeMap<(StrategyId, u64), u64>,
    /// The latest daily-loss baseline per strategy (`None`: all together):
    /// its UTC day and the equity it counts from.
    pub day_baselines: BTreeMap<Option<StrategyId>, (u64, Decimal)>,
    /// Daily-loss halts in force (`None`: all strategies), by the UTC day they
    /// happened; a later baseline of that day (an operator resume) lifts one.
    pub loss_halts: BTreeMap<Option<StrategyId>, u64>,
    pending_command: BTreeMap<OrderKey, (i64, String, Option<i64>)>,
    /// When each bounded collection is next trimmed (`retention`).
    trim_at: retention::TrimMarks,
}

/// Where a strategy's last restart point is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// The journal entry that recorded it.
    pub seq: i64,
    pub state: SnapshotState,
    /// The last event sequence the strategy had seen.
    pub event_seq: u64,
}

/// A restart point's bytes, or the blob that holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotState {
    /// Held in the entry itself (journals written before blobs).
    Inline(Vec<u8>),
    /// In `snapshot_blobs` under this SHA-256.
    Blob(String),
}

impl Projections {
    /// Replays entries in sequence order.
    pub fn replay(entries: &[Stored]) -> Projections {
        let mut p = Projections::default();
        for e in entries {
            p.apply(e);
        }
        p
    }

    pub fn apply(&mut self, stored: &Stored) {
        self.last_seq = stored.seq;
        self.entries += 1;
        self.last_ts_ns = stored.ts_ns;
        self.first_ts_ns.get_or_insert(stored.ts_ns);
        match &stored.entry {
            Entry::StrategyStarted {
                strategy,
                name,
                version,
                ..
            } => {
                self.strategies
                    .insert(*strategy, (name.clone(), version.clone()));
                self.retired.remove(strategy);
                self.quarantined.remove(strategy);
            }
            Entry::StrategyRetired { strategy, .. } => {
                self.retired.insert(*strategy);
                self.paused.remove(strategy);
                self.quarantined.remove(strategy);
            }
            Entry::StrategyQuarantined {
                strategy, reason, ..
            } => {
                self.quarantined.insert(*strategy, reason.clone());
            }
            Entry::Command {
                command: CommandAction::Place { order },
                reason,
                cause,
                ..
            } => {
                self.pending_command
                    .insert(order.key, (stored.seq, reason.clone(), *cause));
            }
            Entry::RiskVerdict {
                accepted: false, ..
            } => self.rejections += 1,
            Entry::OrderSubmitted { order } => {
                let (command_seq, reason, cause_seq) = match self.pending_command.remove(&order.key)
                {
                    Some((s, r, c)) => (Some(s), r, c),
                    None => (None, String::new(), None),
                };
                self.orders_total += 1;
                self.orders.insert(
                    order.key,
                    OrderRecord {
                        order: order.clone(),
                        status: OrderStatus::Submitted,
                        filled: Decimal::ZERO,
                        command_seq,
                        reason,
                        cause_seq,
                        submitted_seq: stored.seq,
                    },
                );
            }
            Entry::Order { event } => self.order_event(stored.seq, event),
            Entry::Settlement {
                token,
                payout_micros,
            } => {
                self.settled.insert(token.clone(), *payout_micros);
                if let Some(p) = Price::new(*payout_micros) {
                    self.portfolio.settle(token, p);
                }
            }
            Entry::Fault { strategy, fault } => {
                retention::push_capped(&mut self.faults, (stored.seq, *strategy, fault.clone()))
            }
            Entry::TradingState { state, .. } => self.trading_state = *state,
            Entry::RunStarted { run_id, mode, .. } => {
                self.runs += 1;
                self.last_run = Some((run_id.clone(), mode.clone()));
            }
            Entry::Snapshot {
                strategy,
                state_hex,
                state_sha256,
                event_seq,
                ..
            } => {
                let state = match state_sha256 {
                    Some(sha) => Some(SnapshotState::Blob(sha.clone())),
                    None => hex::decode(state_hex).ok().map(SnapshotState::Inline),
                };
                match state {
                    Some(state) => {
                        self.snapshots.insert(
                            *strategy,
                            SnapshotRef {
                                seq: stored.seq,
                                state,
                                event_seq: *event_seq,
                            },
                        );
                    }
                    None => self.anomaly(format!("entry {}: snapshot is not hex", stored.seq)),
                }
            }
            Entry::Command {
                strategy,
                command: CommandAction::Timer { id, at_ns },
                ..
            } => {
                self.timers.insert((*strategy, *id), *at_ns);
            }
            Entry::Mark {
                strategy,
                equity,
                realized,
                unrealized,
                ..
            } => self
                .marks
                .push((stored.ts_ns, *strategy, *equity, *realized, *unrealized)),
            Entry::StrategyHalted { strategy, reason } => {
                retention::push_capped(&mut self.halts, (stored.seq, *strategy, reason.clone()));
                let day = u64::try_from(stored.ts_ns).unwrap_or(0) / 86_400_000_000_000;
                self.loss_halts.insert(Some(*strategy), day);
            }
            Entry::PortfolioHalted { .. } => {
                let day = u64::try_from(stored.ts_ns).unwrap_or(0) / 86_400_000_000_000;
                self.loss_halts.insert(None, day);
            }
            Entry::DayStart {
                strategy,
                day,
                equity,
                ..
            } => {
                self.day_baselines.insert(*strategy, (*day, *equity));
                // A new baseline (a new day, or an operator's resume) ends a
                // halt of its day or before.
                if self.loss_halts.get(strategy).is_some_and(|d| d <= day) {
                    self.loss_halts.remove(strategy);
                }
            }
            Entry::StrategyPaused {
                strategy, paused, ..
            } => {
                if *paused {
                    self.paused.insert(*strategy);
                } else {
                    self.paused.remove(strategy);
                }
            }
            _ => {}
        }
        self.trim();
    }

    fn order_event(&mut self, seq: i64, event: &OrderEvent) {
        let key = event.key();
        let record = self.orders.get_mut(&key);
        match event {
            OrderEvent::Accepted { .. } => {
                if let Some(r) = record
                    && matches!(r.status, OrderStatus::Submitted | OrderStatus::Unknown)
                {
                    r.status = OrderStatus::Open;
                }
            }
            OrderEvent::Rejected { reject, .. } => {
                if let Some(r) = record {
                    r.status = OrderStatus::Rejected {
                        reject: reject.clone(),
                    };
                }
            }
            OrderEvent::Cancelled { cause, .. } => {
                if let Some(r) = record {
                    r.status = OrderStatus::Cancelled { cause: *cause };
                }
            }
            OrderEvent::Unknown { .. } => {
                if let Some(r) = record
                    && r.status == OrderStatus::Submitted
                {
                    r.status = OrderStatus::Unknown;
                }
            }
            OrderEvent::FillReversed { trade_id, fill, .. } => {
                self.reverse(seq, key, trade_id, fill.as_ref())
            }
            OrderEvent::Filled(fill) => {
                if let Some(r) = record {
                    r.filled += crate::model::money::shares(fill.size);
                    r.status = if fill.remaining.is_zero() {
                        OrderStatus::Filled
                    } else {
                        OrderStatus::Open
                    };
                }
                if let Err(PortfolioError::Oversell { token, sold, held }) =
                    self.portfolio.apply_fill(fill)
                {
                    self.anomaly(format!(
                        "entry {seq}: sell of {sold} {token} exceeds {held} held"
                    ));
                }
                self.fills_total += 1;
                self.fills.push_back(FillRecord {
                    seq,
                    fill: fill.clone(),
                });
            }
        }
    }

    /// Undoes the fill of `trade_id` (as booked: `fill`, or the one the
    /// journal holds), once: the order's filled total, the portfolio.
    fn reverse(&mut self, seq: i64, key: OrderKey, trade_id: &str, fill: Option<&Fill>) {
        let same = |r: &FillRecord| r.fill.trade_id.as_deref() == Some(trade_id);
        if self.reversals.iter().any(same) {
            return;
        }
        let Some(fill) = fill
            .cloned()
            .or_else(|| self.fills.iter().find(|r| same(r)).map(|r| r.fill.clone()))
        else {
            self.anomaly(format!(
                "entry {seq}: reversal of trade {trade_id}, which was never booked"
            ));
            return;
        };
        if let Some(r) = self.orders.get_mut(&key) {
            r.filled = (r.filled - crate::model::money::shares(fill.size)).max(Decimal::ZERO);
            // What the failed trade took is neither filled nor working.
            if r.status == OrderStatus::Filled {
                r.status = OrderStatus::Cancelled {
                    cause: CancelCause::Venue,
                };
            }
        }
        if let Err(e) = self.portfolio.reverse_fill(&fill) {
            self.anomaly(format!("entry {seq}: {e}"));
        }
        self.fills.retain(|r| !same(r));
        self.fills_total = self.fills_total.saturating_sub(1);
        retention::push_capped_to(&mut self.reversals, FillRecord { seq, fill }, KEPT_FILLS);
    }

    fn anomaly(&mut self, what: String) {
        self.anomalies_total += 1;
        retention::push_capped(&mut self.anomalies, what);
    }

    /// Whether a strategy's order id was ever sent to a venue.
    pub fn submitted(&self, key: &OrderKey) -> bool {
        self.orders.contains_key(key)
    }

    /// Orders still working (or unknown).
    pub fn open_orders(&self) -> impl Iterator<Item = &OrderRecord> {
        self.orders.values().filter(|r| {
            matches!(
                r.status,
                OrderStatus::Submitted | OrderStatus::Open | OrderStatus::Unknown
            )
        })
    }

    /// Holdings by strategy and token.
    pub fn positions(&self) -> Vec<(StrategyId, TokenId, crate::portfolio::Holding)> {
        let mut out = Vec::new();
        for (id, a) in self.portfolio.accounts() {
            for (t, h) in &a.holdings {
                out.push((*id, t.clone(), h.clone()));
            }
        }
        out
    }
}
