//! `pqap sim` → `pqap record` → `pqap data check` is clean → replaying the day
//! through the simulator rebuilds the same books in a live feed.

use std::time::Duration;

use pqap::data::archive::Archive;
use pqap::data::books::Books;
use pqap::data::feed::{FeedConfig, FeedMessage, LiveFeed};
use pqap::model::TokenId;
use pqap::venue::polymarket::http::client::HttpConfig;
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::{Activity, SimConfig, SimServer};

fn pqap(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .output()
        .expect("run pqap");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_check_and_replay_reproduce_the_books() {
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("archive");
    let archive_arg = archive_dir.to_str().unwrap();

    let (ok, out, err) = pqap(&[
        "record",
        "--sim",
        "--duration",
        "4s",
        "--archive",
        archive_arg,
        "--json",
    ]);
    assert!(ok, "record failed: {err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(summary["payloads"].as_u64().unwrap() > 10, "{summary}");

    let (ok, out, _) = pqap(&["data", "list", "--dir", archive_arg, "--json"]);
    assert!(ok);
    let parts: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(!parts.is_empty());
    for p in &parts {
        let day = p["day"].as_str().unwrap();
        let (ok, out, err) = pqap(&[
            "data",
            "check",
            "--dir",
            archive_arg,
            "--date",
            day,
            "--json",
        ]);
        assert!(ok, "{day} not clean: {out} {err}");
    }

    // The recorded books, built directly from the archive.
    let archive = Archive::open(&archive_dir).await.unwrap();
    let day = parts.last().unwrap()["day"].as_str().unwrap().to_string();
    let updates = archive.replay(&day).await.unwrap();
    let mut direct = Books::default();
    let mut scratch = Vec::new();
    for u in &updates {
        for e in &u.events {
            direct.apply(e, 0, &mut scratch);
        }
    }
    let tokens: Vec<TokenId> = direct.tokens().cloned().collect();

    // The same day replayed through the simulator into a live feed.
    let sim = SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(5),
            ..SimConfig::default()
        },
        Activity::Replay(updates.clone().into()),
    )
    .await
    .unwrap();
    let (_feed, mut rx) = LiveFeed::start(
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
        },
        tokens.clone(),
    )
    .unwrap();
    let mut replayed = Books::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let finished = sim.state.lock().unwrap().finished();
        let agree = tokens
            .iter()
            .all(|t| replayed.book(t).map(|b| b.levels()) == direct.book(t).map(|b| b.levels()));
        if finished && agree {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replayed books never matched the recording"
        );
        if let Ok(Some(FeedMessage::Data { update, .. })) =
            tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
        {
            for e in &update.events {
                replayed.apply(e, 0, &mut scratch);
            }
        }
    }
}
