//! Which alerts a change of live status raises.

use super::{Alert, Severity};
use crate::web::LiveStatus;

/// The alerts raised going from `prev` to `now`.
pub fn detect(prev: &LiveStatus, now: &LiveStatus) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut push = |severity, kind, strategy: Option<&str>, message: String| {
        out.push(Alert {
            ts_ms: now.updated_ms,
            severity,
            kind,
            strategy: strategy.map(str::to_string),
            message,
        });
    };
    if prev.feed_connected && !now.feed_connected {
        push(
            Severity::Warning,
            "feed_down",
            None,
            "market feed disconnected; reconnecting".into(),
        );
    }
    if !prev.feed_connected && now.feed_connected && prev.updated_ms > 0 && prev.feed_updates > 0 {
        push(
            Severity::Info,
            "feed_up",
            None,
            "market feed reconnected".into(),
        );
    }
    if prev.trading_state != now.trading_state && !prev.trading_state.is_empty() {
        let severity = if now.trading_state == "active" {
            Severity::Info
        } else {
            Severity::Warning
        };
        push(
            severity,
            "trading_state",
            None,
            format!(
                "trading state {} → {}",
                prev.trading_state, now.trading_state
            ),
        );
    }
    for st in &now.strategies {
        // A strategy replaced by a new version starts its counters again.
        let Some(before) = prev
            .strategies
            .iter()
            .find(|p| p.id == st.id && p.sha256 == st.sha256)
        else {
            continue;
        };
        let name = Some(st.name.as_str());
        if st.faults > before.faults {
            push(
                Severity::Warning,
                "strategy_fault",
                name,
                format!(
                    "strategy {} faulted ({} so far): {}",
                    st.name,
                    st.faults,
                    st.last_fault.as_deref().unwrap_or("unknown fault")
                ),
            );
        }
        if st.state != before.state {
            match st.state {
                "quarantined" => push(
                    Severity::Critical,
                    "strategy_quarantined",
                    name,
                    format!(
                        "strategy {} quarantined after {} faults; it stays stopped until redeployed",
                        st.name, st.faults
                    ),
                ),
                "halted" => push(
                    Severity::Warning,
                    "strategy_halted",
                    name,
                    format!(
                        "strategy {} reached its daily loss limit; no new positions today",
                        st.name
                    ),
                ),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::live::StrategyLive;
    use rust_decimal::Decimal;

    fn strategy(state: &'static str, faults: usize) -> StrategyLive {
        StrategyLive {
            id: 1,
            name: "mm".into(),
            version: "1".into(),
            sha256: "a".into(),
            params: Default::default(),
            state,
            fuel_calls: 0,
            fuel_total: 0,
            fuel_max: 0,
            faults,
            restarts: 0,
            risk_rejections: 0,
            last_fault: (faults > 0).then(|| "trap: unreachable".to_string()),
            fills: 0,
            fees: Decimal::ZERO,
            realized: Decimal::ZERO,
            cash: Decimal::ZERO,
            unrealized: Decimal::ZERO,
            equity: Decimal::ZERO,
        }
    }

    fn status(feed: bool, state: &str, strategies: Vec<StrategyLive>) -> LiveStatus {
        LiveStatus {
            updated_ms: 5,
            feed_connected: feed,
            feed_updates: 10,
            trading_state: state.into(),
            strategies,
            ..LiveStatus::default()
        }
    }

    #[test]
    fn faults_quarantines_halts_feed_and_trading_state_raise_alerts() {
        let calm = status(true, "active", vec![strategy("running", 0)]);
        assert!(
            detect(&calm, &calm).is_empty(),
            "nothing changed, nothing raised"
        );
        let bad = status(false, "halted", vec![strategy("quarantined", 2)]);
        let kinds: Vec<(&str, Severity)> = detect(&calm, &bad)
            .iter()
            .map(|a| (a.kind, a.severity))
            .collect();
        assert_eq!(
            kinds,
            [
                ("feed_down", Severity::Warning),
                ("trading_state", Severity::Warning),
                ("strategy_fault", Severity::Warning),
                ("strategy_quarantined", Severity::Critical),
            ]
        );
        let a = detect(&calm, &bad);
        assert!(a[2].message.contains("trap: unreachable"));
        let back = detect(&bad, &calm);
        assert_eq!(back[0].kind, "feed_up");
        assert_eq!(back[1].severity, Severity::Info);
        let halted = status(true, "active", vec![strategy("halted", 0)]);
        assert_eq!(detect(&calm, &halted)[0].kind, "strategy_halted");
    }

    #[test]
    fn a_new_version_starts_its_counts_afresh() {
        let old = status(true, "active", vec![strategy("running", 3)]);
        let mut next = strategy("running", 4);
        next.sha256 = "b".into();
        assert!(detect(&old, &status(true, "active", vec![next])).is_empty());
    }
}
