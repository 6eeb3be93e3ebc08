//! Backups of an environment: consistent online copies of its databases (the
//! journal's, users and audit), the journal's sealed head, and the uploaded
//! components, each compressed with its checksum; listing, retention, and a
//! restore that writes nothing unless every checksum holds.
//!
//! The journal key is never in a backup: whoever holds a journal and its key
//! can rewrite history and seal it again, so the key is kept apart and given
//! to the restore ([`install_key`]).
//!
//! A backup is a directory `<dest>/<id>/` with `manifest.json` and the packed
//! files under `files/`. It is assembled under a hidden name and renamed into
//! place whole, so an interrupted backup is never listed or restored.

mod pack;
mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SealPaths;
use super::auth_db::auth_path;

/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const PARTIAL: &str = ".partial-";
const ARTIFACTS: &str = "artifacts";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("copying database {path}: {message}")]
    Snapshot { path: String, message: String },
    #[error("no database at {0} (nothing has run in this environment yet)")]
    NoDatabase(String),
    #[error("no backup {id} in {dest} (there are: {known})")]
    Unknown {
        id: String,
        dest: String,
        known: String,
    },
    #[error("backup {id}: {message}")]
    Damaged { id: String, message: String },
    #[error("restoring into {path}: {message}")]
    Target { path: String, message: String },
}

/// What one file of a backup was and where it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Where it goes, relative to the restored directory.
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where it is, relative to the backup's directory.
    pub stored: String,
    pub stored_bytes: u64,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    /// Wall clock when it began, ns since the epoch.
    pub created_ns: u64,
    /// The pqap version that wrote it.
    pub version: String,
    /// The journal database's file name (the restored environment's `database`).
    pub database: String,
    /// The last journal entry the copy holds (sequence, chain hash).
    pub journal_head: Option<(i64, String)>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Bytes the backup takes in storage.
    pub fn stored_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.stored_bytes).sum()
    }

    /// Bytes it restores to.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `20261206T045501Z` for a wall-clock time: sorts as it happened.
fn id_at(now_ns: u64) -> String {
    let text = crate::model::time::utc_datetime(i64::try_from(now_ns).unwrap_or(i64::MAX));
    let compact: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ' ')
        .map(|c| if c == ' ' { 'T' } else { c })
        .collect();
    format!("{compact}Z")
}

/// What goes into a backup of the environment whose journal is `db`: the
/// name it restores to and where to read it now.
enum Source {
    Database(PathBuf),
    File(PathBuf),
}

fn sources(db: &Path, database: &str) -> Result<Vec<(String, Source)>, BackupError> {
    let mut out = Vec::new();
    // The seal first: it must not be ahead of the journal copied after it.
    let seal = SealPaths::of(db);
    if seal.head.exists() {
        out.push((format!("{database}.head"), Source::File(seal.head)));
    }
    out.push((database.to_string(), Source::Database(db.to_path_buf())));
    let auth = auth_path(db);
    if auth.exists() {
        let name = auth
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        out.push((name, Source::Database(auth)));
    }
    if let Some(dir) = db
        .parent()
        .map(|d| d.join(ARTIFACTS))
        .filter(|d| d.is_dir())
    {
        let mut files = Vec::new();
        collect_files(&dir, &mut files)?;
        files.sort();
        for f in files {
            let rel = f.strip_prefix(&dir).map_err(|e| io_err(&f, e))?;
            out.push((
                format!("{ARTIFACTS}/{}", rel.display()),
                Source::File(f.clone()),
            ));
        }
    }
    Ok(out)
}

/// Creates `dir` readable by this user only: backups hold the journal key.
fn private_dir(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err(dir, e))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BackupError> {
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let kind = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
        if kind.is_dir() {
            collect_files(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Backs up the environment whose journal database is `db` into `dest`
/// while it runs, and returns the new backup's manifest.
pub async fn take(db: &Path, dest: &Path, now_ns: u64) -> Result<Manifest, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.display().to_string()));
    }
    let database = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io_err(db, "not a file name"))?;
    fs::create_dir_all(dest).map_err(|e| io_err(dest, e))?;
    let mut id = id_at(now_ns);
    let mut n = 1;
    while dest.join(&id).exists() {
        n += 1;
        id = format!("{}-{n}", id_at(now_ns));
    }
    let staging = dest.join(format!("{PARTIAL}{id}"));
    let result = assemble(db, &database, &staging, &id, now_ns).await;
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let done = dest.join(&id);
    fs::rename(&staging, &done).map_err(|e| io_err(&done, e))?;
    fs::File::open(dest)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dest, e))?;
    tracing::info!(backup = %id, files = manifest.files.len(), bytes = manifest.stored_bytes(), "backup taken");
    Ok(manifest)
}

async fn assemble(
    db: &Path,
    database: &str,
    staging: &Path,
    id: &str,
    now_ns: u64,
) -> Result<Manifest, BackupError> {
    private_dir(staging)?;
    let copies = tempfile::tempdir_in(staging).map_err(|e| io_err(staging, e))?;
    let mut files = Vec::new();
    let mut journal_head = None;
    for (i, (name, source)) in sources(db, database)?.into_iter().enumerate() {
        let read_from = match source {
            Source::File(path) => path,
            Source::Database(path) => {
                let copy = copies.path().join(format!("{i}.db"));
                snapshot::copy(&path, &copy).await?;
                if name == database {
                    journal_head = snapshot::journal_head(&copy).await?;
                }
                copy
            }
        };
        let stored = format!("files/{i:04}.zst");
        let packed = pack::pack(&read_from, &staging.join(&stored))?;
        files.push(FileEntry {
            name,
            bytes: packed.bytes,
            sha256: packed.sha256,
            stored,
            stored_bytes: packed.stored_bytes,
        });
    }
    drop(copies);
    let manifest = Manifest {
        format: FORMAT,
        id: id.to_string(),
        created_ns: now_ns,
        version: env!("CARGO_PKG_VERSION").to_string(),
        database: database.to_string(),
        journal_head,
        files,
    };
    let path = staging.join(MANIFEST);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| io_err(&path, e))?;
    fs::write(&path, text)
        .and_then(|()| fs::File::open(&path)?.sync_all())
        .map_err(|e| io_err(&path, e))?;
    Ok(manifest)
}

/// The complete backups in `dest`, oldest first. One whose manifest cannot
/// be read is skipped with a warning (it shows as damaged in `check`).
pub fn list(dest: &Path) -> Result<Vec<Manifest>, BackupError> {
    if !dest.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs::read_dir(dest).map_err(|e| io_err(dest, e))? {
        let entry = entry.map_err(|e| io_err(dest, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        match read_manifest(&entry.path(), &name) {
            Ok(m) => out.push(m),
            Err(e) => tracing::warn!(backup = %name, error = %e, "not a readable backup"),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn read_manifest(dir: &Path, id: &str) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let text = fs::read(&path).map_err(|e| io_err(&path, e))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| BackupError::Damaged {
        id: id.to_string(),
        message: format!("{MANIFEST}: {e}"),
    })?;
    if m.format != FORMAT {
        return Err(BackupError::Damaged {
            id: id.to_string(),
            message: format!("format {} (this pqap reads {FORMAT})", m.format),
        });
    }
    if m.id != id {
        return Err(BackupError::Damaged {
            id: id.to_string(),
            message: format!("its manifest names backup {}", m.id),
        });
    }
    Ok(m)
}

/// The backup `id` in `dest` (`latest`: the newest).
pub fn find(dest: &Path, id: &str) -> Result<Manifest, BackupError> {
    let all = list(dest)?;
    let found = if id == "latest" {
        all.last()
    } else {
        all.iter().find(|m| m.id == id)
    };
    match found {
        Some(m) => Ok(m.clone()),
        None if dest.join(id).is_dir() => read_manifest(&dest.join(id), id),
        None => Err(BackupError::Unknown {
            id: id.to_string(),
            dest: dest.display().to_string(),
            known: if all.is_empty() {
                "none".into()
            } else {
                all.iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }),
    }
}

/// A name from a manifest, refused unless it stays inside the directory.
fn inside(root: &Path, name: &str, id: &str) -> Result<PathBuf, BackupError> {
    let rel = Path::new(name);
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain || name.is_empty() {
        return Err(BackupError::Damaged {
            id: id.to_string(),
            message: format!("file name {name:?} leaves the backup"),
        });
    }
    Ok(root.join(rel))
}

/// Checks every file of backup `id` against its checksum without writing.
pub fn check(dest: &Path, id: &str) -> Result<Manifest, BackupError> {
    let m = find(dest, id)?;
    let dir = dest.join(&m.id);
    for f in &m.files {
        let stored = inside(&dir, &f.stored, &m.id)?;
        inside(&dir, &f.name, &m.id)?;
        pack::unpack(&stored, None, f.bytes, &f.sha256).map_err(|e| BackupError::Damaged {
            id: m.id.clone(),
            message: format!("{}: {e}", f.name),
        })?;
    }
    Ok(m)
}

/// Restores backup `id` into `into`, which must be missing or empty. Every
/// file is unpacked beside the target and checked first; only when all hold
/// are they moved in, so a damaged backup leaves `into` as it was. Returns
/// the manifest; the restored journal is `into/<manifest.database>`.
pub fn restore(dest: &Path, id: &str, into: &Path) -> Result<Manifest, BackupError> {
    let m = find(dest, id)?;
    let target_err = |message: String| BackupError::Target {
        path: into.display().to_string(),
        message,
    };
    if into.exists() {
        let mut entries = fs::read_dir(into).map_err(|e| target_err(e.to_string()))?;
        if entries.next().is_some() {
            return Err(target_err(
                "it is not empty (restore only into a new or empty directory)".into(),
            ));
        }
    }
    fs::create_dir_all(into).map_err(|e| target_err(e.to_string()))?;
    let staging = into.join(format!("{PARTIAL}{}", m.id));
    let unpacked = (|| {
        private_dir(&staging)?;
        let dir = dest.join(&m.id);
        for f in &m.files {
            let stored = inside(&dir, &f.stored, &m.id)?;
            let to = inside(&staging, &f.name, &m.id)?;
            pack::unpack(&stored, Some(&to), f.bytes, &f.sha256).map_err(|e| {
                BackupError::Damaged {
                    id: m.id.clone(),
                    message: format!("{}: {e}", f.name),
                }
            })?;
        }
        Ok::<_, BackupError>(())
    })();
    if let Err(e) = unpacked {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    for entry in fs::read_dir(&staging).map_err(|e| target_err(e.to_string()))? {
        let entry = entry.map_err(|e| target_err(e.to_string()))?;
        let to = into.join(entry.file_name());
        fs::rename(entry.path(), &to).map_err(|e| target_err(e.to_string()))?;
    }
    fs::remove_dir(&staging).map_err(|e| target_err(e.to_string()))?;
    fs::File::open(into)
        .and_then(|d| d.sync_all())
        .map_err(|e| target_err(e.to_string()))?;
    Ok(m)
}

impl Manifest {
    /// Whether the journal it holds was sealed (then restoring it needs the
    /// journal key).
    pub fn sealed(&self) -> bool {
        let head = format!("{}.head", self.database);
        self.files.iter().any(|f| f.name == head)
    }
}

/// Puts the journal key `key` where the journal `db` reads it (beside it,
/// mode 0600), unless `PQAP_JOURNAL_KEY_FILE` names a key elsewhere.
pub fn install_key(key: &Path, db: &Path) -> Result<(), BackupError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bytes = crate::config::key_file::read(key).map_err(|message| BackupError::Io {
        path: key.display().to_string(),
        message,
    })?;
    let to = SealPaths::of(db).key;
    if to.exists() {
        return match crate::config::key_file::read(&to) {
            Ok(k) if k == bytes => Ok(()),
            _ => Err(io_err(&to, "a different journal key is already there")),
        };
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&to)
        .and_then(|mut f| {
            f.write_all(hex::encode(bytes).as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| io_err(&to, e))
}

/// Deletes the oldest complete backups beyond the newest `keep`, and
/// returns their ids. Partial ones (in progress, or interrupted) are left.
pub fn prune(dest: &Path, keep: usize) -> Result<Vec<String>, BackupError> {
    let all = list(dest)?;
    let excess = all.len().saturating_sub(keep.max(1));
    let mut gone = Vec::new();
    for m in &all[..excess] {
        let dir = dest.join(&m.id);
        fs::remove_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        gone.push(m.id.clone());
    }
    Ok(gone)
}

#[cfg(test)]
mod tests;
