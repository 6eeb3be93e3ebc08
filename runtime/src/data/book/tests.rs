//! Order-book maintenance: hand cases and properties against a reference model.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn px(m: u32) -> Price {
    Price::new(m).unwrap()
}

fn lvl(p: u32, s: u64) -> BookLevel {
    BookLevel {
        price: px(p),
        size: Size::from_micros(s),
    }
}

#[test]
fn best_levels_do_not_depend_on_array_order() {
    // Polymarket lists the best level last; other sources list it first.
    let bids = [lvl(90_000, 5), lvl(100_000, 125)];
    let asks = [lvl(150_000, 10), lvl(140_000, 705)];
    let mut a = OrderBook::new();
    a.apply_snapshot(&bids, &asks, 1, None, None);
    let mut rev_bids = bids;
    rev_bids.reverse();
    let mut rev_asks = asks;
    rev_asks.reverse();
    let mut b = OrderBook::new();
    b.apply_snapshot(&rev_bids, &rev_asks, 1, None, None);
    assert_eq!(a, b);
    assert_eq!(a.best_bid(), Some(lvl(100_000, 125)));
    assert_eq!(a.best_ask(), Some(lvl(140_000, 705)));
    assert_eq!(a.mid(), Some(px(120_000)));
}

#[test]
fn changes_set_totals_and_zero_removes() {
    let mut b = OrderBook::new();
    assert_eq!(
        b.apply_change(Side::Buy, px(500_000), Size::from_micros(1), 1),
        Applied::Ignored,
        "no snapshot yet"
    );
    b.apply_snapshot(&[lvl(500_000, 10)], &[lvl(520_000, 10)], 1, None, None);
    assert_eq!(
        b.apply_change(Side::Buy, px(500_000), Size::from_micros(10), 2),
        Applied::Unchanged
    );
    assert_eq!(
        b.apply_change(Side::Buy, px(510_000), Size::from_micros(3), 3),
        Applied::Changed
    );
    assert_eq!(b.best_bid(), Some(lvl(510_000, 3)));
    b.apply_change(Side::Buy, px(510_000), Size::ZERO, 4);
    assert_eq!(b.best_bid(), Some(lvl(500_000, 10)));
    b.apply_change(Side::Sell, px(500_000), Size::from_micros(1), 5);
    assert!(b.is_locked() && !b.is_crossed());
    b.apply_change(Side::Sell, px(490_000), Size::from_micros(1), 6);
    assert!(b.is_crossed());
}

#[test]
fn tick_size_change_starts_a_new_epoch() {
    let mut b = OrderBook::new();
    b.apply_snapshot(
        &[lvl(960_000, 10)],
        &[lvl(970_000, 10)],
        1,
        Some(px(10_000)),
        None,
    );
    b.on_tick_size(px(1_000));
    assert_eq!((b.epoch(), b.state()), (1, BookState::AwaitingSnapshot));
    assert_eq!(b.best_bid(), None);
    assert_eq!(
        b.apply_change(Side::Buy, px(961_000), Size::from_micros(1), 2),
        Applied::Ignored
    );
    b.apply_snapshot(&[lvl(961_000, 10)], &[lvl(962_000, 10)], 3, None, None);
    assert_eq!(
        b.tick(),
        Some(px(1_000)),
        "a snapshot without a tick keeps the new tick"
    );
    assert_eq!(b.state(), BookState::Live);
}

#[test]
fn complement_mirrors_sides() {
    let mut b = OrderBook::new();
    b.apply_snapshot(&[lvl(450_000, 7)], &[lvl(470_000, 9)], 1, None, None);
    let c = b.complement();
    assert_eq!(c.best_bid(), Some(lvl(530_000, 9)));
    assert_eq!(c.best_ask(), Some(lvl(550_000, 7)));
    assert_eq!(c.complement().levels(), b.levels());
}

#[derive(Debug, Clone)]
enum Op {
    Change(bool, u32, u64),
    Snapshot(Vec<(u32, u64)>, Vec<(u32, u64)>),
}

fn op() -> impl Strategy<Value = Op> {
    let level = (1u32..=999, 0u64..5).prop_map(|(p, s)| (p * 1_000, s * 1_000_000));
    prop_oneof![
        8 => (any::<bool>(), 1u32..=999, 0u64..5)
            .prop_map(|(b, p, s)| Op::Change(b, p * 1_000, s * 1_000_000)),
        1 => (proptest::collection::vec(level.clone(), 0..8), proptest::collection::vec(level, 0..8))
            .prop_map(|(b, a)| Op::Snapshot(b, a)),
    ]
}

proptest! {
    #[test]
    fn book_matches_a_reference_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut book = OrderBook::new();
        let mut model: Option<(BTreeMap<u32, u64>, BTreeMap<u32, u64>)> = None;
        for (t, op) in ops.into_iter().enumerate() {
            match op {
                Op::Snapshot(bids, asks) => {
                    let to_levels = |v: &[(u32, u64)]| v.iter().map(|(p, s)| lvl(*p, *s)).collect::<Vec<_>>();
                    book.apply_snapshot(&to_levels(&bids), &to_levels(&asks), t as u64, None, None);
                    let keep = |v: Vec<(u32, u64)>| v.into_iter().filter(|(_, s)| *s > 0).collect::<BTreeMap<_, _>>();
                    model = Some((keep(bids), keep(asks)));
                }
                Op::Change(is_bid, p, s) => {
                    let side = if is_bid { Side::Buy } else { Side::Sell };
                    book.apply_change(side, px(p), Size::from_micros(s), t as u64);
                    if let Some((bids, asks)) = model.as_mut() {
                        let m = if is_bid { bids } else { asks };
                        if s == 0 { m.remove(&p); } else { m.insert(p, s); }
                    }
                }
            }
            let Some((bids, asks)) = &model else {
                prop_assert_eq!(book.best_bid(), None);
                continue;
            };
            prop_assert_eq!(book.best_bid().map(|l| l.price.micros()), bids.keys().next_back().copied());
            prop_assert_eq!(book.best_ask().map(|l| l.price.micros()), asks.keys().next().copied());
            prop_assert_eq!(book.level_count(Side::Buy), bids.len());
            prop_assert_eq!(book.level_count(Side::Sell), asks.len());
            let depth: Vec<u32> = book.depth(Side::Buy, 3).iter().map(|l| l.price.micros()).collect();
            let expect: Vec<u32> = bids.keys().rev().take(3).copied().collect();
            prop_assert_eq!(depth, expect);
        }
    }
}
