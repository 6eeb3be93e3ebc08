//! Journal durability, ordering and tamper detection.

use sqlx::Executor;

use super::*;
use crate::risk::TradingState;

fn entry(n: u64) -> Entry {
    Entry::RunStarted {
        run_id: format!("run-{n}"),
        mode: "paper".into(),
        seed: n,
    }
}

#[tokio::test]
async fn entries_chain_survive_reopen_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).await.unwrap();
    for n in 0..10 {
        assert_eq!(j.append(n, None, &entry(n)).unwrap(), n as i64 + 1);
    }
    j.commit().await.unwrap();
    // Appended but never committed: gone after a crash (here: a reopen).
    j.append(
        99,
        Some(1),
        &Entry::TradingState {
            state: TradingState::Halted,
            actor: "test".into(),
        },
    )
    .unwrap();
    drop(j);
    let mut j = Journal::open(&path).await.unwrap();
    assert_eq!(j.next_seq(), 11);
    let report = j.verify().await.unwrap();
    assert_eq!(
        (report.entries, report.head_seq, report.broken),
        (10, 10, None)
    );
    j.append(11, Some(2), &entry(11)).unwrap();
    j.commit().await.unwrap();
    let all = j.read_from(1).await.unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!(all[10].entry, entry(11));
    assert_eq!(all[10].strategy, Some(2));
    assert!(j.verify().await.unwrap().broken.is_none());
}

#[tokio::test]
async fn history_cannot_be_edited_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
    for n in 0..5 {
        j.append(n, None, &entry(n)).unwrap();
    }
    j.commit().await.unwrap();
    let err = sqlx::query("UPDATE journal SET body = 'x' WHERE seq = 2")
        .execute(j.pool())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    // Someone with file access drops the guard and edits an entry.
    j.pool()
        .execute("DROP TRIGGER journal_no_update")
        .await
        .unwrap();
    sqlx::query("UPDATE journal SET body = replace(body, 'run-2', 'run-X') WHERE seq = 3")
        .execute(j.pool())
        .await
        .unwrap();
    let report = j.verify().await.unwrap();
    assert_eq!(report.broken.map(|b| b.0), Some(3));
}

#[tokio::test]
async fn batched_commits_and_retained_entries_match_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = Journal::open_with(&path, false).await.unwrap();
    j.set_commit_batch(4);
    j.retain();
    for n in 0..3 {
        j.append(n, Some(1), &entry(n)).unwrap();
    }
    // Below the batch: nothing written yet.
    j.commit().await.unwrap();
    assert!(j.read_from(1).await.unwrap().is_empty());
    j.append(3, None, &entry(3)).unwrap();
    j.commit().await.unwrap();
    assert_eq!(j.read_from(1).await.unwrap().len(), 4);
    // More than one multi-row statement's worth, then a flush of the tail.
    for n in 4..600 {
        j.append(n, None, &entry(n)).unwrap();
    }
    j.flush().await.unwrap();
    let stored = j.read_from(1).await.unwrap();
    assert_eq!(stored.len(), 600);
    assert_eq!(j.retained().unwrap(), &stored[..]);
    assert_eq!(j.verify().await.unwrap().broken, None);
}

#[test]
fn pauses_survive_a_replay() {
    let stored = |seq: i64, paused: bool| Stored {
        seq,
        ts_ns: seq,
        strategy: Some(2),
        entry: Entry::StrategyPaused {
            strategy: 2,
            paused,
            actor: "olive".into(),
        },
        hash: String::new(),
    };
    let p = Projections::replay(&[stored(1, true)]);
    assert!(p.paused.contains(&2));
    let p = Projections::replay(&[stored(1, true), stored(2, false)]);
    assert!(p.paused.is_empty());
}

#[tokio::test]
async fn a_journal_written_behind_holds_the_same_chain_and_readers_see_every_flushed_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut now, mut behind) = (
        Journal::open_with(&dir.path().join("now.db"), false)
            .await
            .unwrap(),
        Journal::open_with(&dir.path().join("behind.db"), false)
            .await
            .unwrap(),
    );
    behind.write_behind().await.unwrap();
    for j in [&mut now, &mut behind] {
        j.set_commit_batch(7);
        for n in 0..100u64 {
            j.append(n, Some(1), &entry(n)).unwrap();
            if n % 10 == 0 {
                j.append_snapshot(n, 1, &n.to_le_bytes(), n).unwrap();
            }
            j.commit().await.unwrap();
        }
        j.flush().await.unwrap();
    }
    // Read at once after the flush: nothing handed over is missing.
    let (a, b) = (
        now.read_from(1).await.unwrap(),
        behind.read_from(1).await.unwrap(),
    );
    assert_eq!(a.len(), 110);
    assert_eq!(a, b);
    assert_eq!(behind.verify().await.unwrap().broken, None);
    behind.finish().await.unwrap();
    now.finish().await.unwrap();
    assert_eq!(now.verify().await.unwrap(), behind.verify().await.unwrap());
    assert_eq!(behind.verify().await.unwrap().sealed_seq, Some(110));
}

/// Opens a journal of five entries at `path`, committed and sealed.
async fn sealed_journal(path: &std::path::Path) -> Journal {
    let mut j = Journal::open(path).await.unwrap();
    for n in 0..5 {
        j.append(n, None, &entry(n)).unwrap();
    }
    j.commit().await.unwrap();
    j.finish().await.unwrap();
    let report = j.verify().await.unwrap();
    assert_eq!((report.broken, report.sealed_seq), (None, Some(5)));
    j
}

#[tokio::test]
async fn a_history_rewritten_and_chained_again_is_caught_by_the_sealed_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let j = sealed_journal(&path).await;
    let key = std::fs::metadata(SealPaths::of(&path).key).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
    // Someone with the database but not the key edits entry 3 and chains
    // every later entry again: the chain alone would verify.
    j.pool()
        .execute("DROP TRIGGER journal_no_update")
        .await
        .unwrap();
    let rows = j.read_from(1).await.unwrap();
    let mut prev = rows[1].hash.clone();
    for r in &rows[2..] {
        let row = sqlx::query("SELECT ts_ns, kind, strategy, body FROM journal WHERE seq = ?")
            .bind(r.seq)
            .fetch_one(j.pool())
            .await
            .unwrap();
        use sqlx::Row;
        let body: String = row.get("body");
        let body = body.replace("run-2", "run-X");
        let hash = chain_hash(
            &prev,
            r.seq,
            row.get("ts_ns"),
            row.get::<String, _>("kind").as_str(),
            row.get("strategy"),
            &body,
        );
        sqlx::query("UPDATE journal SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?")
            .bind(&body)
            .bind(&prev)
            .bind(&hash)
            .bind(r.seq)
            .execute(j.pool())
            .await
            .unwrap();
        prev = hash;
    }
    let report = j.verify().await.unwrap();
    let (seq, why) = report.broken.expect("caught");
    assert_eq!(seq, 5);
    assert!(why.contains("history was rewritten"), "{why}");
}

#[tokio::test]
async fn a_cut_off_tail_and_a_forged_head_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let j = sealed_journal(&path).await;
    j.pool()
        .execute("DROP TRIGGER journal_no_delete")
        .await
        .unwrap();
    sqlx::query("DELETE FROM journal WHERE seq > 3")
        .execute(j.pool())
        .await
        .unwrap();
    let (seq, why) = j.verify().await.unwrap().broken.expect("caught");
    assert_eq!(seq, 3);
    assert!(why.contains("cut off"), "{why}");
    // Resealing at entry 3 without the key: the signature gives it away.
    let head_path = SealPaths::of(&path).head;
    let mut head: SealedHead = serde_json::from_slice(&std::fs::read(&head_path).unwrap()).unwrap();
    head.seq = 3;
    head.hash = j.read_from(3).await.unwrap()[0].hash.clone();
    std::fs::write(&head_path, serde_json::to_vec(&head).unwrap()).unwrap();
    let (_, why) = j.verify().await.unwrap().broken.expect("caught");
    assert!(why.contains("forged"), "{why}");
    // Deleting the head while the key is there is caught too.
    std::fs::remove_file(&head_path).unwrap();
    let (_, why) = j.verify().await.unwrap().broken.expect("caught");
    assert!(why.contains("missing"), "{why}");
}

#[tokio::test]
async fn a_busy_journal_reseals_at_most_once_a_second_and_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let mut j = Journal::open(&path).await.unwrap();
    for n in 0..50 {
        j.append(n, None, &entry(n)).unwrap();
        j.commit().await.unwrap();
    }
    // The first commit sealed; the rest fell inside the same second.
    let head: SealedHead =
        serde_json::from_slice(&std::fs::read(SealPaths::of(&path).head).unwrap()).unwrap();
    assert!(head.seq < 50, "sealed {}", head.seq);
    let report = j.verify().await.unwrap();
    assert_eq!(report.broken, None, "a seal behind the end is fine");
    drop(j);
    let j = Journal::open(&path).await.unwrap();
    assert_eq!(
        j.verify().await.unwrap().sealed_seq,
        Some(50),
        "sealed on close"
    );
}

#[tokio::test]
async fn a_write_that_fails_behind_the_engine_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open_with(&dir.path().join("j.db"), false)
        .await
        .unwrap();
    j.write_behind().await.unwrap();
    j.pool().execute("DROP TABLE journal").await.unwrap();
    j.append(1, None, &entry(1)).unwrap();
    j.flush().await.unwrap();
    let err = j.finish().await.unwrap_err();
    assert!(err.to_string().contains("journal"), "{err}");
}

#[tokio::test]
async fn the_journal_keeps_its_indexes_and_triggers_but_no_index_on_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
    for n in 0..3 {
        j.append(n, Some(1), &entry(n)).unwrap();
    }
    j.commit().await.unwrap();
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal' ORDER BY name",
    )
    .fetch_all(j.pool())
    .await
    .unwrap();
    let names: Vec<&str> = indexes.iter().map(|(n,)| n.as_str()).collect();
    // Appends write to the end of these; a hash index would take a random page.
    assert_eq!(names, ["journal_kind", "journal_strategy"]);
    assert!(
        j.pool()
            .execute("UPDATE journal SET body = '{}'")
            .await
            .is_err()
    );
    assert!(j.pool().execute("DELETE FROM journal").await.is_err());
    assert_eq!(j.verify().await.unwrap().broken, None);
}

#[tokio::test]
async fn reading_by_kind_equals_filtering_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
    for n in 0..12u64 {
        let e = if n % 3 == 0 {
            Entry::TradingState {
                state: TradingState::Halted,
                actor: format!("op-{n}"),
            }
        } else {
            entry(n)
        };
        j.append(n, None, &e).unwrap();
    }
    j.commit().await.unwrap();
    let all = j.read_from(1).await.unwrap();
    for from in [1, 5, 12, 13] {
        let kinds = ["trading_state", "run_started"];
        let want: Vec<_> = all
            .iter()
            .filter(|s| s.seq >= from && kinds.contains(&s.entry.kind()))
            .cloned()
            .collect();
        assert_eq!(j.read_kinds_from(from, &kinds).await.unwrap(), want);
    }
    assert!(j.read_kinds_from(1, &["order"]).await.unwrap().is_empty());
}
