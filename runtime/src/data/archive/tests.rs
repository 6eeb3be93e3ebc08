//! Recording across midnight, listing, replay, quality reports, compaction.

use super::*;
use crate::data::books::Books;
use crate::data::quality::QualityConfig;
use crate::model::TokenId;
use crate::venue::sim::generator::{Generator, GeneratorConfig};
use crate::venue::sim::wire;

const MIDNIGHT_MS: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// A synthetic session as WS frames, starting 100 s before midnight.
fn session(steps: u64) -> Vec<FeedUpdate> {
    let start = MIDNIGHT_MS - 100_000;
    let mut g = Generator::new(
        GeneratorConfig {
            seed: 4,
            markets: 2,
            ..GeneratorConfig::default()
        },
        start,
    );
    let all = |_: &TokenId| true;
    let mut out = Vec::new();
    let mut push = |ms: u64, events: Vec<crate::model::MarketEvent>| {
        for e in events {
            if let Some(json) = wire::message(&e, &all)
                && let Some(u) = FeedUpdate::from_frame(ms, 0, json.to_string())
            {
                out.push(u);
            }
        }
    };
    let books: Vec<_> = g.tokens().iter().filter_map(|t| g.book(t)).collect();
    push(start, books);
    for _ in 0..steps {
        let events = g.step();
        push(g.now_ms(), events);
    }
    out
}

#[tokio::test]
async fn record_list_replay_check_compact() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).await.unwrap();
    let updates = session(200);
    let mut rec = archive.recorder().with_batch(64);
    for u in &updates {
        rec.record(u).await.unwrap();
    }
    assert_eq!(rec.finish().await.unwrap(), updates.len() as u64);

    let parts = archive.list().await.unwrap();
    let days: Vec<&str> = parts.iter().map(|p| p.day.as_str()).collect();
    assert_eq!(days, vec!["2025-12-31", "2026-01-01"]);
    assert_eq!(
        parts.iter().map(|p| p.payloads).sum::<i64>(),
        updates.len() as i64
    );
    assert_eq!(parts[0].tokens, 4);

    // Replay of both days equals what was recorded, in order.
    let mut replayed = archive.replay("2025-12-31").await.unwrap();
    replayed.extend(archive.replay("2026-01-01").await.unwrap());
    assert_eq!(replayed, updates);

    let report = archive
        .check("2025-12-31", QualityConfig::default())
        .await
        .unwrap();
    assert!(report.clean, "{report:?}");
    assert!(report.events["price_change"] > 0);

    // Compaction keeps replay identical and refuses today's partition.
    let before = archive.replay("2025-12-31").await.unwrap();
    let bytes = archive.compact("2025-12-31", "2026-01-01").await.unwrap();
    assert!(bytes > 0);
    assert!(!archive.partition_path("2025-12-31").exists());
    assert_eq!(archive.replay("2025-12-31").await.unwrap(), before);
    assert!(archive.list().await.unwrap()[0].compressed);
    assert!(matches!(
        archive.compact("2026-01-01", "2026-01-01").await,
        Err(ArchiveError::Refused(_))
    ));
    assert!(matches!(
        archive.compact("2025-12-31", "2026-01-01").await,
        Err(ArchiveError::Refused(_))
    ));
    // A compacted day takes no new data.
    let mut rec = archive.recorder().with_batch(1);
    assert!(matches!(
        rec.record(&before[0]).await,
        Err(ArchiveError::Refused(_))
    ));

    assert!(matches!(
        archive.replay("2026-13-01").await,
        Err(ArchiveError::BadDay(_))
    ));
    assert!(matches!(
        archive.replay("2020-01-01").await,
        Err(ArchiveError::NoPartition(_))
    ));

    // Books rebuilt from the replay equal books fed directly.
    let mut direct = Books::default();
    let mut from_archive = Books::default();
    let mut out = Vec::new();
    for u in &updates {
        for e in &u.events {
            direct.apply(e, 0, &mut out);
        }
    }
    for u in archive
        .replay("2025-12-31")
        .await
        .unwrap()
        .iter()
        .chain(&archive.replay("2026-01-01").await.unwrap())
    {
        for e in &u.events {
            from_archive.apply(e, 0, &mut out);
        }
    }
    for t in direct.tokens() {
        assert_eq!(
            direct.book(t).unwrap().levels(),
            from_archive.book(t).unwrap().levels()
        );
    }
}

#[tokio::test]
async fn imports_report_bad_lines_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("a")).await.unwrap();
    let good: Vec<String> = session(20).iter().map(|u| u.raw.clone()).collect();
    let mut lines = good.clone();
    lines.insert(3, "{not json".into());
    lines.insert(7, r#"{"event_type":"book","asset_id":"1"}"#.into());
    let file = dir.path().join("ws.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let report = archive.import_ws_jsonl(&file).await.unwrap();
    assert_eq!(report.imported, good.len() as u64);
    assert_eq!(report.bad, 2);
    assert_eq!(
        report.first_bad.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec![4, 8]
    );

    let json = dir.path().join("history.json");
    std::fs::write(
        &json,
        r#"{"history":[{"t":1700000000,"p":0.515},{"t":1700000060,"p":1.5}]}"#,
    )
    .unwrap();
    let r = archive.import_prices(&json, Some("123")).await.unwrap();
    assert_eq!((r.imported, r.bad), (1, 1));
    assert!(archive.import_prices(&json, None).await.is_err());
    let csv = dir.path().join("prices.csv");
    std::fs::write(
        &csv,
        "market_id,token_id,outcome,question,timestamp,price\n1,55,Yes,\"Will A, B?\",2023-01-01 00:00:05,0.25\n1,55,Yes,q,bad,0.3\n",
    )
    .unwrap();
    let r = archive.import_prices(&csv, None).await.unwrap();
    assert_eq!((r.imported, r.bad), (1, 1));
}

/// A session crossing midnight whose second day holds no book snapshot: the
/// venue sent its books once, when the recording subscribed. (The generator
/// republishes a market's books when its tick changes; such markets are left
/// out of the second day.)
fn books_once() -> Vec<FeedUpdate> {
    use crate::model::MarketEvent;
    let all = session(300);
    let retick: Vec<crate::model::ConditionId> = all
        .iter()
        .filter(|u| u.received_ms >= MIDNIGHT_MS)
        .flat_map(|u| &u.events)
        .filter(|e| matches!(e, MarketEvent::TickSize { .. }))
        .map(|e| e.market().clone())
        .collect();
    let kept: Vec<FeedUpdate> = all
        .into_iter()
        .filter(|u| {
            u.received_ms < MIDNIGHT_MS
                || u.events
                    .iter()
                    .all(|e| !retick.contains(e.market()) && !matches!(e, MarketEvent::Book { .. }))
        })
        .collect();
    assert!(
        kept.iter()
            .any(|u| u.received_ms >= MIDNIGHT_MS && !u.events.is_empty())
    );
    kept
}

/// What a day file should replay: the stored updates without their text.
fn bare(updates: Vec<FeedUpdate>) -> Vec<FeedUpdate> {
    updates
        .into_iter()
        .map(|mut u| {
            u.raw.clear();
            u.errors.clear();
            u
        })
        .collect()
}

fn read_file(archive: &Archive, day: &str) -> Vec<FeedUpdate> {
    columnar::DayReader::open(&archive.day_file_path(day))
        .unwrap()
        .map(|u| u.unwrap())
        .collect()
}

#[tokio::test]
async fn days_join_up_across_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).await.unwrap();
    // Books arrive once, before midnight; the second day holds only changes.
    let updates = books_once();
    let mut rec = archive.recorder().with_batch(50);
    for u in &updates {
        rec.record(u).await.unwrap();
    }
    rec.finish().await.unwrap();
    let (first, second) = ("2025-12-31", "2026-01-01");
    let parts = archive.list().await.unwrap();
    assert!(
        parts[1].books == 0 && parts[1].level_changes > 0,
        "{parts:?}"
    );

    // The recorder wrote both day files as the days went, and they replay
    // what the raw partitions hold.
    for day in [first, second] {
        assert!(matches!(
            archive.day_file(day).await.unwrap(),
            DayFile::Current(_)
        ));
        assert_eq!(
            read_file(&archive, day),
            bare(archive.replay(day).await.unwrap())
        );
    }
    let metas = archive
        .ensure_day_files(&[first.to_string(), second.to_string()])
        .await
        .unwrap();
    assert_eq!(metas[1].opening_from.as_deref(), Some(first));
    assert_eq!(metas[1].opening, metas[0].closing);
    assert_eq!(
        metas[0]
            .closing
            .iter()
            .filter(|e| matches!(e, crate::model::MarketEvent::Book { .. }))
            .count(),
        4
    );

    // The second day checks from the first day's final books.
    let report = archive
        .check(second, QualityConfig::default())
        .await
        .unwrap();
    assert_eq!(report.status, "clean", "{report:?}");
    assert_eq!(report.opened_from.as_deref(), Some(first));
    assert_eq!(report.day_file, "agrees");
    assert!(
        !report.warnings.contains_key("change_before_snapshot"),
        "{report:?}"
    );
    assert!(report.level_changes > 0);

    // Replaying the second day alone ends with the books of the whole session.
    let session_updates = archive.replay_session(second).await.unwrap();
    let (mut whole, mut alone, mut out) = (Books::default(), Books::default(), Vec::new());
    for u in &updates {
        u.events
            .iter()
            .for_each(|e| whole.apply(e, u.received_ms, &mut out));
    }
    for u in &session_updates {
        u.events
            .iter()
            .for_each(|e| alone.apply(e, u.received_ms, &mut out));
    }
    for t in whole.tokens() {
        assert_eq!(
            whole.book(t).unwrap().levels(),
            alone.book(t).unwrap().levels()
        );
        assert_eq!(
            alone.book(t).unwrap().state(),
            crate::data::book::BookState::Live
        );
    }

    // Rebuilding the first day leaves the second current (nothing changed).
    std::fs::remove_file(archive.day_file_path(first)).unwrap();
    let rebuilt = archive.reindex(first).await.unwrap();
    assert_eq!(
        rebuilt.len(),
        1,
        "the second day still opens as the first closes"
    );
    assert_eq!(rebuilt[0].digest, metas[0].digest);

    // A later session adding to the second day makes its file stale; the
    // recorder rebuilds it when it finishes.
    let late = FeedUpdate {
        received_ms: updates.last().unwrap().received_ms + 1_000,
        ..updates.last().unwrap().clone()
    };
    let mut rec = archive.recorder().with_batch(1);
    rec.record(&late).await.unwrap();
    assert!(matches!(
        archive.day_file(second).await.unwrap(),
        DayFile::Stale(_)
    ));
    rec.finish().await.unwrap();
    assert!(matches!(
        archive.day_file(second).await.unwrap(),
        DayFile::Current(_)
    ));
    assert_eq!(
        read_file(&archive, second),
        bare(archive.replay(second).await.unwrap())
    );
}

#[tokio::test]
async fn a_day_whose_books_never_went_live_is_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).await.unwrap();
    // Only the second day of the session: changes, never a book.
    let mut rec = archive.recorder().with_batch(50);
    for u in books_once().iter().filter(|u| u.received_ms >= MIDNIGHT_MS) {
        rec.record(u).await.unwrap();
    }
    rec.finish().await.unwrap();
    let report = archive
        .check("2026-01-01", QualityConfig::default())
        .await
        .unwrap();
    assert_eq!(report.status, "unchecked", "{report:?}");
    assert!(!report.clean);
    assert!(!report.never_live.is_empty());
    assert_eq!(report.never_live.len(), report.tokens.len());
    assert_eq!(report.opened_from, None);
}

#[tokio::test]
async fn an_update_out_of_order_rebuilds_its_day_and_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).await.unwrap();
    let updates = session(300);
    let split = updates
        .iter()
        .position(|u| u.received_ms >= MIDNIGHT_MS)
        .unwrap();
    let mut rec = archive.recorder().with_batch(50);
    // The first day's last book changes arrive after the second day began.
    let (early, late) = updates[..split].split_at(split - 5);
    for u in early.iter().chain(&updates[split..]).chain(late) {
        rec.record(u).await.unwrap();
    }
    rec.finish().await.unwrap();
    let metas = archive
        .ensure_day_files(&["2025-12-31".into(), "2026-01-01".into()])
        .await
        .unwrap();
    assert_eq!(metas[1].opening, metas[0].closing);
    assert_eq!(
        read_file(&archive, "2025-12-31"),
        bare(archive.replay("2025-12-31").await.unwrap())
    );
    let report = archive
        .check("2026-01-01", QualityConfig::default())
        .await
        .unwrap();
    assert_eq!(report.day_file, "agrees", "{report:?}");
}
