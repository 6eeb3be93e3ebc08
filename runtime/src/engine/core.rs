//! The event loop: one total order of market updates, timers and venue events;
//! strategies decide in their sandboxes; every command passes risk; every decision
//! and order event is journaled; fills reach a strategy only after they are
//! durable. The clock is whatever the caller says (simulated or wall).

mod budget;
mod controls;
mod daily_loss;
mod delivery;
mod deploy;
mod foreign;
mod orders;
mod reconcile;
mod recovery;
mod reversal;
mod settlement;
mod universe;
mod views;

pub use deploy::Deployed;
pub use reconcile::ReconcileReport;
pub use universe::MarketsChange;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::registry::Registry;
use super::translate::{Translator, order_event};
use crate::data::books::{BookOutput, Books};
use crate::data::update::FeedUpdate;
use crate::model::money::notional;
use crate::model::{
    CancelCause, MarketEvent, Order, OrderEvent, OrderKey, Side, Size, StrategyId, TimeInForce,
};
use crate::portfolio::Portfolio;
use crate::risk::{
    self, Exposure, Intent, MarketView, OrderRate, RiskInput, RiskLimits, TradingState,
};
use crate::store::{CommandAction, Entry, Journal, Projections, StoreError, Stored};
use crate::strategy::bindings::types as wit;
use crate::strategy::{
    Artifact, CallOutcome, ClockMode, HostView, InstanceOptions, SandboxLimits, SupervisedStrategy,
};
use crate::venue::Venue;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub run_id: String,
    pub mode: ClockMode,
    pub seed: u64,
    pub sandbox: SandboxLimits,
    pub global_limits: RiskLimits,
    /// Host time between equity marks in the journal (the equity curve).
    pub mark_every_ns: u64,
    /// A strategy the journal shows quarantined (after too many faults, a
    /// failed start, or by an operator) and not deployed since stays
    /// quarantined when the engine starts again (a server); otherwise naming a
    /// strategy to run starts it afresh (paper, backtests).
    pub keep_quarantines: bool,
}

/// A strategy to run: its artifact, parameters and limits.
pub struct StrategySetup {
    pub artifact: Arc<Artifact>,
    pub params: Vec<wit::Param>,
    pub limits: RiskLimits,
    /// The markets it trades (condition ids, slugs or question text); empty:
    /// every market of the run. It sees and may trade only their instruments.
    pub markets: Vec<String>,
}

/// Why the engine stopped working. A strategy never is: its faults are its
/// own (journaled, and it is stopped), never the engine's.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Slot {
    id: StrategyId,
    name: String,
    sup: SupervisedStrategy,
    interests: wit::Interests,
    limits: RiskLimits,
    halted: bool,
    /// Paused by an operator: hears nothing, places nothing.
    paused: bool,
    /// Restart points already written to the journal.
    snapshots_journaled: u64,
    /// The UTC day its daily-loss baseline belongs to, and that baseline: its
    /// equity when the day began for it (or when an operator resumed it).
    day: u64,
    day_baseline: Decimal,
    /// Order events (and timers) waiting for the strategy's next batch.
    inbox: Vec<(wit::EventKind, Option<usize>)>,
    /// Order events and timers it heard since its last restart point: after a
    /// fault it restarts from that point and hears them again.
    since_snapshot: Vec<(wit::EventKind, Option<usize>)>,
    /// Orders risk refused since this process started.
    rejections: u64,
    /// Cancels of orders it had not working, refused without journaling.
    refused_cancels: u64,
    /// What it used of its budgets (commands, timers, journal).
    budgets: budget::Budgets,
    /// The instruments it trades, when not all of the run's, and the markets
    /// it was set to (empty: all).
    instruments: Option<BTreeSet<u32>>,
    markets: Vec<String>,
}

/// What handling one update needs for a moment, kept to be reused.
#[derive(Default)]
struct UpdateBuffers {
    shared: Vec<(wit::EventKind, Option<usize>)>,
    outputs: Vec<BookOutput>,
    kinds: Vec<wit::EventKind>,
    statuses: Vec<BookOutput>,
}

/// An order the venue may still fill.
#[derive(Debug, Clone)]
struct Working {
    order: Order,
    remaining: Size,
    /// The order's instrument id (ids never change once given).
    instrument: Option<u32>,
}

/// The engine.
pub struct Engine<V: Venue> {
    config: EngineConfig,
    registry: Registry,
    books: Books,
    translator: Translator,
    slots: Vec<Slot>,
    venue: V,
    portfolio: Portfolio,
    journal: Journal,
    state: TradingState,
    rate: OrderRate,
    working: BTreeMap<OrderKey, Working>,
    /// Every order key ever sent to the venue: a key is never sent twice.
    used_keys: BTreeSet<OrderKey>,
    /// Orders the host asked the venue to cancel (their cancels say `host`).
    host_cancels: BTreeSet<OrderKey>,
    /// Resolved tokens and what a share of each paid.
    settled: BTreeMap<crate::model::TokenId, crate::model::Price>,
    /// All strategies' daily-loss baseline (its day and equity) and whether
    /// their loss together halted them.
    portfolio_day: (u64, Decimal),
    portfolio_halted: bool,
    timers: BTreeSet<(u64, StrategyId, u64)>,
    now_ns: u64,
    next_seq: u64,
    last_mark_ns: u64,
    /// This run's seed (instances derive theirs from it and their id).
    run_seed: u64,
    /// Every strategy name the journal knows, with its id: a strategy deployed
    /// again keeps its id, so its positions stay its own.
    known_ids: BTreeMap<String, StrategyId>,
    /// Bumped whenever positions may have changed (fills, settlements, new
    /// instruments); starts at 1, so an empty cache entry (0) is stale.
    portfolio_revision: u64,
    /// Each strategy's positions as of a portfolio revision.
    positions_cache: BTreeMap<StrategyId, (u64, Vec<wit::Position>)>,
    /// Views given back after their calls, whose buffers the next ones reuse.
    spare_views: Vec<HostView>,
    buffers: UpdateBuffers,
    /// Venue trade ids of every fill journaled: a trade reported again (at
    /// each settlement stage, or by reconciliation) is booked once.
    trade_ids: std::collections::HashSet<String>,
    /// The fills of those trades, and the trades reversed (failed to settle).
    reversals: reversal::Reversals,
    /// Set while the venue's account could not be reconciled: no new orders
    /// until it is (see `reconcile_now`).
    unreconciled: Option<String>,
    /// Orders whose answer was lost: working as far as limits go, and told
    /// as accepted once reconciliation finds them at the venue.
    unknown: BTreeSet<OrderKey>,
    /// Foreign orders open on the venue's account at the last reconciliation
    /// (by venue id), with what was done about them.
    foreign: BTreeMap<String, (crate::venue::ForeignOrder, crate::venue::ForeignAction)>,
}

const DAY_NS: u64 = 86_400_000_000_000;

/// The strategy-facing reason for a risk rule's rejection.
fn reject_reason(rule: &str) -> wit::RejectReason {
    match rule {
        "trading_state" | "daily_loss" => wit::RejectReason::TradingState,
        "market_untradeable" => wit::RejectReason::MarketUntradeable,
        "price" | "price_band" => wit::RejectReason::BadPrice,
        "min_size" | "insufficient_position" => wit::RejectReason::BadSize,
        "order_rate" => wit::RejectReason::RateLimited,
        "duplicate_id" => wit::RejectReason::DuplicateId,
        _ => wit::RejectReason::Risk,
    }
}

fn wanted(interests: wit::Interests, kind: &wit::EventKind) -> bool {
    match kind {
        wit::EventKind::BookSnapshot(_) => interests.contains(wit::Interests::BOOK_SNAPSHOTS),
        wit::EventKind::BookChange(_) => interests.contains(wit::Interests::BOOK_CHANGES),
        wit::EventKind::Quote(_) => interests.contains(wit::Interests::QUOTES),
        wit::EventKind::Trade(_) => interests.contains(wit::Interests::TRADES),
        _ => true,
    }
}

impl<V: Venue> Engine<V> {
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    pub fn books(&self) -> &Books {
        &self.books
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// For runs that take their entries as they are journaled (backtests).
    pub fn journal_mut(&mut self) -> &mut Journal {
        &mut self.journal
    }

    /// The venue orders go to.
    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// The trading state orders are checked against: the operator's, or
    /// halted while the venue's account could not be reconciled.
    pub fn trading_state(&self) -> TradingState {
        if self.unreconciled.is_some() {
            TradingState::Halted
        } else {
            self.state
        }
    }

    /// Whether the venue asks for a reconciliation now (it may have missed
    /// reports: its user channel dropped and is back).
    pub fn reconcile_due(&self) -> bool {
        self.venue.wants_reconcile()
    }

    /// Why the venue's account is not reconciled, if it is not.
    pub fn unreconciled(&self) -> Option<&str> {
        self.unreconciled.as_deref()
    }

    /// Strategy ids and names.
    pub fn strategies(&self) -> Vec<(StrategyId, String)> {
        self.slots.iter().map(|s| (s.id, s.name.clone())).collect()
    }

    pub fn supervisor(&self, id: StrategyId) -> Option<&SupervisedStrategy> {
        self.slots.iter().find(|s| s.id == id).map(|s| &s.sup)
    }

    /// Ends a round of work: its entries are committed as the journal is
    /// configured to. Under a venue that holds requests they are made durable
    /// first and only then may the round's orders and cancels leave, so a
    /// crash never leaves an order out there the journal does not know.
    pub(super) async fn commit_round(&mut self) -> Result<(), EngineError> {
        if self.venue.holds_requests() {
            self.journal.make_durable().await?;
            self.venue.release(self.now_ns);
        } else {
            self.journal.commit().await?;
        }
        Ok(())
    }

    /// Processes one feed update at host time `now_ns`.
    pub async fn on_update(&mut self, update: &FeedUpdate, now_ns: u64) -> Result<(), EngineError> {
        self.now_ns = self.now_ns.max(now_ns);
        // The buffers of the last update, emptied: no allocation per update
        // once they have grown.
        let mut b = std::mem::take(&mut self.buffers);
        let result = self.update_with(update, &mut b).await;
        b.shared.clear();
        b.statuses.clear();
        b.outputs.clear();
        b.kinds.clear();
        self.buffers = b;
        result
    }

    async fn update_with(
        &mut self,
        update: &FeedUpdate,
        b: &mut UpdateBuffers,
    ) -> Result<(), EngineError> {
        let mut venue_events = Vec::new();
        for (i, event) in update.events.iter().enumerate() {
            b.outputs.clear();
            let now_ms = self.now_ns / 1_000_000;
            self.books.apply(event, now_ms, &mut b.outputs);
            b.kinds.clear();
            self.translator
                .market(&self.registry, event, &b.outputs, &mut b.kinds);
            b.shared.extend(b.kinds.drain(..).map(|k| (k, Some(i))));
            venue_events.extend(self.venue.on_market(event, self.now_ns, &self.books));
            for o in &b.outputs {
                if let BookOutput::Resolved { payouts, .. } = o {
                    self.settle(payouts)?;
                }
            }
            b.statuses.extend(
                b.outputs
                    .drain(..)
                    .filter(|o| matches!(o, BookOutput::Status(_))),
            );
        }
        self.translator
            .quotes(&self.registry, &mut self.books, &mut b.kinds);
        // A quote answers to the last event of this update on its instrument.
        let cause = update.events.len().checked_sub(1);
        b.shared.extend(b.kinds.drain(..).map(|q| (q, cause)));
        venue_events.extend(self.venue.on_time(self.now_ns, &self.books));
        self.handle_order_events(venue_events)?;
        self.withdraw_from_untrusted(&b.statuses)?;
        self.risk_marks()?;
        // Fills must be durable before any strategy hears of them.
        self.commit_round().await?;
        for slot in 0..self.slots.len() {
            self.deliver(slot, &b.shared, &update.events)?;
        }
        self.commit_round().await?;
        Ok(())
    }

    /// Fires timers due by `now_ns` and lets venue time pass.
    pub async fn on_time(&mut self, now_ns: u64) -> Result<(), EngineError> {
        self.now_ns = self.now_ns.max(now_ns);
        let events = self.venue.on_time(self.now_ns, &self.books);
        self.handle_order_events(events)?;
        if let Some(trouble) = self.venue.trouble() {
            self.gate(Some(trouble))?;
        }
        self.commit_round().await?;
        // Books that went quiet become untradeable; strategies hear it.
        let mut outputs = Vec::new();
        self.books.sweep(self.now_ns / 1_000_000, &mut outputs);
        self.withdraw_from_untrusted(&outputs)?;
        if !outputs.is_empty() {
            let mut kinds = Vec::new();
            self.translator
                .outputs(&self.registry, &outputs, &mut kinds);
            let shared: Vec<(wit::EventKind, Option<usize>)> =
                kinds.into_iter().map(|k| (k, None)).collect();
            for slot in 0..self.slots.len() {
                self.deliver(slot, &shared, &[])?;
            }
            self.commit_round().await?;
        }
        // A paused strategy's timers wait for it to resume.
        let due: Vec<(u64, StrategyId, u64)> = self
            .timers
            .iter()
            .take_while(|(at, _, _)| *at <= self.now_ns)
            .filter(|(_, strategy, _)| !self.slots.iter().any(|s| s.id == *strategy && s.paused))
            .copied()
            .collect();
        for (at, strategy, id) in due {
            self.timers.remove(&(at, strategy, id));
            if let Some(slot) = self.slots.iter().position(|s| s.id == strategy) {
                self.fire_timer(slot, id)?;
            }
        }
        self.commit_round().await?;
        Ok(())
    }

    /// Orders on a book whose data can no longer be trusted (stale, or lost and
    /// awaiting a snapshot) are withdrawn: they were priced on what the host
    /// can no longer see.
    fn withdraw_from_untrusted(&mut self, outputs: &[BookOutput]) -> Result<(), EngineError> {
        use crate::data::quality::Untradeable;
        for o in outputs {
            if let BookOutput::Status(change) = o
                && matches!(
                    change.untradeable,
                    Some(
                        Untradeable::Stale
                            | Untradeable::AwaitingSnapshot
                            | Untradeable::Closed
                            | Untradeable::Resolved
                    )
                )
            {
                let token = change.token.clone();
                self.withdraw(|w| w.order.token == token)?;
            }
        }
        Ok(())
    }

    /// Mid price of a token, for marking.
    fn mid(&self, token: &crate::model::TokenId) -> Option<crate::model::Price> {
        self.books.book(token).and_then(|b| b.mid())
    }

    /// Daily-loss halts and periodic equity marks.
    fn risk_marks(&mut self) -> Result<(), EngineError> {
        self.daily_loss()?;
        if self.now_ns.saturating_sub(self.last_mark_ns) < self.config.mark_every_ns {
            return Ok(());
        }
        for i in 0..self.slots.len() {
            let id = self.slots[i].id;
            let Some(account) = self.portfolio.account(id) else {
                continue;
            };
            let mark = |t: &crate::model::TokenId| self.mid(t);
            // Shares can only be sold into bids; no bid means no exit value.
            let bid = |t: &crate::model::TokenId| {
                Some(
                    self.books
                        .book(t)
                        .and_then(|b| b.best_bid())
                        .map_or(crate::model::Price::ZERO, |l| l.price),
                )
            };
            let entry = Entry::Mark {
                strategy: id,
                equity: account.equity(&mark),
                cash: account.cash,
                realized: account.realized(),
                unrealized: account.unrealized(&mark),
                unrealized_at_bid: account.unrealized(&bid),
            };
            self.journal.append(self.now_ns, Some(id), &entry)?;
        }
        self.last_mark_ns = self.now_ns;
        Ok(())
    }

    /// A strategy's equity (cash plus holdings at the mid) and unrealised PnL now.
    pub fn equity(&self, strategy: StrategyId) -> Option<(Decimal, Decimal)> {
        let account = self.portfolio.account(strategy)?;
        let mark = |t: &crate::model::TokenId| self.mid(t);
        Some((account.equity(&mark), account.unrealized(&mark)))
    }

    /// Orders of the strategy that risk refused since this process started.
    pub fn rejections(&self, strategy: StrategyId) -> u64 {
        self.slots
            .iter()
            .find(|s| s.id == strategy)
            .map_or(0, |s| s.rejections)
    }

    /// Whether the strategy stopped opening positions today (its own daily
    /// loss, or all strategies' together).
    pub fn is_halted(&self, strategy: StrategyId) -> bool {
        self.slots
            .iter()
            .any(|s| s.id == strategy && (s.halted || self.portfolio_halted))
    }

    /// Journals a fault of the strategy in `slot` (and its quarantine, when
    /// this fault was its last) and cancels what it left working.
    pub(super) fn faulted(
        &mut self,
        slot: usize,
        fault: &crate::strategy::Fault,
    ) -> Result<(), EngineError> {
        let strategy = self.slots[slot].id;
        self.journal.append(
            self.now_ns,
            Some(strategy),
            &Entry::Fault {
                strategy,
                fault: serde_json::to_value(fault).unwrap_or_default(),
            },
        )?;
        if *self.slots[slot].sup.state() == crate::strategy::RunState::Quarantined {
            let faults = self.slots[slot].sup.faults().len();
            self.journal.append(
                self.now_ns,
                Some(strategy),
                &Entry::StrategyQuarantined {
                    strategy,
                    reason: format!("{faults} faults; the last: {fault}"),
                    actor: None,
                },
            )?;
        }
        // The instance is gone: nothing it left working may stay.
        self.cancel_working(strategy)
    }

    fn outcome(
        &mut self,
        slot: usize,
        outcome: CallOutcome,
        causes: &[(u64, Option<usize>)],
        sources: &[MarketEvent],
    ) -> Result<(), EngineError> {
        match outcome {
            CallOutcome::Commands(commands) => {
                if let Err(fault) = self.check_budgets(slot, &commands) {
                    let _ = self.slots[slot]
                        .sup
                        .fault_from_host(self.now_ns, fault.clone());
                    return self.faulted(slot, &fault);
                }
                self.count_call(slot, &commands);
                // The restart point reflects this call; its decisions follow it
                // in the journal, so a restore re-delivers their order events.
                self.journal_snapshot(slot)?;
                let mut journaled: BTreeMap<usize, i64> = BTreeMap::new();
                for c in commands {
                    let source = c
                        .cause
                        .and_then(|seq| causes.iter().find(|(s, _)| *s == seq))
                        .and_then(|(_, src)| *src);
                    let cause = match source {
                        Some(i) => match journaled.get(&i) {
                            Some(seq) => Some(*seq),
                            None => match sources.get(i) {
                                Some(event) => {
                                    let seq = self.journal.append(
                                        self.now_ns,
                                        None,
                                        &Entry::Market {
                                            event: event.clone(),
                                        },
                                    )?;
                                    journaled.insert(i, seq);
                                    Some(seq)
                                }
                                None => None,
                            },
                        },
                        None => None,
                    };
                    self.command(slot, c, cause)?;
                }
                self.count_journal(slot);
            }
            CallOutcome::Faulted(fault) => self.faulted(slot, &fault)?,
            CallOutcome::NotRunning(_) => {}
        }
        Ok(())
    }
}
