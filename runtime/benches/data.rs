//! Market-data hot path: decode a market-channel frame and apply it to the books.
//! Results are recorded in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p pqap --bench data`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pqap::data::books::Books;
use pqap::data::update::FeedUpdate;
use pqap::model::TokenId;
use pqap::venue::polymarket::websocket::decode::decode_frame;
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::wire;

const TOKEN: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const MARKET: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

/// A book of `n` levels a side in the venue's shape (best last).
fn book_frame(n: u32) -> String {
    let bids: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"price":"0.{:03}","size":"{}.5"}}"#,
                100 + i * 4,
                100 + i
            )
        })
        .collect();
    let asks: Vec<String> = (0..n)
        .rev()
        .map(|i| {
            format!(
                r#"{{"price":"0.{:03}","size":"{}.25"}}"#,
                520 + i * 4,
                200 + i
            )
        })
        .collect();
    format!(
        r#"{{"event_type":"book","asset_id":"{TOKEN}","market":"{MARKET}","timestamp":"1729084877448","hash":"bf32b3746fff40c76c98021b7f3f07261169dd26","bids":[{}],"asks":[{}],"tick_size":"0.001"}}"#,
        bids.join(","),
        asks.join(",")
    )
}

/// A `price_change` with one level on each side, as the venue batches them.
fn change_frame(i: u32) -> String {
    let bid = 100 + (i % 80) * 4;
    format!(
        r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{TOKEN}","price":"0.{bid:03}","size":"{}","side":"BUY","hash":"bf32b3746fff40c76c98021b7f3f07261169dd26","best_bid":"0.416","best_ask":"0.52"}},{{"asset_id":"{TOKEN}","price":"0.{:03}","size":"{}.5","side":"SELL","hash":"af32b3746fff40c76c98021b7f3f07261169dd27","best_bid":"0.416","best_ask":"0.52"}}],"event_type":"price_change","timestamp":"1729084877448"}}"#,
        i % 7 * 10,
        520 + (i % 80) * 4,
        i % 11
    )
}

fn decode_and_apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("market_data");
    let changes: Vec<String> = (0..256).map(change_frame).collect();
    let mut books = Books::default();
    let mut out = Vec::new();
    let seed = FeedUpdate::from_frame(0, 0, book_frame(80)).expect("book");
    books.apply(&seed.events[0], 0, &mut out);
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("price_change_json_scan_only", |b| {
        b.iter(|| {
            i += 1;
            black_box(
                serde_json::from_str::<serde::de::IgnoredAny>(&changes[i % changes.len()]).is_ok(),
            )
        })
    });
    group.bench_function("price_change_decode_only", |b| {
        b.iter(|| {
            i += 1;
            black_box(decode_frame(&changes[i % changes.len()]))
        })
    });
    group.bench_function("price_change_decode_and_book", |b| {
        b.iter(|| {
            i += 1;
            out.clear();
            let update = decode_frame(&changes[i % changes.len()]);
            if let pqap::venue::polymarket::websocket::decode::Frame::Messages(items) = update {
                for e in items.into_iter().flatten() {
                    books.apply(&e, 0, &mut out);
                }
            }
            black_box(&out);
        })
    });
    for levels in [10u32, 80] {
        let frame = book_frame(levels);
        group.bench_function(format!("book_{levels}_levels_decode_and_book"), |b| {
            b.iter(|| {
                out.clear();
                if let pqap::venue::polymarket::websocket::decode::Frame::Messages(items) =
                    decode_frame(&frame)
                {
                    for e in items.into_iter().flatten() {
                        books.apply(&e, 0, &mut out);
                    }
                }
                black_box(&out);
            })
        });
    }
    group.finish();
}

fn generated_session(c: &mut Criterion) {
    // A realistic mix (books, multi-level changes, trades, tick changes) from the
    // simulator's generator, pre-encoded to frames.
    let mut g = Generator::new(
        GeneratorConfig {
            markets: 8,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let all = |_: &TokenId| true;
    let mut frames: Vec<String> = g
        .tokens()
        .iter()
        .filter_map(|t| g.book(t))
        .filter_map(|e| wire::message(&e, &all))
        .map(|v| v.to_string())
        .collect();
    for _ in 0..2_000 {
        frames.extend(
            g.step()
                .iter()
                .filter_map(|e| wire::message(e, &all))
                .map(|v| v.to_string()),
        );
    }
    let mut group = c.benchmark_group("market_data");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.sample_size(20);
    group.bench_function("generated_session_frames", |b| {
        b.iter(|| {
            let mut books = Books::default();
            let mut out = Vec::new();
            for f in &frames {
                if let pqap::venue::polymarket::websocket::decode::Frame::Messages(items) =
                    decode_frame(f)
                {
                    for e in items.into_iter().flatten() {
                        books.apply(&e, 0, &mut out);
                    }
                }
                out.clear();
            }
            black_box(books)
        })
    });
    group.finish();
}

fn recorder_throughput(c: &mut Criterion) {
    // Frames of a synthetic session, recorded (raw + decoded events) in batches of
    // 500 per transaction into a fresh archive.
    let mut g = Generator::new(
        GeneratorConfig {
            markets: 8,
            ..GeneratorConfig::default()
        },
        1_700_000_000_000,
    );
    let all = |_: &TokenId| true;
    let mut updates = Vec::new();
    while updates.len() < 10_000 {
        let now = g.now_ms();
        for e in g.step() {
            if let Some(json) = wire::message(&e, &all)
                && let Some(u) = FeedUpdate::from_frame(now, 0, json.to_string())
            {
                updates.push(u);
            }
        }
    }
    updates.truncate(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("archive");
    group.throughput(Throughput::Elements(updates.len() as u64));
    group.sample_size(10);
    group.bench_function("record_10k_updates", |b| {
        b.iter(|| {
            rt.block_on(async {
                let dir = tempfile::tempdir().expect("tempdir");
                let archive = pqap::data::archive::Archive::open(dir.path())
                    .await
                    .expect("archive");
                let mut rec = archive.recorder();
                for u in &updates {
                    rec.record(u).await.expect("record");
                }
                black_box(rec.finish().await.expect("finish"))
            })
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    decode_and_apply,
    generated_session,
    recorder_throughput
);
criterion_main!(benches);
