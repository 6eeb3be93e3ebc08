//! `pqap backtest list | compare | rerun`: the stored runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use pqap::backtest::runs as stored;
use pqap::backtest::{MarketData, run};
use pqap::config::Config;
use pqap::strategy::{EngineOptions, SandboxEngine};
use serde::Serialize;

use super::super::paper::sandbox_engine;
use super::super::print;
use super::{page, runtime};

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, default_value = "data/backtests")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A run id (or a unique prefix).
    pub a: String,
    pub b: String,
    #[arg(long, default_value = "data/backtests")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RerunArgs {
    /// A run id (or a unique prefix).
    pub id: String,
    #[arg(long, default_value = "data/backtests")]
    pub out: PathBuf,
    /// A config whose compiled-code cache to use; every input comes from the
    /// stored run, so none is needed.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    run_id: String,
    strategy: String,
    params: Vec<String>,
    window: String,
    data: String,
    pnl: String,
    sharpe: Option<f64>,
    max_drawdown: String,
    fills: usize,
    warnings: usize,
}

pub fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let runs = stored::list(&args.out)?;
    let rows: Vec<Row> = runs
        .iter()
        .map(|r| Row {
            run_id: r.run_id.clone(),
            strategy: format!("{} {}", r.inputs.strategy, r.inputs.version),
            params: r.inputs.params.clone(),
            window: format!("{} → {}", r.inputs.window.start, r.inputs.window.end),
            data: r.data_source.clone(),
            pnl: r.summary.metrics.total_pnl.round_dp(4).to_string(),
            sharpe: r.summary.metrics.sharpe,
            max_drawdown: r.summary.metrics.max_drawdown.value.round_dp(4).to_string(),
            fills: r.summary.fills,
            warnings: r.analyses.warnings(),
        })
        .collect();
    if args.json {
        print::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no stored runs in {}", args.out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.run_id.clone(),
                r.strategy.clone(),
                r.params.join(" "),
                r.window.clone(),
                r.pnl.clone(),
                r.sharpe.map_or("—".into(), |s| format!("{s:.2}")),
                r.max_drawdown.clone(),
                r.fills.to_string(),
                r.warnings.to_string(),
            ]
        })
        .collect();
    print::table(
        &[
            "run", "strategy", "params", "window", "PnL $", "Sharpe", "max DD $", "fills",
            "warnings",
        ],
        &table,
    );
    Ok(ExitCode::SUCCESS)
}

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let a = stored::load(&args.out, &args.a)?;
    let b = stored::load(&args.out, &args.b)?;
    let rows = stored::compare(&a, &b);
    if args.json {
        #[derive(Serialize)]
        struct Line<'a> {
            name: &'a str,
            a: &'a str,
            b: &'a str,
        }
        let lines: Vec<Line> = rows
            .iter()
            .map(|[name, x, y]| Line { name, a: x, b: y })
            .collect();
        print::json(&lines)?;
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows.into_iter().map(|r| r.to_vec()).collect();
    print::table(&["", &a.run_id, &b.run_id], &table);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Rerun {
    run_id: String,
    identical: bool,
    journal_head: String,
    stored_journal_head: String,
}

pub fn rerun(args: RerunArgs) -> anyhow::Result<ExitCode> {
    let before = stored::load(&args.out, &args.id)?;
    let stored_bytes = std::fs::read(stored::result_path(&args.out, &before.run_id))
        .with_context(|| format!("reading run {}", before.run_id))?;
    let inputs = before.inputs.clone();
    let sandbox = match &args.config {
        Some(path) => sandbox_engine(&Config::load(path, std::env::vars())?)?,
        None => Arc::new(SandboxEngine::new(EngineOptions {
            cache_dir: std::env::var_os("PQAP_COMPILED_CACHE")
                .map(PathBuf::from)
                .or_else(pqap::strategy::engine::default_cache_dir),
            ..EngineOptions::default()
        })?),
    };
    let wasm = stored::artifact_path(&args.out, &inputs.sha256);
    let bytes = std::fs::read(&wasm).with_context(|| {
        format!(
            "run {} needs its strategy component {} (kept when the run was made)",
            before.run_id,
            wasm.display()
        )
    })?;
    let artifact = sandbox
        .load(&bytes, &inputs.sandbox)
        .with_context(|| format!("loading {}", wasm.display()))?;
    let rt = runtime()?;
    let data = rt.block_on(MarketData::for_run(
        &inputs.data,
        &inputs.window,
        inputs.data_range.as_ref(),
        &inputs.markets,
    ))?;
    if data.digest != before.data_digest {
        anyhow::bail!(
            "run {}: its data changed since it ran ({} now hashes to {}, the run saw {})",
            before.run_id,
            data.source,
            &data.digest[..16],
            &before.data_digest[..16.min(before.data_digest.len())]
        );
    }
    // Into a scratch directory: a run that does not reproduce must not replace
    // the stored journal.
    let scratch = tempfile::tempdir_in(&args.out).context("creating a scratch directory")?;
    let (after, trace) = rt.block_on(run(artifact, inputs, &data, scratch.path(), None))?;
    let identical = stored::encode(&after)?.into_bytes() == stored_bytes;
    let html = page(&after, &trace, None);
    if identical {
        std::fs::write(stored::report_path(&args.out, &after.run_id), html)
            .context("writing the report")?;
    }
    let outcome = Rerun {
        run_id: after.run_id.clone(),
        identical,
        journal_head: after.journal_head.clone(),
        stored_journal_head: before.journal_head.clone(),
    };
    if args.json {
        print::json(&outcome)?;
    } else if identical {
        println!(
            "run {} reproduced: result byte-identical, journal head {}",
            outcome.run_id,
            &outcome.journal_head[..16.min(outcome.journal_head.len())]
        );
    } else {
        println!(
            "run {} did NOT reproduce: journal head {} (stored {}); the stored result is kept",
            outcome.run_id, outcome.journal_head, outcome.stored_journal_head
        );
    }
    Ok(if identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
