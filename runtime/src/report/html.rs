//! The self-contained HTML report of a run: charts as inline SVG, styles inline,
//! no script and no network, so it opens anywhere and can be archived as is.

use std::collections::BTreeMap;
use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::analyses::Analyses;
use super::attribution::{Attribution, Slice};
use super::calibration::Calibration;
use super::result::RunSummary;
use super::svg::{self, Line, Marker, esc};
use crate::model::money::{price_dollars, shares};
use crate::model::{OrderEvent, Price, Side, TokenId};
use crate::store::{Entry, Stored};

/// Everything a report page shows.
pub struct ReportPage<'a> {
    pub title: String,
    /// Run facts (id, strategy, data, window, seed, parameters …) as label/value.
    pub facts: Vec<(String, String)>,
    pub capital: Decimal,
    pub summary: &'a RunSummary,
    pub attribution: &'a Attribution,
    pub calibration: &'a Calibration,
    pub analyses: &'a Analyses,
    pub entries: &'a [Stored],
    pub strategy: u32,
    /// Sampled mids per token.
    pub prices: &'a BTreeMap<TokenId, Vec<(u64, Price)>>,
    /// Token → (question, outcome).
    pub names: &'a BTreeMap<TokenId, (String, String)>,
    /// The market whose price path and fills are drawn (question); default: the
    /// one with the most fills.
    pub market: Option<String>,
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;margin:24px auto;max-width:920px;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}\
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:8px 0}figcaption{font-weight:600;margin-bottom:4px}\
svg{max-width:100%;height:auto;background:#fff}.ax{font-size:11px;fill:#57606a}.legend span{margin-right:14px;font-size:12px}\
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}.ok{color:#1a7f37}.warn{color:#9a6700;font-weight:600}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}.muted{color:#57606a}";

fn d(v: Decimal) -> String {
    v.round_dp(4).normalize().to_string()
}

fn od(v: Option<Decimal>) -> String {
    v.map_or("—".into(), d)
}

fn of(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{:.1} %", x * 100.0))
}

fn f(v: Decimal) -> f64 {
    v.to_f64().unwrap_or(0.0)
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if i > 0 { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if i > 0 { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn ts_ms(e: &Stored) -> u64 {
    u64::try_from(e.ts_ns / 1_000_000).unwrap_or(0)
}

fn metrics_tables(out: &mut String, s: &RunSummary) {
    let m = &s.metrics;
    let dd = &m.max_drawdown;
    let day = |ns: i64| crate::model::time::utc_day(ns / 1_000_000);
    let returns = vec![
        vec!["Total PnL $".into(), d(m.total_pnl)],
        vec![
            "Return".into(),
            pct(m.total_return.and_then(|r| r.to_f64())),
        ],
        vec!["Annualised return".into(), pct(m.annualized_return)],
        vec!["Sharpe".into(), of(m.sharpe, 2)],
        vec!["Sortino".into(), of(m.sortino, 2)],
        vec!["Calmar".into(), of(m.calmar, 2)],
        vec![
            "Max drawdown $".into(),
            format!(
                "{} ({})",
                d(dd.value),
                pct(dd.fraction.and_then(|x| x.to_f64()))
            ),
        ],
        vec![
            "Drawdown peak → trough".into(),
            if dd.value.is_zero() {
                "—".into()
            } else {
                format!("{} → {}", day(dd.peak_ts_ns), day(dd.trough_ts_ns))
            },
        ],
        vec![
            "Drawdown duration".into(),
            format!(
                "{:.1} h{}",
                dd.duration_ns as f64 / 3.6e12,
                if dd.recovered_ts_ns.is_none() && !dd.value.is_zero() {
                    " (not recovered)"
                } else {
                    ""
                }
            ),
        ],
        vec![
            "Best / worst day $".into(),
            format!("{} / {}", od(m.best_day), od(m.worst_day)),
        ],
        vec![
            "Realised: closed early / held to resolution $".into(),
            format!("{} / {}", d(s.realized_closed), d(s.realized_resolution)),
        ],
    ];
    let trading = vec![
        vec![
            "Orders / fills".into(),
            format!("{} / {}", s.orders, s.fills),
        ],
        vec!["Closed trades".into(), m.trades.to_string()],
        vec!["Win rate".into(), pct(m.win_rate)],
        vec![
            "Average win / loss $".into(),
            format!("{} / {}", od(m.average_win), od(m.average_loss)),
        ],
        vec![
            "Best / worst trade $".into(),
            format!("{} / {}", od(m.best_trade), od(m.worst_trade)),
        ],
        vec!["Profit factor".into(), od(m.profit_factor)],
        vec!["Expectancy $".into(), od(m.expectancy)],
        vec![
            "Max consecutive wins / losses".into(),
            format!("{} / {}", m.max_consecutive_wins, m.max_consecutive_losses),
        ],
        vec!["Fees $".into(), d(s.fees)],
        vec!["Maker share of fills".into(), pct(s.maker_share)],
        vec![
            "Volume (shares) / turnover $".into(),
            format!("{} / {}", d(s.volume_shares), d(s.turnover)),
        ],
        vec!["Time in market".into(), pct(s.time_in_market)],
        vec![
            "Average holding".into(),
            s.average_holding_s
                .map_or("—".into(), |x| format!("{:.1} min", x / 60.0)),
        ],
        vec![
            "Risk rejections / faults".into(),
            format!("{} / {}", s.risk_rejections, s.faults),
        ],
    ];
    out.push_str("<div class=\"grid\"><div>");
    table(out, &["Returns and risk", ""], &returns);
    out.push_str("</div><div>");
    table(out, &["Trading", ""], &trading);
    out.push_str("</div></div>");
}

fn slice_rows(slices: &BTreeMap<String, Slice>, with_unrealized: bool) -> Vec<Vec<String>> {
    let mut rows: Vec<(&String, &Slice)> = slices.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.pnl()));
    rows.into_iter()
        .map(|(name, s)| {
            let mut r = vec![
                if name.is_empty() {
                    "(untagged)".into()
                } else {
                    name.clone()
                },
                s.orders.to_string(),
                s.fills.to_string(),
                d(s.turnover),
                d(s.fees),
                d(s.realized),
            ];
            if with_unrealized {
                r.push(d(s.unrealized));
                r.push(d(s.pnl()));
            }
            r
        })
        .collect()
}

/// Renders the page.
pub fn render(page: &ReportPage) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&page.title)
    );
    let _ = write!(out, "<h1>{}</h1>", esc(&page.title));
    out.push_str("<p class=\"muted\">");
    let facts: Vec<String> = page
        .facts
        .iter()
        .map(|(k, v)| format!("{}: <b>{}</b>", esc(k), esc(v)))
        .collect();
    out.push_str(&facts.join(" · "));
    out.push_str("</p>");

    out.push_str("<h2>Sanity analyses</h2><ul>");
    for finding in &page.analyses.findings {
        let (class, mark) = if finding.passed {
            ("ok", "✓")
        } else {
            ("warn", "⚠")
        };
        let _ = write!(
            out,
            "<li class=\"{class}\">{mark} <b>{}</b> — <span>{}</span></li>",
            esc(&finding.check),
            esc(&finding.message)
        );
    }
    out.push_str("</ul>");

    // Equity and drawdown from the marks.
    let mut equity = Vec::new();
    let mut drawdown = Vec::new();
    let mut peak = f64::MIN;
    for e in page.entries {
        if let Entry::Mark {
            strategy,
            equity: eq,
            ..
        } = &e.entry
            && *strategy == page.strategy
        {
            let v = f(*eq + page.capital);
            peak = peak.max(v);
            equity.push((ts_ms(e), v));
            drawdown.push((ts_ms(e), v - peak));
        }
    }
    out.push_str("<h2>Equity</h2>");
    let charts = [
        svg::time_chart(
            "Equity ($, marked to mid)",
            &[Line {
                name: "equity",
                color: "#0969da",
                points: equity,
                area: false,
            }],
            &[],
            "",
        ),
        svg::time_chart(
            "Drawdown ($ below the running peak)",
            &[Line {
                name: "drawdown",
                color: "#cf222e",
                points: drawdown,
                area: true,
            }],
            &[],
            "",
        ),
    ];
    for c in charts {
        out.push_str(&c.unwrap_or_else(|| "<p class=\"muted\">No equity marks.</p>".into()));
    }

    out.push_str("<h2>Metrics</h2>");
    metrics_tables(&mut out, page.summary);

    out.push_str("<h2>PnL by market</h2>");
    let mut bars: Vec<(String, f64)> = page
        .attribution
        .by_market
        .iter()
        .map(|(m, s)| (m.clone(), f(s.pnl())))
        .collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(c) = svg::bar_chart("Realised + unrealised PnL ($)", &bars, "") {
        out.push_str(&c);
    }
    table(
        &mut out,
        &[
            "Market",
            "Orders",
            "Fills",
            "Turnover $",
            "Fees $",
            "Realised $",
            "Unrealised $",
            "PnL $",
        ],
        &slice_rows(&page.attribution.by_market, true),
    );
    out.push_str("<h2>PnL by reason</h2>");
    table(
        &mut out,
        &[
            "Reason tag",
            "Orders",
            "Fills",
            "Turnover $",
            "Fees $",
            "Realised $",
        ],
        &slice_rows(&page.attribution.by_reason, false),
    );

    fills_chart(&mut out, page);

    out.push_str("<h2>Daily PnL</h2>");
    let days: Vec<(String, f64)> = page
        .summary
        .metrics
        .daily_pnl
        .iter()
        .map(|(day, v)| (day.clone(), f(*v)))
        .collect();
    if let Some(c) = svg::bar_chart("PnL per UTC day ($)", &days, "") {
        out.push_str(&c);
    }

    out.push_str("<h2>Forecast calibration</h2>");
    let c = page.calibration;
    if c.forecasts == 0 {
        out.push_str("<p class=\"muted\">The strategy published no forecasts (end an order's reason with <code>p=0.62</code> to publish one).</p>");
    } else {
        let _ = write!(
            out,
            "<p>{} forecasts, {} settled; Brier score <b>{}</b> (0 is perfect, 0.25 a coin flip).</p>",
            c.forecasts,
            c.settled,
            of(c.brier, 4)
        );
        let rows: Vec<Vec<String>> = c
            .buckets
            .iter()
            .filter(|b| b.forecasts > 0)
            .map(|b| {
                vec![
                    format!("{} – {}", b.low, b.high),
                    b.forecasts.to_string(),
                    of(b.mean_forecast, 3),
                    of(b.observed, 3),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Forecast", "Count", "Mean forecast", "Observed"],
            &rows,
        );
    }
    out.push_str("<p class=\"muted\">Generated by pqap. Money is exact in the tables; charts are drawn to pixel precision.</p></body></html>");
    out
}

/// The chosen market's mid-price path with the strategy's fills on it.
fn fills_chart(out: &mut String, page: &ReportPage) {
    let mut fills_per_market: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fills = Vec::new();
    for e in page.entries {
        if let Entry::Order {
            event: OrderEvent::Filled(fill),
        } = &e.entry
            && fill.key.strategy == page.strategy
            && let Some((question, outcome)) = page.names.get(&fill.token)
        {
            *fills_per_market.entry(question.as_str()).or_default() += 1;
            fills.push((question.as_str(), outcome.as_str(), fill));
        }
    }
    let market = page.market.clone().or_else(|| {
        fills_per_market
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(m, _)| m.to_string())
    });
    let Some(market) = market else {
        return;
    };
    let _ = write!(out, "<h2>Fills on the price path: {}</h2>", esc(&market));
    const COLORS: [&str; 2] = ["#0969da", "#bf8700"];
    let mut lines = Vec::new();
    let mut markers = Vec::new();
    let tokens: Vec<(&TokenId, &String)> = page
        .names
        .iter()
        .filter(|(_, (q, _))| *q == market)
        .map(|(t, (_, o))| (t, o))
        .collect();
    for (i, (token, outcome)) in tokens.iter().enumerate() {
        let points = page
            .prices
            .get(*token)
            .map(|p| {
                p.iter()
                    .map(|(ts, mid)| (*ts, f(price_dollars(*mid))))
                    .collect()
            })
            .unwrap_or_default();
        lines.push(Line {
            name: outcome.as_str(),
            color: COLORS[i % 2],
            points,
            area: false,
        });
    }
    for (question, outcome, fill) in &fills {
        if *question == market {
            markers.push(Marker {
                ts_ms: fill.ts_ns / 1_000_000,
                value: f(price_dollars(fill.price)),
                buy: fill.side == Side::Buy,
                title: format!(
                    "{:?} {} {outcome} @ {} ({:?})",
                    fill.side,
                    d(shares(fill.size)),
                    d(price_dollars(fill.price)),
                    fill.liquidity
                ),
            });
        }
    }
    let names: Vec<&str> = tokens.iter().map(|(_, o)| o.as_str()).collect();
    let title = format!(
        "Mid price of {} with fills ($ per share)",
        names.join(" / ")
    );
    if let Some(c) = svg::time_chart(&title, &lines, &markers, "") {
        out.push_str(&c);
    }
}
