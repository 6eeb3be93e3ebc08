//! `wasi:io`: errors, pollables and streams. Stdin is a closed stream, stdout
//! and stderr end in the strategy's log, and a pollable waiting for host time is
//! ready at once once the guest paid the wait in fuel.

use wasmtime::component::{ComponentType, Linker, Lower, Resource, ResourceType};
use wasmtime::{AsContext, AsContextMut, StoreContextMut};

use super::{FUEL_PER_WAITED_NS, Readiness, WaitedTooLong, name};
use crate::strategy::bindings::LogLevel;
use crate::strategy::host::HostState;

/// `wasi:io/error.error` (never created: every failure here is `closed`).
pub struct IoError;
/// `wasi:io/poll.pollable`; its rep indexes the instance's pollables.
pub struct Pollable;
/// `wasi:io/streams.input-stream` (stdin, always closed).
pub struct InputStream;
/// `wasi:io/streams.output-stream`; rep 0 is stdout, 1 is stderr.
pub struct OutputStream;

pub const STDOUT: u32 = 0;
pub const STDERR: u32 = 1;

/// `wasi:io/streams.stream-error`.
#[derive(ComponentType, Lower)]
#[component(variant)]
pub enum StreamError {
    #[expect(
        dead_code,
        reason = "part of the WIT type; every failure here is `closed`"
    )]
    #[component(name = "last-operation-failed")]
    LastOperationFailed(Resource<IoError>),
    #[component(name = "closed")]
    Closed,
}

/// Bytes one `write` may carry (`check-write`'s answer).
const WRITE_PERMIT: u64 = 64 << 10;

pub(super) fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut error = linker.instance(&name("io/error"))?;
    error.resource("error", ResourceType::host::<IoError>(), |_, _| Ok(()))?;
    error.func_wrap(
        "[method]error.to-debug-string",
        |_, (_,): (Resource<IoError>,)| Ok((String::new(),)),
    )?;

    let mut poll = linker.instance(&name("io/poll"))?;
    poll.resource(
        "pollable",
        ResourceType::host::<Pollable>(),
        |mut store, rep| {
            if let Some(slot) = store.data_mut().wasi.pollables.get_mut(rep as usize) {
                *slot = None;
            }
            Ok(())
        },
    )?;
    poll.func_wrap(
        "[method]pollable.ready",
        |store, (p,): (Resource<Pollable>,)| Ok((is_ready(&store, p.rep()),)),
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store, (p,): (Resource<Pollable>,)| {
            wait_for(&mut store, p.rep())?;
            Ok(())
        },
    )?;
    poll.func_wrap("poll", |mut store, (list,): (Vec<Resource<Pollable>>,)| {
        let ready: Vec<u32> = (0u32..)
            .zip(&list)
            .filter(|(_, p)| is_ready(&store, p.rep()))
            .map(|(i, _)| i)
            .collect();
        if !ready.is_empty() || list.is_empty() {
            return Ok((ready,));
        }
        // Nothing is ready: the guest waits for the earliest deadline.
        let earliest = (0u32..)
            .zip(&list)
            .filter_map(|(i, p)| deadline(&store, p.rep()).map(|d| (d, i)))
            .min();
        match earliest {
            Some((_, i)) => {
                wait_for(&mut store, list[i as usize].rep())?;
                Ok((vec![i],))
            }
            None => Ok((Vec::new(),)),
        }
    })?;

    let mut streams = linker.instance(&name("io/streams"))?;
    streams.resource(
        "input-stream",
        ResourceType::host::<InputStream>(),
        |_, _| Ok(()),
    )?;
    streams.resource(
        "output-stream",
        ResourceType::host::<OutputStream>(),
        |mut store, rep| {
            flush_partial(store.data_mut(), rep);
            Ok(())
        },
    )?;
    type Closed<T> = (Result<T, StreamError>,);
    fn closed<T>() -> wasmtime::Result<Closed<T>> {
        Ok((Err(StreamError::Closed),))
    }
    streams.func_wrap(
        "[method]input-stream.read",
        |_, _: (Resource<InputStream>, u64)| closed::<Vec<u8>>(),
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-read",
        |_, _: (Resource<InputStream>, u64)| closed::<Vec<u8>>(),
    )?;
    streams.func_wrap(
        "[method]input-stream.skip",
        |_, _: (Resource<InputStream>, u64)| closed::<u64>(),
    )?;
    streams.func_wrap(
        "[method]input-stream.blocking-skip",
        |_, _: (Resource<InputStream>, u64)| closed::<u64>(),
    )?;
    streams.func_wrap(
        "[method]input-stream.subscribe",
        |mut store, _: (Resource<InputStream>,)| always_ready(&mut store),
    )?;
    streams.func_wrap(
        "[method]output-stream.check-write",
        |_, _: (Resource<OutputStream>,)| Ok((Ok::<u64, StreamError>(WRITE_PERMIT),)),
    )?;
    streams.func_wrap(
        "[method]output-stream.write",
        |mut store, (s, bytes): (Resource<OutputStream>, Vec<u8>)| {
            write(store.data_mut(), s.rep(), &bytes);
            Ok((Ok::<(), StreamError>(()),))
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store, (s, bytes): (Resource<OutputStream>, Vec<u8>)| {
            write(store.data_mut(), s.rep(), &bytes);
            Ok((Ok::<(), StreamError>(()),))
        },
    )?;
    for flush in [
        "[method]output-stream.flush",
        "[method]output-stream.blocking-flush",
    ] {
        streams.func_wrap(flush, |_, _: (Resource<OutputStream>,)| {
            Ok((Ok::<(), StreamError>(()),))
        })?;
    }
    streams.func_wrap(
        "[method]output-stream.subscribe",
        |mut store, _: (Resource<OutputStream>,)| always_ready(&mut store),
    )?;
    // Zeroes are not text: accepted and dropped, never materialised.
    for zeroes in [
        "[method]output-stream.write-zeroes",
        "[method]output-stream.blocking-write-zeroes-and-flush",
    ] {
        streams.func_wrap(zeroes, |_, _: (Resource<OutputStream>, u64)| {
            Ok((Ok::<(), StreamError>(()),))
        })?;
    }
    for splice in [
        "[method]output-stream.splice",
        "[method]output-stream.blocking-splice",
    ] {
        streams.func_wrap(
            splice,
            |_, _: (Resource<OutputStream>, Resource<InputStream>, u64)| closed::<u64>(),
        )?;
    }
    Ok(())
}

/// A new pollable over a stream (always ready).
pub(super) fn always_ready(
    store: &mut StoreContextMut<'_, HostState>,
) -> wasmtime::Result<(Resource<Pollable>,)> {
    let rep = store.data_mut().wasi.new_pollable(Readiness::Always)?;
    Ok((Resource::new_own(rep),))
}

/// A new pollable ready at host time `deadline_ns`.
pub(super) fn ready_at(
    store: &mut StoreContextMut<'_, HostState>,
    deadline_ns: u64,
) -> wasmtime::Result<(Resource<Pollable>,)> {
    let rep = store.data_mut().wasi.new_pollable(Readiness::At {
        deadline_ns,
        paid: false,
    })?;
    Ok((Resource::new_own(rep),))
}

fn readiness(store: &impl AsContext<Data = HostState>, rep: u32) -> Option<Readiness> {
    store
        .as_context()
        .data()
        .wasi
        .pollables
        .get(rep as usize)
        .copied()
        .flatten()
}

fn is_ready(store: &impl AsContext<Data = HostState>, rep: u32) -> bool {
    let now = store.as_context().data().now();
    match readiness(store, rep) {
        Some(Readiness::At { deadline_ns, paid }) => paid || deadline_ns <= now,
        Some(Readiness::Always) | None => true,
    }
}

fn deadline(store: &impl AsContext<Data = HostState>, rep: u32) -> Option<u64> {
    match readiness(store, rep) {
        Some(Readiness::At { deadline_ns, .. }) => Some(deadline_ns),
        _ => None,
    }
}

/// Blocks on a pollable: host time cannot pass inside a call, so waiting until
/// a deadline is charged as fuel, and a wait the fuel cannot pay for traps.
fn wait_for(store: &mut StoreContextMut<'_, HostState>, rep: u32) -> wasmtime::Result<()> {
    if is_ready(store, rep) {
        return Ok(());
    }
    let Some(deadline_ns) = deadline(store, rep) else {
        return Ok(());
    };
    let wait_ns = deadline_ns.saturating_sub(store.data().now());
    let fuel = wait_ns.saturating_mul(FUEL_PER_WAITED_NS);
    let left = store.as_context_mut().get_fuel().unwrap_or(0);
    if fuel > left {
        let _ = store.as_context_mut().set_fuel(0);
        return Err(wasmtime::Error::new(WaitedTooLong {
            wait_ns,
            fuel,
            left,
        }));
    }
    store.as_context_mut().set_fuel(left - fuel)?;
    if let Some(Some(Readiness::At { paid, .. })) =
        store.data_mut().wasi.pollables.get_mut(rep as usize)
    {
        *paid = true;
    }
    Ok(())
}

fn level(stream: u32) -> LogLevel {
    if stream == STDERR {
        LogLevel::Warn
    } else {
        LogLevel::Info
    }
}

/// Appends to a stream's line buffer; every complete line becomes a log line.
fn write(state: &mut HostState, stream: u32, bytes: &[u8]) {
    let idx = usize::from(stream == STDERR);
    let max = state.max_log_bytes();
    let mut rest = bytes;
    while let Some(nl) = memchr::memchr(b'\n', rest) {
        let mut line = std::mem::take(&mut state.wasi.partial[idx]);
        line.extend_from_slice(&rest[..nl.min(max.saturating_sub(line.len()))]);
        state.guest_line(level(stream), &String::from_utf8_lossy(&line));
        rest = &rest[nl + 1..];
    }
    let partial = &mut state.wasi.partial[idx];
    let room = max.saturating_sub(partial.len());
    partial.extend_from_slice(&rest[..rest.len().min(room)]);
}

/// Logs what a stream holds without a final newline (end of a call, or the
/// stream dropped).
pub(in crate::strategy) fn flush_partial(state: &mut HostState, stream: u32) {
    let idx = usize::from(stream == STDERR);
    let line = std::mem::take(&mut state.wasi.partial[idx]);
    if !line.is_empty() {
        state.guest_line(level(stream), &String::from_utf8_lossy(&line));
    }
}
