//! The dashboard: server-rendered pages behind a browser login (session
//! cookie, CSRF token on every form), live updates over Server-Sent Events,
//! and its stylesheet and script compiled into the binary (nothing is fetched
//! from anywhere else).

mod docs;
mod events;
mod forms;
mod login;
mod pages;
mod strategies;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::api::{ServerState, now_ms};
pub(crate) use crate::report::svg::esc;
use crate::store::auth::Principal;
use crate::store::sessions;

/// The session cookie's name.
const COOKIE: &str = "pqap_session";

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/live.js");

/// The dashboard's routes.
pub fn router(upload_limit: usize) -> Router<ServerState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/strategies", get(strategies::strategies))
        .route("/positions", get(pages::positions))
        .route("/orders", get(pages::orders))
        .route("/trades", get(pages::trades))
        .route("/trades/{seq}", get(pages::explain))
        .route("/performance", get(pages::performance))
        .route("/audit", get(pages::audit))
        .route("/backtests", get(docs::backtests))
        .route("/backtests/{id}", get(docs::backtest_report))
        .route("/docs", get(docs::index))
        .route("/docs/{name}", get(docs::doc))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/events", get(events::stream))
        .route(
            "/ui/upload",
            // The form's other fields and multipart framing ride on top.
            post(forms::upload).layer(axum::extract::DefaultBodyLimit::max(
                upload_limit.saturating_add(64 * 1024),
            )),
        )
        .route("/ui/deploy", post(forms::deploy))
        .route("/ui/strategy", post(forms::strategy))
        .route("/ui/risk", post(forms::risk))
        .route("/assets/style.css", get(style))
        .route("/assets/live.js", get(script))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// A logged-in browser user and the CSRF token their forms carry.
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
}

/// The session cookie's value in a request, if any.
fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<ServerState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(cookie) = cookie_of(&parts.headers) else {
            return Err(to_login());
        };
        match sessions::find(&state.auth, &cookie, now_ms() * 1_000_000).await {
            Ok(Some(s)) => Ok(Viewer {
                principal: s.principal,
                csrf: s.csrf,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!("checking the session: {e}"),
            )
                .into_response()),
        }
    }
}

/// A form post comes from a page of this server: when the browser names the
/// origin, its host is the one asked. (The session cookie is SameSite=Strict
/// as well, and forms carry the session's CSRF token.)
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// The form's CSRF token is the session's (compared in constant time) and
/// the post is same-origin.
fn csrf_ok(viewer: &Viewer, token: &str, headers: &HeaderMap) -> bool {
    let (a, b) = (viewer.csrf.as_bytes(), token.as_bytes());
    let equal = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    equal && same_origin(headers)
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "the form's CSRF token does not match this session (reload the page and try again)",
    )
        .into_response()
}

/// Percent-encodes text for a query string.
fn query_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A redirect after a form post, carrying the message shown on arrival.
fn back(to: &str, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(m) => ("ok", m),
        Err(m) => ("err", m),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}{key}={}", query_text(&text))).into_response()
}

/// Messages a page shows once (after a form post).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Flash {
    ok: Option<String>,
    err: Option<String>,
}

impl Flash {
    fn html(&self) -> String {
        let mut out = String::new();
        if let Some(m) = &self.ok {
            out.push_str(&format!(
                "<div class=\"flash ok\" role=\"status\">{}</div>",
                esc(m)
            ));
        }
        if let Some(m) = &self.err {
            out.push_str(&format!(
                "<div class=\"flash err\" role=\"alert\">{}</div>",
                esc(m)
            ));
        }
        out
    }
}

const NAV: [(&str, &str); 9] = [
    ("/", "Overview"),
    ("/strategies", "Strategies"),
    ("/positions", "Positions"),
    ("/orders", "Orders"),
    ("/trades", "Trades"),
    ("/performance", "Performance"),
    ("/backtests", "Backtests"),
    ("/audit", "Audit log"),
    ("/docs", "Docs"),
];

/// A whole page: navigation, who is logged in, the flash messages, `body`.
fn page(title: &str, here: &str, viewer: &Viewer, flash: &Flash, body: &str) -> Html<String> {
    let nav: String = NAV
        .iter()
        .map(|(href, label)| {
            let class = if *href == here { " class=\"here\"" } else { "" };
            format!("<a href=\"{href}\"{class}>{label}</a>")
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · PQAP</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body><header><span class=\"brand\">PQAP</span>{nav}\
         <span class=\"who\"><span id=\"live-dot\" class=\"live-dot\" title=\"connecting\"></span>\
         <span id=\"who\">{name} ({role})</span>\
         <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\">Log out</button></form></span></header>\
         <main><h1>{title}</h1>{flash}{body}</main><script src=\"/assets/live.js\"></script></body></html>",
        title = esc(title),
        name = esc(&viewer.principal.name),
        role = viewer.principal.role,
        csrf = esc(&viewer.csrf),
        flash = flash.html(),
    ))
}

/// A table cell: text (escaped) or markup built by the dashboard itself.
/// Anything a strategy or a user wrote is text.
pub enum Cell {
    Text(String),
    Html(String),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// An HTML table; numeric-looking text cells are right-aligned.
fn table(headers: &[&str], rows: Vec<Vec<Cell>>, row_attrs: Option<&[String]>) -> String {
    if rows.is_empty() {
        return "<p class=\"muted\">Nothing yet.</p>".to_string();
    }
    let numeric = |s: &str| s.parse::<rust_decimal::Decimal>().is_ok();
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in rows.into_iter().enumerate() {
        let attrs = row_attrs.and_then(|a| a.get(i)).map_or("", String::as_str);
        out.push_str(&format!("<tr{attrs}>"));
        for cell in row {
            match cell {
                Cell::Text(t) if numeric(&t) => {
                    out.push_str(&format!("<td class=\"num\">{}</td>", esc(&t)));
                }
                Cell::Text(t) => out.push_str(&format!("<td>{}</td>", esc(&t))),
                Cell::Html(h) => out.push_str(&format!("<td>{h}</td>")),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A JSON value as table text (strings without quotes).
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_the_origin_host_with_the_host_asked() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(
            same_origin(&h),
            "no Origin header: SameSite and the token decide"
        );
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
    }

    #[test]
    fn query_text_encodes_everything_but_unreserved() {
        assert_eq!(query_text("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn tables_escape_text_and_keep_only_built_markup() {
        let t = table(
            &["a", "b", "c"],
            vec![vec![
                Cell::Html("<b>x</b>".into()),
                "1<2 & \"q\"".into(),
                "<script>".into(),
            ]],
            None,
        );
        assert!(t.contains("<td><b>x</b></td>"));
        assert!(t.contains("1&lt;2 &amp; &quot;q&quot;"));
        assert!(
            t.contains("&lt;script&gt;"),
            "text that looks like markup is text"
        );
        assert!(table(&["a"], vec![vec!["12.5".into()]], None).contains("class=\"num\""));
    }
}
