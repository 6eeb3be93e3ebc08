//! Day files round-trip every kind of message exactly, stream in row groups,
//! and read back with the plain Arrow reader.

use proptest::prelude::*;

use super::*;
use crate::data::update::{FeedUpdate, Source};
use crate::model::{
    BookLevel, ConditionId, LevelChange, MarketEvent, Payout, Price, Side, Size, TokenId,
};

fn token(i: u8) -> TokenId {
    TokenId::parse(&format!("{}{}", 7 + i % 3, "1".repeat(70))).unwrap()
}

fn market(i: u8) -> ConditionId {
    ConditionId::parse(&format!("0x{}", format!("{:02x}", i % 4).repeat(32))).unwrap()
}

fn price() -> impl Strategy<Value = Price> {
    (0u32..=1_000_000).prop_map(|p| Price::new(p).unwrap())
}

fn size() -> impl Strategy<Value = Size> {
    any::<u64>().prop_map(Size::from_micros)
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn levels() -> impl Strategy<Value = Vec<BookLevel>> {
    prop::collection::vec(
        (price(), size()).prop_map(|(price, size)| BookLevel { price, size }),
        0..5,
    )
}

fn event() -> impl Strategy<Value = MarketEvent> {
    let ts = 0u64..=4_000_000_000_000;
    prop_oneof![
        (
            any::<u8>(),
            ts.clone(),
            levels(),
            levels(),
            proptest::option::of("[a-f0-9]{8}"),
            proptest::option::of(price())
        )
            .prop_map(|(i, ts_ms, bids, asks, hash, tick)| MarketEvent::Book {
                token: token(i),
                market: market(i),
                ts_ms,
                bids,
                asks,
                hash,
                tick,
            }),
        (
            any::<u8>(),
            ts.clone(),
            prop::collection::vec(
                (
                    any::<u8>(),
                    side(),
                    price(),
                    size(),
                    proptest::option::of(price()),
                    proptest::option::of(price())
                ),
                0..4
            )
        )
            .prop_map(|(i, ts_ms, changes)| MarketEvent::PriceChange {
                market: market(i),
                ts_ms,
                changes: changes
                    .into_iter()
                    .map(|(t, side, price, size, best_bid, best_ask)| LevelChange {
                        token: token(t),
                        side,
                        price,
                        size,
                        best_bid,
                        best_ask,
                    })
                    .collect(),
            }),
        (
            any::<u8>(),
            ts.clone(),
            price(),
            size(),
            proptest::option::of(side())
        )
            .prop_map(|(i, ts_ms, price, size, side)| MarketEvent::LastTrade {
                token: token(i),
                market: market(i),
                ts_ms,
                price,
                size,
                side,
            }),
        (any::<u8>(), ts.clone(), price(), price()).prop_map(|(i, ts_ms, old, new)| {
            MarketEvent::TickSize {
                token: token(i),
                market: market(i),
                ts_ms,
                old,
                new,
            }
        }),
        (
            any::<u8>(),
            ts.clone(),
            proptest::option::of(price()),
            proptest::option::of(price())
        )
            .prop_map(|(i, ts_ms, bid, ask)| MarketEvent::BestBidAsk {
                token: token(i),
                market: market(i),
                ts_ms,
                bid,
                ask,
            }),
        (any::<u8>(), ts.clone(), "[ -~]{0,20}").prop_map(|(i, ts_ms, question)| {
            MarketEvent::NewMarket {
                market: market(i),
                ts_ms,
                slug: "s".into(),
                question,
                tokens: vec![token(i), token(i.wrapping_add(1))],
                outcomes: vec!["Yes".into(), "No".into()],
                tick: Price::new(10_000),
            }
        }),
        (any::<u8>(), ts, any::<bool>()).prop_map(|(i, ts_ms, split)| MarketEvent::Resolved {
            market: market(i),
            ts_ms,
            tokens: vec![token(i), token(i.wrapping_add(1))],
            winner: token(i),
            winning_outcome: "Yes".into(),
            payouts: if split {
                vec![
                    Payout {
                        token: token(i),
                        payout: Price::new(500_000).unwrap(),
                    },
                    Payout {
                        token: token(i.wrapping_add(1)),
                        payout: Price::new(500_000).unwrap(),
                    },
                ]
            } else {
                Vec::new()
            },
        }),
    ]
}

fn update() -> impl Strategy<Value = FeedUpdate> {
    (
        0u64..=4_000_000_000_000,
        prop_oneof![
            Just(Source::Rest),
            any::<u16>().prop_map(|shard| Source::Ws { shard })
        ],
        prop::collection::vec(event(), 0..4),
    )
        .prop_map(|(received_ms, source, events)| FeedUpdate {
            received_ms,
            source,
            raw: String::new(),
            events,
            errors: Vec::new(),
        })
}

fn write_day(dir: &std::path::Path, updates: &[FeedUpdate]) -> (std::path::PathBuf, DayMeta) {
    let path = dir.join("2026-01-01.events.parquet");
    let mut w = DayWriter::create(&path, "2026-01-01", Opening::default()).unwrap();
    for u in updates {
        w.push(u).unwrap();
    }
    let meta = w.finish(1_767_312_000_000).unwrap();
    (path, meta)
}

fn read_day(path: &std::path::Path) -> Vec<FeedUpdate> {
    DayReader::open(path).unwrap().map(|u| u.unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_day_reads_back_exactly(updates in prop::collection::vec(update(), 0..40)) {
        let dir = tempfile::tempdir().unwrap();
        let (path, meta) = write_day(dir.path(), &updates);
        prop_assert_eq!(read_day(&path), updates.clone());
        prop_assert_eq!(meta.counts.payloads, updates.len() as u64);
        // The digest is a function of the rows: the same day hashes the same,
        // one changed size does not.
        let again = tempfile::tempdir().unwrap();
        prop_assert_eq!(write_day(again.path(), &updates).1.digest, meta.digest.clone());
        let mut changed = updates.clone();
        if let Some(MarketEvent::LastTrade { size, .. }) = changed
            .iter_mut()
            .flat_map(|u| u.events.iter_mut())
            .find(|e| matches!(e, MarketEvent::LastTrade { .. }))
        {
            *size = Size::from_micros(size.micros() ^ 1);
            let other = tempfile::tempdir().unwrap();
            prop_assert_ne!(write_day(other.path(), &changed).1.digest, meta.digest);
        }
    }
}

/// A seeded session of the venue's messages, as a recording holds them.
fn session(steps: u64) -> Vec<FeedUpdate> {
    use crate::venue::sim::generator::{Generator, GeneratorConfig};
    let start = 1_767_225_600_000;
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 11,
            markets: 3,
            step_ms: 100,
            ..GeneratorConfig::default()
        },
        start,
    );
    let mut out = vec![FeedUpdate {
        received_ms: start,
        source: Source::Rest,
        raw: String::new(),
        events: g.tokens().iter().filter_map(|t| g.book(t)).collect(),
        errors: Vec::new(),
    }];
    for i in 1..=steps {
        let events = g.step();
        out.push(FeedUpdate {
            received_ms: start + i * 100,
            source: Source::Ws { shard: 0 },
            raw: String::new(),
            events,
            errors: Vec::new(),
        });
    }
    out
}

#[test]
fn long_days_stream_in_row_groups_and_carry_their_books() {
    let updates = session(30_000);
    let dir = tempfile::tempdir().unwrap();
    let (path, meta) = write_day(dir.path(), &updates);
    let file = std::fs::File::open(&path).unwrap();
    let groups = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .num_row_groups();
    assert!(groups > 1, "{groups} row groups");
    assert_eq!(read_day(&path), updates);
    // The closing state is the books as a replay leaves them.
    let mut books = crate::data::books::Books::new(Default::default());
    let mut out = Vec::new();
    for u in &updates {
        for e in &u.events {
            books.apply(e, u.received_ms, &mut out);
        }
    }
    let live = books
        .tokens()
        .filter(|t| {
            books
                .book(t)
                .is_some_and(|b| b.state() == crate::data::book::BookState::Live)
        })
        .count();
    assert!(live > 0);
    assert_eq!(
        meta.closing
            .iter()
            .filter(|e| matches!(e, MarketEvent::Book { .. }))
            .count(),
        live
    );
    for e in &meta.closing {
        if let MarketEvent::Book {
            token,
            bids,
            asks,
            ts_ms,
            ..
        } = e
        {
            let (b, a) = books.book(token).unwrap().levels();
            assert_eq!((&b, &a), (bids, asks));
            assert_eq!(*ts_ms, 1_767_312_000_000);
        }
    }
    assert_eq!(meta.markets.binary().len(), 3);
}

#[test]
fn a_day_reads_with_the_plain_arrow_reader() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt8Type, UInt32Type};
    let updates = session(50);
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_day(dir.path(), &updates);
    let file = std::fs::File::open(&path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let (mut bids, mut first_bid) = (0usize, None);
    for batch in reader {
        let batch = batch.unwrap();
        assert_eq!(batch.schema().field(10).name(), "price");
        let kind = batch
            .column_by_name("kind")
            .unwrap()
            .as_dictionary::<UInt8Type>();
        let names = kind.values().as_string::<i32>();
        let price = batch
            .column_by_name("price")
            .unwrap()
            .as_primitive::<UInt32Type>();
        for (i, k) in kind.keys().iter().enumerate() {
            if names.value(k.unwrap() as usize) == "bid" {
                bids += 1;
                first_bid.get_or_insert(price.value(i));
            }
        }
    }
    let expected: usize = updates
        .iter()
        .flat_map(|u| &u.events)
        .map(|e| match e {
            MarketEvent::Book { bids, .. } => bids.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(bids, expected);
    let MarketEvent::Book { bids: b, .. } = &updates[0].events[0] else {
        panic!("the session opens with books");
    };
    assert_eq!(first_bid, Some(b[0].price.micros()));
}

#[test]
fn damaged_files_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.events.parquet");
    std::fs::write(&path, b"not parquet at all").unwrap();
    let e = DayReader::open(&path).err().unwrap().to_string();
    assert!(
        e.contains("x.events.parquet") && e.contains("not a readable day file"),
        "{e}"
    );
}
