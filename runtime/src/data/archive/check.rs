//! `pqap data check`: replays a day through the book and quality logic (socket
//! frames decoded again from the raw payloads, which are the truth), starting
//! from the books the previous day closed with, and says whether the day file
//! agrees with the raw partition.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::columnar::{DayRows, Opening};
use crate::data::book::BookState;
use crate::data::books::{BookOutput, Books};
use crate::data::quality::{Issue, QualityConfig};
use crate::data::update::FeedUpdate;
use crate::model::{MarketEvent, TokenId};
use crate::venue::polymarket::websocket::decode::DecodeError;

/// Issue kinds that only warn: a recording may start mid-stream (changes before a
/// snapshot), markets go quiet (stale), and the venue adds event types.
const WARNINGS: &[&str] = &["change_before_snapshot", "stale", "unknown_event_type"];

/// What a day's data looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityReport {
    pub day: String,
    /// `clean`, `issues`, or `unchecked` (some book never went live, so its
    /// changes could not be checked).
    pub status: String,
    pub payloads: usize,
    pub first_ms: Option<u64>,
    pub last_ms: Option<u64>,
    /// The previous day, when the books opened as it closed them.
    pub opened_from: Option<String>,
    /// Messages by kind.
    pub events: BTreeMap<String, u64>,
    pub level_changes: u64,
    pub issues: BTreeMap<String, u64>,
    pub warnings: BTreeMap<String, u64>,
    /// Final status per token: `tradeable` or why not.
    pub tokens: BTreeMap<String, String>,
    /// Tokens whose book never went live during the day.
    pub never_live: Vec<String>,
    /// The day file against the raw partition: `agrees`, `differs` (an issue:
    /// rebuild it with `pqap data reindex`) or `missing` (built when needed).
    pub day_file: String,
    pub clean: bool,
}

/// A day being checked, payload by payload.
pub(super) struct DayCheck {
    books: Books,
    events: BTreeMap<String, u64>,
    level_changes: u64,
    payloads: usize,
    first_ms: Option<u64>,
    last_ms: Option<u64>,
    live: BTreeSet<TokenId>,
    rows: DayRows,
    opening: Opening,
    out: Vec<BookOutput>,
}

impl DayCheck {
    pub fn new(config: QualityConfig, opening: Opening) -> DayCheck {
        let mut check = DayCheck {
            books: Books::new(config),
            events: BTreeMap::new(),
            level_changes: 0,
            payloads: 0,
            first_ms: None,
            last_ms: None,
            live: BTreeSet::new(),
            rows: DayRows::new(),
            opening,
            out: Vec::new(),
        };
        for e in &check.opening.state {
            check.books.apply(e, check.opening.at_ms, &mut check.out);
        }
        check.note_live();
        check
    }

    fn note_live(&mut self) {
        for o in self.out.drain(..) {
            if let BookOutput::Updated(token) = o
                && self
                    .books
                    .book(&token)
                    .is_some_and(|b| b.state() == BookState::Live)
            {
                self.live.insert(token);
            }
        }
    }

    pub fn observe(&mut self, u: &FeedUpdate) {
        self.rows.push(u);
        self.payloads += 1;
        self.first_ms.get_or_insert(u.received_ms);
        self.last_ms = Some(u.received_ms);
        for e in &u.errors {
            self.books.record_issue(&match e {
                DecodeError::UnknownEventType(name) => {
                    Issue::UnknownEventType { name: name.clone() }
                }
                other => Issue::Undecodable {
                    error: other.to_string(),
                },
            });
        }
        for e in &u.events {
            *self.events.entry(e.kind().to_string()).or_default() += 1;
            if let MarketEvent::PriceChange { changes, .. } = e {
                self.level_changes += changes.len() as u64;
            }
            self.books.apply(e, u.received_ms, &mut self.out);
            self.note_live();
        }
        self.books.sweep(u.received_ms, &mut self.out);
        self.out.clear();
    }

    /// The report; `file` is the day file's digest and opening, if it has one.
    pub fn report(self, day: &str, file: Option<(String, Opening)>) -> QualityReport {
        let (mut issues, mut warnings) = (BTreeMap::new(), BTreeMap::new());
        for (name, n) in self.books.quality().counters() {
            let target = if WARNINGS.contains(name) {
                &mut warnings
            } else {
                &mut issues
            };
            target.insert((*name).to_string(), *n);
        }
        let day_file = match file {
            None => "missing",
            Some((digest, opening)) if digest == self.rows.digest() && opening == self.opening => {
                "agrees"
            }
            Some(_) => {
                issues.insert("day_file_differs".to_string(), 1);
                "differs"
            }
        };
        let tokens = self
            .books
            .tokens()
            .map(|t| {
                let status = self
                    .books
                    .quality()
                    .status(t)
                    .map_or_else(|| "tradeable".to_string(), |u| u.as_str().to_string());
                (t.to_string(), status)
            })
            .collect();
        let never_live: Vec<String> = self
            .books
            .tokens()
            .filter(|t| !self.live.contains(*t))
            .map(ToString::to_string)
            .collect();
        let status = if !never_live.is_empty() || self.live.is_empty() {
            "unchecked"
        } else if !issues.is_empty() {
            "issues"
        } else {
            "clean"
        };
        QualityReport {
            day: day.to_string(),
            status: status.to_string(),
            payloads: self.payloads,
            first_ms: self.first_ms,
            last_ms: self.last_ms,
            opened_from: self.opening.from_day.clone(),
            events: self.events,
            level_changes: self.level_changes,
            clean: status == "clean",
            issues,
            warnings,
            tokens,
            never_live,
            day_file: day_file.to_string(),
        }
    }
}
