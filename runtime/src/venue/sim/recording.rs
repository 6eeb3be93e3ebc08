//! Seeded recordings in the venue's own format: market-channel JSONL, one
//! message per line, from the simulator's generator. Anyone can regenerate the
//! exact file a benchmark or a bug report used from its seed and size.

use std::io::Write;

use serde::Serialize;

use super::generator::{Generator, GeneratorConfig};
use super::wire;

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordingReport {
    pub lines: u64,
    pub bytes: u64,
    pub steps: u64,
    pub markets: u32,
    pub first_ms: u64,
    pub last_ms: u64,
}

/// Writes `lines` messages: every book first, then the generator's steps (the
/// markets never resolve, so the session can be as long as asked).
pub fn write_jsonl(
    config: GeneratorConfig,
    start_ms: u64,
    lines: u64,
    out: &mut dyn Write,
) -> std::io::Result<RecordingReport> {
    let markets = config.markets;
    let mut g = Generator::new(
        GeneratorConfig {
            resolve_after: None,
            ..config
        },
        start_ms,
    );
    let mut report = RecordingReport {
        markets,
        first_ms: start_ms,
        last_ms: start_ms,
        ..RecordingReport::default()
    };
    let all = |_: &crate::model::TokenId| true;
    let mut emit = |event: &crate::model::MarketEvent,
                    markets: &[super::generator::SimMarketInfo],
                    report: &mut RecordingReport| {
        if report.lines >= lines {
            return Ok(());
        }
        let meta = |c: &crate::model::ConditionId| wire::meta_of(markets, c);
        if let Some(message) = wire::message_with(event, &all, &meta) {
            let text = message.to_string();
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
            report.lines += 1;
            report.bytes += text.len() as u64 + 1;
            report.last_ms = event.ts_ms();
        }
        Ok::<(), std::io::Error>(())
    };
    for token in g.tokens() {
        if let Some(book) = g.book(&token) {
            emit(&book, &[], &mut report)?;
        }
    }
    while report.lines < lines {
        let events = g.step();
        report.steps += 1;
        // Only market announcements need the listing; most steps have none.
        let listed = if events.iter().any(|e| {
            matches!(
                e,
                crate::model::MarketEvent::NewMarket { .. }
                    | crate::model::MarketEvent::Resolved { .. }
            )
        }) {
            g.markets()
        } else {
            Vec::new()
        };
        for e in &events {
            emit(e, &listed, &mut report)?;
        }
    }
    out.flush()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_seeded_and_exactly_as_long_as_asked() {
        let config = GeneratorConfig {
            seed: 3,
            markets: 2,
            step_ms: 100,
            ..GeneratorConfig::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = write_jsonl(config.clone(), 1_000, 500, &mut a).unwrap();
        write_jsonl(config.clone(), 1_000, 500, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(ra.lines, 500);
        assert_eq!(a.iter().filter(|c| **c == b'\n').count(), 500);
        assert_eq!(ra.bytes, a.len() as u64);
        let text = String::from_utf8(a).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["event_type"], "book");
        assert!(text.contains("\"event_type\":\"price_change\""));
        let other = write_jsonl(
            GeneratorConfig { seed: 4, ..config },
            1_000,
            500,
            &mut Vec::new(),
        );
        assert_ne!(other.unwrap().last_ms, 0);
    }
}
