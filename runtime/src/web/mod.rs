//! The server's web side: the live status the engine publishes, and the HTTP API
//! and health endpoints over it and the journal.

pub mod actions;
pub mod api;
pub mod artifacts;
pub mod auth;
pub mod deploy;
pub mod journal_view;
pub mod live;
pub mod metrics;
pub mod throttle;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;

pub use crate::data::feed::FeedCounters;
pub use api::{ServerState, router};
pub use auth::FailureLimiter;
pub use live::{Live, LiveStatus, StrategyLive, publish};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("binding {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    #[error("serving HTTP: {0}")]
    Serve(String),
}

/// Binds `addr` and serves until `shutdown` completes; returns the bound address
/// through `bound` first (port 0 picks a free one).
pub async fn serve(
    addr: SocketAddr,
    state: ServerState,
    bound: tokio::sync::oneshot::Sender<SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| WebError::Bind {
            addr,
            message: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| WebError::Bind {
        addr,
        message: e.to_string(),
    })?;
    let _ = bound.send(local);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| WebError::Serve(e.to_string()))
}
