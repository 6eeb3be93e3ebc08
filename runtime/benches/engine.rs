//! Engine latency and journal durability, recorded in docs/BENCHMARKS.md:
//! - tick-to-order: a market WebSocket frame in → decoded → books → the market
//!   maker in its sandbox → risk checks → the order handed to the venue, p50/p99,
//!   with the journal on disk (SQLite WAL, synchronous=FULL);
//! - journal appends per second, durable (every commit fsync'd), by batch size;
//! - hot reload: deploying a new version of a running strategy (snapshot,
//!   instantiate, init, restore, journal) — how long every strategy waits.
//!
//! Run: `cargo bench -p pqap --bench engine`

#[path = "../../tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use pqap::data::books::Books;
use pqap::data::update::FeedUpdate;
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::{MarketEvent, Order, OrderEvent, OrderKey, TokenId};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::wire;
use pqap::venue::{MarketSpec, Venue};
use rust_decimal::Decimal;

/// The fill simulator, noting when each order reaches it.
struct Timed {
    inner: FillSimulator,
    submits: Rc<RefCell<Vec<Instant>>>,
}

impl Venue for Timed {
    fn submit(&mut self, order: Order, now: u64, books: &Books) -> Vec<OrderEvent> {
        self.submits.borrow_mut().push(Instant::now());
        self.inner.submit(order, now, books)
    }
    fn cancel(&mut self, key: OrderKey, now: u64) -> Vec<OrderEvent> {
        self.inner.cancel(key, now)
    }
    fn on_market(&mut self, e: &MarketEvent, now: u64, books: &Books) -> Vec<OrderEvent> {
        self.inner.on_market(e, now, books)
    }
    fn on_time(&mut self, now: u64, books: &Books) -> Vec<OrderEvent> {
        self.inner.on_time(now, books)
    }
    fn reconcile(&mut self, order: &Order, now: u64) -> pqap::venue::Reconciliation {
        self.inner.reconcile(order, now)
    }
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    // Nearest-rank percentile; the index math is on a count, not on money.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A generated session of 5 binary markets in the venue's WebSocket format:
/// the markets and the frames (books first, then `steps` generator steps).
fn generated_session(start_ns: u64, seed: u64, steps: usize) -> (Vec<MarketSpec>, Vec<String>) {
    let mut g = Generator::new(
        GeneratorConfig {
            seed,
            markets: 5,
            step_ms: 200,
            ..GeneratorConfig::default()
        },
        start_ns / 1_000_000,
    );
    let markets: Vec<MarketSpec> = g
        .markets()
        .into_iter()
        .map(|m| MarketSpec {
            slug: String::new(),
            condition: m.condition,
            question: m.question,
            tokens: m.tokens,
            tick: m.tick,
            min_size: m.min_size,
            neg_risk: false,
            fees: pqap::execution::fees::FeeSchedule {
                rate_millionths: 20_000,
                exponent: 1,
                taker_only: true,
                rebate_millionths: 200_000,
            },
        })
        .collect();
    let all = |_: &TokenId| true;
    let mut frames: Vec<String> = g
        .tokens()
        .iter()
        .filter_map(|t| g.book(t))
        .filter_map(|e| wire::message(&e, &all))
        .map(|v| v.to_string())
        .collect();
    for _ in 0..steps {
        frames.extend(
            g.step()
                .iter()
                .filter_map(|e| wire::message(e, &all))
                .map(|v| v.to_string()),
        );
    }
    (markets, frames)
}

fn tick_to_order(rt: &tokio::runtime::Runtime) {
    let start_ns = 1_767_225_600_000_000_000u64;
    let (markets, frames) = generated_session(start_ns, 3, 3_000);
    let sim = FillSimulator::for_markets(FillConfig::default(), &markets);
    let submits = Rc::new(RefCell::new(Vec::new()));
    let venue = Timed {
        inner: sim,
        submits: Rc::clone(&submits),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (to_order, per_frame, orders) = rt.block_on(async {
        let journal = Journal::open(&dir.path().join("bench.db"))
            .await
            .expect("journal");
        let config = EngineConfig {
            run_id: "bench".into(),
            mode: ClockMode::Simulated,
            seed: 1,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits::default(),
            mark_every_ns: 60_000_000_000,
            keep_quarantines: false,
        };
        let setups = vec![StrategySetup {
            markets: Vec::new(),
            artifact: common::market_maker(),
            params: vec![],
            limits: RiskLimits::default(),
        }];
        let mut engine = Engine::start(
            config,
            Registry::new(markets),
            venue,
            journal,
            setups,
            start_ns,
        )
        .await
        .expect("engine");
        let (mut to_order, mut per_frame, mut orders) = (Vec::new(), Vec::new(), 0usize);
        for (i, frame) in frames.into_iter().enumerate() {
            let now = start_ns + i as u64 * 50_000_000;
            submits.borrow_mut().clear();
            let t0 = Instant::now();
            let Some(update) = FeedUpdate::from_frame(now / 1_000_000, 0, frame) else {
                continue;
            };
            engine.on_update(&update, now).await.expect("update");
            per_frame.push(t0.elapsed().as_nanos());
            let s = submits.borrow();
            if let Some(first) = s.first() {
                to_order.push(first.duration_since(t0).as_nanos());
                orders += s.len();
            }
        }
        (to_order, per_frame, orders)
    });
    let (mut to_order, mut per_frame) = (to_order, per_frame);
    to_order.sort_unstable();
    per_frame.sort_unstable();
    println!(
        "tick_to_order: {} frames, {} frames led to orders ({} orders)",
        per_frame.len(),
        to_order.len(),
        orders
    );
    println!(
        "  frame in → first order at the venue: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        percentile(&to_order, 50.0) as f64 / 1e3,
        percentile(&to_order, 99.0) as f64 / 1e3,
        to_order.last().copied().unwrap_or(0) as f64 / 1e3,
    );
    println!(
        "  whole update incl. durable journal commit: p50 {:.1} µs, p99 {:.1} µs",
        percentile(&per_frame, 50.0) as f64 / 1e3,
        percentile(&per_frame, 99.0) as f64 / 1e3,
    );
}

fn journal_appends(rt: &tokio::runtime::Runtime) {
    println!("journal appends, durable (WAL, synchronous=FULL):");
    for (batch, total) in [
        (1usize, 400usize),
        (10, 4_000),
        (100, 40_000),
        (1_000, 200_000),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let rate = rt.block_on(async {
            let mut journal = Journal::open(&dir.path().join("j.db"))
                .await
                .expect("journal");
            let entry = Entry::Mark {
                strategy: 1,
                equity: Decimal::new(1_000_123_456, 6),
                cash: Decimal::new(900_000_000, 6),
                realized: Decimal::new(12_345_678, 6),
                unrealized: Decimal::new(-2_345_678, 6),
                unrealized_at_bid: Decimal::new(-3_345_678, 6),
            };
            let t0 = Instant::now();
            for i in 0..total {
                journal.append(i as u64, Some(1), &entry).expect("append");
                if (i + 1) % batch == 0 {
                    journal.commit().await.expect("commit");
                }
            }
            journal.commit().await.expect("commit");
            total as f64 / t0.elapsed().as_secs_f64()
        });
        println!("  batch {batch:>5}: {rate:>10.0} entries/s");
    }
}

fn hot_reload(rt: &tokio::runtime::Runtime) {
    let start_ns = 1_767_225_600_000_000_000u64;
    let (markets, frames) = generated_session(start_ns, 4, 500);
    let dir = tempfile::tempdir().expect("tempdir");
    let times = rt.block_on(async {
        let journal = Journal::open(&dir.path().join("reload.db"))
            .await
            .expect("journal");
        let config = EngineConfig {
            run_id: "reload".into(),
            mode: ClockMode::Simulated,
            seed: 1,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits::default(),
            mark_every_ns: 60_000_000_000,
            keep_quarantines: false,
        };
        // Loaded once: a server's library keeps uploads compiled.
        let artifact = common::market_maker();
        let setup = || StrategySetup {
            markets: Vec::new(),
            artifact: artifact.clone(),
            params: vec![],
            limits: RiskLimits::default(),
        };
        let venue = FillSimulator::for_markets(FillConfig::default(), &markets);
        let mut engine = Engine::start(
            config,
            Registry::new(markets),
            venue,
            journal,
            vec![setup()],
            start_ns,
        )
        .await
        .expect("engine");
        let mut times = Vec::new();
        for (i, frame) in frames.into_iter().enumerate() {
            let now = start_ns + i as u64 * 50_000_000;
            if let Some(update) = FeedUpdate::from_frame(now / 1_000_000, 0, frame) {
                engine.on_update(&update, now).await.expect("update");
            }
            // After a warm-up, a reload every 20 frames, with books and orders live.
            if i >= 200 && i % 20 == 0 {
                let t0 = Instant::now();
                let outcome = engine.deploy(setup(), "bench").await.expect("deploy");
                times.push(t0.elapsed().as_nanos());
                assert_eq!(outcome.outcome(), "reloaded");
            }
        }
        times
    });
    let mut times = times;
    times.sort_unstable();
    println!(
        "hot_reload: {} reloads of the market maker mid-session: p50 {:.2} ms, p99 {:.2} ms (every strategy waits this long)",
        times.len(),
        percentile(&times, 50.0) as f64 / 1e6,
        percentile(&times, 99.0) as f64 / 1e6,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and
    // only wants to know the target builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tick_to_order(&rt);
    journal_appends(&rt);
    hot_reload(&rt);
}
