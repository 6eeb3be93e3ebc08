//! The live venue adapter under the exchange's faults, in-process against the
//! local exchange: an answer lost after the exchange accepted the order leaves
//! it unknown (never sent again) until reconciliation finds it working; 425 and
//! 429 are waited out and sent again, because the exchange did nothing with
//! them. In every case the exchange holds each order once and the journal
//! verifies.

mod common;

use std::sync::Arc;
use std::time::Duration;

use pqap::data::feed::FeedConfig;
use pqap::engine::runner::{Ended, MarketSelector, Session, SessionSettings, Unobserved, wall_ns};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::model::OrderEvent;
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::polymarket::execution::user_feed::UserFeedConfig;
use pqap::venue::polymarket::execution::{ClobClient, OrderSigner, PolymarketVenue};
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::signing::{Account, PrivateKey};
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::exchange::{AccountConfig, ExchangeConfig};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use pqap::venue::{MarketSpec, Venue};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

async fn exchange() -> SimServer {
    exchange_funded(1_000_000_000).await
}

/// The exchange with the test account holding `collateral` (units of 10⁻⁶ pUSD).
async fn exchange_funded(collateral: u64) -> SimServer {
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
    SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(20),
            exchange: ExchangeConfig {
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
            },
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .unwrap()
}

/// The market maker trading live on `sim`, journaling into `db`, reconciling
/// every second; with the user channel or without (then only reconciliation
/// tells what the HTTP answers did not).
async fn session(
    sim: &SimServer,
    db: &std::path::Path,
    user_channel: bool,
) -> Session<PolymarketVenue> {
    session_with(sim, db, user_channel, market_maker()).await
}

fn market_maker() -> StrategySetup {
    StrategySetup {
        artifact: common::market_maker(),
        params: Vec::new(),
        limits: RiskLimits::default(),
        markets: Vec::new(),
    }
}

/// The hostile guest's `buy_once`: one FAK buy of 10 shares at the ask.
fn buy_once() -> StrategySetup {
    StrategySetup {
        artifact: common::load(
            &common::guest(
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

async fn session_with(
    sim: &SimServer,
    db: &std::path::Path,
    user_channel: bool,
    strategy: StrategySetup,
) -> Session<PolymarketVenue> {
    let key = Arc::new(PrivateKey::from_hex(KEY, "test").unwrap());
    let client = ClobClient::new(&sim.clob_url(), 137, Duration::from_secs(3)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    let client = client.authenticated(&creds, key.address());
    let feed = FeedConfig {
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
    };
    let listed = MarketSelector::all()
        .open_on(&PolymarketHttp::new(feed.http.clone()).unwrap())
        .await
        .unwrap();
    let markets: Vec<MarketSpec> = listed.iter().map(MarketSpec::from).collect();
    let signer = OrderSigner::new(
        key.clone(),
        Account::eoa(key.address()),
        137,
        &creds.api_key,
    );
    let mut venue = PolymarketVenue::start(client, signer, &markets);
    if user_channel {
        venue.start_user_feed(UserFeedConfig::beside_market(&sim.ws_url()), creds);
    }
    let engine = Engine::start(
        EngineConfig {
            run_id: "live-faults".into(),
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
    assert!(engine.unreconciled().is_none());
    let mut settings = SessionSettings::new(feed, MarketSelector::all());
    settings.reconcile_every = Some(Duration::from_secs(1));
    Session::new(engine, settings, None).unwrap()
}

/// Switches the exchange's faults on, as `POST /_sim/faults` does.
async fn inject(sim: &SimServer, faults: serde_json::Value) {
    pqap::venue::polymarket::http::client::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.clob_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Trading faults injected and not yet used up.
fn faults_left(sim: &SimServer) -> (u32, u32, u32) {
    let s = sim.state.lock().unwrap();
    let f = &s.exchange.faults;
    (f.drop_order_responses, f.order_425, f.order_429)
}

async fn run_for(session: &mut Session<PolymarketVenue>, secs: u64) {
    session.set_deadline(Some(wall_ns() + secs * 1_000_000_000));
    let ended = tokio::time::timeout(
        Duration::from_secs(secs + 20),
        session.run(std::future::pending::<()>(), &mut Unobserved),
    )
    .await
    .expect("the session ends by its deadline")
    .unwrap();
    assert_eq!(ended, Ended::Deadline);
}

/// Journal entries, once the session is finished.
async fn journal(db: &std::path::Path) -> Vec<pqap::store::Stored> {
    let j = Journal::open(db).await.unwrap();
    let report = j.verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    j.read_from(1).await.unwrap()
}

fn submitted(entries: &[pqap::store::Stored]) -> Vec<pqap::model::Order> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } => Some(order.clone()),
            _ => None,
        })
        .collect()
}

fn events(entries: &[pqap::store::Stored]) -> Vec<OrderEvent> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_leaves_the_order_unknown_until_reconciliation_finds_it() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lost.db");
    // The first order the exchange accepts gets no answer.
    inject(&sim, serde_json::json!({ "drop_order_responses": 1 })).await;
    let mut s = session(&sim, &db, false).await;
    run_for(&mut s, 5).await;
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    let first = orders.first().expect("the market maker quoted");
    let ev = events(&entries);
    assert!(
        ev.iter()
            .any(|e| matches!(e, OrderEvent::Unknown { key, .. } if *key == first.key)),
        "the lost answer made the first order unknown: {ev:?}"
    );
    // Its fate was settled afterwards (the venue confirmed its cancel, or
    // reconciliation found it): nothing stays unknown.
    let after = ev
        .iter()
        .skip_while(|e| !matches!(e, OrderEvent::Unknown { key, .. } if *key == first.key))
        .skip(1)
        .any(|e| e.key() == first.key);
    assert!(after, "the unknown order was settled: {ev:?}");
    // With the user channel the placement itself is reported.
    let sim2 = exchange().await;
    inject(&sim2, serde_json::json!({ "drop_order_responses": 1 })).await;
    let db2 = dir.path().join("told.db");
    let mut s = session(&sim2, &db2, true).await;
    run_for(&mut s, 3).await;
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries2 = journal(&db2).await;
    let first2 = submitted(&entries2)[0].key;
    assert!(
        events(&entries2)
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { key, .. } if *key == first2))
    );
    // Sent once: one intent per key, and the exchange knows each id once.
    let mut keys: Vec<_> = orders.iter().map(|o| o.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), orders.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_without_effect_are_waited_out_and_sent_again() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.db");
    inject(&sim, serde_json::json!({ "order_425": 1, "order_429": 1 })).await;
    let mut s = session(&sim, &db, true).await;
    run_for(&mut s, 6).await;
    assert_eq!(
        faults_left(&sim),
        (0, 0, 0),
        "the exchange answered 425 and 429"
    );
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    let first = orders.first().expect("the market maker quoted");
    let ev = events(&entries);
    // After the 425 and the 429 were waited out, the exchange took the order
    // and judged it: accepted, or (the book having moved meanwhile) refused
    // as a post-only order that now crosses. Never lost, never refused for
    // being busy.
    let answer = ev.iter().find(|e| e.key() == first.key);
    assert!(
        matches!(
            answer,
            Some(OrderEvent::Accepted { .. })
                | Some(OrderEvent::Rejected {
                    reject: pqap::model::VenueReject::WouldCross,
                    ..
                })
        ),
        "the exchange judged the first order after its 425 and 429: {answer:?}"
    );
    assert!(
        !ev.iter().any(|e| matches!(
            e,
            OrderEvent::Unknown { .. }
                | OrderEvent::Rejected {
                    reject: pqap::model::VenueReject::Other { .. },
                    ..
                }
        )),
        "{ev:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_whose_answer_was_lost_is_found_by_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    // The FAK whose answer is lost buys at the ask it saw; on a loaded
    // machine the book can move before it arrives and it fills nothing (then
    // there is no lost fill to find). Up to three fresh tries for one that
    // fills; whatever happens, nothing is ever sent twice.
    for attempt in 1..=3 {
        let sim = exchange().await;
        let db = dir.path().join(format!("taker-{attempt}.db"));
        inject(&sim, serde_json::json!({ "drop_order_responses": 1 })).await;
        let mut s = session_with(&sim, &db, false, buy_once()).await;
        run_for(&mut s, 4).await;
        assert_eq!(faults_left(&sim).0, 0, "the exchange dropped an answer");
        let holdings = s
            .engine()
            .portfolio()
            .account(1)
            .map(|a| a.holdings.clone())
            .unwrap_or_default();
        s.finish().await.unwrap();
        let entries = journal(&db).await;
        let orders = submitted(&entries);
        let ev = events(&entries);
        let first = orders.first().expect("buy_once asked").key;
        assert!(
            matches!(ev.first(), Some(OrderEvent::Unknown { key, .. }) if *key == first),
            "{ev:?}"
        );
        let mut keys: Vec<_> = orders.iter().map(|o| o.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), orders.len(), "an order was sent twice");
        assert_eq!(
            sim.state.lock().unwrap().exchange.orders.len(),
            orders.len(),
            "the exchange holds each order once"
        );
        let fills: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                OrderEvent::Filled(f) if f.key == first => Some(f),
                _ => None,
            })
            .collect();
        if fills.is_empty() {
            eprintln!("attempt {attempt}: the lost FAK filled nothing (the book moved): {ev:?}");
            continue;
        }
        assert_eq!(orders.len(), 1, "bought once, sent once: {ev:?}");
        assert!(
            fills
                .iter()
                .all(|f| f.cause == pqap::model::FillCause::Reconciled)
        );
        let bought: u64 = fills.iter().map(|f| f.size.micros()).sum();
        assert_eq!(
            holdings.values().map(|h| h.size.micros()).sum::<u64>(),
            bought
        );
        return;
    }
    panic!("in three tries the FAK whose answer was lost never filled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_account_cannot_pay_for_is_refused_before_it_is_sent() {
    // 50 cents: buy_once's 10 shares at the ask cost more unless the ask is
    // under 0.05, which this market's is not.
    let sim = exchange_funded(500_000).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("poor.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    assert!(!orders.is_empty(), "buy_once asked");
    // It asks again after each refusal; every one is refused here.
    let ev = events(&entries);
    for o in &orders {
        let refusal = ev.iter().find_map(|e| match e {
            OrderEvent::Rejected {
                key,
                reject: pqap::model::VenueReject::InsufficientFunds,
                message,
                ..
            } if *key == o.key => Some(message.clone()),
            _ => None,
        });
        let refusal = refusal.unwrap_or_else(|| panic!("{:?} refused for funds: {ev:?}", o.key));
        assert!(
            refusal.contains("not enough balance / allowance") && refusal.contains("$0.5 free"),
            "{refusal}"
        );
    }
    let exchange_orders = sim.state.lock().unwrap().exchange.orders.len();
    assert_eq!(exchange_orders, 0, "nothing reached the exchange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_refusal_is_sent_once_more_and_a_new_version_stops_trading() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    // One refusal while the venue still says version 2: sent once more.
    inject(&sim, serde_json::json!({ "order_version_mismatch": 1 })).await;
    let db = dir.path().join("stale.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let key = submitted(&entries)[0].key;
    assert!(
        events(&entries)
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { key: k, .. } if *k == key)),
        "{:?}",
        events(&entries)
    );
    assert_eq!(
        sim.state
            .lock()
            .unwrap()
            .exchange
            .faults
            .order_version_mismatch,
        0
    );

    // The venue moved to version 3: the order is rejected and trading stops.
    let sim = exchange().await;
    inject(&sim, serde_json::json!({ "order_version": 3 })).await;
    let db = dir.path().join("v3.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    let trouble = s.engine().venue().trouble().unwrap_or_default();
    s.finish().await.unwrap();
    assert!(trouble.contains("order version 3"), "{trouble}");
    let entries = journal(&db).await;
    let key = submitted(&entries)[0].key;
    assert!(
        events(&entries).iter().any(|e| matches!(
            e,
            OrderEvent::Rejected { key: k, message, .. } if *k == key && message.contains("order_version_mismatch")
        )),
        "{:?}",
        events(&entries)
    );
    assert!(
        entries.iter().any(|e| matches!(
            &e.entry,
            Entry::VenueReconciliation { problem: Some(p), .. } if p.contains("order version 3")
        )),
        "the halt is journaled"
    );
}
