//! Browser login and logout: a password checked against the user's argon2
//! hash, failures throttled per address and per account (and audited once
//! per burst, not per attempt), a session cookie (HttpOnly, SameSite=Strict,
//! Secure behind TLS) on success.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{COOKIE, esc, same_origin};
use crate::store::auth::{audit, check_password};
use crate::store::sessions;
use crate::web::api::{ServerState, now_ms};
use crate::web::throttle::Failure;

/// How long a browser session lasts.
const SESSION_NS: u64 = 12 * 3_600 * 1_000_000_000;

fn login_page(message: Option<&str>) -> Html<String> {
    let message = message.map_or(String::new(), |m| {
        format!("<div class=\"flash err\" role=\"alert\">{}</div>", esc(m))
    });
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Log in · PQAP</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><form class=\"login\" method=\"post\" action=\"/login\"><h1>PQAP</h1>{message}\
         <label for=\"username\">User</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button class=\"primary\" type=\"submit\">Log in</button></form></body></html>"
    ))
}

pub(super) async fn form() -> Html<String> {
    login_page(None)
}

#[derive(Deserialize)]
pub(super) struct Credentials {
    username: String,
    password: String,
}

pub(super) async fn submit(
    State(s): State<ServerState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site login refused").into_response();
    }
    let ip = crate::web::throttle::client_ip(peer, &headers, &s.trusted_proxies);
    let now = Instant::now();
    // Whatever was typed is the actor of a failed login: recorded, bounded.
    let typed: String = c.username.chars().take(64).collect();
    let pool = &s.auth;
    let now_ns = now_ms() * 1_000_000;
    // Refused before any password is checked, and not audited one by one:
    // the row written when the limit was reached stands for them.
    // The attempt is counted before the password is checked, so attempts in
    // flight together cannot get past the limit.
    let Some(if_failed) = s.limiter.attempt(ip, &typed, now) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            login_page(Some("Too many failed logins; wait a minute.")),
        )
            .into_response();
    };
    let user = match check_password(pool, &c.username, &c.password).await {
        Ok(u) => u,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("checking the password: {e}"),
            )
                .into_response();
        }
    };
    let Some(user) = user else {
        let outcome = match if_failed {
            Failure::First => Some("rejected: wrong user or password".to_string()),
            Failure::NowBlocked => Some(format!(
                "rejected: wrong user or password; limit reached, logins from {ip} or as {typed} refused for a minute"
            )),
            Failure::Counted => None,
        };
        if let Some(outcome) = outcome {
            let _ = audit(pool, now_ns, &typed, "login", &ip.to_string(), &outcome).await;
        }
        return (
            StatusCode::UNAUTHORIZED,
            login_page(Some("Wrong user or password.")),
        )
            .into_response();
    };
    s.limiter.forgive(ip, &typed, now);
    let (cookie, _) = match sessions::create(pool, &user.name, now_ns, SESSION_NS).await {
        Ok(x) => x,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("starting the session: {e}"),
            )
                .into_response();
        }
    };
    let _ = audit(pool, now_ns, &user.name, "login", &ip.to_string(), "ok").await;
    let secure = if s.secure_cookies || forwarded_https(&headers) {
        "; Secure"
    } else {
        ""
    };
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = format!(
        "{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_NS / 1_000_000_000
    )
    .parse()
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Behind a TLS-terminating proxy that says so.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    csrf: String,
}

pub(super) async fn logout(
    State(s): State<ServerState>,
    viewer: super::Viewer,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    if !super::csrf_ok(&viewer, &f.csrf, &headers) {
        return super::csrf_refused();
    }
    let pool = &s.auth;
    if let Some(cookie) = super::cookie_of(&headers) {
        let _ = sessions::end(pool, &cookie).await;
    }
    let _ = audit(
        pool,
        now_ms() * 1_000_000,
        &viewer.principal.name,
        "logout",
        "",
        "ok",
    )
    .await;
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0").parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
