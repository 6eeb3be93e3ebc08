//! Settlement is certain: a resolved market is untradeable at once and every
//! share held pays its payout ($1 or $0, 0.5 each in a 50-50); shares a fill
//! brings after the resolution are settled when it arrives; a resolution the
//! feed never delivered, or that came while the process was down, is found
//! through Gamma and settled — against `pqap sim`, which resolves markets.

mod common;

use std::time::{Duration, Instant};

use common::hand::{HandMarket, START};
use pqap::data::books::Books;
use pqap::data::quality::Untradeable;
use pqap::data::update::{FeedUpdate, Source};
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::{Fill, Liquidity, MarketEvent, Order, OrderEvent, OrderKey, Payout, Price, Size};
use pqap::store::Entry;
use pqap::venue::Venue;

const MS: u64 = 1_000_000;

fn resolution(m: &HandMarket, t: u64, payouts: Vec<Payout>) -> FeedUpdate {
    let market = &m.g.markets()[0];
    FeedUpdate {
        received_ms: t / MS,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events: vec![MarketEvent::Resolved {
            market: market.condition.clone(),
            ts_ms: t / MS,
            tokens: market.tokens.iter().map(|(t, _)| t.clone()).collect(),
            winner: market.tokens[0].0.clone(),
            winning_outcome: market.tokens[0].1.clone(),
            payouts,
        }],
        errors: vec![],
    }
}

fn said(entries: &[pqap::store::Stored]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Command { reason, .. } if reason.starts_with("position") => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_position_reports_its_realised_pnl_to_the_strategy() {
    let books = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = books
        .engine(&dir.path().join("pnl.db"), None, None, START)
        .await;
    // 10 bought at .51 (no fees); the market resolves for the first token.
    engine.on_update(&books.at(49, START), START).await.unwrap();
    let m = &books.g.markets()[0];
    let t = START + 60_000_000_000;
    let resolved = FeedUpdate {
        received_ms: t / MS,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events: vec![MarketEvent::Resolved {
            market: m.condition.clone(),
            ts_ms: t / MS,
            tokens: m.tokens.iter().map(|(t, _)| t.clone()).collect(),
            winner: m.tokens[0].0.clone(),
            winning_outcome: m.tokens[0].1.clone(),
            payouts: Vec::new(),
        }],
        errors: vec![],
    };
    engine.on_update(&resolved, t).await.unwrap();
    let entries = engine.journal().read_from(1).await.unwrap();
    let said: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Command { reason, .. } if reason.starts_with("position") => {
                Some(reason.as_str())
            }
            _ => None,
        })
        .collect();
    // 10 × ($1 − $0.51) = $4.90 realised, nothing held.
    assert!(said.contains(&"position 0 realized 4900000"), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_50_resolution_pays_half_and_the_market_is_closed_at_once() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = m
        .engine(&dir.path().join("half.db"), None, None, START)
        .await;
    engine.on_update(&m.at(49, START), START).await.unwrap();
    let t = START + 60_000_000_000;
    let half = Price::new(500_000).unwrap();
    let payouts = m.g.markets()[0]
        .tokens
        .iter()
        .map(|(token, _)| Payout {
            token: token.clone(),
            payout: half,
        })
        .collect();
    engine
        .on_update(&resolution(&m, t, payouts), t)
        .await
        .unwrap();
    let yes = &m.g.markets()[0].tokens[0].0;
    assert_eq!(
        engine.books().quality().status(yes),
        Some(Untradeable::Resolved)
    );
    // A later book does not reopen it.
    let t = t + 1_000_000_000;
    engine.on_update(&m.at(40, t), t).await.unwrap();
    assert_eq!(
        engine.books().quality().status(yes),
        Some(Untradeable::Resolved)
    );
    let entries = engine.journal().read_from(1).await.unwrap();
    // 10 bought at .51, paid 0.5 each: −$0.10.
    assert!(
        said(&entries).contains(&"position 0 realized -100000".to_string()),
        "{:?}",
        said(&entries)
    );
    let account = engine.portfolio().account(1).unwrap();
    assert!(account.holdings.is_empty());
    assert_eq!(account.realized(), rust_decimal::Decimal::new(-10, 2));
}

/// The fill simulator, except that the first order sent is held back and
/// filled whole at its price only once `release` is set: a fill that reaches
/// the host after the market resolved.
struct LateVenue {
    inner: FillSimulator,
    held: Option<Order>,
    release: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Venue for LateVenue {
    fn submit(&mut self, order: Order, now_ns: u64, books: &Books) -> Vec<OrderEvent> {
        if self.held.is_none() {
            let key = order.key;
            self.held = Some(order);
            return vec![OrderEvent::Accepted { key, ts_ns: now_ns }];
        }
        self.inner.submit(order, now_ns, books)
    }
    fn cancel(&mut self, key: OrderKey, now_ns: u64) -> Vec<OrderEvent> {
        self.inner.cancel(key, now_ns)
    }
    fn on_market(&mut self, event: &MarketEvent, now_ns: u64, books: &Books) -> Vec<OrderEvent> {
        self.inner.on_market(event, now_ns, books)
    }
    fn on_time(&mut self, now_ns: u64, books: &Books) -> Vec<OrderEvent> {
        let mut events = self.inner.on_time(now_ns, books);
        if self.release.load(std::sync::atomic::Ordering::SeqCst)
            && let Some(o) = self.held.take()
        {
            events.push(OrderEvent::Filled(Fill {
                key: o.key,
                token: o.token,
                side: o.side,
                price: Price::new(510_000).unwrap(),
                size: o.size,
                fee: rust_decimal::Decimal::ZERO,
                fee_shares: Size::ZERO,
                liquidity: Liquidity::Taker,
                remaining: Size::ZERO,
                ts_ns: now_ns,
                trade_id: None,
                cause: pqap::model::FillCause::Reported,
            }));
        }
        events
    }
    fn reconcile(&mut self, order: &Order, now_ns: u64) -> pqap::venue::Reconciliation {
        self.inner.reconcile(order, now_ns)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_arrives_after_the_resolution_is_settled_too() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let venue = LateVenue {
        inner: FillSimulator::for_markets(FillConfig::default(), m.registry().markets()),
        held: None,
        release: release.clone(),
    };
    let mut engine = m
        .engine_on(&dir.path().join("late.db"), venue, None, None, START)
        .await;
    engine.on_update(&m.at(49, START), START).await.unwrap();
    // It resolves for Yes before the buy of Yes is reported filled.
    let t = START + 60_000_000_000;
    engine
        .on_update(&resolution(&m, t, vec![]), t)
        .await
        .unwrap();
    assert!(
        engine
            .portfolio()
            .account(1)
            .is_none_or(|a| a.holdings.is_empty())
    );
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    engine.on_time(t + MS).await.unwrap();
    let account = engine.portfolio().account(1).unwrap();
    assert!(
        account.holdings.is_empty(),
        "the late shares were not settled"
    );
    // 10 at .51, paid $1 each.
    assert_eq!(account.realized(), rust_decimal::Decimal::new(490, 2));
    let yes = m.g.markets()[0].tokens[0].0.clone();
    let entries = engine.journal().read_from(1).await.unwrap();
    let settlements = entries
        .iter()
        .filter(|e| matches!(&e.entry, Entry::Settlement { token, .. } if *token == yes))
        .count();
    assert_eq!(settlements, 2, "at the resolution, and for the late fill");
    // Replaying the journal settles the same way.
    let p = pqap::store::Projections::replay(&entries);
    assert_eq!(&p.portfolio, engine.portfolio());
}

/// `pqap sim` on a free port that resolves its first market 50-50 (nothing
/// on the market channel, final prices in Gamma) after `steps` of 20 ms.
fn sim(steps: u64) -> (common::server::Guard, std::net::SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["sim", "--bind", &addr.to_string(), "--step", "20ms"])
        .args(["--seed", "5", "--markets", "3"])
        .args([
            "--resolve-after",
            &steps.to_string(),
            "--resolve-markets",
            "1",
        ])
        .args(["--fifty-fifty", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let guard = common::server::Guard(child);
    common::server::wait_for(20, "pqap sim", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
    (guard, addr)
}

fn paper(
    dir: &std::path::Path,
    venue: std::net::SocketAddr,
    mode: &str,
    secs: u32,
) -> std::process::Output {
    let hostile = common::guest(
        "tests/guests/hostile",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("paper")
        .arg(&hostile)
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .arg("--db")
        .arg(dir.join("p.db"))
        .args(["--duration", &format!("{secs}s"), "--json"])
        .args(["--params", &format!("hostile.mode={mode}")])
        .env("PQAP_COMPILED_CACHE", dir.join("cache"))
        .env("PQAP_VENUE_CLOB_URL", format!("http://{venue}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{venue}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{venue}/ws/market"))
        .output()
        .unwrap()
}

#[test]
fn a_resolution_missed_while_down_is_found_through_gamma_and_settled() {
    let dir = tempfile::tempdir().unwrap();
    // The first market resolves 50-50 after 10 s of sim time.
    let (_sim, venue) = sim(500);
    let since = Instant::now();
    let out = paper(dir.path(), venue, "buy_once", 4);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = |db: &std::path::Path| {
        rt.block_on(async {
            pqap::store::Journal::open(db)
                .await
                .unwrap()
                .read_from(1)
                .await
                .unwrap()
        })
    };
    let db = dir.path().join("p.db");
    let bought = entries(&db).iter().any(|e| {
        matches!(
            &e.entry,
            Entry::Order {
                event: OrderEvent::Filled(_)
            }
        )
    });
    assert!(
        bought,
        "the strategy bought nothing to settle; journal: {:?}; stderr: {}",
        entries(&db)
            .iter()
            .filter(|e| matches!(e.entry.kind(), "order" | "command" | "market"))
            .map(|e| serde_json::to_string(&e.entry).unwrap_or_default())
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Down while the market resolves.
    let gamma = "/gamma/markets?closed=true";
    common::server::wait_for(30, "the sim resolving its first market", || {
        let (_, body) = common::server::request(venue, "GET", gamma);
        (common::server::json(&body)
            .as_array()
            .is_some_and(|a| !a.is_empty()))
        .then_some(())
    });
    assert!(since.elapsed() > Duration::from_secs(4));
    // Back up: the watch at start finds it and settles at 0.5 a share.
    let out = paper(dir.path(), venue, "none", 2);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settled: Vec<u32> = entries(&db)
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Settlement { payout_micros, .. } => Some(*payout_micros),
            _ => None,
        })
        .collect();
    assert!(
        !settled.is_empty() && settled.iter().all(|p| *p == 500_000),
        "{settled:?}"
    );
    let p = pqap::store::Projections::replay(&entries(&db));
    assert!(
        p.positions().is_empty(),
        "a position is left after the settlement"
    );
}
