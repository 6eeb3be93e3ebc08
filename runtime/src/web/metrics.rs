//! `/metrics`: the live status in the Prometheus text exposition format.

use std::fmt::Write;

use rust_decimal::prelude::ToPrimitive;

use super::live::LiveStatus;

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders `s` (metric names prefixed `pqap_`).
pub fn render(s: &LiveStatus) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP pqap_{name} {help}");
        let _ = writeln!(out, "# TYPE pqap_{name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "pqap_{name}{labels} {v}");
        }
    };
    gauge(
        "feed_connected",
        "1 while the market feed is connected.",
        "gauge",
        vec![(String::new(), f64::from(u8::from(s.feed_connected)))],
    );
    gauge(
        "feed_updates_total",
        "Market data updates processed.",
        "counter",
        vec![(String::new(), s.feed_updates as f64)],
    );
    gauge(
        "feed_updates_per_second",
        "Market data updates processed per second, over the last status interval.",
        "gauge",
        vec![(String::new(), s.feed_updates_per_s)],
    );
    gauge(
        "feed_reconnects_total",
        "Market feed reconnections.",
        "counter",
        vec![(String::new(), s.feed_reconnects as f64)],
    );
    let lag = s
        .last_update_ms
        .map_or(-1.0, |t| s.updated_ms.saturating_sub(t) as f64 / 1_000.0);
    gauge(
        "feed_lag_seconds",
        "Seconds since the last market data update (-1: none yet).",
        "gauge",
        vec![(String::new(), lag)],
    );
    gauge(
        "journal_next_seq",
        "Sequence number the next journal entry gets.",
        "gauge",
        vec![(String::new(), s.journal_next_seq as f64)],
    );
    let per = |f: &dyn Fn(&super::live::StrategyLive) -> f64| {
        s.strategies
            .iter()
            .map(|st| (format!("{{strategy=\"{}\"}}", label(&st.name)), f(st)))
            .collect::<Vec<_>>()
    };
    gauge(
        "strategy_fuel_total",
        "Fuel burnt by the strategy's calls.",
        "counter",
        per(&|st| st.fuel_total as f64),
    );
    gauge(
        "strategy_calls_total",
        "Calls into the strategy's sandbox.",
        "counter",
        per(&|st| st.fuel_calls as f64),
    );
    gauge(
        "strategy_faults_total",
        "Sandbox faults of the strategy.",
        "counter",
        per(&|st| st.faults as f64),
    );
    gauge(
        "strategy_risk_rejections_total",
        "Orders of the strategy refused by risk checks since the server started.",
        "counter",
        per(&|st| st.risk_rejections as f64),
    );
    gauge(
        "strategy_running",
        "1 while the strategy runs (0 in backoff or quarantine).",
        "gauge",
        per(&|st| f64::from(u8::from(st.state == "running"))),
    );
    gauge(
        "strategy_fills_total",
        "Fills of the strategy's orders.",
        "counter",
        per(&|st| st.fills as f64),
    );
    gauge(
        "strategy_realized_pnl_dollars",
        "Realised PnL net of fees (display precision; the journal is exact).",
        "gauge",
        per(&|st| st.realized.to_f64().unwrap_or(0.0)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::live::StrategyLive;
    use rust_decimal::Decimal;

    #[test]
    fn exposition_format() {
        let s = LiveStatus {
            updated_ms: 10_000,
            last_update_ms: Some(7_500),
            feed_connected: true,
            feed_updates: 42,
            strategies: vec![StrategyLive {
                id: 1,
                name: "mm\"1".into(),
                version: "0.1.0".into(),
                sha256: String::new(),
                params: Default::default(),
                risk_rejections: 0,
                last_fault: None,
                state: "running",
                fuel_calls: 3,
                fuel_total: 900,
                fuel_max: 400,
                faults: 0,
                restarts: 0,
                fills: 2,
                fees: Decimal::ZERO,
                realized: Decimal::new(-125, 2),
                cash: Decimal::ZERO,
                unrealized: Decimal::ZERO,
                equity: Decimal::ZERO,
            }],
            ..LiveStatus::default()
        };
        let text = render(&s);
        assert!(
            text.contains("# TYPE pqap_feed_updates_total counter\npqap_feed_updates_total 42\n")
        );
        assert!(text.contains("pqap_feed_lag_seconds 2.5\n"));
        assert!(text.contains("pqap_strategy_fuel_total{strategy=\"mm\\\"1\"} 900\n"));
        assert!(text.contains("pqap_strategy_realized_pnl_dollars{strategy=\"mm\\\"1\"} -1.25\n"));
        assert!(
            text.lines()
                .all(|l| l.starts_with('#') || l.starts_with("pqap_"))
        );
    }
}
