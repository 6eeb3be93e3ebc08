//! The journal's sealed head, kept outside the SQLite file: the last entry's
//! sequence number and chain hash, signed with an HMAC whose key is not in
//! the database either. The chain alone proves entries follow each other;
//! whoever can write the file can rewrite history and chain it again, or cut
//! the tail off. The sealed head catches both: a rewrite changes the hash at
//! the sealed entry, a cut leaves the journal shorter than its seal, and a
//! new seal needs the key.
//!
//! Files, beside the database unless configured: `<db>.head` (JSON) and
//! `<db>.key` (32 random bytes in hex, mode 0600; `PQAP_JOURNAL_KEY_FILE`
//! puts it elsewhere, e.g. a directory the engine's user cannot list).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How often a busy journal reseals its head: at most once a second, so the
/// fsync stays out of the trading loop's way. A crash loses at most that
/// much of the seal's reach (the chain still links what came after).
const RESEAL_EVERY: Duration = Duration::from_secs(1);

/// Where a journal's head and key live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealPaths {
    pub head: PathBuf,
    pub key: PathBuf,
}

impl SealPaths {
    /// Beside the database `db`, the key where `PQAP_JOURNAL_KEY_FILE` says
    /// when set.
    pub fn of(db: &Path) -> SealPaths {
        let beside = |ext: &str| {
            let mut p = db.as_os_str().to_owned();
            p.push(ext);
            PathBuf::from(p)
        };
        SealPaths {
            head: beside(".head"),
            key: std::env::var_os("PQAP_JOURNAL_KEY_FILE")
                .map_or_else(|| beside(".key"), PathBuf::from),
        }
    }
}

/// The head file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedHead {
    pub seq: i64,
    pub hash: String,
    /// HMAC-SHA256 of `seq` and `hash` with the journal key, hex.
    pub mac: String,
}

fn mac_of(key: &[u8; 32], seq: i64, hash: &str) -> HmacSha256 {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC key of any length");
    m.update(b"pqap journal head\n");
    m.update(seq.to_string().as_bytes());
    m.update(b"\n");
    m.update(hash.as_bytes());
    m
}

/// Seals a journal's head as it grows.
#[derive(Debug)]
pub struct Sealer {
    paths: SealPaths,
    key: Option<[u8; 32]>,
    last: Option<(Instant, i64)>,
}

impl Sealer {
    pub fn new(db: &Path) -> Sealer {
        Sealer {
            paths: SealPaths::of(db),
            key: None,
            last: None,
        }
    }

    /// Seals (`seq`, `hash`) unless it is sealed already or, without
    /// `force`, a seal was written less than a second ago.
    pub fn seal(&mut self, seq: i64, hash: &str, force: bool) -> Result<(), String> {
        if seq < 1 {
            return Ok(());
        }
        match self.last {
            Some((_, s)) if s == seq => return Ok(()),
            Some((at, _)) if !force && at.elapsed() < RESEAL_EVERY => return Ok(()),
            _ => {}
        }
        let key = match self.key {
            Some(k) => k,
            None => {
                let k = crate::config::key_file::read_or_make(&self.paths.key)?;
                self.key = Some(k);
                k
            }
        };
        let head = SealedHead {
            seq,
            hash: hash.to_string(),
            mac: hex::encode(mac_of(&key, seq, hash).finalize().into_bytes()),
        };
        let json = serde_json::to_vec(&head).map_err(|e| e.to_string())?;
        write_atomically(&self.paths.head, &json)
            .map_err(|e| format!("writing {}: {e}", self.paths.head.display()))?;
        self.last = Some((Instant::now(), seq));
        Ok(())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// What the sealed head says of a journal, before the chain is walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// Never sealed (no key and no head): only the chain can be checked.
    Unsealed,
    /// A head whose signature checks: the chain must hold this entry.
    Sealed { seq: i64, hash: String },
    /// The seal itself is missing, unreadable or forged.
    Broken(String),
}

/// Reads and authenticates the sealed head of the journal at `db`.
pub fn read_seal(db: &Path) -> SealState {
    let paths = SealPaths::of(db);
    let head = fs::read(&paths.head);
    let key_exists = paths.key.exists();
    let head = match head {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if key_exists {
                SealState::Broken(format!(
                    "the sealed head {} is missing while the journal key exists: the journal may have been cut or replaced",
                    paths.head.display()
                ))
            } else {
                SealState::Unsealed
            };
        }
        Err(e) => return SealState::Broken(format!("{}: {e}", paths.head.display())),
    };
    let head: SealedHead = match serde_json::from_slice(&head) {
        Ok(h) => h,
        Err(e) => return SealState::Broken(format!("{}: {e}", paths.head.display())),
    };
    let key = match crate::config::key_file::read(&paths.key) {
        Ok(k) => k,
        Err(e) => {
            return SealState::Broken(format!("the sealed head cannot be checked: {e}"));
        }
    };
    let mac = hex::decode(&head.mac).unwrap_or_default();
    if mac_of(&key, head.seq, &head.hash)
        .verify_slice(&mac)
        .is_err()
    {
        return SealState::Broken(format!(
            "the signature of {} does not match the journal key: the head was forged or the key replaced",
            paths.head.display()
        ));
    }
    SealState::Sealed {
        seq: head.seq,
        hash: head.hash,
    }
}
