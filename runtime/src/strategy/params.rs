//! Parameter values from text (`--params k=v`, sweeps, config) checked against the
//! schema a strategy declares in `describe`.

use rust_decimal::Decimal;

use super::bindings::types::{
    Decimal as WitDecimal, Param, ParamKind, ParamSpec, ParamValue, StrategyInfo,
};

/// Why a parameter assignment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter {0:?}: expected NAME=VALUE")]
    Syntax(String),
    #[error("parameter {name:?}: the strategy has no such parameter (it has: {known})")]
    Unknown { name: String, known: String },
    #[error("parameter {name}={value:?}: not a valid {kind}")]
    Value {
        name: String,
        value: String,
        kind: &'static str,
    },
    #[error("parameter {0:?} given twice")]
    Duplicate(String),
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Integer => "integer",
        ParamKind::Decimal => "decimal",
        ParamKind::Flag => "flag (true/false)",
        ParamKind::Text => "text",
    }
}

/// Parses `value` as the kind `spec` declares.
pub fn parse_value(spec: &ParamSpec, value: &str) -> Result<ParamValue, ParamError> {
    let bad = || ParamError::Value {
        name: spec.name.clone(),
        value: value.to_string(),
        kind: kind_name(spec.kind),
    };
    let v = value.trim();
    Ok(match spec.kind {
        ParamKind::Integer => ParamValue::Integer(v.parse().map_err(|_| bad())?),
        ParamKind::Decimal => {
            let d: Decimal = v.parse().map_err(|_| bad())?;
            let d = d.normalize();
            let mantissa = i64::try_from(d.mantissa()).map_err(|_| bad())?;
            let scale = u8::try_from(d.scale()).map_err(|_| bad())?;
            ParamValue::Decimal(WitDecimal { mantissa, scale })
        }
        ParamKind::Flag => ParamValue::Flag(match v {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => return Err(bad()),
        }),
        ParamKind::Text => ParamValue::Text(value.to_string()),
    })
}

/// Parses `NAME=VALUE` assignments against the strategy's schema. Parameters not
/// given keep their defaults (the strategy applies them), so only the given ones
/// are returned, in the order given.
pub fn parse_assignments<S: AsRef<str>>(
    info: &StrategyInfo,
    assignments: &[S],
) -> Result<Vec<Param>, ParamError> {
    let mut out: Vec<Param> = Vec::new();
    for a in assignments {
        let a = a.as_ref();
        let (name, value) = a
            .split_once('=')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| ParamError::Syntax(a.to_string()))?;
        let name = name.trim();
        let spec =
            info.params
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| ParamError::Unknown {
                    name: name.to_string(),
                    known: info
                        .params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        if out.iter().any(|p| p.name == name) {
            return Err(ParamError::Duplicate(name.to_string()));
        }
        out.push(Param {
            name: name.to_string(),
            value: parse_value(spec, value)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> StrategyInfo {
        let spec = |name: &str, kind, default| ParamSpec {
            name: name.into(),
            kind,
            default,
            description: String::new(),
        };
        StrategyInfo {
            name: "s".into(),
            version: "1".into(),
            description: String::new(),
            params: vec![
                spec("n", ParamKind::Integer, ParamValue::Integer(1)),
                spec(
                    "spread",
                    ParamKind::Decimal,
                    ParamValue::Decimal(WitDecimal {
                        mantissa: 1,
                        scale: 2,
                    }),
                ),
                spec("on", ParamKind::Flag, ParamValue::Flag(false)),
                spec("tag", ParamKind::Text, ParamValue::Text(String::new())),
            ],
            interests: super::super::bindings::types::Interests::all(),
        }
    }

    #[test]
    fn parses_each_kind() {
        let p = parse_assignments(&info(), &["n=3", "spread=0.0250", "on=yes", "tag=a=b"]).unwrap();
        assert_eq!(p[0].value, ParamValue::Integer(3));
        assert_eq!(
            p[1].value,
            ParamValue::Decimal(WitDecimal {
                mantissa: 25,
                scale: 3
            })
        );
        assert_eq!(p[2].value, ParamValue::Flag(true));
        assert_eq!(p[3].value, ParamValue::Text("a=b".into()));
    }

    #[test]
    fn refusals_name_the_input() {
        let i = info();
        let e = parse_assignments(&i, &["spread"]).unwrap_err();
        assert_eq!(e.to_string(), "parameter \"spread\": expected NAME=VALUE");
        let e = parse_assignments(&i, &["width=2"]).unwrap_err();
        assert!(e.to_string().contains("no such parameter"), "{e}");
        assert!(e.to_string().contains("n, spread, on, tag"), "{e}");
        let e = parse_assignments(&i, &["n=1.5"]).unwrap_err();
        assert_eq!(e.to_string(), "parameter n=\"1.5\": not a valid integer");
        let e = parse_assignments(&i, &["on=maybe"]).unwrap_err();
        assert!(e.to_string().contains("flag"), "{e}");
        assert_eq!(
            parse_assignments(&i, &["n=1", "n=2"]).unwrap_err(),
            ParamError::Duplicate("n".into())
        );
    }
}
