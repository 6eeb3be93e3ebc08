//! The fill simulator shared by backtests and paper trading. Orders go live after
//! a submit latency; marketable parts walk the displayed book (what our own orders
//! took is not available again until the book shows that level afresh); resting
//! orders queue behind the size displayed at their price and move up as trades
//! print there and as others cancel; a book that trades through a resting price
//! fills it. Deterministic: it only knows the host time it is given.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fees::{FeeSchedule, charge};
use super::rules::{self, Refusal};
use crate::data::books::Books;
use crate::model::money::shares;
use crate::model::{
    CancelCause, Fill, FillCause, Liquidity, MarketEvent, Order, OrderEvent, OrderKey, Price, Side,
    Size, TimeInForce, TokenId, VenueReject,
};
use crate::venue::{MarketSpec, Reconciliation, Venue};

/// A market's trading rules and fee schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRules {
    pub tick: Price,
    pub min_size: Size,
    pub fees: FeeSchedule,
}

/// How taker prices are worsened beyond the displayed book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Slippage {
    /// The book as displayed.
    BookWalk,
    /// Every taker fill `ticks` worse than the level it took (never past the limit).
    ExtraTicks { ticks: u32 },
    /// Every taker fill worse by `bps_per_share` basis points of its price per
    /// share of the fill, rounded to the worse tick (never past the limit).
    SizeAware { bps_per_share: Decimal },
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillConfig {
    pub submit_latency_ns: u64,
    pub cancel_latency_ns: u64,
    pub slippage: Slippage,
}

impl Default for FillConfig {
    fn default() -> Self {
        FillConfig {
            submit_latency_ns: 0,
            cancel_latency_ns: 0,
            slippage: Slippage::BookWalk,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In flight to the venue until `live_at`.
    Pending { live_at: u64 },
    /// Resting with `ahead` shares before it at its price.
    Resting { ahead: Size },
}

#[derive(Debug, Clone)]
struct SimOrder {
    order: Order,
    remaining: Size,
    phase: Phase,
    cancel_at: Option<u64>,
    /// Activation order, for queue priority among our own orders.
    seq: u64,
}

/// A working order as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrderView {
    pub key: OrderKey,
    pub remaining: Size,
    /// `None` while still in flight.
    pub ahead: Option<Size>,
}

type LevelKey = (TokenId, Side, Price);

/// The simulator.
#[derive(Debug, Default)]
pub struct FillSimulator {
    config: FillConfig,
    rules: BTreeMap<TokenId, MarketRules>,
    orders: BTreeMap<OrderKey, SimOrder>,
    /// Displayed size our taker orders already took, per level, until the book
    /// updates that level.
    consumed: BTreeMap<LevelKey, Size>,
    /// Displayed level totals last seen (to tell cancels from trades).
    displayed: BTreeMap<LevelKey, Size>,
    /// Volume printed at a level since its total was last seen.
    traded: BTreeMap<LevelKey, Size>,
    next_seq: u64,
}

/// Drops a token's levels: its keys are one run of the map (keys start with
/// the token), so only they are visited, not every book's.
fn forget_token(levels: &mut BTreeMap<LevelKey, Size>, token: &TokenId) {
    let first = (token.clone(), Side::Buy, Price::ZERO);
    let keys: Vec<LevelKey> = levels
        .range(first..)
        .take_while(|((t, _, _), _)| t == token)
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        levels.remove(&k);
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

fn crosses(side: Side, limit: Price, level: Price) -> bool {
    match side {
        Side::Buy => level <= limit,
        Side::Sell => level >= limit,
    }
}

impl FillSimulator {
    pub fn new(config: FillConfig) -> FillSimulator {
        FillSimulator {
            config,
            ..FillSimulator::default()
        }
    }

    /// A simulator knowing the rules and fee schedule of every token of `markets`.
    pub fn for_markets(config: FillConfig, markets: &[MarketSpec]) -> FillSimulator {
        let mut sim = FillSimulator::new(config);
        for m in markets {
            for (token, _) in &m.tokens {
                sim.set_market(
                    token.clone(),
                    MarketRules {
                        tick: m.tick,
                        min_size: m.min_size,
                        fees: m.fees,
                    },
                );
            }
        }
        sim
    }

    /// Registers (or updates) a market's rules.
    pub fn set_market(&mut self, token: TokenId, rules: MarketRules) {
        self.rules.insert(token, rules);
    }

    /// Working orders (in flight or resting).
    pub fn open_orders(&self) -> Vec<SimOrderView> {
        self.orders
            .values()
            .map(|o| SimOrderView {
                key: o.order.key,
                remaining: o.remaining,
                ahead: match o.phase {
                    Phase::Pending { .. } => None,
                    Phase::Resting { ahead } => Some(ahead),
                },
            })
            .collect()
    }

    fn available(&self, key: &LevelKey, displayed: Size) -> Size {
        displayed.saturating_sub(self.consumed.get(key).copied().unwrap_or(Size::ZERO))
    }

    /// The taker price after slippage, on tick and never past the limit.
    fn slipped(&self, side: Side, level: Price, size: Size, limit: Price, tick: Price) -> Price {
        let worse = |p: Price, by: u64| -> Price {
            let moved = match side {
                Side::Buy => u64::from(p.micros()).saturating_add(by),
                Side::Sell => u64::from(p.micros()).saturating_sub(by),
            };
            let moved = u32::try_from(moved)
                .ok()
                .and_then(Price::new)
                .unwrap_or(limit);
            match side {
                Side::Buy => moved.min(limit),
                Side::Sell => moved.max(limit),
            }
        };
        match &self.config.slippage {
            Slippage::BookWalk => level,
            Slippage::ExtraTicks { ticks } => {
                worse(level, u64::from(tick.micros()) * u64::from(*ticks))
            }
            Slippage::SizeAware { bps_per_share } => {
                let impact = Decimal::from(level.micros()) * *bps_per_share * shares(size)
                    / Decimal::from(10_000);
                let impact: u64 = impact.ceil().try_into().unwrap_or(u64::MAX / 4);
                let t = u64::from(tick.micros().max(1));
                // Round the move up to whole ticks so fills stay on the grid.
                worse(level, impact.div_ceil(t) * t)
            }
        }
    }

    fn fill(
        &self,
        order: &Order,
        price: Price,
        size: Size,
        remaining: Size,
        liquidity: Liquidity,
        now: u64,
    ) -> OrderEvent {
        let schedule = self
            .rules
            .get(&order.token)
            .map_or(FeeSchedule::FREE, |r| r.fees);
        let (fee, fee_shares) = charge(&schedule, liquidity, order.side, price, size);
        OrderEvent::Filled(Fill {
            key: order.key,
            token: order.token.clone(),
            side: order.side,
            price,
            size,
            fee,
            fee_shares,
            liquidity,
            remaining,
            ts_ns: now,
            trade_id: None,
            cause: FillCause::Reported,
        })
    }

    /// Takes liquidity for a marketable order; returns fills and what is left.
    fn take(
        &mut self,
        order: &Order,
        mut remaining: Size,
        books: &Books,
        now: u64,
        dry_run: bool,
    ) -> (Vec<OrderEvent>, Size) {
        let Some(book) = books.book(&order.token) else {
            return (Vec::new(), remaining);
        };
        let tick = self.rules.get(&order.token).map_or(Price::ZERO, |r| r.tick);
        let opp = opposite(order.side);
        let mut events = Vec::new();
        for level in book.depth(opp, usize::MAX) {
            if remaining.is_zero() || !crosses(order.side, order.price, level.price) {
                break;
            }
            let key = (order.token.clone(), opp, level.price);
            let avail = self.available(&key, level.size);
            let take = avail.min(remaining);
            if take.is_zero() {
                continue;
            }
            remaining = remaining.saturating_sub(take);
            if !dry_run {
                let price = self.slipped(order.side, level.price, take, order.price, tick);
                events.push(self.fill(order, price, take, remaining, Liquidity::Taker, now));
                let c = self.consumed.entry(key).or_insert(Size::ZERO);
                *c = c.checked_add(take).unwrap_or(*c);
            }
        }
        (events, remaining)
    }

    fn validate(&self, order: &Order, now: u64) -> Result<(), Refusal> {
        let Some(rules) = self.rules.get(&order.token) else {
            return Err((
                VenueReject::MarketClosed,
                "the market is not accepting orders".to_string(),
            ));
        };
        rules::on_receipt(order, rules.tick, rules.min_size, now)
    }

    /// A resting order of ours (any strategy: one account) that `order` would
    /// trade against.
    fn own_cross(&self, order: &Order) -> Option<&Order> {
        self.orders
            .values()
            .filter(|o| matches!(o.phase, Phase::Resting { .. }))
            .map(|o| &o.order)
            .find(|o| {
                o.token == order.token
                    && o.side == opposite(order.side)
                    && crosses(order.side, order.price, o.price)
            })
    }

    /// What the venue checks when the order arrives, against the book and the
    /// account's resting orders; `Err` is its refusal.
    fn check_arrival(&mut self, o: &SimOrder, now: u64, books: &Books) -> Result<(), Refusal> {
        let (_, left_if_taken) = self.take(&o.order, o.remaining, books, now, true);
        let marketable = left_if_taken < o.remaining;
        if o.order.post_only && marketable {
            return Err(rules::crosses_book());
        }
        if let Some(other) = self.own_cross(&o.order) {
            return Err(rules::self_cross(&o.order, other));
        }
        if marketable {
            rules::min_notional(&o.order)?;
        }
        let unfillable = match o.order.tif {
            TimeInForce::Fok => !left_if_taken.is_zero(),
            TimeInForce::Fak => !marketable,
            _ => false,
        };
        if unfillable {
            return Err(rules::unfillable(o.order.tif));
        }
        Ok(())
    }

    /// The order reaches the venue.
    fn activate(&mut self, mut o: SimOrder, now: u64, books: &Books) -> Vec<OrderEvent> {
        let key = o.order.key;
        if let Err((reject, message)) = self.check_arrival(&o, now, books) {
            return vec![OrderEvent::Rejected {
                key,
                reject,
                message,
                ts_ns: now,
            }];
        }
        let mut events = vec![OrderEvent::Accepted { key, ts_ns: now }];
        let order = o.order.clone();
        let (fills, left) = self.take(&order, o.remaining, books, now, false);
        events.extend(fills);
        o.remaining = left;
        if left.is_zero() {
            return events;
        }
        if matches!(o.order.tif, TimeInForce::Fak | TimeInForce::Fok) {
            events.push(OrderEvent::Cancelled {
                key,
                cause: CancelCause::Unfilled,
                unfilled: left,
                ts_ns: now,
            });
            return events;
        }
        let ahead = books
            .book(&o.order.token)
            .map_or(Size::ZERO, |b| b.size_at(o.order.side, o.order.price));
        o.phase = Phase::Resting { ahead };
        o.seq = self.next_seq;
        self.next_seq += 1;
        self.orders.insert(key, o);
        events
    }

    /// Trades printed at a price: queues move up, and what passes our queue
    /// position fills us (as makers), earliest of our orders first.
    fn on_trade(
        &mut self,
        token: &TokenId,
        price: Price,
        volume: Size,
        taker: Option<Side>,
        now: u64,
    ) -> Vec<OrderEvent> {
        // A print with a known taker side only moves the queue it took from.
        let makers: &[Side] = match taker {
            Some(Side::Buy) => &[Side::Sell],
            Some(Side::Sell) => &[Side::Buy],
            None => &[Side::Buy, Side::Sell],
        };
        for &side in makers {
            let k = (token.clone(), side, price);
            let t = self.traded.entry(k).or_insert(Size::ZERO);
            *t = t.checked_add(volume).unwrap_or(*t);
        }
        let mut keys: Vec<(u64, OrderKey)> = self
            .orders
            .values()
            .filter(|o| {
                &o.order.token == token
                    && o.order.price == price
                    && makers.contains(&o.order.side)
                    && matches!(o.phase, Phase::Resting { .. })
            })
            .map(|o| (o.seq, o.order.key))
            .collect();
        keys.sort();
        // Our own earlier orders at the level queue ahead of our later ones, on
        // top of what was displayed when each joined.
        let mut own_ahead = Size::ZERO;
        let mut events = Vec::new();
        for (_, key) in keys {
            let Some(o) = self.orders.get_mut(&key) else {
                continue;
            };
            let Phase::Resting { ahead } = o.phase else {
                continue;
            };
            let queue = ahead
                .checked_add(own_ahead)
                .unwrap_or(Size::from_micros(u64::MAX));
            let through = volume.saturating_sub(queue);
            o.phase = Phase::Resting {
                ahead: ahead.saturating_sub(volume),
            };
            own_ahead = own_ahead
                .checked_add(o.remaining)
                .unwrap_or(Size::from_micros(u64::MAX));
            let size = through.min(o.remaining);
            if size.is_zero() {
                continue;
            }
            o.remaining = o.remaining.saturating_sub(size);
            let (order, remaining) = (o.order.clone(), o.remaining);
            events.push(self.fill(&order, price, size, remaining, Liquidity::Maker, now));
            if remaining.is_zero() {
                self.orders.remove(&key);
            }
        }
        events
    }

    /// A level's new displayed total: consumption resets, and a drop not explained
    /// by trades is cancels, spread evenly through the queue (so the part ahead of
    /// us shrinks in proportion).
    fn on_level(&mut self, token: &TokenId, side: Side, price: Price, total: Size) {
        let key = (token.clone(), side, price);
        self.consumed.remove(&key);
        let before = self
            .displayed
            .insert(key.clone(), total)
            .unwrap_or(Size::ZERO);
        let traded = self.traded.remove(&key).unwrap_or(Size::ZERO);
        let cancelled = before.saturating_sub(total).saturating_sub(traded);
        if cancelled.is_zero() || before.is_zero() {
            return;
        }
        for o in self.orders.values_mut() {
            if &o.order.token == token
                && o.order.side == side
                && o.order.price == price
                && let Phase::Resting { ahead } = o.phase
            {
                let cut = u128::from(cancelled.micros()) * u128::from(ahead.micros())
                    / u128::from(before.micros());
                o.phase = Phase::Resting {
                    ahead: ahead.saturating_sub(Size::from_micros(cut as u64)),
                };
            }
        }
    }

    /// Resting orders the opposite side now crosses fill at their own price, as
    /// makers, against the crossing liquidity that is really there: what the
    /// book displays less what our own orders already took from it (which the
    /// venue's book cannot show). Most aggressive orders first, then by time.
    fn traded_through(&mut self, token: &TokenId, books: &Books, now: u64) -> Vec<OrderEvent> {
        let Some(book) = books.book(token) else {
            return Vec::new();
        };
        let mut hit: Vec<(Side, Price, u64, OrderKey)> = self
            .orders
            .values()
            .filter(|o| &o.order.token == token && matches!(o.phase, Phase::Resting { .. }))
            .map(|o| (o.order.side, o.order.price, o.seq, o.order.key))
            .collect();
        hit.sort_by(|a, b| match a.0 {
            Side::Buy => b.1.cmp(&a.1).then(a.2.cmp(&b.2)),
            Side::Sell => a.1.cmp(&b.1).then(a.2.cmp(&b.2)),
        });
        let mut events = Vec::new();
        for (side, price, _, key) in hit {
            let opp = opposite(side);
            let mut remaining = match self.orders.get(&key) {
                Some(o) => o.remaining,
                None => continue,
            };
            let mut filled = Size::ZERO;
            for level in book.depth(opp, usize::MAX) {
                if remaining.is_zero() || !crosses(side, price, level.price) {
                    break;
                }
                let lk = (token.clone(), opp, level.price);
                let take = self.available(&lk, level.size).min(remaining);
                if take.is_zero() {
                    continue;
                }
                let c = self.consumed.entry(lk).or_insert(Size::ZERO);
                *c = c.checked_add(take).unwrap_or(*c);
                remaining = remaining.saturating_sub(take);
                filled = filled.checked_add(take).unwrap_or(filled);
            }
            if filled.is_zero() {
                continue;
            }
            let Some(o) = self.orders.get_mut(&key) else {
                continue;
            };
            o.remaining = remaining;
            let order = o.order.clone();
            if remaining.is_zero() {
                self.orders.remove(&key);
            }
            events.push(self.fill(&order, price, filled, remaining, Liquidity::Maker, now));
        }
        events
    }
}

impl Venue for FillSimulator {
    fn reconcile(&mut self, order: &Order, _now: u64) -> Reconciliation {
        // The simulated venue lives in the host process: after a restart it is
        // new, so orders of the previous process went with the old one.
        match self.orders.get(&order.key) {
            Some(o) => Reconciliation::working(o.remaining),
            None => Reconciliation::over(),
        }
    }

    fn add_market(&mut self, spec: &MarketSpec) {
        for (token, _) in &spec.tokens {
            self.set_market(
                token.clone(),
                MarketRules {
                    tick: spec.tick,
                    min_size: spec.min_size,
                    fees: spec.fees,
                },
            );
        }
    }

    fn submit(&mut self, order: Order, now: u64, books: &Books) -> Vec<OrderEvent> {
        if let Err((reject, message)) = self.validate(&order, now) {
            return vec![OrderEvent::Rejected {
                key: order.key,
                reject,
                message,
                ts_ns: now,
            }];
        }
        let o = SimOrder {
            remaining: order.size,
            phase: Phase::Pending {
                live_at: now.saturating_add(self.config.submit_latency_ns),
            },
            cancel_at: None,
            seq: 0,
            order,
        };
        if self.config.submit_latency_ns == 0 {
            return self.activate(o, now, books);
        }
        self.orders.insert(o.order.key, o);
        Vec::new()
    }

    fn cancel(&mut self, key: OrderKey, now: u64) -> Vec<OrderEvent> {
        let Some(o) = self.orders.get_mut(&key) else {
            return Vec::new();
        };
        if self.config.cancel_latency_ns > 0 {
            o.cancel_at
                .get_or_insert(now.saturating_add(self.config.cancel_latency_ns));
            return Vec::new();
        }
        let unfilled = o.remaining;
        self.orders.remove(&key);
        vec![OrderEvent::Cancelled {
            key,
            cause: CancelCause::Requested,
            unfilled,
            ts_ns: now,
        }]
    }

    fn on_market(&mut self, event: &MarketEvent, now: u64, books: &Books) -> Vec<OrderEvent> {
        let mut events = Vec::new();
        match event {
            MarketEvent::LastTrade {
                token,
                price,
                size,
                side,
                ..
            } => {
                events.extend(self.on_trade(token, *price, *size, *side, now));
            }
            MarketEvent::PriceChange { changes, .. } => {
                for c in changes {
                    self.on_level(&c.token, c.side, c.price, c.size);
                }
                let mut tokens: Vec<&TokenId> = changes.iter().map(|c| &c.token).collect();
                tokens.dedup();
                for t in tokens {
                    events.extend(self.traded_through(t, books, now));
                }
            }
            MarketEvent::Book {
                token, bids, asks, ..
            } => {
                for levels in [&mut self.consumed, &mut self.traded, &mut self.displayed] {
                    forget_token(levels, token);
                }
                for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
                    for l in levels {
                        self.displayed
                            .insert((token.clone(), side, l.price), l.size);
                    }
                }
                events.extend(self.traded_through(token, books, now));
            }
            MarketEvent::TickSize { token, new, .. } => {
                if let Some(r) = self.rules.get_mut(token) {
                    r.tick = *new;
                }
                // Orders no longer on the grid cannot stay on the book.
                let off: Vec<OrderKey> = self
                    .orders
                    .values()
                    .filter(|o| {
                        &o.order.token == token && !o.order.price.is_valid_order_price(*new)
                    })
                    .map(|o| o.order.key)
                    .collect();
                for key in off {
                    if let Some(o) = self.orders.remove(&key) {
                        events.push(OrderEvent::Cancelled {
                            key,
                            cause: CancelCause::Venue,
                            unfilled: o.remaining,
                            ts_ns: now,
                        });
                    }
                }
            }
            MarketEvent::Resolved { tokens, .. } => {
                // The venue cancels what rests in a resolved market.
                let keys: Vec<OrderKey> = self
                    .orders
                    .values()
                    .filter(|o| tokens.contains(&o.order.token))
                    .map(|o| o.order.key)
                    .collect();
                for key in keys {
                    if let Some(o) = self.orders.remove(&key) {
                        events.push(OrderEvent::Cancelled {
                            key,
                            cause: CancelCause::Venue,
                            unfilled: o.remaining,
                            ts_ns: now,
                        });
                    }
                }
            }
            MarketEvent::BestBidAsk { .. } | MarketEvent::NewMarket { .. } => {}
        }
        events
    }

    fn on_time(&mut self, now: u64, books: &Books) -> Vec<OrderEvent> {
        let mut events = Vec::new();
        let due: Vec<OrderKey> = self
            .orders
            .values()
            .filter(|o| matches!(o.phase, Phase::Pending { live_at } if live_at <= now))
            .map(|o| o.order.key)
            .collect();
        for key in due {
            if let Some(o) = self.orders.remove(&key) {
                // A cancel that arrived before the order went live wins.
                if o.cancel_at.is_some_and(|c| c <= now) {
                    events.push(OrderEvent::Cancelled {
                        key,
                        cause: CancelCause::Requested,
                        unfilled: o.remaining,
                        ts_ns: now,
                    });
                    continue;
                }
                events.extend(self.activate(o, now, books));
            }
        }
        let finished: Vec<(OrderKey, CancelCause)> = self
            .orders
            .values()
            .filter_map(|o| {
                if o.cancel_at.is_some_and(|c| c <= now) {
                    Some((o.order.key, CancelCause::Requested))
                } else if matches!(o.order.tif, TimeInForce::Gtd { until_ns } if until_ns <= now) {
                    Some((o.order.key, CancelCause::Expired))
                } else {
                    None
                }
            })
            .collect();
        for (key, cause) in finished {
            if let Some(o) = self.orders.remove(&key) {
                events.push(OrderEvent::Cancelled {
                    key,
                    cause,
                    unfilled: o.remaining,
                    ts_ns: now,
                });
            }
        }
        events
    }
}

#[cfg(test)]
mod tests;
