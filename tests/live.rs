//! `pqap live` is armed only by the config and the command, and refuses to
//! start without a key it can trust. (Trading against the local exchange is in
//! `tests/live_sim.rs`.)

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn live(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pqap"));
    c.arg("live")
        .arg("market-maker")
        .arg("--config")
        .arg(common::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(dir.join("live.db"))
        .env_remove("PQAP_PRIVATE_KEY")
        .env_remove("PQAP_TRADING")
        .env_remove("PQAP_CLOB_API_KEY");
    c
}

fn stderr(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(!out.status.success(), "it started: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_paper_config_does_not_trade_live() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr(live(dir.path()).env("PQAP_PRIVATE_KEY", KEY));
    assert!(
        err.contains("trading: paper") && err.contains("trading: live"),
        "{err}"
    );
    assert!(!dir.path().join("live.db").exists(), "nothing was written");
}

#[test]
fn live_trading_needs_a_key_and_refuses_one_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr(live(dir.path()).env("PQAP_TRADING", "live"));
    assert!(err.contains("PQAP_PRIVATE_KEY"), "{err}");
    let key_file = dir.path().join("key.hex");
    std::fs::write(&key_file, KEY).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = stderr(
        live(dir.path())
            .env("PQAP_TRADING", "live")
            .env("PQAP_LIVE_KEY_FILE", &key_file),
    );
    assert!(err.contains("key.hex") && err.contains("644"), "{err}");
    assert!(
        !err.contains(&KEY[2..]),
        "the key leaked into the error: {err}"
    );
}
