//! Polymarket's V2 fee schedule, the one fee function of the platform: the host
//! charges fills with it and strategies estimate their costs with it.
//!
//! A taker trading `C` shares at price `p` owes `C × rate × (p(1 − p))^exponent`
//! dollars. On a buy the venue takes that in shares (worth it at `p`: the buyer
//! receives fewer shares than matched), on a sell in dollars. Makers pay nothing
//! on `taker_only` schedules (the usual case) and receive `rebate` of the taker
//! fee; otherwise they pay like takers. Amounts are exact integers: fees owed
//! round up to the micro-unit, rebates round down, so an estimate is never
//! kinder than the venue.

use crate::units::{Price, Size};

/// A market's fee schedule (Gamma `feeSchedule` when `feesEnabled`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FeeSchedule {
    /// Fee rate in millionths (70_000 = 0.07).
    pub rate_millionths: u32,
    /// Power of `p(1 − p)`: 1 for the usual curve, 2 for the steeper one, 0 for
    /// a flat rate.
    pub exponent: u32,
    /// Only takers pay.
    pub taker_only: bool,
    /// Share of a taker's fee rebated to the maker, in millionths.
    pub rebate_millionths: u32,
}

/// Exponents the fee functions compute exactly.
pub const MAX_FEE_EXPONENT: u32 = 2;

/// What one fill costs: dollars (negative for a rebate) and shares withheld.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeCharge {
    /// Dollars paid, in micro-dollars (negative: a rebate received).
    pub dollars_micros: i64,
    /// Shares the venue kept out of a buy, in micro-shares.
    pub shares: Size,
}

/// `ceil(a × b / d)` exactly, through a 256-bit product; `None` if it does
/// not fit 128 bits or `d` is zero.
fn mul_div_ceil(a: u128, b: u128, d: u128) -> Option<u128> {
    if d == 0 {
        return None;
    }
    // 256-bit product (hi, lo) from 64-bit halves.
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let (lo_lo, hi_hi) = (a0 * b0, a1 * b1);
    let (mid1, mid2) = (a1 * b0, a0 * b1);
    let (mid, mid_carry) = mid1.overflowing_add(mid2);
    let (lo, lo_carry) = lo_lo.overflowing_add(mid << 64);
    let hi = hi_hi + (mid >> 64) + (u128::from(mid_carry) << 64) + u128::from(lo_carry);
    // Long division, one bit at a time; `d` < 2^127 keeps `rem << 1` in range.
    if d >= 1 << 127 {
        return None;
    }
    let (mut q_hi, mut q_lo, mut rem) = (0u128, 0u128, 0u128);
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        rem = (rem << 1) | bit;
        if rem >= d {
            rem -= d;
            if i >= 128 {
                q_hi |= 1 << (i - 128);
            } else {
                q_lo |= 1 << i;
            }
        }
    }
    if q_hi != 0 {
        return None;
    }
    if rem > 0 {
        q_lo.checked_add(1)
    } else {
        Some(q_lo)
    }
}

/// `size × rate × (p(1 − p))^exponent` as (numerator, denominator-in-dollars)
/// pieces: `a = size × rate`, `b = (p(1 − p))^exponent`, both in micro-units.
fn pieces(price: Price, size: Size, rate_millionths: u32, exponent: u32) -> Option<(u128, u128)> {
    let p = u128::from(price.micros());
    let q = 1_000_000u128.checked_sub(p)?;
    let a = u128::from(size.micros()) * u128::from(rate_millionths);
    let b = (p * q).checked_pow(exponent)?;
    Some((a, b))
}

/// The fee's dollar value in micro-dollars, rounded up: `size × rate ×
/// (p(1 − p))^exponent`. `None` for an exponent above [`MAX_FEE_EXPONENT`].
pub fn fee_value_micros(
    price: Price,
    size: Size,
    rate_millionths: u32,
    exponent: u32,
) -> Option<u64> {
    if exponent > MAX_FEE_EXPONENT {
        return None;
    }
    let (a, b) = pieces(price, size, rate_millionths, exponent)?;
    // a is size (µshares) × rate (millionths); b is (µ$²)^e: scale back to µ$.
    let d = 1_000_000u128 * 1_000_000_000_000u128.pow(exponent);
    mul_div_ceil(a, b, d).and_then(|v| u64::try_from(v).ok())
}

/// The shares a buyer gives up for the fee: its dollar value at `price`,
/// rounded up to the micro-share.
fn fee_shares(price: Price, size: Size, rate_millionths: u32, exponent: u32) -> Option<Size> {
    if exponent > MAX_FEE_EXPONENT || price.micros() == 0 {
        return None;
    }
    let (a, b) = pieces(price, size, rate_millionths, exponent)?;
    let d = u128::from(price.micros()) * 1_000_000_000_000u128.pow(exponent);
    mul_div_ceil(a, b, d)
        .and_then(|v| u64::try_from(v).ok())
        .map(Size::from_micros)
}

impl FeeSchedule {
    /// No fees.
    pub const FREE: FeeSchedule = FeeSchedule {
        rate_millionths: 0,
        exponent: 1,
        taker_only: true,
        rebate_millionths: 0,
    };

    /// What the venue charges the taker of a fill: shares on a buy, dollars on
    /// a sell. `None` for an exponent this function cannot compute exactly.
    pub fn taker(&self, buy: bool, price: Price, size: Size) -> Option<FeeCharge> {
        if buy {
            Some(FeeCharge {
                dollars_micros: 0,
                shares: fee_shares(price, size, self.rate_millionths, self.exponent)?,
            })
        } else {
            let v = fee_value_micros(price, size, self.rate_millionths, self.exponent)?;
            Some(FeeCharge {
                dollars_micros: i64::try_from(v).ok()?,
                shares: Size::ZERO,
            })
        }
    }

    /// What the maker of a fill pays (as a taker would, unless the schedule is
    /// taker-only) less its rebate, a share of the taker's fee paid in dollars
    /// and rounded down.
    pub fn maker(&self, buy: bool, price: Price, size: Size) -> Option<FeeCharge> {
        let mut charge = if self.taker_only {
            FeeCharge::default()
        } else {
            self.taker(buy, price, size)?
        };
        let taker_fee = fee_value_micros(price, size, self.rate_millionths, self.exponent)?;
        let rebate = u128::from(taker_fee) * u128::from(self.rebate_millionths) / 1_000_000;
        charge.dollars_micros -= i64::try_from(rebate).ok()?;
        Some(charge)
    }
}

/// Polymarket's taker fee in micro-dollars on the usual curve (exponent 1):
/// `size × rate × p × (1 − p)`, rounded up. Kept for strategies that only
/// estimate a cost; [`FeeSchedule`] says who pays what, in which asset.
pub fn taker_fee_micros(price: Price, size: Size, rate_millionths: u32) -> u64 {
    fee_value_micros(price, size, rate_millionths, 1).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn px(micros: u32) -> Price {
        Price::new(micros).unwrap()
    }

    #[test]
    fn hand_computed_charges() {
        let crypto = FeeSchedule {
            rate_millionths: 70_000,
            exponent: 1,
            taker_only: true,
            rebate_millionths: 200_000,
        };
        let hundred = Size::from_shares(100).unwrap();
        // 100 × 0.07 × 0.5 × 0.5 = $1.75; a buyer pays it as 3.5 shares.
        let buy = crypto.taker(true, px(500_000), hundred).unwrap();
        assert_eq!(
            buy,
            FeeCharge {
                dollars_micros: 0,
                shares: Size::from_micros(3_500_000)
            }
        );
        let sell = crypto.taker(false, px(500_000), hundred).unwrap();
        assert_eq!(sell.dollars_micros, 1_750_000);
        assert_eq!(sell.shares, Size::ZERO);
        // The maker pays nothing and gets 20 % of $1.75 back.
        let maker = crypto.maker(true, px(500_000), hundred).unwrap();
        assert_eq!(
            maker,
            FeeCharge {
                dollars_micros: -350_000,
                shares: Size::ZERO
            }
        );
        // Exponent 2, rate 0.25, 10 shares at 0.2: 10 × 0.25 × (0.16)² = $0.064,
        // a buyer's 0.32 shares.
        let steep = FeeSchedule {
            rate_millionths: 250_000,
            exponent: 2,
            ..crypto
        };
        assert_eq!(
            fee_value_micros(px(200_000), Size::from_shares(10).unwrap(), 250_000, 2),
            Some(64_000)
        );
        assert_eq!(
            steep
                .taker(true, px(200_000), Size::from_shares(10).unwrap())
                .unwrap()
                .shares,
            Size::from_micros(320_000)
        );
        // Not taker-only: the maker of a sell pays $1.75 less its rebate.
        let both = FeeSchedule {
            taker_only: false,
            ..crypto
        };
        assert_eq!(
            both.maker(false, px(500_000), hundred)
                .unwrap()
                .dollars_micros,
            1_400_000
        );
        // Rounding: 1 µshare at 0.5 owes 1.75e-8 $, rounded up to 1 µ$ (2 µshares).
        assert_eq!(
            fee_value_micros(px(500_000), Size::from_micros(1), 70_000, 1),
            Some(1)
        );
        assert_eq!(
            crypto
                .taker(true, px(500_000), Size::from_micros(1))
                .unwrap()
                .shares,
            Size::from_micros(1)
        );
        assert_eq!(fee_value_micros(px(500_000), hundred, 70_000, 3), None);
        assert_eq!(
            FeeSchedule::FREE.taker(true, px(300_000), hundred).unwrap(),
            FeeCharge::default()
        );
    }

    #[test]
    fn fee_curve_hand_computed() {
        // 100 shares at 0.50 with rate 0.07: 100 × 0.07 × 0.5 × 0.5 = 1.75 dollars.
        let fee = taker_fee_micros(
            Price::new(500_000).unwrap(),
            Size::from_shares(100).unwrap(),
            70_000,
        );
        assert_eq!(fee, 1_750_000);
        // 10 shares at 0.9 with rate 0.03: 10 × 0.03 × 0.9 × 0.1 = 0.027.
        let fee = taker_fee_micros(
            Price::new(900_000).unwrap(),
            Size::from_shares(10).unwrap(),
            30_000,
        );
        assert_eq!(fee, 27_000);
        // Zero-fee market.
        assert_eq!(
            taker_fee_micros(Price::new(1).unwrap(), Size::from_micros(7), 0),
            0
        );
    }

    #[test]
    fn wide_multiplication_is_exact() {
        assert_eq!(mul_div_ceil(u128::MAX, 2, 2), Some(u128::MAX));
        assert_eq!(mul_div_ceil(u128::MAX, u128::MAX, 1), None);
        assert_eq!(mul_div_ceil(10, 10, 3), Some(34));
        assert_eq!(mul_div_ceil(1 << 100, 1 << 100, 1 << 100), Some(1 << 100));
        assert_eq!(mul_div_ceil(7, 0, 5), Some(0));
        assert_eq!(mul_div_ceil(7, 3, 0), None);
    }

    proptest! {
        /// Against plain u128 arithmetic wherever that does not overflow.
        #[test]
        fn mul_div_matches_u128(a in any::<u64>(), b in any::<u64>(), d in 1u64..) {
            let exact = (u128::from(a) * u128::from(b)).div_ceil(u128::from(d));
            prop_assert_eq!(mul_div_ceil(u128::from(a), u128::from(b), u128::from(d)), Some(exact));
        }

        #[test]
        fn fee_never_exceeds_quarter_rate(micros in 0u32..=1_000_000, size in 0u64..=1_000_000_000_000, rate in 0u32..=1_000_000) {
            let fee = taker_fee_micros(Price::new(micros).unwrap(), Size::from_micros(size), rate);
            // p(1-p) ≤ 1/4, so the fee is at most size × rate / 4 (+1 for rounding up).
            let bound = (u128::from(size) * u128::from(rate) / 4_000_000) as u64 + 1;
            prop_assert!(fee <= bound);
        }

        /// The wide path equals plain u128 arithmetic where the product fits
        /// (up to 1 000 shares): the dollar fee, and a buyer's share fee worth
        /// it at the price, both rounded up.
        #[test]
        fn fees_match_plain_arithmetic(
            micros in 1u32..1_000_000,
            size in 0u64..=1_000_000_000,
            rate in 0u32..=1_000_000,
            exponent in 0u32..=2,
        ) {
            let p = u128::from(micros);
            let product = u128::from(size) * u128::from(rate) * (p * (1_000_000 - p)).pow(exponent);
            let scale = 1_000_000_000_000u128.pow(exponent);
            let dollars = product.div_ceil(1_000_000 * scale);
            let shares = product.div_ceil(p * scale);
            let s = FeeSchedule { rate_millionths: rate, exponent, taker_only: true, rebate_millionths: 0 };
            prop_assert_eq!(fee_value_micros(px(micros), Size::from_micros(size), rate, exponent), Some(dollars as u64));
            prop_assert_eq!(s.taker(true, px(micros), Size::from_micros(size)).unwrap().shares.micros(), shares as u64);
            prop_assert_eq!(s.taker(false, px(micros), Size::from_micros(size)).unwrap().dollars_micros, dollars as i64);
        }
    }
}
