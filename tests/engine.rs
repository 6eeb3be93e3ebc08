//! The engine end to end on a synthetic session: strategies in sandboxes, risk,
//! a venue, the journal; replaying the journal rebuilds the same portfolio, the
//! chain verifies, and the same inputs give the same journal hash.

mod common;

use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::execution::{FillConfig, FillSimulator, Slippage};
use pqap::model::{Liquidity, Side};
use pqap::risk::{RiskLimits, TradingState};
use pqap::store::{Journal, Projections};
use pqap::strategy::bindings::types::{Param, ParamValue};
use pqap::strategy::build::GuestTarget;
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use rust_decimal::Decimal;

/// The fill simulator with 20 ms latencies, rules and fees of every market.
fn venue(registry: &Registry) -> FillSimulator {
    FillSimulator::for_markets(
        FillConfig {
            submit_latency_ns: 20_000_000,
            cancel_latency_ns: 20_000_000,
            slippage: Slippage::BookWalk,
        },
        registry.markets(),
    )
}

struct RunResult {
    head_hash: String,
    fills: usize,
    faults: usize,
    projections_match: bool,
    hostile_working: usize,
}

async fn run(seed: u64, dir: &std::path::Path) -> RunResult {
    let start = 1_767_225_600_000_000_000u64;
    let mut g = Generator::new(
        GeneratorConfig {
            seed,
            markets: 3,
            resolve_after: Some(400),
            ..GeneratorConfig::default()
        },
        start / 1_000_000,
    );
    let journal = Journal::open(&dir.join("journal.db")).await.unwrap();
    let limits = SandboxLimits {
        max_faults: 2,
        ..SandboxLimits::default()
    };
    let hostile = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown),
        &limits,
    );
    let setups = vec![
        StrategySetup {
            markets: Vec::new(),
            artifact: common::market_maker(),
            params: vec![],
            limits: RiskLimits {
                max_position_shares: Some(Decimal::from(200)),
                ..RiskLimits::default()
            },
        },
        StrategySetup {
            markets: Vec::new(),
            artifact: common::load(
                &common::guest("strategies/complement-arb", GuestTarget::UnknownUnknown),
                &limits,
            ),
            params: vec![],
            limits: RiskLimits::default(),
        },
        StrategySetup {
            markets: Vec::new(),
            artifact: hostile,
            params: vec![
                Param {
                    name: "mode".into(),
                    value: ParamValue::Text("panic".into()),
                },
                Param {
                    name: "after".into(),
                    value: ParamValue::Integer(20),
                },
            ],
            limits: RiskLimits::default(),
        },
    ];
    let config = EngineConfig {
        run_id: format!("test-{seed}"),
        mode: ClockMode::Simulated,
        seed,
        sandbox: limits,
        global_limits: RiskLimits {
            max_total_exposure: Some(Decimal::from(5_000)),
            ..RiskLimits::default()
        },
        mark_every_ns: 60_000_000_000,
        keep_quarantines: false,
    };
    let registry = common::session::registry(
        &g,
        pqap::execution::fees::FeeSchedule {
            rate_millionths: 20_000,
            exponent: 1,
            taker_only: true,
            rebate_millionths: 200_000,
        },
    );
    let venue = venue(&registry);
    let mut engine = Engine::start(config, registry, venue, journal, setups, start)
        .await
        .unwrap();
    for (i, (now, update)) in common::session::updates(&mut g, 401, start)
        .into_iter()
        .enumerate()
    {
        engine.on_update(&update, now).await.unwrap();
        engine.on_time(now).await.unwrap();
        if i == 200 {
            engine
                .set_trading_state(TradingState::Reducing, "test")
                .await
                .unwrap();
        }
    }
    let report = engine.journal().verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    let entries = engine.journal().read_from(1).await.unwrap();
    let projections = Projections::replay(&entries);
    assert!(
        projections.anomalies.is_empty(),
        "{:?}",
        projections.anomalies
    );
    // Every buy filled while reducing would be a risk failure.
    let reducing_from = entries
        .iter()
        .find(|e| matches!(e.entry, pqap::store::Entry::TradingState { .. }))
        .map(|e| e.seq)
        .unwrap();
    assert!(
        projections.fills.iter().all(|f| f.seq < reducing_from
            || f.fill.side == Side::Sell
            || f.fill.liquidity == Liquidity::Maker),
        "no new buying after REDUCING"
    );
    let hostile_working = projections
        .open_orders()
        .filter(|o| o.order.key.strategy == 3)
        .count();
    RunResult {
        head_hash: report.head_hash,
        fills: projections.fills.len(),
        faults: projections.faults.len(),
        projections_match: &projections.portfolio == engine.portfolio(),
        hostile_working,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_journals_replays_and_reproduces() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // Seed 4: since the simulator's NO books mirror its YES books, seed 3's
    // session trades less (10 fills); seed 4's gives the strategies 17.
    let first = run(4, a.path()).await;
    assert!(first.fills > 10, "strategies trade ({} fills)", first.fills);
    assert_eq!(
        first.faults, 2,
        "the hostile strategy faulted until quarantined"
    );
    assert_eq!(
        first.hostile_working, 0,
        "a faulted strategy leaves no working orders"
    );
    assert!(
        first.projections_match,
        "replayed portfolio equals the live one"
    );
    let second = run(4, b.path()).await;
    assert_eq!(
        first.head_hash, second.head_hash,
        "same inputs, same journal hash"
    );
}

fn pqap(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .output()
        .expect("run pqap");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_read_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    run(9, dir.path()).await;
    let db = dir.path().join("journal.db");
    let db = db.to_str().unwrap();

    let (ok, out, err) = pqap(&["status", "--db", db, "--json"]);
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["trading_state"], "reducing");
    assert_eq!(status["strategies"].as_array().unwrap().len(), 3);
    assert!(status["fills"].as_u64().unwrap() > 0);

    let (ok, out, _) = pqap(&["trades", "--db", db, "--last", "5", "--json"]);
    assert!(ok);
    let trades: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(trades.len(), 5);
    // Explain a fill whose order came from a quote-driven command.
    let seq = trades
        .iter()
        .find(|t| {
            t["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("quote_") || r.starts_with("arb_"))
        })
        .map(|t| t["seq"].as_i64().unwrap())
        .expect("a strategy fill among the latest");
    let (ok, out, err) = pqap(&[
        "trades",
        "--db",
        db,
        "--explain",
        &seq.to_string(),
        "--json",
    ]);
    assert!(ok, "{err}");
    let story: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(story["command"]["entry"]["reason"].is_string(), "{story}");
    assert!(
        story["cause"]["entry"]["event"]["kind"].is_string(),
        "fill → order → command → market event: {story}"
    );

    let (ok, out, _) = pqap(&["positions", "--db", db, "--json"]);
    assert!(ok);
    assert!(serde_json::from_str::<Vec<serde_json::Value>>(&out).is_ok());
    let (ok, out, _) = pqap(&["performance", "--db", db, "--period", "1d", "--json"]);
    assert!(ok);
    let perf: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(
        perf.iter()
            .any(|s| !s["by_reason"].as_array().unwrap().is_empty())
    );
    let (ok, out, _) = pqap(&["journal", "verify", "--db", db, "--json"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["ok"],
        true
    );

    let (ok, _, err) = pqap(&["risk", "halt", "--db", db]);
    assert!(ok, "{err}");
    let journal = Journal::open(&dir.path().join("journal.db")).await.unwrap();
    assert_eq!(
        pqap::store::control::pending(journal.pool())
            .await
            .unwrap()
            .len(),
        1
    );
    let (ok, _, err) = pqap(&["risk", "sideways", "--db", db]);
    assert!(!ok && err.contains("sideways"), "{err}");
    let (ok, _, err) = pqap(&["status", "--db", "/nonexistent/x.db"]);
    assert!(!ok && err.contains("no database"), "{err}");
}
