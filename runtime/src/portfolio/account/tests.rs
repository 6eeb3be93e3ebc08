//! Account arithmetic on hand-computed examples and a conservation property.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::model::{Liquidity, OrderKey};

fn token(n: u32) -> TokenId {
    TokenId::parse(&(1000 + n).to_string()).unwrap()
}

fn fill(t: u32, side: Side, price: u32, shares: u64, fee: Decimal) -> Fill {
    Fill {
        key: OrderKey {
            strategy: 1,
            client_id: 1,
        },
        token: token(t),
        side,
        price: Price::new(price).unwrap(),
        size: Size::from_shares(shares).unwrap(),
        fee,
        fee_shares: Size::ZERO,
        liquidity: Liquidity::Taker,
        remaining: Size::ZERO,
        ts_ns: 0,
        trade_id: None,
        cause: crate::model::FillCause::Reported,
    }
}

#[test]
fn buy_sell_realises_against_average_cost_after_fees() {
    let mut a = Account::default();
    a.apply_fill(&fill(0, Side::Buy, 400_000, 100, dec!(0.5)))
        .unwrap();
    a.apply_fill(&fill(0, Side::Buy, 500_000, 100, dec!(0.5)))
        .unwrap();
    assert_eq!(a.holding(&token(0)).avg_price(), dec!(0.45));
    assert_eq!(a.cash, dec!(-91));
    a.apply_fill(&fill(0, Side::Sell, 600_000, 50, dec!(0.25)))
        .unwrap();
    // 50 × (0.60 − 0.45) − 0.25 fee − 1.00 earlier fees = 6.25
    assert_eq!(a.realized_closed, dec!(6.25));
    assert_eq!(a.holding(&token(0)).cost, dec!(67.5));
    assert_eq!(a.fees, dec!(1.25));
    let err = a
        .apply_fill(&fill(0, Side::Sell, 600_000, 151, Decimal::ZERO))
        .unwrap_err();
    assert!(err.to_string().contains("151"), "{err}");
}

#[test]
fn resolution_pays_one_or_zero() {
    let mut a = Account::default();
    a.apply_fill(&fill(0, Side::Buy, 300_000, 10, Decimal::ZERO))
        .unwrap();
    a.apply_fill(&fill(1, Side::Buy, 600_000, 10, Decimal::ZERO))
        .unwrap();
    a.settle(&token(0), Price::ONE);
    a.settle(&token(1), Price::ZERO);
    assert_eq!(a.realized_resolution, dec!(7) - dec!(6));
    assert_eq!(a.cash, dec!(1));
    assert!(a.holdings.is_empty());
    assert_eq!(a.realized_closed, Decimal::ZERO);
}

#[test]
fn complementary_pairs_merge_to_a_dollar() {
    let mut a = Account::default();
    a.apply_fill(&fill(0, Side::Buy, 470_000, 10, Decimal::ZERO))
        .unwrap();
    a.apply_fill(&fill(1, Side::Buy, 510_000, 6, Decimal::ZERO))
        .unwrap();
    assert_eq!(
        a.mergeable(&token(0), &token(1)),
        Size::from_shares(6).unwrap()
    );
    let merged = a.merge(&token(0), &token(1), Size::from_shares(100).unwrap());
    assert_eq!(merged, Size::from_shares(6).unwrap());
    // 6 × (1 − 0.47 − 0.51) = 0.12
    assert_eq!(a.realized_closed, dec!(0.12));
    assert_eq!(a.holding(&token(0)).size, Size::from_shares(4).unwrap());
    assert!(!a.holdings.contains_key(&token(1)));
}

#[test]
fn marks_value_and_unrealised() {
    let mut a = Account::default();
    a.apply_fill(&fill(0, Side::Buy, 400_000, 10, Decimal::ZERO))
        .unwrap();
    let mark = |_: &TokenId| Price::new(450_000);
    assert_eq!(a.unrealized(&mark), dec!(0.5));
    assert_eq!(a.equity(&mark), dec!(0.5));
    assert_eq!(a.unrealized(&|_| None), Decimal::ZERO);
}

proptest! {
    #[test]
    fn cash_plus_cost_equals_realised(ops in proptest::collection::vec(
        (0u32..3, any::<bool>(), 1u32..=999_999, 1u64..50, 0i64..100_000),
        1..100,
    )) {
        let mut a = Account::default();
        for (t, buy, price, shares_n, fee) in ops {
            let side = if buy { Side::Buy } else { Side::Sell };
            let f = fill(t, side, price, shares_n, Decimal::new(fee, 6));
            let _ = a.apply_fill(&f);
            let cost: Decimal = a.holdings.values().map(|h| h.cost).sum();
            prop_assert_eq!(a.cash + cost, a.realized());
            prop_assert!(a.holdings.values().all(|h| !h.size.is_zero() && h.cost >= Decimal::ZERO));
        }
        a.settle(&token(0), Price::ONE);
        let cost: Decimal = a.holdings.values().map(|h| h.cost).sum();
        prop_assert_eq!(a.cash + cost, a.realized());
    }
}

#[test]
fn realised_pnl_is_kept_per_token_after_the_position_is_gone() {
    let mut a = Account::default();
    a.apply_fill(&fill(1, Side::Buy, 400_000, 10, Decimal::ZERO))
        .unwrap();
    a.apply_fill(&fill(1, Side::Sell, 500_000, 4, dec!(0.01)))
        .unwrap();
    a.apply_fill(&fill(2, Side::Buy, 300_000, 5, Decimal::ZERO))
        .unwrap();
    // 4 sold at .50 against .40 cost, less a cent of fee.
    assert_eq!(a.realized_by_token[&token(1)], dec!(0.39));
    a.settle(&token(1), Price::ZERO);
    a.settle(&token(2), Price::ONE);
    // The 6 left of token 1 expire worthless; token 2 pays $5 for $1.50.
    assert_eq!(a.realized_by_token[&token(1)], dec!(0.39) - dec!(2.4));
    assert_eq!(a.realized_by_token[&token(2)], dec!(3.5));
    assert_eq!(
        a.realized_by_token.values().copied().sum::<Decimal>(),
        a.realized()
    );
}
