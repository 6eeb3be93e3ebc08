//! The event loop: one total order of market updates, timers and venue events;
//! strategies decide in their sandboxes; every command passes risk; every decision
//! and order event is journaled; fills reach a strategy only after they are
//! durable. The clock is whatever the caller says (simulated or wall).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::registry::Registry;
use super::translate::{Translator, order_event};
use super::venue::Venue;
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
}

/// A strategy to run: its artifact, parameters and limits.
pub struct StrategySetup {
    pub artifact: Arc<Artifact>,
    pub params: Vec<wit::Param>,
    pub limits: RiskLimits,
}

/// Why the engine stopped working.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("strategy `{name}` failed to start: {fault}")]
    Start {
        name: String,
        fault: crate::strategy::Fault,
    },
}

struct Slot {
    id: StrategyId,
    name: String,
    sup: SupervisedStrategy,
    interests: wit::Interests,
    limits: RiskLimits,
    halted: bool,
    /// Restart points already written to the journal.
    snapshots_journaled: u64,
    /// Realised PnL at the start of the current UTC day (daily loss baseline).
    day: u64,
    day_start_realized: Decimal,
    /// Order events waiting for the strategy's next batch.
    inbox: Vec<(wit::EventKind, Option<usize>)>,
}

/// An order the venue may still fill.
#[derive(Debug, Clone)]
struct Working {
    order: Order,
    remaining: Size,
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
    timers: BTreeSet<(u64, StrategyId, u64)>,
    now_ns: u64,
    next_seq: u64,
    last_mark_ns: u64,
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
    /// Starts every strategy (a refusal to start is an error) and journals the run.
    /// A journal that already holds runs is a restart: the portfolio, trading
    /// state and timers come back from replay, strategies keep their ids (by
    /// name) and resume from their last snapshot with the order events journaled
    /// since re-delivered, and every order the journal left working is
    /// reconciled with the venue before anything else happens.
    pub async fn start(
        config: EngineConfig,
        registry: Registry,
        venue: V,
        mut journal: Journal,
        setups: Vec<StrategySetup>,
        start_ns: u64,
    ) -> Result<Engine<V>, EngineError> {
        let history = journal.read_from(1).await?;
        let prior = Projections::replay(&history);
        // A restarted strategy must not regenerate the order ids of the previous
        // run, so each run has its own seed (run 0 keeps the configured one).
        let seed = config
            .seed
            .wrapping_add(prior.runs.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let now_ns = start_ns.max(u64::try_from(prior.last_ts_ns).unwrap_or(0));
        journal.append(
            now_ns,
            None,
            &Entry::RunStarted {
                run_id: config.run_id.clone(),
                mode: format!("{:?}", config.mode).to_lowercase(),
                seed,
            },
        )?;
        let next_seq = prior
            .snapshots
            .values()
            .map(|(_, _, event_seq)| event_seq + 1)
            .max()
            .unwrap_or(1);
        let timers = prior
            .timers
            .iter()
            .filter(|(_, at)| **at > u64::try_from(prior.last_ts_ns).unwrap_or(0))
            .map(|((strategy, id), at)| (*at, *strategy, *id))
            .collect();
        let mut engine = Engine {
            config,
            registry,
            books: Books::default(),
            translator: Translator::default(),
            slots: Vec::new(),
            venue,
            portfolio: prior.portfolio.clone(),
            journal,
            state: prior.trading_state,
            rate: OrderRate::default(),
            working: BTreeMap::new(),
            used_keys: prior.orders.keys().copied().collect(),
            timers,
            now_ns,
            next_seq,
            // The first update of a run marks equity: the curve starts there,
            // and after a restart it shows the recovered portfolio.
            last_mark_ns: 0,
        };
        let mut next_id = prior.strategies.keys().max().copied().unwrap_or(0) + 1;
        for setup in setups {
            let name = &setup.artifact.info.name;
            let taken: BTreeSet<StrategyId> = engine.slots.iter().map(|s| s.id).collect();
            let id = match prior
                .strategies
                .iter()
                .find(|(id, (n, _))| n == name && !taken.contains(id))
            {
                Some((id, _)) => *id,
                None => {
                    next_id += 1;
                    next_id - 1
                }
            };
            engine.launch(id, setup, seed, &prior, &history)?;
        }
        engine.reconcile(&prior)?;
        engine.journal.commit().await?;
        Ok(engine)
    }

    /// Starts one strategy under `id`, restoring it when the journal has a
    /// snapshot for it.
    fn launch(
        &mut self,
        id: StrategyId,
        setup: StrategySetup,
        seed: u64,
        prior: &Projections,
        history: &[Stored],
    ) -> Result<(), EngineError> {
        let info = &setup.artifact.info;
        let init = wit::InitConfig {
            run_id: self.config.run_id.clone(),
            instruments: self.registry.instrument_infos(),
            params: setup.params.clone(),
        };
        let options = InstanceOptions {
            mode: self.config.mode,
            seed: seed.wrapping_add(u64::from(id)),
            limits: self.config.sandbox.clone(),
        };
        let mut view = self.view(id);
        let name = info.name.clone();
        let mut sup = SupervisedStrategy::start(setup.artifact.clone(), init, options, &mut view)
            .map_err(|fault| EngineError::Start {
            name: name.clone(),
            fault,
        })?;
        self.journal.append(
            self.now_ns,
            Some(id),
            &Entry::StrategyStarted {
                strategy: id,
                name: name.clone(),
                version: info.version.clone(),
                sha256: setup.artifact.sha256.clone(),
                params: serde_json::to_value(
                    setup
                        .params
                        .iter()
                        .map(|p| {
                            (
                                p.name.clone(),
                                crate::strategy::artifact::param_value_text(&p.value),
                            )
                        })
                        .collect::<BTreeMap<_, _>>(),
                )
                .unwrap_or_default(),
            },
        )?;
        let mut inbox = Vec::new();
        if let Some((snapshot_seq, state, _)) = prior.snapshots.get(&id) {
            match sup.restore(&mut view, state.clone()) {
                Ok(()) => {
                    // What the strategy had not yet heard when it was snapshotted.
                    for stored in history.iter().filter(|e| e.seq > *snapshot_seq) {
                        match &stored.entry {
                            Entry::Order { event } if event.key().strategy == id => {
                                if let Some((_, kind)) = order_event(&self.registry, event) {
                                    inbox.push((kind, None));
                                }
                            }
                            Entry::RiskVerdict {
                                key,
                                accepted: false,
                                rule,
                                message,
                            } if key.strategy == id => {
                                inbox.push((
                                    wit::EventKind::OrderRejected(wit::OrderRejected {
                                        order: key.client_id,
                                        reason: reject_reason(rule.as_deref().unwrap_or("")),
                                        message: message.clone().unwrap_or_default(),
                                    }),
                                    None,
                                ));
                            }
                            _ => {}
                        }
                    }
                    self.journal.append(
                        self.now_ns,
                        Some(id),
                        &Entry::Restored {
                            strategy: id,
                            snapshot_seq: *snapshot_seq,
                            redelivered: inbox.len() as u32,
                        },
                    )?;
                }
                Err(fault) => {
                    self.journal.append(
                        self.now_ns,
                        Some(id),
                        &Entry::Fault {
                            strategy: id,
                            fault: serde_json::to_value(&fault).unwrap_or_default(),
                        },
                    )?;
                }
            }
        }
        let realized = self
            .portfolio
            .account(id)
            .map_or(Decimal::ZERO, |a| a.realized());
        let today = self.now_ns / DAY_NS;
        let day_start_realized = match prior.day_start.get(&id) {
            Some((day, before)) if *day == today => *before,
            _ => realized,
        };
        self.slots.push(Slot {
            id,
            name,
            interests: info.interests,
            snapshots_journaled: sup.snapshots_taken(),
            sup,
            limits: setup.limits,
            halted: false,
            day: today,
            day_start_realized,
            inbox,
        });
        Ok(())
    }

    /// Asks the venue about every order the journal left working or unknown;
    /// what the venue does not know is over (journaled as a venue cancel), what
    /// it knows keeps working.
    fn reconcile(&mut self, prior: &Projections) -> Result<(), EngineError> {
        let open: Vec<(Order, Size)> = prior
            .open_orders()
            .map(|r| {
                let filled = (r.filled * Decimal::from(1_000_000))
                    .trunc()
                    .to_u64()
                    .unwrap_or(0);
                (
                    r.order.clone(),
                    r.order.size.saturating_sub(Size::from_micros(filled)),
                )
            })
            .collect();
        for (order, remaining) in open {
            let key = order.key;
            let working = self.venue.reconcile(key, self.now_ns);
            self.journal.append(
                self.now_ns,
                Some(key.strategy),
                &Entry::Reconciled {
                    key,
                    working_micros: working.map(|s| s.micros()),
                },
            )?;
            self.working.insert(
                key,
                Working {
                    remaining: working.unwrap_or(remaining),
                    order,
                },
            );
            if working.is_none() {
                self.handle_order_events(vec![OrderEvent::Cancelled {
                    key,
                    cause: CancelCause::Venue,
                    unfilled: remaining,
                    ts_ns: self.now_ns,
                }])?;
            }
        }
        Ok(())
    }

    /// Takes a restart point of every running strategy and makes the journal
    /// durable (a graceful stop).
    pub async fn shutdown(&mut self) -> Result<(), EngineError> {
        for slot in 0..self.slots.len() {
            let id = self.slots[slot].id;
            let mut view = self.view(id);
            if self.slots[slot].sup.snapshot_now(&mut view).is_ok() {
                self.journal_snapshot(slot)?;
            }
        }
        self.journal.commit().await?;
        Ok(())
    }

    /// Journals the strategy's newest restart point if it has not been yet.
    fn journal_snapshot(&mut self, slot: usize) -> Result<(), EngineError> {
        let s = &mut self.slots[slot];
        if s.sup.snapshots_taken() <= s.snapshots_journaled {
            return Ok(());
        }
        s.snapshots_journaled = s.sup.snapshots_taken();
        let Some(state) = s.sup.last_snapshot() else {
            return Ok(());
        };
        let entry = Entry::Snapshot {
            strategy: s.id,
            state_hex: hex::encode(state),
            event_seq: self.next_seq.saturating_sub(1),
        };
        let id = s.id;
        self.journal.append(self.now_ns, Some(id), &entry)?;
        Ok(())
    }

    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    pub fn books(&self) -> &Books {
        &self.books
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn trading_state(&self) -> TradingState {
        self.state
    }

    /// Strategy ids and names.
    pub fn strategies(&self) -> Vec<(StrategyId, String)> {
        self.slots.iter().map(|s| (s.id, s.name.clone())).collect()
    }

    pub fn supervisor(&self, id: StrategyId) -> Option<&SupervisedStrategy> {
        self.slots.iter().find(|s| s.id == id).map(|s| &s.sup)
    }

    /// Switches the global trading state (journaled).
    pub async fn set_trading_state(
        &mut self,
        state: TradingState,
        actor: &str,
    ) -> Result<(), EngineError> {
        self.state = state;
        self.journal.append(
            self.now_ns,
            None,
            &Entry::TradingState {
                state,
                actor: actor.to_string(),
            },
        )?;
        self.journal.commit().await?;
        Ok(())
    }

    /// Processes one feed update at host time `now_ns`.
    pub async fn on_update(&mut self, update: &FeedUpdate, now_ns: u64) -> Result<(), EngineError> {
        self.now_ns = self.now_ns.max(now_ns);
        let mut shared: Vec<(wit::EventKind, Option<usize>)> = Vec::new();
        let mut venue_events = Vec::new();
        for (i, event) in update.events.iter().enumerate() {
            let mut outputs = Vec::new();
            let now_ms = self.now_ns / 1_000_000;
            self.books.apply(event, now_ms, &mut outputs);
            let mut kinds = Vec::new();
            self.translator
                .market(&self.registry, event, &outputs, &mut kinds);
            shared.extend(kinds.into_iter().map(|k| (k, Some(i))));
            venue_events.extend(self.venue.on_market(event, self.now_ns, &self.books));
            for o in &outputs {
                if let BookOutput::Resolved { winner, tokens, .. } = o {
                    self.settle(winner, tokens)?;
                }
            }
        }
        let mut quotes = Vec::new();
        self.translator
            .quotes(&self.registry, &self.books, &mut quotes);
        shared.extend(quotes.into_iter().map(|q| {
            // A quote answers to the last event of this update on its instrument.
            let cause = update.events.len().checked_sub(1);
            (q, cause)
        }));
        venue_events.extend(self.venue.on_time(self.now_ns, &self.books));
        self.handle_order_events(venue_events)?;
        self.risk_marks()?;
        // Fills must be durable before any strategy hears of them.
        self.journal.commit().await?;
        for slot in 0..self.slots.len() {
            self.deliver(slot, &shared, &update.events)?;
        }
        self.journal.commit().await?;
        Ok(())
    }

    /// Fires timers due by `now_ns` and lets venue time pass.
    pub async fn on_time(&mut self, now_ns: u64) -> Result<(), EngineError> {
        self.now_ns = self.now_ns.max(now_ns);
        let events = self.venue.on_time(self.now_ns, &self.books);
        self.handle_order_events(events)?;
        self.journal.commit().await?;
        // Books that went quiet become untradeable; strategies hear it.
        let mut outputs = Vec::new();
        self.books.sweep(self.now_ns / 1_000_000, &mut outputs);
        if !outputs.is_empty() {
            let mut kinds = Vec::new();
            self.translator
                .outputs(&self.registry, &outputs, &mut kinds);
            let shared: Vec<(wit::EventKind, Option<usize>)> =
                kinds.into_iter().map(|k| (k, None)).collect();
            for slot in 0..self.slots.len() {
                self.deliver(slot, &shared, &[])?;
            }
            self.journal.commit().await?;
        }
        while let Some(&(at, strategy, id)) = self.timers.first() {
            if at > self.now_ns {
                break;
            }
            self.timers.remove(&(at, strategy, id));
            if let Some(slot) = self.slots.iter().position(|s| s.id == strategy) {
                let mut view = self.view(strategy);
                let outcome = self.slots[slot].sup.on_timer(&mut view, id);
                self.outcome(slot, outcome, &[], &[])?;
            }
        }
        self.journal.commit().await?;
        Ok(())
    }

    /// Mid price of a token, for marking.
    fn mid(&self, token: &crate::model::TokenId) -> Option<crate::model::Price> {
        self.books.book(token).and_then(|b| b.mid())
    }

    /// Daily-loss halts and periodic equity marks.
    fn risk_marks(&mut self) -> Result<(), EngineError> {
        let day = self.now_ns / DAY_NS;
        let mark_due = self.now_ns.saturating_sub(self.last_mark_ns) >= self.config.mark_every_ns;
        for i in 0..self.slots.len() {
            let id = self.slots[i].id;
            let Some(account) = self.portfolio.account(id) else {
                continue;
            };
            let mark = |t: &crate::model::TokenId| self.mid(t);
            let realized = account.realized();
            let unrealized = account.unrealized(&mark);
            // Shares can only be sold into bids; no bid means no exit value.
            let bid = |t: &crate::model::TokenId| {
                Some(
                    self.books
                        .book(t)
                        .and_then(|b| b.best_bid())
                        .map_or(crate::model::Price::ZERO, |l| l.price),
                )
            };
            let unrealized_at_bid = account.unrealized(&bid);
            let equity = account.equity(&mark);
            let cash = account.cash;
            if self.slots[i].day != day {
                self.slots[i].day = day;
                self.slots[i].day_start_realized = realized;
                self.slots[i].halted = false;
            }
            let today = realized - self.slots[i].day_start_realized + unrealized;
            if !self.slots[i].halted && risk::daily_loss_breached(&self.slots[i].limits, today) {
                self.slots[i].halted = true;
                self.journal.append(
                    self.now_ns,
                    Some(id),
                    &Entry::StrategyHalted {
                        strategy: id,
                        reason: format!("daily loss {today} beyond the limit"),
                    },
                )?;
            }
            if mark_due {
                self.journal.append(
                    self.now_ns,
                    Some(id),
                    &Entry::Mark {
                        strategy: id,
                        equity,
                        cash,
                        realized,
                        unrealized,
                        unrealized_at_bid,
                    },
                )?;
            }
        }
        if mark_due {
            self.last_mark_ns = self.now_ns;
        }
        Ok(())
    }

    /// Applies operator requests queued in the database (`pqap risk ...`).
    pub async fn poll_controls(&mut self) -> Result<(), EngineError> {
        for req in crate::store::control::pending(self.journal.pool()).await? {
            self.set_trading_state(req.state, &req.actor).await?;
            let seq = self.journal.next_seq() - 1;
            crate::store::control::mark_applied(self.journal.pool(), req.id, seq).await?;
        }
        Ok(())
    }

    fn settle(
        &mut self,
        winner: &crate::model::TokenId,
        tokens: &[crate::model::TokenId],
    ) -> Result<(), EngineError> {
        for t in tokens {
            let payout = if t == winner {
                crate::model::Price::ONE
            } else {
                crate::model::Price::ZERO
            };
            self.portfolio.settle(t, payout);
            self.journal.append(
                self.now_ns,
                None,
                &Entry::Settlement {
                    token: t.clone(),
                    payout_micros: payout.micros(),
                },
            )?;
        }
        Ok(())
    }

    /// What a strategy's host queries answer with now.
    fn view(&self, strategy: StrategyId) -> HostView {
        let mut view = HostView {
            now: self.now_ns,
            ..HostView::default()
        };
        if let Some(account) = self.portfolio.account(strategy) {
            for (token, h) in &account.holdings {
                if let Some(instrument) = self.registry.instrument(token) {
                    let avg = (h.avg_price() * Decimal::from(1_000_000)).round();
                    view.positions.insert(
                        instrument,
                        wit::Position {
                            instrument,
                            size: h.size.micros(),
                            avg_price: avg.try_into().unwrap_or(0u32),
                            realized_pnl: 0,
                        },
                    );
                }
            }
        }
        for w in self
            .working
            .values()
            .filter(|w| w.order.key.strategy == strategy)
        {
            if let Some(instrument) = self.registry.instrument(&w.order.token) {
                view.open_orders.push(wit::OpenOrder {
                    id: w.order.key.client_id,
                    instrument,
                    side: match w.order.side {
                        Side::Buy => wit::Side::Buy,
                        Side::Sell => wit::Side::Sell,
                    },
                    price: w.order.price.micros(),
                    remaining: w.remaining.micros(),
                });
            }
        }
        for token in self.registry.tokens() {
            if let Some(i) = self.registry.instrument(&token) {
                view.tops
                    .insert(i, self.translator.top_of(&self.books, &token));
            }
        }
        view
    }

    /// Sends a strategy its batch and acts on what it returns.
    fn deliver(
        &mut self,
        slot: usize,
        shared: &[(wit::EventKind, Option<usize>)],
        sources: &[MarketEvent],
    ) -> Result<(), EngineError> {
        let interests = self.slots[slot].interests;
        let mut batch: Vec<(wit::EventKind, Option<usize>)> =
            std::mem::take(&mut self.slots[slot].inbox);
        batch.extend(shared.iter().filter(|(k, _)| wanted(interests, k)).cloned());
        if batch.is_empty() {
            return Ok(());
        }
        let mut causes = Vec::with_capacity(batch.len());
        let events: Vec<wit::Event> = batch
            .into_iter()
            .map(|(kind, source)| {
                let seq = self.next_seq;
                self.next_seq += 1;
                causes.push((seq, source));
                wit::Event {
                    seq,
                    ts: self.now_ns,
                    kind,
                }
            })
            .collect();
        let strategy = self.slots[slot].id;
        let mut view = self.view(strategy);
        let outcome = self.slots[slot].sup.on_events(&mut view, &events);
        self.outcome(slot, outcome, &causes, sources)
    }

    fn outcome(
        &mut self,
        slot: usize,
        outcome: CallOutcome,
        causes: &[(u64, Option<usize>)],
        sources: &[MarketEvent],
    ) -> Result<(), EngineError> {
        let strategy = self.slots[slot].id;
        match outcome {
            CallOutcome::Commands(commands) => {
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
            }
            CallOutcome::Faulted(fault) => {
                self.journal.append(
                    self.now_ns,
                    Some(strategy),
                    &Entry::Fault {
                        strategy,
                        fault: serde_json::to_value(&fault).unwrap_or_default(),
                    },
                )?;
                // The instance is gone: nothing it left working may stay.
                let keys: Vec<OrderKey> = self
                    .working
                    .keys()
                    .filter(|k| k.strategy == strategy)
                    .copied()
                    .collect();
                for key in keys {
                    let events = self.venue.cancel(key, self.now_ns);
                    self.handle_order_events(events)?;
                }
            }
            CallOutcome::NotRunning(_) => {}
        }
        Ok(())
    }

    fn command(
        &mut self,
        slot: usize,
        c: wit::Command,
        cause: Option<i64>,
    ) -> Result<(), EngineError> {
        let strategy = self.slots[slot].id;
        let action = match &c.action {
            wit::Action::Place(o) => {
                let Some(token) = self.registry.token(o.instrument).cloned() else {
                    return Ok(());
                };
                let (Some(price), size) =
                    (crate::model::Price::new(o.price), Size::from_micros(o.size))
                else {
                    return Ok(());
                };
                CommandAction::Place {
                    order: Order {
                        key: OrderKey {
                            strategy,
                            client_id: o.id,
                        },
                        token,
                        side: match o.side {
                            wit::Side::Buy => Side::Buy,
                            wit::Side::Sell => Side::Sell,
                        },
                        price,
                        size,
                        tif: match o.tif {
                            wit::TimeInForce::Gtc => TimeInForce::Gtc,
                            wit::TimeInForce::Gtd(until_ns) => TimeInForce::Gtd { until_ns },
                            wit::TimeInForce::Fok => TimeInForce::Fok,
                            wit::TimeInForce::Fak => TimeInForce::Fak,
                        },
                        post_only: o.post_only,
                        created_ns: self.now_ns,
                    },
                }
            }
            wit::Action::Cancel(id) => CommandAction::Cancel { client_id: *id },
            wit::Action::CancelAllInMarket(m) => match self.registry.market_by_index(*m) {
                Some(spec) => CommandAction::CancelMarket {
                    market: spec.condition.clone(),
                },
                None => return Ok(()),
            },
            wit::Action::SetTimer(t) => CommandAction::Timer {
                id: t.id,
                at_ns: t.at,
            },
        };
        self.journal.append(
            self.now_ns,
            Some(strategy),
            &Entry::Command {
                strategy,
                reason: c.reason.clone(),
                cause,
                command: action.clone(),
            },
        )?;
        match action {
            CommandAction::Place { order } => self.place(slot, order),
            CommandAction::Cancel { client_id } => {
                let events = self.venue.cancel(
                    OrderKey {
                        strategy,
                        client_id,
                    },
                    self.now_ns,
                );
                self.handle_order_events(events)
            }
            CommandAction::CancelMarket { market } => {
                let keys: Vec<OrderKey> = self
                    .working
                    .iter()
                    .filter(|(k, w)| {
                        k.strategy == strategy
                            && self
                                .registry
                                .spec_of_token(&w.order.token)
                                .is_some_and(|s| s.condition == market)
                    })
                    .map(|(k, _)| *k)
                    .collect();
                for key in keys {
                    let events = self.venue.cancel(key, self.now_ns);
                    self.handle_order_events(events)?;
                }
                Ok(())
            }
            CommandAction::Timer { id, at_ns } => {
                self.timers.insert((at_ns, strategy, id));
                Ok(())
            }
        }
    }

    fn exposure(&mut self, strategy: Option<StrategyId>, order: &Order) -> Exposure {
        let mine = |k: &OrderKey| strategy.is_none_or(|s| k.strategy == s);
        let mut e = Exposure::default();
        for account in self
            .portfolio
            .accounts()
            .filter(|(id, _)| strategy.is_none_or(|s| **id == s))
            .map(|(_, a)| a)
        {
            if let Some(h) = account.holdings.get(&order.token) {
                e.held = e.held.checked_add(h.size).unwrap_or(e.held);
            }
            e.total_exposure += account.holdings.values().map(|h| h.cost).sum::<Decimal>();
        }
        for w in self.working.iter().filter(|(k, _)| mine(k)).map(|(_, w)| w) {
            e.open_orders += 1;
            if w.order.side == Side::Buy {
                e.total_exposure += notional(w.order.price, w.remaining);
            }
            if w.order.token == order.token {
                match w.order.side {
                    Side::Buy => {
                        e.open_buys = e.open_buys.checked_add(w.remaining).unwrap_or(e.open_buys)
                    }
                    Side::Sell => {
                        e.open_sells = e
                            .open_sells
                            .checked_add(w.remaining)
                            .unwrap_or(e.open_sells)
                    }
                }
            }
        }
        let (mine_rate, all_rate) = self.rate.count(order.key.strategy, self.now_ns);
        e.orders_last_minute = if strategy.is_some() {
            mine_rate
        } else {
            all_rate
        };
        e
    }

    fn place(&mut self, slot: usize, order: Order) -> Result<(), EngineError> {
        let Some(spec) = self.registry.spec_of_token(&order.token).cloned() else {
            return Ok(());
        };
        let book = self.books.book(&order.token);
        let market = MarketView {
            tick: book.and_then(|b| b.tick()).unwrap_or(spec.tick),
            min_size: spec.min_size,
            tradeable: match self.books.quality().status(&order.token) {
                None => Ok(()),
                Some(u) => Err(u.as_str().to_string()),
            },
            mid: book.and_then(|b| b.mid()),
        };
        if self.used_keys.contains(&order.key) {
            // Sending a key twice could double an order at a real venue.
            self.journal.append(
                self.now_ns,
                Some(order.key.strategy),
                &Entry::RiskVerdict {
                    key: order.key,
                    accepted: false,
                    rule: Some("duplicate_id".into()),
                    message: Some(format!(
                        "order id {:x} was already used",
                        order.key.client_id
                    )),
                },
            )?;
            self.slots[slot].inbox.push((
                wit::EventKind::OrderRejected(wit::OrderRejected {
                    order: order.key.client_id,
                    reason: wit::RejectReason::DuplicateId,
                    message: "order id already used".into(),
                }),
                None,
            ));
            return Ok(());
        }
        let mine = self.exposure(Some(order.key.strategy), &order);
        let everyone = self.exposure(None, &order);
        let s = &self.slots[slot];
        let verdict = risk::check(&RiskInput {
            intent: Intent {
                side: order.side,
                price: order.price,
                size: order.size,
            },
            market: &market,
            strategy: &mine,
            global: &everyone,
            state: self.state,
            strategy_halted: s.halted,
            limits: &s.limits,
            global_limits: &self.config.global_limits,
        });
        self.journal.append(
            self.now_ns,
            Some(order.key.strategy),
            &Entry::RiskVerdict {
                key: order.key,
                accepted: verdict.is_ok(),
                rule: verdict.as_ref().err().map(|r| r.rule.to_string()),
                message: verdict.as_ref().err().map(|r| r.message.clone()),
            },
        )?;
        if let Err(rejection) = verdict {
            let reason = reject_reason(rejection.rule);
            self.slots[slot].inbox.push((
                wit::EventKind::OrderRejected(wit::OrderRejected {
                    order: order.key.client_id,
                    reason,
                    message: rejection.to_string(),
                }),
                None,
            ));
            return Ok(());
        }
        self.rate.record(order.key.strategy, self.now_ns);
        self.used_keys.insert(order.key);
        self.journal.append(
            self.now_ns,
            Some(order.key.strategy),
            &Entry::OrderSubmitted {
                order: order.clone(),
            },
        )?;
        self.working.insert(
            order.key,
            Working {
                remaining: order.size,
                order: order.clone(),
            },
        );
        let events = self.venue.submit(order, self.now_ns, &self.books);
        self.handle_order_events(events)
    }

    fn handle_order_events(&mut self, events: Vec<OrderEvent>) -> Result<(), EngineError> {
        for ev in events {
            self.journal.append(
                self.now_ns,
                Some(ev.key().strategy),
                &Entry::Order { event: ev.clone() },
            )?;
            match &ev {
                OrderEvent::Filled(fill) => {
                    if let Err(e) = self.portfolio.apply_fill(fill) {
                        tracing::error!(error = %e, "fill refused by the portfolio");
                    }
                    if fill.remaining.is_zero() {
                        self.working.remove(&fill.key);
                    } else if let Some(w) = self.working.get_mut(&fill.key) {
                        w.remaining = fill.remaining;
                    }
                }
                OrderEvent::Rejected { key, .. } | OrderEvent::Cancelled { key, .. } => {
                    self.working.remove(key);
                }
                OrderEvent::Accepted { .. } => {}
            }
            if let Some((strategy, kind)) = order_event(&self.registry, &ev)
                && let Some(slot) = self.slots.iter_mut().find(|s| s.id == strategy)
            {
                slot.inbox.push((kind, None));
            }
        }
        Ok(())
    }
}
