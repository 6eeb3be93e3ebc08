//! `pqap backup now|list|check|restore`: the environment's backups, taken
//! while it runs and restored into a new directory with its journal verified.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use pqap::config::Config;
use pqap::config::backups::BackupsConfig;
use pqap::store::Journal;
use pqap::store::backup::{self, Manifest};
use serde_json::json;

use super::print::{self, runtime};

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up the environment now (it may be running), then delete the
    /// oldest beyond `backups.keep`.
    Now(Place),
    /// The complete backups, oldest first.
    List(Place),
    /// Read every file of a backup (an id, or `latest`) against its checksum.
    Check {
        id: String,
        #[command(flatten)]
        place: Place,
    },
    /// Restore a backup (an id, or `latest`) into a new or empty directory,
    /// then verify the restored journal.
    Restore {
        id: String,
        /// The directory to restore into; it must be missing or empty.
        #[arg(long)]
        into: PathBuf,
        /// The journal key (backups never hold it), installed beside the
        /// restored journal; not needed when PQAP_JOURNAL_KEY_FILE names it.
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
}

/// Which environment, and where its backups are.
#[derive(Debug, Clone, Args)]
pub struct Place {
    /// Configuration naming the database and `backups`.
    #[arg(long, default_value = "configs/dev.yaml")]
    config: PathBuf,
    /// This database instead of the configured one.
    #[arg(long)]
    db: Option<PathBuf>,
    /// This backup directory instead of the configured one.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Place {
    /// The database, the backup directory and the retention.
    fn resolve(&self) -> anyhow::Result<(PathBuf, PathBuf, usize)> {
        // The config is read only for what the flags leave open.
        let config = match (&self.db, &self.dir) {
            (Some(_), Some(_)) => None,
            _ => Some(Config::load(&self.config, std::env::vars())?),
        };
        let (db, backups) = match config {
            Some(c) => (self.db.clone().unwrap_or(c.database), c.backups),
            None => (
                self.db.clone().unwrap_or_default(),
                BackupsConfig::default(),
            ),
        };
        let dir = self.dir.clone().unwrap_or_else(|| backups.dir_for(&db));
        Ok((db, dir, backups.keep))
    }
}

fn row(m: &Manifest) -> Vec<String> {
    vec![
        m.id.clone(),
        m.journal_head
            .as_ref()
            .map_or_else(|| "-".into(), |(seq, _)| format!("#{seq}")),
        m.files.len().to_string(),
        m.bytes().to_string(),
        m.stored_bytes().to_string(),
        m.version.clone(),
    ]
}

const HEADER: [&str; 6] = ["id", "journal", "files", "bytes", "stored", "version"];

pub fn run(cmd: BackupCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupCommand::Now(place) => {
            let (db, dir, keep) = place.resolve()?;
            let now = pqap::model::time::wall_ns();
            let m = runtime()?.block_on(backup::take(&db, &dir, now))?;
            let pruned = backup::prune(&dir, keep)?;
            if place.json {
                print::json(&json!({"backup": m, "dir": dir, "pruned": pruned}))?;
            } else {
                print::table(&HEADER, &[row(&m)]);
                println!("in {}", dir.display());
                if !pruned.is_empty() {
                    println!("deleted (keeping {keep}): {}", pruned.join(", "));
                }
            }
        }
        BackupCommand::List(place) => {
            let (_, dir, _) = place.resolve()?;
            let all = backup::list(&dir)?;
            if place.json {
                print::json(&all)?;
            } else if all.is_empty() {
                println!("no backups in {}", dir.display());
            } else {
                print::table(&HEADER, &all.iter().map(row).collect::<Vec<_>>());
            }
        }
        BackupCommand::Check { id, place } => {
            let (_, dir, _) = place.resolve()?;
            let m = backup::check(&dir, &id)?;
            if place.json {
                print::json(&json!({"ok": true, "backup": m}))?;
            } else {
                println!(
                    "backup {}: {} files, every checksum holds",
                    m.id,
                    m.files.len()
                );
            }
        }
        BackupCommand::Restore {
            id,
            into,
            key,
            place,
        } => {
            let (_, dir, _) = place.resolve()?;
            let m = backup::find(&dir, &id)?;
            anyhow::ensure!(
                !m.sealed() || key.is_some() || std::env::var_os("PQAP_JOURNAL_KEY_FILE").is_some(),
                "backup {} holds a sealed journal, and backups never hold its key: \
                 give the key with --key FILE (or set PQAP_JOURNAL_KEY_FILE)",
                m.id
            );
            let m = backup::restore(&dir, &m.id, &into)?;
            let db = into.join(&m.database);
            if let Some(key) = &key {
                backup::install_key(key, &db)?;
            }
            let audit = runtime()?.block_on(async {
                let journal = Journal::open(&db).await?;
                journal.audit().await
            })?;
            let ok = audit.report.broken.is_none() && audit.projections.anomalies.is_empty();
            if place.json {
                print::json(&json!({
                    "ok": ok,
                    "backup": m,
                    "database": db,
                    "chain": audit.report,
                    "anomalies": audit.projections.anomalies,
                }))?;
            } else {
                println!(
                    "restored {} into {}: {} files",
                    m.id,
                    into.display(),
                    m.files.len()
                );
                match &audit.report.broken {
                    None => println!(
                        "journal   {} entries, chain intact (head #{})",
                        audit.report.entries, audit.report.head_seq
                    ),
                    Some((seq, why)) => println!("journal   BROKEN at #{seq}: {why}"),
                }
                println!("database  {}", db.display());
            }
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Backs the environment of `db` up every `every` while a server runs,
/// applying retention; a failure raises a `backup_failed` alert (and the
/// next attempt comes at the next interval).
pub fn schedule(
    db: PathBuf,
    config: BackupsConfig,
    every: std::time::Duration,
    alerter: pqap::alerts::Alerter,
) -> tokio::task::JoinHandle<()> {
    let dir = config.dir_for(&db);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = pqap::model::time::wall_ns();
            let taken = match backup::take(&db, &dir, now).await {
                Ok(m) => backup::prune(&dir, config.keep).map(|gone| (m, gone)),
                Err(e) => Err(e),
            };
            match taken {
                Ok((m, gone)) => tracing::info!(
                    backup = %m.id,
                    stored_bytes = m.stored_bytes(),
                    deleted = gone.len(),
                    "scheduled backup taken"
                ),
                Err(e) => {
                    alerter
                        .raise(&pqap::alerts::Alert {
                            ts_ms: now / 1_000_000,
                            severity: pqap::alerts::Severity::Critical,
                            kind: "backup_failed",
                            strategy: None,
                            message: format!(
                                "the scheduled backup into {} failed: {e}",
                                dir.display()
                            ),
                        })
                        .await
                }
            }
        }
    })
}
