//! Resource limits of one strategy sandbox, with defaults sized for this class of
//! machine (see `docs/BENCHMARKS.md` for the fuel-per-millisecond rate).

use serde::{Deserialize, Serialize};

/// Limits applied to every call into a strategy and to its artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxLimits {
    /// Fuel (≈ wasm instructions) per call; refilled before each call. 50 M fuel is
    /// about 3–5 ms of guest CPU here.
    pub fuel_per_call: u64,
    /// Fuel for `init` and `restore-state`, which may build tables.
    pub fuel_init: u64,
    /// Linear memory cap per instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock backstop per call in paper/live (epoch interruption); never used
    /// in backtests, where fuel alone bounds a call so runs stay deterministic.
    pub deadline_ms: u64,
    /// Commands one call may return.
    pub max_commands_per_call: usize,
    /// Largest artifact accepted, in bytes.
    pub max_artifact_bytes: usize,
    /// Longest log message kept, in bytes.
    pub max_log_bytes: usize,
    /// Log messages kept per call; the rest are counted and dropped.
    pub max_logs_per_call: usize,
    /// Log bytes kept per minute of host time (log import and stdout/stderr
    /// together); the rest are counted and dropped.
    pub max_log_bytes_per_minute: usize,
    /// Journal bytes a strategy's decisions may add per minute of host time
    /// (commands, risk verdicts, order events, snapshots); a call that would go
    /// over faults the strategy with `budget` before any of it is journaled.
    pub max_journal_bytes_per_minute: u64,
    /// Timers one strategy may have armed at once; arming more faults it.
    pub max_timers: usize,
    /// Timers one strategy may arm per second of host time.
    pub max_timers_per_second: u64,
    /// Commands one strategy may return per second of host time (all calls).
    pub max_commands_per_second: u64,
    /// Journal entries one strategy's decisions may add per second of host time.
    pub max_journal_entries_per_second: u64,
    /// Largest `snapshot-state` blob accepted, in bytes.
    pub max_state_bytes: usize,
    /// Faults before a strategy is quarantined (stopped until an operator acts).
    pub max_faults: u32,
    /// First restart delay after a fault; doubles per fault up to the maximum.
    pub restart_backoff_ms: u64,
    pub restart_backoff_max_ms: u64,
    /// Successful calls between state snapshots (restart points).
    pub snapshot_every_calls: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            fuel_per_call: 50_000_000,
            fuel_init: 500_000_000,
            memory_bytes: 64 << 20,
            deadline_ms: 100,
            max_commands_per_call: 1_000,
            max_artifact_bytes: 8 << 20,
            max_log_bytes: 1_024,
            max_logs_per_call: 64,
            max_log_bytes_per_minute: 256 << 10,
            max_journal_bytes_per_minute: 8 << 20,
            max_timers: 1_000,
            max_timers_per_second: 200,
            max_commands_per_second: 2_000,
            max_journal_entries_per_second: 5_000,
            max_state_bytes: 4 << 20,
            max_faults: 5,
            restart_backoff_ms: 1_000,
            restart_backoff_max_ms: 60_000,
            snapshot_every_calls: 100,
        }
    }
}

/// Which clock bounds guest calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Backtests: fuel only, so a replay traps at exactly the same instruction.
    Simulated,
    /// Paper and live: fuel plus a wall-clock deadline.
    Wall,
}
