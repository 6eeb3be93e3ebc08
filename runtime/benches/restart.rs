//! Finding 3 of the hardening issue as a measurement: what a start costs in
//! time and memory as the journal grows. A market maker's journal is written
//! with projections tracked (a checkpoint every `CHECKPOINT_EVERY` entries, as
//! a paper or live engine writes it) and then cut short of its last
//! checkpoint by a crash-like tail of 20,000 entries; the start then opens it
//! and loads the projections (newest checkpoint plus the tail). For
//! comparison, the same projections by full replay, and the streamed verify.
//! Memory is what the heap holds at its peak during each, counted by the
//! global allocator.
//!
//! `cargo bench -p pqap --bench restart` (sizes: `PQAP_RESTART_SIZES`,
//! comma-separated entry counts; default 250000,1000000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pqap::model::{
    CancelCause, Fill, FillCause, Liquidity, Order, OrderEvent, OrderKey, Price, Side, Size,
    TimeInForce, TokenId,
};
use pqap::store::journal::CHECKPOINT_EVERY;
use pqap::store::{CommandAction, Entry, Journal, Projections};
use rust_decimal::Decimal;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout contract passes through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning its result, seconds and the heap's peak above where it started (MiB).
async fn measured<T>(f: impl std::future::Future<Output = T>) -> (T, f64, f64) {
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = Instant::now();
    let out = f.await;
    let secs = t.elapsed().as_secs_f64();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (out, secs, peak as f64 / (1024.0 * 1024.0))
}

const STRATEGIES: u32 = 10;
const TOKENS: u64 = 40;
/// One order every 100 ms: a million entries span about five and a half hours.
const ORDER_EVERY_NS: u64 = 100_000_000;

/// The entries of order `i`: command, verdict, submission, acceptance, and a
/// fill (every other order) or a cancel; an equity mark every 50 orders.
fn order_entries(i: u64) -> Vec<(u64, Option<u32>, Entry)> {
    let strategy = 1 + (i % u64::from(STRATEGIES)) as u32;
    let ts = 1_700_000_000_000_000_000 + i * ORDER_EVERY_NS;
    let key = OrderKey {
        strategy,
        client_id: i,
    };
    let side = if (i / 2).is_multiple_of(2) {
        Side::Buy
    } else {
        Side::Sell
    };
    let order = Order {
        key,
        token: TokenId::parse(&format!("{}", 1_000 + i % TOKENS)).expect("token"),
        side,
        price: Price::new(400_000 + (i % 50) as u32 * 1_000).expect("price"),
        size: Size::from_micros(5_000_000),
        tif: TimeInForce::Gtc,
        post_only: true,
        created_ns: ts,
        venue_ref: None,
    };
    let s = Some(strategy);
    let mut out = vec![
        (
            ts,
            s,
            Entry::Command {
                strategy,
                reason: "quote".into(),
                cause: None,
                command: CommandAction::Place {
                    order: order.clone(),
                },
            },
        ),
        (
            ts,
            s,
            Entry::RiskVerdict {
                key,
                accepted: true,
                rule: None,
                message: None,
            },
        ),
        (
            ts,
            s,
            Entry::OrderSubmitted {
                order: order.clone(),
            },
        ),
        (
            ts,
            s,
            Entry::Order {
                event: OrderEvent::Accepted { key, ts_ns: ts },
            },
        ),
    ];
    // Buys fill; sells of what was bought fill too, so nothing oversells.
    let event = if i.is_multiple_of(2) {
        OrderEvent::Filled(Fill {
            key,
            token: order.token.clone(),
            side,
            price: order.price,
            size: order.size,
            fee: Decimal::ZERO,
            fee_shares: Size::ZERO,
            liquidity: Liquidity::Maker,
            remaining: Size::ZERO,
            ts_ns: ts + 1,
            trade_id: Some(format!("trade-{i}")),
            cause: FillCause::Reported,
        })
    } else {
        OrderEvent::Cancelled {
            key,
            cause: CancelCause::Requested,
            unfilled: order.size,
            ts_ns: ts + 1,
        }
    };
    out.push((ts + 1, s, Entry::Order { event }));
    if i.is_multiple_of(50) {
        out.push((
            ts + 2,
            s,
            Entry::Mark {
                strategy,
                equity: Decimal::new(1_000_000 + i as i64, 2),
                cash: Decimal::new(1_000_000, 2),
                realized: Decimal::ZERO,
                unrealized: Decimal::ZERO,
                unrealized_at_bid: Decimal::ZERO,
            },
        ));
    }
    out
}

/// Writes a journal of about `n` entries, the last 20,000 after the last checkpoint.
async fn write(path: &std::path::Path, n: u64) -> u64 {
    let mut j = Journal::open_with(path, false).await.expect("open");
    j.track_projections(Projections::default(), CHECKPOINT_EVERY);
    for id in 1..=STRATEGIES {
        j.append(
            1,
            Some(id),
            &Entry::StrategyStarted {
                strategy: id,
                name: format!("mm-{id}"),
                version: "1".into(),
                sha256: String::new(),
                params: serde_json::json!({}),
            },
        )
        .expect("append");
    }
    let mut i = 0u64;
    while j.next_seq() < (n - 20_000) as i64 {
        for (ts, s, e) in order_entries(i) {
            j.append(ts, s, &e).expect("append");
        }
        i += 1;
        if i.is_multiple_of(400) {
            j.flush().await.expect("flush");
        }
    }
    j.flush().await.expect("flush");
    // The tail a crash leaves behind the last checkpoint: written untracked.
    let mut j2 = Journal::open_with(path, false).await.expect("reopen");
    drop(j);
    while j2.next_seq() < n as i64 {
        for (ts, s, e) in order_entries(i) {
            j2.append(ts, s, &e).expect("append");
        }
        i += 1;
        if i.is_multiple_of(400) {
            j2.flush().await.expect("flush");
        }
    }
    j2.finish().await.expect("finish");
    (j2.next_seq() - 1) as u64
}

fn main() {
    let sizes: Vec<u64> = std::env::var("PQAP_RESTART_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![250_000, 1_000_000]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{:>10} {:>12} {:>12} {:>14} {:>14} {:>12} {:>12}",
        "entries", "start s", "start MiB", "replay all s", "replay MiB", "verify s", "verify MiB"
    );
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("restart.db");
        let written = rt.block_on(write(&path, n));
        rt.block_on(async {
            let (p, start_s, start_mib) = measured(async {
                let j = Journal::open(&path).await.expect("open");
                j.projections().await.expect("projections")
            })
            .await;
            assert_eq!(p.entries, written, "the start saw every entry");
            drop(p);
            let (whole, replay_s, replay_mib) = measured(async {
                let j = Journal::open(&path).await.expect("open");
                let mut p = Projections::default();
                j.for_each_from(1, |s| p.apply(s)).await.expect("replay");
                p
            })
            .await;
            drop(whole);
            let (report, verify_s, verify_mib) = measured(async {
                let j = Journal::open(&path).await.expect("open");
                j.verify().await.expect("verify")
            })
            .await;
            assert!(report.broken.is_none(), "{:?}", report.broken);
            println!(
                "{written:>10} {start_s:>12.3} {start_mib:>12.1} {replay_s:>14.3} {replay_mib:>14.1} {verify_s:>12.3} {verify_mib:>12.1}   ({} checkpoints checked)",
                report.checkpoints
            );
        });
    }
}
