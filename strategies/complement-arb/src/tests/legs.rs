//! Leg risk: what the strategy does when the two legs of an attempt fill unevenly.

use pqap_strategy_sdk::harness::{Harness, dec, placed, px, sz};
use pqap_strategy_sdk::types::{LogLevel, ParamValue, Side, TimeInForce};

use super::{
    ComplementArb, H, books, fee_market, fill, fill_all, open, rejected, start, start_with, status,
    unfilled,
};

fn warned(h: &H, needle: &str) -> bool {
    h.host()
        .recorded
        .logs
        .iter()
        .any(|(level, msg)| *level == LogLevel::Warn && msg.contains(needle))
}

#[test]
fn completes_the_missing_leg_when_it_still_breaks_even() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    h.accept_all();
    fill_all(&mut h, &yes);
    // The NO ask moved away, which is why its FOK died; 0.52 still leaves 0.03.
    assert!(h.book(1, &[("0.48", "100")], &[("0.52", "100")]).is_empty());
    let cmds = unfilled(&mut h, &no, no.size);
    let repair = placed(&cmds);
    assert_eq!(repair.len(), 1);
    let r = repair[0];
    assert_eq!(
        (r.instrument, r.side, r.price, r.size),
        (1, Side::Buy, px("0.52"), sz("10"))
    );
    assert_eq!(r.tif, TimeInForce::Fak);
    assert_eq!(cmds[0].reason, "complete_leg");
    assert!(fill_all(&mut h, &r).is_empty(), "balanced again");
    // The attempt is over: a new quote may open the next one.
    let next = placed(&books(
        &mut h,
        ("0.43", "0.45", "90"),
        ("0.46", "0.48", "90"),
    ));
    assert_eq!(next.len(), 2);
}

#[test]
fn unwinds_the_extra_leg_when_completing_would_lose() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    fill_all(&mut h, &yes);
    // Paying 0.60 for NO after 0.45 for YES would cost 1.05 for $1.
    h.book(1, &[("0.38", "100")], &[("0.60", "100")]);
    let cmds = rejected(&mut h, &no);
    let repair = placed(&cmds);
    assert_eq!(repair.len(), 1);
    let r = repair[0];
    assert_eq!(
        (r.instrument, r.side, r.price, r.size),
        (0, Side::Sell, px("0.43"), sz("10"))
    );
    assert_eq!(r.tif, TimeInForce::Fak);
    assert_eq!(cmds[0].reason, "unwind_leg");
    assert!(fill_all(&mut h, &r).is_empty());
    assert_eq!(h.host().position_of(0).size, 0);
}

#[test]
fn breakeven_counts_the_fees_paid_and_owed() {
    // YES: 10 at 0.45 with 0.00495 a share in fees, so NO may cost 0.54505 all-in.
    // NO at 0.54 costs 0.544968 with fees (complete); at 0.55, 0.55495 (unwind).
    for (no_ask, reason) in [("0.54", "complete_leg"), ("0.55", "unwind_leg")] {
        let mut h = Harness::<ComplementArb>::with_params(
            fee_market(20_000),
            vec![("min_edge", dec("0.01"))],
        )
        .expect("init");
        let (yes, no) = open(&mut h);
        fill(&mut h, &yes, "10", "0", 49_500);
        h.book(1, &[("0.40", "100")], &[(no_ask, "100")]);
        let cmds = unfilled(&mut h, &no, no.size);
        assert_eq!(placed(&cmds).len(), 1, "{no_ask}");
        assert_eq!(cmds[0].reason, reason, "NO ask {no_ask}");
    }
}

#[test]
fn partial_fak_fills_are_evened_out() {
    let mut h = start_with(vec![
        ("all_or_none", ParamValue::Flag(false)),
        ("max_size", dec("20")),
    ]);
    let (yes, no) = open(&mut h);
    fill_all(&mut h, &yes);
    assert!(
        fill(&mut h, &no, "12", "8", 0).is_empty(),
        "NO leg still working"
    );
    let cmds = unfilled(&mut h, &no, sz("8"));
    let repair = placed(&cmds);
    assert_eq!((repair[0].instrument, repair[0].size), (1, sz("8")));
    assert_eq!(cmds[0].reason, "complete_leg");
    // A repair that itself fills partly is followed up by another one.
    let cmds = fill(&mut h, &repair[0], "5", "3", 0);
    assert!(cmds.is_empty());
    let cmds = unfilled(&mut h, &repair[0], sz("3"));
    assert!(
        placed(&cmds).is_empty(),
        "3 shares are below the 5-share minimum"
    );
    assert!(warned(&h, "below the minimum order size"));
}

#[test]
fn gives_up_after_three_repair_orders() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    fill_all(&mut h, &yes);
    let mut last = no;
    for n in 1..=3 {
        let repair = placed(&unfilled(&mut h, &last, last.size));
        assert_eq!(repair.len(), 1, "repair {n}");
        last = repair[0];
    }
    assert!(placed(&unfilled(&mut h, &last, last.size)).is_empty());
    assert!(warned(&h, "after 3 repair orders; giving up"));
    // The market is free again for a fresh attempt.
    let next = placed(&books(
        &mut h,
        ("0.43", "0.45", "90"),
        ("0.48", "0.50", "90"),
    ));
    assert_eq!(next.len(), 2);
}

#[test]
fn repairs_wait_for_a_tradeable_market_and_a_usable_book() {
    let mut h = start();
    let (yes, no) = open(&mut h);
    fill_all(&mut h, &yes);
    h.send(vec![status(0, false)]);
    assert!(unfilled(&mut h, &no, no.size).is_empty());
    // Tradeable again, but NO is too dear and YES has no bid: nothing to do yet.
    h.book(1, &[("0.38", "100")], &[("0.60", "100")]);
    h.book(0, &[], &[("0.45", "100")]);
    assert!(h.send(vec![status(0, true)]).is_empty());
    let cmds = h.book(0, &[("0.41", "100")], &[("0.45", "100")]);
    assert_eq!(cmds[0].reason, "unwind_leg");
    assert_eq!(placed(&cmds)[0].price, px("0.41"));
}

#[test]
fn lost_order_events_time_out() {
    let mut h = start();
    open(&mut h);
    h.advance_by(30_000_000_000);
    assert!(books(&mut h, ("0.43", "0.45", "90"), ("0.48", "0.50", "90")).is_empty());
    h.advance_by(31_000_000_000);
    // Past a minute the legs count as done (unfilled): the attempt ends, and the
    // fresh quote opens the next one.
    let orders = placed(&books(
        &mut h,
        ("0.43", "0.45", "80"),
        ("0.48", "0.50", "80"),
    ));
    assert_eq!(orders.len(), 2);
    assert!(warned(&h, "treating them as done"));
}
