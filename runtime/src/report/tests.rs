//! Hand-computed examples for the journal-derived numbers: the run summary's
//! activity figures, attribution, and the stale-fill analysis.
//!
//! The journal: strategy 1 trades market M1 (tokens 1/2) and M2 (tokens 3/4).
//! - t=0    buy 10 of token 1 @ 0.40, maker, rebate 0.01 ("entry p=0.6")
//! - t=100  sell 10 of token 1 @ 0.50, taker, fee 0.02 ("exit")
//! - t=200  buy 5 of token 3 @ 0.30, maker, no fee ("entry")
//! - t=400  token 3 settles at $1
//! - t=450  buy 2 of token 1 @ 0.45, taker, no fee ("entry"), still held
//! - t=500  a mark (the end of the run)

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::{analyses, attribute, summarize};
use crate::data::update::{FeedUpdate, Source};
use crate::model::{
    ConditionId, Fill, Liquidity, MarketEvent, Order, OrderEvent, OrderKey, Price, Side, Size,
    TimeInForce, TokenId,
};
use crate::store::{CommandAction, Entry, Stored};
use crate::venue::MarketSpec;

const S: i64 = 1_000_000_000;

fn token(n: &str) -> TokenId {
    TokenId::parse(n).unwrap()
}

fn condition(c: char) -> ConditionId {
    ConditionId::parse(&format!("0x{}", c.to_string().repeat(64))).unwrap()
}

fn at(seq: &mut i64, ts_s: i64, entry: Entry) -> Stored {
    *seq += 1;
    Stored {
        seq: *seq,
        ts_ns: ts_s * S,
        strategy: Some(1),
        entry,
        hash: String::new(),
    }
}

/// Command, submission and a complete fill of one order.
#[allow(clippy::too_many_arguments)]
fn trade(
    out: &mut Vec<Stored>,
    seq: &mut i64,
    ts_s: i64,
    id: u64,
    tok: &str,
    side: Side,
    price: u32,
    shares: u64,
    fee: Decimal,
    liquidity: Liquidity,
    reason: &str,
) {
    let key = OrderKey {
        strategy: 1,
        client_id: id,
    };
    let order = Order {
        key,
        token: token(tok),
        side,
        price: Price::new(price).unwrap(),
        size: Size::from_micros(shares * 1_000_000),
        tif: TimeInForce::Gtc,
        post_only: false,
        created_ns: (ts_s * S) as u64,
        venue_ref: None,
    };
    out.push(at(
        seq,
        ts_s,
        Entry::Command {
            strategy: 1,
            reason: reason.into(),
            cause: None,
            command: CommandAction::Place {
                order: order.clone(),
            },
        },
    ));
    out.push(at(seq, ts_s, Entry::OrderSubmitted { order }));
    out.push(at(
        seq,
        ts_s,
        Entry::Order {
            event: OrderEvent::Filled(Fill {
                key,
                token: token(tok),
                side,
                price: Price::new(price).unwrap(),
                size: Size::from_micros(shares * 1_000_000),
                fee,
                fee_shares: crate::model::Size::ZERO,
                liquidity,
                remaining: Size::ZERO,
                ts_ns: (ts_s * S) as u64,
                trade_id: Some(format!("trade-{id}")),
                cause: crate::model::FillCause::Reported,
            }),
        },
    ));
}

fn journal() -> Vec<Stored> {
    let (mut e, mut seq) = (Vec::new(), 0);
    use Liquidity::{Maker, Taker};
    trade(
        &mut e,
        &mut seq,
        0,
        1,
        "1",
        Side::Buy,
        400_000,
        10,
        dec!(-0.01),
        Maker,
        "entry p=0.6",
    );
    trade(
        &mut e,
        &mut seq,
        100,
        2,
        "1",
        Side::Sell,
        500_000,
        10,
        dec!(0.02),
        Taker,
        "exit",
    );
    trade(
        &mut e,
        &mut seq,
        200,
        3,
        "3",
        Side::Buy,
        300_000,
        5,
        dec!(0),
        Maker,
        "entry",
    );
    e.push(at(
        &mut seq,
        400,
        Entry::Settlement {
            token: token("3"),
            payout_micros: 1_000_000,
        },
    ));
    trade(
        &mut e,
        &mut seq,
        450,
        4,
        "1",
        Side::Buy,
        450_000,
        2,
        dec!(0),
        Taker,
        "entry",
    );
    e.push(at(
        &mut seq,
        500,
        Entry::Mark {
            strategy: 1,
            equity: dec!(0),
            cash: dec!(0),
            realized: dec!(0),
            unrealized: dec!(0),
            unrealized_at_bid: dec!(0),
        },
    ));
    e
}

fn names() -> BTreeMap<TokenId, (String, String)> {
    [
        ("1", "M1", "Yes"),
        ("2", "M1", "No"),
        ("3", "M2", "Yes"),
        ("4", "M2", "No"),
    ]
    .into_iter()
    .map(|(t, m, o)| (token(t), (m.to_string(), o.to_string())))
    .collect()
}

#[test]
fn activity_figures_by_hand() {
    let s = summarize(&journal(), 1, None);
    assert_eq!((s.orders, s.fills, s.maker_fills), (4, 4, 2));
    assert_eq!(s.maker_share, Some(0.5));
    // 10 × 0.40 + 10 × 0.50 + 5 × 0.30 + 2 × 0.45.
    assert_eq!(s.turnover, dec!(11.4));
    assert_eq!(s.volume_shares, dec!(27));
    assert_eq!(s.fees, dec!(0.01));
    // Closed early: +0.01 rebate, then 5.00 − 4.00 − 0.02; at resolution 5 − 1.5.
    assert_eq!(s.realized_closed, dec!(0.99));
    assert_eq!(s.realized_resolution, dec!(3.5));
    // Held 0–100 s and 200–400 s, and from 450 s to the end at 500 s: 350 of 500 s.
    assert_eq!(s.time_in_market, Some(0.7));
    // Round trips of 100 s and 200 s; the position opened at 450 s is still open.
    assert_eq!(s.round_trips, 2);
    assert_eq!(s.average_holding_s, Some(150.0));
    // The two closing events are the trades.
    assert_eq!(s.metrics.trades, 2);
    assert_eq!(s.metrics.best_trade, Some(dec!(3.5)));
    assert_eq!(s.metrics.worst_trade, Some(dec!(0.98)));
}

#[test]
fn attribution_by_hand_adds_up() {
    let final_mid = |t: &TokenId| (t == &token("1")).then(|| Price::new(500_000).unwrap());
    let a = attribute(&journal(), 1, &names(), &final_mid);
    let m1 = &a.by_market["M1"];
    assert_eq!((m1.orders, m1.fills), (3, 3));
    assert_eq!(m1.turnover, dec!(9.9));
    assert_eq!(m1.fees, dec!(0.01));
    assert_eq!(m1.realized, dec!(0.99));
    // 2 shares bought at 0.45, marked at 0.50.
    assert_eq!(m1.unrealized, dec!(0.1));
    let m2 = &a.by_market["M2"];
    assert_eq!((m2.orders, m2.fills, m2.realized), (1, 1, dec!(3.5)));
    // The forecast is not part of the tag: both buys group under "entry".
    let entry = &a.by_reason["entry"];
    assert_eq!((entry.orders, entry.fills), (3, 3));
    assert_eq!(entry.turnover, dec!(6.4));
    assert_eq!(entry.realized, dec!(0.01));
    assert_eq!(a.by_reason["exit"].realized, dec!(0.98));
    assert_eq!(a.by_reason["resolution"].realized, dec!(3.5));
    let by_market: Decimal = a.by_market.values().map(|s| s.realized).sum();
    let by_reason: Decimal = a.by_reason.values().map(|s| s.realized).sum();
    assert_eq!(by_market, dec!(4.49));
    assert_eq!(by_reason, dec!(4.49));
}

/// The journal with the exit (order 2's sell) ending FAILED at t=460: the
/// fill booked at t=100 is reversed.
fn journal_with_failed_exit() -> Vec<Stored> {
    let mut e = journal();
    let exit = e
        .iter()
        .find_map(|s| match &s.entry {
            Entry::Order {
                event: OrderEvent::Filled(f),
            } if f.key.client_id == 2 => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    let mark = e.pop().unwrap();
    let mut seq = e.len() as i64;
    let reversal = Entry::Order {
        event: OrderEvent::FillReversed {
            key: exit.key,
            trade_id: "trade-2".into(),
            fill: Some(exit),
            remaining: Size::ZERO,
            ts_ns: (460 * S) as u64,
        },
    };
    // Told twice (the user channel and a reconciliation): undone once.
    e.push(at(&mut seq, 460, reversal.clone()));
    e.push(at(&mut seq, 461, reversal));
    e.push(Stored {
        seq: seq + 1,
        ..mark
    });
    e
}

#[test]
fn a_reversed_fill_leaves_the_summary_and_the_attribution() {
    let s = summarize(&journal_with_failed_exit(), 1, None);
    // The exit's 10 @ 0.50 (taker, fee 0.02) is gone from every figure.
    assert_eq!((s.orders, s.fills, s.maker_fills), (4, 3, 2));
    assert_eq!(s.turnover, dec!(6.4));
    assert_eq!(s.volume_shares, dec!(17));
    assert_eq!(s.fees, dec!(-0.01));
    // Only the rebate stays realised before resolution.
    assert_eq!(s.realized_closed, dec!(0.01));
    assert_eq!(s.realized_resolution, dec!(3.5));
    // The exit's trade was undone whole: the resolution is the only trade.
    assert_eq!(s.metrics.trades, 1);
    assert_eq!(s.metrics.worst_trade, Some(dec!(3.5)));

    let final_mid = |t: &TokenId| (t == &token("1")).then(|| Price::new(500_000).unwrap());
    let a = attribute(&journal_with_failed_exit(), 1, &names(), &final_mid);
    let m1 = &a.by_market["M1"];
    assert_eq!((m1.orders, m1.fills), (3, 2));
    assert_eq!(m1.turnover, dec!(4.9));
    assert_eq!(m1.realized, dec!(0.01));
    let exit = &a.by_reason["exit"];
    assert_eq!((exit.orders, exit.fills), (1, 0));
    assert_eq!(exit.realized, dec!(0));
    assert_eq!(exit.turnover, dec!(0));
    let by_market: Decimal = a.by_market.values().map(|s| s.realized).sum();
    let by_reason: Decimal = a.by_reason.values().map(|s| s.realized).sum();
    assert_eq!(by_market, s.realized_closed + s.realized_resolution);
    assert_eq!(by_reason, by_market);
}

#[test]
fn stale_fills_by_hand() {
    let spec = |c: char, yes: &str, no: &str| MarketSpec {
        slug: String::new(),
        condition: condition(c),
        question: c.to_string(),
        tokens: [(token(yes), "Yes".into()), (token(no), "No".into())],
        tick: Price::new(10_000).unwrap(),
        min_size: Size::from_micros(5_000_000),
        neg_risk: false,
        fees: crate::execution::fees::FeeSchedule::FREE,
    };
    let markets = [spec('a', "1", "2"), spec('b', "3", "4")];
    let change = |ms: u64, c: char| FeedUpdate {
        received_ms: ms,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events: vec![MarketEvent::PriceChange {
            market: condition(c),
            ts_ms: ms,
            changes: Vec::new(),
        }],
        errors: Vec::new(),
    };
    // M1 changes at 0 s and 90 s; M2 only at 0 s.
    let updates = [change(0, 'a'), change(0, 'b'), change(90_000, 'a')];
    let journal = journal();
    let s = summarize(&journal, 1, None);
    let a = attribute(&journal, 1, &names(), &|_| None);
    let mut stale = analyses::StaleFills::new(1, &markets);
    journal.iter().for_each(|e| stale.on_entry(e));
    updates.iter().for_each(|u| stale.on_update(u));
    let r = analyses::analyse(&s, &a, stale.finish(), 0);
    // Fills at 0 s (gap 0), 100 s (10 s), 200 s on M2 (200 s) are fresh; the one
    // at 450 s is 360 s after M1 last changed.
    assert_eq!(r.stale_fills, 1);
    let f = r
        .findings
        .iter()
        .find(|f| f.check == "stale_fills")
        .unwrap();
    assert!(!f.passed);
    assert_eq!(
        f.message,
        "1 of 4 fills against a book unchanged for ≥ 300 s"
    );
}
