//! Backups: round trip, damage detection, refusal of non-empty targets,
//! retention.

use std::fs;
use std::path::Path;

use super::*;
use crate::risk::TradingState;
use crate::store::{Entry, Journal};

async fn environment(dir: &Path) -> PathBuf {
    let db = dir.join("env.db");
    let mut j = Journal::open(&db).await.unwrap();
    for n in 0..50u64 {
        j.append(
            n,
            None,
            &Entry::TradingState {
                state: TradingState::Active,
                actor: format!("op-{n}"),
            },
        )
        .unwrap();
    }
    j.commit().await.unwrap();
    drop(j);
    crate::store::auth_db::open_auth(&db)
        .await
        .unwrap()
        .close()
        .await;
    fs::create_dir_all(dir.join("artifacts/ab")).unwrap();
    fs::write(dir.join("artifacts/ab/c.wasm"), b"\0asm component bytes").unwrap();
    db
}

fn file_names(m: &Manifest) -> Vec<&str> {
    m.files.iter().map(|f| f.name.as_str()).collect()
}

#[tokio::test]
async fn a_backup_restores_every_file_and_the_journal_verifies() {
    let src = tempfile::tempdir().unwrap();
    let db = environment(src.path()).await;
    let dest = tempfile::tempdir().unwrap();
    let m = take(&db, dest.path(), 1_765_000_000_000_000_000)
        .await
        .unwrap();
    assert_eq!(m.id, "20251206T054640Z");
    assert_eq!(m.journal_head.as_ref().map(|h| h.0), Some(50));
    let names = file_names(&m);
    assert!(names.contains(&"env.db"), "{names:?}");
    assert!(names.contains(&"env.auth.db"), "{names:?}");
    assert!(names.contains(&"artifacts/ab/c.wasm"), "{names:?}");
    assert_eq!(list(dest.path()).unwrap(), vec![m.clone()]);
    assert_eq!(check(dest.path(), "latest").unwrap(), m);

    let into = tempfile::tempdir().unwrap();
    let restored = into.path().join("new");
    restore(dest.path(), &m.id, &restored).unwrap();
    assert_eq!(
        fs::read(restored.join("artifacts/ab/c.wasm")).unwrap(),
        b"\0asm component bytes"
    );
    assert!(
        m.sealed() && !names.iter().any(|n| n.ends_with(".key")),
        "{names:?}"
    );
    // Sealed, the restored journal does not verify without its key.
    let restored_db = restored.join("env.db");
    assert!(
        Journal::open(&restored_db)
            .await
            .unwrap()
            .verify()
            .await
            .unwrap()
            .broken
            .is_some()
    );
    install_key(&SealPaths::of(&db).key, &restored_db).unwrap();
    install_key(&SealPaths::of(&db).key, &restored_db).unwrap();
    let j = Journal::open(&restored_db).await.unwrap();
    let report = j.verify().await.unwrap();
    assert_eq!((report.entries, report.broken), (50, None));
    assert_eq!(
        j.read_from(1).await.unwrap(),
        Journal::open(&db)
            .await
            .unwrap()
            .read_from(1)
            .await
            .unwrap()
    );
    // Nothing of the restore's staging is left behind.
    let mut left: Vec<_> = fs::read_dir(&restored)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
}

#[tokio::test]
async fn a_damaged_backup_is_refused_and_the_target_stays_empty() {
    let src = tempfile::tempdir().unwrap();
    let db = environment(src.path()).await;
    let dest = tempfile::tempdir().unwrap();
    let m = take(&db, dest.path(), 1).await.unwrap();
    let victim = m.files.iter().find(|f| f.name == "env.db").unwrap();
    let path = dest.path().join(&m.id).join(&victim.stored);
    // Another valid zstd stream of other content: only the checksum can tell.
    fs::write(&path, zstd::encode_all(&b"not the journal"[..], 3).unwrap()).unwrap();
    let err = check(dest.path(), &m.id).unwrap_err().to_string();
    assert!(err.contains("env.db") && err.contains("SHA-256"), "{err}");
    let into = tempfile::tempdir().unwrap();
    let err = restore(dest.path(), &m.id, into.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("env.db"), "{err}");
    assert_eq!(fs::read_dir(into.path()).unwrap().count(), 0);
    // A truncated file too.
    fs::write(&path, b"\x28\xb5\x2f\xfd").unwrap();
    assert!(restore(dest.path(), &m.id, into.path()).is_err());
    assert_eq!(fs::read_dir(into.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn restore_refuses_a_directory_with_anything_in_it() {
    let src = tempfile::tempdir().unwrap();
    let db = environment(src.path()).await;
    let dest = tempfile::tempdir().unwrap();
    take(&db, dest.path(), 1).await.unwrap();
    let err = restore(dest.path(), "latest", src.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not empty"), "{err}");
    let err = restore(dest.path(), "nope", &src.path().join("x"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no backup nope") && err.contains("19700101T000000Z"),
        "{err}"
    );
}

#[tokio::test]
async fn a_manifest_cannot_write_outside_the_target() {
    let src = tempfile::tempdir().unwrap();
    let db = environment(src.path()).await;
    let dest = tempfile::tempdir().unwrap();
    let mut m = take(&db, dest.path(), 1).await.unwrap();
    m.files[0].name = "../escaped".into();
    fs::write(
        dest.path().join(&m.id).join("manifest.json"),
        serde_json::to_vec(&m).unwrap(),
    )
    .unwrap();
    let into = tempfile::tempdir().unwrap();
    let err = restore(dest.path(), &m.id, &into.path().join("t"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("leaves the backup"), "{err}");
    assert!(!into.path().join("escaped").exists());
}

#[tokio::test]
async fn interrupted_backups_are_not_listed_and_retention_keeps_the_newest() {
    let src = tempfile::tempdir().unwrap();
    let db = environment(src.path()).await;
    let dest = tempfile::tempdir().unwrap();
    for n in 0..4u64 {
        take(&db, dest.path(), n * 86_400_000_000_000)
            .await
            .unwrap();
    }
    // Two in the same second get distinct ids.
    let again = take(&db, dest.path(), 3 * 86_400_000_000_000)
        .await
        .unwrap();
    assert_eq!(again.id, "19700104T000000Z-2");
    fs::create_dir_all(dest.path().join(".partial-19700105T000000Z/files")).unwrap();
    assert_eq!(list(dest.path()).unwrap().len(), 5);
    let gone = prune(dest.path(), 2).unwrap();
    assert_eq!(
        gone,
        ["19700101T000000Z", "19700102T000000Z", "19700103T000000Z"]
    );
    let ids: Vec<String> = list(dest.path())
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["19700104T000000Z", "19700104T000000Z-2"]);
    assert!(dest.path().join(".partial-19700105T000000Z").exists());
}
