//! Who is calling: the `Authorization: Bearer` API token of a user, checked
//! against the environment database, with failed attempts rate-limited per
//! client address. Handlers take a [`Caller`] and ask it for the role they need.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::api::ServerState;
use crate::store::auth::{Principal, Role, token_principal};

/// Failed authentications allowed per client address per window.
pub const MAX_FAILURES: usize = 20;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Recent failed authentications by client address.
#[derive(Debug, Clone, Default)]
pub struct FailureLimiter(Arc<Mutex<HashMap<IpAddr, VecDeque<Instant>>>>);

impl FailureLimiter {
    pub(crate) fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return true;
        };
        let q = map.entry(ip).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
        {
            q.pop_front();
        }
        q.len() >= MAX_FAILURES
    }

    pub(crate) fn failed(&self, ip: IpAddr, now: Instant) {
        if let Ok(mut map) = self.0.lock() {
            map.entry(ip).or_default().push_back(now);
        }
    }
}

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
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let now = Instant::now();
        if state.limiter.blocked(ip, now) {
            return Err(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed authentications from {ip}; wait a minute"),
            ));
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = token else {
            state.limiter.failed(ip, now);
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "an API token is required: Authorization: Bearer pqap_… (pqap token create)".into(),
            ));
        };
        match token_principal(state.journal.pool(), token).await {
            Ok(Some(p)) => Ok(Caller(p)),
            Ok(None) => {
                state.limiter.failed(ip, now);
                Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    "unknown or revoked API token".into(),
                ))
            }
            Err(e) => Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("checking the token: {e}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_limited_per_address_and_window() {
        let l = FailureLimiter::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(!l.blocked(a, t0));
            l.failed(a, t0);
        }
        assert!(l.blocked(a, t0));
        assert!(!l.blocked(b, t0), "another address is not affected");
        assert!(!l.blocked(a, t0 + FAILURE_WINDOW + Duration::from_secs(1)));
    }
}
