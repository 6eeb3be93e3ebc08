//! `pqap live` against `pqap sim` as the exchange, in separate processes: the
//! market maker's orders are signed, accepted, filled and cancelled; the
//! journal verifies, every submitted order carries its venue identity, and the
//! positions and cash it books equal the exchange's own account view to the
//! micro-dollar.

mod common;

use std::time::Duration;

use common::live::{ADDRESS, KEY, live_command, live_strategy_command, start_funded_sim};
use pqap::model::{OrderEvent, TokenId};
use pqap::store::{Entry, Journal, Projections};

#[test]
fn pqap_live_trades_on_the_local_exchange_and_books_what_the_exchange_books() {
    let (_sim, addr) = start_funded_sim();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let out = live_command(&mm, &db, &dir.path().join("cache"), addr)
        .args(["--duration", "15s"])
        .env("PQAP_LIVE_RECONCILE_EVERY_S", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(&KEY[2..]), "the key was printed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(ADDRESS) || stdout.to_lowercase().contains(&ADDRESS.to_lowercase()),
        "{stdout}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let journal = Journal::open(&db).await.unwrap();
        let report = journal.verify().await.unwrap();
        assert!(report.broken.is_none(), "{report:?}");
        journal.read_from(1).await.unwrap()
    });
    let submitted: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } => Some(order.clone()),
            _ => None,
        })
        .collect();
    assert!(!submitted.is_empty(), "the market maker quoted");
    assert!(
        submitted.iter().all(|o| o
            .venue_ref
            .as_ref()
            .is_some_and(|r| r.id.starts_with("0x") && r.id.len() == 66)),
        "every intent names its venue order"
    );
    let events: Vec<&OrderEvent> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { .. })),
        "accepted"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, OrderEvent::Cancelled { .. })),
        "cancelled at the end"
    );
    // The book can move between a quote's decision and its arrival: a
    // post-only quote that would now cross is refused, as the venue does.
    // Nothing else may be refused, and no answer may be lost.
    let odd: Vec<&&OrderEvent> = events
        .iter()
        .filter(|e| match e {
            OrderEvent::Rejected { reject, .. } => *reject != pqap::model::VenueReject::WouldCross,
            OrderEvent::Unknown { .. } => true,
            _ => false,
        })
        .collect();
    assert!(odd.is_empty(), "{odd:?}");
    // The journal's books against the exchange's.
    let p = Projections::replay(&entries);
    let tokens: Vec<TokenId> = submitted
        .iter()
        .map(|o| o.token.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    rt.block_on(common::live::assert_books_match(addr, &p, &tokens));
    let fills = events
        .iter()
        .filter(|e| matches!(e, OrderEvent::Filled(_)))
        .count();
    eprintln!("{} orders, {fills} fills", submitted.len());
}

#[test]
fn shadow_mode_signs_every_order_and_sends_none() {
    let (_sim, addr) = start_funded_sim();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shadow.db");
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    // A paper config: shadow mode needs no arming, since nothing is sent.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("live")
        .arg(&mm)
        .arg("--shadow")
        .arg("--config")
        .arg(common::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(&db)
        .args(["--duration", "5s", "--json"])
        .env_remove("PQAP_TRADING")
        .env("PQAP_PRIVATE_KEY", KEY)
        .env_remove("PQAP_CLOB_API_KEY")
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"))
        .env("PQAP_LOG", "pqap=info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"mode\": \"shadow\""));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        Journal::open(&db)
            .await
            .unwrap()
            .read_from(1)
            .await
            .unwrap()
    });
    let submitted = entries
        .iter()
        .filter(
            |e| matches!(&e.entry, Entry::OrderSubmitted { order } if order.venue_ref.is_some()),
        )
        .count();
    assert!(submitted > 0, "orders were signed");
    let events: Vec<&OrderEvent> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        events.iter().all(
            |e| matches!(e, OrderEvent::Rejected { message, .. } if message.contains("shadow mode"))
        ),
        "{events:?}"
    );
    assert!(
        stderr.contains("shadow mode: signed, not sent"),
        "logged what it would have sent"
    );
    // The exchange saw no order.
    let open = rt.block_on(async {
        let client = common::live::client(addr).await;
        (
            client.open_orders().await.unwrap(),
            client.trades(None).await.unwrap(),
        )
    });
    assert!(open.0.is_empty() && open.1.is_empty());
}

/// The sim's binary markets as (YES token, NO token).
fn market_pairs(addr: std::net::SocketAddr) -> Vec<(TokenId, TokenId)> {
    let (status, body) = common::server::call(addr, "GET", "/markets", None, "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let token =
                |i: usize| TokenId::parse(m["tokens"][i]["token_id"].as_str().unwrap()).unwrap();
            (token(0), token(1))
        })
        .collect()
}

#[test]
fn complement_arbitrage_buys_both_legs_live_when_the_no_book_dislocates() {
    let (_sim, addr) = start_funded_sim();
    let pairs = market_pairs(addr);
    // Every NO book 5 cents under the mirror of its YES book: YES ask + NO
    // ask costs 0.95 plus the spread, at the exchange as on the feed.
    let (status, body) = common::server::call(
        addr,
        "POST",
        "/_sim/faults",
        None,
        r#"{"dislocate_no_micros":50000}"#,
    );
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let arb = common::guest(
        "strategies/complement-arb",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let out = live_strategy_command(&arb, &db, &dir.path().join("cache"), addr)
        .args(["--duration", "10s"])
        .env("PQAP_LIVE_RECONCILE_EVERY_S", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let journal = Journal::open(&db).await.unwrap();
        let report = journal.verify().await.unwrap();
        assert!(report.broken.is_none(), "{report:?}");
        journal.read_from(1).await.unwrap()
    });
    let submitted: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } => Some(order.clone()),
            _ => None,
        })
        .collect();
    assert!(!submitted.is_empty(), "the arbitrage traded");
    // Takers only, each with its venue identity.
    assert!(
        submitted.iter().all(|o| !matches!(
            o.tif,
            pqap::model::TimeInForce::Gtc | pqap::model::TimeInForce::Gtd { .. }
        ) && o.venue_ref.is_some()),
        "{submitted:?}"
    );
    let events: Vec<&OrderEvent> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, OrderEvent::Unknown { .. })),
        "no answer was lost"
    );
    let p = Projections::replay(&entries);
    let tokens: Vec<TokenId> = pairs
        .iter()
        .flat_map(|(y, n)| [y.clone(), n.clone()])
        .collect();
    // Both legs of a market were bought: the pairs the strategy holds to
    // resolution, on the exchange's books as on the journal's.
    let (_, held) = common::live::journal_books(&p);
    let paired = pairs.iter().any(|(yes, no)| {
        let zero = rust_decimal::Decimal::ZERO;
        held.get(yes).copied().unwrap_or(zero) > zero
            && held.get(no).copied().unwrap_or(zero) > zero
    });
    assert!(paired, "no market holds both legs: {held:?}");
    rt.block_on(common::live::assert_books_match(addr, &p, &tokens));
    let fills = events
        .iter()
        .filter(|e| matches!(e, OrderEvent::Filled(_)))
        .count();
    eprintln!("{} orders, {fills} fills, held {held:?}", submitted.len());
}

#[test]
fn a_geoblocked_machine_does_not_trade() {
    let (_sim, addr) = start_funded_sim();
    let (status, body) = common::server::call(
        addr,
        "POST",
        "/_sim/faults",
        None,
        r#"{"geoblock_country":"US"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let out = live_command(
        std::path::Path::new("market-maker"),
        &db,
        &dir.path().join("cache"),
        addr,
    )
    .env(
        "PQAP_LIVE_GEOBLOCK_URL",
        format!("http://{addr}/api/geoblock"),
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {stderr}");
    assert!(
        stderr.contains("geoblocked") && stderr.contains("US"),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing was journaled");
}

#[test]
fn serve_live_trades_on_the_exchange_and_serves_the_api() {
    let (_sim, addr) = start_funded_sim();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let bind = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("serve")
        .arg("--live")
        .arg(&mm)
        .arg("--config")
        .arg(common::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(&db)
        .args(["--bind", &bind.to_string(), "--duration", "12s"])
        .args(["--params", "market_maker.all_outcomes=true"])
        .env("PQAP_TRADING", "live")
        .env("PQAP_PRIVATE_KEY", KEY)
        .env_remove("PQAP_CLOB_API_KEY")
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut server = common::server::Guard(child);
    common::server::wait_for(40, "pqap serve --live ready", || {
        std::net::TcpStream::connect_timeout(&bind, Duration::from_millis(200)).ok()?;
        let (status, body) = common::server::request(bind, "GET", "/readyz");
        (status == 200 && body.contains("true")).then_some(())
    });
    let status = server.0.wait().unwrap();
    let stderr = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("live trading"), "{stderr}");
    assert!(!stderr.contains(&KEY[2..]), "the key was printed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let journal = Journal::open(&db).await.unwrap();
        let report = journal.verify().await.unwrap();
        assert!(report.broken.is_none(), "{report:?}");
        journal.read_from(1).await.unwrap()
    });
    assert!(
        entries.iter().any(|e| matches!(
            &e.entry,
            Entry::RunStarted { run_id, .. } if run_id.starts_with("live-")
        )),
        "the server's run is a live run"
    );
    let orders: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::OrderSubmitted { order } => Some(order.clone()),
            _ => None,
        })
        .collect();
    assert!(!orders.is_empty(), "the market maker quoted");
    assert!(
        orders.iter().all(|o| o.venue_ref.is_some()),
        "every order was signed for the venue"
    );
    assert!(
        entries.iter().any(|e| matches!(
            &e.entry,
            Entry::Order {
                event: OrderEvent::Accepted { .. }
            }
        )),
        "the exchange accepted orders"
    );
}
