//! `pqap demo`: the newcomer's first run. Paper trades the example strategies
//! for a minute against an in-process simulator, offline and without
//! credentials, writing to the dev database; `pqap paper` with defaults.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::duration;
use super::paper::{PaperArgs, run as paper};

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, default_value = "configs/dev.yaml")]
    config: PathBuf,
    /// How long to trade.
    #[arg(long, value_parser = duration::parse, default_value = "60s")]
    duration: Duration,
    /// Database (default: the config's, `data/pqap_dev.db`).
    #[arg(long)]
    db: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    paper(PaperArgs {
        names: vec!["market-maker".into(), "complement-arb".into()],
        config: args.config,
        duration: Some(args.duration),
        until: None,
        markets: None,
        db: args.db,
        quiet: false,
        json: args.json,
        record: None,
        params: Vec::new(),
        seed: None,
        serve: None,
    })
}
