//! Verifying a journal, page by page so memory does not grow with it: every
//! entry's chain hash recomputed, the sealed head matched, snapshot blobs
//! checked against their hashes, the journal replayed, and every stored
//! projections checkpoint compared with the replay at its entry.

use serde::Serialize;
use sqlx::Row;

use super::{GENESIS, Journal, PAGE, StoreError, Stored, chain_hash, checkpoint, seal};
use crate::store::{CommandAction, Entry, Projections};

/// The outcome of a full chain check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// The first broken entry, if any, and why.
    pub broken: Option<(i64, String)>,
    /// The entry the sealed head names (`None`: the journal was never sealed).
    pub sealed_seq: Option<i64>,
    /// Projections checkpoints found equal to the replay at their entry.
    pub checkpoints: u32,
}

/// A verification with what its replay found.
#[derive(Debug, Clone)]
pub struct Audit {
    pub report: VerifyReport,
    /// The journal replayed up to its end (or the first broken entry).
    pub projections: Projections,
    /// Orders strategies asked for (placed or refused).
    pub place_commands: u64,
}

impl Journal {
    /// Recomputes the whole chain from the stored rows.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        Ok(self.audit().await?.report)
    }

    /// Verifies the journal (see [`Journal::verify`]) and replays it.
    pub async fn audit(&self) -> Result<Audit, StoreError> {
        self.written()?;
        let seal = seal::read_seal(&self.path);
        let key = checkpoint::key(&self.path);
        let checkpoints = checkpoint::stored(&self.pool).await?;
        let mut projections = Projections::default();
        let mut place_commands = 0u64;
        let mut checked = 0u32;
        let mut prev = GENESIS.to_string();
        let mut expect_seq = 1i64;
        let mut entries = 0i64;
        let mut broken: Option<(i64, String)> = None;
        let mut at_seal = None;
        let mut from = 1i64;
        loop {
            let rows = sqlx::query(
                "SELECT seq, ts_ns, kind, strategy, body, prev_hash, hash FROM journal WHERE seq >= ? ORDER BY seq LIMIT ?",
            )
            .bind(from)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            from = last.try_get::<i64, _>("seq")? + 1;
            entries += rows.len() as i64;
            if broken.is_some() {
                continue;
            }
            for r in &rows {
                let seq: i64 = r.try_get("seq")?;
                let ts_ns: i64 = r.try_get("ts_ns")?;
                let strategy: Option<i64> = r.try_get("strategy")?;
                let stored_prev: String = r.try_get("prev_hash")?;
                let hash: String = r.try_get("hash")?;
                let kind: String = r.try_get("kind")?;
                let body: String = r.try_get("body")?;
                let computed = chain_hash(&prev, seq, ts_ns, &kind, strategy, &body);
                let mut problem = if seq != expect_seq {
                    Some(format!("sequence gap: expected {expect_seq}"))
                } else if stored_prev != prev {
                    Some("previous-hash link broken".to_string())
                } else if computed != hash {
                    Some("hash does not match the entry's content".to_string())
                } else if kind == "snapshot" {
                    self.check_snapshot_blob(&body).await?
                } else {
                    None
                };
                if problem.is_none() {
                    match serde_json::from_str::<Entry>(&body) {
                        Ok(entry) => {
                            if matches!(
                                entry,
                                Entry::Command {
                                    command: CommandAction::Place { .. },
                                    ..
                                }
                            ) {
                                place_commands += 1;
                            }
                            projections.apply(&Stored {
                                seq,
                                ts_ns,
                                strategy,
                                entry,
                                hash: String::new(),
                            });
                        }
                        Err(e) => problem = Some(format!("undecodable body: {e}")),
                    }
                }
                if problem.is_none() {
                    for c in checkpoints.iter().filter(|c| c.seq == seq) {
                        match c.open(&self.pool, key.as_ref()).await? {
                            Ok(p) if p == projections => checked += 1,
                            Ok(_) => problem = Some(
                                "the projections checkpoint at this entry differs from the replay"
                                    .to_string(),
                            ),
                            // An older build's checkpoint is ignored at start too.
                            Err(checkpoint::Unusable::Format(_)) => {}
                            Err(why) => {
                                problem = Some(format!(
                                    "the projections checkpoint at this entry is not usable: {why}"
                                ))
                            }
                        }
                    }
                }
                if let Some(p) = problem {
                    broken = Some((seq, p));
                    break;
                }
                if matches!(&seal, seal::SealState::Sealed { seq: s, .. } if *s == seq) {
                    at_seal = Some(hash.clone());
                }
                prev = hash;
                expect_seq += 1;
            }
        }
        let head_seq = expect_seq - 1;
        let sealed_seq = match &seal {
            seal::SealState::Sealed { seq, .. } => Some(*seq),
            _ => None,
        };
        if broken.is_none() {
            broken = match seal {
                seal::SealState::Unsealed => None,
                seal::SealState::Broken(why) => Some((head_seq, why)),
                seal::SealState::Sealed { seq, .. } if seq > head_seq => Some((
                    head_seq,
                    format!(
                        "the journal ends at entry {head_seq} but its head was sealed at entry {seq}: entries were cut off"
                    ),
                )),
                seal::SealState::Sealed { seq, hash } => (at_seal.as_deref()
                    != Some(hash.as_str()))
                .then(|| {
                    (
                        seq,
                        "the entry differs from the sealed head: history was rewritten".to_string(),
                    )
                }),
            };
        }
        Ok(Audit {
            report: VerifyReport {
                entries,
                head_seq,
                head_hash: prev,
                broken,
                sealed_seq,
                checkpoints: checked,
            },
            projections,
            place_commands,
        })
    }
}
