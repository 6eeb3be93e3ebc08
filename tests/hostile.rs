//! Hostile strategies: each misbehaviour ends in its typed fault, the host
//! survives, and a well-behaved strategy running beside it on the same engine and
//! thread produces exactly the commands it produces alone.

mod common;

use pqap::strategy::bindings::types::{Command, ParamValue};
use pqap::strategy::build::{BuildError, BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::{
    ArtifactError, CallOutcome, ClockMode, ComponentKind, Fault, FaultKind, RunState,
    SandboxLimits, SupervisedStrategy,
};

fn hostile(mode: &str, after: i64, limits: &SandboxLimits, clock: ClockMode) -> SupervisedStrategy {
    let artifact = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown),
        limits,
    );
    let config = common::config(vec![
        ("mode", ParamValue::Text(mode.to_string())),
        ("after", ParamValue::Integer(after)),
    ]);
    let mut view = common::script(1).remove(0).0;
    SupervisedStrategy::start(
        artifact,
        config,
        common::options(clock, limits.clone()),
        &mut view,
    )
    .unwrap_or_else(|f| panic!("hostile `{mode}` failed to start: {f}"))
}

fn neighbour() -> SupervisedStrategy {
    let mut view = common::script(1).remove(0).0;
    SupervisedStrategy::start(
        common::market_maker(),
        common::config(vec![]),
        common::options(ClockMode::Simulated, SandboxLimits::default()),
        &mut view,
    )
    .expect("market maker starts")
}

/// The market maker's commands per batch, alone.
fn solo(batches: usize) -> Vec<Vec<Command>> {
    let mut mm = neighbour();
    common::script(batches)
        .into_iter()
        .map(
            |(mut view, events)| match mm.on_events(&mut view, &events) {
                CallOutcome::Commands(c) => c,
                other => panic!("market maker alone: {other:?}"),
            },
        )
        .collect()
}

struct Run {
    faults: Vec<Fault>,
    state: RunState,
    neighbour: Vec<Vec<Command>>,
}

/// Interleaves a hostile strategy and the market maker over the same batches.
fn side_by_side(mut bad: SupervisedStrategy, batches: usize) -> Run {
    let mut mm = neighbour();
    let mut faults = Vec::new();
    let mut neighbour_out = Vec::new();
    for (mut view, events) in common::script(batches) {
        let mut bad_view = view.clone();
        if let CallOutcome::Faulted(f) = bad.on_events(&mut bad_view, &events) {
            faults.push(f);
        }
        match mm.on_events(&mut view, &events) {
            CallOutcome::Commands(c) => neighbour_out.push(c),
            other => panic!("neighbour disturbed: {other:?}"),
        }
    }
    Run {
        faults,
        state: bad.state().clone(),
        neighbour: neighbour_out,
    }
}

fn quick_quarantine() -> SandboxLimits {
    SandboxLimits {
        max_faults: 3,
        snapshot_every_calls: 1,
        ..SandboxLimits::default()
    }
}

fn assert_mode(mode: &str, limits: SandboxLimits, expect: FaultKind) {
    const BATCHES: usize = 24;
    let run = side_by_side(hostile(mode, 3, &limits, ClockMode::Simulated), BATCHES);
    assert!(!run.faults.is_empty(), "`{mode}` never faulted");
    for f in &run.faults {
        assert_eq!(f.kind(), expect, "`{mode}` gave {f}");
    }
    assert_eq!(
        run.state,
        RunState::Quarantined,
        "`{mode}` restarts from its snapshot, faults again, and ends quarantined"
    );
    assert_eq!(
        run.faults.len(),
        limits.max_faults as usize,
        "quarantine stops further calls"
    );
    assert_eq!(
        run.neighbour,
        solo(BATCHES),
        "`{mode}` disturbed its neighbour"
    );
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    assert_mode("loop", quick_quarantine(), FaultKind::OutOfFuel);
}

#[test]
fn unbounded_memory_hits_the_memory_limit() {
    assert_mode("grow", quick_quarantine(), FaultKind::MemoryLimit);
}

#[test]
fn runaway_recursion_overflows_the_stack() {
    assert_mode("stack", quick_quarantine(), FaultKind::StackOverflow);
}

#[test]
fn panic_is_reported_with_its_message() {
    assert_mode("panic", quick_quarantine(), FaultKind::Panic);
    let run = side_by_side(
        hostile("panic", 0, &quick_quarantine(), ClockMode::Simulated),
        2,
    );
    let Fault::Panic { message, call } = &run.faults[0] else {
        panic!("{:?}", run.faults);
    };
    assert_eq!(*call, "on-events");
    assert!(message.contains("panicked on purpose"), "{message}");
}

#[test]
fn million_commands_are_refused() {
    // Under the default limits the flood cannot even be built: the sandbox stops it.
    let run = side_by_side(
        hostile("flood", 0, &quick_quarantine(), ClockMode::Simulated),
        2,
    );
    assert!(
        matches!(
            run.faults[0].kind(),
            FaultKind::OutOfFuel | FaultKind::MemoryLimit
        ),
        "{}",
        run.faults[0]
    );
    // With room to build it, the host refuses the returned list by its length.
    let roomy = SandboxLimits {
        fuel_per_call: 20_000_000_000,
        memory_bytes: 1 << 30,
        ..quick_quarantine()
    };
    assert_mode("flood", roomy, FaultKind::InvalidOutput);
}

#[test]
fn invalid_commands_are_refused_by_name() {
    for (mode, needle) in [
        ("price_zero", "price 0"),
        ("price_high", "price 1500000"),
        ("size_zero", "size 0"),
        ("unknown_market", "unknown market 999999"),
        ("unknown_instrument", "unknown instrument 999999"),
    ] {
        assert_mode(mode, quick_quarantine(), FaultKind::InvalidOutput);
        let run = side_by_side(
            hostile(mode, 0, &quick_quarantine(), ClockMode::Simulated),
            1,
        );
        let Fault::InvalidOutput { reason, .. } = &run.faults[0] else {
            panic!("{mode}: {:?}", run.faults);
        };
        assert!(reason.contains(needle), "{mode}: {reason}");
    }
}

#[test]
fn wall_clock_deadline_stops_a_loop_fuel_would_allow() {
    let limits = SandboxLimits {
        fuel_per_call: 1 << 40,
        deadline_ms: 50,
        ..quick_quarantine()
    };
    let run = side_by_side(hostile("loop", 0, &limits, ClockMode::Wall), 1);
    assert_eq!(
        run.faults[0].kind(),
        FaultKind::Deadline,
        "{}",
        run.faults[0]
    );
}

#[test]
fn oversized_state_snapshot_is_invalid_output() {
    let run = side_by_side(
        hostile("big_state", 100, &quick_quarantine(), ClockMode::Simulated),
        2,
    );
    let Fault::InvalidOutput { call, reason } = &run.faults[0] else {
        panic!("{:?}", run.faults);
    };
    assert_eq!(*call, "snapshot-state");
    assert!(reason.contains("over the"), "{reason}");
}

#[test]
fn init_refusal_and_init_loop_are_typed_and_not_retried() {
    let limits = SandboxLimits::default();
    let artifact = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown),
        &limits,
    );
    for (mode, expect) in [
        ("refuse_init", FaultKind::InitRefused),
        ("loop_init", FaultKind::OutOfFuel),
    ] {
        let mut view = common::script(1).remove(0).0;
        let err = SupervisedStrategy::start(
            artifact.clone(),
            common::config(vec![("mode", ParamValue::Text(mode.into()))]),
            common::options(ClockMode::Simulated, limits.clone()),
            &mut view,
        )
        .err()
        .unwrap_or_else(|| panic!("{mode} started"));
        assert_eq!(err.kind(), expect, "{mode}: {err}");
    }
    // Parameter errors from the SDK name the parameter.
    let mut view = common::script(1).remove(0).0;
    let err = SupervisedStrategy::start(
        artifact,
        common::config(vec![("mood", ParamValue::Integer(1))]),
        common::options(ClockMode::Simulated, limits),
        &mut view,
    )
    .err()
    .expect("unknown parameter refused");
    assert!(err.to_string().contains("`mood`"), "{err}");
}

#[test]
fn restart_resumes_from_the_last_snapshot_after_backoff() {
    let limits = SandboxLimits {
        max_faults: 10,
        snapshot_every_calls: 1,
        restart_backoff_ms: 2_000,
        ..SandboxLimits::default()
    };
    // Misbehaves on its 4th call; restored state says 3 calls happened, so the
    // restarted instance misbehaves again at once: each restart waits longer.
    let mut bad = hostile("panic", 3, &limits, ClockMode::Simulated);
    let mut fault_times = Vec::new();
    let mut not_running = 0;
    for (mut view, events) in common::script(40) {
        match bad.on_events(&mut view, &events) {
            CallOutcome::Faulted(_) => fault_times.push(view.now),
            CallOutcome::NotRunning(RunState::Backoff { .. }) => not_running += 1,
            CallOutcome::NotRunning(s) => panic!("{s:?} after {:?}", bad.faults()),
            CallOutcome::Commands(_) => {}
        }
    }
    let gaps: Vec<u64> = fault_times
        .windows(2)
        .map(|w| (w[1] - w[0]) / 1_000_000_000)
        .collect();
    assert_eq!(gaps[..3], [2, 4, 8], "exponential backoff on host time");
    assert!(not_running > 0);
    assert_eq!(bad.restarts() as usize, fault_times.len() - 1);
}

#[test]
fn artifacts_that_are_not_valid_strategies_are_refused() {
    let engine = common::engine();
    let limits = SandboxLimits::default();
    let component = std::fs::read(common::guest(
        "strategies/market-maker",
        GuestTarget::UnknownUnknown,
    ))
    .unwrap();
    let load = |bytes: &[u8], limits: &SandboxLimits| engine.load(bytes, limits).err();

    assert!(matches!(load(b"", &limits), Some(ArtifactError::Empty)));
    assert!(matches!(
        load(b"#!/bin/sh\nrm -rf /\n", &limits),
        Some(ArtifactError::NotWasm)
    ));
    let core = std::fs::read(
        common::repo().join("target/guests/wasm32-unknown-unknown/release/pqap_market_maker.wasm"),
    )
    .expect("core module left by the guest build");
    assert!(matches!(
        load(&core, &limits),
        Some(ArtifactError::CoreModule)
    ));
    assert!(matches!(
        load(&component[..component.len() / 2], &limits),
        Some(ArtifactError::Invalid(_))
    ));
    let tight = SandboxLimits {
        max_artifact_bytes: component.len() - 1,
        ..limits.clone()
    };
    let err = load(&component, &tight).expect("oversized refused");
    assert!(matches!(err, ArtifactError::TooLarge { .. }), "{err}");
    let cwasm = engine.engine().precompile_component(&component).unwrap();
    assert!(matches!(
        load(&cwasm, &limits),
        Some(ArtifactError::Precompiled)
    ));

    // `pqap strategy build` refuses it, and so does loading the raw component.
    let target_dir = common::repo().join("target/guests");
    let err = build_strategy(
        &engine,
        &BuildOptions {
            crate_dir: common::repo().join("tests/guests/forbidden"),
            target: GuestTarget::Wasip2,
            out_dir: Some(target_dir.join("out/forbidden")),
            target_dir: Some(target_dir.clone()),
        },
        &limits,
    )
    .expect_err("a filesystem-reading strategy must not build into an artifact");
    assert!(
        matches!(&err, BuildError::Invalid(ArtifactError::ForbiddenImport { name }) if name.starts_with("wasi:filesystem")),
        "{err}"
    );
    let snoop = std::fs::read(target_dir.join("wasm32-wasip2/release/pqap_forbidden_guest.wasm"))
        .expect("cargo output of the forbidden guest");
    let err = load(&snoop, &limits).expect("filesystem import refused");
    assert!(
        matches!(&err, ArtifactError::ForbiddenImport { name } if name.starts_with("wasi:filesystem")),
        "{err}"
    );
}

#[test]
fn wasip2_build_runs_with_an_empty_wasi_and_decides_identically() {
    let limits = SandboxLimits::default();
    let wasi = common::load(
        &common::guest("strategies/market-maker", GuestTarget::Wasip2),
        &limits,
    );
    assert_eq!(wasi.interfaces.kind, ComponentKind::Wasi);
    assert!(
        wasi.interfaces
            .imports
            .iter()
            .all(|i| !i.starts_with("wasi:filesystem"))
    );
    let plain = common::market_maker();
    assert_eq!(plain.interfaces.kind, ComponentKind::Plain);
    assert!(
        plain
            .interfaces
            .imports
            .iter()
            .all(|i| i.starts_with("pqap:strategy/")),
        "{:?}",
        plain.interfaces.imports
    );
    let run = |artifact| {
        let mut view = common::script(1).remove(0).0;
        let mut s = SupervisedStrategy::start(
            artifact,
            common::config(vec![]),
            common::options(ClockMode::Simulated, limits.clone()),
            &mut view,
        )
        .unwrap();
        common::script(12)
            .into_iter()
            .map(|(mut v, e)| match s.on_events(&mut v, &e) {
                CallOutcome::Commands(c) => c,
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(wasi), run(plain));
}

// ---- wasm32-wasip2 guests, run inside the engine's kind of Tokio runtime ----

fn hostile_wasi(mode: &str, limits: &SandboxLimits, clock: ClockMode) -> SupervisedStrategy {
    let artifact = common::load(
        &common::guest("tests/guests/hostile", GuestTarget::Wasip2),
        limits,
    );
    assert_eq!(artifact.interfaces.kind, ComponentKind::Wasi);
    let config = common::config(vec![
        ("mode", ParamValue::Text(mode.to_string())),
        ("after", ParamValue::Integer(0)),
    ]);
    let mut view = common::script(1).remove(0).0;
    SupervisedStrategy::start(
        artifact,
        config,
        common::options(clock, limits.clone()),
        &mut view,
    )
    .unwrap_or_else(|f| panic!("wasip2 `{mode}` failed to start: {f}"))
}

/// Runs a wasip2 guest beside the market maker on a worker thread of a
/// multi-threaded Tokio runtime (where a blocking WASI call used to panic the
/// process); its faults and the log lines of its first call.
fn wasi_side_by_side(mode: &str, batches: usize, clock: ClockMode) -> (Run, Vec<String>) {
    let mut bad = hostile_wasi(mode, &quick_quarantine(), clock);
    let mut mm = neighbour();
    let mut faults = Vec::new();
    let mut neighbour_out = Vec::new();
    let mut first_logs = None;
    for (mut view, events) in common::script(batches) {
        let mut bad_view = view.clone();
        if let CallOutcome::Faulted(f) = bad.on_events(&mut bad_view, &events) {
            faults.push(f);
        }
        let logs = bad.take_output().logs;
        first_logs.get_or_insert_with(|| logs.into_iter().map(|l| l.message).collect());
        match mm.on_events(&mut view, &events) {
            CallOutcome::Commands(c) => neighbour_out.push(c),
            other => panic!("neighbour disturbed: {other:?}"),
        }
    }
    let run = Run {
        faults,
        state: bad.state().clone(),
        neighbour: neighbour_out,
    };
    (run, first_logs.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip2_stdio_goes_to_the_strategy_log_escaped_never_to_the_host() {
    for clock in [ClockMode::Simulated, ClockMode::Wall] {
        let (run, logs) = wasi_side_by_side("print", 8, clock);
        assert!(run.faults.is_empty(), "{:?}", run.faults);
        assert_eq!(run.state, RunState::Running);
        assert_eq!(run.neighbour, solo(8));
        assert_eq!(logs[0], "hostile stdout line 1", "{logs:?}");
        assert_eq!(
            logs[1], "hostile stderr line",
            "each stderr line is a log line of its own: {logs:?}"
        );
        assert!(
            logs[2].starts_with("2026-01-01T00:00:00Z ERROR pqap: forged"),
            "{logs:?}"
        );
        assert!(logs.iter().all(|l| !l.contains('\n')));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip2_stdin_is_closed() {
    let (run, logs) = wasi_side_by_side("stdin", 4, ClockMode::Wall);
    assert!(run.faults.is_empty(), "{:?}", run.faults);
    assert_eq!(run.neighbour, solo(4));
    assert_eq!(logs, ["stdin gave Ok(0)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip2_short_sleep_costs_fuel_and_returns_at_once() {
    let mut s = hostile_wasi("sleep", &SandboxLimits::default(), ClockMode::Wall);
    let started = std::time::Instant::now();
    for (mut view, events) in common::script(5) {
        assert!(matches!(
            s.on_events(&mut view, &events),
            CallOutcome::Commands(_)
        ));
        // 100 µs of waiting is charged as 1 M fuel.
        assert!(s.fuel().last >= 1_000_000, "{:?}", s.fuel());
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no real waiting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasip2_long_sleep_poll_and_clock_spin_fault_without_disturbing_the_neighbour() {
    for (mode, expect) in [
        ("sleep_long", FaultKind::Blocked),
        ("poll", FaultKind::Blocked),
        ("clock_spin", FaultKind::OutOfFuel),
        ("exit", FaultKind::Exited),
    ] {
        for clock in [ClockMode::Simulated, ClockMode::Wall] {
            let (run, _) = wasi_side_by_side(mode, 24, clock);
            assert!(!run.faults.is_empty(), "`{mode}` never faulted");
            for f in &run.faults {
                // Reading the clock is a host call, so in wall mode a spin may
                // meet the wall-clock backstop before it runs out of fuel.
                let backstop = clock == ClockMode::Wall && f.kind() == FaultKind::Deadline;
                assert!(f.kind() == expect || backstop, "`{mode}`: {f}");
            }
            assert_eq!(run.state, RunState::Quarantined, "`{mode}`");
            assert_eq!(run.neighbour, solo(24), "`{mode}` disturbed its neighbour");
        }
    }
    // The poll saw stdin ready (closed) before it blocked on the timer.
    let (_, logs) = wasi_side_by_side("poll", 1, ClockMode::Wall);
    assert_eq!(logs, ["poll ready: [1]"]);
}

#[test]
fn guest_log_lines_cannot_forge_host_lines() {
    let run_logs = |mut s: SupervisedStrategy| {
        let (mut view, events) = common::script(1).remove(0);
        assert!(matches!(
            s.on_events(&mut view, &events),
            CallOutcome::Commands(_)
        ));
        s.take_output().logs
    };
    let logs = run_logs(hostile(
        "forge_log",
        0,
        &SandboxLimits::default(),
        ClockMode::Simulated,
    ));
    assert_eq!(logs.len(), 1);
    let line = &logs[0].message;
    assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line:?}");
    assert!(
        line.starts_with("ok\\n2026-01-01T00:00:00.000000Z"),
        "{line}"
    );
    assert!(line.contains("\\u{1b}[31mforged"), "{line}");
}

#[test]
fn log_bytes_per_minute_are_capped() {
    let limits = SandboxLimits {
        max_log_bytes_per_minute: 200,
        ..SandboxLimits::default()
    };
    let mut s = hostile("echo", 0, &limits, ClockMode::Simulated);
    let mut kept = 0;
    let mut dropped = 0;
    // Twelve calls one second apart: all inside one minute of host time.
    for (mut view, events) in common::script(12) {
        assert!(matches!(
            s.on_events(&mut view, &events),
            CallOutcome::Commands(_)
        ));
        let out = s.take_output();
        kept += out.logs.iter().map(|l| l.message.len()).sum::<usize>();
        dropped += out.logs_dropped;
    }
    assert!(kept > 0 && kept <= 200, "{kept} bytes kept");
    assert!(dropped >= 8, "{dropped} lines dropped");
}
