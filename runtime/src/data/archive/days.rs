//! Day files kept current: a day file is current when it covers every payload
//! of its raw partition and opens with the books the previous day's file closed
//! with. Stale or missing day files are rebuilt from the raw partition, and a
//! rebuild carries forward into the days after it.

use std::path::PathBuf;

use futures_util::TryStreamExt;
use sqlx::Row;

use super::columnar::{DayMeta, DayWriter, Opening, read_meta};
use super::{Archive, ArchiveError, compact, io_err, open_db, sql_err};
use crate::data::update::{FeedUpdate, Source};
use crate::model::time::{parse_day, utc_day};

const DAY_MS: u64 = 86_400_000;

/// Whether a day's file can be replayed as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayFile {
    Missing,
    /// It exists but does not match the raw partition or the day before.
    Stale(String),
    Current(Box<DayMeta>),
}

/// The first millisecond of `day`.
pub(crate) fn day_start_ms(day: &str) -> Result<u64, ArchiveError> {
    parse_day(day)
        .and_then(|ms| u64::try_from(ms).ok())
        .ok_or_else(|| ArchiveError::BadDay(day.to_string()))
}

/// The calendar day before `day`.
pub(crate) fn previous_day(day: &str) -> Result<String, ArchiveError> {
    let start = day_start_ms(day)?;
    Ok(utc_day(
        i64::try_from(start.saturating_sub(DAY_MS)).unwrap_or(0),
    ))
}

impl Archive {
    /// Where `day`'s file lives.
    pub fn day_file_path(&self, day: &str) -> PathBuf {
        self.dir.join(format!("{day}.events.parquet"))
    }

    /// Payloads the raw partition of `day` holds, if there is one.
    pub(super) async fn raw_payloads(&self, day: &str) -> Result<Option<u64>, ArchiveError> {
        let path = self.dir.join("index.sqlite");
        let n: Option<i64> = sqlx::query_scalar("SELECT payloads FROM partitions WHERE day = ?")
            .bind(day)
            .fetch_optional(&self.index)
            .await
            .map_err(sql_err(&path))?;
        Ok(n.map(|n| n.max(0) as u64))
    }

    /// The state of `day`'s file, judged against its raw partition and against
    /// `previous` (the previous day's file, when that day is in the archive).
    async fn judge(&self, day: &str, previous: Option<&DayMeta>) -> Result<DayFile, ArchiveError> {
        let path = self.day_file_path(day);
        if !path.exists() {
            return Ok(DayFile::Missing);
        }
        let meta = match read_meta(&path) {
            Ok(m) => m,
            Err(e) => return Ok(DayFile::Stale(e.to_string())),
        };
        let raw = self.raw_payloads(day).await?.unwrap_or(0);
        if meta.counts.payloads != raw {
            return Ok(DayFile::Stale(format!(
                "the raw partition holds {raw} payloads, the day file {}",
                meta.counts.payloads
            )));
        }
        let expected = opening_from(day, previous)?;
        if meta.opening_from != expected.from_day || meta.opening != expected.state {
            return Ok(DayFile::Stale(
                "it does not open with the books the previous day closed with".into(),
            ));
        }
        Ok(DayFile::Current(Box::new(meta)))
    }

    /// The previous day's current file, if that day is in the archive
    /// (rebuilding it when it is stale; that day's own opening is taken as
    /// its file says).
    async fn previous_meta(&self, day: &str) -> Result<Option<DayMeta>, ArchiveError> {
        let prev = previous_day(day)?;
        if self.raw_payloads(&prev).await?.is_none() {
            return Ok(None);
        }
        let path = self.day_file_path(&prev);
        if let Ok(meta) = read_meta(&path)
            && meta.counts.payloads == self.raw_payloads(&prev).await?.unwrap_or(0)
        {
            return Ok(Some(meta));
        }
        let before = Box::pin(self.previous_meta(&prev)).await?;
        Ok(Some(self.rebuild(&prev, before.as_ref()).await?))
    }

    /// What `day` opens with: the previous day's closing books, if it has one.
    pub async fn opening(&self, day: &str) -> Result<Opening, ArchiveError> {
        let previous = self.previous_meta(day).await?;
        opening_from(day, previous.as_ref())
    }

    /// The state of `day`'s file.
    pub async fn day_file(&self, day: &str) -> Result<DayFile, ArchiveError> {
        let previous = self.previous_meta(day).await?;
        self.judge(day, previous.as_ref()).await
    }

    /// Current files for `days` (ascending), rebuilding what is missing or
    /// stale, in order, so each day opens as the rebuilt day before closed.
    pub async fn ensure_day_files(&self, days: &[String]) -> Result<Vec<DayMeta>, ArchiveError> {
        let mut out: Vec<DayMeta> = Vec::with_capacity(days.len());
        for day in days {
            let previous = match out.last() {
                Some(m) if previous_day(day)? == m.day => Some(m.clone()),
                _ => self.previous_meta(day).await?,
            };
            let meta = match self.judge(day, previous.as_ref()).await? {
                DayFile::Current(meta) => *meta,
                DayFile::Missing | DayFile::Stale(_) => {
                    self.rebuild(day, previous.as_ref()).await?
                }
            };
            out.push(meta);
        }
        Ok(out)
    }

    /// Rebuilds `day`'s file from its raw partition, then the following days'
    /// whose opening it changed.
    pub async fn reindex(&self, day: &str) -> Result<Vec<DayMeta>, ArchiveError> {
        let previous = self.previous_meta(day).await?;
        let mut built = vec![self.rebuild(day, previous.as_ref()).await?];
        let mut day = day.to_string();
        loop {
            let next = utc_day(i64::try_from(day_start_ms(&day)? + DAY_MS).unwrap_or(0));
            if self.raw_payloads(&next).await?.is_none() {
                break;
            }
            let prev = built.last().cloned();
            match self.judge(&next, prev.as_ref()).await? {
                DayFile::Current(_) => break,
                _ => built.push(self.rebuild(&next, prev.as_ref()).await?),
            }
            day = next;
        }
        Ok(built)
    }

    /// Rebuilds `day`'s file alone, opening as the previous day's file closes.
    pub async fn reindex_one(&self, day: &str) -> Result<DayMeta, ArchiveError> {
        let previous = self.previous_meta(day).await?;
        self.rebuild(day, previous.as_ref()).await
    }

    async fn rebuild(
        &self,
        day: &str,
        previous: Option<&DayMeta>,
    ) -> Result<DayMeta, ArchiveError> {
        let opening = opening_from(day, previous)?;
        let path = self.day_file_path(day);
        let mut writer = DayWriter::create(&path, day, opening)?;
        let result = self.stream_raw(day, |u| writer.push(&u)).await;
        match result {
            Ok(()) => {
                let meta = writer.finish(day_start_ms(day)? + DAY_MS)?;
                // Archives recorded before kinds were counted learn them here.
                let index = self.dir.join("index.sqlite");
                sqlx::query(
                    "UPDATE partitions SET books = ?, level_changes = ?, trades = ? WHERE day = ?",
                )
                .bind(meta.counts.books as i64)
                .bind(meta.counts.level_changes as i64)
                .bind(meta.counts.trades as i64)
                .bind(day)
                .execute(&self.index)
                .await
                .map_err(sql_err(&index))?;
                tracing::info!(day, payloads = meta.counts.payloads, "day file rebuilt");
                Ok(meta)
            }
            Err(e) => {
                writer.discard();
                Err(e)
            }
        }
    }

    /// Every stored payload of `day` in replay order, streamed (memory stays
    /// flat), without its text: socket frames decoded again from the raw
    /// payload (the truth; decode errors kept), other payloads with the
    /// messages stored for them.
    pub(crate) async fn stream_raw(
        &self,
        day: &str,
        f: impl FnMut(FeedUpdate) -> Result<(), ArchiveError>,
    ) -> Result<(), ArchiveError> {
        self.stream_payloads(day, false, f).await
    }

    /// As [`Archive::stream_raw`]; `keep_text` keeps each payload's text.
    pub(crate) async fn stream_payloads(
        &self,
        day: &str,
        keep_text: bool,
        mut f: impl FnMut(FeedUpdate) -> Result<(), ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let info = self.partition(day).await?;
        let (path, _guard) = if info.compressed {
            let tmp = compact::decompress_to_temp(&self.compressed_path(day))?;
            (tmp.path().to_path_buf(), Some(tmp))
        } else {
            (self.partition_path(day), None)
        };
        let pool = open_db(&path, false, false).await?;
        let mut rows = sqlx::query(
            "SELECT id, received_ms, source, shard, raw FROM payloads ORDER BY received_ms, id",
        )
        .fetch(&pool);
        while let Some(r) = rows.try_next().await.map_err(sql_err(&path))? {
            let id: i64 = r.try_get("id").map_err(sql_err(&path))?;
            let received_ms = r
                .try_get::<i64, _>("received_ms")
                .map_err(sql_err(&path))?
                .max(0) as u64;
            let source: String = r.try_get("source").map_err(sql_err(&path))?;
            let shard: Option<i64> = r.try_get("shard").map_err(sql_err(&path))?;
            let raw: &str = r.try_get("raw").map_err(sql_err(&path))?;
            let update = if source == "ws" && !raw.is_empty() {
                let shard = shard.unwrap_or(0).clamp(0, i64::from(u16::MAX)) as u16;
                let mut u = FeedUpdate::from_frame(received_ms, shard, raw.to_string())
                    .unwrap_or_else(|| FeedUpdate {
                        received_ms,
                        source: Source::Ws { shard },
                        raw: String::new(),
                        events: Vec::new(),
                        errors: Vec::new(),
                    });
                if !keep_text {
                    u.raw.clear();
                }
                u
            } else {
                let bodies: Vec<String> =
                    sqlx::query_scalar("SELECT body FROM events WHERE payload_id = ? ORDER BY id")
                        .bind(id)
                        .fetch_all(&pool)
                        .await
                        .map_err(sql_err(&path))?;
                let mut events = Vec::with_capacity(bodies.len());
                for body in bodies {
                    events.push(serde_json::from_str(&body).map_err(|err| {
                        io_err(&path, format!("event of payload {id} is unreadable: {err}"))
                    })?);
                }
                FeedUpdate {
                    received_ms,
                    source: if source == "ws" {
                        Source::Ws {
                            shard: shard.unwrap_or(0).clamp(0, i64::from(u16::MAX)) as u16,
                        }
                    } else {
                        Source::Rest
                    },
                    raw: if keep_text {
                        raw.to_string()
                    } else {
                        String::new()
                    },
                    events,
                    errors: Vec::new(),
                }
            };
            f(update)?;
        }
        drop(rows);
        pool.close().await;
        Ok(())
    }
}

/// What `day` opens with given the previous day's file (if that day exists).
pub(super) fn opening_from(day: &str, previous: Option<&DayMeta>) -> Result<Opening, ArchiveError> {
    let at_ms = day_start_ms(day)?;
    Ok(match previous {
        Some(p) => Opening {
            from_day: Some(p.day.clone()),
            // Stamped with this day's first millisecond when it was taken.
            state: p.closing.clone(),
            at_ms,
        },
        None => Opening {
            from_day: None,
            state: Vec::new(),
            at_ms,
        },
    })
}
