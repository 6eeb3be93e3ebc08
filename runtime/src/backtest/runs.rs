//! Stored runs: each run is `<id>.json` (the result), `<id>.html` (the report) and
//! `<id>.db` (its journal) in the runs directory, with the strategy's component
//! kept by hash under `artifacts/` so any run can be repeated.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::BacktestError;
use super::run::BacktestResult;

pub fn result_path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(format!("{run_id}.json"))
}

pub fn report_path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(format!("{run_id}.html"))
}

pub fn artifact_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join("artifacts").join(format!("{sha256}.wasm"))
}

/// Keeps the component's bytes by their hash (once).
pub fn keep_artifact(dir: &Path, sha256: &str, bytes: &[u8]) -> Result<PathBuf, BacktestError> {
    let path = artifact_path(dir, sha256);
    if !path.exists() {
        let parent = dir.join("artifacts");
        std::fs::create_dir_all(&parent).map_err(|e| BacktestError::io(&parent, e))?;
        // Write then rename, so a crash never leaves a truncated artifact behind.
        let tmp = path.with_extension("wasm.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| BacktestError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| BacktestError::io(&path, e))?;
    }
    Ok(path)
}

/// The result JSON as stored: pretty, with a final newline.
pub fn encode(result: &BacktestResult) -> Result<String, BacktestError> {
    serde_json::to_string_pretty(result)
        .map(|s| s + "\n")
        .map_err(|e| BacktestError::Input(format!("encoding the result: {e}")))
}

/// Writes the result and the report of a run.
pub fn save(dir: &Path, result: &BacktestResult, html: &str) -> Result<PathBuf, BacktestError> {
    std::fs::create_dir_all(dir).map_err(|e| BacktestError::io(dir, e))?;
    let path = result_path(dir, &result.run_id);
    std::fs::write(&path, encode(result)?).map_err(|e| BacktestError::io(&path, e))?;
    let report = report_path(dir, &result.run_id);
    std::fs::write(&report, html).map_err(|e| BacktestError::io(&report, e))?;
    Ok(path)
}

/// Every stored run, oldest file first; unreadable files are reported, not
/// skipped silently.
pub fn list(dir: &Path) -> Result<Vec<BacktestResult>, BacktestError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("bt-"))
        })
        .map(|p| {
            let modified = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, p)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| read(&p)).collect()
}

fn read(path: &Path) -> Result<BacktestResult, BacktestError> {
    let text = std::fs::read_to_string(path).map_err(|e| BacktestError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| BacktestError::io(path, format!("not a backtest result: {e}")))
}

/// Loads a stored run by id or by a unique prefix of it.
pub fn load(dir: &Path, id: &str) -> Result<BacktestResult, BacktestError> {
    let exact = result_path(dir, id);
    if exact.is_file() {
        return read(&exact);
    }
    let matches: Vec<BacktestResult> = list(dir)?
        .into_iter()
        .filter(|r| r.run_id.starts_with(id))
        .collect();
    match matches.len() {
        1 => Ok(matches
            .into_iter()
            .next()
            .ok_or_else(|| BacktestError::Input(id.into()))?),
        0 => Err(BacktestError::Input(format!(
            "no stored run {id:?} in {} (see `pqap backtest list`)",
            dir.display()
        ))),
        n => Err(BacktestError::Input(format!(
            "run id {id:?} is ambiguous in {}: {n} runs start with it",
            dir.display()
        ))),
    }
}

/// A named number of a result, for sorting sweeps and comparing runs.
pub fn metric(result: &BacktestResult, name: &str) -> Option<f64> {
    let s = &result.summary;
    let m = &s.metrics;
    let dec = |d: Decimal| d.to_f64();
    match name {
        "pnl" | "total_pnl" => dec(m.total_pnl),
        "return" => m.total_return.and_then(dec),
        "annualized_return" => m.annualized_return,
        "sharpe" => m.sharpe,
        "sortino" => m.sortino,
        "calmar" => m.calmar,
        "max_drawdown" => dec(m.max_drawdown.value),
        "profit_factor" => m.profit_factor.and_then(dec),
        "expectancy" => m.expectancy.and_then(dec),
        "win_rate" => m.win_rate,
        "trades" => Some(m.trades as f64),
        "fills" => Some(s.fills as f64),
        "fees" => dec(s.fees),
        "turnover" => dec(s.turnover),
        "brier" => result.calibration.brier,
        _ => None,
    }
}

/// Metric names `metric` knows, in the order comparisons show them.
pub const METRICS: [&str; 15] = [
    "pnl",
    "return",
    "annualized_return",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "profit_factor",
    "expectancy",
    "win_rate",
    "trades",
    "fills",
    "fees",
    "turnover",
    "brier",
];

/// Whether a larger value of `name` is better (drawdown, fees and Brier: smaller).
pub fn higher_is_better(name: &str) -> bool {
    !matches!(name, "max_drawdown" | "fees" | "brier")
}

/// Side-by-side rows of two runs: what differs in their inputs, then every metric.
pub fn compare(a: &BacktestResult, b: &BacktestResult) -> Vec<[String; 3]> {
    let mut rows = Vec::new();
    let (ia, ib) = (&a.inputs, &b.inputs);
    let mut input = |name: &str, x: String, y: String| {
        if x != y {
            rows.push([name.to_string(), x, y]);
        }
    };
    input(
        "strategy",
        format!("{} {}", ia.strategy, ia.version),
        format!("{} {}", ib.strategy, ib.version),
    );
    input(
        "sha256",
        ia.sha256[..12.min(ia.sha256.len())].to_string(),
        ib.sha256[..12.min(ib.sha256.len())].to_string(),
    );
    input("params", ia.params.join(" "), ib.params.join(" "));
    input("seed", ia.seed.to_string(), ib.seed.to_string());
    input("data", a.data_source.clone(), b.data_source.clone());
    input(
        "window",
        format!("{} → {}", ia.window.start, ia.window.end),
        format!("{} → {}", ib.window.start, ib.window.end),
    );
    input(
        "fill model",
        serde_json::to_string(&ia.fill_model).unwrap_or_default(),
        serde_json::to_string(&ib.fill_model).unwrap_or_default(),
    );
    input(
        "risk",
        serde_json::to_string(&ia.risk).unwrap_or_default(),
        serde_json::to_string(&ib.risk).unwrap_or_default(),
    );
    let show = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.4}"));
    for name in METRICS {
        rows.push([
            name.to_string(),
            show(metric(a, name)),
            show(metric(b, name)),
        ]);
    }
    rows.push([
        "warnings".into(),
        a.analyses.warnings().to_string(),
        b.analyses.warnings().to_string(),
    ]);
    rows
}
