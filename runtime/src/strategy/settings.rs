//! `strategy.yaml`, a strategy crate's own settings: its parameters, the
//! markets it trades and its host-side risk limits. `pqap backtest`, `pqap
//! paper` and `pqap deploy` read it beside the crate; their flags override it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::bindings::types::{Param, StrategyInfo};
use super::params::parse_assignments;
use crate::risk::RiskLimits;
use crate::risk::limits::{limit_value, merged_limits};

/// The file's name beside a strategy crate's `Cargo.toml`.
pub const FILE: &str = "strategy.yaml";

/// What a `strategy.yaml` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategySettings {
    pub path: PathBuf,
    /// The strategy's name, as `describe` gives it.
    pub name: String,
    /// Parameter values as text, checked against the schema when applied.
    pub params: BTreeMap<String, String>,
    /// Markets to trade (condition ids, slugs or question text); empty: all.
    pub markets: Vec<String>,
    /// Risk-limit overrides over the environment's per-strategy limits.
    pub risk: serde_json::Map<String, Value>,
}

/// Why a `strategy.yaml` cannot be used; names the file, the key and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SettingsError {
    pub path: String,
    pub message: String,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl StrategySettings {
    /// The settings in `dir/strategy.yaml`, or `None` when there is none.
    pub fn beside(dir: &Path) -> Result<Option<StrategySettings>, SettingsError> {
        let path = dir.join(FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| SettingsError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        StrategySettings::parse(&path, &text).map(Some)
    }

    /// Reads the YAML text of the file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<StrategySettings, SettingsError> {
        let err = |message: String| SettingsError {
            path: path.display().to_string(),
            message,
        };
        let doc: Value = serde_saphyr::from_str(text).map_err(|e| err(format!("not YAML: {e}")))?;
        let Value::Object(top) = doc else {
            return Err(err(
                "expected a mapping of name, params, markets, risk".into()
            ));
        };
        let mut s = StrategySettings {
            path: path.to_path_buf(),
            ..StrategySettings::default()
        };
        for (key, value) in top {
            match key.as_str() {
                "name" => {
                    s.name = value
                        .as_str()
                        .ok_or_else(|| err(format!("name: expected text, found {value}")))?
                        .to_string();
                }
                "params" => match value {
                    Value::Null => {}
                    Value::Object(map) => {
                        for (k, v) in map {
                            let text = scalar(&v).ok_or_else(|| {
                                err(format!(
                                    "params.{k}: expected a number, text or true/false, found {v}"
                                ))
                            })?;
                            s.params.insert(k, text);
                        }
                    }
                    other => return Err(err(format!("params: expected a mapping, found {other}"))),
                },
                "markets" => match value {
                    Value::Null => {}
                    Value::Array(items) => {
                        for (i, m) in items.iter().enumerate() {
                            let m =
                                m.as_str().filter(|m| !m.trim().is_empty()).ok_or_else(|| {
                                    err(format!(
                                        "markets[{i}]: expected a condition id or slug, found {m}"
                                    ))
                                })?;
                            s.markets.push(m.trim().to_string());
                        }
                    }
                    other => return Err(err(format!("markets: expected a list, found {other}"))),
                },
                "risk" => match value {
                    Value::Null => {}
                    Value::Object(map) => {
                        for (k, v) in map {
                            let text = scalar(&v).ok_or_else(|| {
                                err(format!("risk.{k}: expected a number, found {v}"))
                            })?;
                            s.risk.insert(k, limit_value(&text));
                        }
                        merged_limits(&RiskLimits::default(), &s.risk)
                            .map_err(|e| err(format!("risk: {e}")))?;
                    }
                    other => return Err(err(format!("risk: expected a mapping, found {other}"))),
                },
                other => {
                    return Err(err(format!(
                        "unknown key `{other}` (expected name, params, markets, risk)"
                    )));
                }
            }
        }
        Ok(s)
    }

    /// Checks the file is about `info`'s strategy.
    pub fn check_name(&self, info: &StrategyInfo) -> Result<(), SettingsError> {
        if !self.name.is_empty() && self.name != info.name {
            return Err(SettingsError {
                path: self.path.display().to_string(),
                message: format!("name: `{}`, but the strategy is `{}`", self.name, info.name),
            });
        }
        Ok(())
    }

    /// The file's parameters with `overrides` (`NAME=VALUE`, from flags) laid
    /// over them, as assignments.
    pub fn assignments_with(&self, overrides: &[String]) -> Vec<String> {
        let mut all = self.params.clone();
        for o in overrides {
            if let Some((k, v)) = o.split_once('=') {
                all.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        all.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The parameters, checked against `info`'s schema: a bad one names the file.
    pub fn params_for(
        &self,
        info: &StrategyInfo,
        overrides: &[String],
    ) -> Result<Vec<Param>, SettingsError> {
        self.check_name(info)?;
        parse_assignments(info, &self.assignments_with(overrides)).map_err(|e| SettingsError {
            path: self.path.display().to_string(),
            message: format!("params: {e}"),
        })
    }

    /// `defaults` with the file's risk limits laid over them.
    pub fn limits_over(&self, defaults: &RiskLimits) -> Result<RiskLimits, SettingsError> {
        merged_limits(defaults, &self.risk).map_err(|e| SettingsError {
            path: self.path.display().to_string(),
            message: e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StrategySettings, SettingsError> {
        StrategySettings::parse(Path::new("s/strategy.yaml"), text)
    }

    #[test]
    fn reads_every_section_and_names_what_is_wrong() {
        let s = parse(
            "name: mm\nparams:\n  size: 10\n  spread: \"0.02\"\n  on: true\nmarkets: [will-it, \"0xab\"]\nrisk:\n  max_open_orders: 4\n  max_daily_loss: \"25\"\n",
        )
        .unwrap();
        assert_eq!(s.name, "mm");
        assert_eq!(s.params["size"], "10");
        assert_eq!(s.params["spread"], "0.02");
        assert_eq!(s.params["on"], "true");
        assert_eq!(s.markets, ["will-it", "0xab"]);
        let limits = s.limits_over(&RiskLimits::default()).unwrap();
        assert_eq!(limits.max_open_orders, Some(4));
        assert_eq!(limits.max_daily_loss, Some(rust_decimal::Decimal::from(25)));
        // Flags win over the file.
        assert_eq!(
            s.assignments_with(&["size=5".into()]),
            ["on=true", "size=5", "spread=0.02"]
        );
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("risk:\n  max_daily_loss_usd: 25\n").contains("s/strategy.yaml: risk:"));
        assert!(err("risk:\n  max_daily_loss_usd: 25\n").contains("max_daily_loss_usd"));
        assert!(
            err("params:\n  size: [1, 2]\n")
                .contains("params.size: expected a number, text or true/false")
        );
        assert!(err("markets: will-it\n").contains("markets: expected a list"));
        assert!(err("colour: blue\n").contains("unknown key `colour`"));
        assert!(err("risk:\n  max_open_orders: lots\n").contains("risk"));
    }
}
