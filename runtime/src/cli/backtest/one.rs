//! A single backtest run: progress while it runs, then the metrics table, the
//! sanity analyses and where the result, report and journal went.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use pqap::backtest::runs as stored;
use pqap::backtest::{BacktestResult, run};
use pqap::report::Metrics;
use rust_decimal::Decimal;

use super::super::print;
use super::{RunArgs, load_data, page, runtime};

/// Prints `done/total` with the rate and ETA every two seconds (in place on a
/// terminal).
pub(super) struct ProgressLine {
    started: Instant,
    last: Instant,
    tty: bool,
}

impl ProgressLine {
    pub(super) fn new() -> ProgressLine {
        ProgressLine {
            started: Instant::now(),
            last: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub(super) fn update(&mut self, done: usize, total: usize) {
        if self.last.elapsed().as_secs() < 2 && done < total {
            return;
        }
        self.last = Instant::now();
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let eta = total.saturating_sub(done) as f64 / rate.max(1e-9);
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
        let line = format!("[{bar}] {done}/{total} updates, {rate:.0}/s, ETA {eta:.0} s");
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{line}");
            if done >= total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "  {line}");
        }
    }
}

pub(super) fn single(args: RunArgs) -> anyhow::Result<ExitCode> {
    let prepared = args.prepare()?;
    let data = load_data(&prepared, &args.markets)?;
    let inputs = args.inputs(
        &prepared,
        args.params.clone(),
        prepared.window.clone(),
        None,
    );
    let rt = runtime()?;
    let clock = Instant::now();
    let mut progress = ProgressLine::new();
    let mut report = |done: usize, total: usize| progress.update(done, total);
    let quiet = args.json || args.quiet;
    let (result, trace) = rt.block_on(run(
        prepared.artifact.clone(),
        inputs,
        &data,
        &args.out,
        if quiet { None } else { Some(&mut report) },
    ))?;
    let elapsed = clock.elapsed();
    let html = page(&result, &trace, args.report_market.clone());
    let path = stored::save(&args.out, &result, &html)?;
    if let Some(extra) = &args.report {
        std::fs::write(extra, &html)
            .map_err(|e| anyhow::anyhow!("writing the report to {}: {e}", extra.display()))?;
    }
    if args.json {
        print!("{}", stored::encode(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_result(&result);
    println!(
        "{} updates in {:.2} s ({:.0}/s)\nresult  {}\nreport  {}\njournal {}",
        result.updates,
        elapsed.as_secs_f64(),
        result.updates as f64 / elapsed.as_secs_f64().max(1e-9),
        path.display(),
        args.report
            .clone()
            .unwrap_or_else(|| stored::report_path(&args.out, &result.run_id))
            .display(),
        pqap::backtest::run::journal_path(&args.out, &result.run_id).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn opt(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |x| format!("{x:.2}"))
}

fn optd(v: Option<Decimal>) -> String {
    v.map_or("—".to_string(), |x| x.round_dp(4).to_string())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |x| format!("{:.1}%", x * 100.0))
}

/// The metrics table and the analyses of a run.
pub(super) fn print_result(result: &BacktestResult) {
    let s = &result.summary;
    let m: &Metrics = &s.metrics;
    let i = &result.inputs;
    let mut rows = vec![
        vec!["run".into(), result.run_id.clone()],
        vec!["strategy".into(), format!("{} {}", i.strategy, i.version)],
        vec!["data".into(), result.data_source.clone()],
        vec![
            "window".into(),
            format!("{} → {} (exclusive)", i.window.start, i.window.end),
        ],
    ];
    if !i.params.is_empty() {
        rows.push(vec!["params".into(), i.params.join(" ")]);
    }
    rows.extend([
        vec!["total PnL $".into(), m.total_pnl.round_dp(4).to_string()],
        vec![
            "return / annualised".into(),
            format!(
                "{} / {}",
                pct(m
                    .total_return
                    .and_then(|r| rust_decimal::prelude::ToPrimitive::to_f64(&r))),
                pct(m.annualized_return)
            ),
        ],
        vec![
            "realised $ (closed early / held to resolution)".into(),
            format!(
                "{} / {}",
                s.realized_closed.round_dp(4),
                s.realized_resolution.round_dp(4)
            ),
        ],
        vec![
            "Sharpe / Sortino / Calmar".into(),
            format!("{} / {} / {}", opt(m.sharpe), opt(m.sortino), opt(m.calmar)),
        ],
        vec![
            "max drawdown $".into(),
            format!(
                "{} ({})",
                m.max_drawdown.value.round_dp(4),
                pct(m
                    .max_drawdown
                    .fraction
                    .and_then(|r| rust_decimal::prelude::ToPrimitive::to_f64(&r)))
            ),
        ],
        vec![
            "orders / fills / maker share".into(),
            format!("{} / {} / {}", s.orders, s.fills, pct(s.maker_share)),
        ],
        vec![
            "fees $ / turnover $".into(),
            format!("{} / {}", s.fees.round_dp(4), s.turnover.round_dp(2)),
        ],
        vec![
            "trades / win rate".into(),
            format!("{} / {}", m.trades, pct(m.win_rate)),
        ],
        vec![
            "profit factor / expectancy $".into(),
            format!("{} / {}", optd(m.profit_factor), optd(m.expectancy)),
        ],
        vec![
            "time in market / avg holding".into(),
            format!(
                "{} / {}",
                pct(s.time_in_market),
                s.average_holding_s
                    .map_or("—".into(), |x| format!("{:.1} min", x / 60.0))
            ),
        ],
        vec![
            "Brier score".into(),
            result
                .calibration
                .brier
                .map_or("— (no forecasts)".into(), |b| {
                    format!("{b:.4} over {} forecasts", result.calibration.settled)
                }),
        ],
        vec!["faults".into(), s.faults.to_string()],
    ]);
    print::table(&["metric", "value"], &rows);
    println!();
    for f in &result.analyses.findings {
        println!(
            "{} {:<22} {}",
            if f.passed { "ok  " } else { "WARN" },
            f.check,
            f.message
        );
    }
    println!();
}
