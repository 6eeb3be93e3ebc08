//! Alerts reach whitelisted Telegram chats: `pqap serve` talks to a fake Bot
//! API server the test starts on loopback (configured by
//! `PQAP_ALERTS_TELEGRAM_API_URL`, the token from `PQAP_TELEGRAM_TOKEN`),
//! every whitelisted chat gets each alert once, a repeat within the dedupe
//! window is not sent again, and no other chat hears anything.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use common::server::{admin, call, start_serve_with, wait_for};
use serde_json::{Value, json};

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A Bot API that records every method called (path and JSON body) and
/// answers as Telegram does for a sent message.
fn start_fake_bot_api() -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let state = received.clone();
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
                        |State(r): State<Received>,
                         Path((bot, method)): Path<(String, String)>,
                         body: axum::Json<Value>| async move {
                            let chat = body["chat_id"].clone();
                            r.lock().unwrap().push((format!("/{bot}/{method}"), body.0));
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
    (addr, received)
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
