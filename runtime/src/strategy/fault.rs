//! Typed faults of a strategy instance and the classification of wasmtime errors.

use serde::Serialize;
use wasmtime::Trap;

use super::host::MemoryLimitExceeded;
use super::wasi::{GuestExit, WaitedTooLong};

/// Why a strategy instance was stopped. Every variant names the call it happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    #[error("out of fuel in `{call}`: used its whole budget of {budget} fuel")]
    OutOfFuel { call: &'static str, budget: u64 },
    #[error("memory limit in `{call}`: wanted {requested} bytes of linear memory, limit {limit}")]
    MemoryLimit {
        call: &'static str,
        requested: usize,
        limit: usize,
    },
    #[error("deadline in `{call}`: ran past the {deadline_ms} ms wall-clock backstop")]
    Deadline {
        call: &'static str,
        deadline_ms: u64,
    },
    #[error("panic in `{call}`: {message}")]
    Panic { call: &'static str, message: String },
    #[error("stack overflow in `{call}`")]
    StackOverflow { call: &'static str },
    #[error("invalid output from `{call}`: {reason}")]
    InvalidOutput { call: &'static str, reason: String },
    #[error("trap in `{call}`: {message}")]
    Trap { call: &'static str, message: String },
    #[error(
        "blocked in `{call}`: waited {wait_ns} ns for host time (a sleep or poll) that cannot pass inside a call, and the wait costs more fuel than the call has; use set-timer to act later"
    )]
    Blocked { call: &'static str, wait_ns: u64 },
    #[error("exited in `{call}`: {message}")]
    Exited { call: &'static str, message: String },
    #[error("over its {what} budget: {detail}")]
    Budget { what: &'static str, detail: String },
    #[error("cannot start as configured: {message}")]
    Misconfigured { message: String },
    #[error("`init` refused to start: {message}")]
    InitRefused { message: String },
    #[error("`restore-state` refused the saved state: {message}")]
    RestoreRefused { message: String },
}

/// The kind of a fault, for counters and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    OutOfFuel,
    MemoryLimit,
    Deadline,
    Panic,
    StackOverflow,
    InvalidOutput,
    Trap,
    Blocked,
    Exited,
    Budget,
    Misconfigured,
    InitRefused,
    RestoreRefused,
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::OutOfFuel { .. } => FaultKind::OutOfFuel,
            Fault::MemoryLimit { .. } => FaultKind::MemoryLimit,
            Fault::Deadline { .. } => FaultKind::Deadline,
            Fault::Panic { .. } => FaultKind::Panic,
            Fault::StackOverflow { .. } => FaultKind::StackOverflow,
            Fault::InvalidOutput { .. } => FaultKind::InvalidOutput,
            Fault::Trap { .. } => FaultKind::Trap,
            Fault::Blocked { .. } => FaultKind::Blocked,
            Fault::Exited { .. } => FaultKind::Exited,
            Fault::Budget { .. } => FaultKind::Budget,
            Fault::Misconfigured { .. } => FaultKind::Misconfigured,
            Fault::InitRefused { .. } => FaultKind::InitRefused,
            Fault::RestoreRefused { .. } => FaultKind::RestoreRefused,
        }
    }
}

/// What a failed call knew besides the error itself.
pub(super) struct CallFacts<'a> {
    pub call: &'static str,
    pub fuel_budget: u64,
    pub deadline_ms: u64,
    pub panic_message: Option<&'a str>,
}

/// Turns a wasmtime error from a guest call into a [`Fault`].
pub(super) fn classify(err: &wasmtime::Error, facts: CallFacts<'_>) -> Fault {
    let call = facts.call;
    if let Some(limit) = err.downcast_ref::<MemoryLimitExceeded>() {
        return Fault::MemoryLimit {
            call,
            requested: limit.requested,
            limit: limit.limit,
        };
    }
    if let Some(wait) = err.downcast_ref::<WaitedTooLong>() {
        return Fault::Blocked {
            call,
            wait_ns: wait.wait_ns,
        };
    }
    if let Some(exit) = err.downcast_ref::<GuestExit>() {
        return Fault::Exited {
            call,
            message: exit.to_string(),
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::OutOfFuel {
            call,
            budget: facts.fuel_budget,
        },
        Some(Trap::Interrupt) => Fault::Deadline {
            call,
            deadline_ms: facts.deadline_ms,
        },
        Some(Trap::StackOverflow) => Fault::StackOverflow { call },
        Some(Trap::UnreachableCodeReached) => match facts.panic_message {
            Some(m) => Fault::Panic {
                call,
                message: m.to_string(),
            },
            None => Fault::Panic {
                call,
                message: "wasm `unreachable` executed (abort without a panic message)".into(),
            },
        },
        Some(trap) => Fault::Trap {
            call,
            message: trap.to_string(),
        },
        // Error chains can carry guest-chosen text (function names of a
        // backtrace, say): escaped like any guest text.
        None => Fault::Trap {
            call,
            message: super::guest_text::escape(&format!("{err:#}")).into_owned(),
        },
    }
}
