//! Where `pqap backup` writes an environment's backups and how many it keeps.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Backups of the environment (`pqap backup now|list|check|restore`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupsConfig {
    /// The directory backups go to (default: `backups/` beside the database).
    /// Put it on another disk: a backup beside its source dies with it.
    pub dir: Option<PathBuf>,
    /// Complete backups kept; older ones are deleted after each new one.
    pub keep: usize,
    /// A server (`pqap serve`) takes one this often, and raises a
    /// `backup_failed` alert when one fails. Unset: only `pqap backup now`.
    pub every_s: Option<u64>,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        BackupsConfig {
            dir: None,
            keep: 14,
            every_s: None,
        }
    }
}

impl BackupsConfig {
    /// The backup directory of the environment whose database is `db`.
    pub fn dir_for(&self, db: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            db.parent()
                .map_or_else(|| PathBuf::from("backups"), |d| d.join("backups"))
        })
    }
}
