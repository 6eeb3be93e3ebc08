//! The append-only journal in SQLite (WAL): entries get a sequence number and a
//! SHA-256 hash chained to the previous entry, are buffered, and become durable
//! together in one transaction on `commit`. The head is sealed outside the
//! database (`seal`), so `verify`, which walks the whole chain, also catches
//! a rewritten or cut-off history.
//! It also counts the bytes each strategy's entries take, for storage budgets.

mod checkpoint;
mod fill_history;
mod seal;
mod snapshots;
mod verify;
mod writer;

pub use checkpoint::{EVERY as CHECKPOINT_EVERY, FORMAT as CHECKPOINT_FORMAT, Unusable};
#[cfg(test)]
pub(crate) use checkpoint::{Tracker as CheckpointTracker, write as write_checkpoint_for_tests};
pub use verify::{Audit, VerifyReport};

pub use seal::{SealPaths, SealState, SealedHead, read_seal};

use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::entry::Entry;
use super::projection::Projections;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("journal {path}: {message}")]
    Open { path: String, message: String },
    #[error("journal: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("journal entry {seq}: {message}")]
    Corrupt { seq: i64, message: String },
    #[error("journal entry could not be encoded: {0}")]
    Encode(String),
    #[error(
        "database {db} is in use by a running pqap engine ({holder}); stop it first, or act through its server"
    )]
    Locked { db: String, holder: String },
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub seq: i64,
    pub ts_ns: i64,
    pub strategy: Option<i64>,
    pub entry: Entry,
    pub hash: String,
}

pub(super) struct Pending {
    seq: i64,
    ts_ns: i64,
    kind: &'static str,
    strategy: Option<i64>,
    body: String,
    prev: String,
    hash: String,
}

/// The chain hash of one entry.
pub fn chain_hash(
    prev: &str,
    seq: i64,
    ts_ns: i64,
    kind: &str,
    strategy: Option<i64>,
    body: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev.as_bytes(),
        seq.to_string().as_bytes(),
        ts_ns.to_string().as_bytes(),
        kind.as_bytes(),
        strategy
            .map(|s| s.to_string())
            .unwrap_or_default()
            .as_bytes(),
        body.as_bytes(),
    ] {
        h.update(part);
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Writes entries (and the snapshot blobs they name, and the projections
/// checkpoint that follows them) in one transaction.
async fn write(
    pool: &SqlitePool,
    pending: &[Pending],
    blobs: &[(String, Vec<u8>)],
    checkpoint: Option<&checkpoint::Checkpoint>,
) -> Result<(), StoreError> {
    // Multi-row inserts: each statement is a round trip to SQLite's worker
    // thread, which costs more than the rows themselves.
    const ROWS: usize = 256;
    let mut tx = pool.begin().await?;
    // Blobs first: an entry is never durable without the state it names.
    for (sha, bytes) in blobs {
        sqlx::query("INSERT OR IGNORE INTO snapshot_blobs (sha256, size, bytes) VALUES (?, ?, ?)")
            .bind(sha)
            .bind(bytes.len() as i64)
            .bind(bytes.as_slice())
            .execute(&mut *tx)
            .await?;
    }
    for chunk in pending.chunks(ROWS) {
        let mut sql = String::from(
            "INSERT INTO journal (seq, ts_ns, kind, strategy, body, prev_hash, hash) VALUES ",
        );
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 {
                "(?, ?, ?, ?, ?, ?, ?)"
            } else {
                ", (?, ?, ?, ?, ?, ?, ?)"
            });
        }
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.seq)
                .bind(p.ts_ns)
                .bind(p.kind)
                .bind(p.strategy)
                .bind(&p.body)
                .bind(&p.prev)
                .bind(&p.hash);
        }
        q.execute(&mut *tx).await?;
    }
    if let Some(c) = checkpoint {
        checkpoint::write(&mut tx, c).await?;
    }
    tx.commit().await?;
    Ok(())
}

impl Drop for Journal {
    /// A journal closed without `finish` still seals what it wrote (a seal
    /// skipped by the once-a-second limit would otherwise trail the end).
    fn drop(&mut self) {
        if self.writer.is_none() {
            self.seal_written(true);
        }
    }
}

/// An open journal.
pub struct Journal {
    pool: SqlitePool,
    next_seq: i64,
    head_hash: String,
    pending: Vec<Pending>,
    /// `commit` writes only once this many entries are pending (1 = every time).
    commit_batch: usize,
    /// Entries appended since `retain` was switched on, for runs that read their
    /// own journal back at the end (backtests) without parsing it again.
    retained: Option<Vec<Stored>>,
    /// Snapshot states waiting for the next flush, by SHA-256.
    pending_blobs: Vec<(String, Vec<u8>)>,
    /// The SHA-256 of each strategy's last journaled snapshot.
    last_snapshot: std::collections::HashMap<u32, String>,
    /// Bytes appended per strategy since the journal was opened.
    bytes_by_strategy: std::collections::HashMap<u32, u64>,
    /// Entries appended per strategy since the journal was opened.
    entries_by_strategy: std::collections::HashMap<u32, u64>,
    /// Writes batches on a thread of its own (see [`Journal::write_behind`]).
    writer: Option<writer::Writer>,
    /// The database file, whose head is sealed beside it.
    path: std::path::PathBuf,
    /// Reseals the head as entries are written (a durable journal once a
    /// second; a rerunnable one when it finishes).
    sealer: seal::Sealer,
    durable: bool,
    /// The last entry written to the database (sequence number, hash).
    written_head: Option<(i64, String)>,
    /// Projections kept current and checkpointed (`track_projections`).
    tracked: Option<checkpoint::Tracker>,
}

impl Journal {
    /// Opens (creating if needed) the journal database at `path`; every commit
    /// is durable (fsync'd) before it returns.
    pub async fn open(path: &Path) -> Result<Journal, StoreError> {
        Journal::open_with(path, true).await
    }

    /// As [`Journal::open`]; `durable: false` skips the fsyncs, for runs that
    /// can simply be rerun (backtests): a crash may lose the tail, never order.
    pub async fn open_with(path: &Path, durable: bool) -> Result<Journal, StoreError> {
        let open_err = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| open_err(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed fill survives power loss, not only a crash.
            .synchronous(if durable {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Off
            })
            .busy_timeout(std::time::Duration::from_secs(5));
        // A rerunnable journal writes in big batches: a page cache that holds a
        // batch and rarer checkpoints keep SQLite from spilling and re-reading.
        let options = if durable {
            options
        } else {
            options
                .pragma("cache_size", "-65536")
                .pragma("wal_autocheckpoint", "16384")
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("./migrations/store")
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("migrations: {e}")))?;
        let head = sqlx::query("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&pool)
            .await?;
        let (next_seq, head_hash) = match head {
            Some(r) => (
                r.try_get::<i64, _>("seq")? + 1,
                r.try_get::<String, _>("hash")?,
            ),
            None => (1, GENESIS.to_string()),
        };
        Ok(Journal {
            pool,
            next_seq,
            head_hash,
            pending: Vec::new(),
            commit_batch: 1,
            retained: None,
            pending_blobs: Vec::new(),
            last_snapshot: std::collections::HashMap::new(),
            bytes_by_strategy: std::collections::HashMap::new(),
            entries_by_strategy: std::collections::HashMap::new(),
            writer: None,
            path: path.to_path_buf(),
            sealer: seal::Sealer::new(path),
            durable,
            written_head: None,
            tracked: None,
        })
    }

    /// Seals the last entry written (see `seal`); a seal that cannot be
    /// written is logged, never a reason to stop journaling.
    fn seal_written(&mut self, force: bool) {
        if let Some((seq, hash)) = &self.written_head
            && let Err(e) = self.sealer.seal(*seq, hash, force)
        {
            tracing::warn!(error = %e, "the journal head could not be sealed");
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether every commit is fsync'd (see [`Journal::open_with`]).
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// Sequence number the next entry will get.
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// Entries appended but not yet committed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Appends an entry (buffered until `commit`) and returns its sequence number.
    pub fn append(
        &mut self,
        ts_ns: u64,
        strategy: Option<u32>,
        entry: &Entry,
    ) -> Result<i64, StoreError> {
        let body = serde_json::to_string(entry).map_err(|e| StoreError::Encode(e.to_string()))?;
        let seq = self.next_seq;
        let ts_ns = i64::try_from(ts_ns).unwrap_or(i64::MAX);
        if let Some(s) = strategy {
            *self.bytes_by_strategy.entry(s).or_default() += body.len() as u64;
            *self.entries_by_strategy.entry(s).or_default() += 1;
        }
        let strategy = strategy.map(i64::from);
        let kind = entry.kind();
        // Written behind, the writer thread chains the hashes.
        let hash = match self.writer {
            Some(_) => String::new(),
            None => chain_hash(&self.head_hash, seq, ts_ns, kind, strategy, &body),
        };
        if let Some(kept) = self.retained.as_mut() {
            kept.push(Stored {
                seq,
                ts_ns,
                strategy,
                entry: entry.clone(),
                hash: hash.clone(),
            });
        }
        if let Some(t) = self.tracked.as_mut() {
            t.projections.apply(&Stored {
                seq,
                ts_ns,
                strategy,
                entry: entry.clone(),
                hash: String::new(),
            });
            t.applied();
        }
        self.pending.push(Pending {
            seq,
            ts_ns,
            kind,
            strategy,
            body,
            prev: std::mem::replace(&mut self.head_hash, hash.clone()),
            hash,
        });
        self.next_seq += 1;
        Ok(seq)
    }

    /// Bytes of entries (and new snapshot blobs) attributed to `strategy` since
    /// the journal was opened.
    pub fn bytes_for(&self, strategy: u32) -> u64 {
        self.bytes_by_strategy.get(&strategy).copied().unwrap_or(0)
    }

    /// Entries attributed to `strategy` since the journal was opened.
    pub fn entries_for(&self, strategy: u32) -> u64 {
        self.entries_by_strategy
            .get(&strategy)
            .copied()
            .unwrap_or(0)
    }

    /// Lets `commit` wait until `entries` are pending. Only for runs that can be
    /// rerun (backtests): a crash loses up to that many entries, and readers of the
    /// database see the journal late. [`Journal::flush`] still writes at once.
    pub fn set_commit_batch(&mut self, entries: usize) {
        self.commit_batch = entries.max(1);
    }

    /// Keeps a copy of every entry appended from now on (see [`Journal::retained`]).
    /// Written behind, the copies carry no hash (the writer thread chains
    /// them; [`Journal::head`] has the last one after [`Journal::finish`]).
    pub fn retain(&mut self) {
        self.retained.get_or_insert_with(Vec::new);
    }

    /// The entries appended since `retain`, as `read_from` would return them once
    /// committed.
    pub fn retained(&self) -> Option<&[Stored]> {
        self.retained.as_deref()
    }

    /// Hands over the entries kept since `retain` (or the last take), so a
    /// run can fold them as it goes instead of keeping the whole journal.
    pub fn take_retained(&mut self) -> Vec<Stored> {
        self.retained
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Makes every appended entry durable in one transaction (or, with a commit
    /// batch, once enough are pending).
    pub async fn commit(&mut self) -> Result<(), StoreError> {
        if self.pending.len() < self.commit_batch {
            return Ok(());
        }
        self.flush().await
    }

    /// From now on batches are written on a thread of their own while the
    /// caller goes on; only for runs that can be rerun (backtests). Readers
    /// of this journal still see every entry flushed before they read, and
    /// [`Journal::finish`] reports a write that failed.
    pub async fn write_behind(&mut self) -> Result<(), StoreError> {
        if self.writer.is_none() {
            self.flush_now().await?;
            let head = self.head_hash.clone();
            self.writer = Some(writer::Writer::start(self.pool.clone(), head)?);
        }
        Ok(())
    }

    /// Writes every pending entry now, whatever the commit batch (written
    /// behind: handed to the writer thread).
    pub async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() && self.pending_blobs.is_empty() {
            return Ok(());
        }
        if let Some(w) = self.writer.as_mut() {
            let entries = std::mem::take(&mut self.pending);
            let blobs = std::mem::take(&mut self.pending_blobs);
            return w.write(entries, blobs);
        }
        self.flush_now().await
    }

    async fn flush_now(&mut self) -> Result<(), StoreError> {
        let checkpoint = match (self.tracked.as_mut(), self.pending.last()) {
            (Some(t), Some(last)) => t.due(last.seq, &last.hash, false)?,
            _ => None,
        };
        write(
            &self.pool,
            &self.pending,
            &self.pending_blobs,
            checkpoint.as_ref(),
        )
        .await?;
        if let Some(last) = self.pending.last() {
            self.written_head = Some((last.seq, last.hash.clone()));
        }
        self.pending.clear();
        self.pending_blobs.clear();
        if self.durable {
            self.seal_written(false);
        }
        Ok(())
    }

    /// The last entry's sequence number and hash (0 and the genesis hash when
    /// empty). Written behind, the hash is known once [`Journal::finish`] ran.
    pub fn head(&self) -> (i64, &str) {
        (self.next_seq - 1, &self.head_hash)
    }

    /// Flushes, and waits until everything is written (stopping a writer
    /// thread, whose error it reports).
    pub async fn finish(&mut self) -> Result<(), StoreError> {
        self.flush().await?;
        self.checkpoint_now().await?;
        if let Some(mut w) = self.writer.take() {
            self.head_hash = w.finish()?;
            if self.next_seq > 1 {
                self.written_head = Some((self.next_seq - 1, self.head_hash.clone()));
            }
        }
        self.seal_written(true);
        Ok(())
    }

    /// Writes every pending entry now and waits until it is on disk, whatever
    /// the commit batch and even when written behind.
    pub async fn make_durable(&mut self) -> Result<(), StoreError> {
        self.flush().await?;
        self.written()
    }

    /// Waits until every batch handed to a writer thread is written.
    fn written(&self) -> Result<(), StoreError> {
        self.writer.as_ref().map_or(Ok(()), writer::Writer::sync)
    }

    /// Reads committed entries with `seq >= from`, in order.
    pub async fn read_from(&self, from: i64) -> Result<Vec<Stored>, StoreError> {
        self.read_range(from, i64::MAX).await
    }

    /// Reads committed entries with `from <= seq <= to`, in order.
    pub async fn read_range(&self, from: i64, to: i64) -> Result<Vec<Stored>, StoreError> {
        self.read_page(from, to, i64::MAX).await
    }

    /// Reads up to `limit` committed entries with `from <= seq <= to`, in
    /// order: long reads go page by page, so memory stays that of a page.
    pub async fn read_page(
        &self,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<Stored>, StoreError> {
        self.written()?;
        let rows = sqlx::query(
            "SELECT seq, ts_ns, strategy, body, hash FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_row).collect()
    }

    /// Reads the committed entries with `seq >= from` of the given kinds
    /// ([`Entry::kind`]), in order. The kind is a column with an index, so
    /// the other entries are neither read nor decoded.
    pub async fn read_kinds_from(
        &self,
        from: i64,
        kinds: &[&str],
    ) -> Result<Vec<Stored>, StoreError> {
        self.written()?;
        let mut rows = Vec::new();
        // One indexed range per kind, merged by sequence.
        for kind in kinds {
            rows.extend(
                sqlx::query(
                    "SELECT seq, ts_ns, strategy, body, hash FROM journal WHERE kind = ? AND seq >= ? ORDER BY seq",
                )
                .bind(kind)
                .bind(from)
                .fetch_all(&self.pool)
                .await?,
            );
        }
        let mut entries = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|s| s.seq);
        Ok(entries)
    }

    /// Applies every committed entry with `seq >= from` to `f`, in order, a
    /// page at a time.
    pub async fn for_each_from(
        &self,
        from: i64,
        mut f: impl FnMut(&Stored),
    ) -> Result<u64, StoreError> {
        let mut next = from;
        let mut seen = 0u64;
        loop {
            let page = self.read_page(next, i64::MAX, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(seen);
            };
            next = last.seq + 1;
            seen += page.len() as u64;
            page.iter().for_each(&mut f);
        }
    }

    /// The projections as of the last committed entry: the newest checkpoint
    /// that checks, and the entries after it replayed (all of them when no
    /// checkpoint can be used). Memory is that of the projections and a page.
    pub async fn projections(&self) -> Result<Projections, StoreError> {
        self.written()?;
        let key = checkpoint::key(&self.path);
        let mut base = None;
        for c in checkpoint::stored(&self.pool).await? {
            match c.open(&self.pool, key.as_ref()).await? {
                Ok(p) => {
                    base = Some((c.seq, p));
                    break;
                }
                Err(why) => tracing::warn!(
                    checkpoint = c.seq,
                    reason = %why,
                    "a projections checkpoint is not used; replaying from an earlier point"
                ),
            }
        }
        let (from, mut p) = base.unwrap_or_default();
        let replayed = self.for_each_from(from + 1, |s| p.apply(s)).await?;
        tracing::debug!(checkpoint = from, replayed, "projections loaded");
        Ok(p)
    }

    /// From now on keeps `base` (the projections as of the last entry, from
    /// [`Journal::projections`]) current as entries are appended, and
    /// checkpoints it with the entries every `every` of them and when the
    /// journal finishes. Only for a journal written in place (not behind).
    pub fn track_projections(&mut self, base: Projections, every: u64) {
        // Projections of another point would be checkpointed as this one's.
        if base.last_seq != self.next_seq - 1 {
            tracing::error!(
                projections_at = base.last_seq,
                journal_at = self.next_seq - 1,
                "projections of another point in the journal are not tracked"
            );
            self.tracked = None;
            return;
        }
        self.tracked = checkpoint::Tracker::start(&self.path, base, every);
    }

    /// The projections as tracked (see [`Journal::track_projections`]).
    pub fn tracked_projections(&self) -> Option<&Projections> {
        self.tracked.as_ref().map(|t| &t.projections)
    }

    /// Writes a checkpoint of the tracked projections now, if anything was
    /// appended since the last one (pending entries are written first).
    pub async fn checkpoint_now(&mut self) -> Result<(), StoreError> {
        if self.writer.is_some() {
            return Ok(());
        }
        self.flush().await?;
        let (seq, hash) = (self.next_seq - 1, self.head_hash.clone());
        let Some(c) = self
            .tracked
            .as_mut()
            .map(|t| t.due(seq, &hash, true))
            .transpose()?
            .flatten()
        else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        checkpoint::write(&mut tx, &c).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Entries read per query by the long readers.
const PAGE: i64 = 5_000;

fn decode_row(r: &sqlx::sqlite::SqliteRow) -> Result<Stored, StoreError> {
    let seq: i64 = r.try_get("seq")?;
    let body: String = r.try_get("body")?;
    let entry = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
        seq,
        message: format!("undecodable body: {e}"),
    })?;
    Ok(Stored {
        seq,
        ts_ns: r.try_get("ts_ns")?,
        strategy: r.try_get("strategy")?,
        entry,
        hash: r.try_get("hash")?,
    })
}
