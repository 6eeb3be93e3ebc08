//! One live strategy instance: its `Store`, and the metered calls into it. Any
//! error poisons the instance; the supervisor drops it and starts a new one.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use wasmtime::Store;

use super::artifact::Artifact;
use super::bindings::Strategy;
use super::bindings::types::{Command, Event, InitConfig, StrategyInfo};
use super::fault::{CallFacts, Fault, classify};
use super::guest_text::escape;
use super::host::{GuestOutput, HostState, HostView, LogLimits};
use super::limits::{ClockMode, SandboxLimits};
use super::native::NativeGuest;

/// How an instance is run.
#[derive(Debug, Clone)]
pub struct InstanceOptions {
    pub mode: ClockMode,
    /// Seeds the guest's `random` import (and WASI randomness).
    pub seed: u64,
    pub limits: SandboxLimits,
}

/// Epoch ticks far enough away to never fire (simulated mode).
const NO_DEADLINE: u64 = 1 << 40;

/// A panic in host code serving a guest, as the error of the call it ended.
fn host_panic(panic: Box<dyn std::any::Any + Send>) -> wasmtime::Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    tracing::error!(%message, "host code panicked while serving a strategy call");
    wasmtime::Error::msg(format!(
        "the host panicked while serving this call: {message}"
    ))
}

/// A store plus the bindings instantiated in it.
pub struct SandboxInstance {
    store: Store<HostState>,
    bindings: Strategy,
    /// A benchmark's linked copy of the strategy: called instead of the
    /// component, with the store's host state (see [`super::native`]).
    native: Option<Box<dyn NativeGuest>>,
    options: InstanceOptions,
    deadline_ticks: u64,
    last_fuel: u64,
}

impl SandboxInstance {
    /// Instantiates from the artifact's `InstancePre` into a fresh store.
    pub fn instantiate(
        artifact: &Artifact,
        options: &InstanceOptions,
    ) -> Result<SandboxInstance, Fault> {
        let limits = &options.limits;
        let state = HostState::new(
            Arc::from(artifact.info.name.as_str()),
            limits.memory_bytes,
            LogLimits {
                max_log_bytes: limits.max_log_bytes,
                max_logs_per_call: limits.max_logs_per_call,
                max_log_bytes_per_minute: limits.max_log_bytes_per_minute,
            },
            options.seed,
        );
        let mut store = Store::new(artifact.engine.engine(), state);
        store.limiter(|s| &mut s.limiter);
        let tick_ms = artifact.engine.epoch_tick().as_millis().max(1) as u64;
        let deadline_ticks = limits.deadline_ms.div_ceil(tick_ms).max(1) + 1;
        let budget = limits.fuel_init;
        let _ = store.set_fuel(budget);
        store.set_epoch_deadline(match options.mode {
            ClockMode::Simulated => NO_DEADLINE,
            ClockMode::Wall => deadline_ticks,
        });
        let instantiated =
            std::panic::catch_unwind(AssertUnwindSafe(|| artifact.pre.instantiate(&mut store)))
                .unwrap_or_else(|panic| Err(host_panic(panic)));
        let bindings = match instantiated {
            Ok(b) => b,
            Err(e) => {
                let facts = CallFacts {
                    call: "instantiate",
                    fuel_budget: budget,
                    deadline_ms: limits.deadline_ms,
                    panic_message: store.data().panic_message.as_deref(),
                };
                return Err(classify(&e, facts));
            }
        };
        Ok(SandboxInstance {
            store,
            bindings,
            native: artifact.native.as_ref().map(|make| make()),
            options: options.clone(),
            deadline_ticks,
            last_fuel: 0,
        })
    }

    /// Runs one metered call with `view` installed as the host's view. The view is
    /// swapped in and out, not copied.
    fn call<R>(
        &mut self,
        call: &'static str,
        budget: u64,
        view: &mut HostView,
        f: impl FnOnce(&Strategy, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Fault> {
        self.store.data_mut().begin_call(std::mem::take(view));
        if let Err(e) = self.store.set_fuel(budget) {
            return Err(Fault::Trap {
                call,
                message: format!("fuel unavailable: {e}"),
            });
        }
        self.store.set_epoch_deadline(match self.options.mode {
            ClockMode::Simulated => NO_DEADLINE,
            ClockMode::Wall => self.deadline_ticks,
        });
        // A bug in a host import must cost this strategy its instance, never
        // the process and the strategies beside it.
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| f(&self.bindings, &mut self.store)))
                .unwrap_or_else(|panic| Err(host_panic(panic)));
        let left = self.store.get_fuel().unwrap_or(0);
        self.last_fuel = budget.saturating_sub(left);
        std::mem::swap(view, &mut self.store.data_mut().view);
        result.map_err(|e| {
            classify(
                &e,
                CallFacts {
                    call,
                    fuel_budget: budget,
                    deadline_ms: self.options.limits.deadline_ms,
                    panic_message: self.store.data().panic_message.as_deref(),
                },
            )
        })
    }

    /// Runs `f` on the linked copy, if there is one, with `view` installed as
    /// the host's view (no fuel, no deadline: nothing meters it).
    fn call_native<R>(
        &mut self,
        call: &'static str,
        view: &mut HostView,
        f: impl FnOnce(&mut dyn NativeGuest, &mut HostState) -> R,
    ) -> Option<Result<R, Fault>> {
        let guest = self.native.as_mut()?;
        self.store.data_mut().begin_call(std::mem::take(view));
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            f(guest.as_mut(), self.store.data_mut())
        }));
        std::mem::swap(view, &mut self.store.data_mut().view);
        self.last_fuel = 0;
        Some(result.map_err(|panic| Fault::Trap {
            call,
            message: host_panic(panic).to_string(),
        }))
    }

    /// Fuel the last call used.
    pub fn last_fuel(&self) -> u64 {
        self.last_fuel
    }

    /// Logs, metrics, annotations and fair values of the last call.
    pub fn take_output(&mut self) -> GuestOutput {
        self.store.data_mut().take_output()
    }

    pub fn describe(&mut self, view: &mut HostView) -> Result<StrategyInfo, Fault> {
        if let Some(r) = self.call_native("describe", view, |g, _| g.describe()) {
            return r;
        }
        let budget = self.options.limits.fuel_init;
        self.call("describe", budget, view, |b, s| {
            b.pqap_strategy_callbacks().call_describe(s)
        })
    }

    pub fn init(&mut self, view: &mut HostView, config: &InitConfig) -> Result<(), Fault> {
        let budget = self.options.limits.fuel_init;
        match self.call_native("init", view, |g, h| g.init(h, config)) {
            Some(r) => r,
            None => self.call("init", budget, view, |b, s| {
                b.pqap_strategy_callbacks().call_init(s, config)
            }),
        }?
        .map_err(|message| Fault::InitRefused {
            message: escape(&message).into_owned(),
        })
    }

    pub fn on_events(
        &mut self,
        view: &mut HostView,
        events: &[Event],
    ) -> Result<Vec<Command>, Fault> {
        if let Some(r) = self.call_native("on-events", view, |g, h| g.on_events(h, events)) {
            return r;
        }
        let budget = self.options.limits.fuel_per_call;
        self.call("on-events", budget, view, |b, s| {
            b.pqap_strategy_callbacks().call_on_events(s, events)
        })
    }

    pub fn on_timer(&mut self, view: &mut HostView, id: u64) -> Result<Vec<Command>, Fault> {
        if let Some(r) = self.call_native("on-timer", view, |g, h| g.on_timer(h, id)) {
            return r;
        }
        let budget = self.options.limits.fuel_per_call;
        self.call("on-timer", budget, view, |b, s| {
            b.pqap_strategy_callbacks().call_on_timer(s, id)
        })
    }

    pub fn snapshot_state(&mut self, view: &mut HostView) -> Result<Vec<u8>, Fault> {
        let budget = self.options.limits.fuel_per_call;
        let state = match self.call_native("snapshot-state", view, |g, _| g.snapshot_state()) {
            Some(r) => r,
            None => self.call("snapshot-state", budget, view, |b, s| {
                b.pqap_strategy_callbacks().call_snapshot_state(s)
            }),
        }?;
        let max = self.options.limits.max_state_bytes;
        if state.len() > max {
            return Err(Fault::InvalidOutput {
                call: "snapshot-state",
                reason: format!("{} bytes of state, over the {max} byte limit", state.len()),
            });
        }
        Ok(state)
    }

    pub fn restore_state(&mut self, view: &mut HostView, state: &[u8]) -> Result<(), Fault> {
        let budget = self.options.limits.fuel_init;
        match self.call_native("restore-state", view, |g, h| g.restore_state(h, state)) {
            Some(r) => r,
            None => self.call("restore-state", budget, view, |b, s| {
                b.pqap_strategy_callbacks().call_restore_state(s, state)
            }),
        }?
        .map_err(|message| Fault::RestoreRefused {
            message: escape(&message).into_owned(),
        })
    }

    pub fn shutdown(&mut self, view: &mut HostView) -> Result<Vec<Command>, Fault> {
        if let Some(r) = self.call_native("shutdown", view, |g, h| g.shutdown(h)) {
            return r;
        }
        let budget = self.options.limits.fuel_per_call;
        self.call("shutdown", budget, view, |b, s| {
            b.pqap_strategy_callbacks().call_shutdown(s)
        })
    }
}
