//! The session loop `paper`, `serve` and `live` share, driven in-process against
//! an in-process `pqap sim`: it trades, follows markets the venue lists while it
//! runs, stops on its signal or deadline, and leaves a journal that verifies.

mod common;

use std::time::Duration;

use pqap::data::feed::{FeedConfig, FeedCounters};
use pqap::engine::runner::{
    Ended, MarketSelector, Session, SessionObserver, SessionSettings, wall_ns,
};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::OrderEvent;
use pqap::risk::RiskLimits;
use pqap::store::Journal;
use pqap::store::entry::Entry;
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::MarketSpec;
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};

async fn sim(add_market_after: Option<u64>) -> SimServer {
    let g = Generator::new(
        GeneratorConfig {
            seed: 11,
            markets: 2,
            step_ms: 50,
            add_market_after,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(50),
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts")
}

fn feed_config(sim: &SimServer) -> FeedConfig {
    FeedConfig {
        http: HttpConfig {
            clob_url: sim.clob_url(),
            gamma_url: sim.gamma_url(),
            ..HttpConfig::default()
        },
        ws: WsConfig {
            url: sim.ws_url(),
            ..WsConfig::default()
        },
        ..FeedConfig::default()
    }
}

/// The market maker on every open market of `sim`, journaling into `db`.
async fn session(sim: &SimServer, db: &std::path::Path) -> (Session<FillSimulator>, usize) {
    let feed = feed_config(sim);
    let http = PolymarketHttp::new(feed.http.clone()).unwrap();
    let listed = MarketSelector::all().open_on(&http).await.unwrap();
    let markets: Vec<MarketSpec> = listed.iter().map(MarketSpec::from).collect();
    let start = wall_ns();
    let engine = Engine::start(
        EngineConfig {
            run_id: "runner".into(),
            mode: ClockMode::Wall,
            seed: 5,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits::default(),
            mark_every_ns: 1_000_000_000,
            keep_quarantines: false,
        },
        Registry::new(markets.clone()),
        FillSimulator::for_markets(FillConfig::default(), &markets),
        Journal::open(db).await.unwrap(),
        vec![StrategySetup {
            artifact: common::market_maker(),
            params: Vec::new(),
            limits: RiskLimits::default(),
            markets: Vec::new(),
        }],
        start,
    )
    .await
    .unwrap();
    let mut settings = SessionSettings::new(feed, MarketSelector::all());
    settings.markets_refresh = Duration::from_millis(500);
    settings.report = Duration::from_millis(200);
    (Session::new(engine, settings, None).unwrap(), markets.len())
}

/// Remembers what the reports showed.
#[derive(Default)]
struct Seen {
    reports: u32,
    most_tokens: usize,
    feed: FeedCounters,
}

impl SessionObserver<FillSimulator> for Seen {
    async fn on_report(
        &mut self,
        engine: &Engine<FillSimulator>,
        feed: FeedCounters,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.reports += 1;
        self.most_tokens = self.most_tokens.max(engine.open_tokens().len());
        self.feed = feed;
        Ok(())
    }
}

/// Sends the stop signal at the first report with orders working.
struct StopWhenQuoting(Option<tokio::sync::oneshot::Sender<()>>);

impl SessionObserver<FillSimulator> for StopWhenQuoting {
    async fn on_report(
        &mut self,
        engine: &Engine<FillSimulator>,
        _: FeedCounters,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if engine.working_orders() > 0
            && let Some(stop) = self.0.take()
        {
            let _ = stop.send(());
        }
        Ok(())
    }
}

async fn order_events(db: &std::path::Path) -> Vec<OrderEvent> {
    Journal::open(db)
        .await
        .unwrap()
        .read_from(1)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.entry {
            Entry::Order { event } => Some(event),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_trades_follows_new_markets_and_ends_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    // One more market opens after 40 steps (2 s).
    let sim = sim(Some(40)).await;
    let (mut session, listed) = session(&sim, &db).await;
    assert_eq!(listed, 2);
    let deadline = wall_ns() + 6_000_000_000;
    let mut seen = Seen::default();
    assert_eq!(session.engine().open_tokens().len(), 4);
    let ended = tokio::time::timeout(
        Duration::from_secs(30),
        run_until(&mut session, deadline, &mut seen),
    )
    .await
    .expect("the session ends by its deadline");
    assert_eq!(ended, Ended::Deadline);
    assert_eq!(
        session.engine().open_tokens().len(),
        6,
        "the market listed while running joined"
    );
    assert_eq!(seen.most_tokens, 6);
    assert!(seen.reports >= 10, "reports: {}", seen.reports);
    assert!(
        seen.feed.updates > 0 && seen.feed.connected,
        "{:?}",
        seen.feed
    );
    let (engine, recorded) = session.finish().await.unwrap();
    assert_eq!(recorded, None);
    drop(engine);
    let events = order_events(&db).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { .. })),
        "the market maker's quotes were accepted: {events:?}"
    );
    let report = Journal::open(&db).await.unwrap().verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
}

/// `run` with a stop signal that never fires: only the deadline ends it.
async fn run_until(
    session: &mut Session<FillSimulator>,
    deadline_ns: u64,
    seen: &mut Seen,
) -> Ended {
    session.set_deadline(Some(deadline_ns));
    session
        .run(std::future::pending::<()>(), seen)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_signal_ends_the_session_and_cancel_all_leaves_nothing_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let sim = sim(None).await;
    let (mut session, _) = session(&sim, &db).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Stopped once quotes are working, however long a loaded machine takes
    // to get there (the timeout bounds it).
    let mut seen = StopWhenQuoting(Some(stop_tx));
    let ended = tokio::time::timeout(
        Duration::from_secs(30),
        session.run(
            async {
                let _ = stop_rx.await;
            },
            &mut seen,
        ),
    )
    .await
    .expect("the session stops when told")
    .unwrap();
    assert_eq!(ended, Ended::Stopped);
    assert!(
        session.engine().working_orders() > 0,
        "the market maker had quotes working"
    );
    let left = session
        .cancel_all_and_wait(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(left, 0);
    session.finish().await.unwrap();
    let events = order_events(&db).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, OrderEvent::Cancelled { .. }))
    );
    let report = Journal::open(&db).await.unwrap().verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
}
