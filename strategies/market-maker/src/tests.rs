//! Behaviour of the market maker driven through the native harness.

use pqap_strategy_sdk::harness::{Harness, binary_market, cancelled_ids, dec, placed, px, sz};
use pqap_strategy_sdk::types::{
    Action, EventKind, MarketStatus, OrderRejected, RejectReason, Resolution, Side,
};

use super::MarketMaker;

fn start() -> Harness<MarketMaker> {
    Harness::new(binary_market(0, 0, 1).to_vec()).expect("init")
}

#[test]
fn quotes_only_the_first_outcome_and_bids_when_flat() {
    let mut h = start();
    let cmds = h.book(0, &[("0.45", "100")], &[("0.55", "100")]);
    let orders = placed(&cmds);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].side, Side::Buy);
    assert_eq!(orders[0].price, px("0.48"));
    assert_eq!(orders[0].size, sz("10"));
    assert!(orders[0].post_only);
    assert_eq!(cmds[0].reason, "quote_bid");
    assert!(cmds[0].cause.is_some(), "commands name their cause");
    // The NO token's book does not make it quote.
    let cmds = h.book(1, &[("0.45", "100")], &[("0.55", "100")]);
    assert!(cmds.is_empty());
}

#[test]
fn fill_adds_inventory_and_skews_quotes() {
    let mut h = start();
    let first = placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    h.accept_all();
    let cmds = h.fill(first[0].id, sz("10"));
    assert_eq!(h.host().position_of(0).size, sz("10"));
    let orders = placed(&cmds);
    let bid = orders.iter().find(|o| o.side == Side::Buy).unwrap();
    let ask = orders.iter().find(|o| o.side == Side::Sell).unwrap();
    assert_eq!(bid.price, px("0.47"));
    assert_eq!(ask.price, px("0.52"));
    assert_eq!(ask.size, sz("10"));
    assert!(
        cancelled_ids(&cmds).is_empty(),
        "the filled bid is gone already"
    );
}

#[test]
fn requotes_only_when_the_price_moves_a_tick() {
    let mut h = start();
    let first = placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    h.accept_all();
    // Size change at the top does not move the mid: no new commands.
    assert!(h.change(0, Side::Buy, "0.45", "50").is_empty());
    // The mid moves up by 0.01: cancel and replace.
    let cmds = h.book(0, &[("0.46", "100")], &[("0.56", "100")]);
    assert_eq!(cancelled_ids(&cmds), vec![first[0].id]);
    assert_eq!(placed(&cmds)[0].price, px("0.49"));
    assert_eq!(cmds[0].reason, "requote");
}

#[test]
fn stops_bidding_at_max_inventory() {
    let mut h = Harness::<MarketMaker>::with_params(
        binary_market(0, 0, 1).to_vec(),
        vec![("max_inventory", dec("10")), ("quote_size", dec("10"))],
    )
    .unwrap();
    let first = placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    h.accept_all();
    let cmds = h.fill(first[0].id, sz("10"));
    let orders = placed(&cmds);
    assert!(orders.iter().all(|o| o.side == Side::Sell), "{orders:?}");
}

#[test]
fn pulls_quotes_when_untradeable_and_after_resolution() {
    let mut h = start();
    let first = placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    h.accept_all();
    let cmds = h.send(vec![EventKind::MarketStatus(MarketStatus {
        instrument: 0,
        tradeable: false,
        reason: "stale".into(),
    })]);
    assert_eq!(cancelled_ids(&cmds), vec![first[0].id]);
    assert_eq!(cmds[0].reason, "untradeable");
    h.confirm_cancels();
    let cmds = h.send(vec![EventKind::MarketStatus(MarketStatus {
        instrument: 0,
        tradeable: true,
        reason: String::new(),
    })]);
    assert_eq!(placed(&cmds).len(), 1, "quotes again once tradeable");
    h.accept_all();
    let cmds = h.send(vec![EventKind::Resolved(Resolution {
        instrument: 0,
        payout: 1_000_000,
    })]);
    assert!(matches!(cmds[0].action, Action::CancelAllInMarket(0)));
    let cmds = h.book(0, &[("0.45", "100")], &[("0.55", "100")]);
    assert!(cmds.is_empty(), "no quoting after resolution");
}

#[test]
fn post_only_rejection_retries_next_batch() {
    let mut h = start();
    let first = placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    let cmds = h.send(vec![EventKind::OrderRejected(OrderRejected {
        order: first[0].id,
        reason: RejectReason::WouldCross,
        message: "crossed".into(),
    })]);
    assert_eq!(placed(&cmds).len(), 1);
}

#[test]
fn snapshot_restore_keeps_working_quotes() {
    let mut h = start();
    placed(&h.book(0, &[("0.45", "100")], &[("0.55", "100")]));
    h.accept_all();
    let state = h.snapshot_state();

    let mut restored = start();
    restored.restore_state(&state).unwrap();
    // Same book, same wanted quote: a restored instance must not double-quote.
    let cmds = restored.book(0, &[("0.45", "100")], &[("0.55", "100")]);
    assert!(placed(&cmds).is_empty(), "{cmds:?}");
    assert!(restored.restore_state(&state[..3]).is_err());
}

#[test]
fn shutdown_cancels_its_markets() {
    let mut h = start();
    h.book(0, &[("0.45", "100")], &[("0.55", "100")]);
    let cmds = h.shutdown();
    assert!(matches!(cmds[0].action, Action::CancelAllInMarket(0)));
}

#[test]
fn rejects_bad_parameters_by_name() {
    let err = Harness::<MarketMaker>::with_params(
        binary_market(0, 0, 1).to_vec(),
        vec![(
            "requote_ticks",
            pqap_strategy_sdk::types::ParamValue::Integer(0),
        )],
    )
    .err()
    .unwrap();
    assert!(err.contains("requote_ticks"), "{err}");
}
