//! One engine per database: an advisory lock on a file beside the database,
//! held for as long as an engine runs on it. A second engine, or an offline
//! change to its deployments, is refused with the holder named instead of
//! racing it for the journal.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::journal::StoreError;

/// Held while an engine runs on a database; released when dropped (or when
/// the process dies, however it dies).
#[derive(Debug)]
pub struct EngineLock {
    _file: File,
    path: PathBuf,
}

/// The lock file of the database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

impl EngineLock {
    /// Takes the lock of `db`, or says who holds it.
    pub fn acquire(db: &Path) -> Result<EngineLock, StoreError> {
        let path = lock_path(db);
        let open_err = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| open_err(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    db: db.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(open_err(e.to_string())),
        }
        // Who holds it, for the refusal another process prints.
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "pid {}", std::process::id());
        let _ = file.flush();
        Ok(EngineLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = EngineLock::acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("x.db.lock"));
        let err = EngineLock::acquire(&db).unwrap_err().to_string();
        assert!(
            err.contains("x.db") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(EngineLock::acquire(&db).is_ok(), "released on drop");
    }
}
