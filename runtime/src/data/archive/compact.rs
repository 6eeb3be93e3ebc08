//! Compaction: a finished day's SQLite file becomes `DAY.sqlite.zst` (verified
//! to decompress to identical bytes before the original is removed); replay of a
//! compacted day decompresses to a temporary file first.

use std::io::{Read, Write};
use std::path::Path;

use std::str::FromStr;

use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;

use super::{Archive, ArchiveError, io_err, sql_err};

/// zstd level: old partitions are written once and read rarely.
const LEVEL: i32 = 19;

pub(super) async fn compact(archive: &Archive, day: &str) -> Result<u64, ArchiveError> {
    let plain = archive.partition_path(day);
    // Fold the WAL into the main file so the single file is the whole day. One
    // connection: changing the journal mode needs to be the only one, and SQLite
    // answers "locked" at once (no busy wait) while a just-closed reader's
    // connection is still going away, so the switch is retried for a while.
    let mut attempt = 0;
    loop {
        match fold_wal(&plain).await {
            Ok(()) => break,
            Err(e) if attempt < 50 && e.to_string().contains("locked") => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
    let original = std::fs::read(&plain).map_err(|e| io_err(&plain, e))?;
    let packed = zstd::encode_all(&original[..], LEVEL).map_err(|e| io_err(&plain, e))?;
    let unpacked = zstd::decode_all(&packed[..]).map_err(|e| io_err(&plain, e))?;
    if unpacked != original {
        return Err(ArchiveError::Refused(format!(
            "{day}: compressed copy does not decompress to the original; nothing changed"
        )));
    }
    let target = archive.compressed_path(day);
    let tmp = target.with_extension("zst.tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(&packed).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, &target).map_err(|e| io_err(&target, e))?;
    let path = archive.dir().join("index.sqlite");
    sqlx::query("UPDATE partitions SET compressed = 1 WHERE day = ?")
        .bind(day)
        .execute(archive.index())
        .await
        .map_err(sql_err(&path))?;
    for suffix in ["", "-wal", "-shm"] {
        let p = archive.dir().join(format!("{day}.sqlite{suffix}"));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
        }
    }
    Ok(packed.len() as u64)
}

/// Checkpoints the WAL into the file and leaves it in rollback-journal mode.
async fn fold_wal(plain: &Path) -> Result<(), ArchiveError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", plain.display()))
        .map_err(|e| io_err(plain, e))?
        .busy_timeout(std::time::Duration::from_secs(10));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(sql_err(plain))?;
    let result = async {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        sqlx::query("PRAGMA journal_mode=DELETE")
            .execute(&mut conn)
            .await
    }
    .await;
    conn.close().await.map_err(sql_err(plain))?;
    result.map(|_| ()).map_err(sql_err(plain))
}

/// Decompresses a compacted day into a temporary file that lives as long as the
/// returned handle.
pub(super) fn decompress_to_temp(path: &Path) -> Result<tempfile::NamedTempFile, ArchiveError> {
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut decoder = zstd::Decoder::new(f).map_err(|e| io_err(path, e))?;
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| io_err(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = decoder.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        tmp.write_all(&buf[..n]).map_err(|e| io_err(path, e))?;
    }
    tmp.flush().map_err(|e| io_err(path, e))?;
    Ok(tmp)
}
