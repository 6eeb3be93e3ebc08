//! Keeps one deployed strategy running: checks its output, takes restart points,
//! and after a fault drops the poisoned instance, waits out a backoff on the host
//! clock, restarts it from the last snapshot, and quarantines it after too many
//! faults. Timing uses host time, so a backtest replays restarts exactly.

use std::sync::Arc;

use serde::Serialize;

use super::artifact::Artifact;
use super::bindings::types::{Command, Event, InitConfig};
use super::fault::Fault;
use super::host::{GuestOutput, HostView};
use super::instance::{InstanceOptions, SandboxInstance};
use super::output::CommandChecker;

/// Whether the strategy is being called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunState {
    Running,
    /// Faulted; restarts at host time `until` (ns).
    Backoff {
        until: u64,
    },
    /// Stopped for good after too many faults; needs an operator.
    Quarantined,
}

/// A fault and when (host time, ns) it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRecord {
    pub at: u64,
    pub fault: Fault,
}

/// Fuel used per call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FuelStats {
    pub calls: u64,
    pub total: u128,
    pub max: u64,
    pub last: u64,
}

impl FuelStats {
    fn record(&mut self, fuel: u64) {
        self.calls += 1;
        self.total += u128::from(fuel);
        self.max = self.max.max(fuel);
        self.last = fuel;
    }
}

/// What one delivery to the strategy produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The call succeeded; these commands go on to risk checks.
    Commands(Vec<Command>),
    /// The call faulted: the instance is gone and its orders must be cancelled by
    /// the caller. Commands of the faulting call are discarded.
    Faulted(Fault),
    /// The strategy is not running (backoff or quarantine); nothing was delivered.
    NotRunning(RunState),
}

/// A strategy deployment under supervision.
pub struct SupervisedStrategy {
    artifact: Arc<Artifact>,
    config: InitConfig,
    options: InstanceOptions,
    checker: CommandChecker,
    instance: Option<SandboxInstance>,
    state: RunState,
    faults: Vec<FaultRecord>,
    restarts: u32,
    snapshot: Option<Vec<u8>>,
    /// The restart point before the last call's, while the host has not yet
    /// accepted that call (a host-found fault discards it).
    snapshot_before_call: Option<Option<Vec<u8>>>,
    calls_since_snapshot: u64,
    snapshots_taken: u64,
    fuel: FuelStats,
    output: GuestOutput,
}

impl SupervisedStrategy {
    /// Instantiates and initialises the strategy. A refusal here is returned, not
    /// retried: a deployment that cannot start is a configuration problem.
    pub fn start(
        artifact: Arc<Artifact>,
        config: InitConfig,
        options: InstanceOptions,
        view: &mut HostView,
    ) -> Result<SupervisedStrategy, Fault> {
        let mut instance = SandboxInstance::instantiate(&artifact, &options)?;
        instance.init(view, &config)?;
        let mut sup = SupervisedStrategy::new(artifact, config, options, RunState::Running);
        sup.output = instance.take_output();
        sup.instance = Some(instance);
        Ok(sup)
    }

    /// A supervisor for a strategy that is not to run: it could not start
    /// (`fault`, recorded at host time `at`) or an operator quarantined it. It
    /// stays visible — name, version, fault — and is never called.
    pub fn quarantined(
        artifact: Arc<Artifact>,
        config: InitConfig,
        options: InstanceOptions,
        fault: Option<(u64, Fault)>,
    ) -> SupervisedStrategy {
        tracing::error!(
            strategy = %artifact.info.name,
            fault = fault.as_ref().map(|(_, f)| f.to_string()),
            "quarantined at start"
        );
        let mut sup = SupervisedStrategy::new(artifact, config, options, RunState::Quarantined);
        sup.faults = fault
            .into_iter()
            .map(|(at, fault)| FaultRecord { at, fault })
            .collect();
        sup
    }

    fn new(
        artifact: Arc<Artifact>,
        config: InitConfig,
        options: InstanceOptions,
        state: RunState,
    ) -> SupervisedStrategy {
        SupervisedStrategy {
            checker: CommandChecker::new(&config, options.limits.max_commands_per_call),
            artifact,
            config,
            options,
            instance: None,
            state,
            faults: Vec::new(),
            restarts: 0,
            snapshot: None,
            snapshot_before_call: None,
            calls_since_snapshot: 0,
            snapshots_taken: 0,
            fuel: FuelStats::default(),
            output: GuestOutput::default(),
        }
    }

    /// Stops the strategy with a fault the host found in what its last call
    /// returned (a budget it would go over), exactly as if that call had
    /// trapped: its decisions are discarded, and so is the restart point taken
    /// after it; the instance is dropped; backoff or quarantine.
    pub fn fault_from_host(&mut self, at: u64, fault: Fault) -> CallOutcome {
        if let Some(previous) = self.snapshot_before_call.take() {
            self.snapshot = previous;
            self.snapshots_taken = self.snapshots_taken.saturating_sub(1);
        }
        self.fault(at, fault)
    }

    pub fn name(&self) -> &str {
        &self.artifact.info.name
    }

    pub fn artifact(&self) -> &Arc<Artifact> {
        &self.artifact
    }

    pub fn config(&self) -> &InitConfig {
        &self.config
    }

    /// Whether a call at host time `now` reaches the strategy: it runs, or its
    /// backoff is over and the call restarts it.
    pub fn takes_calls(&self, now: u64) -> bool {
        match self.state {
            RunState::Running => self.instance.is_some(),
            RunState::Backoff { until } => now >= until,
            RunState::Quarantined => false,
        }
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn faults(&self) -> &[FaultRecord] {
        &self.faults
    }

    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    pub fn fuel(&self) -> &FuelStats {
        &self.fuel
    }

    /// Logs, metrics and annotations of the last call.
    pub fn take_output(&mut self) -> GuestOutput {
        std::mem::take(&mut self.output)
    }

    fn fault(&mut self, at: u64, fault: Fault) -> CallOutcome {
        self.instance = None;
        self.faults.push(FaultRecord {
            at,
            fault: fault.clone(),
        });
        let limits = &self.options.limits;
        let n = self.faults.len() as u32;
        self.state = if n >= limits.max_faults {
            tracing::error!(strategy = %self.name(), faults = n, %fault, "quarantined");
            RunState::Quarantined
        } else {
            let factor = 1u64 << (n - 1).min(20);
            let delay_ms = limits
                .restart_backoff_ms
                .saturating_mul(factor)
                .min(limits.restart_backoff_max_ms);
            tracing::warn!(strategy = %self.name(), %fault, delay_ms, "strategy faulted");
            RunState::Backoff {
                until: at.saturating_add(delay_ms.saturating_mul(1_000_000)),
            }
        };
        CallOutcome::Faulted(fault)
    }

    /// Makes sure an instance is running, restarting one if its backoff is over.
    fn ready(&mut self, view: &mut HostView) -> Result<(), CallOutcome> {
        match self.state {
            RunState::Running if self.instance.is_some() => return Ok(()),
            RunState::Quarantined => return Err(CallOutcome::NotRunning(RunState::Quarantined)),
            RunState::Backoff { until } if view.now < until => {
                return Err(CallOutcome::NotRunning(self.state.clone()));
            }
            _ => {}
        }
        let started =
            SandboxInstance::instantiate(&self.artifact, &self.options).and_then(|mut i| {
                i.init(view, &self.config)?;
                if let Some(state) = &self.snapshot {
                    i.restore_state(view, state)?;
                }
                Ok(i)
            });
        match started {
            Ok(mut instance) => {
                self.output = instance.take_output();
                self.instance = Some(instance);
                self.state = RunState::Running;
                self.restarts += 1;
                tracing::info!(strategy = %self.name(), restarts = self.restarts, "strategy restarted");
                Ok(())
            }
            Err(fault) => Err(self.fault(view.now, fault)),
        }
    }

    fn finish(&mut self, view: &mut HostView, result: Result<Vec<Command>, Fault>) -> CallOutcome {
        self.snapshot_before_call = None;
        let Some(instance) = self.instance.as_mut() else {
            return CallOutcome::NotRunning(self.state.clone());
        };
        self.fuel.record(instance.last_fuel());
        self.output = instance.take_output();
        let commands = match result {
            Ok(c) => c,
            Err(fault) => return self.fault(view.now, fault),
        };
        if let Err(reason) = self.checker.check(&commands) {
            let call = "on-events";
            return self.fault(view.now, Fault::InvalidOutput { call, reason });
        }
        self.calls_since_snapshot += 1;
        if self.calls_since_snapshot >= self.options.limits.snapshot_every_calls {
            let before = self.snapshot.clone();
            if let Err(fault) = self.snapshot_now(view) {
                // The instance is gone; its decisions of this call go with it.
                return CallOutcome::Faulted(fault);
            }
            self.snapshot_before_call = Some(before);
        }
        CallOutcome::Commands(commands)
    }

    /// Saves a restart point now (also done every `snapshot_every_calls` calls).
    /// A fault while snapshotting stops the instance like any other fault.
    pub fn snapshot_now(&mut self, view: &mut HostView) -> Result<(), Fault> {
        let Some(instance) = self.instance.as_mut() else {
            return Ok(());
        };
        match instance.snapshot_state(view) {
            Ok(state) => {
                self.snapshot = Some(state);
                self.calls_since_snapshot = 0;
                self.snapshots_taken += 1;
                Ok(())
            }
            Err(fault) => {
                self.fault(view.now, fault.clone());
                Err(fault)
            }
        }
    }

    /// How many restart points have been taken (the host journals each new one).
    pub fn snapshots_taken(&self) -> u64 {
        self.snapshots_taken
    }

    /// Restores the running instance from a journaled restart point (after a host
    /// restart); it also becomes this supervisor's restart point. A fault here
    /// stops the instance like any other fault.
    pub fn restore(&mut self, view: &mut HostView, state: Vec<u8>) -> Result<(), Fault> {
        let Some(instance) = self.instance.as_mut() else {
            return Ok(());
        };
        match instance.restore_state(view, &state) {
            Ok(()) => {
                self.output = instance.take_output();
                self.snapshot = Some(state);
                self.calls_since_snapshot = 0;
                Ok(())
            }
            Err(fault) => {
                self.fault(view.now, fault.clone());
                Err(fault)
            }
        }
    }

    /// The last restart point, if one was taken.
    pub fn last_snapshot(&self) -> Option<&[u8]> {
        self.snapshot.as_deref()
    }

    /// Delivers a batch of events.
    pub fn on_events(&mut self, view: &mut HostView, events: &[Event]) -> CallOutcome {
        if let Err(outcome) = self.ready(view) {
            return outcome;
        }
        let result = match self.instance.as_mut() {
            Some(i) => i.on_events(view, events),
            None => return CallOutcome::NotRunning(self.state.clone()),
        };
        self.finish(view, result)
    }

    /// Fires a lone timer.
    pub fn on_timer(&mut self, view: &mut HostView, id: u64) -> CallOutcome {
        if let Err(outcome) = self.ready(view) {
            return outcome;
        }
        let result = match self.instance.as_mut() {
            Some(i) => i.on_timer(view, id),
            None => return CallOutcome::NotRunning(self.state.clone()),
        };
        self.finish(view, result)
    }

    /// A planned stop: the strategy's final commands. The instance is dropped.
    pub fn shutdown(&mut self, view: &mut HostView) -> CallOutcome {
        let result = match self.instance.as_mut() {
            Some(i) => i.shutdown(view),
            None => return CallOutcome::NotRunning(self.state.clone()),
        };
        let outcome = self.finish(view, result);
        self.instance = None;
        outcome
    }
}
