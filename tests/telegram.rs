//! Telegram against a fake Bot API server the test starts on loopback
//! (`PQAP_ALERTS_TELEGRAM_API_URL`, the token from `PQAP_TELEGRAM_TOKEN`):
//! every whitelisted chat gets each alert once and a repeat within the dedupe
//! window is not sent again; commands from whitelisted chats are answered
//! with the chat's role, changes wait for a `yes` and go through the audited
//! actions into the journal, and other chats get nothing back.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use common::server::{admin, call, start_serve_with, wait_for};
use serde_json::{Value, json};

type Received = Arc<Mutex<Vec<(String, Value)>>>;

#[derive(Clone, Default)]
struct Fake {
    received: Received,
    /// Updates the next `getUpdates` hands out.
    updates: Arc<Mutex<Vec<Value>>>,
    next_id: Arc<std::sync::atomic::AtomicI64>,
}

impl Fake {
    /// A chat writes `text` to the bot.
    fn says(&self, chat: i64, text: &str) {
        let id = 1 + self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.updates.lock().unwrap().push(json!({
            "update_id": id,
            "message": {"message_id": id, "date": 0, "text": text,
                        "chat": {"id": chat, "type": "private"}}
        }));
    }
}

/// A Bot API that hands out queued updates to `getUpdates` and records
/// every other method called (path and JSON body), answering as Telegram
/// does for a sent message.
fn start_fake_bot_api() -> (SocketAddr, Received) {
    let (addr, fake) = start_fake();
    (addr, fake.received)
}

fn start_fake() -> (SocketAddr, Fake) {
    let fake = Fake::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let state = fake.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/{bot}/{method}",
                    post(
                        |State(f): State<Fake>,
                         Path((bot, method)): Path<(String, String)>,
                         body: axum::Json<Value>| async move {
                            if method == "getUpdates" {
                                let queued = std::mem::take(&mut *f.updates.lock().unwrap());
                                if queued.is_empty() {
                                    // The real one holds the poll open.
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                }
                                return axum::Json(json!({"ok": true, "result": queued}));
                            }
                            let chat = body["chat_id"].clone();
                            f.received
                                .lock()
                                .unwrap()
                                .push((format!("/{bot}/{method}"), body.0));
                            axum::Json(json!({
                                "ok": true,
                                "result": {"message_id": 1, "date": 0,
                                           "chat": {"id": chat, "type": "private"}}
                            }))
                        },
                    ),
                )
                .with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).expect("fake up");
    (addr, fake)
}

fn sent_to(received: &Received, chat: i64) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["chat_id"] == chat)
        .map(|(_, b)| b["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn alerts_reach_each_whitelisted_chat_once_and_repeats_wait_for_the_dedupe_window() {
    let (bot_api, received) = start_fake_bot_api();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tg.db");
    admin(
        &["user", "add", "olive", "--role", "operator"],
        &db,
        Some("operator password 1"),
    );
    let token = admin(&["token", "create", "olive"], &db, None);
    let op = Some(token.as_str());
    let api_url = format!("http://{bot_api}");
    let (guard, addr) = start_serve_with(
        &[],
        &db,
        dir.path(),
        None,
        &[
            ("PQAP_TELEGRAM_TOKEN", "4242:SECRET"),
            ("PQAP_ALERTS_TELEGRAM_API_URL", &api_url),
            ("PQAP_ALERTS_TELEGRAM_CHATS", "42:operator,43"),
        ],
    );
    let risk = |state: &str| {
        let (code, body) = call(
            addr,
            "POST",
            "/api/v1/risk",
            op,
            &format!(r#"{{"state":"{state}"}}"#),
        );
        assert_eq!(code, 202, "{body}");
    };
    // Alerts are changes between two reports of the running engine: the
    // first report (the feed counted) is the baseline.
    wait_for(30, "the first report", || {
        let (_, status) = call(addr, "GET", "/api/v1/status", op, "");
        (common::server::json(&status)["feed"]["updates"].as_u64() > Some(0)).then_some(())
    });
    risk("halt");
    let first = wait_for(20, "the halt alert in both chats", || {
        let (a, b) = (sent_to(&received, 42), sent_to(&received, 43));
        (!a.is_empty() && !b.is_empty()).then_some(a)
    });
    assert!(first[0].contains("trading_state"), "{first:?}");
    assert!(first[0].contains("halted"), "{first:?}");
    risk("resume");
    wait_for(20, "the resume alert", || {
        (sent_to(&received, 42).len() == 2 && sent_to(&received, 43).len() == 2).then_some(())
    });
    // The same halt again, within the dedupe window: not sent a second time.
    risk("halt");
    wait_for(20, "halted again", || {
        let (_, status) = call(addr, "GET", "/api/v1/status", op, "");
        common::server::json(&status)["trading_state"]
            .as_str()
            .filter(|s| *s == "halted")
            .map(|_| ())
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sent_to(&received, 42).len(),
        2,
        "{:?}",
        sent_to(&received, 42)
    );
    assert_eq!(sent_to(&received, 43).len(), 2);
    // Only the whitelisted chats, only sendMessage, and the token only in
    // the path the Bot API defines for it.
    let all = received.lock().unwrap().clone();
    assert_eq!(all.len(), 4);
    for (path, body) in &all {
        assert_eq!(path, "/bot4242:SECRET/sendMessage");
        assert!(!body.to_string().contains("SECRET"));
    }
    drop(guard);
}

#[test]
fn commands_from_whitelisted_chats_act_with_their_role_after_a_yes() {
    let (bot_api, fake) = start_fake();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cmd.db");
    admin(
        &["user", "add", "olive", "--role", "operator"],
        &db,
        Some("operator password 1"),
    );
    let token = admin(&["token", "create", "olive"], &db, None);
    let op = Some(token.as_str());
    let api_url = format!("http://{bot_api}");
    let (guard, addr) = start_serve_with(
        &[],
        &db,
        dir.path(),
        None,
        &[
            ("PQAP_TELEGRAM_TOKEN", "4242:SECRET"),
            ("PQAP_ALERTS_TELEGRAM_API_URL", &api_url),
            ("PQAP_ALERTS_TELEGRAM_CHATS", "42:operator,43"),
        ],
    );
    let state = || {
        let (_, status) = call(addr, "GET", "/api/v1/status", op, "");
        common::server::json(&status)["trading_state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // Answers, not alerts (the halt's alert reaches every chat too).
    let reply = |chat: i64, n: usize| {
        wait_for(20, &format!("answer {n} to chat {chat}"), || {
            sent_to(&fake.received, chat)
                .into_iter()
                .filter(|t| !t.starts_with('['))
                .nth(n - 1)
        })
    };

    // A stranger: no answer, one audit row.
    fake.says(99, "/status");
    fake.says(99, "/halt");
    // A viewer reads, and is refused a change at once.
    fake.says(43, "/status");
    assert!(
        reply(43, 1).contains("trading: active"),
        "{:?}",
        reply(43, 1)
    );
    fake.says(43, "/halt");
    let refused = reply(43, 2);
    assert!(
        refused.contains("Refused") && refused.contains("viewer"),
        "{refused}"
    );
    // An operator's change waits for the yes.
    fake.says(42, "/halt");
    assert!(
        reply(42, 1).contains("Reply yes within a minute to halt"),
        "{:?}",
        reply(42, 1)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state(), "active");
    fake.says(42, "yes");
    assert!(
        reply(42, 2).starts_with("Queued: halt"),
        "{:?}",
        reply(42, 2)
    );
    wait_for(20, "halted", || (state() == "halted").then_some(()));
    fake.says(42, "/trades 3");
    assert_eq!(reply(42, 3), "No fills yet.");
    fake.says(42, "/help");
    assert!(reply(42, 4).contains("/performance"));
    assert!(
        sent_to(&fake.received, 99).is_empty(),
        "a stranger got an answer"
    );

    // The audit log: the stranger once, the viewer's refusal, the operator's halt.
    let (_, log) = call(addr, "GET", "/api/v1/audit?last=50", op, "");
    let log = common::server::json(&log);
    let rows = log.as_array().unwrap();
    let by = |actor: &str| {
        rows.iter()
            .filter(|r| r["actor"] == actor)
            .map(|r| format!("{} {}", r["action"], r["outcome"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(by("telegram:99").len(), 1, "{rows:?}");
    assert!(by("telegram:43")[0].contains("rejected"), "{rows:?}");
    assert!(by("telegram:42")[0].contains("queued request"), "{rows:?}");
    drop(guard);

    // The journal says who halted trading.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        j.read_from(1).await.unwrap()
    });
    assert!(
        entries.iter().any(|e| matches!(&e.entry,
            pqap::store::Entry::TradingState { actor, .. } if actor == "telegram:42")),
        "no trading-state entry by telegram:42"
    );
}
