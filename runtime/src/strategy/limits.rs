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

/// The most an operator may raise each limit to. A limit set past it would
/// let one strategy take the machine from the others (memory, the engine
/// loop's time, the journal's disk), which isolation exists to prevent.
pub const CEILINGS: &[(&str, u64)] = &[
    // About 0.8 s of guest CPU per call, 8 s for init.
    ("fuel_per_call", 10_000_000_000),
    ("fuel_init", 100_000_000_000),
    ("memory_bytes", 1 << 30),
    ("deadline_ms", 2_000),
    ("max_commands_per_call", 100_000),
    ("max_artifact_bytes", 64 << 20),
    ("max_log_bytes", 64 << 10),
    ("max_logs_per_call", 10_000),
    ("max_log_bytes_per_minute", 64 << 20),
    ("max_journal_bytes_per_minute", 1 << 30),
    ("max_timers", 100_000),
    ("max_timers_per_second", 10_000),
    ("max_commands_per_second", 100_000),
    ("max_journal_entries_per_second", 100_000),
    ("max_state_bytes", 64 << 20),
];

impl SandboxLimits {
    /// Each limit with a ceiling, by name.
    fn capped(&self) -> [(&'static str, u64); 15] {
        let n = |v: usize| v as u64;
        [
            ("fuel_per_call", self.fuel_per_call),
            ("fuel_init", self.fuel_init),
            ("memory_bytes", n(self.memory_bytes)),
            ("deadline_ms", self.deadline_ms),
            ("max_commands_per_call", n(self.max_commands_per_call)),
            ("max_artifact_bytes", n(self.max_artifact_bytes)),
            ("max_log_bytes", n(self.max_log_bytes)),
            ("max_logs_per_call", n(self.max_logs_per_call)),
            ("max_log_bytes_per_minute", n(self.max_log_bytes_per_minute)),
            (
                "max_journal_bytes_per_minute",
                self.max_journal_bytes_per_minute,
            ),
            ("max_timers", n(self.max_timers)),
            ("max_timers_per_second", self.max_timers_per_second),
            ("max_commands_per_second", self.max_commands_per_second),
            (
                "max_journal_entries_per_second",
                self.max_journal_entries_per_second,
            ),
            ("max_state_bytes", n(self.max_state_bytes)),
        ]
    }

    /// Every limit at or under its ceiling ([`CEILINGS`]), else which is
    /// over and by how much.
    pub fn check_ceilings(&self) -> Result<(), String> {
        for (name, value) in self.capped() {
            let ceiling = CEILINGS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(u64::MAX, |(_, c)| *c);
            if value > ceiling {
                return Err(format!(
                    "sandbox.{name} is {value}, over its ceiling of {ceiling}: one strategy \
                     could take the machine from the others"
                ));
            }
        }
        Ok(())
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

#[cfg(test)]
mod ceiling_tests {
    use super::*;

    #[test]
    fn defaults_sit_under_every_ceiling_and_each_ceiling_is_enforced() {
        SandboxLimits::default().check_ceilings().unwrap();
        assert_eq!(CEILINGS.len(), SandboxLimits::default().capped().len());
        let over = SandboxLimits {
            memory_bytes: (1 << 30) + 1,
            ..SandboxLimits::default()
        };
        let e = over.check_ceilings().unwrap_err();
        assert!(
            e.contains("sandbox.memory_bytes is 1073741825, over its ceiling of 1073741824"),
            "{e}"
        );
        let at = SandboxLimits {
            deadline_ms: 2_000,
            fuel_per_call: 10_000_000_000,
            ..SandboxLimits::default()
        };
        at.check_ceilings().unwrap();
        for (name, _) in SandboxLimits::default().capped() {
            assert!(
                CEILINGS.iter().any(|(n, _)| *n == name),
                "{name} has no ceiling"
            );
        }
    }
}
