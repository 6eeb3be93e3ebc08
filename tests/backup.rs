//! `pqap backup`: taken while `pqap paper` trades, and again after; each
//! restores into an empty directory where `pqap journal verify` passes and
//! positions and trades equal the source's. A server takes them on its
//! schedule and raises an alert when one fails.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn pqap(args: &[&str], db: &Path, backups: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .arg("--db")
        .arg(db)
        .args(if args[0] == "backup" {
            vec!["--dir".as_ref(), backups.as_os_str()]
        } else {
            vec![]
        })
        .arg("--json")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn restore(id: &str, into: &Path, db: &Path, backups: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["backup", "restore", id, "--into"])
        .arg(into)
        .arg("--dir")
        .arg(backups)
        .arg("--db")
        .arg(db)
        .arg("--key")
        .arg(pqap::store::SealPaths::of(db).key)
        .arg("--json")
        .output()
        .unwrap();
    json(&out)
}

#[test]
fn backups_taken_while_trading_restore_to_a_verified_journal_with_the_same_positions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env/p.db");
    let backups = dir.path().join("backups");
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let mut paper = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("paper")
        .arg(&mm)
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .arg("--db")
        .arg(&db)
        .args(["--duration", "10s", "--json"])
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // Once it has journaled fills, back up while it keeps trading.
    let began = Instant::now();
    loop {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "paper trading journaled no fill"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            paper.try_wait().unwrap().is_none(),
            "paper trading ended before journaling a fill"
        );
        if !db.exists() {
            continue;
        }
        let trades = pqap(&["trades", "--last", "5"], &db, &backups);
        if trades.status.success()
            && serde_json::from_slice::<serde_json::Value>(&trades.stdout)
                .is_ok_and(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        {
            break;
        }
    }
    let during = json(&pqap(&["backup", "now"], &db, &backups));
    let status = paper.wait().unwrap();
    assert!(status.success(), "paper failed");
    let after = json(&pqap(&["backup", "now"], &db, &backups));

    let listed = json(&pqap(&["backup", "list"], &db, &backups));
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let during_id = during["backup"]["id"].as_str().unwrap();
    let after_id = after["backup"]["id"].as_str().unwrap();
    assert_eq!(ids, [during_id, after_id]);
    let head = |v: &serde_json::Value| v["backup"]["journal_head"][0].as_i64().unwrap();
    assert!(head(&during) < head(&after), "{during} {after}");
    json(&pqap(&["backup", "check", during_id], &db, &backups));

    // The copy taken mid-run is a consistent journal of its own.
    let mid = dir.path().join("restored-mid");
    let r = restore(during_id, &mid, &db, &backups);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["chain"]["head_seq"].as_i64(), Some(head(&during)));
    let v = json(&pqap(&["journal", "verify"], &mid.join("p.db"), &backups));
    assert_eq!(v["ok"], true, "{v}");

    // The last one equals the source.
    let last = dir.path().join("restored");
    let r = restore("latest", &last, &db, &backups);
    assert_eq!(r["ok"], true, "{r}");
    let restored_db = last.join("p.db");
    let v = json(&pqap(&["journal", "verify"], &restored_db, &backups));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["chain"]["sealed_seq"], v["chain"]["head_seq"], "{v}");
    for view in [
        &["positions"][..],
        &["trades", "--last", "50"][..],
        &["performance"][..],
    ] {
        let source = json(&pqap(view, &db, &backups));
        assert_eq!(
            json(&pqap(view, &restored_db, &backups)),
            source,
            "{view:?}"
        );
    }
    let trades = json(&pqap(&["trades", "--last", "50"], &db, &backups));
    assert!(!trades.as_array().unwrap().is_empty());

    // Without the key (never in a backup) a sealed journal is not restored.
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["backup", "restore", "latest", "--into"])
        .arg(dir.path().join("keyless"))
        .arg("--dir")
        .arg(&backups)
        .arg("--db")
        .arg(&db)
        .env_remove("PQAP_JOURNAL_KEY_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--key"), "{err}");
    assert!(!dir.path().join("keyless").exists());

    // Restoring over something is refused, and says where.
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["backup", "restore", "latest", "--into"])
        .arg(&last)
        .arg("--dir")
        .arg(&backups)
        .arg("--db")
        .arg(&db)
        .arg("--key")
        .arg(pqap::store::SealPaths::of(&db).key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not empty") && err.contains("restored"),
        "{err}"
    );
}

#[test]
fn a_server_backs_up_on_schedule_and_alerts_when_a_backup_fails() {
    use common::server::{admin, call, start_serve_with, stop_serve, wait_for};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let backups = dir.path().join("backups");
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    let token = admin(&["token", "create", "ada"], &db, None);
    let mm = common::guest(
        "strategies/market-maker",
        pqap::strategy::build::GuestTarget::UnknownUnknown,
    );
    let (guard, addr) = start_serve_with(
        &[mm.to_str().unwrap()],
        &db,
        dir.path(),
        None,
        &[
            ("PQAP_BACKUPS_EVERY_S", "1"),
            ("PQAP_BACKUPS_KEEP", "3"),
            ("PQAP_BACKUPS_DIR", backups.to_str().unwrap()),
        ],
    );
    // Taken on schedule, and only the newest three kept.
    let ids = || -> Vec<String> {
        json(&pqap(&["backup", "list"], &db, &backups))
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first = wait_for(30, "a scheduled backup", || ids().first().cloned());
    wait_for(30, "the first backup deleted by retention", || {
        let now = ids();
        (now.len() == 3 && !now.contains(&first)).then_some(())
    });
    let listed = json(&pqap(&["backup", "list"], &db, &backups));
    assert!(
        listed[0]["journal_head"][0].as_i64().unwrap() > 0,
        "{listed}"
    );

    // The backup directory becomes unusable: the next backup fails, loudly.
    std::fs::remove_dir_all(&backups).unwrap();
    std::fs::write(&backups, b"not a directory").unwrap();
    let alerts = wait_for(30, "a backup_failed alert", || {
        let (_, body) = call(addr, "GET", "/api/v1/alerts", Some(&token), "");
        let a = common::server::json(&body);
        a.as_array()
            .and_then(|a| a.iter().find(|x| x["kind"] == "backup_failed").cloned())
    });
    assert_eq!(alerts["severity"], "critical", "{alerts}");
    let message = alerts["message"].as_str().unwrap();
    assert!(message.contains(backups.to_str().unwrap()), "{message}");
    stop_serve(guard);
}
