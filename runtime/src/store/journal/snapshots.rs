//! Restart points stored by content: a snapshot entry names its state by
//! SHA-256 and the bytes go to `snapshot_blobs` once, in the same transaction as
//! the entry, only when they differ from the strategy's previous snapshot.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Journal, StoreError};
use crate::store::entry::Entry;
use crate::store::projection::{SnapshotRef, SnapshotState};

impl Journal {
    /// Journals a restart point of `strategy` (its state after the call whose
    /// decisions follow, having seen events up to `event_seq`). The state is
    /// written only if it changed since the strategy's last snapshot; its bytes
    /// then count towards the strategy's journal bytes.
    pub fn append_snapshot(
        &mut self,
        ts_ns: u64,
        strategy: u32,
        state: &[u8],
        event_seq: u64,
    ) -> Result<i64, StoreError> {
        let sha = hex::encode(Sha256::digest(state));
        if self.last_snapshot.get(&strategy) != Some(&sha) {
            if !self.pending_blobs.iter().any(|(s, _)| *s == sha) {
                self.pending_blobs.push((sha.clone(), state.to_vec()));
            }
            *self.bytes_by_strategy.entry(strategy).or_default() += state.len() as u64;
            self.last_snapshot.insert(strategy, sha.clone());
        }
        self.append(
            ts_ns,
            Some(strategy),
            &Entry::Snapshot {
                strategy,
                state_hex: String::new(),
                state_sha256: Some(sha),
                state_bytes: state.len() as u64,
                event_seq,
            },
        )
    }

    /// Whether journaling `state` for `strategy` would store a new blob (it
    /// differs from the strategy's last snapshot).
    pub fn snapshot_is_new(&self, strategy: u32, state: &[u8]) -> bool {
        self.last_snapshot.get(&strategy).map(String::as_str)
            != Some(hex::encode(Sha256::digest(state)).as_str())
    }

    /// The bytes of a restart point, checked against its hash.
    pub async fn snapshot_state(&self, snapshot: &SnapshotRef) -> Result<Vec<u8>, StoreError> {
        let sha = match &snapshot.state {
            SnapshotState::Inline(bytes) => return Ok(bytes.clone()),
            SnapshotState::Blob(sha) => sha,
        };
        let corrupt = |message: String| StoreError::Corrupt {
            seq: snapshot.seq,
            message,
        };
        if let Some((_, bytes)) = self.pending_blobs.iter().find(|(s, _)| s == sha) {
            return Ok(bytes.clone());
        }
        self.written()?;
        let row = sqlx::query("SELECT bytes FROM snapshot_blobs WHERE sha256 = ?")
            .bind(sha)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| corrupt(format!("snapshot blob {sha} is missing")))?;
        let bytes: Vec<u8> = row.try_get("bytes")?;
        if hex::encode(Sha256::digest(&bytes)) != *sha {
            return Err(corrupt(format!(
                "snapshot blob {sha} does not match its hash"
            )));
        }
        Ok(bytes)
    }

    /// For `verify`: a snapshot entry's blob exists and matches its hash.
    pub(super) async fn check_snapshot_blob(
        &self,
        body: &str,
    ) -> Result<Option<String>, StoreError> {
        let Ok(Entry::Snapshot {
            state_sha256: Some(sha),
            ..
        }) = serde_json::from_str::<Entry>(body)
        else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT bytes FROM snapshot_blobs WHERE sha256 = ?")
            .bind(&sha)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => Some(format!("snapshot blob {sha} is missing")),
            Some(r) => {
                let bytes: Vec<u8> = r.try_get("bytes")?;
                (hex::encode(Sha256::digest(&bytes)) != sha)
                    .then(|| format!("snapshot blob {sha} does not match its hash"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Projections;

    #[tokio::test]
    async fn unchanged_state_is_stored_once_and_restores_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        let big = vec![7u8; 1 << 20];
        for i in 0..10 {
            j.append_snapshot(i, 1, &big, i).unwrap();
        }
        j.append_snapshot(10, 2, &big, 10).unwrap();
        let before = j.bytes_for(1);
        j.append_snapshot(11, 1, b"changed", 11).unwrap();
        j.flush().await.unwrap();
        // One copy of the megabyte per strategy in the accounting, one in the
        // database; ten entries that name it.
        assert!(before < 2 << 20 && before > 1 << 20, "{before}");
        assert!(j.bytes_for(2) > 1 << 20);
        let (blobs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM snapshot_blobs")
            .fetch_one(j.pool())
            .await
            .unwrap();
        assert_eq!(blobs, 2);
        let size = std::fs::metadata(dir.path().join("j.db")).unwrap().len()
            + std::fs::metadata(dir.path().join("j.db-wal")).map_or(0, |m| m.len());
        assert!(size < 3 << 20, "{size} bytes on disk");

        let p = Projections::replay(&j.read_from(1).await.unwrap());
        assert_eq!(
            j.snapshot_state(&p.snapshots[&1]).await.unwrap(),
            b"changed"
        );
        assert_eq!(j.snapshot_state(&p.snapshots[&2]).await.unwrap(), big);
        assert_eq!(p.snapshots[&1].event_seq, 11);
        assert!(j.verify().await.unwrap().broken.is_none());
    }

    #[tokio::test]
    async fn verify_names_a_missing_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        j.append_snapshot(1, 1, b"state", 1).unwrap();
        j.flush().await.unwrap();
        sqlx::query("DELETE FROM snapshot_blobs")
            .execute(j.pool())
            .await
            .unwrap();
        let report = j.verify().await.unwrap();
        let (seq, why) = report.broken.expect("broken");
        assert_eq!(seq, 1);
        assert!(why.contains("missing"), "{why}");
    }
}
