//! The dashboard's strategies page: what runs (state, version, PnL, fuel,
//! faults, with pause, resume and retire), the upload form, the strategy
//! library with a deploy form per component, the deployment history and the
//! fault history.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::pages::{csrf, journal, live};
use super::{Cell, Flash, Viewer, esc, page, table};
use crate::store::auth::Role;
use crate::store::deploys;
use crate::web::api::ServerState;
use crate::web::live::LiveStatus;

/// The strategies of the live status, one row each, fields updated live.
pub(super) fn strategy_rows(l: &LiveStatus, v: &Viewer, actions: bool) -> String {
    let mut attrs = Vec::new();
    let rows: Vec<Vec<Cell>> = l
        .strategies
        .iter()
        .map(|st| {
            attrs.push(format!(" data-strategy=\"{}\"", esc(&st.name)));
            let live_cell = |field: &str, value: String| {
                Cell::Html(format!("<span data-field=\"{field}\">{}</span>", esc(&value)))
            };
            let mut row = vec![
                Cell::Text(st.name.clone()),
                Cell::Text(st.version.clone()),
                live_cell("state", st.state.to_string()),
                live_cell("fills", st.fills.to_string()),
                live_cell("realized", st.realized.round_dp(4).to_string()),
                live_cell("equity", st.equity.round_dp(4).to_string()),
                live_cell("fees", st.fees.round_dp(4).to_string()),
                live_cell("fuel_calls", st.fuel_calls.to_string()),
                live_cell("faults", st.faults.to_string()),
                live_cell("last_fault", st.last_fault.clone().unwrap_or_default()),
            ];
            if actions {
                let mut forms = String::new();
                let button = |action: &str, label: &str| {
                    format!(
                        "<form class=\"inline\" method=\"post\" action=\"/ui/strategy\">{}\
                         <input type=\"hidden\" name=\"name\" value=\"{}\">\
                         <input type=\"hidden\" name=\"action\" value=\"{action}\">\
                         <button type=\"submit\" data-action=\"{action}-{}\">{label}</button></form> ",
                        csrf(v),
                        esc(&st.name),
                        esc(&st.name)
                    )
                };
                if v.principal.role >= Role::Operator {
                    if st.state == "paused" {
                        forms.push_str(&button("resume", "Resume"));
                    } else {
                        forms.push_str(&button("pause", "Pause"));
                    }
                }
                if v.principal.role >= Role::Admin {
                    forms.push_str(&button("retire", "Retire"));
                }
                row.push(Cell::Html(forms));
            }
            row
        })
        .collect();
    let mut headers = vec![
        "strategy",
        "version",
        "state",
        "fills",
        "realised $",
        "equity $",
        "fees $",
        "calls",
        "faults",
        "last fault",
    ];
    if actions {
        headers.push("");
    }
    table(&headers, rows, Some(&attrs))
}

pub(super) async fn strategies(
    State(s): State<ServerState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> Response {
    let p = match journal(&s).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let l = live(&s);
    let mut body = strategy_rows(&l, &v, true);
    if v.principal.role >= Role::Admin {
        body.push_str(&format!(
            "<fieldset><legend>Upload a strategy component</legend>\
             <form method=\"post\" action=\"/ui/upload\" enctype=\"multipart/form-data\">{}\
             <input type=\"file\" name=\"component\" accept=\".wasm\" required> \
             <button class=\"primary\" type=\"submit\">Upload</button></form>\
             <p class=\"muted\">Checked like <code>pqap strategy validate</code>, stored by sha256.</p></fieldset>",
            csrf(&v)
        ));
    }
    body.push_str("<h2>Strategy library</h2>");
    let library = s.artifacts.as_ref().map(|a| a.list()).unwrap_or_default();
    let rows: Vec<Vec<Cell>> = library
        .iter()
        .map(|m| {
            let params = m
                .params
                .iter()
                .map(|d| format!("{} ({}, default {})", d.name, d.kind, d.default))
                .collect::<Vec<_>>()
                .join("; ");
            let mut row = vec![
                Cell::Text(m.name.clone()),
                Cell::Text(m.version.clone()),
                Cell::Html(format!("<code title=\"{0}\">{1}</code>", esc(&m.sha256), esc(&m.sha256[..12.min(m.sha256.len())]))),
                Cell::Text(m.size_bytes.to_string()),
                Cell::Text(params),
            ];
            if v.principal.role >= Role::Admin {
                row.push(Cell::Html(format!(
                    "<form method=\"post\" action=\"/ui/deploy\">{}\
                     <input type=\"hidden\" name=\"name\" value=\"{}\">\
                     <input type=\"hidden\" name=\"sha256\" value=\"{}\">\
                     <textarea name=\"params\" rows=\"2\" cols=\"24\" placeholder=\"NAME=VALUE per line\"></textarea> \
                     <textarea name=\"limits\" rows=\"2\" cols=\"24\" placeholder=\"max_daily_loss=25\"></textarea> \
                     <textarea name=\"markets\" rows=\"2\" cols=\"24\" placeholder=\"markets (slug or condition id per line; empty: all)\"></textarea> \
                     <button type=\"submit\" data-action=\"deploy-{}\">Deploy</button></form>",
                    csrf(&v),
                    esc(&m.name),
                    esc(&m.sha256),
                    esc(&m.sha256)
                )));
            }
            row
        })
        .collect();
    body.push_str(&table(
        &["name", "version", "sha256", "bytes", "parameters", ""],
        rows,
        None,
    ));
    body.push_str("<h2>Deployments</h2>");
    let recent = deploys::recent(s.journal.pool(), 50)
        .await
        .unwrap_or_default();
    let rows: Vec<Vec<Cell>> = recent
        .iter()
        .map(|d| {
            vec![
                Cell::Text(d.id.to_string()),
                Cell::Text(crate::model::time::utc_datetime(d.requested_ns)),
                Cell::Text(d.actor.clone()),
                Cell::Text(d.strategy.clone()),
                Cell::Text(d.action.clone()),
                Cell::Text(
                    d.sha256
                        .as_deref()
                        .map_or(String::new(), |x| x[..12.min(x.len())].to_string()),
                ),
                Cell::Text(d.outcome.clone().unwrap_or_else(|| "pending".into())),
                Cell::Text(d.message.clone().unwrap_or_default()),
            ]
        })
        .collect();
    body.push_str(&table(
        &[
            "#",
            "requested",
            "by",
            "strategy",
            "action",
            "sha256",
            "outcome",
            "message",
        ],
        rows,
        None,
    ));
    body.push_str("<h2>Faults</h2>");
    let rows: Vec<Vec<Cell>> = p
        .faults
        .iter()
        .rev()
        .take(50)
        .map(|(seq, id, fault)| {
            vec![
                Cell::Text(seq.to_string()),
                Cell::Text(
                    p.strategies
                        .get(id)
                        .map_or_else(|| id.to_string(), |x| x.0.clone()),
                ),
                Cell::Text(fault.to_string()),
            ]
        })
        .collect();
    body.push_str(&table(&["seq", "strategy", "fault"], rows, None));
    page("Strategies", "/strategies", &v, &flash, &body).into_response()
}
