//! Glue between the generated `callbacks` exports and a [`Strategy`]; used by
//! [`export_strategy!`] and by the native harness so both dispatch identically.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::ctx::OrderIds;
use crate::types::{BookTop, Command, Event, EventKind, InitConfig};
use crate::wasm_host::WasmHost;
use crate::{Ctx, HostApi, Params, Strategy};

/// A strategy instance plus commands queued before the first batch (from `init`
/// or `restore_state`), which are handed out with the first batch's commands.
pub struct Instance<S> {
    pub strategy: S,
    carry: Vec<Command>,
    ids: OrderIds,
}

/// Where an exported strategy lives between calls.
pub type Slot<S> = RefCell<Option<Instance<S>>>;

/// Runs every hook for a batch in order, then `on_batch_end`.
pub fn dispatch<S: Strategy>(strategy: &mut S, ctx: &mut Ctx, events: &[Event]) {
    for ev in events {
        if let EventKind::Quote(q) = &ev.kind {
            ctx.note_top(
                q.instrument,
                BookTop {
                    bid: q.bid,
                    ask: q.ask,
                },
            );
        }
    }
    let mut last = None;
    for ev in events {
        ctx.set_cause(Some(ev.seq), ev.ts);
        last = Some((ev.seq, ev.ts));
        match &ev.kind {
            EventKind::BookSnapshot(b) => strategy.on_book_snapshot(ctx, b),
            EventKind::BookChange(c) => strategy.on_book_change(ctx, c),
            EventKind::Quote(q) => strategy.on_quote(ctx, q),
            EventKind::Trade(t) => strategy.on_trade(ctx, t),
            EventKind::TickSize(t) => strategy.on_tick_size(ctx, t),
            EventKind::MarketStatus(s) => strategy.on_market_status(ctx, s),
            EventKind::Resolved(r) => strategy.on_resolved(ctx, r),
            EventKind::OrderAccepted(a) => strategy.on_order_accepted(ctx, a),
            EventKind::OrderRejected(r) => strategy.on_order_rejected(ctx, r),
            EventKind::OrderCancelled(c) => strategy.on_order_cancelled(ctx, c),
            EventKind::Fill(f) => strategy.on_fill(ctx, f),
            EventKind::Timer(id) => strategy.on_timer(ctx, *id),
        }
    }
    // Batch-end decisions answer to the batch's last event.
    if let Some((seq, ts)) = last {
        ctx.set_cause(Some(seq), ts);
    }
    strategy.on_batch_end(ctx);
}

/// Builds a strategy: defaults and kinds of parameters are checked first.
pub fn build<S: Strategy>(
    host: &mut dyn HostApi,
    config: &InitConfig,
) -> Result<Instance<S>, String> {
    let info = S::describe();
    let params = Params::resolve(&info.params, &config.params)?;
    let mut ids = OrderIds::default();
    let mut ctx = Ctx::new(host, &mut ids);
    let strategy = S::init(&mut ctx, config, &params)?;
    let carry = ctx.take_commands();
    Ok(Instance {
        strategy,
        carry,
        ids,
    })
}

/// Runs `f` on the instance with a context on `host`, returning its commands after
/// any carried ones.
pub fn with_instance<S: Strategy>(
    instance: &mut Instance<S>,
    host: &mut dyn HostApi,
    f: impl FnOnce(&mut S, &mut Ctx),
) -> Vec<Command> {
    let mut ctx = Ctx::new(host, &mut instance.ids);
    f(&mut instance.strategy, &mut ctx);
    let mut out = std::mem::take(&mut instance.carry);
    out.extend(ctx.take_commands());
    out
}

/// Restores saved state into a built instance.
pub fn restore<S: Strategy>(
    instance: &mut Instance<S>,
    host: &mut dyn HostApi,
    state: &[u8],
) -> Result<(), String> {
    let mut ctx = Ctx::new(host, &mut instance.ids);
    instance.strategy.restore_state(&mut ctx, state)?;
    instance.carry.extend(ctx.take_commands());
    Ok(())
}

fn install_panic_hook() {
    // The guest dies on panic (wasm traps on `unreachable`); forwarding the message
    // first lets the host report *why* in the fault.
    std::panic::set_hook(Box::new(|info| {
        let mut host = WasmHost;
        host.log(crate::types::LogLevel::Error, &format!("panic: {info}"));
    }));
}

fn with_slot<S: Strategy, R>(
    slot: &'static LocalKey<Slot<S>>,
    f: impl FnOnce(&mut Instance<S>) -> R,
) -> R {
    slot.with(|cell| {
        let mut guard = cell.borrow_mut();
        match guard.as_mut() {
            Some(instance) => f(instance),
            // The host never calls a strategy before a successful init; reaching
            // this is a host bug, and trapping is the honest answer.
            None => panic!("strategy called before a successful init"),
        }
    })
}

pub fn export_init<S: Strategy>(
    slot: &'static LocalKey<Slot<S>>,
    config: InitConfig,
) -> Result<(), String> {
    install_panic_hook();
    let instance = build::<S>(&mut WasmHost, &config)?;
    slot.with(|cell| *cell.borrow_mut() = Some(instance));
    Ok(())
}

pub fn export_on_events<S: Strategy>(
    slot: &'static LocalKey<Slot<S>>,
    events: Vec<Event>,
) -> Vec<Command> {
    with_slot(slot, |inst| {
        with_instance(inst, &mut WasmHost, |s, ctx| dispatch(s, ctx, &events))
    })
}

pub fn export_on_timer<S: Strategy>(slot: &'static LocalKey<Slot<S>>, id: u64) -> Vec<Command> {
    with_slot(slot, |inst| {
        with_instance(inst, &mut WasmHost, |s, ctx| s.on_timer(ctx, id))
    })
}

pub fn export_snapshot_state<S: Strategy>(slot: &'static LocalKey<Slot<S>>) -> Vec<u8> {
    with_slot(slot, |inst| inst.strategy.snapshot_state())
}

pub fn export_restore_state<S: Strategy>(
    slot: &'static LocalKey<Slot<S>>,
    state: Vec<u8>,
) -> Result<(), String> {
    with_slot(slot, |inst| restore(inst, &mut WasmHost, &state))
}

pub fn export_shutdown<S: Strategy>(slot: &'static LocalKey<Slot<S>>) -> Vec<Command> {
    with_slot(slot, |inst| {
        with_instance(inst, &mut WasmHost, |s, ctx| s.shutdown(ctx))
    })
}

/// Exports a [`Strategy`] type as the component's `callbacks` interface.
///
/// ```ignore
/// pqap_strategy_sdk::export_strategy!(MyStrategy);
/// ```
/// Only emits exports when compiling for wasm, so several strategies can be linked
/// into one native test or benchmark binary.
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static __PQAP_SLOT: $crate::export::Slot<$ty> =
                    const { ::std::cell::RefCell::new(None) };
            }
            struct __PqapGuest;
            impl $crate::bindings::exports::pqap::strategy::callbacks::Guest for __PqapGuest {
                fn describe() -> $crate::types::StrategyInfo {
                    <$ty as $crate::Strategy>::describe()
                }
                fn init(config: $crate::types::InitConfig) -> Result<(), String> {
                    $crate::export::export_init::<$ty>(&__PQAP_SLOT, config)
                }
                fn on_events(
                    events: ::std::vec::Vec<$crate::types::Event>,
                ) -> ::std::vec::Vec<$crate::types::Command> {
                    $crate::export::export_on_events::<$ty>(&__PQAP_SLOT, events)
                }
                fn on_timer(id: u64) -> ::std::vec::Vec<$crate::types::Command> {
                    $crate::export::export_on_timer::<$ty>(&__PQAP_SLOT, id)
                }
                fn snapshot_state() -> ::std::vec::Vec<u8> {
                    $crate::export::export_snapshot_state::<$ty>(&__PQAP_SLOT)
                }
                fn restore_state(state: ::std::vec::Vec<u8>) -> Result<(), String> {
                    $crate::export::export_restore_state::<$ty>(&__PQAP_SLOT, state)
                }
                fn shutdown() -> ::std::vec::Vec<$crate::types::Command> {
                    $crate::export::export_shutdown::<$ty>(&__PQAP_SLOT)
                }
            }
    $crate::bindings::export_guest!(__PqapGuest with_types_in $crate::bindings);
        };
    };
}
