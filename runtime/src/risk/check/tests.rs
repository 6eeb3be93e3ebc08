//! Each rule refuses exactly what it should, and nothing else.

use rust_decimal_macros::dec;

use super::*;

fn market() -> MarketView {
    MarketView {
        tick: Price::new(10_000).unwrap(),
        min_size: Size::from_shares(5).unwrap(),
        tradeable: Ok(()),
        mid: Price::new(500_000),
    }
}

fn buy(price: u32, shares_n: u64) -> Intent {
    Intent {
        side: Side::Buy,
        price: Price::new(price).unwrap(),
        size: Size::from_shares(shares_n).unwrap(),
    }
}

fn sell(price: u32, shares_n: u64) -> Intent {
    Intent {
        side: Side::Sell,
        ..buy(price, shares_n)
    }
}

fn held(n: u64) -> Exposure {
    Exposure {
        held: Size::from_shares(n).unwrap(),
        ..Exposure::default()
    }
}

fn run(
    intent: Intent,
    strategy: &Exposure,
    state: TradingState,
    limits: &RiskLimits,
) -> Result<(), Rejection> {
    let m = market();
    let global = Exposure::default();
    let none = RiskLimits::default();
    check(&RiskInput {
        intent,
        market: &m,
        strategy,
        global: &global,
        state,
        strategy_halted: false,
        limits,
        global_limits: &none,
    })
}

fn rule(r: Result<(), Rejection>) -> &'static str {
    r.err().map_or("accepted", |e| e.rule)
}

#[test]
fn trading_states() {
    let none = RiskLimits::default();
    assert_eq!(
        rule(run(buy(500_000, 10), &held(0), TradingState::Active, &none)),
        "accepted"
    );
    assert_eq!(
        rule(run(buy(500_000, 10), &held(0), TradingState::Halted, &none)),
        "trading_state"
    );
    assert_eq!(
        rule(run(
            sell(500_000, 10),
            &held(10),
            TradingState::Halted,
            &none
        )),
        "trading_state"
    );
    assert_eq!(
        rule(run(
            buy(500_000, 10),
            &held(10),
            TradingState::Reducing,
            &none
        )),
        "trading_state"
    );
    assert_eq!(
        rule(run(
            sell(500_000, 10),
            &held(10),
            TradingState::Reducing,
            &none
        )),
        "accepted"
    );
    let selling = Exposure {
        open_sells: Size::from_shares(5).unwrap(),
        ..held(10)
    };
    assert_eq!(
        rule(run(
            sell(500_000, 10),
            &selling,
            TradingState::Reducing,
            &none
        )),
        "trading_state",
        "shares already being sold do not count twice"
    );
}

#[test]
fn market_rules() {
    let none = RiskLimits::default();
    let a = TradingState::Active;
    assert_eq!(rule(run(buy(505_000, 10), &held(0), a, &none)), "price");
    assert_eq!(rule(run(buy(995_000, 10), &held(0), a, &none)), "price");
    assert_eq!(rule(run(buy(500_000, 4), &held(0), a, &none)), "min_size");
    assert_eq!(
        rule(run(sell(500_000, 11), &held(10), a, &none)),
        "insufficient_position"
    );
    let m = MarketView {
        tradeable: Err("stale".into()),
        ..market()
    };
    let e = held(0);
    let r = check(&RiskInput {
        intent: buy(500_000, 10),
        market: &m,
        strategy: &e,
        global: &e,
        state: a,
        strategy_halted: false,
        limits: &none,
        global_limits: &none,
    });
    assert_eq!(r.unwrap_err().message, "market is untradeable: stale");
}

#[test]
fn each_limit_at_its_boundary() {
    let a = TradingState::Active;
    let cases: Vec<(RiskLimits, Intent, Exposure, &str)> = vec![
        (
            RiskLimits {
                max_order_shares: Some(dec!(10)),
                ..Default::default()
            },
            buy(500_000, 10),
            held(0),
            "accepted",
        ),
        (
            RiskLimits {
                max_order_shares: Some(dec!(10)),
                ..Default::default()
            },
            buy(500_000, 11),
            held(0),
            "max_order_size",
        ),
        (
            RiskLimits {
                price_band: Some(dec!(0.05)),
                ..Default::default()
            },
            buy(550_000, 10),
            held(0),
            "accepted",
        ),
        (
            RiskLimits {
                price_band: Some(dec!(0.05)),
                ..Default::default()
            },
            buy(560_000, 10),
            held(0),
            "price_band",
        ),
        (
            RiskLimits {
                max_position_shares: Some(dec!(50)),
                ..Default::default()
            },
            buy(500_000, 10),
            held(40),
            "accepted",
        ),
        (
            RiskLimits {
                max_position_shares: Some(dec!(50)),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                open_buys: Size::from_shares(1).unwrap(),
                ..held(40)
            },
            "max_position",
        ),
        (
            RiskLimits {
                max_position_shares: Some(dec!(50)),
                ..Default::default()
            },
            sell(500_000, 10),
            held(60),
            "accepted",
        ),
        (
            RiskLimits {
                max_position_notional: Some(dec!(25)),
                ..Default::default()
            },
            buy(500_000, 10),
            held(40),
            "accepted",
        ),
        (
            RiskLimits {
                max_position_notional: Some(dec!(25)),
                ..Default::default()
            },
            buy(510_000, 10),
            held(40),
            "max_position_notional",
        ),
        (
            RiskLimits {
                max_total_exposure: Some(dec!(100)),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                total_exposure: dec!(95),
                ..held(0)
            },
            "accepted",
        ),
        (
            RiskLimits {
                max_total_exposure: Some(dec!(100)),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                total_exposure: dec!(95.01),
                ..held(0)
            },
            "max_total_exposure",
        ),
        (
            RiskLimits {
                max_open_orders: Some(3),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                open_orders: 2,
                ..held(0)
            },
            "accepted",
        ),
        (
            RiskLimits {
                max_open_orders: Some(3),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                open_orders: 3,
                ..held(0)
            },
            "max_open_orders",
        ),
        (
            RiskLimits {
                max_orders_per_minute: Some(3),
                ..Default::default()
            },
            buy(500_000, 10),
            Exposure {
                orders_last_minute: 3,
                ..held(0)
            },
            "order_rate",
        ),
    ];
    for (i, (limits, intent, exposure, want)) in cases.into_iter().enumerate() {
        assert_eq!(rule(run(intent, &exposure, a, &limits)), want, "case {i}");
    }
}

#[test]
fn global_limits_apply_across_strategies() {
    let m = market();
    let mine = held(0);
    let everyone = Exposure {
        total_exposure: dec!(999),
        ..held(0)
    };
    let global = RiskLimits {
        max_total_exposure: Some(dec!(1000)),
        ..Default::default()
    };
    let r = check(&RiskInput {
        intent: buy(500_000, 10),
        market: &m,
        strategy: &mine,
        global: &everyone,
        state: TradingState::Active,
        strategy_halted: false,
        limits: &RiskLimits::default(),
        global_limits: &global,
    });
    let e = r.unwrap_err();
    assert_eq!(e.rule, "max_total_exposure");
    assert!(e.message.starts_with("global limit"), "{}", e.message);
}

#[test]
fn daily_loss_halts_all_but_reducing_orders() {
    let limits = RiskLimits {
        max_daily_loss: Some(dec!(50)),
        ..Default::default()
    };
    assert!(!daily_loss_breached(&limits, dec!(-50)));
    assert!(daily_loss_breached(&limits, dec!(-50.01)));
    let m = market();
    let e = held(10);
    let input = |intent| RiskInput {
        intent,
        market: &m,
        strategy: &e,
        global: &e,
        state: TradingState::Active,
        strategy_halted: true,
        limits: &limits,
        global_limits: &limits,
    };
    assert_eq!(rule(check(&input(buy(500_000, 10)))), "daily_loss");
    assert_eq!(rule(check(&input(sell(500_000, 10)))), "accepted");
}
