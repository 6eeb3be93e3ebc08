//! The strategy workflow through the `pqap` binary: new → test → build → validate.

mod common;

use std::path::Path;
use std::process::Command;

fn pqap(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .current_dir(cwd)
        // A target dir shared by runs keeps the generated project's dependency
        // build from repeating on every test run.
        .env("CARGO_TARGET_DIR", common::repo().join("target/scaffold"))
        .env(
            "PQAP_CACHE_DIR",
            common::repo().join("target/scaffold/compiled"),
        )
        .output()
        .expect("run pqap")
}

fn ok(out: &std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn new_project_tests_builds_and_validates_without_edits() {
    let tmp = tempfile::tempdir().unwrap();
    ok(
        &pqap(&["strategy", "new", "my_strategy_v1"], tmp.path()),
        "new",
    );
    let project = tmp.path().join("my_strategy_v1");
    for f in [
        "Cargo.toml",
        "src/lib.rs",
        "strategy.yaml",
        ".github/workflows/strategy.yml",
    ] {
        assert!(project.join(f).is_file(), "missing {f}");
    }

    let tests = ok(&pqap(&["strategy", "test"], &project), "strategy test");
    assert!(tests.contains("test result: ok"), "{tests}");
    // The generated CI workflow lints with clippy; the template must pass it.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let lint = Command::new(cargo)
        .args(["clippy", "--all-targets", "--", "-D", "warnings"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", common::repo().join("target/scaffold"))
        .output()
        .expect("run clippy");
    assert!(
        lint.status.success(),
        "template is not clippy-clean:\n{}",
        String::from_utf8_lossy(&lint.stderr)
    );

    let built = ok(&pqap(&["strategy", "build", "--json"], &project), "build");
    let built: serde_json::Value = serde_json::from_str(&built).expect("build --json");
    let wasm = built["wasm"].as_str().expect("wasm path").to_string();
    assert!(wasm.ends_with("my_strategy_v1-0.1.0.wasm"), "{wasm}");
    assert!(Path::new(&built["manifest_path"].as_str().unwrap()).is_file());

    let report = ok(
        &pqap(&["strategy", "validate", &wasm, "--json"], &project),
        "validate",
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["valid"], true);
    let manifest = &report["manifest"];
    assert_eq!(manifest["name"], "my_strategy_v1");
    assert_eq!(manifest["wit_version"], "0.1.0");
    assert_eq!(manifest["kind"], "plain");
    let imports: Vec<&str> = manifest["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        imports.iter().all(|i| i.starts_with("pqap:strategy/")),
        "imports outside the host interface: {imports:?}"
    );
    assert_eq!(manifest["sha256"], built["manifest"]["sha256"]);
    assert!(!manifest["params"].as_array().unwrap().is_empty());

    // strategy.yaml is read: a changed value reaches the strategy, a flag
    // overrides it, and a bad one names the file and the key.
    let yaml = project.join("strategy.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("size: \"10\"", "size: \"7\"")).unwrap();
    let config = common::repo().join("configs/dev.yaml");
    let out_dir = tmp.path().join("runs");
    let backtest = |extra: &[&str]| {
        let mut args = vec![
            "backtest",
            ".",
            "--synthetic",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pqap(&args, &project)
    };
    let run: serde_json::Value = serde_json::from_str(&ok(&backtest(&[]), "backtest")).unwrap();
    let params: Vec<&str> = run["inputs"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(params.contains(&"size=7"), "{params:?}");
    assert_eq!(run["inputs"]["risk"]["strategy"]["max_open_orders"], 4);
    // The journal of the run: the strategy started with it, and no buy of it
    // is larger (sells close what was bought, however many buys that took).
    let db = out_dir.join(format!("{}.db", run["run_id"].as_str().unwrap()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        pqap::store::Journal::open(&db)
            .await
            .unwrap()
            .read_from(1)
            .await
            .unwrap()
    });
    let started = entries
        .iter()
        .find_map(|e| match &e.entry {
            pqap::store::Entry::StrategyStarted { params, .. } => Some(params.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(started["size"], "7", "{started}");
    for e in &entries {
        if let pqap::store::Entry::OrderSubmitted { order } = &e.entry
            && order.side == pqap::model::Side::Buy
        {
            assert!(order.size.micros() <= 7_000_000, "{order:?}");
        }
    }
    let run: serde_json::Value =
        serde_json::from_str(&ok(&backtest(&["--params", "size=3"]), "backtest --params")).unwrap();
    assert!(
        run["inputs"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "size=3")
    );
    std::fs::write(&yaml, "params:\n  size: \"lots\"\n").unwrap();
    let out = backtest(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("strategy.yaml") && err.contains("size"),
        "{err}"
    );
    std::fs::write(&yaml, "risk:\n  max_daily_loss_usd: 25\n").unwrap();
    let err = String::from_utf8_lossy(&backtest(&[]).stderr).to_string();
    assert!(
        err.contains("strategy.yaml") && err.contains("max_daily_loss_usd"),
        "{err}"
    );
}

#[test]
fn validate_reports_bad_files_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let out = pqap(
        &["strategy", "validate", junk.to_str().unwrap()],
        tmp.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.wasm") && err.contains("core WebAssembly module"),
        "{err}"
    );

    let out = pqap(
        &["strategy", "validate", junk.to_str().unwrap(), "--json"],
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);

    let out = pqap(&["strategy", "new", "Bad-Name"], tmp.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`Bad-Name`"));

    let out = pqap(
        &["strategy", "build", tmp.path().to_str().unwrap()],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Cargo.toml"));
}
