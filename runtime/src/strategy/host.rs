//! The store data of one strategy instance: what the guest's host imports read
//! (a per-call view of clock, books, positions and orders) and what they record
//! (logs, metrics, annotations, fair values), plus the memory limiter and the
//! log budget.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use super::bindings::LogLevel;
use super::bindings::pqap::strategy::host::Host;
use super::bindings::types::{BookTop, OpenOrder, Position};
use super::guest_text::escape;
use super::rng::SplitMix64;
use super::wasi::{self, WasiState};

/// What the host knows when it calls the guest: answered by the guest's queries.
/// The engine fills it before each call with state *after* the batch being sent.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// Host time in nanoseconds (simulated in a backtest).
    pub now: u64,
    /// The strategy's positions, in instrument order.
    pub positions: Vec<Position>,
    pub open_orders: Vec<OpenOrder>,
    /// Every instrument's top of book, by instrument id.
    pub tops: Vec<BookTop>,
}

impl HostView {
    /// The strategy's position in `instrument` (flat if it has none).
    pub fn position(&self, instrument: u32) -> Position {
        let positions = &self.positions;
        positions
            .binary_search_by_key(&instrument, |p| p.instrument)
            .ok()
            .and_then(|i| positions.get(i))
            .copied()
            .unwrap_or(Position {
                instrument,
                size: 0,
                avg_price: 0,
                realized_pnl: 0,
            })
    }

    /// Its working orders, in `instrument` or in all.
    pub fn open_orders_of(&self, instrument: Option<u32>) -> Vec<OpenOrder> {
        self.open_orders
            .iter()
            .filter(|o| instrument.is_none_or(|i| o.instrument == i))
            .copied()
            .collect()
    }

    /// An instrument's best bid and ask (empty if unknown or unusable).
    pub fn book_top(&self, instrument: u32) -> BookTop {
        self.tops
            .get(instrument as usize)
            .copied()
            .unwrap_or(BookTop {
                bid: None,
                ask: None,
            })
    }
}

/// One log line a guest wrote (through `log`, or on stdout/stderr), truncated
/// and with control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLog {
    pub level: LogLevel,
    pub message: String,
}

/// Log bytes a strategy may write per minute of host time.
#[derive(Debug, Clone, Default)]
struct LogBudget {
    minute: u64,
    bytes: usize,
    dropped: u64,
}

/// Everything a guest reported through the host during one call, besides its
/// returned commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestOutput {
    pub logs: Vec<GuestLog>,
    /// Log lines beyond the per-call or per-minute budget, counted but not kept.
    pub logs_dropped: u32,
    pub metrics: Vec<(String, i64)>,
    pub annotations: Vec<(String, String)>,
    pub fair_values: Vec<(u32, u32)>,
}

/// Error a denied memory growth traps with, so the fault can say "memory limit".
#[derive(Debug, thiserror::Error)]
#[error("linear memory would grow to {requested} bytes in all, over the {limit} byte limit")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// Caps linear memory (all of a guest's memories together) and the number
/// of instances, tables and memories.
pub struct GuestLimiter {
    memory_limit: usize,
    /// Bytes of linear memory granted so far, over every memory: a guest
    /// with two memories shares one budget, never gets two.
    memory_total: usize,
}

impl GuestLimiter {
    pub fn new(memory_limit: usize) -> GuestLimiter {
        GuestLimiter {
            memory_limit,
            memory_total: 0,
        }
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.memory_limit {
            // Trap instead of returning -1: a Rust guest would abort on a failed
            // allocation anyway, and this way the fault names the cause.
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested: total,
                limit: self.memory_limit,
            }));
        }
        // A growth granted here and then failing in wasmtime stays counted:
        // the budget errs on the safe side.
        self.memory_total = total;
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
    max_log_bytes_per_minute: usize,
    log_budget: LogBudget,
    /// What the WASI imports of a `wasm32-wasip2` guest keep between calls.
    pub(super) wasi: WasiState,
}

/// How much a guest may write to the host's log.
#[derive(Debug, Clone, Copy)]
pub(super) struct LogLimits {
    pub max_log_bytes: usize,
    pub max_logs_per_call: usize,
    pub max_log_bytes_per_minute: usize,
}

impl HostState {
    pub(super) fn new(
        strategy: Arc<str>,
        memory_limit: usize,
        logs: LogLimits,
        seed: u64,
    ) -> HostState {
        HostState {
            limiter: GuestLimiter::new(memory_limit),
            view: HostView::default(),
            output: GuestOutput::default(),
            panic_message: None,
            rng: SplitMix64::new(seed),
            strategy,
            max_log_bytes: logs.max_log_bytes,
            max_logs_per_call: logs.max_logs_per_call,
            max_log_bytes_per_minute: logs.max_log_bytes_per_minute,
            log_budget: LogBudget::default(),
            wasi: WasiState::new(seed),
        }
    }

    /// Installs the view for the next call and clears last call's outputs.
    pub(super) fn begin_call(&mut self, view: HostView) {
        self.view = view;
        self.output = GuestOutput::default();
        self.panic_message = None;
    }

    /// Host time of the current call, in nanoseconds.
    pub(super) fn now(&self) -> u64 {
        self.view.now
    }

    pub(super) fn max_log_bytes(&self) -> usize {
        self.max_log_bytes
    }

    pub(super) fn take_output(&mut self) -> GuestOutput {
        wasi::flush_streams(self);
        std::mem::take(&mut self.output)
    }

    fn truncate<'a>(&self, s: &'a str) -> &'a str {
        let mut end = s.len().min(self.max_log_bytes);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        &s[..end]
    }

    /// Whether a line of `bytes` fits this call's and this minute's log budget;
    /// counts it either way.
    fn log_allowed(&mut self, bytes: usize) -> bool {
        let minute = self.view.now / 60_000_000_000;
        let budget = &mut self.log_budget;
        if budget.minute != minute {
            if budget.dropped > 0 {
                tracing::warn!(
                    strategy = %self.strategy,
                    dropped = budget.dropped,
                    limit = self.max_log_bytes_per_minute,
                    "strategy log lines dropped over its per-minute log budget"
                );
            }
            *budget = LogBudget {
                minute,
                ..LogBudget::default()
            };
        }
        if self.output.logs.len() >= self.max_logs_per_call
            || budget.bytes.saturating_add(bytes) > self.max_log_bytes_per_minute
        {
            budget.dropped += 1;
            self.output.logs_dropped = self.output.logs_dropped.saturating_add(1);
            return false;
        }
        budget.bytes += bytes;
        true
    }

    /// Records one line a guest wrote: truncated, escaped (guest text is data
    /// and must not forge host log lines), tagged with the strategy, counted
    /// against its budget.
    pub(super) fn guest_line(&mut self, level: LogLevel, message: &str) {
        let message = self.truncate(message);
        if !self.log_allowed(message.len()) {
            return;
        }
        let message = escape(message).into_owned();
        let strategy = &*self.strategy;
        match level {
            LogLevel::Trace => tracing::trace!(target: "pqap::guest", strategy, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "pqap::guest", strategy, "{message}"),
            LogLevel::Info => tracing::info!(target: "pqap::guest", strategy, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "pqap::guest", strategy, "{message}"),
            LogLevel::Error => tracing::error!(target: "pqap::guest", strategy, "{message}"),
        }
        self.output.logs.push(GuestLog { level, message });
    }
}

impl super::bindings::types::Host for HostState {}

impl Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        if let Some(rest) = message.strip_prefix("panic: ") {
            self.panic_message = Some(escape(self.truncate(rest)).into_owned());
        }
        self.guest_line(level, &message);
    }

    fn now(&mut self) -> u64 {
        self.view.now
    }

    fn get_position(&mut self, instrument: u32) -> Position {
        self.view.position(instrument)
    }

    fn get_open_orders(&mut self, instrument: Option<u32>) -> Vec<OpenOrder> {
        self.view.open_orders_of(instrument)
    }

    fn get_book_top(&mut self, instrument: u32) -> BookTop {
        self.view.book_top(instrument)
    }

    fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn metric(&mut self, name: String, value: i64) {
        if self.output.metrics.len() < self.max_logs_per_call {
            let name = escape(self.truncate(&name)).into_owned();
            self.output.metrics.push((name, value));
        }
    }

    fn annotate(&mut self, key: String, value: String) {
        if self.output.annotations.len() < self.max_logs_per_call {
            let entry = (
                escape(self.truncate(&key)).into_owned(),
                escape(self.truncate(&value)).into_owned(),
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn every_memory_of_a_guest_draws_on_one_budget() {
        let mut l = GuestLimiter::new(64 * MIB);
        // One memory grows to 40 MiB in two steps.
        assert!(l.memory_growing(0, 16 * MIB, None).unwrap());
        assert!(l.memory_growing(16 * MIB, 40 * MIB, None).unwrap());
        // A second memory may take what is left, not another 64 MiB.
        assert!(l.memory_growing(0, 24 * MIB, None).unwrap());
        let e = l.memory_growing(24 * MIB, 25 * MIB, None).unwrap_err();
        let e = e.downcast::<MemoryLimitExceeded>().unwrap();
        assert_eq!((e.requested, e.limit), (65 * MIB, 64 * MIB));
        // The refused growth took nothing.
        assert!(l.memory_growing(40 * MIB, 40 * MIB, None).unwrap());
        assert_eq!(l.memory_total, 64 * MIB);
    }
}
