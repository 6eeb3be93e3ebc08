//! On-disk cache of compiled components, keyed by (artifact sha256, engine
//! fingerprint). Only this host writes it, and every entry is checksummed before
//! it is loaded: compiled code is never taken from user-supplied bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::validate::ArtifactError;

/// A directory of `<sha256>-<fingerprint>.cwasm` files with `.sha256` sidecars.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl CompiledCache {
    pub fn new(dir: impl Into<PathBuf>) -> CompiledCache {
        CompiledCache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, sha256: &str, fingerprint: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{sha256}-{fingerprint}");
        (
            self.dir.join(format!("{stem}.cwasm")),
            self.dir.join(format!("{stem}.sha256")),
        )
    }

    /// Loads a cached compilation if present and intact.
    pub fn load(&self, engine: &Engine, sha256: &str, fingerprint: &str) -> Option<Component> {
        let (code_path, sum_path) = self.paths(sha256, fingerprint);
        let expected = fs::read_to_string(&sum_path).ok()?;
        let code = fs::read(&code_path).ok()?;
        if hex_sha256(&code) != expected.trim() {
            tracing::warn!(path = %code_path.display(), "compiled cache entry is corrupt; recompiling");
            return None;
        }
        // SAFETY: `code` was produced by `Component::serialize` of this host with an
        // engine of the same fingerprint, written to a directory only the host
        // writes, and its checksum matches what was recorded at write time. Bytes
        // from users never reach this call (uploads are `.wasm`, and precompiled
        // uploads are refused by validation).
        match unsafe { Component::deserialize(engine, &code) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "compiled cache entry unusable; recompiling");
                None
            }
        }
    }

    /// Stores a compilation atomically (temp file + rename).
    pub fn store(
        &self,
        sha256: &str,
        fingerprint: &str,
        component: &Component,
    ) -> Result<(), ArtifactError> {
        let io = |e: std::io::Error| ArtifactError::Cache(e.to_string());
        let code = component
            .serialize()
            .map_err(|e| ArtifactError::Cache(e.to_string()))?;
        fs::create_dir_all(&self.dir).map_err(io)?;
        let (code_path, sum_path) = self.paths(sha256, fingerprint);
        let tmp = tempfile_in(&self.dir, &code).map_err(io)?;
        fs::rename(&tmp, &code_path).map_err(io)?;
        let tmp = tempfile_in(&self.dir, hex_sha256(&code).as_bytes()).map_err(io)?;
        fs::rename(&tmp, &sum_path).map_err(io)?;
        Ok(())
    }
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
