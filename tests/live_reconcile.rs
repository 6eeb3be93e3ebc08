//! `pqap reconcile` against the local exchange (in-process), run as the
//! binary: an order on the account the journal does not know is listed by a
//! dry run that changes nothing, cancelled (and journaled) under `cancel`,
//! kept and counted against the global limits under `adopt`; a fill made
//! while no process was running is shown by a dry run, booked once by a real
//! run, and a second run finds nothing.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pqap::engine::runner::{Ended, MarketSelector, Session, SessionSettings, Unobserved, wall_ns};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::model::{
    FillCause, Order, OrderEvent, OrderKey, Price, Side, Size, TimeInForce, TokenId,
};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal, Stored};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::polymarket::execution::{ClobClient, OrderSigner, PolymarketVenue};
use pqap::venue::polymarket::signing::{Account, PrivateKey};
use pqap::venue::sim::SimServer;
use pqap::venue::{ForeignAction, ForeignPolicy, MarketSpec};
use serde_json::Value;

use common::live_session::{KEY, exchange, feed, journal as entries, open_markets};

/// The account's client and signer, and the exchange's markets.
struct Account0 {
    client: ClobClient,
    signer: OrderSigner,
    markets: Vec<MarketSpec>,
}

async fn account(sim: &SimServer) -> Account0 {
    let key = Arc::new(PrivateKey::from_hex(KEY, "test").unwrap());
    let client = ClobClient::new(&sim.clob_url(), 137, Duration::from_secs(5)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    let client = client.authenticated(&creds, key.address());
    let markets = open_markets(sim).await;
    let mut signer = OrderSigner::new(
        key.clone(),
        Account::eoa(key.address()),
        137,
        &creds.api_key,
    );
    for m in &markets {
        signer.add_market(m);
    }
    Account0 {
        client,
        signer,
        markets,
    }
}

fn order(token: TokenId, side: Side, price: Price, shares: u64, tif: TimeInForce) -> Order {
    Order {
        key: OrderKey {
            strategy: 1,
            client_id: 1,
        },
        token,
        side,
        price,
        size: Size::from_micros(shares * 1_000_000),
        tif,
        post_only: false,
        created_ns: wall_ns(),
        venue_ref: None,
    }
}

impl Account0 {
    fn yes(&self) -> TokenId {
        self.markets[0].tokens[0].0.clone()
    }

    /// Signs `order` (stamping its venue identity) and posts it; its venue id.
    async fn place(&self, order: &mut Order) -> String {
        let p = self.signer.prepare(order).unwrap();
        order.venue_ref = Some(p.venue_ref.clone());
        let posted = self.client.post_order(&p.request).await.unwrap();
        assert!(posted.success, "{posted:?}");
        p.venue_ref.id
    }

    /// A resting buy at the lowest price: an order nobody's journal knows.
    async fn place_foreign(&self) -> String {
        let tick = self.markets[0].tick;
        let mut o = order(self.yes(), Side::Buy, tick, 10, TimeInForce::Gtc);
        self.place(&mut o).await
    }

    async fn is_open(&self, id: &str) -> bool {
        self.client
            .order(id)
            .await
            .unwrap()
            .is_some_and(|o| o.is_live())
    }
}

/// `pqap reconcile ARGS` on `db` against `sim`; exit code and stdout's JSON.
async fn reconcile(sim: &SimServer, db: &Path, policy: &str, args: &[&str]) -> (i32, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"));
    cmd.arg("reconcile")
        .args(args)
        .arg("--json")
        .arg("--config")
        .arg(common::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(db)
        .env("PQAP_TRADING", "live")
        .env("PQAP_PRIVATE_KEY", KEY)
        .env_remove("PQAP_CLOB_API_KEY")
        .env("PQAP_VENUE_CLOB_URL", sim.clob_url())
        .env("PQAP_VENUE_GAMMA_URL", sim.gamma_url())
        .env("PQAP_VENUE_WS_URL", sim.ws_url())
        .env("PQAP_LIVE_FOREIGN_ORDERS", policy);
    // The exchange runs on this runtime's workers: wait for the process off them.
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 2, "exit {code}: {stderr}");
    let json: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {stderr}"));
    (code, json)
}

/// An empty journal (the account's, before any order).
async fn empty_journal(dir: &Path) -> PathBuf {
    let db = dir.join("live.db");
    Journal::open(&db).await.unwrap();
    db
}

fn foreign_entries(entries: &[Stored]) -> Vec<(String, ForeignAction)> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::ForeignOrder { order, action, .. } => Some((order.venue_id.clone(), *action)),
            _ => None,
        })
        .collect()
}

fn listed_foreign(report: &Value) -> Vec<(String, String)> {
    report["foreign_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["venue_id"].as_str().unwrap().to_lowercase(),
                f["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_order_is_listed_by_a_dry_run_then_cancelled_and_journaled() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = empty_journal(dir.path()).await;
    let a = account(&sim).await;
    let id = a.place_foreign().await;

    let (code, report) = reconcile(&sim, &db, "cancel", &["--dry-run"]).await;
    assert_eq!(
        code, 2,
        "a dry run that finds a difference says so: {report}"
    );
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["in_agreement"], false);
    assert_eq!(
        listed_foreign(&report),
        vec![(id.to_lowercase(), "cancel".to_string())]
    );
    assert!(entries(&db).await.is_empty(), "a dry run writes nothing");
    assert!(a.is_open(&id).await, "a dry run cancels nothing");

    let (code, report) = reconcile(&sim, &db, "cancel", &[]).await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["applied"], true);
    assert!(!a.is_open(&id).await, "cancelled at the exchange");
    let journaled = foreign_entries(&entries(&db).await);
    assert_eq!(journaled, vec![(id.clone(), ForeignAction::Cancelled)]);

    let (code, report) = reconcile(&sim, &db, "cancel", &["--dry-run"]).await;
    assert_eq!((code, &report["in_agreement"]), (0, &Value::Bool(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_foreign_order_stays_and_counts_against_the_global_limits() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = empty_journal(dir.path()).await;
    let a = account(&sim).await;
    let id = a.place_foreign().await;

    let (code, report) = reconcile(&sim, &db, "adopt", &[]).await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        listed_foreign(&report),
        vec![(id.to_lowercase(), "adopt".to_string())]
    );
    assert!(a.is_open(&id).await, "adopted, not cancelled");
    assert_eq!(
        foreign_entries(&entries(&db).await),
        vec![(id.clone(), ForeignAction::Adopted)]
    );

    // A live engine adopting it: with one open order allowed in all, the
    // adopted order takes the place and the market maker may place none.
    let venue = PolymarketVenue::start(
        fresh_client(&sim).await,
        fresh_signer(&sim).await,
        &a.markets,
    )
    .with_foreign_orders(ForeignPolicy::Adopt);
    let engine = Engine::start(
        EngineConfig {
            run_id: "adopt".into(),
            mode: ClockMode::Wall,
            seed: 3,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits {
                max_open_orders: Some(1),
                ..RiskLimits::default()
            },
            mark_every_ns: 1_000_000_000,
            keep_quarantines: false,
        },
        Registry::new(a.markets.clone()),
        venue,
        Journal::open(&db).await.unwrap(),
        vec![StrategySetup {
            artifact: common::market_maker(),
            params: Vec::new(),
            limits: RiskLimits::default(),
            markets: Vec::new(),
        }],
        wall_ns(),
    )
    .await
    .unwrap();
    let adopted = engine.foreign_orders();
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0].1, ForeignAction::Adopted);
    let mut settings = SessionSettings::new(feed(&sim), MarketSelector::all());
    settings.reconcile_every = Some(Duration::from_secs(1));
    let mut session = Session::new(engine, settings, None).unwrap();
    session.set_deadline(Some(wall_ns() + 4_000_000_000));
    let ended = tokio::time::timeout(
        Duration::from_secs(30),
        session.run(std::future::pending::<()>(), &mut Unobserved),
    )
    .await
    .expect("the session ends by its deadline")
    .unwrap();
    assert_eq!(ended, Ended::Deadline);
    session.finish().await.unwrap();
    let after = entries(&db).await;
    let refused: Vec<&Option<String>> = after
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::RiskVerdict {
                accepted: false,
                rule,
                ..
            } => Some(rule),
            _ => None,
        })
        .collect();
    assert!(
        refused
            .iter()
            .any(|r| r.as_deref() == Some("max_open_orders")),
        "the market maker's quotes were refused for the adopted order: {refused:?}"
    );
    assert!(
        !after
            .iter()
            .any(|e| matches!(e.entry, Entry::OrderSubmitted { .. })),
        "no order of the engine's went out"
    );
    assert!(a.is_open(&id).await, "the adopted order is still open");
}

async fn fresh_client(sim: &SimServer) -> ClobClient {
    let key = PrivateKey::from_hex(KEY, "test").unwrap();
    let client = ClobClient::new(&sim.clob_url(), 137, Duration::from_secs(5)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    client.authenticated(&creds, key.address())
}

async fn fresh_signer(sim: &SimServer) -> OrderSigner {
    let key = Arc::new(PrivateKey::from_hex(KEY, "test").unwrap());
    let client = ClobClient::new(&sim.clob_url(), 137, Duration::from_secs(5)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    OrderSigner::new(
        key.clone(),
        Account::eoa(key.address()),
        137,
        &creds.api_key,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_made_while_away_is_shown_by_a_dry_run_and_booked_once() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = empty_journal(dir.path()).await;
    let a = account(&sim).await;
    // The journal's order: submitted and accepted, then the process went
    // away; the exchange filled it (a buy through the asks) meanwhile.
    let top = Price::new(1_000_000 - a.markets[0].tick.micros()).unwrap();
    let mut o = order(a.yes(), Side::Buy, top, 5, TimeInForce::Fak);
    let id = a.place(&mut o).await;
    {
        let mut j = Journal::open(&db).await.unwrap();
        j.append(
            o.created_ns,
            Some(1),
            &Entry::OrderSubmitted { order: o.clone() },
        )
        .unwrap();
        j.append(
            o.created_ns,
            Some(1),
            &Entry::Order {
                event: OrderEvent::Accepted {
                    key: o.key,
                    ts_ns: o.created_ns,
                },
            },
        )
        .unwrap();
        j.make_durable().await.unwrap();
    }
    let trades: Vec<String> = a
        .client
        .trades(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.taker_order_id.eq_ignore_ascii_case(&id))
        .map(|t| t.id)
        .collect();
    assert!(!trades.is_empty(), "the exchange filled the buy");
    let before = entries(&db).await.len();

    let (code, report) = reconcile(&sim, &db, "cancel", &["--dry-run"]).await;
    assert_eq!(code, 2, "{report}");
    let orders = report["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{report}");
    assert_eq!(orders[0]["venue"], "over");
    let missing: Vec<&str> = orders[0]["missing_fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["trade_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = trades.iter().map(String::as_str).collect();
    let mut got = missing.clone();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(entries(&db).await.len(), before, "a dry run writes nothing");

    let (code, report) = reconcile(&sim, &db, "cancel", &[]).await;
    assert_eq!(code, 0, "{report}");
    let booked = |entries: &[Stored]| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| match &e.entry {
                Entry::Order {
                    event: OrderEvent::Filled(f),
                } => {
                    assert_eq!(f.cause, FillCause::Reconciled);
                    f.trade_id.clone()
                }
                _ => None,
            })
            .collect()
    };
    let after = entries(&db).await;
    let mut got = booked(&after);
    got.sort_unstable();
    assert_eq!(got, expected, "each missed fill booked once");
    let projected = pqap::store::Projections::replay(&after);
    assert_eq!(projected.open_orders().count(), 0, "the FAK order is over");

    let (code, report) = reconcile(&sim, &db, "cancel", &[]).await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["in_agreement"], true, "{report}");
    assert_eq!(report["applied"], false);
    assert_eq!(
        entries(&db).await.len(),
        after.len(),
        "nothing more to book"
    );
}
