//! SIGKILL chaos with the venue outside the process: one `pqap sim` keeps
//! trading while `pqap live` (the market maker, one journal) is killed with
//! SIGKILL again and again, at spread times and, with the exchange's help, in
//! the narrow windows: orders journaled and sent but not answered yet (answers
//! held back), fills made at the exchange and not yet delivered (fill reports
//! held back), answers lost (dropped), and start-up itself. After every kill
//! the journal verifies, no order reached the exchange twice or without its
//! journaled intent, and every trade the journal books is the exchange's,
//! once; every restart reconciles every order the journal left open and books
//! the fills it missed. At the end the journal's cash and shares equal the
//! exchange's to the micro-dollar.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::live::{ADDRESS, live_command, start_funded_sim};
use pqap::model::{OrderEvent, OrderKey, TokenId, VenueReject};
use pqap::store::{Entry, Journal, OrderStatus, Projections, Stored};

/// Kills (and so restarts) in the run: the issue asks for at least 50.
const KILLS: usize = 52;

/// What one kill caught, judged from the journal and the exchange.
#[derive(Debug, Default, Clone, Copy)]
struct Caught {
    /// Killed before it printed that it trades (start-up, reconciliation).
    startup: bool,
    /// An order journaled, live at the exchange, its answer not journaled.
    sent_unanswered: usize,
    /// An order journaled and not (yet) at the exchange.
    journaled_unsent: usize,
    /// Orders the journal left unknown (answer lost).
    unknown: usize,
    /// Trades the exchange had made before the kill that the journal lacked.
    fills_undelivered: usize,
}

/// How kill `i` is aimed: which fault the exchange is given first, and when
/// the kill comes.
#[derive(Debug, Clone, Copy)]
enum Aim {
    /// Killed this long after the process started (start-up or just after).
    Startup(u64),
    /// Killed this long after it started trading, without help.
    Plain(u64),
    /// Order answers held back for 1.5 s, then killed.
    HoldAnswers(u64),
    /// Fill reports held back for 3 s, then killed.
    HoldFills(u64),
    /// The next two order answers lost, then killed.
    DropAnswers(u64),
}

fn aim(i: usize) -> Aim {
    // Deterministic per kill, spread over 150–1500 ms so kills land in
    // different phases of the quoting cycle.
    let ms = 150 + (i as u64 * 797) % 1_351;
    if i % 9 == 4 {
        return Aim::Startup(40 + (i as u64 * 131) % 400);
    }
    match i % 4 {
        0 => Aim::Plain(ms),
        1 => Aim::HoldAnswers(ms),
        2 => Aim::HoldFills(ms),
        _ => Aim::DropAnswers(ms),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One `pqap live` process; `armed` says when it printed what it trades with
/// (which it does only once reconciliation at start is complete).
struct Live {
    child: Child,
    armed: mpsc::Receiver<()>,
    started: Instant,
}

fn start_live(mm: &std::path::Path, dir: &std::path::Path, addr: SocketAddr, run: usize) -> Live {
    let log = std::fs::File::create(dir.join(format!("run-{run}.log"))).unwrap();
    let started = Instant::now();
    let mut child = live_command(mm, &dir.join("live.db"), &dir.join("cache"), addr)
        .args(["--duration", "300s"])
        // Reconcile often, so a kill also lands in a periodic reconciliation.
        .env("PQAP_LIVE_RECONCILE_EVERY_S", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, armed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if line.contains("\"signer\"") {
                let _ = tx.send(());
            }
        }
    });
    Live {
        child,
        armed,
        started,
    }
}

/// Waits (≤ 20 s) until the process trades; how long start-up took.
fn wait_armed(live: &mut Live, dir: &std::path::Path, run: usize) -> Duration {
    match live.armed.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => live.started.elapsed(),
        Err(_) => {
            let status = live.child.try_wait().unwrap();
            let log =
                std::fs::read_to_string(dir.join(format!("run-{run}.log"))).unwrap_or_default();
            panic!("run {run} did not start trading ({status:?}):\n{log}");
        }
    }
}

fn kill(mut live: Live) {
    // `Child::kill` is SIGKILL on unix: no handler runs, nothing is flushed.
    live.child.kill().unwrap();
    live.child.wait().unwrap();
}

/// POST /_sim/faults.
fn fault(addr: SocketAddr, body: serde_json::Value) {
    let (status, answer) =
        common::server::call(addr, "POST", "/_sim/faults", None, &body.to_string());
    assert_eq!(status, 200, "{answer}");
}

/// Every order the exchange took from the account: venue id (lower case) →
/// salt.
fn exchange_orders(addr: SocketAddr) -> BTreeMap<String, u64> {
    let (status, body) = common::server::request(addr, "GET", "/_sim/orders");
    assert_eq!(status, 200, "{body}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let mut out = BTreeMap::new();
    for o in all
        .iter()
        .filter(|o| o["owner_address"].as_str() == Some(ADDRESS))
    {
        let id = o["id"].as_str().unwrap().to_ascii_lowercase();
        let salt: u64 = o["salt"].as_str().unwrap().parse().unwrap();
        assert!(
            out.insert(id.clone(), salt).is_none(),
            "the exchange lists {id} twice"
        );
    }
    out
}

/// The exchange's trades of the account, under the ids the host books them
/// by (a maker leg is told apart by its order id), restricted to `ours`.
fn exchange_trades(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    ours: &BTreeMap<String, u64>,
) -> BTreeSet<String> {
    let trades =
        rt.block_on(async { common::live::client(addr).await.trades(None).await.unwrap() });
    let mut out = BTreeSet::new();
    for t in trades {
        if ours.contains_key(&t.taker_order_id.to_ascii_lowercase()) {
            out.insert(t.id.clone());
        }
        for m in &t.maker_orders {
            let id = m.order_id.to_ascii_lowercase();
            if ours.contains_key(&id) {
                out.insert(format!("{}:{id}", t.id));
            }
        }
    }
    out
}

/// The journal, verified: its entries.
fn read_journal(rt: &tokio::runtime::Runtime, db: &std::path::Path) -> Vec<Stored> {
    rt.block_on(async {
        let journal = Journal::open(db).await.unwrap();
        let report = journal.verify().await.unwrap();
        assert!(report.broken.is_none(), "the journal is broken: {report:?}");
        let entries = journal.read_from(1).await.unwrap();
        journal.pool().close().await;
        entries
    })
}

/// Checks what must hold whenever the process is dead: against the
/// exchange's orders and trades.
fn check_at_rest(
    entries: &[Stored],
    p: &Projections,
    exchange: &BTreeMap<String, u64>,
    trades: &BTreeSet<String>,
) {
    assert!(p.anomalies.is_empty(), "replay: {:?}", p.anomalies);
    // One intent per order key, one venue order (id and salt) per intent.
    let mut keys = BTreeSet::new();
    let mut ids: BTreeMap<String, u64> = BTreeMap::new();
    let mut salts = BTreeSet::new();
    for e in entries {
        if let Entry::OrderSubmitted { order } = &e.entry {
            assert!(keys.insert(order.key), "{:?} submitted twice", order.key);
            // An order the adapter could not sign carries no venue identity;
            // it was refused on the spot and never sent.
            let Some(r) = order.venue_ref.as_ref() else {
                let status = p.orders.get(&order.key).map(|r| &r.status);
                assert!(
                    matches!(status, Some(OrderStatus::Rejected { .. })),
                    "{:?}: unsigned and not refused: {status:?}",
                    order.key
                );
                continue;
            };
            assert!(
                ids.insert(r.id.to_ascii_lowercase(), r.salt).is_none(),
                "venue order {} journaled twice",
                r.id
            );
            assert!(salts.insert(r.salt), "salt {} used twice", r.salt);
        }
        if let Entry::Order {
            event: OrderEvent::Rejected { message, .. },
        } = &e.entry
        {
            assert!(
                !message.contains("Duplicated"),
                "an order reached the exchange twice: {message}"
            );
        }
    }
    // Write-ahead: nothing reaches the exchange that the journal does not
    // hold, and what it holds is the very order signed (the same salt).
    for (id, salt) in exchange {
        assert_eq!(
            ids.get(id),
            Some(salt),
            "the exchange has {id}, which the journal never submitted"
        );
    }
    // An order the journal says never arrived is not at the exchange.
    for r in p.orders.values() {
        if let OrderStatus::Rejected {
            reject: VenueReject::NotReceived,
        } = &r.status
        {
            let id = r
                .order
                .venue_ref
                .as_ref()
                .map(|v| v.id.to_ascii_lowercase());
            assert!(
                !id.is_some_and(|id| exchange.contains_key(&id)),
                "{:?} was judged never received but is at the exchange",
                r.order.key
            );
        }
    }
    // Each fill booked is one of the exchange's trades, once.
    let mut booked = BTreeSet::new();
    for f in &p.fills {
        let t = f
            .fill
            .trade_id
            .clone()
            .expect("a live fill names its trade");
        assert!(
            trades.contains(&t),
            "booked a trade the exchange lacks: {t}"
        );
        assert!(booked.insert(t.clone()), "trade {t} booked twice");
    }
}

fn trade_ids(p: &Projections) -> BTreeSet<String> {
    p.fills
        .iter()
        .filter_map(|f| f.fill.trade_id.clone())
        .collect()
}

/// Orders whose intent is journaled and whose answer is not.
fn unanswered(entries: &[Stored]) -> BTreeSet<OrderKey> {
    let mut out = BTreeSet::new();
    for e in entries {
        match &e.entry {
            Entry::OrderSubmitted { order } => {
                out.insert(order.key);
            }
            Entry::Order { event } => {
                out.remove(&event.key());
            }
            // Found by reconciliation at a later start: answered too.
            Entry::Reconciled { key, .. } => {
                out.remove(key);
            }
            _ => {}
        }
    }
    out
}

#[test]
fn sigkilled_live_trading_recovers_every_order_and_fill() {
    let began = Instant::now();
    let (_sim, addr) = start_funded_sim();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let rt = rt();
    let mut caught = Vec::new();
    let mut startups = Vec::new();
    // What the last kill left for the next start to settle: orders the
    // journal had open, trades it lacked, and the journal's head then.
    let mut owed_orders: BTreeSet<OrderKey> = BTreeSet::new();
    let mut owed_trades: BTreeSet<String> = BTreeSet::new();
    let mut owed_since = 0i64;
    for i in 0..KILLS {
        let a = aim(i);
        let mut live = start_live(&mm, dir.path(), addr, i);
        let mut c = Caught::default();
        let wait = match a {
            Aim::Startup(ms) => {
                std::thread::sleep(Duration::from_millis(ms));
                c.startup = live.armed.try_recv().is_err();
                None
            }
            Aim::Plain(ms) | Aim::HoldAnswers(ms) | Aim::HoldFills(ms) | Aim::DropAnswers(ms) => {
                startups.push(wait_armed(&mut live, dir.path(), i));
                Some(ms)
            }
        };
        if let Some(ms) = wait {
            match a {
                Aim::HoldAnswers(_) => fault(
                    addr,
                    serde_json::json!({ "delay_order_responses_ms": 1_500 }),
                ),
                Aim::HoldFills(_) => fault(addr, serde_json::json!({ "delay_fills_ms": 3_000 })),
                Aim::DropAnswers(_) => {
                    fault(addr, serde_json::json!({ "drop_order_responses": 2 }))
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
        // The trades the exchange made up to the kill.
        let before = exchange_trades(&rt, addr, &exchange_orders(addr));
        let reached = !c.startup || live.armed.try_recv().is_ok();
        kill(live);

        let entries = read_journal(&rt, &db);
        let p = Projections::replay(&entries);
        let exchange = exchange_orders(addr);
        let trades = exchange_trades(&rt, addr, &exchange);
        check_at_rest(&entries, &p, &exchange, &trades);
        let booked = trade_ids(&p);

        // What the previous kill left is settled, once a start completed.
        if reached {
            for key in &owed_orders {
                assert!(
                    entries.iter().any(|e| e.seq > owed_since
                        && matches!(&e.entry, Entry::Reconciled { key: k, .. } if k == key)),
                    "run {i}: {key:?}, open at the last kill, was not reconciled"
                );
            }
            let missing: Vec<_> = owed_trades.difference(&booked).collect();
            assert!(
                missing.is_empty(),
                "run {i}: trades the exchange made before the last kill are not booked: {missing:?}"
            );
            owed_orders.clear();
            owed_trades.clear();
        }
        let open: BTreeSet<OrderKey> = p.open_orders().map(|r| r.order.key).collect();
        owed_orders.extend(open.iter().copied());
        // Reconciliation asks about the orders the journal left open; a trade
        // of any other order is owed too (it must be found all the same).
        owed_trades.extend(before.difference(&booked).cloned());
        owed_since = entries.last().map_or(0, |e| e.seq);

        // Which window the kill landed in.
        let by_key: BTreeMap<OrderKey, String> = p
            .orders
            .values()
            .filter_map(|r| {
                r.order
                    .venue_ref
                    .as_ref()
                    .map(|v| (r.order.key, v.id.to_ascii_lowercase()))
            })
            .collect();
        for key in unanswered(&entries) {
            if by_key.get(&key).is_some_and(|id| exchange.contains_key(id)) {
                c.sent_unanswered += 1;
            } else {
                c.journaled_unsent += 1;
            }
        }
        c.unknown = p
            .open_orders()
            .filter(|r| r.status == OrderStatus::Unknown)
            .count();
        c.fills_undelivered = before.difference(&booked).count();
        eprintln!("kill {i:2} {a:?}: {c:?}");
        caught.push(c);
    }

    // A last run that ends by itself: it reconciles, trades, cancels
    // everything and stops cleanly.
    let out = live_command(&mm, &db, &dir.path().join("cache"), addr)
        .args(["--duration", "3s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The clean stop itself leaves nothing open: it waits for the venue to
    // confirm its cancels and asks the venue's view for the fills it matched
    // before them.
    let after_stop = Projections::replay(&read_journal(&rt, &db));
    let open: Vec<_> = after_stop.open_orders().map(|r| r.order.key).collect();
    assert!(open.is_empty(), "the clean stop left {open:?} open");
    // And an operator's dry-run reconciliation finds the journal and the
    // venue in agreement (exit 0).
    let reconciled = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["reconcile", "--dry-run"])
        .arg("--config")
        .arg(common::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(&db)
        .arg("--json")
        .env("PQAP_TRADING", "live")
        .env("PQAP_PRIVATE_KEY", common::live::KEY)
        .env_remove("PQAP_CLOB_API_KEY")
        .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"))
        .output()
        .unwrap();
    assert!(
        reconciled.status.success(),
        "{}{}",
        String::from_utf8_lossy(&reconciled.stdout),
        String::from_utf8_lossy(&reconciled.stderr)
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["journal", "verify", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let entries = read_journal(&rt, &db);
    let p = Projections::replay(&entries);
    let exchange = exchange_orders(addr);
    let trades = exchange_trades(&rt, addr, &exchange);
    check_at_rest(&entries, &p, &exchange, &trades);
    let booked = trade_ids(&p);
    assert_eq!(
        trades.difference(&booked).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "every trade the exchange made is booked"
    );
    assert_eq!(p.open_orders().count(), 0, "nothing left open");
    let tokens: Vec<TokenId> = p
        .orders
        .values()
        .map(|r| r.order.token.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    rt.block_on(common::live::assert_books_match(addr, &p, &tokens));

    let count = |f: fn(&Caught) -> bool| caught.iter().filter(|c| f(c)).count();
    startups.sort();
    eprintln!(
        "{KILLS} kills in {:.1} s: {} during start-up, {} with an order sent and unanswered, \
         {} with an order journaled and not yet sent, {} with an answer lost (unknown), \
         {} with a fill made and not yet delivered; {} orders, {} fills; \
         start-up to trading: median {:?}, max {:?}",
        began.elapsed().as_secs_f64(),
        count(|c| c.startup),
        count(|c| c.sent_unanswered > 0),
        count(|c| c.journaled_unsent > 0),
        count(|c| c.unknown > 0),
        count(|c| c.fills_undelivered > 0),
        p.orders.len(),
        p.fills.len(),
        startups.get(startups.len() / 2),
        startups.last(),
    );
    // The windows were reached, not just aimed at.
    assert!(
        count(|c| c.sent_unanswered > 0) > 0,
        "no kill between the intent and its answer"
    );
    assert!(
        count(|c| c.fills_undelivered > 0) > 0,
        "no kill between a fill and its delivery"
    );
}
