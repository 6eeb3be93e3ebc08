//! `wasi:cli`: no environment, arguments or working directory, no terminals;
//! stdin is closed and stdout/stderr are the strategy's log; `exit` stops the
//! strategy (a fault), never the host.

use wasmtime::component::{Linker, Resource, ResourceType};

use super::io::{InputStream, OutputStream, STDERR, STDOUT};
use super::{GuestExit, name};
use crate::strategy::host::HostState;

/// `wasi:cli/terminal-input.terminal-input` (never handed out).
pub struct TerminalInput;
/// `wasi:cli/terminal-output.terminal-output` (never handed out).
pub struct TerminalOutput;

pub(super) fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut env = linker.instance(&name("cli/environment"))?;
    env.func_wrap("get-environment", |_, (): ()| {
        Ok((Vec::<(String, String)>::new(),))
    })?;
    env.func_wrap("get-arguments", |_, (): ()| Ok((Vec::<String>::new(),)))?;
    env.func_wrap("initial-cwd", |_, (): ()| Ok((None::<String>,)))?;

    let mut exit = linker.instance(&name("cli/exit"))?;
    exit.func_wrap(
        "exit",
        |_, (status,): (Result<(), ()>,)| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(GuestExit {
                status: if status.is_ok() { "ok" } else { "error" }.to_string(),
            }))
        },
    )?;
    exit.func_wrap(
        "exit-with-code",
        |_, (code,): (u8,)| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(GuestExit {
                status: format!("code {code}"),
            }))
        },
    )?;

    linker
        .instance(&name("cli/stdin"))?
        .func_wrap("get-stdin", |_, (): ()| {
            Ok((Resource::<InputStream>::new_own(0),))
        })?;
    linker
        .instance(&name("cli/stdout"))?
        .func_wrap("get-stdout", |_, (): ()| {
            Ok((Resource::<OutputStream>::new_own(STDOUT),))
        })?;
    linker
        .instance(&name("cli/stderr"))?
        .func_wrap("get-stderr", |_, (): ()| {
            Ok((Resource::<OutputStream>::new_own(STDERR),))
        })?;

    linker.instance(&name("cli/terminal-input"))?.resource(
        "terminal-input",
        ResourceType::host::<TerminalInput>(),
        |_, _| Ok(()),
    )?;
    linker.instance(&name("cli/terminal-output"))?.resource(
        "terminal-output",
        ResourceType::host::<TerminalOutput>(),
        |_, _| Ok(()),
    )?;
    linker
        .instance(&name("cli/terminal-stdin"))?
        .func_wrap("get-terminal-stdin", |_, (): ()| {
            Ok((None::<Resource<TerminalInput>>,))
        })?;
    for (iface, func) in [
        ("cli/terminal-stdout", "get-terminal-stdout"),
        ("cli/terminal-stderr", "get-terminal-stderr"),
    ] {
        linker
            .instance(&name(iface))?
            .func_wrap(func, |_, (): ()| Ok((None::<Resource<TerminalOutput>>,)))?;
    }
    Ok(())
}
