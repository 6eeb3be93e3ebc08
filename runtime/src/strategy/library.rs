//! The server's strategy library: uploaded components kept by sha256 with their
//! manifests beside the environment's database, validated like `pqap strategy
//! validate` on the way in, compiled once and kept loaded for deployments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Artifact, ArtifactError, Manifest, SandboxEngine, SandboxLimits};

/// Stored components.
pub struct ArtifactLibrary {
    dir: PathBuf,
    sandbox: Arc<SandboxEngine>,
    limits: SandboxLimits,
    loaded: Mutex<BTreeMap<String, Arc<Artifact>>>,
}

/// Why a component could not be stored or loaded.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("no uploaded component has sha256 `{0}`")]
    Unknown(String),
    #[error("`{0}` is not a sha256 (64 hex digits)")]
    BadDigest(String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl ArtifactLibrary {
    /// The library in `dir` (created on the first upload).
    pub fn new(
        dir: PathBuf,
        sandbox: Arc<SandboxEngine>,
        limits: SandboxLimits,
    ) -> ArtifactLibrary {
        ArtifactLibrary {
            dir,
            sandbox,
            limits,
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// The library kept beside the database `db`.
    pub fn beside(
        db: &Path,
        sandbox: Arc<SandboxEngine>,
        limits: SandboxLimits,
    ) -> ArtifactLibrary {
        let dir = db
            .parent()
            .map_or_else(|| PathBuf::from("artifacts"), |d| d.join("artifacts"));
        ArtifactLibrary::new(dir, sandbox, limits)
    }

    /// The largest component taken, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.limits.max_artifact_bytes
    }

    fn paths(&self, sha256: &str) -> Result<(PathBuf, PathBuf), LibraryError> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LibraryError::BadDigest(sha256.to_string()));
        }
        let sha = sha256.to_ascii_lowercase();
        Ok((
            self.dir.join(format!("{sha}.wasm")),
            self.dir.join(format!("{sha}.json")),
        ))
    }

    /// Validates, compiles and stores `bytes`; its manifest.
    pub fn put(&self, bytes: &[u8]) -> Result<Manifest, LibraryError> {
        let artifact = self.sandbox.load(bytes, &self.limits)?;
        let manifest = artifact.manifest();
        let (wasm, meta) = self.paths(&manifest.sha256)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| LibraryError::Io(self.dir.clone(), e))?;
        write_atomically(&wasm, bytes)?;
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| LibraryError::Io(meta.clone(), std::io::Error::other(e)))?;
        write_atomically(&meta, &text)?;
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(manifest.sha256.clone(), artifact);
        }
        Ok(manifest)
    }

    /// The stored component `sha256`, compiled (once per process).
    pub fn load(&self, sha256: &str) -> Result<Arc<Artifact>, LibraryError> {
        let (wasm, _) = self.paths(sha256)?;
        let key = sha256.to_ascii_lowercase();
        if let Some(a) = self.loaded.lock().ok().and_then(|l| l.get(&key).cloned()) {
            return Ok(a);
        }
        let bytes = match std::fs::read(&wasm) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LibraryError::Unknown(key));
            }
            Err(e) => return Err(LibraryError::Io(wasm, e)),
        };
        let artifact = self.sandbox.load(&bytes, &self.limits)?;
        if artifact.sha256 != key {
            // The file changed under us: refuse rather than run something else.
            return Err(LibraryError::Unknown(key));
        }
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(key, artifact.clone());
        }
        Ok(artifact)
    }

    /// The manifest of `sha256`, if stored.
    pub fn manifest(&self, sha256: &str) -> Result<Manifest, LibraryError> {
        let (_, meta) = self.paths(sha256)?;
        let bytes = std::fs::read(&meta).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LibraryError::Unknown(sha256.to_string()),
            _ => LibraryError::Io(meta.clone(), e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| LibraryError::Io(meta, std::io::Error::other(e)))
    }

    /// Removes a stored component (the caller checks it is unused).
    pub fn delete(&self, sha256: &str) -> Result<(), LibraryError> {
        let (wasm, meta) = self.paths(sha256)?;
        if !meta.is_file() {
            return Err(LibraryError::Unknown(sha256.to_string()));
        }
        for p in [meta, wasm] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LibraryError::Io(p, e)),
            }
        }
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.remove(&sha256.to_ascii_lowercase());
        }
        Ok(())
    }

    /// Every stored component's manifest, by name then version.
    pub fn list(&self) -> Vec<Manifest> {
        let mut out: Vec<Manifest> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| std::fs::read(&p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a: &Manifest, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        out
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LibraryError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| LibraryError::Io(tmp.clone(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| LibraryError::Io(path.to_path_buf(), e))
}
