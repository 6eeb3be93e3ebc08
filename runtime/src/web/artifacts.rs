//! Strategy uploads over HTTP: `POST /api/v1/artifacts` takes a `.wasm`
//! component (admin) into the strategy library (the checks of `pqap strategy
//! validate`, compiled, kept by sha256 with its manifest); `GET` lists them;
//! `DELETE /api/v1/artifacts/{sha256}` removes one nothing runs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::actions;
use super::api::{ServerState, respond};
use super::auth::Caller;
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
    respond(
        actions::upload(&s, &caller.0, body.to_vec()).await,
        StatusCode::CREATED,
    )
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
    respond(
        actions::delete_artifact(&s, &caller.0, &sha256).await,
        StatusCode::OK,
    )
}
