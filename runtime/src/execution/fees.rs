//! Polymarket's fee curve in exact decimals: takers pay `size × rate × p × (1 − p)`;
//! makers pay nothing and receive a share of the taker fee as a rebate.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::money::{price_dollars, shares};
use crate::model::{Price, Size};

/// Fees are charged to the micro-dollar, half away from zero.
fn round(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}

/// The taker's fee in dollars.
pub fn taker_fee(price: Price, size: Size, rate: Decimal) -> Decimal {
    let p = price_dollars(price);
    round(shares(size) * rate * p * (Decimal::ONE - p))
}

/// The maker's fee in dollars: a rebate (negative) of `share` of the taker fee
/// that the matching taker paid.
pub fn maker_fee(price: Price, size: Size, rate: Decimal, rebate_share: Decimal) -> Decimal {
    -round(taker_fee(price, size, rate) * rebate_share)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn hand_computed() {
        let half = Price::new(500_000).unwrap();
        let hundred = Size::from_shares(100).unwrap();
        assert_eq!(taker_fee(half, hundred, dec!(0.07)), dec!(1.75));
        assert_eq!(maker_fee(half, hundred, dec!(0.07), dec!(0.2)), dec!(-0.35));
        // 7 shares at 0.13, rate 0.03: 7 × 0.03 × 0.13 × 0.87 = 0.023751
        assert_eq!(
            taker_fee(
                Price::new(130_000).unwrap(),
                Size::from_shares(7).unwrap(),
                dec!(0.03)
            ),
            dec!(0.023751)
        );
        // Rounded to the micro-dollar: 1 micro-share at 0.5 → 0.0000000175 → 0.
        assert_eq!(
            taker_fee(half, Size::from_micros(1), dec!(0.07)),
            Decimal::ZERO
        );
        assert_eq!(taker_fee(half, hundred, Decimal::ZERO), Decimal::ZERO);
    }
}
