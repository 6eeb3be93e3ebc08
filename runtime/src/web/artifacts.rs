//! Strategy uploads: `POST /api/v1/artifacts` takes a `.wasm` component (admin),
//! runs the same checks as `pqap strategy validate`, compiles it (cached), and
//! keeps it by sha256 with its manifest; `GET /api/v1/artifacts` lists them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::api::{ServerState, error, now_ms};
use super::auth::Caller;
use crate::store::auth::{Role, audit};
use crate::strategy::{ArtifactError, Manifest, SandboxEngine, SandboxLimits};

/// Where uploads go and how they are checked.
pub struct ArtifactStore {
    pub dir: PathBuf,
    pub sandbox: Arc<SandboxEngine>,
    pub limits: SandboxLimits,
}

impl ArtifactStore {
    fn paths(&self, sha256: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{sha256}.wasm")),
            self.dir.join(format!("{sha256}.json")),
        )
    }

    /// Validates, compiles and stores `bytes`; the manifest.
    pub fn put(&self, bytes: &[u8]) -> Result<Manifest, UploadError> {
        let artifact = self.sandbox.load(bytes, &self.limits)?;
        let manifest = artifact.manifest();
        let (wasm, meta) = self.paths(&manifest.sha256);
        std::fs::create_dir_all(&self.dir).map_err(|e| UploadError::Io(self.dir.clone(), e))?;
        write_atomically(&wasm, bytes)?;
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| UploadError::Io(meta.clone(), std::io::Error::other(e)))?;
        write_atomically(&meta, &text)?;
        Ok(manifest)
    }

    /// Every stored artifact's manifest, by name then version.
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
        out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        out
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), UploadError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| UploadError::Io(tmp.clone(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| UploadError::Io(path.to_path_buf(), e))
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("storing {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl UploadError {
    fn status(&self) -> StatusCode {
        match self {
            UploadError::Artifact(ArtifactError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Artifact(ArtifactError::Empty) => StatusCode::BAD_REQUEST,
            UploadError::Artifact(ArtifactError::Cache(_)) | UploadError::Io(..) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            UploadError::Artifact(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

pub(super) async fn upload(State(s): State<ServerState>, caller: Caller, body: Bytes) -> Response {
    if let Err(r) = caller.require(Role::Admin) {
        return *r;
    }
    let Some(store) = s.artifacts.clone() else {
        return error(StatusCode::NOT_FOUND, "this server takes no uploads");
    };
    let who = caller.0.name.clone();
    let size = body.len();
    // Compiling takes a while: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || store.put(&body)).await;
    let pool = s.journal.pool();
    let now_ns = now_ms() * 1_000_000;
    match outcome {
        Ok(Ok(m)) => {
            let detail = format!("{} {} {} ({size} bytes)", m.name, m.version, m.sha256);
            let _ = audit(pool, now_ns, &who, "upload", &detail, "stored").await;
            (StatusCode::CREATED, Json(json!(m))).into_response()
        }
        Ok(Err(e)) => {
            let message = format!("upload of {size} bytes refused: {e}");
            let _ = audit(
                pool,
                now_ns,
                &who,
                "upload",
                &format!("{size} bytes"),
                &format!("rejected: {e}"),
            )
            .await;
            error(e.status(), message)
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("upload: {e}")),
    }
}

pub(super) async fn list(State(s): State<ServerState>, _: Caller) -> Response {
    match s.artifacts {
        Some(store) => Json(json!(store.list())).into_response(),
        None => Json(json!([])).into_response(),
    }
}
