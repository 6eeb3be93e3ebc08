//! A run's data from an archive, read two ways that must agree: streamed from
//! the day files (the fast path), or loaded whole from the raw partitions (the
//! general path). Both open the first day with the books the day before closed
//! with, and both name the data by the same digest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Feed, MarketData};
use crate::backtest::BacktestError;
use crate::data::archive::Archive;
use crate::data::archive::columnar::{DayRows, opening_update};
use crate::data::seen::MarketsSeen;
use crate::data::update::FeedUpdate;
use crate::model::time::{parse_day, utc_day};
use crate::model::{Price, Size};
use crate::venue::MarketSpec;

/// The archive's days inside `[start_ms, end_ms)`, ascending.
async fn days_in(
    archive: &Archive,
    dir: &Path,
    start_ms: u64,
    end_ms: u64,
) -> Result<Vec<String>, BacktestError> {
    let mut days = Vec::new();
    for p in archive.list().await? {
        let Some(ms) = parse_day(&p.day).and_then(|ms| u64::try_from(ms).ok()) else {
            continue;
        };
        if ms >= start_ms && ms < end_ms {
            days.push(p.day);
        }
    }
    days.sort();
    if days.is_empty() {
        return Err(BacktestError::Input(format!(
            "no archive partition in {} between {} and {} (record or import some, or use --synthetic)",
            dir.display(),
            utc_day(i64::try_from(start_ms).unwrap_or(0)),
            utc_day(i64::try_from(end_ms).unwrap_or(0)),
        )));
    }
    Ok(days)
}

/// The digest of archive data: each day's digest (as its day file states it),
/// then what the first day opened with.
fn digest(days: &[(String, String)], opening: Option<&FeedUpdate>) -> String {
    let mut h = Sha256::new();
    h.update(b"pqap archive days v2\n");
    for (day, digest) in days {
        h.update(format!("{day} {digest}\n").as_bytes());
    }
    h.update(b"opening ");
    if let Some(o) = opening {
        let mut rows = DayRows::digest_only();
        rows.push(o);
        h.update(rows.digest().as_bytes());
    }
    hex::encode(h.finalize())
}

/// The markets of the run: the venue's listing where the recording kept it
/// (its order too: the live session's instrument ids follow it), inferred from
/// the data otherwise.
async fn markets(
    archive: &Archive,
    seen: &MarketsSeen,
    days: &[String],
) -> Result<Vec<MarketSpec>, BacktestError> {
    let listed = archive.markets().await?;
    let inferred = seen.binary();
    let mut markets: Vec<MarketSpec> = listed
        .iter()
        .filter(|m| inferred.iter().any(|i| i.condition == m.condition))
        .map(MarketSpec::from)
        .collect();
    markets.extend(
        inferred
            .into_iter()
            .filter(|i| !listed.iter().any(|m| m.condition == i.condition))
            .map(|i| MarketSpec {
                slug: String::new(),
                question: i.condition.to_string(),
                tick: i.tick.unwrap_or(Price::new(10_000).unwrap_or(Price::ZERO)),
                // Recordings do not carry the minimum size; Polymarket's usual one.
                min_size: Size::from_micros(5_000_000),
                tokens: i.tokens,
                condition: i.condition,
                neg_risk: false,
                fees: crate::execution::fees::FeeSchedule::FREE,
            }),
    );
    if markets.is_empty() {
        return Err(BacktestError::Input(format!(
            "the archive days {} hold no binary market",
            days.join(",")
        )));
    }
    Ok(markets)
}

fn source(dir: &Path, days: &[String]) -> String {
    format!("archive {} days {}", dir.display(), days.join(","))
}

/// The days of `dir` in the window, streamed from their day files (rebuilt
/// first where missing or stale).
pub(super) async fn day_files(
    dir: &Path,
    start_ms: u64,
    end_ms: u64,
) -> Result<MarketData, BacktestError> {
    let archive = Archive::open(dir).await?;
    let days = days_in(&archive, dir, start_ms, end_ms).await?;
    let metas = archive.ensure_day_files(&days).await?;
    let first_day_ms = parse_day(&days[0])
        .and_then(|ms| u64::try_from(ms).ok())
        .unwrap_or(start_ms);
    let opening = metas
        .first()
        .and_then(|m| opening_update(m.opening.clone(), first_day_ms));
    let mut seen = MarketsSeen::default();
    for e in opening.iter().flat_map(|o| &o.events) {
        seen.observe(e);
    }
    for m in &metas {
        seen.merge(&m.markets);
    }
    let digests: Vec<(String, String)> = metas
        .iter()
        .map(|m| (m.day.clone(), m.digest.clone()))
        .collect();
    let files: Vec<PathBuf> = days.iter().map(|d| archive.day_file_path(d)).collect();
    Ok(MarketData::new(
        markets(&archive, &seen, &days).await?,
        source(dir, &days),
        digest(&digests, opening.as_ref()),
        metas.iter().any(|m| m.counts.clock_ticks > 0),
        Feed::Days {
            payloads: metas.iter().map(|m| m.counts.payloads).sum(),
            opening: opening.map(Arc::new),
            files: Arc::new(files),
        },
    ))
}

/// The days of `dir` in the window, loaded whole from their raw partitions.
pub(super) async fn raw_partitions(
    dir: &Path,
    start_ms: u64,
    end_ms: u64,
) -> Result<MarketData, BacktestError> {
    let archive = Archive::open(dir).await?;
    let days = days_in(&archive, dir, start_ms, end_ms).await?;
    let opening = archive.opening(&days[0]).await?;
    let opening = opening_update(opening.state, opening.at_ms);
    let mut updates: Vec<FeedUpdate> = opening.iter().cloned().collect();
    let mut digests = Vec::with_capacity(days.len());
    for day in &days {
        let replayed = archive.replay(day).await?;
        let mut rows = DayRows::digest_only();
        replayed.iter().for_each(|u| rows.push(u));
        digests.push((day.clone(), rows.digest()));
        updates.extend(replayed);
    }
    // The look-ahead guard: the engine must see updates in receive order.
    updates.sort_by_key(|u| u.received_ms);
    let mut seen = MarketsSeen::default();
    for e in updates.iter().flat_map(|u| &u.events) {
        seen.observe(e);
    }
    Ok(MarketData::new(
        markets(&archive, &seen, &days).await?,
        source(dir, &days),
        digest(&digests, opening.as_ref()),
        updates.iter().any(|u| u.events.is_empty()),
        Feed::Memory(Arc::new(updates)),
    ))
}
