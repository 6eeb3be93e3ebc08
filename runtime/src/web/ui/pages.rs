//! The dashboard's read pages: overview (with the trading-state form),
//! positions, orders, trades with explain, performance charts, audit log. They
//! show the same documents as the API (`report::views`) and the engine's live
//! status.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use super::strategies::strategy_rows;
use super::{Cell, Flash, Viewer, esc, page, table, text};
use crate::report::svg::{self, Line};
use crate::report::views;
use crate::store::Projections;
use crate::store::auth::{Role, audit_log};
use crate::web::api::ServerState;
use crate::web::live::LiveStatus;

pub(super) async fn journal(
    s: &ServerState,
) -> Result<tokio::sync::MutexGuard<'_, Projections>, Response> {
    crate::web::api::projections(s).await
}

pub(super) fn live(s: &ServerState) -> LiveStatus {
    s.live.read().map(|l| l.clone()).unwrap_or_default()
}

/// A hidden CSRF field for the viewer's forms.
pub(super) fn csrf(v: &Viewer) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&v.csrf)
    )
}

fn card(label: &str, value: &str, live_key: Option<&str>) -> String {
    let attr = live_key.map_or(String::new(), |k| format!(" data-live=\"{k}\""));
    format!(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\"{attr}>{}</div></div>",
        esc(label),
        esc(value)
    )
}

pub(super) async fn overview(
    State(s): State<ServerState>,
    v: Viewer,
    Query(flash): Query<Flash>,
) -> Response {
    let p = match journal(&s).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let l = live(&s);
    let day = views::performance(&p, i64::MAX);
    let sum = |key: &str| -> Decimal {
        day.iter()
            .filter_map(|d| d[key].as_str().and_then(|t| t.parse::<Decimal>().ok()))
            .sum()
    };
    // PnL today: equity now against each strategy's first mark of the UTC day.
    let day_start_ns =
        (crate::web::api::now_ms() * 1_000_000 / 86_400_000_000_000 * 86_400_000_000_000) as i64;
    let today: Decimal = l
        .strategies
        .iter()
        .map(|st| {
            let first = p
                .marks
                .iter()
                .find(|m| m.1 == st.id && m.0 >= day_start_ns)
                .map_or(Decimal::ZERO, |m| m.2);
            st.equity - first
        })
        .sum();
    let status = views::status(&p, l.journal_next_seq);
    let mut body = String::from("<div class=\"cards\">");
    body.push_str(&card(
        "Trading state",
        &l.trading_state,
        Some("trading_state"),
    ));
    body.push_str(&card(
        "Feed connected",
        &l.feed_connected.to_string(),
        Some("feed_connected"),
    ));
    body.push_str(&card(
        "Feed updates",
        &l.feed_updates.to_string(),
        Some("feed_updates"),
    ));
    body.push_str(&card(
        "Equity $",
        &l.equity.round_dp(4).to_string(),
        Some("equity"),
    ));
    body.push_str(&card("PnL today $", &today.round_dp(4).to_string(), None));
    body.push_str(&card(
        "Realised $",
        &sum("realized_total").round_dp(4).to_string(),
        None,
    ));
    body.push_str(&card("Open orders", &text(&status["open_orders"]), None));
    body.push_str(&card("Fills", &text(&status["fills"]), None));
    body.push_str(&card(
        "Journal",
        &l.journal_next_seq.to_string(),
        Some("journal_next_seq"),
    ));
    body.push_str("</div><h2>Strategies</h2>");
    body.push_str(&strategy_rows(&l, &v, false));
    body.push_str("<h2>Alerts</h2>");
    let alerts = crate::alerts::recent(s.journal.pool(), 10)
        .await
        .unwrap_or_default();
    let rows: Vec<Vec<Cell>> = alerts
        .iter()
        .map(|a| {
            let class = match a.severity.as_str() {
                "critical" => "bad",
                "warning" => "warn",
                _ => "muted",
            };
            vec![
                Cell::Text(crate::model::time::utc_datetime(a.ts_ns)),
                Cell::Html(format!(
                    "<span class=\"{class}\">{}</span>",
                    esc(&a.severity)
                )),
                Cell::Text(a.kind.clone()),
                Cell::Text(a.message.clone()),
            ]
        })
        .collect();
    body.push_str(&table(&["time", "severity", "kind", "message"], rows, None));
    if v.principal.role >= Role::Operator {
        body.push_str(&format!(
            "<h2>Trading state</h2><form method=\"post\" action=\"/ui/risk\">{}\
             <button name=\"state\" value=\"halt\" type=\"submit\">Halt</button> \
             <button name=\"state\" value=\"reduce\" type=\"submit\">Reduce only</button> \
             <button name=\"state\" value=\"resume\" type=\"submit\">Resume</button></form>",
            csrf(&v)
        ));
    }
    page("Overview", "/", &v, &flash, &body).into_response()
}

/// A value as a table shows it: money and prices to at most 6 decimals.
fn shown(v: &Value) -> String {
    let t = text(v);
    match t.parse::<Decimal>() {
        Ok(d) if d.scale() > 6 => d.round_dp(6).normalize().to_string(),
        _ => t,
    }
}

/// A whole table from view documents: `columns` are (header, key).
fn doc_table(docs: &[Value], columns: &[(&str, &str)], link_seq: bool) -> String {
    let headers: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let rows = docs
        .iter()
        .map(|d| {
            columns
                .iter()
                .map(|(_, key)| {
                    if link_seq && *key == "seq" {
                        let seq = text(&d["seq"]);
                        Cell::Html(format!("<a href=\"/trades/{0}\">{0}</a>", esc(&seq)))
                    } else {
                        Cell::Text(shown(&d[*key]))
                    }
                })
                .collect()
        })
        .collect();
    table(&headers, rows, None)
}

/// A page built from the journal's projections.
async fn journal_page(
    s: &ServerState,
    v: &Viewer,
    f: &Flash,
    (title, here): (&str, &str),
    body: impl FnOnce(&Projections) -> String,
) -> Response {
    match journal(s).await {
        Ok(p) => page(title, here, v, f, &body(&p)).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn positions(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    journal_page(&s, &v, &f, ("Positions", "/positions"), |p| {
        doc_table(
            &views::positions(p),
            &[
                ("strategy", "strategy_name"),
                ("token", "token"),
                ("shares", "shares"),
                ("avg price $", "avg_price"),
                ("cost $", "cost"),
            ],
            false,
        )
    })
    .await
}

pub(super) async fn orders(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    journal_page(&s, &v, &f, ("Open orders", "/orders"), |p| {
        doc_table(
            &views::orders(p),
            &[
                ("strategy", "strategy"),
                ("order", "client_id"),
                ("token", "token"),
                ("side", "side"),
                ("price $", "price"),
                ("shares", "shares"),
                ("filled", "filled"),
                ("status", "status"),
                ("reason", "reason"),
            ],
            false,
        )
    })
    .await
}

pub(super) async fn trades(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    journal_page(&s, &v, &f, ("Trades", "/trades"), |p| {
        let mut body = String::from(
            "<p class=\"muted\">The latest 200 fills; a fill's number explains it back to its cause.</p>",
        );
        body.push_str(&doc_table(
            &views::trades(p, 200),
            &[
                ("fill", "seq"),
                ("time", "time"),
                ("strategy", "strategy"),
                ("side", "side"),
                ("price $", "price"),
                ("shares", "shares"),
                ("fee $", "fee"),
                ("liquidity", "liquidity"),
                ("reason", "reason"),
            ],
            true,
        ));
        body
    })
    .await
}

pub(super) async fn explain(
    State(s): State<ServerState>,
    v: Viewer,
    Path(seq): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let doc = match s.view.explain(&s.journal, seq).await {
        Ok(d) => d,
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")).into_response();
        }
    };
    let Some(doc) = doc else {
        let body = format!("<p>Journal entry {seq} is not a fill.</p>");
        return (
            StatusCode::NOT_FOUND,
            page("Trade", "/trades", &v, &f, &body),
        )
            .into_response();
    };
    let reason = match doc["command"]["entry"].get("reason") {
        Some(r) => text(r),
        None => "(no command in the journal)".into(),
    };
    let mut body = format!("<h2>Reason</h2><p><code>{}</code></p>", esc(&reason));
    for (title, key) in [
        ("Fill", "fill"),
        ("Order", "order"),
        ("Strategy's command", "command"),
        ("Market event that caused it", "cause"),
    ] {
        let shown = match &doc[key] {
            Value::Null => "(none: a timer or an order event led to it)".to_string(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        body.push_str(&format!("<h2>{title}</h2><pre>{}</pre>", esc(&shown)));
    }
    page(&format!("Fill #{seq} explained"), "/trades", &v, &f, &body).into_response()
}

pub(super) async fn performance(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    let p = match journal(&s).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let docs = views::performance(&p, 7 * 86_400_000_000_000);
    let mut body = doc_table(
        &docs,
        &[
            ("strategy", "name"),
            ("version", "version"),
            ("fills", "fills"),
            ("volume $", "volume"),
            ("fees $", "fees"),
            ("realised $", "realized_total"),
            ("equity change $", "equity_change"),
        ],
        false,
    );
    // Pixels are f64; the numbers in the tables stay exact.
    let px = |d: Decimal| d.to_f64().unwrap_or(0.0);
    const COLORS: [&str; 6] = [
        "#2855c5", "#127a3e", "#b54708", "#7a2ec5", "#b42318", "#0e7490",
    ];
    let names: Vec<(u32, String)> = p
        .strategies
        .iter()
        .map(|(id, (n, _))| (*id, n.clone()))
        .collect();
    let lines: Vec<Line> = names
        .iter()
        .enumerate()
        .map(|(i, (id, name))| Line {
            name,
            color: COLORS[i % COLORS.len()],
            points: p
                .marks
                .iter()
                .filter(|m| m.1 == *id)
                .map(|m| (u64::try_from(m.0 / 1_000_000).unwrap_or(0), px(m.2)))
                .collect(),
            area: false,
        })
        .collect();
    if let Some(chart) = svg::time_chart("Equity by strategy", &lines, &[], "$") {
        body.push_str(&format!("<h2>Equity</h2>{chart}"));
    }
    let mut by_market: std::collections::BTreeMap<String, Decimal> = Default::default();
    for (id, name) in &names {
        if let Some(a) = p.portfolio.account(*id) {
            for (token, h) in &a.holdings {
                let t = token.as_str();
                let short = if t.len() > 12 {
                    format!("{}…", &t[..10])
                } else {
                    t.to_string()
                };
                *by_market
                    .entry(format!("{name} {short} (cost)"))
                    .or_default() += h.cost;
            }
        }
    }
    let bars: Vec<(String, f64)> = docs
        .iter()
        .flat_map(|d| {
            let name = text(&d["name"]);
            d["by_reason"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |r| {
                    (
                        format!("{name} · {}", text(&r["reason"])),
                        text(&r["volume"]).parse::<Decimal>().map_or(0.0, px),
                    )
                })
        })
        .collect();
    if let Some(chart) = svg::bar_chart("Volume by strategy and reason, 7 days", &bars, "$") {
        body.push_str(&format!("<h2>By reason</h2>{chart}"));
    }
    let held: Vec<(String, f64)> = by_market.into_iter().map(|(k, c)| (k, px(c))).collect();
    if let Some(chart) = svg::bar_chart("Held at cost, by strategy and token", &held, "$") {
        body.push_str(&format!("<h2>By market</h2>{chart}"));
    }
    page("Performance (7 days)", "/performance", &v, &f, &body).into_response()
}

pub(super) async fn audit(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    if v.principal.role < Role::Operator {
        let body = "<p>The audit log is for operators and admins.</p>";
        return (
            StatusCode::FORBIDDEN,
            page("Audit log", "/audit", &v, &f, body),
        )
            .into_response();
    }
    let entries = match audit_log(&s.auth, 500).await {
        Ok(e) => e,
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("audit log: {e}")).into_response();
        }
    };
    let rows: Vec<Vec<Cell>> = entries
        .iter()
        .map(|e| {
            vec![
                Cell::Text(e.id.to_string()),
                Cell::Text(crate::model::time::utc_datetime(e.ts_ns)),
                Cell::Text(e.actor.clone()),
                Cell::Text(e.action.clone()),
                Cell::Text(e.detail.clone()),
                Cell::Text(e.outcome.clone()),
            ]
        })
        .collect();
    let body = table(
        &["#", "time", "who", "action", "detail", "outcome"],
        rows,
        None,
    );
    page("Audit log", "/audit", &v, &f, &body).into_response()
}
