//! The WASI a `wasm32-wasip2` strategy gets, implemented by the host itself: it
//! grants nothing (no files, network, environment or arguments), never blocks a
//! thread, and never touches the host's stdio. Clocks read the call's host time,
//! randomness comes from the run's seed, stdout and stderr become the strategy's
//! log lines, stdin is closed, and a wait for time to pass is charged as fuel.
//!
//! Why not `wasmtime-wasi`: its synchronous bindings run every blocking call on
//! a Tokio runtime (`block_on`), which panics inside the engine's own runtime,
//! and its sleeps wait on real time. A strategy's world is a pure function of
//! its events, so every WASI call here answers at once.

mod cli;
mod clocks;
mod io;
mod random;

use wasmtime::component::Linker;

use super::host::HostState;
use super::rng::SplitMix64;

/// WASI interface prefixes a strategy may import. Filesystem, sockets and HTTP
/// are deliberately absent.
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

/// The version the host's definitions carry; the linker matches any 0.2.x
/// import to them (semver-compatible names).
const VERSION: &str = "0.2.0";

/// Fuel charged per nanosecond a guest waits for host time that cannot pass
/// inside a call: a wait costs what spinning that long would (≈ 10–17 M fuel per
/// millisecond of guest CPU here), so a 1 ms sleep uses a fifth of the default
/// per-call budget and a longer one ends in a `blocked` fault.
pub const FUEL_PER_WAITED_NS: u64 = 10;

/// Pollables a guest may hold open at once.
pub const MAX_POLLABLES: usize = 256;

/// Random bytes one call to `get-random-bytes` may ask for.
pub const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// A guest waited for host time to pass inside a call, with not enough fuel
/// left to pay for the wait.
#[derive(Debug, thiserror::Error)]
#[error(
    "waited {wait_ns} ns for host time (a sleep or poll), costing {fuel} fuel with {left} left"
)]
pub struct WaitedTooLong {
    pub wait_ns: u64,
    pub fuel: u64,
    pub left: u64,
}

/// The guest called `wasi:cli/exit`.
#[derive(Debug, thiserror::Error)]
#[error("the strategy called wasi:cli/exit ({status}); a strategy cannot end the host process")]
pub struct GuestExit {
    pub status: String,
}

/// A guest asked for more of a WASI resource than the host grants.
#[derive(Debug, thiserror::Error)]
#[error("WASI limit: {0}")]
pub struct WasiLimit(pub String);

/// What a pollable waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    /// Streams: stdin is closed and the output streams always accept.
    Always,
    /// A monotonic-clock subscription: ready once host time reaches it, or once
    /// the guest paid for waiting until then.
    At { deadline_ns: u64, paid: bool },
}

/// Per-instance WASI state.
pub struct WasiState {
    secure: SplitMix64,
    insecure: SplitMix64,
    insecure_seed: (u64, u64),
    pollables: Vec<Option<Readiness>>,
    /// Bytes of stdout (0) and stderr (1) not yet ended by a newline.
    partial: [Vec<u8>; 2],
}

impl WasiState {
    pub fn new(seed: u64) -> WasiState {
        let mut seeder = SplitMix64::new(seed ^ 0x5EC0_5EC0_5EC0_5EC0);
        WasiState {
            secure: SplitMix64::new(seeder.next_u64()),
            insecure: SplitMix64::new(seeder.next_u64()),
            insecure_seed: (seeder.next_u64(), seeder.next_u64()),
            pollables: Vec::new(),
            partial: [Vec::new(), Vec::new()],
        }
    }

    fn new_pollable(&mut self, r: Readiness) -> wasmtime::Result<u32> {
        let slot = match self.pollables.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.pollables.len() < MAX_POLLABLES => {
                self.pollables.push(None);
                self.pollables.len() - 1
            }
            None => {
                return Err(wasmtime::Error::new(WasiLimit(format!(
                    "more than {MAX_POLLABLES} pollables open at once"
                ))));
            }
        };
        self.pollables[slot] = Some(r);
        Ok(u32::try_from(slot).unwrap_or(u32::MAX))
    }
}

/// Adds every allowed WASI interface to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    io::add(linker)?;
    clocks::add(linker)?;
    random::add(linker)?;
    cli::add(linker)?;
    Ok(())
}

fn name(interface: &str) -> String {
    format!("wasi:{interface}@{VERSION}")
}

/// Logs what stdout and stderr hold without a final newline (end of a call).
pub fn flush_streams(state: &mut HostState) {
    io::flush_partial(state, io::STDOUT);
    io::flush_partial(state, io::STDERR);
}
