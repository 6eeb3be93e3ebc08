//! Examples and properties of the price/size → makerAmount/takerAmount conversion.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::amounts::*;
use crate::model::{Price, Side, Size};

#[test]
fn reference_examples_100_at_half() {
    let t = TickSize::Hundredth;
    assert_eq!(
        limit_amounts(Side::Buy, dec!(0.50), dec!(100), t).unwrap(),
        Amounts {
            maker: 50_000_000,
            taker: 100_000_000
        }
    );
    assert_eq!(
        limit_amounts(Side::Sell, dec!(0.50), dec!(100), t).unwrap(),
        Amounts {
            maker: 100_000_000,
            taker: 50_000_000
        }
    );
    let units = limit_amounts_units(
        Side::Buy,
        Price::new(500_000).unwrap(),
        Size::from_shares(100).unwrap(),
        t,
    );
    assert_eq!(units.unwrap().maker, 50_000_000);
}

#[test]
fn size_floors_to_two_decimals() {
    let a = limit_amounts(Side::Buy, dec!(0.57), dec!(12.349), TickSize::Hundredth).unwrap();
    assert_eq!(a.taker, 12_340_000);
    assert_eq!(a.maker, 7_033_800);
    let a = limit_amounts(Side::Sell, dec!(0.0025), dec!(3.999), TickSize::QuarterCent).unwrap();
    assert_eq!((a.maker, a.taker), (3_990_000, 9_975));
}

#[test]
fn market_orders_spend_collateral_or_give_shares() {
    // $10 at 0.3 buys 33.333… shares, cut to the tick's amount precision (3 dp).
    let a = market_amounts(Side::Buy, dec!(0.3), dec!(10), TickSize::Tenth).unwrap();
    assert_eq!((a.maker, a.taker), (10_000_000, 33_333_000));
    let a = market_amounts(Side::Buy, dec!(0.07), dec!(1.009), TickSize::Hundredth).unwrap();
    // 1.00 / 0.07 = 14.285714…, 4 dp → 14.2857.
    assert_eq!((a.maker, a.taker), (1_000_000, 14_285_700));
    let a = market_amounts(Side::Sell, dec!(0.995), dec!(5.5), TickSize::HalfCent).unwrap();
    assert_eq!((a.maker, a.taker), (5_500_000, 5_472_500));
}

#[test]
fn bad_prices_and_sizes_are_named() {
    let t = TickSize::Hundredth;
    let e = limit_amounts(Side::Buy, dec!(0.505), dec!(1), t).unwrap_err();
    assert_eq!(
        e,
        AmountError::PriceOffTick {
            price: dec!(0.505),
            tick: dec!(0.01)
        }
    );
    assert!(e.to_string().contains("0.505"), "{e}");
    for p in [dec!(0), dec!(0.999), dec!(1), dec!(1.5), dec!(-0.5)] {
        let e = limit_amounts(Side::Sell, p, dec!(1), TickSize::Hundredth).unwrap_err();
        assert!(matches!(e, AmountError::PriceOutOfRange { .. }), "{p}: {e}");
    }
    assert!(limit_amounts(Side::Buy, dec!(0.99), dec!(1), t).is_ok());
    assert!(limit_amounts(Side::Buy, dec!(0.01), dec!(1), t).is_ok());
    assert!(matches!(
        limit_amounts(Side::Buy, dec!(0.5), dec!(0.009), t),
        Err(AmountError::RoundsToZero { .. })
    ));
    assert!(matches!(
        limit_amounts(Side::Buy, dec!(0.5), dec!(-3), t),
        Err(AmountError::NotPositive { .. })
    ));
    assert!(matches!(
        limit_amounts(Side::Buy, dec!(0.5), Decimal::MAX, t),
        Err(AmountError::Overflow { .. })
    ));
    assert!(matches!(
        market_amounts(Side::Buy, dec!(0.0175), dec!(1), TickSize::HalfCent),
        Err(AmountError::PriceOffTick { .. })
    ));
}

#[test]
fn tick_sizes_parse_and_carry_the_rounding_table() {
    let table = [
        ("0.1", 1, 3),
        ("0.01", 2, 4),
        ("0.001", 3, 5),
        ("0.0001", 4, 6),
        ("0.005", 3, 5),
        ("0.0025", 4, 6),
    ];
    for (text, price_dp, amount_dp) in table {
        let t: TickSize = text.parse().unwrap();
        assert_eq!(
            (t.price_dp(), t.amount_dp()),
            (price_dp, amount_dp),
            "{text}"
        );
        assert_eq!(t.to_string(), text);
    }
    assert_eq!("0.010".parse::<TickSize>().unwrap(), TickSize::Hundredth);
    assert_eq!(
        TickSize::from_price(Price::new(2_500).unwrap()).unwrap(),
        TickSize::QuarterCent
    );
    assert!(matches!(
        "0.02".parse::<TickSize>(),
        Err(AmountError::UnknownTick(_))
    ));
    assert!(matches!(
        "x".parse::<TickSize>(),
        Err(AmountError::TickText(_))
    ));
}

fn tick() -> impl Strategy<Value = TickSize> {
    proptest::sample::select(TickSize::ALL.to_vec())
}

/// A tick-aligned price in [tick, 1 - tick] and a size with up to 6 decimals.
fn limit_case() -> impl Strategy<Value = (TickSize, Decimal, Decimal, bool)> {
    (tick(), any::<u32>(), 1u64..100_000_000_000, any::<bool>()).prop_map(|(t, k, micros, buy)| {
        let step = t.as_decimal();
        let n_ticks = (Decimal::ONE / step).trunc();
        let k = Decimal::from(k) % (n_ticks - Decimal::ONE) + Decimal::ONE;
        (t, k * step, Decimal::new(micros as i64, 6), buy)
    })
}

proptest! {
    #[test]
    fn limit_orders_imply_exactly_the_price((t, price, size, buy) in limit_case()) {
        let side = if buy { Side::Buy } else { Side::Sell };
        match limit_amounts(side, price, size, t) {
            Ok(a) => {
                let (coll, shares) = if buy { (a.maker, a.taker) } else { (a.taker, a.maker) };
                // Shares are size floored to 2 dp.
                let floored = size.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
                prop_assert_eq!(Decimal::from(shares), floored * Decimal::from(1_000_000));
                prop_assert_eq!(shares % 10_000, 0);
                // Collateral / shares is the price, exactly.
                prop_assert_eq!(Decimal::from(coll), Decimal::from(shares) * price);
                // Never more collateral than price × size rounded up to the amount precision.
                let cap = (price * size)
                    .round_dp_with_strategy(t.amount_dp(), rust_decimal::RoundingStrategy::AwayFromZero)
                    * Decimal::from(1_000_000);
                prop_assert!(Decimal::from(coll) <= cap);
            }
            Err(AmountError::RoundsToZero { .. }) => prop_assert!(size < Decimal::new(1, 2)),
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }

    #[test]
    fn market_buys_never_overspend((t, price, amount, _b) in limit_case()) {
        if let Ok(a) = market_amounts(Side::Buy, price, amount, t) {
            prop_assert!(Decimal::from(a.maker) <= amount * Decimal::from(1_000_000));
            prop_assert_eq!(a.maker % 10_000, 0);
            // The shares received are worth what is spent, to the amount precision.
            let value = Decimal::from(a.taker) * price;
            let slack = Decimal::from(1_000_000) * Decimal::new(1, t.amount_dp());
            prop_assert!((value - Decimal::from(a.maker)).abs() <= slack);
        }
    }
}
