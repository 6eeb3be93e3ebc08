//! The market data a backtest replays: archive days (recorded or imported) or
//! a seeded synthetic session, with the markets it covers, the cuts a run makes
//! (markets, window) and a digest that says whether a rerun sees the same data.

mod archive;
mod replay;
mod synthetic;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BacktestError;
use crate::data::update::FeedUpdate;
use crate::model::ConditionId;
use crate::model::time::{parse_day, utc_day};
use crate::venue::MarketSpec;

pub use replay::Replay;
pub use synthetic::synthetic;

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

/// Where the updates of a [`MarketData`] come from.
#[derive(Debug, Clone)]
enum Feed {
    /// Held in memory: synthetic sessions, and archives read from their raw
    /// partitions (the general path).
    Memory(Arc<Vec<FeedUpdate>>),
    /// Day files streamed a row group at a time: the first day opens with the
    /// books the day before it closed with.
    Days {
        opening: Option<Arc<FeedUpdate>>,
        files: Arc<Vec<PathBuf>>,
        payloads: u64,
    },
}

/// Market data a run replays, shareable between the runs of a sweep: where
/// the updates come from, which markets they are cut to and which window.
#[derive(Debug, Clone)]
pub struct MarketData {
    pub markets: Vec<MarketSpec>,
    /// Human description (days or generator settings).
    pub source: String,
    /// SHA-256 over what is replayed; equal digests mean equal inputs, whichever
    /// path (day files or raw partitions) reads them.
    pub digest: String,
    /// Whether the data carries its own clock (a recorded paper session's
    /// ticks, as updates without messages).
    pub recorded_clock: bool,
    feed: Feed,
    /// Only these markets' messages are replayed (`--markets`).
    keep: Option<Arc<BTreeSet<ConditionId>>>,
    /// `[start, end)` in ms when the run is a window cut from a longer range.
    window: Option<(u64, u64)>,
}

impl MarketData {
    /// Loads `spec` over `window`; an archive is read from its day files
    /// (rebuilt first where missing or stale), streamed as the run goes.
    pub async fn load(spec: &DataSpec, window: &Window) -> Result<MarketData, BacktestError> {
        let (start_ms, end_ms) = window.bounds_ms()?;
        match spec {
            DataSpec::Synthetic {
                seed,
                markets,
                step_s,
            } => Ok(synthetic(*seed, *markets, *step_s, start_ms, end_ms)),
            DataSpec::Archive { dir } => archive::day_files(dir, start_ms, end_ms).await,
        }
    }

    /// As [`MarketData::load`], but an archive is read whole from its raw
    /// partitions into memory: the general path the day files must agree with.
    pub async fn load_raw(spec: &DataSpec, window: &Window) -> Result<MarketData, BacktestError> {
        let (start_ms, end_ms) = window.bounds_ms()?;
        match spec {
            DataSpec::Archive { dir } => archive::raw_partitions(dir, start_ms, end_ms).await,
            DataSpec::Synthetic { .. } => MarketData::load(spec, window).await,
        }
    }

    fn new(
        markets: Vec<MarketSpec>,
        source: String,
        digest: String,
        recorded_clock: bool,
        feed: Feed,
    ) -> MarketData {
        MarketData {
            markets,
            source,
            digest,
            recorded_clock,
            feed,
            keep: None,
            window: None,
        }
    }

    /// Payloads the feed holds before any market or window cut (for progress).
    pub fn payloads(&self) -> u64 {
        match &self.feed {
            Feed::Memory(updates) => updates.len() as u64,
            Feed::Days {
                opening, payloads, ..
            } => payloads + u64::from(opening.is_some()),
        }
    }

    /// The updates in replay order, with the market and window cuts applied.
    pub fn replay(&self) -> Replay<'_> {
        Replay::new(self)
    }

    /// Only the markets named by `selectors` (a condition id, or text found in the
    /// question, case-insensitive), with the messages of the others dropped; no
    /// selector keeps everything.
    pub fn only(mut self, selectors: &[String]) -> Result<MarketData, BacktestError> {
        if selectors.is_empty() {
            return Ok(self);
        }
        for sel in selectors {
            if !self.markets.iter().any(|m| m.matches(sel)) {
                return Err(BacktestError::Input(format!(
                    "--markets {sel}: no market in the data matches (by condition id or question)"
                )));
            }
        }
        self.markets
            .retain(|m| selectors.iter().any(|s| m.matches(s)));
        let kept: BTreeSet<ConditionId> =
            self.markets.iter().map(|m| m.condition.clone()).collect();
        let mut h = Sha256::new();
        h.update(self.digest.as_bytes());
        h.update(b"\nmarkets");
        for c in &kept {
            h.update(b" ");
            h.update(c.as_str().as_bytes());
        }
        self.digest = hex::encode(h.finalize());
        self.source = format!("{} markets {}", self.source, selectors.join(","));
        // Cuts compose: a second cut keeps what both keep.
        let kept = match self.keep.take() {
            Some(before) => kept.intersection(&before).cloned().collect(),
            None => kept,
        };
        self.keep = Some(Arc::new(kept));
        Ok(self)
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
    /// of every book as the updates before it left it (and the markets resolved
    /// by then), so a strategy starting mid-range sees the same market a
    /// strategy running through would.
    pub fn slice(&self, start_ms: u64, end_ms: u64) -> MarketData {
        let (start_ms, end_ms) = match self.window {
            Some((s, e)) => (start_ms.max(s), end_ms.min(e)),
            None => (start_ms, end_ms),
        };
        let mut h = Sha256::new();
        h.update(self.digest.as_bytes());
        h.update(b"\nwindow ");
        h.update(start_ms.to_le_bytes());
        h.update(end_ms.to_le_bytes());
        MarketData {
            digest: hex::encode(h.finalize()),
            source: format!(
                "{} window {} → {}",
                self.source,
                utc_day(i64::try_from(start_ms).unwrap_or(0)),
                utc_day(i64::try_from(end_ms).unwrap_or(0)),
            ),
            window: Some((start_ms, end_ms)),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MarketEvent;

    fn updates(d: &MarketData) -> Vec<FeedUpdate> {
        let mut r = d.replay();
        let mut out = Vec::new();
        while r.advance().unwrap() {
            out.push(r.current().clone());
        }
        out
    }

    #[test]
    fn synthetic_sessions_are_seeded_and_end_before_the_window_does() {
        let start = 1_767_225_600_000; // 2026-01-01
        let end = start + 3_600_000;
        let a = synthetic(3, 2, 10, start, end);
        let b = synthetic(3, 2, 10, start, end);
        let (a_updates, b_updates) = (updates(&a), updates(&b));
        assert_eq!(a_updates, b_updates);
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.markets.len(), 2);
        assert!(a_updates.iter().all(|u| u.received_ms < end));
        assert!(
            a_updates
                .windows(2)
                .all(|w| w[0].received_ms <= w[1].received_ms)
        );
        // The last step resolves every market.
        let resolved = a_updates
            .iter()
            .flat_map(|u| &u.events)
            .filter(|e| matches!(e, MarketEvent::Resolved { .. }))
            .count();
        assert_eq!(resolved, 2);
        let half = a.slice(start, start + 1_800_000);
        let half_updates = updates(&half);
        assert!(half_updates.len() < a_updates.len());
        assert_ne!(half.digest, a.digest);
        // A later window opens with a snapshot of all four books.
        let one = synthetic(3, 2, 10, start, end)
            .only(&["market 1".to_string()])
            .unwrap();
        assert_eq!(one.markets.len(), 1);
        assert!(one.markets[0].question.contains("market 1"));
        assert!(
            updates(&one)
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
        let later_updates = updates(&later);
        let opening = &later_updates[0];
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
            later_updates.len(),
            a_updates.len() - half_updates.len() + 1
        );
        // Cuts compose: a window of one market opens with that market's books.
        let one_later = synthetic(3, 2, 10, start, end)
            .only(&["market 1".to_string()])
            .unwrap()
            .slice(start + 1_800_000, end);
        let first = &updates(&one_later)[0];
        assert_eq!(first.events.len(), 2);
        assert_ne!(one_later.digest, later.digest);
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
