//! Behaviour of the complement arbitrage driven through the native harness: when it
//! opens an attempt, its limits, market status and state; leg repair is in `legs`.

use pqap_strategy_sdk::harness::{Harness, binary_market, dec, placed, px, sz};
use pqap_strategy_sdk::types::{
    BookSnapshot, CancelReason, Command, EventKind, Fill, InstrumentInfo, Level, Liquidity,
    MarketStatus, OrderCancelled, OrderRejected, OrderRequest, ParamValue, RejectReason,
    Resolution, Side, TimeInForce,
};

use super::ComplementArb;

mod legs;

type H = Harness<ComplementArb>;

fn start() -> H {
    Harness::new(binary_market(0, 0, 1).to_vec()).expect("init")
}

fn start_with(params: Vec<(&str, ParamValue)>) -> H {
    Harness::with_params(binary_market(0, 0, 1).to_vec(), params).expect("init")
}

/// A binary market whose tokens charge taker fees at `rate` millionths.
fn fee_market(rate: u32) -> Vec<InstrumentInfo> {
    binary_market(0, 0, 1)
        .into_iter()
        .map(|i| InstrumentInfo {
            taker_fee_rate: rate,
            ..i
        })
        .collect()
}

fn snapshot(instrument: u32, bid: &str, ask: &str, ask_size: &str) -> EventKind {
    EventKind::BookSnapshot(BookSnapshot {
        instrument,
        bids: vec![Level {
            price: px(bid),
            size: sz("100"),
        }],
        asks: vec![Level {
            price: px(ask),
            size: sz(ask_size),
        }],
    })
}

/// Both books in one batch, each as `(bid, ask, ask size)`.
fn books(h: &mut H, yes: (&str, &str, &str), no: (&str, &str, &str)) -> Vec<Command> {
    h.send(vec![
        snapshot(0, yes.0, yes.1, yes.2),
        snapshot(1, no.0, no.1, no.2),
    ])
}

/// YES 0.43/0.45 and NO 0.48/0.50: 0.95 for a pair, an edge of 0.05 without fees.
fn open(h: &mut H) -> (OrderRequest, OrderRequest) {
    let orders = placed(&books(h, ("0.43", "0.45", "100"), ("0.48", "0.50", "100")));
    assert_eq!(orders.len(), 2, "{orders:?}");
    (orders[0], orders[1])
}

/// A taker fill of `size` at the order's price leaving `remaining` open.
fn fill(h: &mut H, o: &OrderRequest, size: &str, remaining: &str, fee: i64) -> Vec<Command> {
    h.send(vec![EventKind::Fill(Fill {
        order: o.id,
        instrument: o.instrument,
        side: o.side,
        price: o.price,
        size: sz(size),
        fee,
        liquidity: Liquidity::Taker,
        remaining: sz(remaining),
    })])
}

fn fill_all(h: &mut H, o: &OrderRequest) -> Vec<Command> {
    h.send(vec![EventKind::Fill(Fill {
        order: o.id,
        instrument: o.instrument,
        side: o.side,
        price: o.price,
        size: o.size,
        fee: 0,
        liquidity: Liquidity::Taker,
        remaining: 0,
    })])
}

/// The venue killed what was left of a FOK/FAK order.
fn unfilled(h: &mut H, o: &OrderRequest, left: u64) -> Vec<Command> {
    h.send(vec![EventKind::OrderCancelled(OrderCancelled {
        order: o.id,
        reason: CancelReason::Unfilled,
        unfilled: left,
    })])
}

fn rejected(h: &mut H, o: &OrderRequest) -> Vec<Command> {
    h.send(vec![EventKind::OrderRejected(OrderRejected {
        order: o.id,
        reason: RejectReason::Risk,
        message: "position limit".into(),
    })])
}

fn status(instrument: u32, tradeable: bool) -> EventKind {
    EventKind::MarketStatus(MarketStatus {
        instrument,
        tradeable,
        reason: if tradeable { "" } else { "stale" }.into(),
    })
}

#[test]
fn buys_both_legs_when_the_pair_costs_less_than_one_minus_edge() {
    let mut h = start();
    // One side alone is no opportunity.
    assert!(h.book(0, &[("0.43", "100")], &[("0.45", "100")]).is_empty());
    let cmds = h.book(1, &[("0.48", "100")], &[("0.50", "100")]);
    let orders = placed(&cmds);
    assert_eq!(orders.len(), 2);
    for (o, instrument, price) in [(orders[0], 0, "0.45"), (orders[1], 1, "0.50")] {
        assert_eq!(o.instrument, instrument);
        assert_eq!((o.side, o.price, o.size), (Side::Buy, px(price), sz("10")));
        assert_eq!(o.tif, TimeInForce::Fok);
        assert!(!o.post_only);
    }
    assert_eq!(cmds[0].reason, "arb_yes");
    assert_eq!(cmds[1].reason, "arb_no");
    assert!(cmds.iter().all(|c| c.cause.is_some()));
}

#[test]
fn fak_legs_when_not_all_or_none() {
    let mut h = start_with(vec![("all_or_none", ParamValue::Flag(false))]);
    let (yes, no) = open(&mut h);
    assert_eq!((yes.tif, no.tif), (TimeInForce::Fak, TimeInForce::Fak));
}

#[test]
fn trades_at_the_threshold_after_fees_and_not_above() {
    // Fees at 0.02: 0.45 + 0.50 + 0.00495 + 0.005 = 0.95995, an edge of 0.04005.
    let try_edge = |edge: &str| {
        let mut h = Harness::<ComplementArb>::with_params(
            fee_market(20_000),
            vec![("min_edge", dec(edge))],
        )
        .expect("init");
        placed(&books(
            &mut h,
            ("0.43", "0.45", "100"),
            ("0.48", "0.50", "100"),
        ))
        .len()
    };
    assert_eq!(try_edge("0.04"), 2);
    assert_eq!(try_edge("0.04005"), 2, "exactly min_edge is enough");
    assert_eq!(try_edge("0.040051"), 0);
    assert_eq!(try_edge("0.05"), 0, "the fees eat what 0.05 would need");
    // Without fees: 0.99 is exactly 1 − 0.01; 1.00 is not below anything.
    let mut h = start();
    assert!(books(&mut h, ("0.48", "0.50", "100"), ("0.48", "0.50", "100")).is_empty());
    assert!(books(&mut h, ("0.48", "0.51", "100"), ("0.48", "0.50", "100")).is_empty());
    assert_eq!(
        placed(&books(
            &mut h,
            ("0.47", "0.49", "100"),
            ("0.48", "0.50", "100")
        ))
        .len(),
        2
    );
}

#[test]
fn size_respects_max_size_depth_and_min_size() {
    let mut h = start_with(vec![("max_size", dec("20"))]);
    let (yes, no) = open(&mut h);
    assert_eq!((yes.size, no.size), (sz("20"), sz("20")));

    let mut h = start();
    let orders = placed(&books(
        &mut h,
        ("0.43", "0.45", "7.5"),
        ("0.48", "0.50", "100"),
    ));
    assert_eq!(
        orders.iter().map(|o| o.size).collect::<Vec<_>>(),
        vec![sz("7.5"); 2]
    );

    let mut h = start();
    // 4 shares at the top is below the market's 5-share minimum.
    assert!(books(&mut h, ("0.43", "0.45", "100"), ("0.48", "0.50", "4")).is_empty());
}

#[test]
fn size_respects_max_position_per_leg() {
    let mut h = start_with(vec![("max_position", dec("15"))]);
    let (yes, no) = open(&mut h);
    assert_eq!(yes.size, sz("10"));
    fill_all(&mut h, &yes);
    fill_all(&mut h, &no);
    let orders = placed(&books(
        &mut h,
        ("0.43", "0.45", "90"),
        ("0.48", "0.50", "90"),
    ));
    assert_eq!(
        orders.iter().map(|o| o.size).collect::<Vec<_>>(),
        vec![sz("5"); 2]
    );
    fill_all(&mut h, &orders[0]);
    fill_all(&mut h, &orders[1]);
    assert_eq!(h.host().position_of(0).size, sz("15"));
    assert!(books(&mut h, ("0.43", "0.45", "80"), ("0.48", "0.50", "80")).is_empty());
}

#[test]
fn no_second_attempt_while_one_is_in_flight() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    h.accept_all();
    // An even better price does not start another attempt.
    assert!(books(&mut h, ("0.38", "0.40", "100"), ("0.48", "0.50", "100")).is_empty());
    assert!(fill_all(&mut h, &yes).is_empty());
    assert!(
        fill_all(&mut h, &no).is_empty(),
        "balanced: nothing to repair"
    );
    // Done: the next quote may start a new one.
    let orders = placed(&books(
        &mut h,
        ("0.38", "0.40", "90"),
        ("0.48", "0.50", "90"),
    ));
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].price, px("0.40"));
}

#[test]
fn stops_on_untradeable_and_resolved_markets() {
    let mut h = start();
    h.send(vec![status(1, false)]);
    assert!(books(&mut h, ("0.43", "0.45", "100"), ("0.48", "0.50", "100")).is_empty());
    // Tradeable again: the standing opportunity is taken without a new quote.
    let orders = placed(&h.send(vec![status(1, true)]));
    assert_eq!(orders.len(), 2);
    fill_all(&mut h, &orders[0]);
    fill_all(&mut h, &orders[1]);
    h.send(vec![EventKind::Resolved(Resolution {
        instrument: 0,
        payout: 1_000_000,
    })]);
    assert!(books(&mut h, ("0.38", "0.40", "90"), ("0.48", "0.50", "90")).is_empty());
}

#[test]
fn snapshot_restore_carries_the_attempt_in_flight() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    h.accept_all();
    fill_all(&mut h, &yes);
    let state = h.snapshot_state();

    let mut restored = start();
    restored.restore_state(&state).expect("restore");
    assert_eq!(restored.snapshot_state(), state);
    // Still in flight after the restart: no new attempt ...
    assert!(
        books(
            &mut restored,
            ("0.43", "0.45", "100"),
            ("0.48", "0.50", "100")
        )
        .is_empty()
    );
    // ... and the NO leg's end is matched to it, so the YES shares get their pair.
    let cmds = unfilled(&mut restored, &no, no.size);
    let repair = placed(&cmds);
    assert_eq!(repair.len(), 1);
    assert_eq!((repair[0].instrument, repair[0].size), (1, sz("10")));
    assert_eq!(cmds[0].reason, "complete_leg");
}

#[test]
fn restore_rejects_damaged_state() {
    let mut h = start();
    let (yes, _) = open(&mut h);
    fill(&mut h, &yes, "4", "6", 0);
    let state = h.snapshot_state();
    for len in 0..state.len() {
        assert!(
            start().restore_state(&state[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
    let mut longer = state.clone();
    longer.push(0);
    assert!(start().restore_state(&longer).is_err());
    let mut other_version = state;
    other_version[0] = 9;
    assert!(start().restore_state(&other_version).is_err());
}

#[test]
fn rejects_bad_parameters_by_name() {
    let err = |params: Vec<(&str, ParamValue)>| {
        Harness::<ComplementArb>::with_params(binary_market(0, 0, 1).to_vec(), params)
            .err()
            .expect("refused")
    };
    assert!(err(vec![("max_size", dec("0"))]).contains("`max_size`"));
    assert!(err(vec![("max_position", dec("0"))]).contains("`max_position`"));
    assert!(err(vec![("min_edge", dec("1"))]).contains("`min_edge`"));
    assert!(err(vec![("min_edge", dec("1.5"))]).contains("`min_edge`"));
    assert!(err(vec![("min_edge", dec("0.0000001"))]).contains("`min_edge`"));
    assert!(err(vec![("all_or_none", ParamValue::Integer(1))]).contains("`all_or_none`"));
    assert!(err(vec![("edge", dec("0.01"))]).contains("`edge`"));
}

#[test]
fn needs_a_complementary_pair() {
    let lone: Vec<InstrumentInfo> = binary_market(0, 0, 1)
        .into_iter()
        .map(|i| InstrumentInfo {
            complement: None,
            ..i
        })
        .collect();
    let err = Harness::<ComplementArb>::new(lone).err().expect("refused");
    assert!(err.contains("complementary"), "{err}");
    // Two markets trade independently.
    let mut two = binary_market(0, 0, 1).to_vec();
    two.extend(binary_market(7, 2, 3));
    let mut h = Harness::<ComplementArb>::new(two).expect("init");
    open(&mut h);
    let orders = placed(&h.send(vec![
        snapshot(2, "0.43", "0.45", "100"),
        snapshot(3, "0.48", "0.50", "100"),
    ]));
    assert_eq!(
        orders.iter().map(|o| o.instrument).collect::<Vec<_>>(),
        vec![2, 3]
    );
}
