//! One strategy must never stop the others, crash the host or flood its
//! storage: hostile strategies run in the engine (inside the multi-threaded
//! Tokio runtime the engine always runs in) beside the market maker, whose
//! journaled decisions must equal its solo run's, byte for byte.

mod common;

use pqap::engine::{Engine, EngineConfig, StrategySetup};
use pqap::execution::fees::FeeSchedule;
use pqap::execution::{FillConfig, FillSimulator, Slippage};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal, Projections, Stored};
use pqap::strategy::bindings::types::{Param, ParamValue};
use pqap::strategy::build::{BuildError, BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::{ArtifactError, ClockMode, FaultKind, RunState, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};

const START: u64 = 1_767_225_600_000_000_000;

fn generator() -> Generator {
    Generator::new(
        GeneratorConfig {
            seed: 11,
            markets: 2,
            ..GeneratorConfig::default()
        },
        START / 1_000_000,
    )
}

fn market_maker() -> StrategySetup {
    StrategySetup {
        markets: Vec::new(),
        artifact: common::market_maker(),
        params: vec![],
        limits: RiskLimits::default(),
    }
}

fn hostile(target: GuestTarget, mode: &str) -> StrategySetup {
    StrategySetup {
        markets: Vec::new(),
        artifact: common::load(
            &common::guest("tests/guests/hostile", target),
            &SandboxLimits::default(),
        ),
        params: vec![
            Param {
                name: "mode".into(),
                value: ParamValue::Text(mode.into()),
            },
            Param {
                name: "after".into(),
                value: ParamValue::Integer(2),
            },
        ],
        // Its flood is refused by risk, not by the venue: nothing it does
        // reaches the market the market maker trades in.
        limits: RiskLimits {
            max_open_orders: Some(5),
            max_orders_per_minute: Some(30),
            ..RiskLimits::default()
        },
    }
}

struct Session {
    engine: Engine<FillSimulator>,
    entries: Vec<Stored>,
}

/// Simulated time (fuel alone bounds calls) unless a test needs paper's
/// wall-clock deadlines.
fn config(sandbox: SandboxLimits, keep_quarantines: bool) -> EngineConfig {
    EngineConfig {
        run_id: "isolation".into(),
        mode: ClockMode::Simulated,
        seed: 7,
        sandbox,
        global_limits: RiskLimits::default(),
        mark_every_ns: 60_000_000_000,
        keep_quarantines,
    }
}

/// Runs `setups` over `steps` one-second updates of the same synthetic market.
async fn session(
    db: &std::path::Path,
    setups: Vec<StrategySetup>,
    config: EngineConfig,
    steps: usize,
) -> Session {
    let mut g = generator();
    let registry = common::session::registry(&g, FeeSchedule::FREE);
    let venue = FillSimulator::for_markets(
        FillConfig {
            submit_latency_ns: 20_000_000,
            cancel_latency_ns: 20_000_000,
            slippage: Slippage::BookWalk,
        },
        registry.markets(),
    );
    let journal = Journal::open(db).await.unwrap();
    let mut engine = Engine::start(config, registry, venue, journal, setups, START)
        .await
        .expect("the engine starts whatever its strategies do");
    for (now, update) in common::session::updates(&mut g, steps, START) {
        engine.on_update(&update, now).await.unwrap();
        engine.on_time(now).await.unwrap();
    }
    engine.shutdown().await.unwrap();
    let entries = engine.journal().read_from(1).await.unwrap();
    Session { engine, entries }
}

/// The market maker's (strategy 1) decisions and what became of them: its
/// commands, verdicts, orders and fills, as journaled — with each command's
/// cause written as the market event it names, since journal sequence numbers
/// depend on what else was journaled.
fn decisions(entries: &[Stored]) -> Vec<String> {
    let by_seq: std::collections::HashMap<i64, &Entry> =
        entries.iter().map(|e| (e.seq, &e.entry)).collect();
    entries
        .iter()
        .filter(|e| e.strategy == Some(1))
        .filter(|e| {
            matches!(
                e.entry,
                Entry::Command { .. }
                    | Entry::RiskVerdict { .. }
                    | Entry::OrderSubmitted { .. }
                    | Entry::Order { .. }
            )
        })
        .map(|e| {
            let mut entry = e.entry.clone();
            let mut cause_event = String::new();
            if let Entry::Command { cause, .. } = &mut entry
                && let Some(seq) = cause.take()
            {
                cause_event = serde_json::to_string(by_seq[&seq]).unwrap();
            }
            format!(
                "{} {} caused by {cause_event}",
                e.ts_ns,
                serde_json::to_string(&entry).unwrap()
            )
        })
        .collect()
}

/// Equal decision lists, or the first difference named.
fn assert_same(got: &[String], alone: &[String], what: &str) {
    if let Some(i) = (0..got.len().max(alone.len())).find(|&i| got.get(i) != alone.get(i)) {
        panic!(
            "{what}: decision {i} of {} differs from the solo run\n with: {:?}\nalone: {:?}",
            alone.len(),
            got.get(i),
            alone.get(i)
        );
    }
}

fn journal_bytes(entries: &[Stored], strategy: i64) -> usize {
    entries
        .iter()
        .filter(|e| e.strategy == Some(strategy))
        .map(|e| serde_json::to_string(&e.entry).unwrap().len())
        .sum()
}

async fn solo(steps: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let s = session(
        &dir.path().join("solo.db"),
        vec![market_maker()],
        config(SandboxLimits::default(), false),
        steps,
    )
    .await;
    let d = decisions(&s.entries);
    assert!(
        d.len() > 20,
        "the market maker trades alone ({} decisions)",
        d.len()
    );
    d
}

fn state(engine: &Engine<FillSimulator>, id: u32) -> RunState {
    engine.supervisor(id).expect("strategy").state().clone()
}

fn fault_kinds(engine: &Engine<FillSimulator>, id: u32) -> Vec<FaultKind> {
    engine
        .supervisor(id)
        .expect("strategy")
        .faults()
        .iter()
        .map(|f| f.fault.kind())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip2_guests_that_print_read_sleep_and_poll_run_in_the_engine_beside_a_market_maker() {
    const STEPS: usize = 60;
    let alone = solo(STEPS).await;
    let dir = tempfile::tempdir().unwrap();
    let modes = ["print", "stdin", "sleep", "sleep_long", "poll", "exit"];
    let mut setups = vec![market_maker()];
    setups.extend(modes.iter().map(|m| hostile(GuestTarget::Wasip2, m)));
    // Paper's clock: fuel and the wall-clock deadline.
    let wall = EngineConfig {
        mode: ClockMode::Wall,
        ..config(SandboxLimits::default(), false)
    };
    let s = session(&dir.path().join("j.db"), setups, wall, STEPS).await;
    assert_eq!(
        decisions(&s.entries),
        alone,
        "the market maker noticed its neighbours"
    );
    for (i, mode) in modes.iter().enumerate() {
        let id = i as u32 + 2;
        let faults = fault_kinds(&s.engine, id);
        match *mode {
            "print" | "stdin" | "sleep" => {
                assert!(faults.is_empty(), "`{mode}`: {faults:?}");
                assert_eq!(state(&s.engine, id), RunState::Running, "`{mode}`");
            }
            "sleep_long" | "poll" => {
                assert!(!faults.is_empty(), "`{mode}` never faulted");
                assert!(
                    faults.iter().all(|k| *k == FaultKind::Blocked),
                    "`{mode}`: {faults:?}"
                );
            }
            _ => assert!(faults.iter().all(|k| *k == FaultKind::Exited) && !faults.is_empty()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_that_cannot_start_is_quarantined_and_the_others_trade() {
    const STEPS: usize = 40;
    let alone = solo(STEPS).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let setups = vec![
        market_maker(),
        hostile(GuestTarget::UnknownUnknown, "loop_init"),
        hostile(GuestTarget::Wasip2, "refuse_init"),
    ];
    let s = session(&db, setups, config(SandboxLimits::default(), true), STEPS).await;
    assert_same(
        &decisions(&s.entries),
        &alone,
        "neighbours that cannot start",
    );
    assert_eq!(state(&s.engine, 2), RunState::Quarantined);
    assert_eq!(fault_kinds(&s.engine, 2), [FaultKind::OutOfFuel]);
    assert_eq!(fault_kinds(&s.engine, 3), [FaultKind::InitRefused]);
    let p = Projections::replay(&s.entries);
    assert!(
        p.quarantined[&2].contains("could not start: out of fuel in `init`"),
        "{:?}",
        p.quarantined
    );
    let status = pqap::report::views::status(&p, s.engine.journal().next_seq());
    let states: Vec<&str> = status["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["active", "quarantined", "quarantined"]);
    drop(s);

    // A server restart keeps them quarantined even though their parameters
    // would now let them start; naming them to run again (paper) starts them.
    let mut fixed = vec![market_maker()];
    fixed.push(hostile(GuestTarget::UnknownUnknown, "none"));
    let s = session(&db, fixed, config(SandboxLimits::default(), true), 5).await;
    assert_eq!(state(&s.engine, 2), RunState::Quarantined);
    assert!(
        s.engine.supervisor(2).unwrap().faults().is_empty(),
        "not called at all"
    );
    drop(s);
    let mut fixed = vec![market_maker()];
    fixed.push(hostile(GuestTarget::UnknownUnknown, "none"));
    let s = session(&db, fixed, config(SandboxLimits::default(), false), 5).await;
    assert_eq!(state(&s.engine, 2), RunState::Running);
}

fn tight_journal() -> SandboxLimits {
    SandboxLimits {
        max_journal_bytes_per_minute: 256 << 10,
        snapshot_every_calls: 1,
        max_faults: 3,
        restart_backoff_ms: 1_000,
        ..SandboxLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_flooding_the_journal_is_faulted_before_its_flood_is_journaled() {
    const STEPS: usize = 120;
    let alone = solo(STEPS).await;
    for (mode, expect) in [
        ("journal_flood", FaultKind::Budget),
        ("snapshot_churn", FaultKind::Budget),
        ("timer_flood", FaultKind::Budget),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            &dir.path().join("j.db"),
            vec![market_maker(), hostile(GuestTarget::UnknownUnknown, mode)],
            config(tight_journal(), false),
            STEPS,
        )
        .await;
        assert_eq!(
            decisions(&s.entries),
            alone,
            "`{mode}` disturbed the market maker"
        );
        let faults = fault_kinds(&s.engine, 2);
        assert!(!faults.is_empty(), "`{mode}` was never stopped");
        assert!(faults.iter().all(|k| *k == expect), "`{mode}`: {faults:?}");
        let fault = s.engine.supervisor(2).unwrap().faults()[0]
            .fault
            .to_string();
        assert!(fault.contains("budget"), "{fault}");
        // Two minutes of host time: at most two minutes of budget (plus the
        // fault and quarantine entries and snapshot blobs' references).
        let bytes = journal_bytes(&s.entries, 2);
        assert!(bytes < 2 * (256 << 10), "`{mode}` journaled {bytes} bytes");
        let blob_bytes: (i64,) =
            sqlx::query_as("SELECT COALESCE(SUM(size), 0) FROM snapshot_blobs")
                .fetch_one(s.engine.journal().pool())
                .await
                .unwrap();
        assert!(
            blob_bytes.0 < 2 * (256 << 10) + (1 << 20),
            "`{mode}`: {} blob bytes",
            blob_bytes.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_snapshots_are_stored_once_and_foreign_cancels_are_not_journaled() {
    const STEPS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let limits = SandboxLimits {
        snapshot_every_calls: 1,
        ..SandboxLimits::default()
    };
    let s = session(
        &dir.path().join("j.db"),
        vec![
            market_maker(),
            hostile(GuestTarget::UnknownUnknown, "snapshot_same"),
            hostile(GuestTarget::UnknownUnknown, "cancel_flood"),
        ],
        config(limits, false),
        STEPS,
    )
    .await;
    assert!(fault_kinds(&s.engine, 2).is_empty());
    assert!(fault_kinds(&s.engine, 3).is_empty());
    let snapshots = s
        .entries
        .iter()
        .filter(|e| e.strategy == Some(2) && matches!(e.entry, Entry::Snapshot { .. }))
        .count();
    assert!(snapshots > 50, "{snapshots} snapshots");
    let (blobs, bytes): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), SUM(size) FROM snapshot_blobs WHERE size > 1000000")
            .fetch_one(s.engine.journal().pool())
            .await
            .unwrap();
    assert_eq!((blobs, bytes), (1, 3 << 20), "one 3 MiB state, stored once");
    assert!(journal_bytes(&s.entries, 2) < 64 << 10);
    // 900 cancels of unknown ids a call for a minute: none journaled.
    let cancels = s
        .entries
        .iter()
        .filter(|e| e.strategy == Some(3))
        .filter(|e| matches!(&e.entry, Entry::Command { reason, .. } if reason == "not mine"))
        .count();
    assert_eq!(cancels, 0);
    assert!(journal_bytes(&s.entries, 3) < 64 << 10);
}

#[test]
fn a_giant_describe_is_refused_at_validation() {
    // Built for wasip2 so cargo's own output is a component to upload as is.
    let target_dir = common::repo().join("target/guests");
    let err = build_strategy(
        &common::engine(),
        &BuildOptions {
            crate_dir: common::repo().join("tests/guests/bloated"),
            target: GuestTarget::Wasip2,
            out_dir: Some(target_dir.join("out/bloated")),
            target_dir: Some(target_dir.clone()),
        },
        &SandboxLimits::default(),
    )
    .expect_err("`pqap strategy build` accepted 40 MB of description");
    assert!(
        matches!(&err, BuildError::Invalid(ArtifactError::BadDescribe(_))),
        "{err}"
    );
    let bytes = std::fs::read(target_dir.join("wasm32-wasip2/release/pqap_bloated_guest.wasm"))
        .expect("cargo output of the bloated guest");
    let err = common::engine()
        .load(&bytes, &SandboxLimits::default())
        .expect_err("an upload of it accepted");
    let text = err.to_string();
    assert!(
        text.contains("description is 41943040 bytes, over the limit of 4096"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_events_and_timers_around_a_fault_reach_the_restarted_strategy_in_order() {
    // It bids and arms a timer, panics on its next call (its bid is then
    // cancelled by the host and its timer falls due while it backs off), and
    // restarts from the restart point taken after its first call.
    let dir = tempfile::tempdir().unwrap();
    let mut bidder = hostile(GuestTarget::UnknownUnknown, "panic_once");
    bidder.params[1].value = ParamValue::Integer(1);
    bidder.limits = RiskLimits::default();
    let limits = SandboxLimits {
        snapshot_every_calls: 1,
        ..SandboxLimits::default()
    };
    let s = session(
        &dir.path().join("j.db"),
        vec![bidder],
        config(limits, false),
        8,
    )
    .await;
    let faults = fault_kinds(&s.engine, 1);
    assert_eq!(faults, [FaultKind::Panic]);
    let heard: Vec<&str> = s
        .entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Command { reason, .. } if reason.starts_with("heard") => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        ["heard cancel 1", "heard timer 5"],
        "what the restarted strategy heard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rates_of_commands_journal_entries_and_timers_are_budgeted() {
    const STEPS: usize = 30;
    let alone = solo(STEPS).await;
    for (mode, limits, what) in [
        (
            "cancel_flood",
            SandboxLimits {
                max_commands_per_second: 500,
                ..SandboxLimits::default()
            },
            "command budget",
        ),
        (
            "journal_flood",
            SandboxLimits {
                max_journal_bytes_per_minute: 1 << 40,
                max_journal_entries_per_second: 800,
                ..SandboxLimits::default()
            },
            "journal entry budget",
        ),
        (
            "timer_flood",
            SandboxLimits {
                max_timers_per_second: 100,
                ..SandboxLimits::default()
            },
            "timer budget",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            &dir.path().join("j.db"),
            vec![market_maker(), hostile(GuestTarget::UnknownUnknown, mode)],
            config(limits, false),
            STEPS,
        )
        .await;
        assert_same(&decisions(&s.entries), &alone, mode);
        let faults = s.engine.supervisor(2).unwrap().faults();
        assert!(!faults.is_empty(), "`{mode}` was never stopped");
        let text = faults[0].fault.to_string();
        assert!(text.contains(what), "`{mode}`: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_trades_only_the_markets_it_is_set_to() {
    let g = generator();
    let slug = g.markets()[1].slug.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut mm = market_maker();
    mm.markets = vec![slug];
    let mut lost = market_maker();
    lost.artifact = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown),
        &SandboxLimits::default(),
    );
    lost.markets = vec!["no-such-market".into()];
    let s = session(
        &dir.path().join("j.db"),
        vec![mm, lost],
        config(SandboxLimits::default(), false),
        30,
    )
    .await;
    // Its instruments are the second market's (ids 2 and 3) and nothing else.
    let ids: Vec<u32> = s
        .engine
        .supervisor(1)
        .unwrap()
        .config()
        .instruments
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, [2, 3]);
    let second: Vec<_> = g.markets()[1]
        .tokens
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    let orders: Vec<_> = s
        .entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } if order.key.strategy == 1 => Some(order.token.clone()),
            _ => None,
        })
        .collect();
    assert!(
        !orders.is_empty() && orders.iter().all(|t| second.contains(t)),
        "{orders:?}"
    );
    // A strategy set to a market the run does not trade cannot start: named.
    let faults = s.engine.supervisor(2).unwrap().faults();
    assert_eq!(faults[0].fault.kind(), FaultKind::Misconfigured);
    assert!(faults[0].fault.to_string().contains("`no-such-market`"));
}
