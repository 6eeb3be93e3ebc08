//! Native test harness: drive a strategy with scripted events under plain
//! `cargo test` (no wasm), with a simulated host that behaves like the real one.
//!
//! The simulated host follows the real host's delivery rules: host queries answer
//! with state *after* the whole batch (books, positions); events the strategy is not
//! interested in are filtered out; when the strategy wants quotes, one quote per
//! instrument whose top changed is appended after the batch's other events.

use std::collections::BTreeMap;

use crate::export::{self, Instance};
use crate::types::{
    Action, BookChange, BookSnapshot, BookTop, CancelReason, Command, Event, EventKind, Fill,
    InitConfig, InstrumentInfo, Interests, Level, Liquidity, LogLevel, OpenOrder, OrderAccepted,
    OrderCancelled, OrderRequest, Param, ParamValue, Position, Quote, Side,
};
use crate::{BookTracker, HostApi, Price, Strategy};

/// What the strategy did through the host, for assertions.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    pub logs: Vec<(LogLevel, String)>,
    pub metrics: Vec<(String, i64)>,
    pub annotations: Vec<(String, String)>,
    pub fair_values: Vec<(u32, Price)>,
}

/// A host simulated in memory.
#[derive(Debug, Clone)]
pub struct SimHost {
    now: u64,
    rng: u64,
    books: BookTracker,
    positions: BTreeMap<u32, Position>,
    orders: BTreeMap<u64, OpenOrder>,
    pub recorded: Recorded,
}

impl SimHost {
    fn new(seed: u64) -> SimHost {
        SimHost {
            now: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
            books: BookTracker::default(),
            positions: BTreeMap::new(),
            orders: BTreeMap::new(),
            recorded: Recorded::default(),
        }
    }

    fn apply_fill(&mut self, fill: &Fill) {
        let pos = self
            .positions
            .entry(fill.instrument)
            .or_insert_with(|| Position {
                instrument: fill.instrument,
                size: 0,
                avg_price: 0,
                realized_pnl: 0,
            });
        match fill.side {
            Side::Buy => {
                let old_cost = u128::from(pos.size) * u128::from(pos.avg_price);
                let add_cost = u128::from(fill.size) * u128::from(fill.price);
                pos.size += fill.size;
                if pos.size > 0 {
                    pos.avg_price = ((old_cost + add_cost) / u128::from(pos.size)) as u32;
                }
            }
            Side::Sell => {
                let sold = fill.size.min(pos.size);
                let pnl = (i128::from(fill.price) - i128::from(pos.avg_price)) * i128::from(sold)
                    / 1_000_000;
                pos.realized_pnl += pnl as i64;
                pos.size -= sold;
            }
        }
        pos.realized_pnl -= fill.fee;
        if let Some(o) = self.orders.get_mut(&fill.order) {
            o.remaining = fill.remaining;
        }
        if fill.remaining == 0 {
            self.orders.remove(&fill.order);
        }
    }

    /// Our position as the host would report it.
    pub fn position_of(&self, instrument: u32) -> Position {
        self.position(instrument)
    }

    pub fn books(&self) -> &BookTracker {
        &self.books
    }
}

impl HostApi for SimHost {
    fn log(&mut self, level: LogLevel, message: &str) {
        self.recorded.logs.push((level, message.to_string()));
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn position(&self, instrument: u32) -> Position {
        self.positions
            .get(&instrument)
            .copied()
            .unwrap_or(Position {
                instrument,
                size: 0,
                avg_price: 0,
                realized_pnl: 0,
            })
    }
    fn open_orders(&self, instrument: Option<u32>) -> Vec<OpenOrder> {
        self.orders
            .values()
            .filter(|o| instrument.is_none_or(|i| o.instrument == i))
            .copied()
            .collect()
    }
    fn book_top(&self, instrument: u32) -> BookTop {
        self.books.top(instrument)
    }
    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic per seed, like the host's seeded generator.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn metric(&mut self, name: &str, value: i64) {
        self.recorded.metrics.push((name.to_string(), value));
    }
    fn annotate(&mut self, key: &str, value: &str) {
        self.recorded
            .annotations
            .push((key.to_string(), value.to_string()));
    }
    fn fair_value(&mut self, instrument: u32, probability: Price) {
        self.recorded.fair_values.push((instrument, probability));
    }
}

/// A binary market's two outcome tokens with Polymarket-like defaults: tick 0.01,
/// minimum size 5 shares, no fees. `yes` and `no` are each other's complement.
pub fn binary_market(market: u32, yes: u32, no: u32) -> [InstrumentInfo; 2] {
    binary_market_with_fee(market, yes, no, 0)
}

/// Like [`binary_market`], with a taker fee rate in millionths (70_000 = 0.07).
pub fn binary_market_with_fee(
    market: u32,
    yes: u32,
    no: u32,
    fee_rate: u32,
) -> [InstrumentInfo; 2] {
    let make = |id: u32, other: u32, outcome: &str| InstrumentInfo {
        id,
        market,
        token: format!("{}", 1000 + id),
        outcome: outcome.to_string(),
        question: format!("test market {market}"),
        complement: Some(other),
        tick: 10_000,
        min_size: 5_000_000,
        taker_fee_rate: fee_rate,
    };
    [make(yes, no, "Yes"), make(no, yes, "No")]
}

/// Parses `"0.52"` into micro-units for scripted books.
///
/// # Panics
/// On malformed text: test scripts are constants.
pub fn px(text: &str) -> u32 {
    text.parse::<Price>()
        .unwrap_or_else(|e| panic!("price {text:?}: {e}"))
        .micros()
}

/// Parses `"12.5"` shares into micro-shares for scripted books.
///
/// # Panics
/// On malformed text: test scripts are constants.
pub fn sz(text: &str) -> u64 {
    text.parse::<crate::Size>()
        .unwrap_or_else(|e| panic!("size {text:?}: {e}"))
        .micros()
}

/// Drives one strategy instance with scripted events.
pub struct Harness<S: Strategy> {
    instance: Instance<S>,
    host: SimHost,
    config: InitConfig,
    interests: Interests,
    next_seq: u64,
    /// Orders the strategy asked for that the script has not accepted or rejected.
    pending: BTreeMap<u64, OrderRequest>,
    /// Every command the strategy returned, in order.
    pub history: Vec<Command>,
}

impl<S: Strategy> Harness<S> {
    /// Starts the strategy with default parameters.
    pub fn new(instruments: Vec<InstrumentInfo>) -> Result<Harness<S>, String> {
        Self::with_params(instruments, Vec::new())
    }

    /// Starts the strategy with some parameters set (others take their defaults).
    pub fn with_params(
        instruments: Vec<InstrumentInfo>,
        params: Vec<(&str, ParamValue)>,
    ) -> Result<Harness<S>, String> {
        let config = InitConfig {
            run_id: "harness".to_string(),
            instruments,
            params: params
                .into_iter()
                .map(|(name, value)| Param {
                    name: name.to_string(),
                    value,
                })
                .collect(),
        };
        let mut host = SimHost::new(0x5EED);
        let instance = export::build::<S>(&mut host, &config)?;
        Ok(Harness {
            instance,
            host,
            config,
            interests: S::describe().interests,
            next_seq: 1,
            pending: BTreeMap::new(),
            history: Vec::new(),
        })
    }

    pub fn strategy(&self) -> &S {
        &self.instance.strategy
    }

    pub fn host(&self) -> &SimHost {
        &self.host
    }

    pub fn config(&self) -> &InitConfig {
        &self.config
    }

    /// Moves the simulated clock (nanoseconds). Time never goes backwards.
    pub fn advance_to(&mut self, ts: u64) {
        self.host.now = self.host.now.max(ts);
    }

    /// Moves the simulated clock forward by `ns`.
    pub fn advance_by(&mut self, ns: u64) {
        self.host.now = self.host.now.saturating_add(ns);
    }

    fn wanted(&self, kind: &EventKind) -> bool {
        match kind {
            EventKind::BookSnapshot(_) => self.interests.contains(Interests::BOOK_SNAPSHOTS),
            EventKind::BookChange(_) => self.interests.contains(Interests::BOOK_CHANGES),
            EventKind::Quote(_) => self.interests.contains(Interests::QUOTES),
            EventKind::Trade(_) => self.interests.contains(Interests::TRADES),
            _ => true,
        }
    }

    fn record(&mut self, commands: &[Command]) {
        for c in commands {
            if let Action::Place(o) = &c.action {
                self.pending.insert(o.id, *o);
            }
        }
        self.history.extend_from_slice(commands);
    }

    /// Delivers one batch at the current time, the way the host would, and returns
    /// the strategy's commands.
    pub fn send(&mut self, kinds: Vec<EventKind>) -> Vec<Command> {
        let tops_before: BTreeMap<u32, BookTop> = self
            .config
            .instruments
            .iter()
            .map(|i| (i.id, self.host.books.top(i.id)))
            .collect();
        let mut events = Vec::with_capacity(kinds.len());
        for kind in kinds {
            match &kind {
                EventKind::BookSnapshot(b) => self.host.books.on_snapshot(b),
                EventKind::BookChange(c) => self.host.books.on_change(c),
                EventKind::Fill(f) => self.host.apply_fill(f),
                EventKind::OrderAccepted(a) => {
                    if let Some(o) = self.pending.remove(&a.order) {
                        self.host.orders.insert(
                            o.id,
                            OpenOrder {
                                id: o.id,
                                instrument: o.instrument,
                                side: o.side,
                                price: o.price,
                                remaining: o.size,
                            },
                        );
                    }
                }
                EventKind::OrderRejected(r) => {
                    self.pending.remove(&r.order);
                }
                EventKind::OrderCancelled(c) => {
                    self.host.orders.remove(&c.order);
                }
                _ => {}
            }
            if self.wanted(&kind) {
                events.push(self.event(kind));
            }
        }
        if self.interests.contains(Interests::QUOTES) {
            for (id, before) in tops_before {
                let after = self.host.books.top(id);
                if after != before {
                    let quote = EventKind::Quote(Quote {
                        instrument: id,
                        bid: after.bid,
                        ask: after.ask,
                    });
                    events.push(self.event(quote));
                }
            }
        }
        let commands = export::with_instance(&mut self.instance, &mut self.host, |s, ctx| {
            export::dispatch(s, ctx, &events)
        });
        self.record(&commands);
        commands
    }

    fn event(&mut self, kind: EventKind) -> Event {
        let seq = self.next_seq;
        self.next_seq += 1;
        Event {
            seq,
            ts: self.host.now,
            kind,
        }
    }

    /// Sends a book snapshot built from `(price, size)` text pairs, best-first.
    pub fn book(
        &mut self,
        instrument: u32,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
    ) -> Vec<Command> {
        let level = |(p, s): &(&str, &str)| Level {
            price: px(p),
            size: sz(s),
        };
        self.send(vec![EventKind::BookSnapshot(BookSnapshot {
            instrument,
            bids: bids.iter().map(level).collect(),
            asks: asks.iter().map(level).collect(),
        })])
    }

    /// Sends one level change.
    pub fn change(&mut self, instrument: u32, side: Side, price: &str, size: &str) -> Vec<Command> {
        self.send(vec![EventKind::BookChange(BookChange {
            instrument,
            side,
            price: px(price),
            size: sz(size),
        })])
    }

    /// Fires a timer through `on_timer`, as the host does for a lone timer.
    pub fn timer(&mut self, id: u64) -> Vec<Command> {
        let commands = export::with_instance(&mut self.instance, &mut self.host, |s, ctx| {
            s.on_timer(ctx, id)
        });
        self.record(&commands);
        commands
    }

    /// Orders placed but not yet accepted or rejected by the script.
    pub fn pending_orders(&self) -> Vec<OrderRequest> {
        self.pending.values().copied().collect()
    }

    /// Accepts every pending order in one batch.
    pub fn accept_all(&mut self) -> Vec<Command> {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        self.send(
            ids.into_iter()
                .map(|order| EventKind::OrderAccepted(OrderAccepted { order }))
                .collect(),
        )
    }

    /// Fills `size` micro-shares of an open order at its own price as a maker.
    ///
    /// # Panics
    /// If the order is not open (a broken test script).
    pub fn fill(&mut self, order: u64, size: u64) -> Vec<Command> {
        let o = *self
            .host
            .orders
            .get(&order)
            .unwrap_or_else(|| panic!("order {order} is not open"));
        let size = size.min(o.remaining);
        self.send(vec![EventKind::Fill(Fill {
            order,
            instrument: o.instrument,
            side: o.side,
            price: o.price,
            size,
            fee: 0,
            liquidity: Liquidity::Maker,
            remaining: o.remaining - size,
        })])
    }

    /// Fills `size` micro-shares of a placed order (pending or open) as a taker at
    /// `price` with `fee` micro-dollars, the way a marketable order fills.
    ///
    /// # Panics
    /// If the strategy never placed the order (a broken test script).
    pub fn take_fill(&mut self, order: u64, price: u32, size: u64, fee: i64) -> Vec<Command> {
        let (instrument, side, remaining) =
            match (self.pending.get(&order), self.host.orders.get(&order)) {
                (Some(o), _) => (o.instrument, o.side, o.size),
                (None, Some(o)) => (o.instrument, o.side, o.remaining),
                (None, None) => panic!("order {order} was never placed or is closed"),
            };
        if let Some(o) = self.pending.remove(&order) {
            self.host.orders.insert(
                order,
                OpenOrder {
                    id: o.id,
                    instrument: o.instrument,
                    side: o.side,
                    price: o.price,
                    remaining: o.size,
                },
            );
        }
        let size = size.min(remaining);
        self.send(vec![EventKind::Fill(Fill {
            order,
            instrument,
            side,
            price,
            size,
            fee,
            liquidity: Liquidity::Taker,
            remaining: remaining - size,
        })])
    }

    /// Reports that a fill-and-kill or fill-or-kill order stopped with its rest
    /// unfilled (reason `unfilled`).
    pub fn kill(&mut self, order: u64) -> Vec<Command> {
        let unfilled = match (self.pending.remove(&order), self.host.orders.get(&order)) {
            (Some(o), _) => o.size,
            (None, Some(o)) => o.remaining,
            (None, None) => 0,
        };
        self.send(vec![EventKind::OrderCancelled(OrderCancelled {
            order,
            reason: CancelReason::Unfilled,
            unfilled,
        })])
    }

    /// Confirms that an open order was cancelled at the strategy's request.
    pub fn cancelled(&mut self, order: u64) -> Vec<Command> {
        let unfilled = self.host.orders.get(&order).map_or(0, |o| o.remaining);
        self.send(vec![EventKind::OrderCancelled(OrderCancelled {
            order,
            reason: CancelReason::Requested,
            unfilled,
        })])
    }

    /// Acknowledges every `cancel` command issued so far whose order is still open.
    pub fn confirm_cancels(&mut self) -> Vec<Command> {
        let mut ids = Vec::new();
        for c in &self.history {
            if let Action::Cancel(id) = c.action
                && self.host.orders.contains_key(&id)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        let events = ids
            .into_iter()
            .map(|order| {
                let unfilled = self.host.orders.get(&order).map_or(0, |o| o.remaining);
                EventKind::OrderCancelled(OrderCancelled {
                    order,
                    reason: CancelReason::Requested,
                    unfilled,
                })
            })
            .collect();
        self.send(events)
    }

    pub fn snapshot_state(&self) -> Vec<u8> {
        self.instance.strategy.snapshot_state()
    }

    /// Restores state into this (freshly built) instance.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), String> {
        export::restore(&mut self.instance, &mut self.host, state)
    }

    /// Runs the strategy's shutdown hook.
    pub fn shutdown(&mut self) -> Vec<Command> {
        let commands =
            export::with_instance(&mut self.instance, &mut self.host, |s, ctx| s.shutdown(ctx));
        self.record(&commands);
        commands
    }
}

/// The orders placed among `commands`.
pub fn placed(commands: &[Command]) -> Vec<OrderRequest> {
    commands
        .iter()
        .filter_map(|c| match &c.action {
            Action::Place(o) => Some(*o),
            _ => None,
        })
        .collect()
}

/// The order ids cancelled among `commands`.
pub fn cancelled_ids(commands: &[Command]) -> Vec<u64> {
    commands
        .iter()
        .filter_map(|c| match c.action {
            Action::Cancel(id) => Some(id),
            _ => None,
        })
        .collect()
}

/// A decimal parameter value from text, e.g. `dec("0.03")`.
///
/// # Panics
/// On malformed text: test scripts are constants.
pub fn dec(text: &str) -> ParamValue {
    ParamValue::Decimal(crate::parse_decimal(text).unwrap_or_else(|e| panic!("{e}")))
}
