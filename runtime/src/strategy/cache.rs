//! On-disk cache of compiled components, keyed by (artifact sha256, engine
//! fingerprint). Compiled code is loaded with an `unsafe` deserialize, so an
//! entry is used only when it carries an HMAC made with this host's cache key
//! (`cache.key`, 32 random bytes, mode 0600) and the directory is writable by
//! its owner alone. A checksum would prove only that the bytes are whole, not
//! who wrote them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::validate::ArtifactError;

type HmacSha256 = Hmac<Sha256>;

/// The key file's name inside the cache directory.
const KEY_FILE: &str = "cache.key";

/// A directory of `<sha256>-<fingerprint>.cwasm` files with `.mac` sidecars.
#[derive(Debug)]
pub struct CompiledCache {
    dir: PathBuf,
    /// The cache key, read or made on first use; `None` when the directory or
    /// the key is not safe to trust (the cache is then not used at all).
    key: OnceLock<Option<[u8; 32]>>,
}

impl CompiledCache {
    pub fn new(dir: impl Into<PathBuf>) -> CompiledCache {
        CompiledCache {
            dir: dir.into(),
            key: OnceLock::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, sha256: &str, fingerprint: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{sha256}-{fingerprint}");
        (
            self.dir.join(format!("{stem}.cwasm")),
            self.dir.join(format!("{stem}.mac")),
        )
    }

    fn key(&self) -> Option<&[u8; 32]> {
        self.key
            .get_or_init(|| match open_key(&self.dir) {
                Ok(k) => Some(k),
                Err(why) => {
                    tracing::warn!(dir = %self.dir.display(), %why, "compiled cache not used");
                    None
                }
            })
            .as_ref()
    }

    /// The code of an entry whose MAC this host's key made, else `None`.
    fn read_verified(&self, sha256: &str, fingerprint: &str) -> Option<Vec<u8>> {
        let key = self.key()?;
        let (code_path, mac_path) = self.paths(sha256, fingerprint);
        let mac = hex::decode(fs::read_to_string(&mac_path).ok()?.trim()).ok()?;
        let code = fs::read(&code_path).ok()?;
        if mac_of(key, sha256, fingerprint, &code)
            .verify_slice(&mac)
            .is_err()
        {
            tracing::warn!(path = %code_path.display(), "compiled cache entry not made with this host's key; recompiling");
            return None;
        }
        Some(code)
    }

    /// Writes `code` and its MAC atomically (temp file + rename each); the
    /// MAC goes last, so a half-written entry never verifies.
    fn write_signed(&self, sha256: &str, fingerprint: &str, code: &[u8]) -> std::io::Result<()> {
        let Some(key) = self.key() else {
            return Ok(());
        };
        let (code_path, mac_path) = self.paths(sha256, fingerprint);
        let mac = hex::encode(
            mac_of(key, sha256, fingerprint, code)
                .finalize()
                .into_bytes(),
        );
        let tmp = tempfile_in(&self.dir, code)?;
        fs::rename(&tmp, &code_path)?;
        let tmp = tempfile_in(&self.dir, mac.as_bytes())?;
        fs::rename(&tmp, &mac_path)
    }

    /// Loads a cached compilation if present and made by this host.
    pub fn load(&self, engine: &Engine, sha256: &str, fingerprint: &str) -> Option<Component> {
        let code = self.read_verified(sha256, fingerprint)?;
        // SAFETY: `code` carries an HMAC made with this host's cache key (a
        // file only the host's user can read, in a directory only it can
        // write) over the artifact hash, the engine fingerprint and the bytes:
        // it is what `Component::serialize` of this host wrote for an engine
        // of the same fingerprint. Bytes from users never reach this call
        // (uploads are `.wasm`, and precompiled uploads are refused).
        match unsafe { Component::deserialize(engine, &code) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "compiled cache entry unusable; recompiling");
                None
            }
        }
    }

    /// Stores a compilation (nothing when the cache is not trusted).
    pub fn store(
        &self,
        sha256: &str,
        fingerprint: &str,
        component: &Component,
    ) -> Result<(), ArtifactError> {
        let code = component
            .serialize()
            .map_err(|e| ArtifactError::Cache(e.to_string()))?;
        self.write_signed(sha256, fingerprint, &code)
            .map_err(|e| ArtifactError::Cache(e.to_string()))
    }
}

fn mac_of(key: &[u8; 32], sha256: &str, fingerprint: &str, code: &[u8]) -> HmacSha256 {
    // Infallible: HMAC takes a key of any length.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC key of any length");
    m.update(sha256.as_bytes());
    m.update(&[0]);
    m.update(fingerprint.as_bytes());
    m.update(&[0]);
    m.update(code);
    m
}

/// The cache directory (made 0700 if missing) and its key (made 0600 if
/// missing); an error says why neither can be trusted.
fn open_key(dir: &Path) -> Result<[u8; 32], String> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(|e| format!("creating it: {e}"))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("making it private: {e}"))?;
    }
    let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not this user ({me})", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by others (mode {:o}); chmod go-w it",
            meta.mode() & 0o777
        ));
    }
    crate::config::key_file::read_or_make(&dir.join(KEY_FILE))
}

fn tempfile_in(dir: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let mut f = fs::File::create(&path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "ab12";
    const FP: &str = "wt1-0001";

    fn private_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    #[test]
    fn only_entries_made_with_this_hosts_key_are_loaded() {
        let d = private_dir();
        let cache = CompiledCache::new(d.path().join("compiled"));
        cache.write_signed(SHA, FP, b"compiled code").unwrap();
        assert_eq!(
            cache.read_verified(SHA, FP).as_deref(),
            Some(&b"compiled code"[..])
        );
        let key = fs::metadata(d.path().join("compiled").join(KEY_FILE)).unwrap();
        assert_eq!(key.mode() & 0o777, 0o600);
        let dir = fs::metadata(d.path().join("compiled")).unwrap();
        assert_eq!(dir.mode() & 0o777, 0o700);
        // The same bytes under another artifact or engine do not verify.
        let (code, mac) = cache.paths(SHA, FP);
        let (code2, mac2) = cache.paths("cd34", FP);
        fs::copy(&code, &code2).unwrap();
        fs::copy(&mac, &mac2).unwrap();
        assert!(cache.read_verified("cd34", FP).is_none());
        // Tampered code, or a plain checksum beside it, does not verify.
        fs::write(&code, b"compiled codf").unwrap();
        assert!(cache.read_verified(SHA, FP).is_none());
        use sha2::Digest;
        fs::write(&mac, hex::encode(sha2::Sha256::digest(b"compiled codf"))).unwrap();
        assert!(cache.read_verified(SHA, FP).is_none());
        // An entry another host's key made (a copied cache) does not verify.
        let other = private_dir();
        let theirs = CompiledCache::new(other.path().join("compiled"));
        theirs.write_signed(SHA, FP, b"their code").unwrap();
        let (their_code, their_mac) = theirs.paths(SHA, FP);
        fs::copy(&their_code, &code).unwrap();
        fs::copy(&their_mac, &mac).unwrap();
        assert!(cache.read_verified(SHA, FP).is_none());
        // A second handle on the same directory reads the same key.
        cache.write_signed(SHA, FP, b"again").unwrap();
        let reopened = CompiledCache::new(d.path().join("compiled"));
        assert_eq!(
            reopened.read_verified(SHA, FP).as_deref(),
            Some(&b"again"[..])
        );
    }

    #[test]
    fn a_directory_others_can_write_or_a_readable_key_disables_the_cache() {
        let d = private_dir();
        let path = d.path().join("compiled");
        let cache = CompiledCache::new(&path);
        cache.write_signed(SHA, FP, b"code").unwrap();

        fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
        let open = CompiledCache::new(&path);
        assert!(open.read_verified(SHA, FP).is_none());
        open.write_signed("ef56", FP, b"x").unwrap();
        assert!(!open.paths("ef56", FP).0.exists(), "nothing written");
        let why = open_key(&path).unwrap_err();
        assert!(why.contains("writable by others"), "{why}");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(path.join(KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        let why = open_key(&path).unwrap_err();
        assert!(why.contains("mode 0600"), "{why}");
        assert!(CompiledCache::new(&path).read_verified(SHA, FP).is_none());
    }
}
