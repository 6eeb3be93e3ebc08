//! Strategy uploads over HTTP: `POST /api/v1/artifacts` takes a `.wasm`
//! component (admin) into the strategy library (the checks of `pqap strategy
//! validate`, compiled, kept by sha256 with its manifest); `GET` lists them;
//! `DELETE /api/v1/artifacts/{sha256}` removes one nothing runs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::api::{ServerState, error, now_ms};
use super::auth::Caller;
use crate::store::auth::{Role, audit};
use crate::store::deploys;
use crate::strategy::{ArtifactError, LibraryError};

/// The HTTP status for a refused upload or lookup.
pub(super) fn status_of(e: &LibraryError) -> StatusCode {
    match e {
        LibraryError::Artifact(ArtifactError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
        LibraryError::Artifact(ArtifactError::Empty) | LibraryError::BadDigest(_) => {
            StatusCode::BAD_REQUEST
        }
        LibraryError::Unknown(_) => StatusCode::NOT_FOUND,
        LibraryError::Artifact(ArtifactError::Cache(_)) | LibraryError::Io(..) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        LibraryError::Artifact(_) => StatusCode::UNPROCESSABLE_ENTITY,
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
            error(status_of(&e), message)
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

/// `DELETE /api/v1/artifacts/{sha256}` (admin): only a component no strategy
/// runs (409 otherwise).
pub(super) async fn delete(
    State(s): State<ServerState>,
    caller: Caller,
    Path(sha256): Path<String>,
) -> Response {
    if let Err(r) = caller.require(Role::Admin) {
        return *r;
    }
    let Some(store) = s.artifacts.clone() else {
        return error(StatusCode::NOT_FOUND, "this server takes no uploads");
    };
    let pool = s.journal.pool();
    let sha = sha256.to_ascii_lowercase();
    let users: Vec<String> = match deploys::running(pool).await {
        Ok(d) => d
            .into_iter()
            .filter(|d| d.sha256.as_deref() == Some(sha.as_str()))
            .map(|d| d.strategy)
            .collect(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let who = caller.0.name.clone();
    let now_ns = now_ms() * 1_000_000;
    if !users.is_empty() {
        let message = format!(
            "{sha} is deployed for {}; retire or redeploy first",
            users.join(", ")
        );
        let _ = audit(
            pool,
            now_ns,
            &who,
            "delete_artifact",
            &sha,
            &format!("refused: {message}"),
        )
        .await;
        return error(StatusCode::CONFLICT, message);
    }
    match store.delete(&sha) {
        Ok(()) => {
            let _ = audit(pool, now_ns, &who, "delete_artifact", &sha, "deleted").await;
            Json(json!({ "deleted": sha })).into_response()
        }
        Err(e) => error(status_of(&e), e.to_string()),
    }
}
