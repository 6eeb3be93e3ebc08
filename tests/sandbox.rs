//! The sandbox with well-behaved strategies: what guests see through host
//! queries, determinism of decisions and fuel, and artifact manifests.

mod common;

use pqap::strategy::bindings::types::{OpenOrder, ParamValue, Position, Side};
use pqap::strategy::build::GuestTarget;
use pqap::strategy::{CallOutcome, ClockMode, SandboxLimits, SupervisedStrategy};

fn market_maker(seed: u64) -> SupervisedStrategy {
    let mut view = common::script(1).remove(0).0;
    let mut options = common::options(ClockMode::Simulated, SandboxLimits::default());
    options.seed = seed;
    SupervisedStrategy::start(
        common::market_maker(),
        common::config(vec![]),
        options,
        &mut view,
    )
    .expect("starts")
}

#[test]
fn guest_queries_see_the_view_of_the_current_call() {
    let artifact = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown),
        &SandboxLimits::default(),
    );
    let mut view = common::script(1).remove(0).0;
    let mut s = SupervisedStrategy::start(
        artifact,
        common::config(vec![("mode", ParamValue::Text("echo".into()))]),
        common::options(ClockMode::Simulated, SandboxLimits::default()),
        &mut view,
    )
    .unwrap();
    for (i, (mut view, events)) in common::script(5).into_iter().enumerate() {
        view.positions.insert(
            0,
            Position {
                instrument: 0,
                size: 1_000_000 * (i as u64 + 1),
                avg_price: 500_000,
                realized_pnl: 0,
            },
        );
        view.open_orders = (0..i)
            .map(|k| OpenOrder {
                id: k as u64,
                instrument: 0,
                side: Side::Buy,
                price: 400_000,
                remaining: 1,
            })
            .collect();
        let expect = format!(
            "now={} bid={:?} held={} open={i}",
            view.now,
            view.tops.first().and_then(|t| t.bid).map(|l| l.price),
            1_000_000 * (i as u64 + 1)
        );
        assert!(matches!(
            s.on_events(&mut view, &events),
            CallOutcome::Commands(_)
        ));
        let logs = s.take_output().logs;
        assert!(
            logs.iter().any(|l| l.message.starts_with(&expect)),
            "call {i}: expected `{expect}` in {logs:?}"
        );
        // The caller gets its view back untouched.
        assert_eq!(view.open_orders.len(), i);
    }
}

#[test]
fn same_inputs_same_decisions_and_fuel() {
    let run = |seed| {
        let mut s = market_maker(seed);
        let out: Vec<_> = common::script(30)
            .into_iter()
            .map(|(mut v, e)| match s.on_events(&mut v, &e) {
                CallOutcome::Commands(c) => (c, s.fuel().last),
                other => panic!("{other:?}"),
            })
            .collect();
        out
    };
    let a = run(42);
    assert_eq!(a, run(42), "byte-identical commands and fuel per call");
    assert!(
        a.iter().all(|(_, fuel)| *fuel > 0),
        "fuel recorded per call"
    );
    assert!(
        a.iter().any(|(c, _)| !c.is_empty()),
        "the market maker quotes"
    );
    assert_ne!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        run(43).iter().map(|x| &x.0).collect::<Vec<_>>(),
        "order ids come from the seeded host generator"
    );
}

#[test]
fn commands_carry_reason_and_cause() {
    let mut s = market_maker(1);
    let (mut view, events) = common::script(1).remove(0);
    let CallOutcome::Commands(commands) = s.on_events(&mut view, &events) else {
        panic!("no commands");
    };
    assert!(!commands.is_empty());
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    for c in &commands {
        assert!(!c.reason.is_empty());
        assert!(
            c.cause.is_some_and(|seq| seqs.contains(&seq)),
            "cause {:?} not in {seqs:?}",
            c.cause
        );
    }
}

#[test]
fn manifest_describes_the_artifact() {
    let artifact = common::market_maker();
    let m = artifact.manifest();
    assert_eq!(m.name, "market_maker");
    assert_eq!(m.version, "0.1.0");
    assert_eq!(m.wit_version, "0.1.0");
    assert_eq!(m.sha256.len(), 64);
    assert_eq!(m.interests, vec!["quotes".to_string()]);
    let spread = m
        .params
        .iter()
        .find(|p| p.name == "half_spread")
        .expect("half_spread");
    assert_eq!(
        (spread.kind.as_str(), spread.default.as_str()),
        ("decimal", "0.02")
    );
}

#[test]
fn compiled_code_cache_is_reused_and_checked() {
    use pqap::strategy::{EngineOptions, SandboxEngine};
    let tmp = tempfile::tempdir().unwrap();
    let engine = std::sync::Arc::new(
        SandboxEngine::new(EngineOptions {
            cache_dir: Some(tmp.path().to_path_buf()),
            ..EngineOptions::default()
        })
        .unwrap(),
    );
    let bytes = std::fs::read(common::guest(
        "strategies/market-maker",
        GuestTarget::UnknownUnknown,
    ))
    .unwrap();
    let first = engine.load(&bytes, &SandboxLimits::default()).unwrap();
    let entries: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let code = entries
        .iter()
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("cached compiled code");
    assert!(
        code.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&first.sha256)
    );
    // A corrupted entry is detected by its MAC and recompiled, not loaded.
    std::fs::write(code, b"garbage").unwrap();
    let again = engine.load(&bytes, &SandboxLimits::default()).unwrap();
    assert_eq!(again.sha256, first.sha256);
    assert_ne!(std::fs::read(code).unwrap(), b"garbage");
    // An entry with a plain checksum beside it (anyone who can write the
    // directory could make one) is not trusted either: only the host's key
    // makes an entry loadable.
    use sha2::Digest;
    let mac = code.with_extension("mac");
    std::fs::write(code, b"forged").unwrap();
    std::fs::write(&mac, hex::encode(sha2::Sha256::digest(b"forged"))).unwrap();
    let third = engine.load(&bytes, &SandboxLimits::default()).unwrap();
    assert_eq!(third.sha256, first.sha256);
    assert_ne!(std::fs::read(code).unwrap(), b"forged");
}
