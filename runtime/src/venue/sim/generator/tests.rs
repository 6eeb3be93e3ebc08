//! The generator's sessions are deterministic, valid, and reproduce its own books
//! when replayed through the client-side book logic.

use super::*;
use crate::data::books::{BookOutput, Books};
use crate::model::{BookLevel, Price, Size};

fn session(seed: u64, steps: u64) -> (Generator, Vec<MarketEvent>) {
    let mut g = Generator::new(
        GeneratorConfig {
            seed,
            markets: 4,
            jump_ppm: 100_000,
            resolve_after: Some(steps),
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let mut events: Vec<MarketEvent> = g.tokens().iter().filter_map(|t| g.book(t)).collect();
    for _ in 0..steps {
        events.extend(g.step());
    }
    (g, events)
}

#[test]
fn same_seed_same_session() {
    assert_eq!(session(3, 300).1, session(3, 300).1);
    assert_ne!(session(3, 50).1, session(4, 50).1);
}

#[test]
fn replayed_events_rebuild_the_generators_books_without_issues() {
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 11,
            markets: 4,
            jump_ppm: 100_000,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let mut books = Books::default();
    let mut out = Vec::new();
    for t in g.tokens() {
        books.apply(&g.book(&t).unwrap(), 0, &mut out);
    }
    let mut ticks = 0;
    let mut trades = 0;
    for step in 0..2_000 {
        for e in g.step() {
            if matches!(e, MarketEvent::TickSize { .. }) {
                ticks += 1;
            }
            if matches!(e, MarketEvent::LastTrade { .. }) {
                trades += 1;
            }
            books.apply(&e, step, &mut out);
        }
        for t in g.tokens() {
            let Some(MarketEvent::Book { bids, asks, .. }) = g.book(&t) else {
                panic!()
            };
            let ours = books.book(&t).unwrap();
            assert_eq!(ours.best_bid(), bids.last().copied(), "step {step}");
            assert_eq!(ours.best_ask(), asks.last().copied(), "step {step}");
            assert!(!ours.is_crossed() && !ours.is_locked(), "step {step}");
        }
    }
    let counters = books.quality().counters();
    assert!(
        counters.keys().all(|k| *k == "change_before_snapshot"),
        "unexpected issues: {counters:?}"
    );
    assert!(trades > 500, "takers trade ({trades})");
    assert!(ticks > 0, "ticks tighten near the edges");
    assert!(out.iter().any(|o| matches!(o, BookOutput::Trade { .. })));
}

#[test]
fn every_market_resolves_at_the_end() {
    let (g, events) = session(5, 100);
    let resolved: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, MarketEvent::Resolved { .. }))
        .collect();
    assert_eq!(resolved.len(), 4);
    assert!(g.markets().iter().all(|m| m.closed && m.winner.is_some()));
}

/// Levels of a book event as (price, size) maps.
fn sides(e: &MarketEvent) -> (BTreeMap<Price, Size>, BTreeMap<Price, Size>) {
    let MarketEvent::Book { bids, asks, .. } = e else {
        panic!("not a book: {e:?}")
    };
    let map = |v: &[BookLevel]| v.iter().map(|l| (l.price, l.size)).collect();
    (map(bids), map(asks))
}

#[test]
fn no_books_mirror_yes_books_in_snapshots_and_changes() {
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 13,
            markets: 3,
            jump_ppm: 100_000,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let flip = |m: &BTreeMap<Price, Size>| -> BTreeMap<Price, Size> {
        m.iter().map(|(p, s)| (p.complement(), *s)).collect()
    };
    let mut mirrored_changes = 0;
    for step in 0..1_500 {
        let events = g.step();
        for e in &events {
            let MarketEvent::PriceChange { changes, .. } = e else {
                continue;
            };
            // Each change on one token comes with its mirror on the other.
            for c in changes {
                let twin = changes.iter().any(|o| {
                    o.token != c.token
                        && o.side != c.side
                        && o.price == c.price.complement()
                        && o.size == c.size
                });
                assert!(twin, "step {step}: no mirror for {c:?}");
                mirrored_changes += 1;
            }
        }
        for m in g.markets() {
            let (yes, no) = (&m.tokens[0].0, &m.tokens[1].0);
            let (yb, ya) = sides(&g.book(yes).unwrap());
            let (nb, na) = sides(&g.book(no).unwrap());
            assert_eq!(flip(&yb), na, "step {step}: YES bids vs NO asks");
            assert_eq!(flip(&ya), nb, "step {step}: YES asks vs NO bids");
        }
    }
    assert!(mirrored_changes > 1_000, "{mirrored_changes} changes");
    // Trades print on both tokens at complementary prices.
    let trades: Vec<_> = g
        .step()
        .into_iter()
        .chain((0..200).flat_map(|_| g.step()))
        .filter_map(|e| match e {
            MarketEvent::LastTrade { price, size, .. } => Some((price, size)),
            _ => None,
        })
        .collect();
    assert!(
        trades.len() >= 2 && trades.len() % 2 == 0,
        "{}",
        trades.len()
    );
}

#[test]
fn a_dislocated_no_book_sits_below_the_mirror_and_opens_a_complement_edge() {
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 17,
            markets: 3,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let mut books = Books::default();
    let mut out = Vec::new();
    for t in g.tokens() {
        books.apply(&g.book(&t).unwrap(), 0, &mut out);
    }
    g.dislocate_no(50_000);
    let first = g.step();
    // The NO books are republished at once, before any flow on the new grid.
    let republished = first
        .iter()
        .filter(|e| matches!(e, MarketEvent::Book { .. }))
        .count();
    assert_eq!(republished, 3, "one NO snapshot per market");
    let mut edges = 0;
    let mut events = first;
    for step in 0..500u64 {
        if step > 0 {
            events = g.step();
        }
        for e in &events {
            books.apply(e, step, &mut out);
        }
        for m in g.markets() {
            let (yes, no) = (&m.tokens[0].0, &m.tokens[1].0);
            let (yb, ya) = sides(&g.book(yes).unwrap());
            let (nb, na) = sides(&g.book(no).unwrap());
            let shifted = |side: &BTreeMap<Price, Size>| -> BTreeMap<Price, Size> {
                side.iter()
                    .filter_map(|(p, s)| {
                        let q = Price::new(p.complement().micros().checked_sub(50_000)?)?;
                        q.is_valid_order_price(m.tick).then_some((q, *s))
                    })
                    .collect()
            };
            assert_eq!(shifted(&yb), na, "step {step}: NO asks");
            assert_eq!(shifted(&ya), nb, "step {step}: NO bids");
            // What clients rebuild from the feed is the generator's book.
            for t in [yes, no] {
                let ours = books.book(t).unwrap();
                let (b, a) = sides(&g.book(t).unwrap());
                assert_eq!(
                    ours.best_bid().map(|l| l.price),
                    b.keys().next_back().copied()
                );
                assert_eq!(ours.best_ask().map(|l| l.price), a.keys().next().copied());
                assert!(!ours.is_crossed(), "step {step}");
            }
            if let (Some(y), Some(n)) = (ya.keys().next(), na.keys().next())
                && y.micros() + n.micros() < 1_000_000
            {
                edges += 1;
            }
        }
    }
    assert!(
        edges > 1_000,
        "YES ask + NO ask under a dollar ({edges} market-steps)"
    );
    // Restoring the mirror republishes exact complements.
    g.dislocate_no(0);
    g.step();
    for m in g.markets() {
        let (yb, _) = sides(&g.book(&m.tokens[0].0).unwrap());
        let (_, na) = sides(&g.book(&m.tokens[1].0).unwrap());
        let flip: BTreeMap<Price, Size> = yb.iter().map(|(p, s)| (p.complement(), *s)).collect();
        assert_eq!(flip, na);
    }
}
