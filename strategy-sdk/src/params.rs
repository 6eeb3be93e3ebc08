//! Typed strategy parameters: a schema built in `describe`, values checked in `init`.

use std::collections::BTreeMap;

use crate::types::{Decimal, Param, ParamKind, ParamSpec, ParamValue};
use crate::{Price, Size};

/// Builder for the `params` list of `describe`.
#[derive(Default)]
pub struct ParamSchema {
    specs: Vec<ParamSpec>,
}

impl ParamSchema {
    pub fn new() -> ParamSchema {
        ParamSchema::default()
    }

    pub fn integer(mut self, name: &str, default: i64, description: &str) -> Self {
        self.specs.push(ParamSpec {
            name: name.to_string(),
            kind: ParamKind::Integer,
            default: ParamValue::Integer(default),
            description: description.to_string(),
        });
        self
    }

    /// A decimal parameter; `default` is text such as `"0.02"` (at most 6 decimals).
    ///
    /// # Panics
    /// If `default` is not a valid decimal: schemas are constants written by the
    /// strategy author, so this fails in the first unit test.
    pub fn decimal(mut self, name: &str, default: &str, description: &str) -> Self {
        let value =
            parse_decimal(default).unwrap_or_else(|e| panic!("default of parameter `{name}`: {e}"));
        self.specs.push(ParamSpec {
            name: name.to_string(),
            kind: ParamKind::Decimal,
            default: ParamValue::Decimal(value),
            description: description.to_string(),
        });
        self
    }

    pub fn flag(mut self, name: &str, default: bool, description: &str) -> Self {
        self.specs.push(ParamSpec {
            name: name.to_string(),
            kind: ParamKind::Flag,
            default: ParamValue::Flag(default),
            description: description.to_string(),
        });
        self
    }

    pub fn text(mut self, name: &str, default: &str, description: &str) -> Self {
        self.specs.push(ParamSpec {
            name: name.to_string(),
            kind: ParamKind::Text,
            default: ParamValue::Text(default.to_string()),
            description: description.to_string(),
        });
        self
    }

    pub fn build(self) -> Vec<ParamSpec> {
        self.specs
    }
}

/// Parses `-12.345` style text into an exact decimal (at most 18 digits, scale ≤ 18).
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("`{text}` is not a decimal number"));
    }
    let scale = u8::try_from(frac_part.len())
        .ok()
        .filter(|s| *s <= 18)
        .ok_or_else(|| format!("`{text}` has too many decimal places"))?;
    let joined = format!("{int_part}{frac_part}");
    let magnitude: i64 = if joined.is_empty() {
        0
    } else {
        joined
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?
    };
    Ok(Decimal {
        mantissa: if negative { -magnitude } else { magnitude },
        scale,
    })
}

/// Converts an exact decimal to micro-units if it has at most six decimals.
pub fn decimal_to_micros(d: &Decimal) -> Option<i128> {
    if d.scale > 6 {
        let div = 10i128.pow(u32::from(d.scale - 6));
        let m = i128::from(d.mantissa);
        return (m % div == 0).then(|| m / div);
    }
    Some(i128::from(d.mantissa) * 10i128.pow(u32::from(6 - d.scale)))
}

fn kind_of(value: &ParamValue) -> ParamKind {
    match value {
        ParamValue::Integer(_) => ParamKind::Integer,
        ParamValue::Decimal(_) => ParamKind::Decimal,
        ParamValue::Flag(_) => ParamKind::Flag,
        ParamValue::Text(_) => ParamKind::Text,
    }
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Integer => "integer",
        ParamKind::Decimal => "decimal",
        ParamKind::Flag => "flag",
        ParamKind::Text => "text",
    }
}

/// Parameter values after defaults and kind checks, with typed getters.
#[derive(Debug, Clone)]
pub struct Params {
    values: BTreeMap<String, ParamValue>,
}

impl Params {
    /// Merges `given` over the schema's defaults. Unknown names and kind mismatches
    /// are errors naming the parameter; an integer is accepted where a decimal is
    /// expected.
    pub fn resolve(schema: &[ParamSpec], given: &[Param]) -> Result<Params, String> {
        let mut values: BTreeMap<String, ParamValue> = schema
            .iter()
            .map(|s| (s.name.clone(), s.default.clone()))
            .collect();
        for p in given {
            let Some(spec) = schema.iter().find(|s| s.name == p.name) else {
                let known: Vec<&str> = schema.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "unknown parameter `{}` (known: {})",
                    p.name,
                    known.join(", ")
                ));
            };
            let value = match (&p.value, spec.kind) {
                (ParamValue::Integer(i), ParamKind::Decimal) => ParamValue::Decimal(Decimal {
                    mantissa: *i,
                    scale: 0,
                }),
                (v, k) if kind_of(v) == k => v.clone(),
                (v, k) => {
                    return Err(format!(
                        "parameter `{}` must be {}, got {}",
                        p.name,
                        kind_name(k),
                        kind_name(kind_of(v))
                    ));
                }
            };
            values.insert(p.name.clone(), value);
        }
        Ok(Params { values })
    }

    fn get(&self, name: &str) -> Result<&ParamValue, String> {
        self.values
            .get(name)
            .ok_or_else(|| format!("parameter `{name}` is not in the schema"))
    }

    pub fn integer(&self, name: &str) -> Result<i64, String> {
        match self.get(name)? {
            ParamValue::Integer(i) => Ok(*i),
            v => Err(format!(
                "parameter `{name}` is {}, not integer",
                kind_name(kind_of(v))
            )),
        }
    }

    pub fn decimal(&self, name: &str) -> Result<Decimal, String> {
        match self.get(name)? {
            ParamValue::Decimal(d) => Ok(*d),
            ParamValue::Integer(i) => Ok(Decimal {
                mantissa: *i,
                scale: 0,
            }),
            v => Err(format!(
                "parameter `{name}` is {}, not decimal",
                kind_name(kind_of(v))
            )),
        }
    }

    /// A decimal parameter as a price (0 to 1, at most 6 decimals).
    pub fn price(&self, name: &str) -> Result<Price, String> {
        let d = self.decimal(name)?;
        decimal_to_micros(&d)
            .and_then(|m| u32::try_from(m).ok())
            .and_then(Price::new)
            .ok_or_else(|| format!("parameter `{name}` must be a price between 0 and 1"))
    }

    /// A decimal parameter as a size in shares (non-negative, at most 6 decimals).
    pub fn size(&self, name: &str) -> Result<Size, String> {
        let d = self.decimal(name)?;
        decimal_to_micros(&d)
            .and_then(|m| u64::try_from(m).ok())
            .map(Size::from_micros)
            .ok_or_else(|| format!("parameter `{name}` must be a non-negative share size"))
    }

    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.get(name)? {
            ParamValue::Flag(b) => Ok(*b),
            v => Err(format!(
                "parameter `{name}` is {}, not flag",
                kind_name(kind_of(v))
            )),
        }
    }

    pub fn text(&self, name: &str) -> Result<&str, String> {
        match self.get(name)? {
            ParamValue::Text(s) => Ok(s),
            v => Err(format!(
                "parameter `{name}` is {}, not text",
                kind_name(kind_of(v))
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Vec<ParamSpec> {
        ParamSchema::new()
            .integer("levels", 2, "quote depth")
            .decimal("spread", "0.02", "half spread")
            .decimal("size", "10", "shares per quote")
            .flag("post_only", true, "never take")
            .build()
    }

    #[test]
    fn defaults_then_overrides() {
        let p = Params::resolve(
            &schema(),
            &[Param {
                name: "spread".into(),
                value: ParamValue::Decimal(parse_decimal("0.035").unwrap()),
            }],
        )
        .unwrap();
        assert_eq!(p.integer("levels").unwrap(), 2);
        assert_eq!(p.price("spread").unwrap().micros(), 35_000);
        assert_eq!(p.size("size").unwrap(), Size::from_shares(10).unwrap());
        assert!(p.flag("post_only").unwrap());
    }

    #[test]
    fn errors_name_the_parameter() {
        let err = Params::resolve(
            &schema(),
            &[Param {
                name: "sprad".into(),
                value: ParamValue::Integer(1),
            }],
        )
        .unwrap_err();
        assert!(err.contains("`sprad`") && err.contains("spread"), "{err}");
        let err = Params::resolve(
            &schema(),
            &[Param {
                name: "levels".into(),
                value: ParamValue::Flag(true),
            }],
        )
        .unwrap_err();
        assert!(err.contains("`levels` must be integer"), "{err}");
        let p = Params::resolve(&schema(), &[]).unwrap();
        assert!(p.text("spread").unwrap_err().contains("not text"));
    }

    #[test]
    fn integer_widens_to_decimal() {
        let p = Params::resolve(
            &schema(),
            &[Param {
                name: "size".into(),
                value: ParamValue::Integer(25),
            }],
        )
        .unwrap();
        assert_eq!(p.size("size").unwrap(), Size::from_shares(25).unwrap());
    }

    #[test]
    fn decimal_parsing() {
        assert_eq!(
            parse_decimal("-1.50").unwrap(),
            Decimal {
                mantissa: -150,
                scale: 2
            }
        );
        assert!(parse_decimal("abc").is_err());
        assert!(parse_decimal("1.2.3").is_err());
        assert!(parse_decimal("99999999999999999999").is_err());
        assert_eq!(
            decimal_to_micros(&Decimal {
                mantissa: 1234567,
                scale: 7
            }),
            None
        );
        assert_eq!(
            decimal_to_micros(&Decimal {
                mantissa: 1234560,
                scale: 7
            }),
            Some(123456)
        );
    }
}
