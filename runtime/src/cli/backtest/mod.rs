//! `pqap backtest`: one run, a sweep or a walk-forward over archive or synthetic
//! data, and the stored runs (`list`, `compare`, `rerun`).

mod one;
mod runs;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::backtest::runs as stored;
use pqap::backtest::{BacktestResult, DataSpec, MarketData, RunInputs, RunTrace, Window};
use pqap::config::Config;
use pqap::report::html::{ReportPage, render};
use pqap::strategy::{Artifact, StrategySettings};
use rust_decimal::Decimal;

use super::paper::{artifact_bytes, sandbox_engine, settings_for};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BacktestArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Stored runs.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Stored runs, oldest first, with their headline numbers.
    List(runs::ListArgs),
    /// Two stored runs side by side: differing inputs, then every metric.
    Compare(runs::CompareArgs),
    /// Repeat a stored run from its recorded inputs and check the result is
    /// byte-identical.
    Rerun(runs::RerunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The strategy: a crate name under `strategies/`, a crate directory, or a
    /// `.wasm` component.
    pub name: Option<String>,
    /// First UTC day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-01-01")]
    pub start: String,
    /// Day after the last one (exclusive).
    #[arg(long, default_value = "2026-01-02")]
    pub end: String,
    /// Use a seeded synthetic session instead of the archive.
    #[arg(long)]
    pub synthetic: bool,
    /// Only these markets (comma-separated condition ids, or text found in
    /// their questions).
    #[arg(long, value_delimiter = ',')]
    pub markets: Vec<String>,
    /// Markets in a synthetic session.
    #[arg(long, default_value_t = 3)]
    pub synthetic_markets: u32,
    /// Synthetic venue seconds per step.
    #[arg(long, default_value_t = 10)]
    pub step_s: u64,
    /// Seed of the synthetic session and of the strategy's randomness.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Strategy parameters, NAME=VALUE (repeatable); others keep their defaults.
    #[arg(long = "params", num_args = 1.., value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Starting capital, for returns.
    #[arg(long, default_value = "1000")]
    pub capital: Decimal,
    /// Minutes of simulated time between equity marks.
    #[arg(long, default_value_t = 5)]
    pub mark_every_min: u64,
    #[arg(long, default_value = "configs/dev.yaml")]
    pub config: PathBuf,
    #[arg(long, default_value = "data/archive")]
    pub archive: PathBuf,
    /// Where runs are stored (result JSON, HTML report and journal per run).
    #[arg(long, default_value = "data/backtests")]
    pub out: PathBuf,
    /// Also write the HTML report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The market (question) whose price path and fills the report draws;
    /// default: the one with the most fills.
    #[arg(long)]
    pub report_market: Option<String>,
    /// Sweep a parameter: NAME=a..b:step or NAME=v1,v2 (repeatable; every
    /// combination runs).
    #[arg(long, value_name = "NAME=RANGE")]
    pub sweep: Vec<String>,
    /// A YAML grid file: `name: [v1, v2]` or `name: a..b:step` per parameter.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// The metric sweeps are sorted (and walk-forward folds optimised) by.
    #[arg(long, default_value = "sharpe")]
    pub sort_by: String,
    /// Parallel runs in a sweep (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Walk-forward: optimise the sweep on TRAIN days, evaluate the best on the
    /// next TEST days, roll forward by TEST days.
    #[arg(long, value_name = "TRAIN:TEST")]
    pub walk_forward: Option<String>,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
    #[arg(long)]
    pub json: bool,
    /// The strategy crate's `strategy.yaml`, once read.
    #[arg(skip)]
    pub settings: Option<StrategySettings>,
}

pub fn run(args: BacktestArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(RunsCommand::List(a)) => runs::list(a),
        Some(RunsCommand::Compare(a)) => runs::compare(a),
        Some(RunsCommand::Rerun(a)) => runs::rerun(a),
        None => {
            let mut a = args.run;
            a.apply_settings()?;
            if a.name.is_none() {
                anyhow::bail!(
                    "pqap backtest: name a strategy (pqap backtest NAME ...) or use list, compare or rerun"
                );
            }
            if a.walk_forward.is_some() {
                sweep::walk_forward(a)
            } else if !a.sweep.is_empty() || a.grid.is_some() {
                sweep::sweep(a)
            } else {
                one::single(a)
            }
        }
    }
}

/// What every kind of run needs: the loaded config, the strategy (its bytes
/// kept under the runs directory) and the data source.
pub(super) struct Prepared {
    pub config: Config,
    pub artifact: Arc<Artifact>,
    pub data: DataSpec,
    pub window: Window,
}

impl RunArgs {
    /// Lays the strategy crate's `strategy.yaml` under the flags: its
    /// parameters under `--params` (per key), its markets when `--markets` is
    /// not given; its risk limits apply in [`RunArgs::prepare`].
    fn apply_settings(&mut self) -> anyhow::Result<()> {
        let Some(name) = self.name.as_deref() else {
            return Ok(());
        };
        if let Some(s) = settings_for(name)? {
            self.params = s.assignments_with(&self.params);
            if self.markets.is_empty() {
                self.markets = s.markets.clone();
            }
            self.settings = Some(s);
        }
        Ok(())
    }

    pub(super) fn prepare(&self) -> anyhow::Result<Prepared> {
        let mut config = Config::load(&self.config, std::env::vars())?;
        let window = Window {
            start: self.start.clone(),
            end: self.end.clone(),
        };
        window.bounds_ms()?;
        if !stored::METRICS.contains(&self.sort_by.as_str()) {
            anyhow::bail!(
                "--sort-by {}: not a metric (one of {})",
                self.sort_by,
                stored::METRICS.join(", ")
            );
        }
        let sandbox = sandbox_engine(&config)?;
        let name = self.name.as_deref().unwrap_or_default();
        let quiet = self.json || self.quiet;
        let bytes = artifact_bytes(&sandbox, name, &config.sandbox, quiet)?;
        let artifact = sandbox
            .load(&bytes, &config.sandbox)
            .with_context(|| format!("loading {name}"))?;
        if let Some(s) = &self.settings {
            // The file's own values must fit the schema, even where a flag
            // overrides them: its errors name the file.
            s.params_for(&artifact.info, &[])?;
            config.risk.strategy = s.limits_over(&config.risk.strategy)?;
        }
        stored::keep_artifact(&self.out, &artifact.sha256, &bytes)?;
        let data = if self.synthetic {
            DataSpec::Synthetic {
                seed: self.seed,
                markets: self.synthetic_markets,
                step_s: self.step_s.max(1),
            }
        } else {
            DataSpec::Archive {
                dir: self.archive.clone(),
            }
        };
        Ok(Prepared {
            config,
            artifact,
            data,
            window,
        })
    }

    /// The inputs of one run with `params` over `window`.
    pub(super) fn inputs(
        &self,
        p: &Prepared,
        params: Vec<String>,
        window: Window,
        range: Option<Window>,
    ) -> RunInputs {
        RunInputs {
            strategy: p.artifact.info.name.clone(),
            version: p.artifact.info.version.clone(),
            sha256: p.artifact.sha256.clone(),
            params,
            seed: self.seed,
            data: p.data.clone(),
            window,
            markets: self.markets.clone(),
            data_range: range,
            capital: self.capital,
            fill_model: p.config.execution.clone(),
            risk: p.config.risk.clone(),
            sandbox: p.config.sandbox.clone(),
            mark_every_ms: self.mark_every_min.max(1) * 60_000,
        }
    }
}

/// Loads the data a prepared run (or sweep) covers, restricted to `--markets`.
pub(super) fn load_data(p: &Prepared, markets: &[String]) -> anyhow::Result<MarketData> {
    let rt = runtime()?;
    Ok(rt
        .block_on(MarketData::load(&p.data, &p.window))?
        .only(markets)?)
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The report page of a run.
pub(super) fn page(result: &BacktestResult, trace: &RunTrace, market: Option<String>) -> String {
    let i = &result.inputs;
    let mut facts = vec![
        ("run".to_string(), result.run_id.clone()),
        ("strategy".into(), format!("{} {}", i.strategy, i.version)),
        ("sha256".into(), i.sha256.chars().take(12).collect()),
        ("data".into(), result.data_source.clone()),
        (
            "window".into(),
            format!("{} → {}", i.window.start, i.window.end),
        ),
        ("seed".into(), i.seed.to_string()),
        ("capital $".into(), i.capital.to_string()),
        ("updates".into(), result.updates.to_string()),
    ];
    if !i.params.is_empty() {
        facts.push(("params".into(), i.params.join(" ")));
    }
    render(&ReportPage {
        title: format!("Backtest {} — {}", i.strategy, result.run_id),
        facts,
        capital: i.capital,
        summary: &result.summary,
        attribution: &result.attribution,
        calibration: &result.calibration,
        analyses: &result.analyses,
        entries: &trace.entries,
        strategy: trace.strategy,
        prices: &trace.prices,
        names: &trace.names,
        market,
    })
}
