//! The venue's fees, charged to a fill: the schedule and its arithmetic are the
//! SDK's ([`pqap_strategy_sdk::FeeSchedule`]), so the host charges exactly what
//! a strategy estimates; this turns its integer micro-units into the dollars and
//! shares of a [`crate::model::Fill`].

use rust_decimal::Decimal;

pub use pqap_strategy_sdk::FeeSchedule;

use crate::model::{Liquidity, Price, Side, Size};

/// A fill's fee: dollars (negative for a rebate) and shares kept out of a buy.
/// A schedule the SDK cannot compute (an exponent above 2) charges nothing; such
/// schedules are refused when markets are read.
pub fn charge(
    schedule: &FeeSchedule,
    liquidity: Liquidity,
    side: Side,
    price: Price,
    size: Size,
) -> (Decimal, Size) {
    let buy = side == Side::Buy;
    let c = match liquidity {
        Liquidity::Taker => schedule.taker(buy, price, size),
        Liquidity::Maker => schedule.maker(buy, price, size),
    }
    .unwrap_or_default();
    (Decimal::new(c.dollars_micros, 6), c.shares)
}

/// A decimal rate or share (0.07, 0.2) in millionths, exactly; `None` when it
/// has more than six decimals or is outside [0, 1].
pub fn millionths(d: Decimal) -> Option<u32> {
    if d < Decimal::ZERO || d > Decimal::ONE {
        return None;
    }
    let m = d * Decimal::from(1_000_000);
    if !m.fract().is_zero() {
        return None;
    }
    rust_decimal::prelude::ToPrimitive::to_u32(&m)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn hand_computed() {
        let crypto = FeeSchedule {
            rate_millionths: 70_000,
            exponent: 1,
            taker_only: true,
            rebate_millionths: 200_000,
        };
        let half = Price::new(500_000).unwrap();
        let hundred = Size::from_shares(100).unwrap();
        // Selling: $1.75 in dollars. Buying: 3.5 shares kept.
        assert_eq!(
            charge(&crypto, Liquidity::Taker, Side::Sell, half, hundred),
            (dec!(1.75), Size::ZERO)
        );
        assert_eq!(
            charge(&crypto, Liquidity::Taker, Side::Buy, half, hundred),
            (Decimal::ZERO, Size::from_micros(3_500_000))
        );
        // The maker's rebate: 20 % of $1.75, in dollars, either side.
        assert_eq!(
            charge(&crypto, Liquidity::Maker, Side::Buy, half, hundred),
            (dec!(-0.35), Size::ZERO)
        );
        assert_eq!(millionths(dec!(0.07)), Some(70_000));
        assert_eq!(millionths(dec!(0.0175)), Some(17_500));
        assert_eq!(millionths(dec!(1)), Some(1_000_000));
        assert_eq!(millionths(dec!(0.0000001)), None);
        assert_eq!(millionths(dec!(1.5)), None);
    }
}
