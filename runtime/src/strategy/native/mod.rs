//! Strategies linked into the host instead of sandboxed, for benchmarks that
//! measure the sandbox's share of a run: the same SDK code, called directly,
//! answering its host queries from the same host state (view, seeded random,
//! log budget) as its component would. Never for running users' strategies:
//! nothing meters or isolates a linked strategy.

mod convert;

use std::marker::PhantomData;
use std::sync::Arc;

use pqap_strategy_sdk::export::{Instance, build, dispatch, restore, with_instance};
use pqap_strategy_sdk::types as s;
use pqap_strategy_sdk::{HostApi, Price, Strategy};

use super::bindings::pqap::strategy::host::Host;
use super::bindings::types as h;
use super::host::HostState;

/// A strategy's callbacks called directly, with the host state its queries
/// answer from.
pub trait NativeGuest: Send {
    fn describe(&mut self) -> h::StrategyInfo;
    fn init(&mut self, host: &mut HostState, config: &h::InitConfig) -> Result<(), String>;
    fn on_events(&mut self, host: &mut HostState, events: &[h::Event]) -> Vec<h::Command>;
    fn on_timer(&mut self, host: &mut HostState, id: u64) -> Vec<h::Command>;
    fn snapshot_state(&mut self) -> Vec<u8>;
    fn restore_state(&mut self, host: &mut HostState, state: &[u8]) -> Result<(), String>;
    fn shutdown(&mut self, host: &mut HostState) -> Vec<h::Command>;
}

/// Makes a fresh linked instance (one per start or restart, as with components).
pub type NativeFactory = Arc<dyn Fn() -> Box<dyn NativeGuest> + Send + Sync>;

/// The factory of an SDK strategy type linked into this binary.
pub fn linked<S: Strategy + Send + 'static>() -> NativeFactory {
    Arc::new(|| {
        Box::new(Linked::<S> {
            instance: None,
            kind: PhantomData,
        })
    })
}

struct Linked<S: Strategy> {
    instance: Option<Instance<S>>,
    kind: PhantomData<fn() -> S>,
}

/// The SDK's host interface over the host state a component's imports use.
struct Bridge<'a>(&'a mut HostState);

impl HostApi for Bridge<'_> {
    fn log(&mut self, level: s::LogLevel, message: &str) {
        Host::log(self.0, convert::log_level(level), message.to_string());
    }
    fn now(&self) -> u64 {
        self.0.view.now
    }
    fn position(&self, instrument: u32) -> s::Position {
        self.0.view.position(instrument).into()
    }
    fn open_orders(&self, instrument: Option<u32>) -> Vec<s::OpenOrder> {
        self.0
            .view
            .open_orders_of(instrument)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    fn book_top(&self, instrument: u32) -> s::BookTop {
        self.0.view.book_top(instrument).into()
    }
    fn random(&mut self) -> u64 {
        Host::random(self.0)
    }
    fn metric(&mut self, name: &str, value: i64) {
        Host::metric(self.0, name.to_string(), value);
    }
    fn annotate(&mut self, key: &str, value: &str) {
        Host::annotate(self.0, key.to_string(), value.to_string());
    }
    fn fair_value(&mut self, instrument: u32, probability: Price) {
        Host::fair_value(self.0, instrument, probability.micros());
    }
}

fn commands(out: Vec<s::Command>) -> Vec<h::Command> {
    out.into_iter().map(Into::into).collect()
}

impl<S: Strategy + Send> Linked<S> {
    /// The host calls nothing before a successful init; a linked strategy
    /// called earlier answers with nothing rather than a panic.
    fn run(
        &mut self,
        host: &mut HostState,
        f: impl FnOnce(&mut S, &mut pqap_strategy_sdk::Ctx),
    ) -> Vec<h::Command> {
        match self.instance.as_mut() {
            Some(i) => commands(with_instance(i, &mut Bridge(host), f)),
            None => Vec::new(),
        }
    }
}

impl<S: Strategy + Send> NativeGuest for Linked<S> {
    fn describe(&mut self) -> h::StrategyInfo {
        S::describe().into()
    }

    fn init(&mut self, host: &mut HostState, config: &h::InitConfig) -> Result<(), String> {
        let config: s::InitConfig = config.clone().into();
        self.instance = Some(build::<S>(&mut Bridge(host), &config)?);
        Ok(())
    }

    fn on_events(&mut self, host: &mut HostState, events: &[h::Event]) -> Vec<h::Command> {
        let events: Vec<s::Event> = events.iter().cloned().map(Into::into).collect();
        self.run(host, |s, ctx| dispatch(s, ctx, &events))
    }

    fn on_timer(&mut self, host: &mut HostState, id: u64) -> Vec<h::Command> {
        self.run(host, |s, ctx| s.on_timer(ctx, id))
    }

    fn snapshot_state(&mut self) -> Vec<u8> {
        self.instance
            .as_ref()
            .map(|i| i.strategy.snapshot_state())
            .unwrap_or_default()
    }

    fn restore_state(&mut self, host: &mut HostState, state: &[u8]) -> Result<(), String> {
        match self.instance.as_mut() {
            Some(i) => restore(i, &mut Bridge(host), state),
            None => Err("restore before init".into()),
        }
    }

    fn shutdown(&mut self, host: &mut HostState) -> Vec<h::Command> {
        self.run(host, |s, ctx| s.shutdown(ctx))
    }
}
