//! Recursive JSON shapes (key paths and JSON value types) and the comparison of
//! a simulator response with reference payloads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

/// Path (`$.a.b[].c`) → JSON types seen there.
pub type Shape = BTreeMap<String, BTreeSet<&'static str>>;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(v: &Value, path: &str, out: &mut Shape) {
    out.entry(path.to_string()).or_default().insert(kind(v));
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                walk(child, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// The merged shape of several samples.
pub fn shape(samples: &[&Value]) -> Shape {
    let mut out = Shape::new();
    for s in samples {
        walk(s, "$", &mut out);
    }
    out
}

fn parent(path: &str) -> &str {
    if let Some(p) = path.strip_suffix("[]") {
        return p;
    }
    path.rfind('.').map_or("$", |i| &path[..i])
}

/// Asserts that `sim` has the reference's shape: every object key the reference
/// has (where the sim has that object), no key the reference lacks, and at
/// every path only JSON types the reference uses there. `extra` names paths the
/// sim may add (documented in the reference but absent from the captures) and
/// `absent` paths it may leave out (with the reason given by the caller).
pub fn assert_conforms(
    what: &str,
    sim: &[&Value],
    reference: &[&Value],
    extra: &[&str],
    absent: &[&str],
) {
    assert!(!sim.is_empty(), "{what}: no simulator sample");
    let ours = shape(sim);
    let theirs = shape(reference);
    let allowed = |p: &str, list: &[&str]| {
        list.iter()
            .any(|a| p == *a || p.starts_with(&format!("{a}.")) || p.starts_with(&format!("{a}[]")))
    };
    let mut problems = Vec::new();
    for (path, types) in &ours {
        match theirs.get(path) {
            Some(t) => {
                if !types.is_subset(t) {
                    problems.push(format!("{path}: sim sends {types:?}, reference {t:?}"));
                }
            }
            None if allowed(path, extra) => {}
            None => problems.push(format!("{path}: not in the reference")),
        }
    }
    for path in theirs.keys() {
        let p = parent(path);
        let sim_has_parent = ours
            .get(p)
            .is_some_and(|t| t.contains("object") || t.contains("array"));
        if path != "$" && sim_has_parent && !ours.contains_key(path) && !allowed(path, absent) {
            problems.push(format!("{path}: missing"));
        }
    }
    assert!(
        problems.is_empty(),
        "{what} does not conform:\n  {}",
        problems.join("\n  ")
    );
}

/// The shared fixtures, when present beside the repository.
pub fn fixtures() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/polymarket");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("no ../shared/fixtures/polymarket: comparing with the documented shapes only");
        None
    }
}

/// A fixture file as JSON (`None` without the fixtures).
pub fn fixture(rel: &str) -> Option<Value> {
    let root = fixtures()?;
    let text = std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

#[test]
fn the_comparison_catches_missing_extra_and_mistyped_keys() {
    let reference = serde_json::json!({"a": "x", "b": [{"c": 1}], "d": null});
    let ok = serde_json::json!({"a": "y", "b": [{"c": 2}, {"c": 3}], "d": null});
    assert_conforms("ok", &[&ok], &[&reference], &[], &[]);
    for bad in [
        serde_json::json!({"a": "y", "b": [{"c": 2}]}),
        serde_json::json!({"a": "y", "b": [{"c": "2"}], "d": null}),
        serde_json::json!({"a": "y", "b": [{"c": 2, "e": 1}], "d": null}),
    ] {
        let r =
            std::panic::catch_unwind(|| assert_conforms("bad", &[&bad], &[&reference], &[], &[]));
        assert!(r.is_err(), "{bad} passed");
    }
}
