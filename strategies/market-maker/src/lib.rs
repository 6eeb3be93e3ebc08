//! Spread-capturing market maker with inventory skew.
//!
//! On every instrument it is asked to quote (by default the first outcome of each
//! market), it keeps one post-only bid and, when it holds shares, one post-only ask
//! around a fair price: the book mid shifted against its inventory. Polymarket has
//! no short selling, so the ask only offers shares already held. Quotes are replaced
//! only when the wanted price moves by at least `requote_ticks`, and pulled when the
//! market is untradeable, one-sided, crossed or tighter than `min_market_spread`.

use std::collections::BTreeMap;

use pqap_strategy_sdk::state::{StateReader, StateWriter};
use pqap_strategy_sdk::types::{
    BookTop, CancelReason, Fill, InitConfig, Interests, MarketStatus, OrderCancelled,
    OrderRejected, Quote, RejectReason, Resolution, Side, StrategyInfo, TickSizeChange,
};
use pqap_strategy_sdk::{Ctx, ParamSchema, Params, Price, Size, Strategy, export_strategy};

mod pricing;

pub use pricing::{QuoteConfig, Wanted, wanted_quotes};

const STATE_VERSION: u8 = 1;

/// A quote we have working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Working {
    id: u64,
    price: Price,
    remaining: Size,
}

/// Our quoting state on one instrument.
#[derive(Clone, Debug)]
struct Quoted {
    market: u32,
    tick: Price,
    min_size: Size,
    tradeable: bool,
    resolved: bool,
    dirty: bool,
    bid: Option<Working>,
    ask: Option<Working>,
    /// Orders we asked to cancel that may still fill until the host confirms.
    cancelling: BTreeMap<u64, (Side, Size)>,
}

impl Quoted {
    fn slot(&mut self, side: Side) -> &mut Option<Working> {
        match side {
            Side::Buy => &mut self.bid,
            Side::Sell => &mut self.ask,
        }
    }

    fn cancelling_size(&self, side: Side) -> Size {
        self.cancelling
            .values()
            .filter(|(s, _)| *s == side)
            .fold(Size::ZERO, |acc, (_, r)| acc.checked_add(*r).unwrap_or(acc))
    }

    /// Forgets an order that is no longer working, wherever we kept it.
    fn forget(&mut self, order: u64) {
        if self.bid.is_some_and(|w| w.id == order) {
            self.bid = None;
        }
        if self.ask.is_some_and(|w| w.id == order) {
            self.ask = None;
        }
        self.cancelling.remove(&order);
    }
}

/// The strategy.
pub struct MarketMaker {
    config: QuoteConfig,
    quoted: BTreeMap<u32, Quoted>,
}

impl MarketMaker {
    fn owner_of(&mut self, order: u64) -> Option<&mut Quoted> {
        self.quoted.values_mut().find(|q| {
            q.bid.is_some_and(|w| w.id == order)
                || q.ask.is_some_and(|w| w.id == order)
                || q.cancelling.contains_key(&order)
        })
    }

    fn pull(ctx: &mut Ctx, q: &mut Quoted, side: Side, reason: &str) {
        if let Some(w) = q.slot(side).take() {
            ctx.cancel(w.id, reason);
            q.cancelling.insert(w.id, (side, w.remaining));
        }
    }

    fn reconcile_side(
        ctx: &mut Ctx,
        instrument: u32,
        q: &mut Quoted,
        side: Side,
        want: Option<(Price, Size)>,
        requote_ticks: u32,
    ) {
        let current = *q.slot(side);
        let (pull_reason, place_reason) = match side {
            Side::Buy => ("pull_bid", "quote_bid"),
            Side::Sell => ("pull_ask", "quote_ask"),
        };
        match (current, want) {
            (None, None) => {}
            (Some(_), None) => Self::pull(ctx, q, side, pull_reason),
            (current, Some((price, size))) => {
                if let Some(w) = current {
                    let moved = w.price.micros().abs_diff(price.micros());
                    let tolerance = q.tick.micros().saturating_mul(requote_ticks);
                    if moved < tolerance.max(1) {
                        return;
                    }
                    Self::pull(ctx, q, side, "requote");
                }
                let id = ctx.limit(instrument, side, price, size, true, place_reason);
                *q.slot(side) = Some(Working {
                    id,
                    price,
                    remaining: size,
                });
            }
        }
    }

    fn requote(&mut self, ctx: &mut Ctx, instrument: u32) {
        let config = self.config;
        let Some(q) = self.quoted.get_mut(&instrument) else {
            return;
        };
        q.dirty = false;
        if q.resolved {
            return;
        }
        if !q.tradeable {
            Self::pull(ctx, q, Side::Buy, "untradeable");
            Self::pull(ctx, q, Side::Sell, "untradeable");
            return;
        }
        let top: BookTop = ctx.book_top(instrument);
        let inventory = Size::from_micros(ctx.position(instrument).size);
        let wanted = wanted_quotes(
            &config,
            q.tick,
            q.min_size,
            top,
            inventory,
            q.cancelling_size(Side::Buy),
            q.cancelling_size(Side::Sell),
        );
        Self::reconcile_side(
            ctx,
            instrument,
            q,
            Side::Buy,
            wanted.bid,
            config.requote_ticks,
        );
        Self::reconcile_side(
            ctx,
            instrument,
            q,
            Side::Sell,
            wanted.ask,
            config.requote_ticks,
        );
    }
}

impl Strategy for MarketMaker {
    fn describe() -> StrategyInfo {
        StrategyInfo {
            name: "market_maker".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Post-only two-sided quotes around the mid, skewed against inventory."
                .to_string(),
            params: ParamSchema::new()
                .decimal(
                    "half_spread",
                    "0.02",
                    "distance of each quote from the fair price",
                )
                .decimal("quote_size", "10", "shares per quote")
                .decimal(
                    "max_inventory",
                    "100",
                    "stop bidding at this many shares held",
                )
                .decimal(
                    "skew_per_share",
                    "0.0005",
                    "fair price shift per share held (dollars)",
                )
                .decimal(
                    "min_market_spread",
                    "0.02",
                    "only quote when the book's spread is at least this wide",
                )
                .integer(
                    "requote_ticks",
                    1,
                    "replace a quote once it is this many ticks off",
                )
                .flag(
                    "all_outcomes",
                    false,
                    "quote every outcome token, not only the first of each market",
                )
                .build(),
            interests: Interests::QUOTES,
        }
    }

    fn init(_ctx: &mut Ctx, config: &InitConfig, params: &Params) -> Result<Self, String> {
        let requote_ticks = u32::try_from(params.integer("requote_ticks")?)
            .ok()
            .filter(|t| *t >= 1)
            .ok_or("parameter `requote_ticks` must be at least 1")?;
        let skew = params.price("skew_per_share")?;
        let quote_config = QuoteConfig {
            half_spread: params.price("half_spread")?,
            quote_size: params.size("quote_size")?,
            max_inventory: params.size("max_inventory")?,
            skew_per_share: skew,
            min_market_spread: params.price("min_market_spread")?,
            requote_ticks,
        };
        if quote_config.quote_size.is_zero() {
            return Err("parameter `quote_size` must be positive".to_string());
        }
        let all_outcomes = params.flag("all_outcomes")?;
        let mut quoted = BTreeMap::new();
        for info in &config.instruments {
            let first_of_market = config
                .instruments
                .iter()
                .filter(|i| i.market == info.market)
                .map(|i| i.id)
                .min()
                == Some(info.id);
            if !(all_outcomes || first_of_market) {
                continue;
            }
            let tick = Price::new(info.tick)
                .filter(|t| t.micros() > 0)
                .ok_or_else(|| {
                    format!("instrument {} has an invalid tick {}", info.id, info.tick)
                })?;
            quoted.insert(
                info.id,
                Quoted {
                    market: info.market,
                    tick,
                    min_size: Size::from_micros(info.min_size),
                    tradeable: true,
                    resolved: false,
                    dirty: false,
                    bid: None,
                    ask: None,
                    cancelling: BTreeMap::new(),
                },
            );
        }
        if quoted.is_empty() {
            return Err("no instruments to quote".to_string());
        }
        Ok(MarketMaker {
            config: quote_config,
            quoted,
        })
    }

    fn on_quote(&mut self, _ctx: &mut Ctx, quote: &Quote) {
        if let Some(q) = self.quoted.get_mut(&quote.instrument) {
            q.dirty = true;
        }
    }

    fn on_tick_size(&mut self, _ctx: &mut Ctx, change: &TickSizeChange) {
        if let Some(q) = self.quoted.get_mut(&change.instrument)
            && let Some(tick) = Price::new(change.new_tick).filter(|t| t.micros() > 0)
        {
            q.tick = tick;
            q.dirty = true;
        }
    }

    fn on_market_status(&mut self, _ctx: &mut Ctx, status: &MarketStatus) {
        if let Some(q) = self.quoted.get_mut(&status.instrument) {
            q.tradeable = status.tradeable;
            q.dirty = true;
        }
    }

    fn on_resolved(&mut self, ctx: &mut Ctx, resolution: &Resolution) {
        if let Some(q) = self.quoted.get_mut(&resolution.instrument)
            && !q.resolved
        {
            q.resolved = true;
            if q.bid.is_some() || q.ask.is_some() {
                ctx.cancel_all_in_market(q.market, "resolved");
                for side in [Side::Buy, Side::Sell] {
                    if let Some(w) = q.slot(side).take() {
                        q.cancelling.insert(w.id, (side, w.remaining));
                    }
                }
            }
        }
    }

    fn on_order_rejected(&mut self, _ctx: &mut Ctx, rejected: &OrderRejected) {
        if let Some(q) = self.owner_of(rejected.order) {
            q.forget(rejected.order);
            // A post-only quote that would cross means the book moved: try again.
            q.dirty = q.dirty || rejected.reason == RejectReason::WouldCross;
        }
    }

    fn on_order_cancelled(&mut self, _ctx: &mut Ctx, cancelled: &OrderCancelled) {
        if let Some(q) = self.owner_of(cancelled.order) {
            q.forget(cancelled.order);
            // Our own cancels were already replaced; anything else left a gap.
            q.dirty = q.dirty || cancelled.reason != CancelReason::Requested;
        }
    }

    fn on_fill(&mut self, ctx: &mut Ctx, fill: &Fill) {
        let remaining = Size::from_micros(fill.remaining);
        if let Some(q) = self.owner_of(fill.order) {
            for side in [Side::Buy, Side::Sell] {
                if let Some(w) = q.slot(side)
                    && w.id == fill.order
                {
                    w.remaining = remaining;
                }
            }
            if let Some((_, r)) = q.cancelling.get_mut(&fill.order) {
                *r = remaining;
            }
            if remaining.is_zero() {
                q.forget(fill.order);
            }
            q.dirty = true;
        }
        ctx.metric("mm_fill_size", i64::try_from(fill.size).unwrap_or(i64::MAX));
    }

    fn on_batch_end(&mut self, ctx: &mut Ctx) {
        let dirty: Vec<u32> = self
            .quoted
            .iter()
            .filter(|(_, q)| q.dirty)
            .map(|(id, _)| *id)
            .collect();
        for instrument in dirty {
            self.requote(ctx, instrument);
        }
    }

    fn snapshot_state(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.quoted.len() as u32);
        for (id, q) in &self.quoted {
            w.u32(*id)
                .u32(q.tick.micros())
                .bool(q.tradeable)
                .bool(q.resolved);
            for slot in [q.bid, q.ask] {
                w.bool(slot.is_some());
                if let Some(o) = slot {
                    w.u64(o.id).u32(o.price.micros()).u64(o.remaining.micros());
                }
            }
            w.u32(q.cancelling.len() as u32);
            for (order, (side, remaining)) in &q.cancelling {
                w.u64(*order)
                    .bool(*side == Side::Buy)
                    .u64(remaining.micros());
            }
        }
        w.finish()
    }

    fn restore_state(&mut self, _ctx: &mut Ctx, state: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(state, STATE_VERSION)?;
        let count = r.u32()?;
        for _ in 0..count {
            let id = r.u32()?;
            let tick = r.u32()?;
            let tradeable = r.bool()?;
            let resolved = r.bool()?;
            let mut slots = [None, None];
            for slot in &mut slots {
                if r.bool()? {
                    let order = r.u64()?;
                    let price = Price::new(r.u32()?).ok_or("state has a price above 1")?;
                    *slot = Some(Working {
                        id: order,
                        price,
                        remaining: Size::from_micros(r.u64()?),
                    });
                }
            }
            let n = r.u32()?;
            let mut cancelling = BTreeMap::new();
            for _ in 0..n {
                let order = r.u64()?;
                let side = if r.bool()? { Side::Buy } else { Side::Sell };
                cancelling.insert(order, (side, Size::from_micros(r.u64()?)));
            }
            // Instruments no longer configured are dropped; their orders are the
            // host's to cancel.
            if let Some(q) = self.quoted.get_mut(&id) {
                q.tick = Price::new(tick)
                    .filter(|t| t.micros() > 0)
                    .unwrap_or(q.tick);
                q.tradeable = tradeable;
                q.resolved = resolved;
                q.bid = slots[0];
                q.ask = slots[1];
                q.cancelling = cancelling;
                q.dirty = true;
            }
        }
        r.finish()
    }

    fn shutdown(&mut self, ctx: &mut Ctx) {
        let mut markets: Vec<u32> = self
            .quoted
            .values()
            .filter(|q| q.bid.is_some() || q.ask.is_some())
            .map(|q| q.market)
            .collect();
        markets.dedup();
        for market in markets {
            ctx.cancel_all_in_market(market, "shutdown");
        }
    }
}

export_strategy!(MarketMaker);

#[cfg(test)]
mod tests;
