//! Risk controls that remove exposure, in the engine with the market maker
//! resting bids: `pqap risk halt` (the request the running engine applies)
//! cancels every working order, so a price move through the old bids fills
//! nothing; reducing cancels what adds exposure.

mod common;

use pqap::data::update::{FeedUpdate, Source};
use pqap::engine::{Engine, EngineConfig, StrategySetup};
use pqap::execution::fees::FeeSchedule;
use pqap::execution::{FillConfig, FillSimulator, Slippage};
use pqap::model::{BookLevel, CancelCause, MarketEvent, OrderEvent, Price, Side, Size};
use pqap::risk::{RiskLimits, TradingState};
use pqap::store::{Entry, Journal, Stored};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};

const START: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

struct Session {
    engine: Engine<FillSimulator>,
    g: Generator,
    now: u64,
}

async fn quoting(db: &std::path::Path) -> Session {
    // Seed 7: since the simulator's NO book mirrors its YES book, the market
    // maker rests no quote in seed 5's first ten steps.
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 7,
            markets: 1,
            ..GeneratorConfig::default()
        },
        START / MS,
    );
    let registry = common::session::registry(&g, FeeSchedule::FREE);
    let venue = FillSimulator::for_markets(
        FillConfig {
            submit_latency_ns: 20 * MS,
            cancel_latency_ns: 20 * MS,
            slippage: Slippage::BookWalk,
        },
        registry.markets(),
    );
    let config = EngineConfig {
        run_id: "risk".into(),
        mode: ClockMode::Simulated,
        seed: 3,
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
    let journal = Journal::open(db).await.unwrap();
    let mut engine = Engine::start(config, registry, venue, journal, setups, START)
        .await
        .unwrap();
    let mut now = START;
    for (t, update) in common::session::updates(&mut g, 10, START) {
        engine.on_update(&update, t).await.unwrap();
        engine.on_time(t + 100 * MS).await.unwrap();
        now = t + 100 * MS;
    }
    assert!(engine.working_orders() > 0, "the market maker rests quotes");
    Session { engine, g, now }
}

/// Every book of the market shows asks at one cent: any resting bid above it
/// is traded through.
fn crash(s: &Session) -> FeedUpdate {
    let m = &s.g.markets()[0];
    let events = m
        .tokens
        .iter()
        .map(|(token, _)| MarketEvent::Book {
            token: token.clone(),
            market: m.condition.clone(),
            ts_ms: s.now / MS,
            bids: vec![],
            asks: vec![BookLevel {
                price: Price::new(10_000).unwrap(),
                size: Size::from_shares(10_000).unwrap(),
            }],
            hash: None,
            tick: Some(Price::new(10_000).unwrap()),
        })
        .collect();
    FeedUpdate {
        received_ms: s.now / MS,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events,
        errors: vec![],
    }
}

fn fills_after(entries: &[Stored], seq: i64) -> usize {
    entries
        .iter()
        .filter(|e| e.seq > seq)
        .filter(|e| {
            matches!(
                e.entry,
                Entry::Order {
                    event: OrderEvent::Filled(_)
                }
            )
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_cancels_every_working_order_so_a_crash_through_the_bids_fills_nothing() {
    // Without a halt the crash fills the resting bids: the test can fail.
    let dir = tempfile::tempdir().unwrap();
    let mut s = quoting(&dir.path().join("a.db")).await;
    let before = s.engine.journal().next_seq() - 1;
    s.now += 100 * MS;
    let update = crash(&s);
    s.engine.on_update(&update, s.now).await.unwrap();
    let entries = s.engine.journal().read_from(1).await.unwrap();
    assert!(
        fills_after(&entries, before) > 0,
        "the crash fills resting bids"
    );

    // `pqap risk halt` queues the request; the engine applies it at its next step.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let mut s = quoting(&db).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["risk", "halt", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.engine.poll_controls().await.unwrap();
    assert_eq!(s.engine.trading_state(), TradingState::Halted);
    let halted_at = s.engine.journal().next_seq() - 1;
    // The venue confirms the cancels after its latency.
    s.now += 50 * MS;
    s.engine.on_time(s.now).await.unwrap();
    assert_eq!(s.engine.working_orders(), 0, "nothing works while halted");
    s.now += 100 * MS;
    let update = crash(&s);
    s.engine.on_update(&update, s.now).await.unwrap();
    let entries = s.engine.journal().read_from(1).await.unwrap();
    assert_eq!(fills_after(&entries, halted_at), 0, "a fill after the halt");
    // Each withdrawn order tells the strategy the host cancelled it.
    let cancels: Vec<CancelCause> = entries
        .iter()
        .filter(|e| e.seq > halted_at)
        .filter_map(|e| match &e.entry {
            Entry::Order {
                event: OrderEvent::Cancelled { cause, .. },
            } => Some(*cause),
            _ => None,
        })
        .collect();
    assert!(
        !cancels.is_empty() && cancels.iter().all(|c| *c == CancelCause::Host),
        "{cancels:?}"
    );
    // New orders are refused while halted.
    let refused = entries.iter().filter(|e| e.seq > halted_at).any(|e| {
        matches!(&e.entry, Entry::RiskVerdict { accepted: false, rule: Some(r), .. } if r == "trading_state")
    });
    let placed = entries
        .iter()
        .filter(|e| e.seq > halted_at)
        .any(|e| matches!(&e.entry, Entry::OrderSubmitted { .. }));
    assert!(!placed, "an order reached the venue while halted");
    let _ = refused;
}

async fn working_buys(s: &Session) -> usize {
    let entries = s.engine.journal().read_from(1).await.unwrap();
    let p = pqap::store::Projections::replay(&entries);
    p.open_orders()
        .filter(|o| o.order.side == Side::Buy)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reducing_cancels_the_orders_that_add_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = quoting(&dir.path().join("r.db")).await;
    assert!(working_buys(&s).await > 0, "the market maker bids");
    s.engine
        .set_trading_state(TradingState::Reducing, "test")
        .await
        .unwrap();
    s.now += 50 * MS;
    s.engine.on_time(s.now).await.unwrap();
    let entries = s.engine.journal().read_from(1).await.unwrap();
    let p = pqap::store::Projections::replay(&entries);
    let open: Vec<Side> = p.open_orders().map(|o| o.order.side).collect();
    assert!(
        open.iter().all(|s| *s == Side::Sell),
        "buys left working: {open:?}"
    );
}

// ---- daily loss is today's loss ----

const DAY: u64 = 86_400_000_000_000;

use common::hand::HandMarket as Books;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_loss_counts_from_the_days_equity_and_its_halt_survives_a_restart() {
    let books = Books::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("loss.db");
    let mut engine = books.engine(&db, Some(2), None, START).await;
    // 10 bought at .51; the mid drops from .50 to .20: 10 × (.21 − .51) at the
    // mid .21 = −3.0 today, beyond the $2 limit.
    engine.on_update(&books.at(49, START), START).await.unwrap();
    assert!(!engine.is_halted(1));
    let t = START + 60_000_000_000;
    engine.on_update(&books.at(20, t), t).await.unwrap();
    assert!(engine.is_halted(1), "a $3 loss today passed a $2 limit");
    engine.shutdown().await.unwrap();
    // The stop checkpointed the projections at the journal's head, so the
    // restart below starts from them and replays nothing.
    let head = engine.journal().head().0;
    let checkpointed: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM projection_checkpoints")
            .fetch_one(engine.journal().pool())
            .await
            .unwrap();
    assert_eq!(checkpointed, Some(head));
    drop(engine);

    // Restarted the same day: still halted.
    let t = START + 120_000_000_000;
    let mut engine = books.engine(&db, Some(2), None, t).await;
    engine.on_update(&books.at(20, t), t).await.unwrap();
    assert!(engine.is_halted(1), "the halt did not survive the restart");
    engine.shutdown().await.unwrap();
    drop(engine);

    // The next day the loss is yesterday's: no halt, though the position is
    // $3 under water and today's limit is $1.
    let t = START + DAY;
    let mut engine = books.engine(&db, Some(1), None, t).await;
    engine.on_update(&books.at(20, t), t).await.unwrap();
    assert!(!engine.is_halted(1), "yesterday's loss halted today");
    // A further $1.20 today (mid .21 → .09) halts it.
    let t = t + 60_000_000_000;
    engine.on_update(&books.at(8, t), t).await.unwrap();
    assert!(engine.is_halted(1), "$1.20 lost today");
    // An operator's resume lifts it and counts afresh from here.
    engine
        .set_trading_state(TradingState::Active, "ops")
        .await
        .unwrap();
    assert!(!engine.is_halted(1));
    let entries = engine.journal().read_from(1).await.unwrap();
    let reasons: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::DayStart {
                strategy: Some(1),
                reason,
                ..
            } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["day", "day", "operator resume"]);
    // Every checkpoint the restarts started from equals the full replay.
    let report = engine.journal().verify().await.unwrap();
    assert_eq!(report.broken, None);
    assert!(report.checkpoints >= 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_daily_loss_limit_is_read_and_halts_every_strategy() {
    let books = Books::new();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = books
        .engine(&dir.path().join("g.db"), None, Some(2), START)
        .await;
    engine.on_update(&books.at(49, START), START).await.unwrap();
    assert!(!engine.is_halted(1));
    let t = START + 60_000_000_000;
    engine.on_update(&books.at(20, t), t).await.unwrap();
    assert!(
        engine.is_halted(1),
        "risk.global.max_daily_loss was not read"
    );
    let entries = engine.journal().read_from(1).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| matches!(&e.entry, Entry::PortfolioHalted { reason } if reason.contains("risk.global.max_daily_loss")))
    );
}
