//! The WASI a `wasm32-wasip2` strategy gets: it grants nothing (no files, network,
//! environment or arguments; stdio discarded), its clocks read the host's
//! (simulated) time and its randomness comes from the run's seed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{HostMonotonicClock, HostWallClock, WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::{cli, clocks, random, sync};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::{WasiCtx, WasiView};

use super::host::HostState;

/// WASI interface prefixes a strategy may import (all served by the empty context).
/// Filesystem, sockets and HTTP are deliberately absent.
pub const ALLOWED_WASI_PREFIXES: &[&str] = &[
    "wasi:io/error@0.2",
    "wasi:io/poll@0.2",
    "wasi:io/streams@0.2",
    "wasi:cli/environment@0.2",
    "wasi:cli/exit@0.2",
    "wasi:cli/stdin@0.2",
    "wasi:cli/stdout@0.2",
    "wasi:cli/stderr@0.2",
    "wasi:cli/terminal-input@0.2",
    "wasi:cli/terminal-output@0.2",
    "wasi:cli/terminal-stdin@0.2",
    "wasi:cli/terminal-stdout@0.2",
    "wasi:cli/terminal-stderr@0.2",
    "wasi:clocks/wall-clock@0.2",
    "wasi:clocks/monotonic-clock@0.2",
    "wasi:random/random@0.2",
    "wasi:random/insecure@0.2",
    "wasi:random/insecure-seed@0.2",
];

/// Wall clock reading host time (nanoseconds since the epoch).
struct HostTimeWall(Arc<AtomicU64>);

impl HostWallClock for HostTimeWall {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// Monotonic clock reading host time; host time never goes backwards.
struct HostTimeMonotonic(Arc<AtomicU64>);

impl HostMonotonicClock for HostTimeMonotonic {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A WASI context that grants nothing, with virtual clocks and seeded randomness.
pub fn empty_context(clock: &Arc<AtomicU64>, seed: u64) -> WasiCtx {
    let mut b = WasiCtx::builder();
    b.wall_clock(HostTimeWall(clock.clone()))
        .monotonic_clock(HostTimeMonotonic(clock.clone()))
        .secure_random(StdRng::seed_from_u64(seed ^ 0x5EC0_5EC0))
        .insecure_random(StdRng::seed_from_u64(seed ^ 0x1A5E_C0DE))
        .insecure_random_seed(u128::from(seed))
        .max_random_size(64 << 10)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    b.build()
}

struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn io_table(state: &mut HostState) -> &mut ResourceTable {
    state.ctx().table
}

/// Adds exactly the allowed WASI interfaces (synchronous flavour) to `linker`.
pub fn add_allowed_wasi(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let l = linker;
    wasmtime_wasi_io_error(l)?;
    sync::io::poll::add_to_linker::<HostState, IoTable>(l, io_table)?;
    sync::io::streams::add_to_linker::<HostState, IoTable>(l, io_table)?;
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    Ok(())
}

fn wasmtime_wasi_io_error(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::bindings::io::error::add_to_linker::<HostState, IoTable>(l, io_table)
}
