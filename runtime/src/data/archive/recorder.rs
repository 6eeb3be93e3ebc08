//! Writes feed updates into day partitions in batched transactions, keeps the
//! index current and writes each day's file as the day goes (see `columnar`).
//! A failed batch leaves earlier committed data untouched.

use std::collections::{BTreeMap, HashMap};

use sqlx::SqlitePool;

use super::columnar::{DayMeta, DayWriter};
use super::days::{day_start_ms, previous_day};
use super::{Archive, ArchiveError, open_db, sql_err};
use crate::data::update::{FeedUpdate, Source};
use crate::model::MarketEvent;
use crate::model::time::utc_day;

/// Rows per multi-row INSERT (well under SQLite's 32 766 bound parameters).
const ROWS_PER_INSERT: usize = 256;

/// `prefix` followed by `rows` groups of `columns` placeholders.
fn insert_sql(prefix: &str, columns: usize, rows: usize) -> String {
    let group = format!("({})", vec!["?"; columns].join(", "));
    let mut sql = String::with_capacity(prefix.len() + rows * (group.len() + 2));
    sql.push_str(prefix);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&group);
    }
    sql
}

/// A day's file in this recording session.
enum DayFileState {
    /// Written as the updates come.
    Writing {
        writer: Box<DayWriter>,
        last_ms: u64,
    },
    /// Finished when a later day began.
    Done(Box<DayMeta>),
    /// The day had data before this session, or an update came out of order
    /// or after the day was finished: rebuilt from the raw partition at the end.
    Rebuild,
}

/// What a batch adds to a partition's counts.
struct Counts {
    payloads: i64,
    messages: i64,
    books: i64,
    level_changes: i64,
    trades: i64,
}

/// Buffers updates and commits them per day.
pub struct Recorder {
    archive: Archive,
    buffer: Vec<FeedUpdate>,
    pools: HashMap<String, SqlitePool>,
    batch: usize,
    recorded: u64,
    days: BTreeMap<String, DayFileState>,
}

/// (token, market) an event concerns, for the index and lookups.
fn keys(e: &MarketEvent) -> Vec<(Option<String>, Option<String>)> {
    match e {
        MarketEvent::Book { token, market, .. }
        | MarketEvent::LastTrade { token, market, .. }
        | MarketEvent::TickSize { token, market, .. }
        | MarketEvent::BestBidAsk { token, market, .. } => {
            vec![(Some(token.to_string()), Some(market.to_string()))]
        }
        MarketEvent::PriceChange {
            market, changes, ..
        } => {
            let mut v: Vec<_> = changes
                .iter()
                .map(|c| (Some(c.token.to_string()), Some(market.to_string())))
                .collect();
            v.dedup();
            v
        }
        MarketEvent::NewMarket { market, .. } | MarketEvent::Resolved { market, .. } => {
            vec![(None, Some(market.to_string()))]
        }
    }
}

impl Recorder {
    /// The archive it writes to.
    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    pub(super) fn new(archive: Archive) -> Recorder {
        Recorder {
            archive,
            buffer: Vec::new(),
            pools: HashMap::new(),
            batch: 500,
            recorded: 0,
            days: BTreeMap::new(),
        }
    }

    /// Updates committed so far.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// Sets how many updates are committed together (default 500).
    pub fn with_batch(mut self, batch: usize) -> Recorder {
        self.batch = batch.max(1);
        self
    }

    /// Buffers an update; commits when the batch is full.
    pub async fn record(&mut self, update: &FeedUpdate) -> Result<(), ArchiveError> {
        self.day_file(update).await?;
        self.buffer.push(update.clone());
        if self.buffer.len() >= self.batch {
            self.flush().await?;
        }
        Ok(())
    }

    /// Feeds the update to its day's file, starting that file (and finishing
    /// the earlier days') when the update is the day's first.
    async fn day_file(&mut self, update: &FeedUpdate) -> Result<(), ArchiveError> {
        let day = utc_day(i64::try_from(update.received_ms).unwrap_or(i64::MAX));
        match self.days.get_mut(&day) {
            Some(DayFileState::Writing { writer, last_ms }) if update.received_ms >= *last_ms => {
                *last_ms = update.received_ms;
                return writer.push(update);
            }
            Some(DayFileState::Rebuild) => return Ok(()),
            Some(_) => {
                // Out of order, or the day was already finished.
                if let Some(DayFileState::Writing { writer, .. }) =
                    self.days.insert(day, DayFileState::Rebuild)
                {
                    writer.discard();
                }
                return Ok(());
            }
            None => {}
        }
        // A new day: the days before it are complete.
        let earlier: Vec<String> = self
            .days
            .range(..day.clone())
            .map(|(d, _)| d.clone())
            .collect();
        for d in earlier {
            if let Some(DayFileState::Writing { writer, .. }) = self.days.remove(&d) {
                let meta = writer.finish(day_start_ms(&d)? + 86_400_000)?;
                self.days.insert(d, DayFileState::Done(Box::new(meta)));
            }
        }
        let had_data = self
            .archive
            .raw_payloads(&day)
            .await?
            .is_some_and(|n| n > 0);
        let prev = previous_day(&day)?;
        let opening = match self.days.get(&prev) {
            _ if had_data => None,
            Some(DayFileState::Done(meta)) => Some(super::days::opening_from(&day, Some(meta))?),
            Some(_) => None,
            None => Some(self.archive.opening(&day).await?),
        };
        let state = match opening {
            Some(opening) => {
                let mut writer =
                    DayWriter::create(&self.archive.day_file_path(&day), &day, opening)?;
                writer.push(update)?;
                DayFileState::Writing {
                    writer: Box::new(writer),
                    last_ms: update.received_ms,
                }
            }
            None => DayFileState::Rebuild,
        };
        self.days.insert(day, state);
        Ok(())
    }

    async fn pool(&mut self, day: &str) -> Result<SqlitePool, ArchiveError> {
        if let Some(p) = self.pools.get(day) {
            return Ok(p.clone());
        }
        if self.archive.compressed_path(day).exists() {
            return Err(ArchiveError::Refused(format!(
                "{day} is compacted; it cannot take new data"
            )));
        }
        let pool = open_db(&self.archive.partition_path(day), true, false).await?;
        self.pools.insert(day.to_string(), pool.clone());
        Ok(pool)
    }

    /// Commits everything buffered.
    pub async fn flush(&mut self) -> Result<(), ArchiveError> {
        let buffer = std::mem::take(&mut self.buffer);
        let mut by_day: BTreeMap<String, Vec<FeedUpdate>> = BTreeMap::new();
        for u in buffer {
            by_day
                .entry(utc_day(i64::try_from(u.received_ms).unwrap_or(i64::MAX)))
                .or_default()
                .push(u);
        }
        for (day, updates) in by_day {
            let pool = self.pool(&day).await?;
            let path = self.archive.partition_path(&day);
            let mut tx = pool.begin().await.map_err(sql_err(&path))?;
            let mut events = 0i64;
            let mut tokens: BTreeMap<String, (Option<String>, i64, i64, i64)> = BTreeMap::new();
            let (mut first, mut last) = (i64::MAX, i64::MIN);
            // Ids are assigned here so payloads and their events go in as
            // multi-row inserts: each statement is a round trip to SQLite's
            // worker thread, which costs more than the rows.
            let mut next_id: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM payloads")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(sql_err(&path))?;
            let mut payload_rows = Vec::with_capacity(updates.len());
            let mut event_rows = Vec::new();
            let (mut books, mut level_changes, mut trades) = (0i64, 0i64, 0i64);
            for u in &updates {
                let ms = i64::try_from(u.received_ms).unwrap_or(i64::MAX);
                first = first.min(ms);
                last = last.max(ms);
                let id = next_id;
                next_id += 1;
                payload_rows.push((id, ms, u));
                // A socket frame's messages are decoded again from its text
                // (the truth) whenever they are needed, and the day file holds
                // them decoded: storing them twice more cost 2.8× the JSONL.
                let decodable = matches!(u.source, Source::Ws { .. }) && !u.raw.is_empty();
                for e in &u.events {
                    match e {
                        MarketEvent::Book { .. } => books += 1,
                        MarketEvent::PriceChange { changes, .. } => {
                            level_changes += changes.len() as i64;
                        }
                        MarketEvent::LastTrade { .. } => trades += 1,
                        _ => {}
                    }
                    let k = keys(e);
                    if !decodable {
                        let body = serde_json::to_string(e).map_err(|err| {
                            super::io_err(&path, format!("encoding an event: {err}"))
                        })?;
                        let (token, market) = k.first().cloned().unwrap_or((None, None));
                        event_rows.push((id, e, token, market, body));
                    }
                    events += 1;
                    for (t, m) in k {
                        if let Some(t) = t {
                            let entry = tokens.entry(t).or_insert((m, ms, ms, 0));
                            entry.1 = entry.1.min(ms);
                            entry.2 = entry.2.max(ms);
                            entry.3 += 1;
                        }
                    }
                }
            }
            for chunk in payload_rows.chunks(ROWS_PER_INSERT) {
                let sql = insert_sql(
                    "INSERT INTO payloads (id, received_ms, source, shard, raw) VALUES ",
                    5,
                    chunk.len(),
                );
                let mut q = sqlx::query(&sql);
                for (id, ms, u) in chunk {
                    let (source, shard) = Archive::source_text(u.source);
                    q = q.bind(*id).bind(*ms).bind(source).bind(shard).bind(&u.raw);
                }
                q.execute(&mut *tx).await.map_err(sql_err(&path))?;
            }
            for chunk in event_rows.chunks(ROWS_PER_INSERT) {
                let sql = insert_sql(
                    "INSERT INTO events (payload_id, ts_ms, kind, token, market, body) VALUES ",
                    6,
                    chunk.len(),
                );
                let mut q = sqlx::query(&sql);
                for (id, e, token, market, body) in chunk {
                    q = q
                        .bind(*id)
                        .bind(i64::try_from(e.ts_ms()).unwrap_or(i64::MAX))
                        .bind(e.kind())
                        .bind(token.as_deref())
                        .bind(market.as_deref())
                        .bind(body.as_str());
                }
                q.execute(&mut *tx).await.map_err(sql_err(&path))?;
            }
            tx.commit().await.map_err(sql_err(&path))?;
            let counts = Counts {
                payloads: updates.len() as i64,
                messages: events,
                books,
                level_changes,
                trades,
            };
            self.index(&day, first, last, counts, tokens).await?;
            self.recorded += updates.len() as u64;
        }
        Ok(())
    }

    async fn index(
        &self,
        day: &str,
        first: i64,
        last: i64,
        counts: Counts,
        tokens: BTreeMap<String, (Option<String>, i64, i64, i64)>,
    ) -> Result<(), ArchiveError> {
        let path = self.archive.dir().join("index.sqlite");
        let mut tx = self.archive.index().begin().await.map_err(sql_err(&path))?;
        sqlx::query(
            "INSERT INTO partitions (day, first_ms, last_ms, payloads, events, books, level_changes, trades) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (day) DO UPDATE SET first_ms = MIN(first_ms, excluded.first_ms), \
             last_ms = MAX(last_ms, excluded.last_ms), payloads = payloads + excluded.payloads, \
             events = events + excluded.events, books = books + excluded.books, \
             level_changes = level_changes + excluded.level_changes, trades = trades + excluded.trades",
        )
        .bind(day)
        .bind(first)
        .bind(last)
        .bind(counts.payloads)
        .bind(counts.messages)
        .bind(counts.books)
        .bind(counts.level_changes)
        .bind(counts.trades)
        .execute(&mut *tx)
        .await
        .map_err(sql_err(&path))?;
        for (token, (market, f, l, n)) in tokens {
            sqlx::query(
                "INSERT INTO partition_tokens (day, token, market, first_ms, last_ms, events) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (day, token) DO UPDATE SET first_ms = MIN(first_ms, excluded.first_ms), \
                 last_ms = MAX(last_ms, excluded.last_ms), events = events + excluded.events",
            )
            .bind(day)
            .bind(token)
            .bind(market)
            .bind(f)
            .bind(l)
            .bind(n)
            .execute(&mut *tx)
            .await
            .map_err(sql_err(&path))?;
        }
        tx.commit().await.map_err(sql_err(&path))
    }

    /// Commits what is buffered, closes the partitions and completes the
    /// day files (rebuilding those that could not be written as they came).
    pub async fn finish(mut self) -> Result<u64, ArchiveError> {
        self.flush().await?;
        for (_, pool) in self.pools.drain() {
            pool.close().await;
        }
        let mut rebuild = Vec::new();
        for (day, state) in std::mem::take(&mut self.days) {
            match state {
                DayFileState::Writing { writer, .. } => {
                    writer.finish(day_start_ms(&day)? + 86_400_000)?;
                }
                DayFileState::Rebuild => rebuild.push(day),
                DayFileState::Done(_) => {}
            }
        }
        // In order: each rebuild carries into the days after it.
        for day in rebuild {
            self.archive.reindex(&day).await?;
        }
        Ok(self.recorded)
    }
}
