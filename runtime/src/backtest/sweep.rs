//! Parameter sweeps: axes from `--sweep k=a..b:step` (or `k=v1,v2`) and grid
//! files, their combinations, and the train/test folds of walk-forward runs.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::BacktestError;
use super::data::Window;
use crate::model::time::utc_day;

/// More combinations than this is almost certainly a typo in a step.
pub const MAX_COMBINATIONS: usize = 10_000;

/// One swept parameter and its values, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

fn bad(spec: &str, why: &str) -> BacktestError {
    BacktestError::Input(format!("sweep {spec:?}: {why}"))
}

/// Values of `a..b:step` (inclusive, exact decimals) or `v1,v2,...`.
fn values(spec: &str, text: &str) -> Result<Vec<String>, BacktestError> {
    if let Some((range, step)) = text.split_once(':')
        && let Some((a, b)) = range.split_once("..")
    {
        let num = |s: &str| {
            s.trim()
                .parse::<Decimal>()
                .map_err(|_| bad(spec, &format!("{s:?} is not a number")))
        };
        let (a, b, step) = (num(a)?, num(b)?, num(step)?);
        if step <= Decimal::ZERO {
            return Err(bad(spec, "the step must be positive"));
        }
        if b < a {
            return Err(bad(spec, "the range ends before it starts"));
        }
        let count = ((b - a) / step).floor() + Decimal::ONE;
        if count > Decimal::from(MAX_COMBINATIONS) {
            return Err(bad(spec, &format!("more than {MAX_COMBINATIONS} values")));
        }
        let mut out = Vec::new();
        let mut v = a;
        while v <= b {
            out.push(v.normalize().to_string());
            v += step;
        }
        return Ok(out);
    }
    let list: Vec<String> = text
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if list.is_empty() {
        return Err(bad(spec, "no values (use a..b:step or v1,v2,...)"));
    }
    Ok(list)
}

/// Parses `NAME=a..b:step` or `NAME=v1,v2,...`.
pub fn parse_axis(spec: &str) -> Result<Axis, BacktestError> {
    let (name, text) = spec
        .split_once('=')
        .filter(|(n, _)| !n.trim().is_empty())
        .ok_or_else(|| bad(spec, "expected NAME=a..b:step or NAME=v1,v2,..."))?;
    Ok(Axis {
        name: name.trim().to_string(),
        values: values(spec, text)?,
    })
}

/// A grid file: a YAML mapping from parameter name to a list of values or to a
/// `a..b:step` range, e.g. `half_spread: [0.01, 0.02]` and `quote_size: 10..50:10`.
pub fn parse_grid(text: &str) -> Result<Vec<Axis>, BacktestError> {
    let map: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str(text)
        .map_err(|e| BacktestError::Input(format!("grid file: {e}")))?;
    let scalar = |name: &str, v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(BacktestError::Input(format!(
            "grid file: {name}: {other} is not a value"
        ))),
    };
    map.into_iter()
        .map(|(name, v)| {
            let values = match &v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| scalar(&name, i))
                    .collect::<Result<Vec<_>, _>>()?,
                serde_json::Value::String(s) => values(&format!("{name}={s}"), s)?,
                other => vec![scalar(&name, other)?],
            };
            Ok(Axis { name, values })
        })
        .collect()
}

/// Every combination as `NAME=VALUE` lists, the first axis varying slowest.
pub fn combinations(axes: &[Axis]) -> Result<Vec<Vec<String>>, BacktestError> {
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .unwrap_or(usize::MAX);
    if total > MAX_COMBINATIONS {
        return Err(BacktestError::Input(format!(
            "the sweep has {total} combinations; the limit is {MAX_COMBINATIONS}"
        )));
    }
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for axis in axes {
        if out
            .iter()
            .flatten()
            .any(|p| p.split('=').next() == Some(&axis.name))
        {
            return Err(BacktestError::Input(format!(
                "the sweep names {} twice",
                axis.name
            )));
        }
        out = out
            .into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(format!("{}={v}", axis.name));
                    p
                })
            })
            .collect();
    }
    Ok(out)
}

/// Walk-forward folds over `[start_ms, end_ms)`: train on `train_days`, test on
/// the next `test_days`, then move on by `test_days`.
pub fn folds(
    start_ms: u64,
    end_ms: u64,
    train_days: u64,
    test_days: u64,
) -> Result<Vec<(Window, Window)>, BacktestError> {
    const DAY: u64 = 86_400_000;
    if train_days == 0 || test_days == 0 {
        return Err(BacktestError::Input(
            "--walk-forward TRAIN:TEST needs whole days above zero".into(),
        ));
    }
    let day = |ms: u64| utc_day(i64::try_from(ms).unwrap_or(0));
    let mut out = Vec::new();
    let mut train_start = start_ms;
    while train_start + (train_days + test_days) * DAY <= end_ms {
        let test_start = train_start + train_days * DAY;
        let test_end = test_start + test_days * DAY;
        out.push((
            Window {
                start: day(train_start),
                end: day(test_start),
            },
            Window {
                start: day(test_start),
                end: day(test_end),
            },
        ));
        train_start += test_days * DAY;
    }
    if out.is_empty() {
        return Err(BacktestError::Input(format!(
            "--walk-forward {train_days}:{test_days} does not fit between {} and {}",
            day(start_ms),
            day(end_ms)
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_exact_and_inclusive() {
        let a = parse_axis("half_spread=0.01..0.03:0.005").unwrap();
        assert_eq!(a.name, "half_spread");
        assert_eq!(a.values, ["0.01", "0.015", "0.02", "0.025", "0.03"]);
        // 0.1 steps in binary floating point would miss the end; decimals do not.
        assert_eq!(parse_axis("x=0..1:0.1").unwrap().values.len(), 11);
        assert_eq!(parse_axis("n=1,2, 5").unwrap().values, ["1", "2", "5"]);
        for bad in [
            "=1..2:1",
            "x",
            "x=2..1:1",
            "x=1..2:0",
            "x=a..2:1",
            "x=",
            "x=0..1e9:1",
        ] {
            assert!(parse_axis(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn combinations_vary_the_last_axis_fastest() {
        let axes = [parse_axis("a=1,2").unwrap(), parse_axis("b=x,y,z").unwrap()];
        let c = combinations(&axes).unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], ["a=1", "b=x"]);
        assert_eq!(c[1], ["a=1", "b=y"]);
        assert_eq!(c[5], ["a=2", "b=z"]);
        let twice = [parse_axis("a=1").unwrap(), parse_axis("a=2").unwrap()];
        assert!(combinations(&twice).is_err());
        let big = [
            parse_axis("a=0..99:1").unwrap(),
            parse_axis("b=0..100:1").unwrap(),
        ];
        assert!(
            combinations(&big)
                .unwrap_err()
                .to_string()
                .contains("10100")
        );
    }

    #[test]
    fn grid_files_take_lists_and_ranges() {
        let axes = parse_grid(
            "half_spread: [0.01, \"0.02\"]\nquote_size: 10..30:10\nall_outcomes: true\n",
        )
        .unwrap();
        assert_eq!(axes.len(), 3);
        assert_eq!(axes[0].name, "all_outcomes");
        assert_eq!(axes[0].values, ["true"]);
        assert_eq!(axes[1].values, ["0.01", "0.02"]);
        assert_eq!(axes[2].values, ["10", "20", "30"]);
        assert!(parse_grid("x: {a: 1}").is_err());
        assert!(parse_grid("- 1\n- 2").is_err());
    }

    #[test]
    fn folds_roll_by_the_test_window() {
        let d = 86_400_000;
        let start = 1_767_225_600_000; // 2026-01-01
        let f = folds(start, start + 10 * d, 3, 2).unwrap();
        // Train 3 + test 2 days, moving by 2: starts on days 0, 2, 4 (day 6 + 5 > 10).
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].0.start, "2026-01-01");
        assert_eq!(f[0].0.end, "2026-01-04");
        assert_eq!(f[0].1.end, "2026-01-06");
        assert_eq!(f[2].1.end, "2026-01-10");
        assert!(folds(start, start + 2 * d, 3, 2).is_err());
        assert!(folds(start, start + 9 * d, 0, 2).is_err());
    }
}
