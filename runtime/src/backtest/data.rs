//! The market data a backtest replays: archive partitions (recorded or imported)
//! or a seeded synthetic session, with the markets it covers and a digest that
//! says whether a rerun sees the same data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BacktestError;
use crate::data::archive::Archive;
use crate::data::book::BookState;
use crate::data::books::Books;
use crate::data::quality::QualityConfig;
use crate::data::update::{FeedUpdate, Source};
use crate::engine::MarketSpec;
use crate::model::time::parse_day;
use crate::model::{ConditionId, MarketEvent, Price, Size, TokenId};
use crate::venue::sim::generator::{Generator, GeneratorConfig};

/// Where a run's market data comes from; recorded in the result so it can be rerun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataSpec {
    Archive {
        dir: PathBuf,
    },
    Synthetic {
        seed: u64,
        markets: u32,
        step_s: u64,
    },
}

/// A time window `[start, end)` in UTC days (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

impl Window {
    /// The window's bounds in epoch milliseconds, checked.
    pub fn bounds_ms(&self) -> Result<(u64, u64), BacktestError> {
        let day = |flag: &str, d: &str| {
            parse_day(d)
                .and_then(|ms| u64::try_from(ms).ok())
                .ok_or_else(|| BacktestError::Input(format!("{flag} {d}: not a YYYY-MM-DD day")))
        };
        let (start, end) = (day("--start", &self.start)?, day("--end", &self.end)?);
        if end <= start {
            return Err(BacktestError::Input(format!(
                "--end {} must be after --start {}",
                self.end, self.start
            )));
        }
        Ok((start, end))
    }
}

/// Loaded market data, shareable between the runs of a sweep.
#[derive(Debug, Clone)]
pub struct MarketData {
    pub markets: Vec<MarketSpec>,
    pub updates: Arc<Vec<FeedUpdate>>,
    /// Human description (days or generator settings).
    pub source: String,
    /// SHA-256 over what was replayed; equal digests mean equal inputs.
    pub digest: String,
}

impl MarketData {
    /// Loads `spec` over `window`.
    pub async fn load(spec: &DataSpec, window: &Window) -> Result<MarketData, BacktestError> {
        let (start_ms, end_ms) = window.bounds_ms()?;
        match spec {
            DataSpec::Synthetic {
                seed,
                markets,
                step_s,
            } => Ok(synthetic(*seed, *markets, *step_s, start_ms, end_ms)),
            DataSpec::Archive { dir } => from_archive(dir, start_ms, end_ms).await,
        }
    }

    /// Only the markets named by `selectors` (a condition id, or text found in the
    /// question, case-insensitive), with the events of the others dropped; no
    /// selector keeps everything.
    pub fn only(self, selectors: &[String]) -> Result<MarketData, BacktestError> {
        if selectors.is_empty() {
            return Ok(self);
        }
        let chosen = |m: &MarketSpec, sel: &str| m.matches(sel);
        for sel in selectors {
            if !self.markets.iter().any(|m| chosen(m, sel)) {
                return Err(BacktestError::Input(format!(
                    "--markets {sel}: no market in the data matches (by condition id or question)"
                )));
            }
        }
        let markets: Vec<MarketSpec> = self
            .markets
            .into_iter()
            .filter(|m| selectors.iter().any(|s| chosen(m, s)))
            .collect();
        let kept = |c: &ConditionId| markets.iter().any(|m| &m.condition == c);
        let updates: Vec<FeedUpdate> = self
            .updates
            .iter()
            .filter_map(|u| {
                let events: Vec<MarketEvent> = u
                    .events
                    .iter()
                    .filter(|e| kept(e.market()))
                    .cloned()
                    .collect();
                // Clock ticks (no events) stay: they are time, not data.
                (u.events.is_empty() || !events.is_empty()).then(|| FeedUpdate {
                    events,
                    ..u.clone()
                })
            })
            .collect();
        Ok(MarketData {
            digest: digest_of(&updates),
            source: format!("{} markets {}", self.source, selectors.join(",")),
            updates: Arc::new(updates),
            markets,
        })
    }

    /// The data of a run over `window` restricted to `markets`: loaded for the
    /// window itself, or, when the run was cut from a longer range
    /// (walk-forward), loaded for `range`, restricted and sliced, so a rerun sees
    /// exactly what the run saw.
    pub async fn for_run(
        spec: &DataSpec,
        window: &Window,
        range: Option<&Window>,
        markets: &[String],
    ) -> Result<MarketData, BacktestError> {
        match range {
            None => MarketData::load(spec, window).await?.only(markets),
            Some(range) => {
                let (start, end) = window.bounds_ms()?;
                Ok(MarketData::load(spec, range)
                    .await?
                    .only(markets)?
                    .slice(start, end))
            }
        }
    }

    /// The updates whose receive time falls in `[start_ms, end_ms)`, for windows
    /// cut from one loaded range (walk-forward). The window opens with a snapshot
    /// of every book as the updates before it left it, so a strategy starting
    /// mid-range sees the same market a strategy running through would.
    pub fn slice(&self, start_ms: u64, end_ms: u64) -> MarketData {
        let mut books = Books::new(QualityConfig::default());
        let mut outputs = Vec::new();
        let mut resolved: Vec<MarketEvent> = Vec::new();
        for u in self.updates.iter().take_while(|u| u.received_ms < start_ms) {
            for e in &u.events {
                books.apply(e, u.received_ms, &mut outputs);
                if matches!(e, MarketEvent::Resolved { .. }) {
                    resolved.push(e.clone());
                }
            }
            outputs.clear();
        }
        let mut opening: Vec<MarketEvent> = Vec::new();
        for m in &self.markets {
            for (token, _) in &m.tokens {
                if let Some(b) = books.book(token).filter(|b| b.state() == BookState::Live) {
                    let (bids, asks) = b.levels();
                    opening.push(MarketEvent::Book {
                        token: token.clone(),
                        market: m.condition.clone(),
                        ts_ms: start_ms,
                        bids,
                        asks,
                        hash: None,
                        tick: b.tick(),
                    });
                }
            }
        }
        // Markets that resolved before the window stay resolved in it.
        opening.extend(resolved);
        let mut updates = Vec::new();
        if !opening.is_empty() {
            updates.push(FeedUpdate {
                received_ms: start_ms,
                source: Source::Rest,
                raw: String::new(),
                events: opening,
                errors: Vec::new(),
            });
        }
        updates.extend(
            self.updates
                .iter()
                .filter(|u| u.received_ms >= start_ms && u.received_ms < end_ms)
                .cloned(),
        );
        MarketData {
            markets: self.markets.clone(),
            digest: digest_of(&updates),
            updates: Arc::new(updates),
            source: format!(
                "{} window {} → {}",
                self.source,
                crate::model::time::utc_day(i64::try_from(start_ms).unwrap_or(0)),
                crate::model::time::utc_day(i64::try_from(end_ms).unwrap_or(0)),
            ),
        }
    }
}

/// Digest of the updates as replayed: receive time and the events.
fn digest_of(updates: &[FeedUpdate]) -> String {
    let mut h = Sha256::new();
    for u in updates {
        h.update(u.received_ms.to_le_bytes());
        if u.raw.is_empty() {
            // Synthetic updates carry no raw text; their debug form is exact.
            h.update(format!("{:?}", u.events).as_bytes());
        } else {
            // The raw payload decides the events; their count says whether a
            // market filter dropped some.
            h.update(u.raw.as_bytes());
            h.update(u.events.len().to_le_bytes());
        }
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

async fn from_archive(dir: &Path, start_ms: u64, end_ms: u64) -> Result<MarketData, BacktestError> {
    let archive = Archive::open(dir).await?;
    let mut updates = Vec::new();
    let mut days = Vec::new();
    for p in archive.list().await? {
        let Some(ms) = parse_day(&p.day).and_then(|ms| u64::try_from(ms).ok()) else {
            continue;
        };
        if ms >= start_ms && ms < end_ms {
            updates.extend(archive.replay(&p.day).await?);
            days.push(p.day);
        }
    }
    if updates.is_empty() {
        return Err(BacktestError::Input(format!(
            "no archive partition in {} between {} and {} (record or import some, or use --synthetic)",
            dir.display(),
            crate::model::time::utc_day(i64::try_from(start_ms).unwrap_or(0)),
            crate::model::time::utc_day(i64::try_from(end_ms).unwrap_or(0)),
        )));
    }
    // The look-ahead guard: the engine must see updates in receive order.
    updates.sort_by_key(|u| u.received_ms);
    // The venue's listing where the recording kept it (its order too: the live
    // session's instrument ids follow it); inferred from the data otherwise.
    let listed = archive.markets().await?;
    let inferred = markets_of(&updates);
    let mut markets: Vec<MarketSpec> = listed
        .iter()
        .filter(|m| inferred.iter().any(|i| i.condition == m.condition))
        .map(MarketSpec::from)
        .collect();
    markets.extend(
        inferred
            .into_iter()
            .filter(|i| !listed.iter().any(|m| m.condition == i.condition)),
    );
    if markets.is_empty() {
        return Err(BacktestError::Input(format!(
            "the archive days {} hold no binary market",
            days.join(",")
        )));
    }
    Ok(MarketData {
        markets,
        digest: digest_of(&updates),
        updates: Arc::new(updates),
        source: format!("archive {} days {}", dir.display(), days.join(",")),
    })
}

/// Markets seen in a recording: tokens grouped by condition, outcomes from
/// `new_market` events when present, ticks from the books.
pub fn markets_of(updates: &[FeedUpdate]) -> Vec<MarketSpec> {
    let mut tokens: BTreeMap<ConditionId, Vec<TokenId>> = BTreeMap::new();
    let mut outcomes: BTreeMap<ConditionId, Vec<String>> = BTreeMap::new();
    let mut ticks: BTreeMap<TokenId, Price> = BTreeMap::new();
    for e in updates.iter().flat_map(|u| &u.events) {
        match e {
            MarketEvent::Book {
                token,
                market,
                tick,
                ..
            } => {
                let list = tokens.entry(market.clone()).or_default();
                if !list.contains(token) {
                    list.push(token.clone());
                }
                if let Some(t) = tick {
                    ticks.insert(token.clone(), *t);
                }
            }
            MarketEvent::NewMarket {
                market,
                tokens: t,
                outcomes: o,
                ..
            } if t.len() == 2 => {
                tokens.insert(market.clone(), t.clone());
                outcomes.insert(market.clone(), o.clone());
            }
            _ => {}
        }
    }
    tokens
        .into_iter()
        .filter(|(_, t)| t.len() == 2)
        .map(|(condition, t)| {
            let names = outcomes
                .get(&condition)
                .cloned()
                .unwrap_or_else(|| vec!["Yes".into(), "No".into()]);
            MarketSpec {
                slug: String::new(),
                question: condition.to_string(),
                tick: ticks
                    .get(&t[0])
                    .copied()
                    .unwrap_or(Price::new(10_000).unwrap_or(Price::ZERO)),
                // Recordings do not carry the minimum size; Polymarket's usual one.
                min_size: Size::from_micros(5_000_000),
                tokens: [
                    (t[0].clone(), names.first().cloned().unwrap_or_default()),
                    (t[1].clone(), names.get(1).cloned().unwrap_or_default()),
                ],
                condition,
                fees: crate::execution::fees::FeeSchedule::FREE,
            }
        })
        .collect()
}

/// A seeded synthetic session over `[start_ms, end_ms)`, resolving at the end.
pub fn synthetic(seed: u64, markets: u32, step_s: u64, start_ms: u64, end_ms: u64) -> MarketData {
    let step_s = step_s.max(1);
    // Steps inside the window; the last one resolves every market.
    let steps = (end_ms.saturating_sub(start_ms) / 1_000 / step_s)
        .saturating_sub(1)
        .max(1);
    let mut g = Generator::new(
        GeneratorConfig {
            seed,
            markets,
            step_ms: step_s * 1_000,
            resolve_after: Some(steps),
            ..GeneratorConfig::default()
        },
        start_ms,
    );
    let specs = g
        .markets()
        .into_iter()
        .enumerate()
        .map(|(i, m)| MarketSpec {
            slug: m.slug,
            condition: m.condition,
            question: m.question,
            tokens: m.tokens,
            tick: m.tick,
            min_size: m.min_size,
            // As `pqap sim` lists them: every other market charges the taker fee.
            fees: if i % 2 == 1 {
                crate::execution::fees::FeeSchedule {
                    rate_millionths: 20_000,
                    exponent: 1,
                    taker_only: true,
                    rebate_millionths: 200_000,
                }
            } else {
                crate::execution::fees::FeeSchedule::FREE
            },
        })
        .collect();
    let update = |received_ms: u64, events: Vec<MarketEvent>| FeedUpdate {
        received_ms,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events,
        errors: Vec::new(),
    };
    let mut updates = vec![update(
        start_ms,
        g.tokens().iter().filter_map(|t| g.book(t)).collect(),
    )];
    for i in 1..=steps {
        let events = g.step();
        if !events.is_empty() {
            updates.push(update(start_ms + i * step_s * 1_000, events));
        }
    }
    let source = format!("synthetic seed {seed} markets {markets} step {step_s}s");
    MarketData {
        markets: specs,
        digest: hex::encode(Sha256::digest(source.as_bytes())),
        updates: Arc::new(updates),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_sessions_are_seeded_and_end_before_the_window_does() {
        let start = 1_767_225_600_000; // 2026-01-01
        let end = start + 3_600_000;
        let a = synthetic(3, 2, 10, start, end);
        let b = synthetic(3, 2, 10, start, end);
        assert_eq!(a.updates.len(), b.updates.len());
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.markets.len(), 2);
        assert!(a.updates.iter().all(|u| u.received_ms < end));
        assert!(
            a.updates
                .windows(2)
                .all(|w| w[0].received_ms <= w[1].received_ms)
        );
        // The last step resolves every market.
        let resolved = a
            .updates
            .iter()
            .flat_map(|u| &u.events)
            .filter(|e| matches!(e, MarketEvent::Resolved { .. }))
            .count();
        assert_eq!(resolved, 2);
        let half = a.slice(start, start + 1_800_000);
        assert!(half.updates.len() < a.updates.len());
        assert_ne!(half.digest, a.digest);
        // A later window opens with a snapshot of all four books.
        let one = synthetic(3, 2, 10, start, end)
            .only(&["market 1".to_string()])
            .unwrap();
        assert_eq!(one.markets.len(), 1);
        assert!(one.markets[0].question.contains("market 1"));
        assert!(
            one.updates
                .iter()
                .flat_map(|u| &u.events)
                .all(|e| e.market() == &one.markets[0].condition)
        );
        assert_ne!(one.digest, a.digest);
        let e = synthetic(3, 2, 10, start, end)
            .only(&["nowhere".to_string()])
            .unwrap_err();
        assert!(e.to_string().contains("--markets nowhere"), "{e}");
        let later = a.slice(start + 1_800_000, end);
        let opening = &later.updates[0];
        assert_eq!(opening.received_ms, start + 1_800_000);
        assert_eq!(
            opening
                .events
                .iter()
                .filter(|e| matches!(e, MarketEvent::Book { .. }))
                .count(),
            4
        );
        assert_eq!(
            later.updates.len(),
            a.updates.len() - half.updates.len() + 1
        );
    }

    #[test]
    fn windows_are_checked() {
        let w = |s: &str, e: &str| Window {
            start: s.into(),
            end: e.into(),
        };
        assert!(w("2026-01-01", "2026-01-02").bounds_ms().is_ok());
        let e = w("2026-01-02", "2026-01-01").bounds_ms().unwrap_err();
        assert!(e.to_string().contains("must be after"), "{e}");
        let e = w("2026-1-1", "2026-01-02").bounds_ms().unwrap_err();
        assert!(e.to_string().contains("--start 2026-1-1"), "{e}");
    }
}
