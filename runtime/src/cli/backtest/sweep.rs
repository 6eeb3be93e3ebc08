//! `pqap backtest NAME --sweep ... | --grid FILE [--walk-forward TRAIN:TEST]`:
//! parameter combinations run in parallel (one engine per worker thread), a
//! table sorted by a metric, and walk-forward folds.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use pqap::backtest::runs as stored;
use pqap::backtest::sweep::{Axis, combinations, folds, parse_axis, parse_grid};
use pqap::backtest::{BacktestResult, MarketData, Window, run};
use rust_decimal::Decimal;
use serde::Serialize;

use super::super::print;
use super::{Prepared, RunArgs, load_data, page, runtime};

/// One run of a sweep: its parameters and where `data` comes from.
struct Job {
    params: Vec<String>,
    window: Window,
    range: Option<Window>,
}

fn axes(args: &RunArgs) -> anyhow::Result<Vec<Axis>> {
    let mut axes = Vec::new();
    if let Some(path) = &args.grid {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the grid file {}", path.display()))?;
        axes.extend(parse_grid(&text).with_context(|| format!("{}", path.display()))?);
    }
    for s in &args.sweep {
        axes.push(parse_axis(s)?);
    }
    Ok(axes)
}

/// Runs `jobs` over `data` on `workers` threads; results in job order.
fn run_all(
    args: &RunArgs,
    p: &Prepared,
    data: &MarketData,
    jobs: &[Job],
) -> anyhow::Result<Vec<BacktestResult>> {
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<anyhow::Result<BacktestResult>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    let quiet = args.json || args.quiet;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                // Without a runtime this worker runs nothing; its jobs are
                // reported as not run.
                let Ok(rt) = runtime() else { return };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let sliced;
                    let data = match &job.range {
                        Some(_) => {
                            let bounds = job.window.bounds_ms();
                            match bounds {
                                Ok((s, e)) => {
                                    sliced = data.slice(s, e);
                                    &sliced
                                }
                                Err(e) => {
                                    if let Ok(mut r) = results.lock() {
                                        r[i] = Some(Err(e.into()));
                                    }
                                    continue;
                                }
                            }
                        }
                        None => data,
                    };
                    let inputs =
                        args.inputs(p, job.params.clone(), job.window.clone(), job.range.clone());
                    let outcome = rt
                        .block_on(run(p.artifact.clone(), inputs, data, &args.out, None))
                        .map_err(anyhow::Error::from)
                        .and_then(|(result, trace)| {
                            let html = page(&result, &trace, args.report_market.clone());
                            stored::save(&args.out, &result, &html)?;
                            Ok(result)
                        });
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if !quiet {
                        let what = match &outcome {
                            Ok(r) => format!(
                                "{} PnL {} $",
                                r.run_id,
                                r.summary.metrics.total_pnl.round_dp(4)
                            ),
                            Err(e) => format!("failed: {e:#}"),
                        };
                        eprintln!(
                            "  [{n}/{}] {} {} {what}",
                            jobs.len(),
                            job.window.start,
                            job.params.join(" ")
                        );
                    }
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(outcome);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a sweep worker panicked"))?;
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| Err(anyhow::anyhow!("sweep run {i} did not run")))
                .with_context(|| format!("sweep run {}", jobs[i].params.join(" ")))
        })
        .collect()
}

/// Sorts best first by `metric` (runs without a value last).
fn rank(results: &mut [BacktestResult], metric: &str) {
    let higher = stored::higher_is_better(metric);
    results.sort_by(|a, b| {
        let (x, y) = (stored::metric(a, metric), stored::metric(b, metric));
        match (x, y) {
            (Some(x), Some(y)) if higher => y.total_cmp(&x),
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
    });
}

#[derive(Debug, Serialize)]
struct SweepRow {
    run_id: String,
    params: Vec<String>,
    metric: Option<f64>,
    pnl: Decimal,
    sharpe: Option<f64>,
    max_drawdown: Decimal,
    trades: usize,
    fills: usize,
    warnings: usize,
}

fn row(r: &BacktestResult, metric: &str) -> SweepRow {
    SweepRow {
        run_id: r.run_id.clone(),
        params: r.inputs.params.clone(),
        metric: stored::metric(r, metric),
        pnl: r.summary.metrics.total_pnl.round_dp(4),
        sharpe: r.summary.metrics.sharpe,
        max_drawdown: r.summary.metrics.max_drawdown.value.round_dp(4),
        trades: r.summary.metrics.trades,
        fills: r.summary.fills,
        warnings: r.analyses.warnings(),
    }
}

fn print_rows(rows: &[SweepRow], metric: &str) {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.params.join(" "),
                r.metric.map_or("—".into(), |m| format!("{m:.4}")),
                r.pnl.to_string(),
                r.sharpe.map_or("—".into(), |s| format!("{s:.2}")),
                r.max_drawdown.to_string(),
                r.trades.to_string(),
                r.warnings.to_string(),
                r.run_id.clone(),
            ]
        })
        .collect();
    print::table(
        &[
            "params", metric, "PnL $", "Sharpe", "max DD $", "trades", "warnings", "run",
        ],
        &table,
    );
}

pub(super) fn sweep(args: RunArgs) -> anyhow::Result<ExitCode> {
    let axes = axes(&args)?;
    let combos = combinations(&axes)?;
    let p = args.prepare()?;
    // Check every combination against the schema before running any.
    for c in &combos {
        let mut all = args.params.clone();
        all.extend(c.iter().cloned());
        pqap::strategy::parse_assignments(&p.artifact.info, &all)?;
    }
    let data = load_data(&p, &args.markets)?;
    let jobs: Vec<Job> = combos
        .into_iter()
        .map(|c| {
            let mut params = args.params.clone();
            params.extend(c);
            Job {
                params,
                window: p.window.clone(),
                range: None,
            }
        })
        .collect();
    let started = std::time::Instant::now();
    let mut results = run_all(&args, &p, &data, &jobs)?;
    rank(&mut results, &args.sort_by);
    let rows: Vec<SweepRow> = results.iter().map(|r| row(r, &args.sort_by)).collect();
    if args.json {
        print::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_rows(&rows, &args.sort_by);
    println!(
        "{} runs in {:.1} s; best by {}: {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        args.sort_by,
        rows.first().map_or("—".into(), |r| r.params.join(" "))
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct Fold {
    train: Window,
    test: Window,
    best_params: Vec<String>,
    train_metric: Option<f64>,
    test_metric: Option<f64>,
    test_pnl: Decimal,
    test_run: String,
}

#[derive(Debug, Serialize)]
struct WalkForward {
    metric: String,
    folds: Vec<Fold>,
    /// Sum of the out-of-sample PnL over the test windows.
    test_pnl: Decimal,
}

pub(super) fn walk_forward(args: RunArgs) -> anyhow::Result<ExitCode> {
    let spec = args.walk_forward.clone().unwrap_or_default();
    let (train, test) = spec
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--walk-forward {spec}: expected TRAIN_DAYS:TEST_DAYS"))?;
    let axes = axes(&args)?;
    let combos = combinations(&axes)?;
    let p = args.prepare()?;
    let (start, end) = p.window.bounds_ms()?;
    let windows = folds(start, end, train, test)?;
    // One load of the whole range; folds are slices of it.
    let data = load_data(&p, &args.markets)?;
    let range = Some(p.window.clone());
    let with_base = |c: &[String]| {
        let mut params = args.params.clone();
        params.extend(c.iter().cloned());
        params
    };
    let mut out = WalkForward {
        metric: args.sort_by.clone(),
        folds: Vec::new(),
        test_pnl: Decimal::ZERO,
    };
    for (train_window, test_window) in windows {
        let jobs: Vec<Job> = combos
            .iter()
            .map(|c| Job {
                params: with_base(c),
                window: train_window.clone(),
                range: range.clone(),
            })
            .collect();
        let mut trained = run_all(&args, &p, &data, &jobs)?;
        rank(&mut trained, &args.sort_by);
        let best = trained
            .first()
            .ok_or_else(|| anyhow::anyhow!("no training run in {}", train_window.start))?;
        let test_job = [Job {
            params: best.inputs.params.clone(),
            window: test_window.clone(),
            range: range.clone(),
        }];
        let tested = run_all(&args, &p, &data, &test_job)?;
        let t = tested
            .first()
            .ok_or_else(|| anyhow::anyhow!("no test run in {}", test_window.start))?;
        out.test_pnl += t.summary.metrics.total_pnl;
        out.folds.push(Fold {
            train: train_window,
            test: test_window,
            best_params: best.inputs.params.clone(),
            train_metric: stored::metric(best, &args.sort_by),
            test_metric: stored::metric(t, &args.sort_by),
            test_pnl: t.summary.metrics.total_pnl.round_dp(4),
            test_run: t.run_id.clone(),
        });
    }
    if args.json {
        print::json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = out
        .folds
        .iter()
        .map(|f| {
            let show = |v: Option<f64>| v.map_or("—".into(), |m| format!("{m:.4}"));
            vec![
                format!("{} → {}", f.train.start, f.train.end),
                format!("{} → {}", f.test.start, f.test.end),
                f.best_params.join(" "),
                show(f.train_metric),
                show(f.test_metric),
                f.test_pnl.to_string(),
                f.test_run.clone(),
            ]
        })
        .collect();
    let train_head = format!("train {}", args.sort_by);
    let test_head = format!("test {}", args.sort_by);
    print::table(
        &[
            "train",
            "test",
            "best params",
            &train_head,
            &test_head,
            "test PnL $",
            "test run",
        ],
        &table,
    );
    println!(
        "out-of-sample PnL over {} folds: {} $",
        out.folds.len(),
        out.test_pnl.round_dp(4)
    );
    Ok(ExitCode::SUCCESS)
}
