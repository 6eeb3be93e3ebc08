//! `wasi:clocks`: both clocks read the host time of the current call (simulated
//! in a backtest), which does not move while the guest runs.

use wasmtime::component::{ComponentType, Linker, Lower};

use super::io::ready_at;
use super::name;
use crate::strategy::host::HostState;

/// `wasi:clocks/wall-clock.datetime`.
#[derive(ComponentType, Lower, Clone, Copy)]
#[component(record)]
struct Datetime {
    seconds: u64,
    nanoseconds: u32,
}

fn datetime(ns: u64) -> Datetime {
    Datetime {
        seconds: ns / 1_000_000_000,
        nanoseconds: u32::try_from(ns % 1_000_000_000).unwrap_or(0),
    }
}

pub(super) fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut wall = linker.instance(&name("clocks/wall-clock"))?;
    wall.func_wrap("now", |store, (): ()| Ok((datetime(store.data().now()),)))?;
    wall.func_wrap("resolution", |_, (): ()| Ok((datetime(1),)))?;

    let mut mono = linker.instance(&name("clocks/monotonic-clock"))?;
    mono.func_wrap("now", |store, (): ()| Ok((store.data().now(),)))?;
    mono.func_wrap("resolution", |_, (): ()| Ok((1u64,)))?;
    mono.func_wrap("subscribe-instant", |mut store, (at,): (u64,)| {
        ready_at(&mut store, at)
    })?;
    mono.func_wrap("subscribe-duration", |mut store, (wait,): (u64,)| {
        let at = store.data().now().saturating_add(wait);
        ready_at(&mut store, at)
    })?;
    Ok(())
}
