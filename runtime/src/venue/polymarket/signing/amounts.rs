//! Price and size to the order's makerAmount/takerAmount (6-decimal integers), with the CLOB's rounding per tick size.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::money::{price_dollars, shares};
use crate::model::{Price, Side, Size};

/// Shares are quoted to two decimals for every tick size.
pub const SIZE_DP: u32 = 2;
/// Collateral and outcome tokens both have 6 decimals on chain.
const UNIT_DP: u32 = 6;

/// The tick sizes the CLOB uses, each with its rounding precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSize {
    Tenth,
    Hundredth,
    Thousandth,
    TenThousandth,
    HalfCent,
    QuarterCent,
}

impl TickSize {
    pub const ALL: [TickSize; 6] = [
        TickSize::Tenth,
        TickSize::Hundredth,
        TickSize::Thousandth,
        TickSize::TenThousandth,
        TickSize::HalfCent,
        TickSize::QuarterCent,
    ];

    pub fn as_decimal(self) -> Decimal {
        match self {
            TickSize::Tenth => Decimal::new(1, 1),
            TickSize::Hundredth => Decimal::new(1, 2),
            TickSize::Thousandth => Decimal::new(1, 3),
            TickSize::TenThousandth => Decimal::new(1, 4),
            TickSize::HalfCent => Decimal::new(5, 3),
            TickSize::QuarterCent => Decimal::new(25, 4),
        }
    }

    /// Decimals of a price on this tick.
    pub const fn price_dp(self) -> u32 {
        match self {
            TickSize::Tenth => 1,
            TickSize::Hundredth => 2,
            TickSize::Thousandth | TickSize::HalfCent => 3,
            TickSize::TenThousandth | TickSize::QuarterCent => 4,
        }
    }

    /// Most decimals a collateral notional may carry: price decimals + size decimals.
    pub const fn amount_dp(self) -> u32 {
        self.price_dp() + SIZE_DP
    }

    pub fn from_decimal(tick: Decimal) -> Result<TickSize, AmountError> {
        TickSize::ALL
            .into_iter()
            .find(|t| t.as_decimal() == tick)
            .ok_or(AmountError::UnknownTick(tick))
    }

    /// The tick as the platform's micro-dollar price (market metadata arrives that way).
    pub fn from_price(tick: Price) -> Result<TickSize, AmountError> {
        TickSize::from_decimal(price_dollars(tick))
    }
}

impl FromStr for TickSize {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<TickSize, AmountError> {
        let d = Decimal::from_str(s.trim())
            .map_err(|_| AmountError::TickText(s.chars().take(40).collect()))?;
        TickSize::from_decimal(d)
    }
}

impl fmt::Display for TickSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_decimal())
    }
}

/// What an order gives and receives, in 6-decimal units: collateral for the BUY maker
/// and SELL taker, shares otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub maker: u64,
    pub taker: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("tick size {0} is not one of 0.1, 0.01, 0.001, 0.0001, 0.005, 0.0025")]
    UnknownTick(Decimal),
    #[error("tick size `{0}` is not a decimal number")]
    TickText(String),
    #[error("price {price} is not a multiple of the tick size {tick}")]
    PriceOffTick { price: Decimal, tick: Decimal },
    #[error("price {price} is outside [{tick}, 1 - {tick}]")]
    PriceOutOfRange { price: Decimal, tick: Decimal },
    #[error("{what} {value} is not positive")]
    NotPositive { what: &'static str, value: Decimal },
    #[error("{what} {value} rounds down to zero at two decimals")]
    RoundsToZero { what: &'static str, value: Decimal },
    #[error("{what} {value} does not fit 6-decimal u64 units")]
    Overflow { what: &'static str, value: Decimal },
}

fn check_price(price: Decimal, tick: TickSize) -> Result<(), AmountError> {
    let t = tick.as_decimal();
    if price < t || price > Decimal::ONE - t {
        return Err(AmountError::PriceOutOfRange { price, tick: t });
    }
    if !(price % t).is_zero() {
        return Err(AmountError::PriceOffTick { price, tick: t });
    }
    Ok(())
}

/// `value` floored to two decimals, refusing what is not positive before or after.
fn floor_size(what: &'static str, value: Decimal) -> Result<Decimal, AmountError> {
    if value <= Decimal::ZERO {
        return Err(AmountError::NotPositive { what, value });
    }
    let floored = value.round_dp_with_strategy(SIZE_DP, RoundingStrategy::ToZero);
    if floored.is_zero() {
        return Err(AmountError::RoundsToZero { what, value });
    }
    Ok(floored)
}

/// The CLOB's precision fix-up for a derived amount: values that only exceed `dp`
/// decimals by representation noise (…9999 past dp + 4) round up; the rest truncate.
fn fit_amount(x: Decimal, dp: u32) -> Decimal {
    if x.normalize().scale() <= dp {
        return x;
    }
    let up = x.round_dp_with_strategy(dp + 4, RoundingStrategy::AwayFromZero);
    if up.normalize().scale() > dp {
        up.round_dp_with_strategy(dp, RoundingStrategy::ToZero)
    } else {
        up
    }
}

fn units(what: &'static str, x: Decimal) -> Result<u64, AmountError> {
    // Every amount has at most 6 decimals here, so the product is an integer.
    x.checked_mul(Decimal::from(10u64.pow(UNIT_DP)))
        .map(|m| m.round())
        .and_then(|m| m.to_u64())
        .ok_or(AmountError::Overflow { what, value: x })
}

fn product(what: &'static str, a: Decimal, b: Decimal) -> Result<Decimal, AmountError> {
    a.checked_mul(b)
        .ok_or(AmountError::Overflow { what, value: a })
}

/// A limit order of `size` shares at `price` (dollars per share).
pub fn limit_amounts(
    side: Side,
    price: Decimal,
    size: Decimal,
    tick: TickSize,
) -> Result<Amounts, AmountError> {
    check_price(price, tick)?;
    let shares = floor_size("size", size)?;
    let collateral = fit_amount(product("size", shares, price)?, tick.amount_dp());
    let (shares, collateral) = (units("size", shares)?, units("notional", collateral)?);
    Ok(match side {
        Side::Buy => Amounts {
            maker: collateral,
            taker: shares,
        },
        Side::Sell => Amounts {
            maker: shares,
            taker: collateral,
        },
    })
}

/// [`limit_amounts`] from the platform's micro-unit price and size.
pub fn limit_amounts_units(
    side: Side,
    price: Price,
    size: Size,
    tick: TickSize,
) -> Result<Amounts, AmountError> {
    limit_amounts(side, price_dollars(price), shares(size), tick)
}

/// A market order at worst price `price`: a BUY spends `amount` dollars of collateral,
/// a SELL gives `amount` shares.
pub fn market_amounts(
    side: Side,
    price: Decimal,
    amount: Decimal,
    tick: TickSize,
) -> Result<Amounts, AmountError> {
    check_price(price, tick)?;
    match side {
        Side::Buy => {
            let spend = floor_size("collateral amount", amount)?;
            let shares = spend
                .checked_div(price)
                .ok_or(AmountError::Overflow {
                    what: "collateral amount",
                    value: amount,
                })
                .map(|s| fit_amount(s, tick.amount_dp()))?;
            Ok(Amounts {
                maker: units("collateral amount", spend)?,
                taker: units("shares", shares)?,
            })
        }
        Side::Sell => {
            let shares = floor_size("share amount", amount)?;
            let collateral = fit_amount(product("share amount", shares, price)?, tick.amount_dp());
            Ok(Amounts {
                maker: units("share amount", shares)?,
                taker: units("notional", collateral)?,
            })
        }
    }
}
