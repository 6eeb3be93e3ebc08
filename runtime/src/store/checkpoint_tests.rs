//! Projection checkpoints: a start reads the newest one that checks and
//! replays only what follows; one that was altered, signed with another key
//! or written by another format is not used; `verify` compares each with the
//! replay.

use sqlx::Executor;

use super::*;
use crate::risk::TradingState;

fn entry(n: u64) -> Entry {
    if n.is_multiple_of(3) {
        Entry::TradingState {
            state: if n.is_multiple_of(2) {
                TradingState::Halted
            } else {
                TradingState::Active
            },
            actor: format!("op-{n}"),
        }
    } else {
        Entry::RunStarted {
            run_id: format!("run-{n}"),
            mode: "paper".into(),
            seed: n,
        }
    }
}

/// A journal of `n` entries written with projections tracked and a
/// checkpoint every `every`, committed every 7 entries.
async fn tracked(path: &std::path::Path, n: u64, every: u64) -> Journal {
    let mut j = Journal::open(path).await.unwrap();
    let base = j.projections().await.unwrap();
    j.track_projections(base, every);
    for i in 0..n {
        j.append(i + 1, None, &entry(i)).unwrap();
        if i % 7 == 6 {
            j.commit().await.unwrap();
        }
    }
    j.commit().await.unwrap();
    j
}

async fn checkpoint_seqs(j: &Journal) -> Vec<i64> {
    sqlx::query_scalar("SELECT seq FROM projection_checkpoints ORDER BY seq")
        .fetch_all(j.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_start_from_the_newest_checkpoint_equals_a_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = tracked(&path, 200, 30).await;
    // Written with the batches that reach 30 entries since the last; two kept.
    let seqs = checkpoint_seqs(&j).await;
    assert_eq!(seqs.len(), 2, "{seqs:?}");
    assert!(seqs[1] > 150, "{seqs:?}");
    let whole = Projections::replay(&j.read_from(1).await.unwrap());
    assert_eq!(j.projections().await.unwrap(), whole);
    assert_eq!(j.tracked_projections(), Some(&whole));
    // Finishing checkpoints the head, so the next start replays nothing.
    j.finish().await.unwrap();
    assert_eq!(checkpoint_seqs(&j).await.last(), Some(&200));
    let report = j.verify().await.unwrap();
    assert_eq!((report.broken, report.checkpoints), (None, 2));
    drop(j);
    let reopened = Journal::open(&path).await.unwrap();
    assert_eq!(reopened.projections().await.unwrap(), whole);
}

#[tokio::test]
async fn a_checkpoint_is_what_a_start_uses_so_verify_compares_it_with_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = tracked(&path, 100, 1_000).await;
    j.finish().await.unwrap();
    // A checkpoint that differs from the replay yet carries a good signature
    // (a bug, or someone holding the key): a start takes it as it is...
    let mut forged = j.projections().await.unwrap();
    forged.trading_state = TradingState::Reducing;
    forged.runs += 1_000;
    let mut t = journal::CheckpointTracker::start(&path, forged.clone(), 1).unwrap();
    t.applied();
    let c = t.due(100, j.head().1, true).unwrap().unwrap();
    let mut tx = j.pool().begin().await.unwrap();
    journal::write_checkpoint_for_tests(&mut tx, &c)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(j.projections().await.unwrap(), forged);
    // ...and verification, which replays, says so.
    let report = j.verify().await.unwrap();
    let (seq, why) = report.broken.unwrap();
    assert_eq!(seq, 100);
    assert!(why.contains("differs from the replay"), "{why}");
}

#[tokio::test]
async fn an_altered_or_foreign_checkpoint_is_not_used_and_verify_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = tracked(&path, 60, 1_000).await;
    j.finish().await.unwrap();
    let whole = Projections::replay(&j.read_from(1).await.unwrap());
    // Someone with write access to the file edits the state: the signature
    // no longer checks, so the start replays the journal instead.
    j.pool()
        .execute("UPDATE projection_checkpoints SET state = x'a0'")
        .await
        .unwrap();
    assert_eq!(j.projections().await.unwrap(), whole);
    let (seq, why) = j.verify().await.unwrap().broken.unwrap();
    assert_eq!(seq, 60);
    assert!(why.contains("signature"), "{why}");
    // A checkpoint of another format is skipped at start and by verify.
    j.pool()
        .execute("UPDATE projection_checkpoints SET format = format + 1")
        .await
        .unwrap();
    assert_eq!(j.projections().await.unwrap(), whole);
    assert_eq!(j.verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn projections_of_another_point_are_not_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
    j.append(1, None, &entry(1)).unwrap();
    j.commit().await.unwrap();
    // Projections of the empty journal, one entry behind it.
    j.track_projections(Projections::default(), 1);
    assert!(j.tracked_projections().is_none());
    j.append(2, None, &entry(2)).unwrap();
    j.finish().await.unwrap();
    assert!(checkpoint_seqs(&j).await.is_empty());
}

#[tokio::test]
async fn without_tracking_nothing_is_checkpointed_and_a_start_replays_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
    for n in 0..20 {
        j.append(n, None, &entry(n)).unwrap();
    }
    j.finish().await.unwrap();
    assert!(checkpoint_seqs(&j).await.is_empty());
    let whole = Projections::replay(&j.read_from(1).await.unwrap());
    assert_eq!(j.projections().await.unwrap(), whole);
    assert_eq!(whole.entries, 20);
}
