//! Shared helpers for the end-to-end tests: building guest components once per
//! test binary, and a standard market and driver for running strategies.

#![allow(dead_code)]

pub mod browser;
pub mod hand;
pub mod live;
pub mod live_session;
pub mod registry;
pub mod server;
pub mod session;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use pqap::strategy::bindings::types::{
    BookSnapshot, BookTop, Event, EventKind, InitConfig, InstrumentInfo, Level, Param, ParamValue,
    Quote,
};
use pqap::strategy::build::{BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::{
    Artifact, ClockMode, EngineOptions, HostView, InstanceOptions, SandboxEngine, SandboxLimits,
};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One engine per test binary (it owns an epoch ticker thread).
pub fn engine() -> Arc<SandboxEngine> {
    static ENGINE: OnceLock<Arc<SandboxEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(SandboxEngine::new(EngineOptions::default()).expect("engine")))
        .clone()
}

/// Builds a guest crate (relative to the repo root) once per test binary and
/// returns the component's path. Guests build into `target/guests`, a cargo target
/// dir of their own, so the outer `cargo test` never waits on its own lock.
pub fn guest(crate_dir: &str, target: GuestTarget) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, &'static str), PathBuf>>> = OnceLock::new();
    let key = (crate_dir.to_string(), target.triple());
    let built = BUILT.get_or_init(Default::default);
    let mut guard = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = guard.get(&key) {
        return p.clone();
    }
    let target_dir = repo().join("target/guests");
    let out = build_strategy(
        &engine(),
        &BuildOptions {
            crate_dir: repo().join(crate_dir),
            target,
            out_dir: Some(target_dir.join("out").join(target.triple())),
            target_dir: Some(target_dir),
        },
        &SandboxLimits::default(),
    )
    .unwrap_or_else(|e| panic!("building {crate_dir}: {e}"));
    guard.insert(key, out.wasm.clone());
    out.wasm
}

pub fn load(path: &Path, limits: &SandboxLimits) -> Arc<Artifact> {
    let bytes = std::fs::read(path).expect("read component");
    engine().load(&bytes, limits).expect("load component")
}

/// The market maker built as a plain component.
pub fn market_maker() -> Arc<Artifact> {
    load(
        &guest("strategies/market-maker", GuestTarget::UnknownUnknown),
        &SandboxLimits::default(),
    )
}

/// One binary market: instruments 0 (Yes) and 1 (No).
pub fn instruments() -> Vec<InstrumentInfo> {
    let make = |id: u32, other: u32, outcome: &str| InstrumentInfo {
        id,
        market: 0,
        token: format!("{}", 9_000 + id),
        outcome: outcome.to_string(),
        question: "Will the test pass?".to_string(),
        complement: Some(other),
        tick: 10_000,
        min_size: 5_000_000,
        taker_fee_rate: 0,
    };
    vec![make(0, 1, "Yes"), make(1, 0, "No")]
}

pub fn config(params: Vec<(&str, ParamValue)>) -> InitConfig {
    InitConfig {
        run_id: "test".to_string(),
        instruments: instruments(),
        params: params
            .into_iter()
            .map(|(name, value)| Param {
                name: name.to_string(),
                value,
            })
            .collect(),
    }
}

pub fn options(mode: ClockMode, limits: SandboxLimits) -> InstanceOptions {
    InstanceOptions {
        mode,
        seed: 42,
        limits,
    }
}

/// A deterministic script of market batches for instrument 0: the mid walks up
/// and down by a tick so a market maker requotes.
pub fn script(batches: usize) -> Vec<(HostView, Vec<Event>)> {
    let mut out = Vec::new();
    let mut seq = 0;
    for i in 0..batches {
        let shift = [0u32, 1, 2, 1][i % 4] * 10_000;
        let bid = 450_000 + shift;
        let ask = 550_000 + shift;
        let top = BookTop {
            bid: Some(Level {
                price: bid,
                size: 100_000_000,
            }),
            ask: Some(Level {
                price: ask,
                size: 100_000_000,
            }),
        };
        let now = 1_700_000_000_000_000_000 + i as u64 * 1_000_000_000;
        let mut kinds = vec![EventKind::Quote(Quote {
            instrument: 0,
            bid: top.bid,
            ask: top.ask,
        })];
        if i == 0 {
            kinds.insert(
                0,
                EventKind::BookSnapshot(BookSnapshot {
                    instrument: 0,
                    bids: vec![top.bid.unwrap_or(Level { price: 0, size: 0 })],
                    asks: vec![top.ask.unwrap_or(Level { price: 0, size: 0 })],
                }),
            );
        }
        let events = kinds
            .into_iter()
            .map(|kind| {
                seq += 1;
                Event { seq, ts: now, kind }
            })
            .collect();
        let mut view = HostView {
            now,
            ..HostView::default()
        };
        view.tops.insert(0, top);
        out.push((view, events));
    }
    out
}
