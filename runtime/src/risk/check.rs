//! The pre-trade check: every order a strategy asks for is judged against the
//! global trading state, market state and rules, and per-strategy and global
//! limits. A refusal names the rule and the numbers that broke it.

use rust_decimal::Decimal;
use serde::Serialize;

use super::limits::{RiskLimits, TradingState};
use crate::model::money::{dollars, notional, shares};
use crate::model::{Price, Side, Size};

/// The order being judged.
#[derive(Debug, Clone, Copy)]
pub struct Intent {
    pub side: Side,
    pub price: Price,
    pub size: Size,
}

/// What the host knows about the order's market.
#[derive(Debug, Clone)]
pub struct MarketView {
    pub tick: Price,
    pub min_size: Size,
    /// `Err(reason)` while the market is untradeable (stale, crossed, closed...).
    pub tradeable: Result<(), String>,
    pub mid: Option<Price>,
}

/// One strategy's (or, for the global view, everyone's) exposure right now.
#[derive(Debug, Clone, Default)]
pub struct Exposure {
    /// Shares of this token held.
    pub held: Size,
    /// Open buy and sell size on this token.
    pub open_buys: Size,
    pub open_sells: Size,
    /// Cost of everything held plus notional of all open buys, dollars.
    pub total_exposure: Decimal,
    pub open_orders: u32,
    pub orders_last_minute: u32,
}

/// Everything a check needs.
#[derive(Debug, Clone)]
pub struct RiskInput<'a> {
    pub intent: Intent,
    pub market: &'a MarketView,
    pub strategy: &'a Exposure,
    pub global: &'a Exposure,
    pub state: TradingState,
    /// The strategy hit its daily loss limit.
    pub strategy_halted: bool,
    pub limits: &'a RiskLimits,
    pub global_limits: &'a RiskLimits,
}

/// A refusal: which rule, and why in words with the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Rejection {
    pub rule: &'static str,
    pub message: String,
}

fn reject(rule: &'static str, message: String) -> Result<(), Rejection> {
    Err(Rejection { rule, message })
}

/// Whether the order only reduces a position (a sell of shares held and not
/// already being sold).
pub fn reduces(input: &RiskInput) -> bool {
    let s = input.strategy;
    input.intent.side == Side::Sell && input.intent.size <= s.held.saturating_sub(s.open_sells)
}

fn over(limit: Option<Decimal>, value: Decimal) -> Option<Decimal> {
    limit.filter(|l| value > *l)
}

/// Judges one order.
pub fn check(input: &RiskInput) -> Result<(), Rejection> {
    let i = input.intent;
    let reducing = reduces(input);
    match input.state {
        TradingState::Halted => {
            return reject("trading_state", "trading is halted".into());
        }
        TradingState::Reducing if !reducing => {
            return reject(
                "trading_state",
                "trading is reducing-only and this order adds risk".into(),
            );
        }
        _ => {}
    }
    if input.strategy_halted && !reducing {
        return reject(
            "daily_loss",
            "the strategy hit its daily loss limit; only reducing orders pass".into(),
        );
    }
    if let Err(reason) = &input.market.tradeable {
        return reject(
            "market_untradeable",
            format!("market is untradeable: {reason}"),
        );
    }
    let tick = input.market.tick;
    if !i.price.is_valid_order_price(tick) {
        return reject(
            "price",
            format!(
                "price {} is off the {} tick or outside [{}, {}]",
                i.price,
                tick,
                tick,
                tick.complement()
            ),
        );
    }
    if i.size < input.market.min_size || i.size.is_zero() {
        return reject(
            "min_size",
            format!(
                "size {} is below the market minimum {}",
                i.size, input.market.min_size
            ),
        );
    }
    let s = input.strategy;
    if i.side == Side::Sell && !reducing {
        return reject(
            "insufficient_position",
            format!(
                "selling {} needs that many shares free; held {}, already being sold {}",
                i.size, s.held, s.open_sells
            ),
        );
    }
    let size = shares(i.size);
    for (scope, limits) in [("strategy", input.limits), ("global", input.global_limits)] {
        if let Some(max) = over(limits.max_order_shares, size) {
            return reject(
                "max_order_size",
                format!("{scope} limit: {size} shares per order > {max}"),
            );
        }
    }
    if let (Some(band), Some(mid)) = (input.limits.price_band, input.market.mid) {
        let distance =
            (dollars(i64::from(i.price.micros())) - dollars(i64::from(mid.micros()))).abs();
        if distance > band {
            return reject(
                "price_band",
                format!(
                    "price {} is {distance} from the mid {mid}, more than {band}",
                    i.price
                ),
            );
        }
    }
    if i.side == Side::Buy {
        for (scope, limits, e) in [
            ("strategy", input.limits, input.strategy),
            ("global", input.global_limits, input.global),
        ] {
            let after = e
                .held
                .checked_add(e.open_buys)
                .and_then(|x| x.checked_add(i.size));
            let after = after.unwrap_or(Size::from_micros(u64::MAX));
            if let Some(max) = over(limits.max_position_shares, shares(after)) {
                return reject(
                    "max_position",
                    format!(
                        "{scope} limit: {} shares held or bid after this order > {max}",
                        shares(after)
                    ),
                );
            }
            let value = notional(i.price, after);
            if let Some(max) = over(limits.max_position_notional, value) {
                return reject(
                    "max_position_notional",
                    format!("{scope} limit: ${value} in this market after this order > ${max}"),
                );
            }
            let exposure = e.total_exposure + notional(i.price, i.size);
            if let Some(max) = over(limits.max_total_exposure, exposure) {
                return reject(
                    "max_total_exposure",
                    format!("{scope} limit: ${exposure} total exposure after this order > ${max}"),
                );
            }
        }
    }
    for (scope, limits, e) in [
        ("strategy", input.limits, input.strategy),
        ("global", input.global_limits, input.global),
    ] {
        if let Some(max) = limits.max_open_orders
            && e.open_orders >= max
        {
            return reject(
                "max_open_orders",
                format!(
                    "{scope} limit: {} open orders already (max {max})",
                    e.open_orders
                ),
            );
        }
        if let Some(max) = limits.max_orders_per_minute
            && e.orders_last_minute >= max
        {
            return reject(
                "order_rate",
                format!(
                    "{scope} limit: {} orders in the last minute already (max {max})",
                    e.orders_last_minute
                ),
            );
        }
    }
    Ok(())
}

/// Whether a strategy's loss today (realised plus unrealised at the mid) breaks
/// its daily limit.
pub fn daily_loss_breached(limits: &RiskLimits, pnl_today: Decimal) -> bool {
    limits.max_daily_loss.is_some_and(|max| -pnl_today > max)
}

#[cfg(test)]
mod tests;
