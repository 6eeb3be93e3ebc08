//! In-process live sessions against the local exchange, for the tests that
//! inject venue faults: the exchange with the test account funded, the
//! strategies they trade, a session wired as `pqap live` wires one (signer,
//! user channel, heartbeats, reconciliation), and readers of its journal.

use std::sync::Arc;
use std::time::Duration;

use pqap::data::feed::FeedConfig;
use pqap::engine::runner::{Ended, MarketSelector, Session, SessionSettings, Unobserved, wall_ns};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::model::{Fill, Order, OrderEvent};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal, Stored};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::MarketSpec;
use pqap::venue::polymarket::execution::user_feed::UserFeedConfig;
use pqap::venue::polymarket::execution::{ClobClient, OrderSigner, PolymarketVenue};
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::signing::{Account, PrivateKey};
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::exchange::{AccountConfig, ExchangeConfig};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};

pub use super::live::KEY;

/// The account's collateral at the start, in micro-dollars.
pub const START_COLLATERAL: u64 = 1_000_000_000;

/// The exchange (one market, 20 ms steps) with the test account holding
/// `collateral` micro-dollars; it cancels a key's orders after
/// `heartbeat_timeout_ms` without a heartbeat (`None`: the venue's default).
pub async fn exchange_with(collateral: u64, heartbeat_timeout_ms: Option<u64>) -> SimServer {
    exchange_configured(collateral, |c| {
        if let Some(ms) = heartbeat_timeout_ms {
            c.heartbeat_timeout_ms = ms;
        }
    })
    .await
}

/// The exchange with the account holding `collateral` micro-dollars, its
/// configuration changed by `tweak` (settlement delays, heartbeat timeout).
pub async fn exchange_configured(
    collateral: u64,
    tweak: impl FnOnce(&mut ExchangeConfig),
) -> SimServer {
    let key = PrivateKey::from_hex(KEY, "test").unwrap();
    let g = Generator::new(
        GeneratorConfig {
            seed: 5,
            markets: 1,
            step_ms: 20,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    let mut exchange = ExchangeConfig {
        accounts: [(
            key.address(),
            AccountConfig {
                collateral,
                ..AccountConfig::default()
            },
        )]
        .into_iter()
        .collect(),
        ..ExchangeConfig::default()
    };
    tweak(&mut exchange);
    SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(20),
            exchange,
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .unwrap()
}

/// The exchange with the account holding `START_COLLATERAL`.
pub async fn exchange() -> SimServer {
    exchange_with(START_COLLATERAL, None).await
}

pub fn market_maker() -> StrategySetup {
    StrategySetup {
        artifact: super::market_maker(),
        params: Vec::new(),
        limits: RiskLimits::default(),
        markets: Vec::new(),
    }
}

/// The market maker quoting both outcomes of every market (trades sooner).
pub fn market_maker_all_outcomes() -> StrategySetup {
    StrategySetup {
        params: vec![pqap::strategy::bindings::types::Param {
            name: "all_outcomes".into(),
            value: pqap::strategy::bindings::types::ParamValue::Flag(true),
        }],
        ..market_maker()
    }
}

/// The hostile guest's `buy_once`: one FAK buy of 10 shares at the ask.
pub fn buy_once() -> StrategySetup {
    StrategySetup {
        artifact: super::load(
            &super::guest(
                "tests/guests/hostile",
                pqap::strategy::build::GuestTarget::UnknownUnknown,
            ),
            &SandboxLimits::default(),
        ),
        params: vec![pqap::strategy::bindings::types::Param {
            name: "mode".into(),
            value: pqap::strategy::bindings::types::ParamValue::Text("buy_once".into()),
        }],
        limits: RiskLimits::default(),
        markets: Vec::new(),
    }
}

/// How a session is wired to the exchange.
#[derive(Debug, Clone, Default)]
pub struct Wiring {
    /// Listen on the user channel; without it only HTTP answers and
    /// reconciliation tell the engine what happened.
    pub user_channel: bool,
    /// Reconcile this often (`None`: only when the venue asks).
    pub reconcile_every: Option<Duration>,
    /// Send heartbeats this often (`None`: none).
    pub heartbeats: Option<Duration>,
}

/// The exchange's REST addresses.
pub fn http(sim: &SimServer) -> HttpConfig {
    HttpConfig {
        clob_url: sim.clob_url(),
        gamma_url: sim.gamma_url(),
        ..HttpConfig::default()
    }
}

/// The market feed from the exchange.
pub fn feed(sim: &SimServer) -> FeedConfig {
    FeedConfig {
        http: http(sim),
        ws: WsConfig {
            url: sim.ws_url(),
            ..WsConfig::default()
        },
        ..FeedConfig::default()
    }
}

/// The exchange's open markets, as a session trades them.
pub async fn open_markets(sim: &SimServer) -> Vec<MarketSpec> {
    let listed = MarketSelector::all()
        .open_on(&PolymarketHttp::new(http(sim)).unwrap())
        .await
        .unwrap();
    listed.iter().map(MarketSpec::from).collect()
}

/// `strategy` trading live on `sim` through the account's key, journaling
/// into `db`.
pub async fn session(
    sim: &SimServer,
    db: &std::path::Path,
    strategy: StrategySetup,
    wiring: Wiring,
) -> Session<PolymarketVenue> {
    let key = Arc::new(PrivateKey::from_hex(KEY, "test").unwrap());
    let client = ClobClient::new(&sim.clob_url(), 137, Duration::from_secs(3)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    let client = client.authenticated(&creds, key.address());
    let first_beat = match wiring.heartbeats {
        Some(_) => Some(client.heartbeat(None).await.unwrap()),
        None => None,
    };
    let markets = open_markets(sim).await;
    let signer = OrderSigner::new(
        key.clone(),
        Account::eoa(key.address()),
        137,
        &creds.api_key,
    );
    let mut venue = PolymarketVenue::start(client, signer, &markets);
    if wiring.user_channel {
        venue.start_user_feed(UserFeedConfig::beside_market(&sim.ws_url()), creds);
    }
    if let (Some(every), Some(first)) = (wiring.heartbeats, first_beat) {
        venue.start_heartbeats(first, every);
    }
    let engine = Engine::start(
        EngineConfig {
            run_id: "live-session".into(),
            mode: ClockMode::Wall,
            seed: 3,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits::default(),
            mark_every_ns: 1_000_000_000,
            keep_quarantines: false,
        },
        Registry::new(markets.clone()),
        venue,
        Journal::open(db).await.unwrap(),
        vec![strategy],
        wall_ns(),
    )
    .await
    .unwrap();
    assert!(engine.unreconciled().is_none(), "reconciled at the start");
    let mut settings = SessionSettings::new(feed(sim), MarketSelector::all());
    settings.reconcile_every = wiring.reconcile_every;
    Session::new(engine, settings, None).unwrap()
}

/// Switches the exchange's faults on, as `POST /_sim/faults` does.
pub async fn inject(sim: &SimServer, faults: serde_json::Value) {
    pqap::venue::polymarket::http::client::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.clob_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Runs the session for `millis` (failing the test if it does not end
/// within 20 s of that); how it ended.
pub async fn run_for(session: &mut Session<PolymarketVenue>, millis: u64) -> Ended {
    session.set_deadline(Some(wall_ns() + millis * 1_000_000));
    tokio::time::timeout(
        Duration::from_millis(millis + 20_000),
        session.run(std::future::pending::<()>(), &mut Unobserved),
    )
    .await
    .expect("the session ends by its deadline")
    .unwrap()
}

/// Journal entries, once the session is finished (the chain verified).
pub async fn journal(db: &std::path::Path) -> Vec<Stored> {
    let j = Journal::open(db).await.unwrap();
    let report = j.verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    j.read_from(1).await.unwrap()
}

/// The orders the journal submitted.
pub fn submitted(entries: &[Stored]) -> Vec<Order> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } => Some(order.clone()),
            _ => None,
        })
        .collect()
}

/// The order events the journal holds.
pub fn events(entries: &[Stored]) -> Vec<OrderEvent> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// The fills among `ev`.
pub fn fills(ev: &[OrderEvent]) -> Vec<Fill> {
    ev.iter()
        .filter_map(|e| match e {
            OrderEvent::Filled(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}
