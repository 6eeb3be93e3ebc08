//! The market universe is live: markets the venue lists while a session runs
//! join it (the feed follows, strategies that trade every market see them),
//! and markets it stops listing close to orders at once.

mod common;

use std::time::Duration;

use pqap::data::quality::Untradeable;
use pqap::engine::{Engine, EngineConfig, StrategySetup};
use pqap::execution::fees::FeeSchedule;
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::{CancelCause, OrderEvent};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};

const START: u64 = 1_767_225_600_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_the_venue_stops_listing_closes_to_orders_at_once() {
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 4,
            markets: 2,
            ..GeneratorConfig::default()
        },
        START / 1_000_000,
    );
    let registry = common::session::registry(&g, FeeSchedule::FREE);
    let specs = registry.markets().to_vec();
    let venue = FillSimulator::for_markets(FillConfig::default(), registry.markets());
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("m.db")).await.unwrap();
    let config = EngineConfig {
        run_id: "markets".into(),
        mode: ClockMode::Simulated,
        seed: 1,
        sandbox: SandboxLimits::default(),
        global_limits: RiskLimits::default(),
        mark_every_ns: 60_000_000_000,
        keep_quarantines: false,
    };
    let setups = vec![StrategySetup {
        artifact: common::market_maker(),
        params: vec![],
        limits: RiskLimits::default(),
        markets: Vec::new(),
    }];
    let mut engine: Engine<FillSimulator> =
        Engine::start(config, registry, venue, journal, setups, START)
            .await
            .unwrap();
    let updates = common::session::updates(&mut g, 30, START);
    let (first, rest) = updates.split_at(15);
    for (now, u) in first {
        engine.on_update(u, *now).await.unwrap();
    }
    let closing: Vec<_> = specs[1].tokens.iter().map(|(t, _)| t.clone()).collect();
    let quoted_there = |entries: &[pqap::store::Stored]| {
        entries.iter().any(|e| matches!(&e.entry, Entry::OrderSubmitted { order } if closing.contains(&order.token)))
    };
    assert!(
        quoted_there(&engine.journal().read_from(1).await.unwrap()),
        "the market maker quotes market 1"
    );
    // The venue lists only market 0 now.
    let change = engine.update_markets(&specs[..1]).await.unwrap();
    assert_eq!(change.closed, [specs[1].condition.clone()]);
    assert!(change.added.is_empty());
    let closed_at = engine.journal().next_seq() - 1;
    for t in &closing {
        assert_eq!(
            engine.books().quality().status(t),
            Some(Untradeable::Closed)
        );
    }
    for (now, u) in rest {
        engine.on_update(u, *now).await.unwrap();
        engine.on_time(*now).await.unwrap();
    }
    let entries = engine.journal().read_from(1).await.unwrap();
    let after: Vec<_> = entries
        .iter()
        .filter(|e| e.seq > closed_at)
        .cloned()
        .collect();
    assert!(!quoted_there(&after), "an order reached a closed market");
    let withdrawn = entries.iter().filter(|e| e.seq <= closed_at + 50).any(|e| {
        matches!(
            &e.entry,
            Entry::Order {
                event: OrderEvent::Cancelled {
                    cause: CancelCause::Host,
                    ..
                }
            }
        )
    });
    assert!(withdrawn, "its working orders were not withdrawn");
    assert!(
        entries.iter().any(
            |e| matches!(&e.entry, Entry::MarketsChanged { closed, .. } if !closed.is_empty())
        )
    );
    for t in &closing {
        assert_eq!(
            engine.books().quality().status(t),
            Some(Untradeable::Closed),
            "a book reopened it"
        );
    }
}

#[test]
fn a_market_listed_while_paper_trading_joins_the_session() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Two markets, a third listed after 5 s: paper must have started (listed
    // its markets) before then, even on a loaded machine.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["sim", "--bind", &addr.to_string(), "--step", "20ms"])
        .args(["--seed", "5", "--markets", "2", "--add-market-after", "250"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _sim = common::server::Guard(child);
    common::server::wait_for(20, "pqap sim", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
    let dir = tempfile::tempdir().unwrap();
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    // dev.yaml's 120 orders a minute is spent within seconds at a 20 ms step;
    // the new market's quotes would then be refused by the rate limit, which
    // is not what this test is about.
    let dev = std::fs::read_to_string(common::repo().join("configs/dev.yaml")).unwrap();
    assert!(
        dev.contains("max_orders_per_minute: 120"),
        "dev.yaml changed"
    );
    let config = dir.path().join("dev.yaml");
    std::fs::write(
        &config,
        dev.replace(
            "max_orders_per_minute: 120",
            "max_orders_per_minute: 100000",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("paper")
        .arg(&mm)
        .arg("--config")
        .arg(&config)
        .arg("--db")
        .arg(dir.path().join("p.db"))
        .args(["--duration", "10s", "--json"])
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"))
        .env("PQAP_VENUE_MARKETS_REFRESH_S", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = common::server::json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        summary["markets"], 2,
        "the third market was listed before paper started: the test proves nothing"
    );
    let (_, body) = common::server::request(addr, "GET", "/gamma/markets");
    let listed = common::server::json(&body);
    let third = &listed.as_array().unwrap()[2];
    let tokens: Vec<String> =
        serde_json::from_str(third["clobTokenIds"].as_str().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        Journal::open(&dir.path().join("p.db"))
            .await
            .unwrap()
            .read_from(1)
            .await
            .unwrap()
    });
    assert!(
        entries
            .iter()
            .any(|e| matches!(&e.entry, Entry::MarketsChanged { added, .. }
            if added.iter().any(|c| c.as_str() == third["conditionId"].as_str().unwrap()))),
        "the new market never joined"
    );
    let starts = entries
        .iter()
        .filter(|e| matches!(e.entry, Entry::StrategyStarted { .. }))
        .count();
    assert!(
        starts >= 2,
        "the market maker was not re-initialised with it ({starts} starts)"
    );
    let quoted = entries.iter().any(|e| {
        matches!(&e.entry, Entry::OrderSubmitted { order } if tokens.contains(&order.token.to_string()))
    });
    assert!(quoted, "the market maker never quoted the new market");
}
