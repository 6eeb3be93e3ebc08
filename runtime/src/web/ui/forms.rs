//! The dashboard's form posts: upload a component, deploy one, pause, resume
//! or retire a strategy, switch the trading state. Each checks the session's
//! CSRF token, then runs the same action as the API (role checks and the audit
//! log included) and redirects back with the outcome.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::{Viewer, back, csrf_ok, csrf_refused};
use crate::engine::deployments::limit_value;
use crate::web::actions;
use crate::web::api::ServerState;

/// `NAME=VALUE` lines (blank lines and `#` comments skipped); the line at
/// fault is named.
fn lines(text: &str, what: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| format!("{what}: {line:?} is not NAME=VALUE"))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

pub(super) async fn upload(
    State(s): State<ServerState>,
    v: Viewer,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut token = String::new();
    let mut component: Option<Vec<u8>> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => token = field.text().await.unwrap_or_default(),
                Some("component") => match field.bytes().await {
                    Ok(b) => component = Some(b.to_vec()),
                    Err(e) => {
                        return back("/strategies", Err(format!("reading the upload: {e}")));
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return back("/strategies", Err(format!("reading the upload: {e}"))),
        }
    }
    if !csrf_ok(&v, &token, &headers) {
        return csrf_refused();
    }
    let Some(bytes) = component else {
        return back("/strategies", Err("choose a .wasm file to upload".into()));
    };
    match actions::upload(&s, &v.principal, bytes).await {
        Ok(m) => back(
            "/strategies",
            Ok(format!(
                "uploaded {} {} (sha256 {})",
                m.name, m.version, m.sha256
            )),
        ),
        Err(r) => back("/strategies", Err(r.message)),
    }
}

#[derive(Deserialize)]
pub(super) struct DeployForm {
    csrf: String,
    name: String,
    sha256: String,
    #[serde(default)]
    params: String,
    #[serde(default)]
    limits: String,
    #[serde(default)]
    markets: String,
}

pub(super) async fn deploy(
    State(s): State<ServerState>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<DeployForm>,
) -> Response {
    if !csrf_ok(&v, &f.csrf, &headers) {
        return csrf_refused();
    }
    let parsed = lines(&f.params, "parameters").and_then(|p| {
        let limits = lines(&f.limits, "limits")?
            .into_iter()
            .map(|(k, v)| (k, limit_value(&v)))
            .collect::<serde_json::Map<_, _>>();
        Ok((p, limits))
    });
    let (params, limits) = match parsed {
        Ok(x) => x,
        Err(e) => return back("/strategies", Err(e)),
    };
    let markets: Vec<String> = f
        .markets
        .split(['\n', ','])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    match actions::deploy(
        &s,
        &v.principal,
        &f.name,
        &f.sha256,
        params,
        limits,
        markets,
    )
    .await
    {
        Ok(doc) => back(
            "/strategies",
            Ok(format!(
                "deployment {} of {} queued; the engine applies it within a second",
                doc["deployment"], f.name
            )),
        ),
        Err(r) => back("/strategies", Err(r.message)),
    }
}

#[derive(Deserialize)]
pub(super) struct StrategyForm {
    csrf: String,
    name: String,
    action: String,
}

pub(super) async fn strategy(
    State(s): State<ServerState>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<StrategyForm>,
) -> Response {
    if !csrf_ok(&v, &f.csrf, &headers) {
        return csrf_refused();
    }
    let outcome = match f.action.as_str() {
        "pause" => actions::pause(&s, &v.principal, &f.name, true).await,
        "resume" => actions::pause(&s, &v.principal, &f.name, false).await,
        "retire" => actions::retire(&s, &v.principal, &f.name).await,
        other => return back("/strategies", Err(format!("unknown action {other:?}"))),
    };
    match outcome {
        Ok(_) => back(
            "/strategies",
            Ok(format!("{} {} requested", f.action, f.name)),
        ),
        Err(r) => back("/strategies", Err(r.message)),
    }
}

#[derive(Deserialize)]
pub(super) struct RiskForm {
    csrf: String,
    state: String,
}

pub(super) async fn risk(
    State(s): State<ServerState>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<RiskForm>,
) -> Response {
    if !csrf_ok(&v, &f.csrf, &headers) {
        return csrf_refused();
    }
    match actions::risk(&s, &v.principal, &f.state).await {
        Ok(doc) => back("/", Ok(format!("trading state {} requested", doc["state"]))),
        Err(r) => back("/", Err(r.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_skip_blanks_and_comments_and_name_bad_ones() {
        let m = lines("a=1\n\n# note\n b = x y \n", "parameters").unwrap();
        assert_eq!(m["a"], "1");
        assert_eq!(m["b"], "x y");
        let e = lines("a=1\noops", "limits").unwrap_err();
        assert!(e.contains("limits") && e.contains("oops"), "{e}");
    }

    proptest::proptest! {
        /// Any assignments written one per line (with CRLF or LF, blank lines
        /// and comments between) parse back to themselves; text without `=`
        /// is refused, never panics.
        #[test]
        fn lines_round_trip(
            pairs in proptest::collection::btree_map("[a-z_][a-z0-9_]{0,12}", "[ -~&&[^=]]{0,20}", 0..8),
            crlf in proptest::bool::ANY,
            junk in "[^=]{1,20}",
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text: String = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}{nl}# comment{nl}{nl}"))
                .collect();
            let parsed = lines(&text, "parameters").unwrap();
            let want: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect();
            proptest::prop_assert_eq!(parsed, want);
            let bad = format!("{text}{junk}");
            if !junk.trim().is_empty() && !junk.trim().starts_with('#') {
                proptest::prop_assert!(lines(&bad, "limits").is_err());
            }
        }
    }
}
