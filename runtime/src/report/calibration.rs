//! How good a strategy's probabilities were: the Brier score and a calibration
//! table over the forecasts it published and the outcomes that settled them.
//!
//! A strategy publishes a forecast by ending an order's reason tag with
//! `p=<probability>` (e.g. `edge_buy p=0.62`): the probability that the order's
//! outcome token resolves to 1. Attribution groups by the tag without it.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::model::TokenId;
use crate::store::{CommandAction, Entry, Stored};

/// Splits a reason into its tag and the forecast it carries, if any.
pub fn split_reason(reason: &str) -> (&str, Option<Decimal>) {
    let trimmed = reason.trim_end();
    let cut = trimmed.rfind([' ', ';', ',']).map_or(0, |i| i + 1);
    let (head, last) = trimmed.split_at(cut);
    let forecast = last
        .strip_prefix("p=")
        .and_then(|p| p.parse::<Decimal>().ok())
        .filter(|p| *p >= Decimal::ZERO && *p <= Decimal::ONE);
    match forecast {
        Some(p) => (head.trim_end_matches([' ', ';', ',']), Some(p)),
        None => (reason, None),
    }
}

/// One row of the calibration table: forecasts in `[low, high)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub low: Decimal,
    pub high: Decimal,
    pub forecasts: usize,
    pub mean_forecast: Option<f64>,
    /// Share of these forecasts whose token resolved to 1.
    pub observed: Option<f64>,
}

/// Forecast quality over the settled forecasts of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Forecasts published (settled or not).
    pub forecasts: usize,
    /// Forecasts whose token settled during the run.
    pub settled: usize,
    /// Mean squared error of settled forecasts (0 perfect, 0.25 a coin flip).
    pub brier: Option<f64>,
    pub buckets: Vec<Bucket>,
}

/// Forecast quality for one strategy, built entry by entry as the journal is
/// written.
#[derive(Debug, Clone, Default)]
pub struct CalibrationFold {
    strategy: u32,
    forecasts: usize,
    /// Forecasts waiting for their token to settle.
    open: HashMap<TokenId, Vec<Decimal>>,
    /// Settled forecasts and whether their token won, in settlement order.
    scored: Vec<(Decimal, bool)>,
}

impl CalibrationFold {
    pub fn new(strategy: u32) -> CalibrationFold {
        CalibrationFold {
            strategy,
            ..CalibrationFold::default()
        }
    }

    /// Takes the next journal entry, in sequence order.
    pub fn observe(&mut self, e: &Stored) {
        match &e.entry {
            Entry::Command {
                strategy: id,
                reason,
                command: CommandAction::Place { order },
                ..
            } if *id == self.strategy => {
                if let (_, Some(p)) = split_reason(reason) {
                    self.forecasts += 1;
                    self.open.entry(order.token.clone()).or_default().push(p);
                }
            }
            Entry::Settlement {
                token,
                payout_micros,
            } => {
                let won = *payout_micros >= 500_000;
                for p in self.open.remove(token).unwrap_or_default() {
                    self.scored.push((p, won));
                }
            }
            _ => {}
        }
    }

    /// Scores the forecasts settled so far; unsettled ones only count as published.
    pub fn finish(self) -> Calibration {
        let scored = self.scored;
        let mut c = Calibration {
            forecasts: self.forecasts,
            settled: scored.len(),
            ..Calibration::default()
        };
        if scored.is_empty() {
            return c;
        }
        let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
        let outcome = |won: bool| if won { 1.0 } else { 0.0 };
        let sum: f64 = scored
            .iter()
            .map(|(p, won)| (f(*p) - outcome(*won)).powi(2))
            .sum();
        c.brier = Some(sum / scored.len() as f64);
        for i in 0..10u32 {
            let low = Decimal::new(i64::from(i), 1);
            let high = Decimal::new(i64::from(i) + 1, 1);
            let inside: Vec<&(Decimal, bool)> = scored
                .iter()
                .filter(|(p, _)| *p >= low && (*p < high || (i == 9 && *p <= high)))
                .collect();
            let n = inside.len();
            c.buckets.push(Bucket {
                low,
                high,
                forecasts: n,
                mean_forecast: (n > 0)
                    .then(|| inside.iter().map(|(p, _)| f(*p)).sum::<f64>() / n as f64),
                observed: (n > 0)
                    .then(|| inside.iter().filter(|(_, won)| *won).count() as f64 / n as f64),
            });
        }
        c
    }
}

/// Collects `strategy`'s forecasts and scores them against settlements.
pub fn calibrate(entries: &[Stored], strategy: u32) -> Calibration {
    let mut fold = CalibrationFold::new(strategy);
    for e in entries {
        fold.observe(e);
    }
    fold.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Order, OrderKey, Price, Side, Size, TimeInForce};

    #[test]
    fn reasons_split_off_a_trailing_forecast() {
        assert_eq!(
            split_reason("edge_buy p=0.62"),
            ("edge_buy", Some(Decimal::new(62, 2)))
        );
        assert_eq!(split_reason("p=1"), ("", Some(Decimal::ONE)));
        assert_eq!(
            split_reason("fade;p=0.1"),
            ("fade", Some(Decimal::new(1, 1)))
        );
        assert_eq!(split_reason("quote_bid"), ("quote_bid", None));
        assert_eq!(split_reason("ship=2"), ("ship=2", None));
        assert_eq!(split_reason("x p=1.5"), ("x p=1.5", None));
        assert_eq!(split_reason("x p=abc"), ("x p=abc", None));
    }

    fn stored(seq: i64, entry: Entry) -> Stored {
        Stored {
            seq,
            ts_ns: seq,
            strategy: None,
            entry,
            hash: String::new(),
        }
    }

    fn place(seq: i64, token: &str, reason: &str) -> Stored {
        stored(
            seq,
            Entry::Command {
                strategy: 1,
                reason: reason.into(),
                cause: None,
                command: CommandAction::Place {
                    order: Order {
                        key: OrderKey {
                            strategy: 1,
                            client_id: seq as u64,
                        },
                        token: TokenId::parse(token).unwrap(),
                        side: Side::Buy,
                        price: Price::new(500_000).unwrap(),
                        size: Size::from_micros(1_000_000),
                        tif: TimeInForce::Gtc,
                        post_only: false,
                        created_ns: 0,
                        venue_ref: None,
                    },
                },
            },
        )
    }

    #[test]
    fn brier_by_hand() {
        // Forecasts 0.8 and 0.6 on A (resolves 1), 0.3 on B (resolves 0), 0.9 on
        // C (never settles): ((0.2² + 0.4² + 0.3²) / 3) = (0.04 + 0.16 + 0.09) / 3.
        let entries = vec![
            place(1, "1", "buy p=0.8"),
            place(2, "1", "buy p=0.6"),
            place(3, "2", "buy p=0.3"),
            place(4, "3", "buy p=0.9"),
            place(5, "1", "hedge"),
            stored(
                6,
                Entry::Settlement {
                    token: TokenId::parse("1").unwrap(),
                    payout_micros: 1_000_000,
                },
            ),
            stored(
                7,
                Entry::Settlement {
                    token: TokenId::parse("2").unwrap(),
                    payout_micros: 0,
                },
            ),
        ];
        let c = calibrate(&entries, 1);
        assert_eq!(c.forecasts, 4);
        assert_eq!(c.settled, 3);
        assert!((c.brier.unwrap() - 0.29 / 3.0).abs() < 1e-12);
        assert_eq!(c.buckets.len(), 10);
        assert_eq!(c.buckets[8].forecasts, 1);
        assert_eq!(c.buckets[8].observed, Some(1.0));
        assert_eq!(c.buckets[3].observed, Some(0.0));
        assert_eq!(c.buckets[6].mean_forecast, Some(0.6));
        assert_eq!(calibrate(&entries, 2), Calibration::default());
    }
}
