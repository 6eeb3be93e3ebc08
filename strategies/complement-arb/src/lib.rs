//! YES/NO complement arbitrage on binary markets.
//!
//! One YES plus one NO share of a binary market always pays exactly $1 at
//! resolution. When the two best asks plus their taker fees cost at most
//! $1 − `min_edge`, the strategy takes both asks at once (fill-or-kill by default)
//! and holds the pairs to resolution. A market has at most one attempt in flight.
//! If the legs fill unevenly (a leg was rejected, or FAK legs filled partially),
//! it first tries to buy the missing shares while the pair still breaks even
//! (`complete_leg`), and otherwise sells the extra shares at the bid
//! (`unwind_leg`), giving up after a few repair orders.

use std::collections::BTreeMap;

use pqap_strategy_sdk::state::{StateReader, StateWriter};
use pqap_strategy_sdk::types::{
    Fill, InitConfig, Interests, MarketStatus, OrderAccepted, OrderCancelled, OrderRejected, Quote,
    Resolution, Side, StrategyInfo, TickSizeChange,
};
use pqap_strategy_sdk::{Ctx, ParamSchema, Params, Price, Size, Strategy, export_strategy};

mod attempt;
mod edge;
mod market;
mod repair;

pub use edge::{
    ArbConfig, LegBook, Opportunity, all_in_price, completion_budget, fee_per_share,
    find_opportunity,
};

use attempt::{Attempt, Leg};
use market::{Pair, SavedPair, Token};

const STATE_VERSION: u8 = 1;

/// Repair orders one attempt may send before the imbalance is left to the operator.
const MAX_REPAIRS: u8 = 3;

/// How long our marketable orders may go without a final event before we assume
/// the event was lost (a restart from an older snapshot) and stop waiting: FOK and
/// FAK orders finish within one venue round trip, so a minute is generous.
const ORDER_TIMEOUT_NS: u64 = 60_000_000_000;

/// The strategy.
pub struct ComplementArb {
    config: ArbConfig,
    all_or_none: bool,
    /// Keyed by market id.
    pairs: BTreeMap<u32, Pair>,
    /// Instrument id → market id, for the pairs we trade.
    market_of: BTreeMap<u32, u32>,
}

impl ComplementArb {
    fn pair_of(&mut self, instrument: u32) -> Option<&mut Pair> {
        let market = self.market_of.get(&instrument)?;
        self.pairs.get_mut(market)
    }

    fn attempt_of(&mut self, order: u64) -> Option<&mut Pair> {
        self.pairs
            .values_mut()
            .find(|p| p.attempt.as_ref().is_some_and(|a| a.owns(order)))
    }

    /// The order will not trade again; `on_batch_end` acts on what that settles.
    fn order_final(&mut self, order: u64) {
        if let Some(pair) = self.attempt_of(order)
            && let Some(attempt) = pair.attempt.as_mut()
        {
            attempt.on_final(order);
        }
    }

    /// Takes both asks if they are cheap enough.
    fn try_open(config: &ArbConfig, all_or_none: bool, ctx: &mut Ctx, pair: &mut Pair) {
        let leg_book = |ctx: &Ctx, t: &Token| LegBook {
            ask: ctx.book_top(t.id).ask,
            tick: t.tick,
            min_size: t.min_size,
            fee_rate: t.fee_rate,
            held: Size::from_micros(ctx.position(t.id).size),
        };
        let yes = leg_book(ctx, &pair.yes);
        let no = leg_book(ctx, &pair.no);
        let Some(opp) = find_opportunity(config, &yes, &no) else {
            return;
        };
        let yes_order = ctx.take(
            pair.yes.id,
            Side::Buy,
            opp.yes_price,
            opp.size,
            all_or_none,
            "arb_yes",
        );
        let no_order = ctx.take(
            pair.no.id,
            Side::Buy,
            opp.no_price,
            opp.size,
            all_or_none,
            "arb_no",
        );
        pair.attempt = Some(Attempt::new(
            Leg::new(pair.yes.id, yes_order),
            Leg::new(pair.no.id, no_order),
            ctx.now(),
        ));
    }

    /// Advances one market after a batch: finish or repair its attempt, or open one.
    fn step(config: &ArbConfig, all_or_none: bool, ctx: &mut Ctx, pair: &mut Pair) {
        let dirty = std::mem::take(&mut pair.dirty);
        if pair.resolved {
            return;
        }
        if let Some(attempt) = pair.attempt.as_mut() {
            if !attempt.settled() {
                let now = ctx.now();
                if now.saturating_sub(attempt.last_order_at) < ORDER_TIMEOUT_NS {
                    return;
                }
                let lost = attempt.unsettled_orders();
                ctx.warn(&format!(
                    "market {}: no final event for orders {lost:?}; treating them as done",
                    pair.market
                ));
                attempt.force_settle();
            }
            if attempt.imbalance().is_some() {
                repair::repair(ctx, pair);
                return;
            }
            pair.attempt = None;
        }
        if dirty && pair.tradeable() {
            Self::try_open(config, all_or_none, ctx, pair);
        }
    }
}

impl Strategy for ComplementArb {
    fn describe() -> StrategyInfo {
        StrategyInfo {
            name: "complement_arb".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Buys YES and NO of a binary market together when both asks plus \
                          taker fees cost at most $1 minus an edge; repairs uneven legs."
                .to_string(),
            params: ParamSchema::new()
                .decimal(
                    "min_edge",
                    "0.01",
                    "least profit per YES+NO pair after taker fees (dollars)",
                )
                .decimal("max_size", "10", "most pairs bought per attempt (shares)")
                .decimal("max_position", "100", "most shares held per outcome token")
                .flag(
                    "all_or_none",
                    true,
                    "send both legs fill-or-kill instead of fill-and-kill",
                )
                .build(),
            interests: Interests::QUOTES,
        }
    }

    fn init(_ctx: &mut Ctx, config: &InitConfig, params: &Params) -> Result<Self, String> {
        let min_edge = params.price("min_edge")?;
        if min_edge == Price::ONE {
            return Err("parameter `min_edge` must be below 1".to_string());
        }
        let arb = ArbConfig {
            min_edge,
            max_size: params.size("max_size")?,
            max_position: params.size("max_position")?,
        };
        if arb.max_size.is_zero() {
            return Err("parameter `max_size` must be positive".to_string());
        }
        if arb.max_position.is_zero() {
            return Err("parameter `max_position` must be positive".to_string());
        }
        let pairs = market::pairs_from(&config.instruments)?;
        let market_of = pairs
            .values()
            .flat_map(|p| [(p.yes.id, p.market), (p.no.id, p.market)])
            .collect();
        Ok(ComplementArb {
            config: arb,
            all_or_none: params.flag("all_or_none")?,
            pairs,
            market_of,
        })
    }

    fn on_quote(&mut self, _ctx: &mut Ctx, quote: &Quote) {
        if let Some(pair) = self.pair_of(quote.instrument) {
            pair.dirty = true;
        }
    }

    fn on_tick_size(&mut self, _ctx: &mut Ctx, change: &TickSizeChange) {
        if let Some(pair) = self.pair_of(change.instrument)
            && let Some(tick) = Price::new(change.new_tick).filter(|t| t.micros() > 0)
            && let Some(token) = pair.token_mut(change.instrument)
        {
            token.tick = tick;
            pair.dirty = true;
        }
    }

    fn on_market_status(&mut self, _ctx: &mut Ctx, status: &MarketStatus) {
        if let Some(pair) = self.pair_of(status.instrument)
            && let Some(token) = pair.token_mut(status.instrument)
        {
            token.tradeable = status.tradeable;
            // Becoming tradeable again may reveal an opportunity the quotes showed.
            pair.dirty = true;
        }
    }

    fn on_resolved(&mut self, ctx: &mut Ctx, resolution: &Resolution) {
        if let Some(pair) = self.pair_of(resolution.instrument)
            && !pair.resolved
        {
            pair.resolved = true;
            // Shares settle at their payout now; there is no leg left to repair.
            if let Some(attempt) = pair.attempt.take()
                && let Some((_, excess)) = attempt.imbalance()
            {
                let market = pair.market;
                ctx.warn(&format!(
                    "market {market} resolved with {excess} unpaired shares of an attempt"
                ));
            }
        }
    }

    fn on_order_accepted(&mut self, _ctx: &mut Ctx, accepted: &OrderAccepted) {
        if let Some(pair) = self.attempt_of(accepted.order)
            && let Some(attempt) = pair.attempt.as_mut()
        {
            attempt.on_accepted(accepted.order);
        }
    }

    fn on_order_rejected(&mut self, _ctx: &mut Ctx, rejected: &OrderRejected) {
        self.order_final(rejected.order);
    }

    fn on_order_cancelled(&mut self, _ctx: &mut Ctx, cancelled: &OrderCancelled) {
        self.order_final(cancelled.order);
    }

    fn on_fill(&mut self, _ctx: &mut Ctx, fill: &Fill) {
        if let Some(pair) = self.attempt_of(fill.order)
            && let Some(attempt) = pair.attempt.as_mut()
        {
            attempt.on_fill(fill);
        }
    }

    fn on_batch_end(&mut self, ctx: &mut Ctx) {
        let (config, all_or_none) = (self.config, self.all_or_none);
        for pair in self.pairs.values_mut() {
            if pair.dirty || pair.attempt.is_some() {
                Self::step(&config, all_or_none, ctx, pair);
            }
        }
    }

    fn snapshot_state(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        // At most one pair per market id, so the count fits the id's u32.
        w.u32(self.pairs.len() as u32);
        for pair in self.pairs.values() {
            pair.write(&mut w);
        }
        w.finish()
    }

    fn restore_state(&mut self, ctx: &mut Ctx, state: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(state, STATE_VERSION)?;
        let count = r.u32()?;
        // Parse everything before touching `self`, so bad bytes change nothing.
        let mut saved = Vec::new();
        for _ in 0..count {
            saved.push(SavedPair::read(&mut r)?);
        }
        r.finish()?;
        for entry in saved {
            match self.pairs.get_mut(&entry.market) {
                Some(pair) => pair.restore(ctx, entry),
                None if entry.attempt.is_some() => {
                    let market = entry.market;
                    ctx.warn(&format!(
                        "dropping the attempt on unconfigured market {market}"
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }
}

export_strategy!(ComplementArb);

#[cfg(test)]
mod tests;
