//! `pqap serve`: the long-lived process — the engine with its strategies, trading
//! paper against the configured venue (an in-process simulator when none is
//! set), plus the HTTP API, `/healthz`, `/readyz` and `/metrics`. Stops cleanly on
//! SIGTERM or Ctrl-C: strategies snapshot, the journal is flushed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use pqap::config::Config;

use super::duration;
use super::paper::{PaperArgs, run as run_paper};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Strategies to run: crate names under `strategies/`, crate directories, or
    /// `.wasm` components.
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(long, default_value = "configs/prod.yaml")]
    pub config: PathBuf,
    /// Address of the HTTP server (default: the config's `server.bind`,
    /// 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// `all`, or a comma-separated list of market slugs or condition ids.
    #[arg(long, default_value = "all")]
    pub markets: String,
    /// Database (default: the config's).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Stop after this long (default: until SIGTERM or Ctrl-C).
    #[arg(long, value_parser = duration::parse)]
    pub duration: Option<Duration>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let bind = match args.bind {
        Some(b) => b,
        None => Config::load(&args.config, std::env::vars())?.server.bind,
    };
    run_paper(PaperArgs {
        names: args.names,
        config: args.config,
        duration: args.duration,
        until: None,
        markets: args.markets,
        db: args.db,
        quiet: true,
        json: false,
        record: None,
        seed: None,
        serve: Some(bind),
    })
}
