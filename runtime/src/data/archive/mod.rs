//! The market-data archive: one SQLite file per UTC day holding every payload as
//! received and the events decoded from it, an index of partitions and tokens,
//! zstd compaction of old days, replay, quality reports and imports.

mod check;
pub mod columnar;
mod compact;
mod days;
mod import;
mod markets;
mod recorder;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

pub use check::QualityReport;
pub use days::DayFile;
pub use import::ImportReport;
pub use markets::MarketMeta;
pub use recorder::Recorder;

use super::update::{FeedUpdate, Source};
use crate::model::time::parse_day;

/// Why an archive operation failed; each names the file or day involved.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("archive database {path}: {source}")]
    Sql { path: PathBuf, source: sqlx::Error },
    #[error("`{0}` is not a day (expected YYYY-MM-DD)")]
    BadDay(String),
    #[error("no partition for {0} in the archive")]
    NoPartition(String),
    #[error("{0}")]
    Refused(String),
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

pub(crate) fn sql_err(path: &Path) -> impl FnOnce(sqlx::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

/// One day in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    pub day: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub payloads: i64,
    /// Venue messages, and of those book snapshots, level changes and trades.
    pub messages: i64,
    pub books: i64,
    pub level_changes: i64,
    pub trades: i64,
    pub tokens: i64,
    pub compressed: bool,
    pub bytes: u64,
}

/// Opens a SQLite file with WAL and the given migrations.
pub(crate) async fn open_db(
    path: &Path,
    migrate: bool,
    index: bool,
) -> Result<SqlitePool, ArchiveError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| io_err(path, e))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL cannot corrupt the file; a power cut may lose the last
        // batches, which a recording can afford and an fsync per batch cannot.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(10))
        // Streaming a day is one long statement by design, not a slow query.
        .log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(1));
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .map_err(sql_err(path))?;
    if migrate {
        let result = if index {
            sqlx::migrate!("./migrations/archive_index")
                .run(&pool)
                .await
        } else {
            sqlx::migrate!("./migrations/archive").run(&pool).await
        };
        result.map_err(|e| io_err(path, format!("migrations: {e}")))?;
    }
    Ok(pool)
}

/// The archive directory.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    index: SqlitePool,
}

fn source_text(s: Source) -> (&'static str, Option<i64>) {
    match s {
        Source::Ws { shard } => ("ws", Some(i64::from(shard))),
        Source::Rest => ("rest", None),
    }
}

impl Archive {
    /// Opens (creating) the archive in `dir`.
    pub async fn open(dir: &Path) -> Result<Archive, ArchiveError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let index = open_db(&dir.join("index.sqlite"), true, true).await?;
        Ok(Archive {
            dir: dir.to_path_buf(),
            index,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn index(&self) -> &SqlitePool {
        &self.index
    }

    pub(crate) fn partition_path(&self, day: &str) -> PathBuf {
        self.dir.join(format!("{day}.sqlite"))
    }

    pub(crate) fn compressed_path(&self, day: &str) -> PathBuf {
        self.dir.join(format!("{day}.sqlite.zst"))
    }

    /// A recorder writing into this archive.
    pub fn recorder(&self) -> Recorder {
        Recorder::new(self.clone())
    }

    /// Every partition, oldest first.
    pub async fn list(&self) -> Result<Vec<PartitionInfo>, ArchiveError> {
        let path = self.dir.join("index.sqlite");
        let rows = sqlx::query(
            "SELECT p.day, p.first_ms, p.last_ms, p.payloads, p.events, p.books, p.level_changes, \
             p.trades, p.compressed, \
             (SELECT COUNT(*) FROM partition_tokens t WHERE t.day = p.day) AS tokens \
             FROM partitions p ORDER BY p.day",
        )
        .fetch_all(&self.index)
        .await
        .map_err(sql_err(&path))?;
        let mut out = Vec::new();
        for r in rows {
            let day: String = r.try_get("day").map_err(sql_err(&path))?;
            let compressed: i64 = r.try_get("compressed").map_err(sql_err(&path))?;
            let file = if compressed != 0 {
                self.compressed_path(&day)
            } else {
                self.partition_path(&day)
            };
            out.push(PartitionInfo {
                bytes: std::fs::metadata(&file).map_or(0, |m| m.len()),
                first_ms: r.try_get("first_ms").map_err(sql_err(&path))?,
                last_ms: r.try_get("last_ms").map_err(sql_err(&path))?,
                payloads: r.try_get("payloads").map_err(sql_err(&path))?,
                messages: r.try_get("events").map_err(sql_err(&path))?,
                books: r.try_get("books").map_err(sql_err(&path))?,
                level_changes: r.try_get("level_changes").map_err(sql_err(&path))?,
                trades: r.try_get("trades").map_err(sql_err(&path))?,
                tokens: r.try_get("tokens").map_err(sql_err(&path))?,
                compressed: compressed != 0,
                day,
            });
        }
        Ok(out)
    }

    /// Checks `day` names a partition we have.
    async fn partition(&self, day: &str) -> Result<PartitionInfo, ArchiveError> {
        if parse_day(day).is_none() {
            return Err(ArchiveError::BadDay(day.to_string()));
        }
        self.list()
            .await?
            .into_iter()
            .find(|p| p.day == day)
            .ok_or_else(|| ArchiveError::NoPartition(day.to_string()))
    }

    /// Every stored update of a day in replay order, as the feed produced
    /// them: socket frames decoded again from their text, other payloads with
    /// the messages stored for them.
    pub async fn replay(&self, day: &str) -> Result<Vec<FeedUpdate>, ArchiveError> {
        let mut out = Vec::new();
        self.stream_payloads(day, true, |u| {
            out.push(u);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Runs the quality checks over a day, from the books the previous day
    /// closed with, and compares the day file with the raw partition.
    pub async fn check(
        &self,
        day: &str,
        config: super::quality::QualityConfig,
    ) -> Result<QualityReport, ArchiveError> {
        self.partition(day).await?;
        let opening = self.opening(day).await?;
        let mut check = check::DayCheck::new(config, opening.clone());
        self.stream_raw(day, |u| {
            check.observe(&u);
            Ok(())
        })
        .await?;
        let file = columnar::read_meta(&self.day_file_path(day)).ok().map(|m| {
            let opening = columnar::Opening {
                from_day: m.opening_from,
                state: m.opening,
                at_ms: opening.at_ms,
            };
            (m.digest, opening)
        });
        Ok(check.report(day, file))
    }

    /// A day as one session: the books the previous day closed with (when it
    /// is in the archive), then every stored update of the day.
    pub async fn replay_session(&self, day: &str) -> Result<Vec<FeedUpdate>, ArchiveError> {
        let opening = self.opening(day).await?;
        let mut out: Vec<FeedUpdate> = columnar::opening_update(opening.state, opening.at_ms)
            .into_iter()
            .collect();
        out.extend(self.replay(day).await?);
        Ok(out)
    }

    /// Compresses a finished day with zstd (see `compact`).
    pub async fn compact(&self, day: &str, today: &str) -> Result<u64, ArchiveError> {
        let info = self.partition(day).await?;
        if info.compressed {
            return Err(ArchiveError::Refused(format!("{day} is already compacted")));
        }
        if day >= today {
            return Err(ArchiveError::Refused(format!(
                "{day} may still be recording; only days before {today} are compacted"
            )));
        }
        compact::compact(self, day).await
    }

    /// Imports a JSONL file of venue messages (see `import`).
    pub async fn import_ws_jsonl(&self, path: &Path) -> Result<ImportReport, ArchiveError> {
        import::ws_jsonl(self, path).await
    }

    /// Imports a `/prices-history` JSON (for `token`) or a prices CSV.
    pub async fn import_prices(
        &self,
        path: &Path,
        token: Option<&str>,
    ) -> Result<ImportReport, ArchiveError> {
        import::prices(self, path, token).await
    }

    pub(crate) fn source_text(s: Source) -> (&'static str, Option<i64>) {
        source_text(s)
    }
}

#[cfg(test)]
mod tests;
