//! Tops and quotes kept from the books that changed agree with reading every
//! book every time.

use proptest::prelude::*;

use super::*;
use crate::data::books::Books;
use crate::engine::registry::tests::spec;
use crate::model::{BookLevel, LevelChange, Price, Size};

/// What an update does to one token's book.
#[derive(Debug, Clone)]
enum Op {
    Snapshot {
        token: usize,
        bids: Vec<(u32, u64)>,
        asks: Vec<(u32, u64)>,
    },
    Change {
        token: usize,
        buy: bool,
        price: u32,
        size: u64,
    },
    /// A market is listed mid-run.
    List,
}

fn op() -> impl Strategy<Value = Op> {
    let levels = || proptest::collection::vec((1u32..99, 0u64..4), 0..4);
    prop_oneof![
        1 => (0usize..6, levels(), levels())
            .prop_map(|(token, bids, asks)| Op::Snapshot { token, bids, asks }),
        4 => (0usize..6, any::<bool>(), 1u32..99, 0u64..4)
            .prop_map(|(token, buy, price, size)| Op::Change { token, buy, price, size }),
        1 => Just(Op::List),
    ]
}

fn token(i: usize) -> TokenId {
    TokenId::parse(&(100 + i).to_string()).unwrap()
}

fn level(ticks: u32, shares: u64) -> BookLevel {
    BookLevel {
        price: Price::new(ticks * 10_000).unwrap(),
        size: Size::from_shares(shares).unwrap(),
    }
}

fn event(op: &Op, ts_ms: u64) -> Option<MarketEvent> {
    let market = |t: usize| spec((t / 2) as u32).condition;
    Some(match op {
        Op::Snapshot {
            token: t,
            bids,
            asks,
        } => MarketEvent::Book {
            token: token(*t),
            market: market(*t),
            ts_ms,
            bids: bids.iter().map(|(p, s)| level(*p, *s)).collect(),
            asks: asks.iter().map(|(p, s)| level(*p, *s)).collect(),
            hash: None,
            tick: None,
        },
        Op::Change {
            token: t,
            buy,
            price,
            size,
        } => MarketEvent::PriceChange {
            market: market(*t),
            ts_ms,
            changes: vec![LevelChange {
                token: token(*t),
                side: if *buy { Side::Buy } else { Side::Sell },
                price: level(*price, 0).price,
                size: level(1, *size).size,
                best_bid: None,
                best_ask: None,
            }],
        },
        Op::List => return None,
    })
}

proptest! {
    #[test]
    fn tops_and_quotes_follow_the_books_that_changed(
        ops in proptest::collection::vec((op(), any::<bool>()), 1..60),
    ) {
        let mut registry = Registry::new(vec![spec(0), spec(1)]);
        let mut books = Books::default();
        let mut translator = Translator::default();
        // The reference: every book read on every call.
        let mut told: BTreeMap<u32, wit::BookTop> = BTreeMap::new();
        for (i, (op, quote)) in ops.iter().enumerate() {
            match event(op, i as u64) {
                Some(e) => books.apply(&e, i as u64, &mut Vec::new()),
                None => {
                    registry.extend(&[spec(2)]);
                }
            }
            let every: Vec<wit::BookTop> =
                registry.instruments().map(|(_, t)| top_of(&books, t)).collect();
            if *quote {
                let mut got = Vec::new();
                translator.quotes(&registry, &mut books, &mut got);
                let mut want = Vec::new();
                for (instrument, top) in every.iter().enumerate() {
                    let instrument = instrument as u32;
                    if told.get(&instrument) != Some(top) {
                        told.insert(instrument, *top);
                        want.push(wit::EventKind::Quote(wit::Quote {
                            instrument,
                            bid: top.bid,
                            ask: top.ask,
                        }));
                    }
                }
                prop_assert_eq!(got, want);
            } else {
                translator.refresh(&registry, &mut books);
            }
            prop_assert_eq!(translator.tops(), every.as_slice());
        }
    }
}
