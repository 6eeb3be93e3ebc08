//! The store data of one strategy instance: what the guest's host imports read
//! (a per-call view of clock, books, positions and orders) and what they record
//! (logs, metrics, annotations, fair values), plus the memory limiter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::LogLevel;
use super::bindings::pqap::strategy::host::Host;
use super::bindings::types::{BookTop, OpenOrder, Position};
use super::rng::SplitMix64;

/// What the host knows when it calls the guest: answered by the guest's queries.
/// The engine fills it before each call with state *after* the batch being sent.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// Host time in nanoseconds (simulated in a backtest).
    pub now: u64,
    pub positions: BTreeMap<u32, Position>,
    pub open_orders: Vec<OpenOrder>,
    pub tops: BTreeMap<u32, BookTop>,
}

/// One log line a guest wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLog {
    pub level: LogLevel,
    pub message: String,
}

/// Everything a guest reported through the host during one call, besides its
/// returned commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestOutput {
    pub logs: Vec<GuestLog>,
    /// Log lines beyond the per-call budget, counted but not kept.
    pub logs_dropped: u32,
    pub metrics: Vec<(String, i64)>,
    pub annotations: Vec<(String, String)>,
    pub fair_values: Vec<(u32, u32)>,
}

/// Error a denied memory growth traps with, so the fault can say "memory limit".
#[derive(Debug, thiserror::Error)]
#[error("linear memory would grow to {requested} bytes, over the {limit} byte limit")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// Caps linear memory and the number of instances, tables and memories.
pub struct GuestLimiter {
    memory_limit: usize,
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            // Trap instead of returning -1: a Rust guest would abort on a failed
            // allocation anyway, and this way the fault names the cause.
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested: desired,
                limit: self.memory_limit,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    // A `wasm32-unknown-unknown` component needs one of each; `wasm32-wasip2`
    // output has adapter shims with three core instances.
    fn instances(&self) -> usize {
        8
    }
    fn tables(&self) -> usize {
        8
    }
    fn memories(&self) -> usize {
        2
    }
}

/// The data of a strategy's `Store`.
pub struct HostState {
    pub(super) limiter: GuestLimiter,
    pub(super) view: HostView,
    pub(super) output: GuestOutput,
    /// Message of the last `panic:` log, reported with an unreachable trap.
    pub(super) panic_message: Option<String>,
    rng: SplitMix64,
    strategy: Arc<str>,
    max_log_bytes: usize,
    max_logs_per_call: usize,
    /// Host time shared with the virtual WASI clocks of `wasm32-wasip2` guests.
    pub(super) clock: Arc<AtomicU64>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub(super) fn new(
        strategy: Arc<str>,
        memory_limit: usize,
        max_log_bytes: usize,
        max_logs_per_call: usize,
        seed: u64,
        clock: Arc<AtomicU64>,
        wasi: WasiCtx,
    ) -> HostState {
        HostState {
            limiter: GuestLimiter { memory_limit },
            view: HostView::default(),
            output: GuestOutput::default(),
            panic_message: None,
            rng: SplitMix64::new(seed),
            strategy,
            max_log_bytes,
            max_logs_per_call,
            clock,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Installs the view for the next call and clears last call's outputs.
    pub(super) fn begin_call(&mut self, view: HostView) {
        self.clock.store(view.now, Ordering::Relaxed);
        self.view = view;
        self.output = GuestOutput::default();
        self.panic_message = None;
    }

    pub(super) fn take_output(&mut self) -> GuestOutput {
        std::mem::take(&mut self.output)
    }

    fn truncate(&self, s: &str) -> String {
        let mut end = s.len().min(self.max_log_bytes);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl super::bindings::types::Host for HostState {}

impl Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        if let Some(rest) = message.strip_prefix("panic: ") {
            self.panic_message = Some(self.truncate(rest));
        }
        if self.output.logs.len() >= self.max_logs_per_call {
            self.output.logs_dropped = self.output.logs_dropped.saturating_add(1);
            return;
        }
        let message = self.truncate(&message);
        let strategy = &*self.strategy;
        match level {
            LogLevel::Trace => tracing::trace!(strategy, "{message}"),
            LogLevel::Debug => tracing::debug!(strategy, "{message}"),
            LogLevel::Info => tracing::info!(strategy, "{message}"),
            LogLevel::Warn => tracing::warn!(strategy, "{message}"),
            LogLevel::Error => tracing::error!(strategy, "{message}"),
        }
        self.output.logs.push(GuestLog { level, message });
    }

    fn now(&mut self) -> u64 {
        self.view.now
    }

    fn get_position(&mut self, instrument: u32) -> Position {
        self.view
            .positions
            .get(&instrument)
            .copied()
            .unwrap_or(Position {
                instrument,
                size: 0,
                avg_price: 0,
                realized_pnl: 0,
            })
    }

    fn get_open_orders(&mut self, instrument: Option<u32>) -> Vec<OpenOrder> {
        self.view
            .open_orders
            .iter()
            .filter(|o| instrument.is_none_or(|i| o.instrument == i))
            .copied()
            .collect()
    }

    fn get_book_top(&mut self, instrument: u32) -> BookTop {
        self.view.tops.get(&instrument).copied().unwrap_or(BookTop {
            bid: None,
            ask: None,
        })
    }

    fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn metric(&mut self, name: String, value: i64) {
        if self.output.metrics.len() < self.max_logs_per_call {
            let name = self.truncate(&name);
            self.output.metrics.push((name, value));
        }
    }

    fn annotate(&mut self, key: String, value: String) {
        if self.output.annotations.len() < self.max_logs_per_call {
            let entry = (self.truncate(&key), self.truncate(&value));
            self.output.annotations.push(entry);
        }
    }

    fn fair_value(&mut self, instrument: u32, probability: u32) {
        if self.output.fair_values.len() < self.max_logs_per_call {
            self.output
                .fair_values
                .push((instrument, probability.min(1_000_000)));
        }
    }
}
