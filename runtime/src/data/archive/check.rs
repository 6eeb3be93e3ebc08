//! `pqap data check`: replays a day through the book and quality logic (raw socket
//! frames are decoded again, since the raw payload is the truth) and reports.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::data::books::Books;
use crate::data::quality::{Issue, QualityConfig};
use crate::data::update::{FeedUpdate, Source};
use crate::venue::polymarket::websocket::decode::DecodeError;

/// Issue kinds that only warn: a recording may start mid-stream (changes before a
/// snapshot), markets go quiet (stale), and the venue adds event types.
const WARNINGS: &[&str] = &["change_before_snapshot", "stale", "unknown_event_type"];

/// What a day's data looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityReport {
    pub day: String,
    pub payloads: usize,
    pub first_ms: Option<u64>,
    pub last_ms: Option<u64>,
    pub events: BTreeMap<String, u64>,
    pub issues: BTreeMap<String, u64>,
    pub warnings: BTreeMap<String, u64>,
    /// Final status per token: `tradeable` or why not.
    pub tokens: BTreeMap<String, String>,
    pub clean: bool,
}

pub(super) fn report(day: &str, updates: &[FeedUpdate], config: QualityConfig) -> QualityReport {
    let mut books = Books::new(config);
    let mut events: BTreeMap<String, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for u in updates {
        let fresh;
        let u = match u.source {
            Source::Ws { shard } => {
                match FeedUpdate::from_frame(u.received_ms, shard, u.raw.clone()) {
                    Some(decoded) => {
                        fresh = decoded;
                        &fresh
                    }
                    None => continue,
                }
            }
            Source::Rest => u,
        };
        for e in &u.errors {
            books.record_issue(&match e {
                DecodeError::UnknownEventType(name) => {
                    Issue::UnknownEventType { name: name.clone() }
                }
                other => Issue::Undecodable {
                    error: other.to_string(),
                },
            });
        }
        for e in &u.events {
            *events.entry(e.kind().to_string()).or_default() += 1;
            out.clear();
            books.apply(e, u.received_ms, &mut out);
        }
        out.clear();
        books.sweep(u.received_ms, &mut out);
    }
    let (mut issues, mut warnings) = (BTreeMap::new(), BTreeMap::new());
    for (name, n) in books.quality().counters() {
        let target = if WARNINGS.contains(name) {
            &mut warnings
        } else {
            &mut issues
        };
        target.insert((*name).to_string(), *n);
    }
    let tokens = books
        .tokens()
        .map(|t| {
            let status = books
                .quality()
                .status(t)
                .map_or_else(|| "tradeable".to_string(), |u| u.as_str().to_string());
            (t.to_string(), status)
        })
        .collect();
    QualityReport {
        day: day.to_string(),
        payloads: updates.len(),
        first_ms: updates.first().map(|u| u.received_ms),
        last_ms: updates.last().map(|u| u.received_ms),
        events,
        clean: issues.is_empty(),
        issues,
        warnings,
        tokens,
    }
}
