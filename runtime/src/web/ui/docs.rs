//! The dashboard's reading room: the user documentation (compiled into the
//! binary from `docs/`, rendered from Markdown) and the stored backtest runs
//! with their self-contained reports.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

use super::{Cell, Flash, Viewer, esc, page, table};
use crate::backtest::runs;
use crate::web::api::ServerState;

/// The user documentation: (name, title, Markdown).
const DOCS: [(&str, &str, &str); 9] = [
    (
        "USER_GUIDE",
        "User guide",
        include_str!("../../../../docs/USER_GUIDE.md"),
    ),
    (
        "STRATEGY_GUIDE",
        "Strategy guide",
        include_str!("../../../../docs/STRATEGY_GUIDE.md"),
    ),
    (
        "API_REFERENCE",
        "API reference",
        include_str!("../../../../docs/API_REFERENCE.md"),
    ),
    (
        "DEPLOYMENT_GUIDE",
        "Deployment guide",
        include_str!("../../../../docs/DEPLOYMENT_GUIDE.md"),
    ),
    (
        "OPERATIONS_RUNBOOK",
        "Operations runbook",
        include_str!("../../../../docs/OPERATIONS_RUNBOOK.md"),
    ),
    (
        "MARKET_DATA",
        "Market data",
        include_str!("../../../../docs/MARKET_DATA.md"),
    ),
    (
        "ARCHITECTURE",
        "Architecture",
        include_str!("../../../../docs/ARCHITECTURE.md"),
    ),
    (
        "BENCHMARKS",
        "Benchmarks",
        include_str!("../../../../docs/BENCHMARKS.md"),
    ),
    ("README", "Read me", include_str!("../../../../README.md")),
];

/// Markdown to HTML; links between the documents stay inside the dashboard.
fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|e| match e {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest = internal_link(&dest_url).map_or(dest_url, CowStr::from);
            Event::Start(Tag::Link {
                link_type,
                dest_url: dest,
                title,
                id,
            })
        }
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// `docs/USER_GUIDE.md#x` or `USER_GUIDE.md` → `/docs/USER_GUIDE#x`.
fn internal_link(dest: &str) -> Option<String> {
    if dest.contains("://") {
        return None;
    }
    let (path, anchor) = dest.split_once('#').unwrap_or((dest, ""));
    let stem = path.rsplit('/').next()?.strip_suffix(".md")?;
    DOCS.iter().any(|(n, _, _)| *n == stem).then(|| {
        if anchor.is_empty() {
            format!("/docs/{stem}")
        } else {
            format!("/docs/{stem}#{anchor}")
        }
    })
}

pub(super) async fn index(v: Viewer, Query(f): Query<Flash>) -> Response {
    let items: String = DOCS
        .iter()
        .map(|(name, title, _)| format!("<li><a href=\"/docs/{name}\">{title}</a></li>"))
        .collect();
    page(
        "Documentation",
        "/docs",
        &v,
        &f,
        &format!("<ul>{items}</ul>"),
    )
    .into_response()
}

fn page_of(name: &str) -> Option<(&'static str, String)> {
    DOCS.iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, title, text)| (*title, render(text)))
}

pub(super) async fn doc(v: Viewer, Path(name): Path<String>, Query(f): Query<Flash>) -> Response {
    match page_of(&name) {
        Some((title, html)) => page(
            title,
            "/docs",
            &v,
            &f,
            &format!("<article class=\"doc\">{html}</article>"),
        )
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            page(
                "Documentation",
                "/docs",
                &v,
                &f,
                &format!("<p>No document {}.</p>", esc(&name)),
            ),
        )
            .into_response(),
    }
}

pub(super) async fn backtests(
    State(s): State<ServerState>,
    v: Viewer,
    Query(f): Query<Flash>,
) -> Response {
    let list = runs::list(&s.backtests_dir).unwrap_or_default();
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .rev()
        .map(|r| {
            let m = &r.summary.metrics;
            vec![
                Cell::Html(format!(
                    "<a href=\"/backtests/{0}\"><code>{1}</code></a>",
                    esc(&r.run_id),
                    esc(&r.run_id[..12.min(r.run_id.len())])
                )),
                Cell::Text(format!("{} {}", r.inputs.strategy, r.inputs.version)),
                Cell::Text(format!(
                    "{} → {}",
                    r.inputs.window.start, r.inputs.window.end
                )),
                Cell::Text(r.summary.fills.to_string()),
                Cell::Text(m.total_pnl.round_dp(4).to_string()),
                Cell::Text(m.sharpe.map_or("—".into(), |x| format!("{x:.2}"))),
            ]
        })
        .collect();
    let mut body = format!(
        "<p class=\"muted\">Runs stored in <code>{}</code> by <code>pqap backtest</code>.</p>",
        esc(&s.backtests_dir.display().to_string())
    );
    body.push_str(&table(
        &["run", "strategy", "window", "fills", "PnL $", "Sharpe"],
        rows,
        None,
    ));
    page("Backtests", "/backtests", &v, &f, &body).into_response()
}

pub(super) async fn backtest_report(
    State(s): State<ServerState>,
    _: Viewer,
    Path(id): Path<String>,
) -> Response {
    // A run id, never a path: nothing else is looked up.
    let well_formed = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let html = if well_formed {
        std::fs::read_to_string(runs::report_path(&s.backtests_dir, &id)).ok()
    } else {
        None
    };
    match html {
        Some(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The report is self-contained: nothing to load, nothing to run.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                ),
            ],
            html,
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            format!("no stored backtest report {id:?}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_between_documents_stay_in_the_dashboard() {
        assert_eq!(
            internal_link("docs/USER_GUIDE.md#server").as_deref(),
            Some("/docs/USER_GUIDE#server")
        );
        assert_eq!(
            internal_link("API_REFERENCE.md").as_deref(),
            Some("/docs/API_REFERENCE")
        );
        assert_eq!(internal_link("https://example.com/X.md"), None);
        assert_eq!(internal_link("NOT_A_DOC.md"), None);
        let html = render("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nsee [guide](USER_GUIDE.md)");
        assert!(
            html.contains("<table>") && html.contains("href=\"/docs/USER_GUIDE\""),
            "{html}"
        );
    }
}
