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
