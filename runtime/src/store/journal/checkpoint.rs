//! Projection checkpoints: the projections as of an entry, serialised (CBOR)
//! and signed with the journal key, written in the same transaction as the
//! entries they follow. A start loads the newest one that checks and replays
//! only what came after it; `verify` proves each equals the replay.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

use super::{StoreError, seal::SealPaths};
use crate::store::Projections;

type HmacSha256 = Hmac<Sha256>;

/// The serialised form's version: a checkpoint of another version is
/// ignored (and replayed past), never misread. Raise it whenever what
/// `Projections` holds or how it applies an entry changes.
pub const FORMAT: i64 = 1;

/// Entries between checkpoints of a running engine: a start replays at most
/// this many (plus what a crash left since the last one).
pub const EVERY: u64 = 50_000;

/// Checkpoints kept: the newest and the one before (in case the newest
/// cannot be used).
const KEPT: i64 = 2;

/// A checkpoint ready to be written.
pub(crate) struct Checkpoint {
    seq: i64,
    entry_hash: String,
    state: Vec<u8>,
    mac: String,
}

fn mac_of(key: &[u8; 32], seq: i64, entry_hash: &str, state: &[u8]) -> HmacSha256 {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC key of any length");
    m.update(b"pqap projections checkpoint\n");
    m.update(format!("{FORMAT}\n{seq}\n{entry_hash}\n").as_bytes());
    m.update(&Sha256::digest(state));
    m
}

/// Projections kept current as entries are appended, and when they are due
/// to be checkpointed.
pub(crate) struct Tracker {
    pub(super) projections: Projections,
    key: [u8; 32],
    every: u64,
    since: u64,
}

impl Tracker {
    /// Tracks from `projections` (as of the journal's last entry); `None`
    /// when the journal key cannot be had (checkpoints then are not written,
    /// and every start replays the whole journal).
    pub(crate) fn start(
        db: &std::path::Path,
        projections: Projections,
        every: u64,
    ) -> Option<Tracker> {
        match crate::config::key_file::read_or_make(&SealPaths::of(db).key) {
            Ok(key) => Some(Tracker {
                projections,
                key,
                every: every.max(1),
                since: 0,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "no journal key: projections will not be checkpointed");
                None
            }
        }
    }

    pub(crate) fn applied(&mut self) {
        self.since += 1;
    }

    /// A checkpoint of the projections as they stand (after entry `seq`,
    /// whose chain hash is `entry_hash`) when one is due, or `force`d and
    /// anything was applied since the last.
    pub(crate) fn due(
        &mut self,
        seq: i64,
        entry_hash: &str,
        force: bool,
    ) -> Result<Option<Checkpoint>, StoreError> {
        if self.since == 0 || (!force && self.since < self.every) || seq < 1 {
            return Ok(None);
        }
        let mut state = Vec::new();
        ciborium::into_writer(&self.projections, &mut state)
            .map_err(|e| StoreError::Encode(format!("projections checkpoint: {e}")))?;
        self.since = 0;
        Ok(Some(Checkpoint {
            seq,
            entry_hash: entry_hash.to_string(),
            mac: hex::encode(
                mac_of(&self.key, seq, entry_hash, &state)
                    .finalize()
                    .into_bytes(),
            ),
            state,
        }))
    }
}

/// Writes `c` in the transaction `tx` and drops checkpoints older than the
/// newest [`KEPT`].
pub(crate) async fn write(
    tx: &mut sqlx::SqliteConnection,
    c: &Checkpoint,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR REPLACE INTO projection_checkpoints (seq, entry_hash, format, state, mac) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(c.seq)
    .bind(&c.entry_hash)
    .bind(FORMAT)
    .bind(c.state.as_slice())
    .bind(&c.mac)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM projection_checkpoints WHERE seq NOT IN (SELECT seq FROM projection_checkpoints ORDER BY seq DESC LIMIT ?)",
    )
    .bind(KEPT)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Why a stored checkpoint was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Written by another version of the projections.
    Format(i64),
    /// The signature does not check (no key, another key, or altered).
    Signature,
    /// The journal no longer holds the entry it follows, as it was.
    Entry,
    /// It does not decode.
    Decode(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Format(v) => write!(f, "format {v} (this build reads {FORMAT})"),
            Unusable::Signature => f.write_str("its signature does not match the journal key"),
            Unusable::Entry => f.write_str("the entry it follows is not in the journal as it was"),
            Unusable::Decode(e) => write!(f, "it does not decode: {e}"),
        }
    }
}

/// A stored checkpoint, read back.
pub(super) struct Stored {
    pub(super) seq: i64,
    entry_hash: String,
    format: i64,
    state: Vec<u8>,
    mac: String,
}

impl Stored {
    /// The projections it holds, once its format, signature and entry check.
    pub(super) async fn open(
        &self,
        pool: &SqlitePool,
        key: Option<&[u8; 32]>,
    ) -> Result<Result<Projections, Unusable>, StoreError> {
        if self.format != FORMAT {
            return Ok(Err(Unusable::Format(self.format)));
        }
        let mac = hex::decode(&self.mac).unwrap_or_default();
        let signed = key.is_some_and(|k| {
            mac_of(k, self.seq, &self.entry_hash, &self.state)
                .verify_slice(&mac)
                .is_ok()
        });
        if !signed {
            return Ok(Err(Unusable::Signature));
        }
        let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM journal WHERE seq = ?")
            .bind(self.seq)
            .fetch_optional(pool)
            .await?;
        if hash.as_deref() != Some(self.entry_hash.as_str()) {
            return Ok(Err(Unusable::Entry));
        }
        Ok(ciborium::from_reader(self.state.as_slice())
            .map_err(|e| Unusable::Decode(e.to_string())))
    }
}

/// The stored checkpoints, newest first.
pub(super) async fn stored(pool: &SqlitePool) -> Result<Vec<Stored>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, entry_hash, format, state, mac FROM projection_checkpoints ORDER BY seq DESC",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Stored {
                seq: r.try_get("seq")?,
                entry_hash: r.try_get("entry_hash")?,
                format: r.try_get("format")?,
                state: r.try_get("state")?,
                mac: r.try_get("mac")?,
            })
        })
        .collect()
}

/// The journal key, if there is one to check signatures with.
pub(super) fn key(db: &std::path::Path) -> Option<[u8; 32]> {
    crate::config::key_file::read(&SealPaths::of(db).key).ok()
}
