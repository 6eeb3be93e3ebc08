//! Data-quality checks with counters and flags instead of silent drops: crossed or
//! locked books, prices off the tick grid or outside [tick, 1 − tick], zero sizes,
//! timestamps going backwards, stale books, hash and best-price disagreements,
//! unknown event types. A crossed, locked, stale or unsnapshotted book makes its
//! token untradeable until it recovers; each flip is reported as a status change.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::book::{BookState, OrderBook};
use crate::model::{BookLevel, Price, Side, TokenId};

/// One problem found in the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum Issue {
    Crossed {
        bid: u32,
        ask: u32,
    },
    Locked {
        price: u32,
    },
    OffTick {
        side: Side,
        price: u32,
        tick: u32,
    },
    OutOfRange {
        side: Side,
        price: u32,
    },
    ZeroSize {
        side: Side,
        price: u32,
    },
    DuplicateLevel {
        side: Side,
        price: u32,
    },
    TimeWentBack {
        previous_ms: u64,
        got_ms: u64,
    },
    Stale {
        age_ms: u64,
    },
    HashMismatch,
    BestPriceMismatch,
    /// A REST snapshot differed from the book built from the stream.
    AuditMismatch,
    ChangeBeforeSnapshot,
    UnknownEventType {
        name: String,
    },
    Undecodable {
        error: String,
    },
}

impl Issue {
    /// Counter name of the issue.
    pub fn name(&self) -> &'static str {
        match self {
            Issue::Crossed { .. } => "crossed",
            Issue::Locked { .. } => "locked",
            Issue::OffTick { .. } => "off_tick",
            Issue::OutOfRange { .. } => "out_of_range",
            Issue::ZeroSize { .. } => "zero_size",
            Issue::DuplicateLevel { .. } => "duplicate_level",
            Issue::TimeWentBack { .. } => "time_went_back",
            Issue::Stale { .. } => "stale",
            Issue::HashMismatch => "hash_mismatch",
            Issue::BestPriceMismatch => "best_price_mismatch",
            Issue::AuditMismatch => "audit_mismatch",
            Issue::ChangeBeforeSnapshot => "change_before_snapshot",
            Issue::UnknownEventType { .. } => "unknown_event_type",
            Issue::Undecodable { .. } => "undecodable",
        }
    }
}

/// Why a token cannot be traded right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Untradeable {
    AwaitingSnapshot,
    Crossed,
    Locked,
    Stale,
    /// The market resolved: closed for good.
    Resolved,
    /// The venue stopped listing it as open (not accepting orders).
    Closed,
}

impl Untradeable {
    pub fn as_str(self) -> &'static str {
        match self {
            Untradeable::AwaitingSnapshot => "awaiting_snapshot",
            Untradeable::Crossed => "crossed",
            Untradeable::Locked => "locked",
            Untradeable::Stale => "stale",
            Untradeable::Resolved => "resolved",
            Untradeable::Closed => "closed",
        }
    }
}

/// A token became tradeable or untradeable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub token: TokenId,
    /// `None` when tradeable again.
    pub untradeable: Option<Untradeable>,
}

/// Settings of the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityConfig {
    /// A book with no update for this long (host time) is stale.
    pub stale_after_ms: u64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            stale_after_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct TokenQuality {
    last_venue_ts_ms: u64,
    last_update_ms: u64,
    status: Option<Untradeable>,
    known: bool,
}

/// Per-token status plus issue counters.
#[derive(Debug, Clone, Default)]
pub struct QualityMonitor {
    config: QualityConfig,
    tokens: BTreeMap<TokenId, TokenQuality>,
    counters: BTreeMap<&'static str, u64>,
    unknown_types: BTreeSet<String>,
}

/// Checks one price against the tick grid and the range [tick, 1 − tick].
pub fn check_price(side: Side, price: Price, tick: Option<Price>) -> Option<Issue> {
    let p = price.micros();
    let lo = tick.map_or(1, |t| t.micros().max(1));
    if p < lo || p > 1_000_000 - lo {
        return Some(Issue::OutOfRange { side, price: p });
    }
    match tick {
        Some(t) if !price.is_on_tick(t) => Some(Issue::OffTick {
            side,
            price: p,
            tick: t.micros(),
        }),
        _ => None,
    }
}

/// Checks a snapshot's levels against the tick grid and the price range.
pub fn check_levels(side: Side, levels: &[BookLevel], tick: Option<Price>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut seen = BTreeSet::new();
    for l in levels {
        let p = l.price.micros();
        if l.size.is_zero() {
            issues.push(Issue::ZeroSize { side, price: p });
        }
        if !seen.insert(p) {
            issues.push(Issue::DuplicateLevel { side, price: p });
        }
        issues.extend(check_price(side, l.price, tick));
    }
    issues
}

impl QualityMonitor {
    pub fn new(config: QualityConfig) -> QualityMonitor {
        QualityMonitor {
            config,
            ..QualityMonitor::default()
        }
    }

    /// Counts an issue (and logs unknown event types once each).
    pub fn record(&mut self, token: Option<&TokenId>, issue: &Issue) {
        *self.counters.entry(issue.name()).or_default() += 1;
        match issue {
            Issue::UnknownEventType { name } => {
                if self.unknown_types.insert(name.clone()) {
                    tracing::warn!(event_type = %name, "unknown market event type (logged once, counted)");
                }
            }
            other => tracing::debug!(token = ?token, issue = ?other, "data quality issue"),
        }
    }

    /// Issue counters by name.
    pub fn counters(&self) -> &BTreeMap<&'static str, u64> {
        &self.counters
    }

    /// Checks a venue timestamp for this token; returns the issue if it went back.
    pub fn observe_time(&mut self, token: &TokenId, venue_ts_ms: u64) -> Option<Issue> {
        let q = match self.tokens.get_mut(token) {
            Some(q) => q,
            None => self.tokens.entry(token.clone()).or_default(),
        };
        let issue = (venue_ts_ms < q.last_venue_ts_ms).then_some(Issue::TimeWentBack {
            previous_ms: q.last_venue_ts_ms,
            got_ms: venue_ts_ms,
        });
        q.last_venue_ts_ms = q.last_venue_ts_ms.max(venue_ts_ms);
        if let Some(i) = &issue {
            self.record(Some(token), i);
        }
        issue
    }

    /// Re-evaluates a token after its book changed at host time `now_ms`.
    pub fn after_update(
        &mut self,
        token: &TokenId,
        book: &OrderBook,
        now_ms: u64,
    ) -> Option<StatusChange> {
        let status = if book.state() == BookState::AwaitingSnapshot {
            Some(Untradeable::AwaitingSnapshot)
        } else if book.is_crossed() {
            Some(Untradeable::Crossed)
        } else if book.is_locked() {
            Some(Untradeable::Locked)
        } else {
            None
        };
        if let Some(reason) = status {
            let issue = match (reason, book.best_bid(), book.best_ask()) {
                (Untradeable::Crossed, Some(b), Some(a)) => Some(Issue::Crossed {
                    bid: b.price.micros(),
                    ask: a.price.micros(),
                }),
                (Untradeable::Locked, Some(b), _) => Some(Issue::Locked {
                    price: b.price.micros(),
                }),
                _ => None,
            };
            if let Some(i) = issue {
                self.record(Some(token), &i);
            }
        }
        let q = match self.tokens.get_mut(token) {
            Some(q) => q,
            None => self.tokens.entry(token.clone()).or_default(),
        };
        q.last_update_ms = now_ms;
        if matches!(q.status, Some(Untradeable::Resolved | Untradeable::Closed)) {
            return None;
        }
        Self::set_status(token, q, status)
    }

    /// A resolved or closed token: untradeable from now on, whatever its book
    /// does (a resolution stands over a closure).
    pub fn close(&mut self, token: &TokenId, why: Untradeable) -> Option<StatusChange> {
        let q = self.tokens.entry(token.clone()).or_default();
        if q.status == Some(Untradeable::Resolved) {
            return None;
        }
        Self::set_status(token, q, Some(why))
    }

    fn set_status(
        token: &TokenId,
        q: &mut TokenQuality,
        status: Option<Untradeable>,
    ) -> Option<StatusChange> {
        let first = !q.known;
        q.known = true;
        if q.status == status && !first {
            return None;
        }
        q.status = status;
        Some(StatusChange {
            token: token.clone(),
            untradeable: status,
        })
    }

    /// Marks tokens with no update for `stale_after_ms` as stale.
    pub fn sweep(&mut self, now_ms: u64) -> Vec<StatusChange> {
        let mut out = Vec::new();
        let mut issues = Vec::new();
        for (token, q) in &mut self.tokens {
            let age = now_ms.saturating_sub(q.last_update_ms);
            if age >= self.config.stale_after_ms
                && !matches!(
                    q.status,
                    Some(Untradeable::Stale | Untradeable::Resolved | Untradeable::Closed)
                )
            {
                issues.push((token.clone(), Issue::Stale { age_ms: age }));
                if let Some(c) = Self::set_status(token, q, Some(Untradeable::Stale)) {
                    out.push(c);
                }
            }
        }
        for (token, issue) in issues {
            self.record(Some(&token), &issue);
        }
        out
    }

    /// Why a token is untradeable, if it is (unknown tokens are untradeable).
    pub fn status(&self, token: &TokenId) -> Option<Untradeable> {
        self.tokens
            .get(token)
            .map_or(Some(Untradeable::AwaitingSnapshot), |q| q.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Size;

    fn token() -> TokenId {
        TokenId::parse("123").unwrap()
    }

    fn lvl(p: u32) -> BookLevel {
        BookLevel {
            price: Price::new(p).unwrap(),
            size: Size::from_micros(1),
        }
    }

    #[test]
    fn level_checks() {
        let tick = Price::new(10_000);
        let levels = [
            lvl(500_000),
            lvl(505_000),
            lvl(0),
            lvl(995_000),
            lvl(500_000),
            BookLevel {
                price: Price::new(480_000).unwrap(),
                size: Size::ZERO,
            },
        ];
        let names: Vec<&str> = check_levels(Side::Buy, &levels, tick)
            .iter()
            .map(Issue::name)
            .collect();
        assert_eq!(
            names,
            vec![
                "off_tick",
                "out_of_range",
                "out_of_range",
                "duplicate_level",
                "zero_size"
            ]
        );
    }

    #[test]
    fn crossed_and_stale_books_flip_status() {
        let mut m = QualityMonitor::new(QualityConfig {
            stale_after_ms: 1_000,
        });
        let t = token();
        assert_eq!(m.status(&t), Some(Untradeable::AwaitingSnapshot));
        let mut book = OrderBook::new();
        book.apply_snapshot(&[lvl(400_000)], &[lvl(600_000)], 1, None, None);
        let change = m.after_update(&t, &book, 0).unwrap();
        assert_eq!(
            change.untradeable, None,
            "first good book announces tradeable"
        );
        assert!(
            m.after_update(&t, &book, 10).is_none(),
            "no change, no event"
        );
        book.apply_change(
            Side::Buy,
            Price::new(700_000).unwrap(),
            Size::from_micros(1),
            2,
        );
        assert_eq!(
            m.after_update(&t, &book, 20).unwrap().untradeable,
            Some(Untradeable::Crossed)
        );
        book.apply_change(Side::Buy, Price::new(700_000).unwrap(), Size::ZERO, 3);
        assert_eq!(m.after_update(&t, &book, 30).unwrap().untradeable, None);
        assert!(m.sweep(500).is_empty());
        assert_eq!(m.sweep(1_030)[0].untradeable, Some(Untradeable::Stale));
        assert!(m.sweep(2_000).is_empty(), "stale reported once");
        assert_eq!(m.after_update(&t, &book, 2_001).unwrap().untradeable, None);
        assert_eq!(m.counters()["crossed"], 1);
        assert_eq!(m.counters()["stale"], 1);
    }

    #[test]
    fn time_going_back_is_flagged_not_applied() {
        let mut m = QualityMonitor::default();
        assert!(m.observe_time(&token(), 10).is_none());
        assert!(matches!(
            m.observe_time(&token(), 5),
            Some(Issue::TimeWentBack {
                previous_ms: 10,
                got_ms: 5
            })
        ));
        assert!(m.observe_time(&token(), 10).is_none());
    }
}
