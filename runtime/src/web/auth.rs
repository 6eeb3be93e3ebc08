//! Who is calling: the `Authorization: Bearer` API token of a user, checked
//! against the environment database. Failed attempts are throttled per client
//! address (`throttle`); a valid token always passes. Handlers take a
//! [`Caller`] and ask it for the role they need.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::api::ServerState;
use crate::store::auth::{Principal, Role, token_principal};

pub use super::throttle::FailureLimiter;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// `Ok` when the caller's role is at least `role`, else a 403 naming both.
    pub fn require(&self, role: Role) -> Result<(), Box<Response>> {
        if self.0.role >= role {
            Ok(())
        } else {
            Err(Box::new(refuse(
                StatusCode::FORBIDDEN,
                format!("{} is a {}; this needs {role}", self.0.name, self.0.role),
            )))
        }
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"pqap\""),
        );
    }
    r
}

impl FromRequestParts<ServerState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
        let ip = super::throttle::client_ip(peer, &parts.headers, &state.trusted_proxies);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        // A valid token passes whatever other clients at this address did;
        // only failures are throttled.
        let found = match token {
            Some(t) => match token_principal(&state.auth, t).await {
                Ok(found) => found,
                Err(e) => {
                    return Err(refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("checking the token: {e}"),
                    ));
                }
            },
            None => None,
        };
        if let Some(p) = found {
            return Ok(Caller(p));
        }
        let now = Instant::now();
        if state.limiter.address_blocked(ip, now) {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed authentications from {ip}; wait a minute"),
            ));
        }
        state.limiter.failed(ip, None, now);
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            if token.is_some() {
                "unknown or revoked API token".into()
            } else {
                "an API token is required: Authorization: Bearer pqap_… (pqap token create)".into()
            },
        ))
    }
}
