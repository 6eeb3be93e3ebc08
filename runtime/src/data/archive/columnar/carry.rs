//! What one day hands the next: the books as they stood at midnight (as
//! snapshots) and the markets that had resolved, so a recording that crosses
//! midnight replays as one session from either day.

use std::collections::BTreeMap;

use crate::data::book::BookState;
use crate::data::books::Books;
use crate::data::quality::QualityConfig;
use crate::data::update::{FeedUpdate, Source};
use crate::model::{ConditionId, MarketEvent, TokenId};

/// Follows the books through a day's updates.
#[derive(Debug, Clone)]
pub struct BookCarry {
    books: Books,
    markets: BTreeMap<TokenId, ConditionId>,
    resolved: BTreeMap<ConditionId, MarketEvent>,
    scratch: Vec<crate::data::books::BookOutput>,
}

impl Default for BookCarry {
    fn default() -> BookCarry {
        BookCarry::new()
    }
}

impl BookCarry {
    pub fn new() -> BookCarry {
        BookCarry {
            books: Books::new(QualityConfig::default()),
            markets: BTreeMap::new(),
            resolved: BTreeMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Applies one update's messages.
    pub fn observe(&mut self, u: &FeedUpdate) {
        for e in &u.events {
            self.observe_event(e, u.received_ms);
        }
    }

    pub fn observe_event(&mut self, e: &MarketEvent, received_ms: u64) {
        match e {
            MarketEvent::Book { token, market, .. } if !self.markets.contains_key(token) => {
                self.markets.insert(token.clone(), market.clone());
            }
            MarketEvent::Resolved { market, .. } => {
                self.resolved.insert(market.clone(), e.clone());
            }
            _ => {}
        }
        self.books.apply(e, received_ms, &mut self.scratch);
        self.scratch.clear();
    }

    /// The state to open the next session part with, stamped `at_ms`: a
    /// snapshot of every live book (by token), then every resolution (by market).
    pub fn state(&self, at_ms: u64) -> Vec<MarketEvent> {
        let mut out = Vec::new();
        for (token, market) in &self.markets {
            let Some(book) = self
                .books
                .book(token)
                .filter(|b| b.state() == BookState::Live)
            else {
                continue;
            };
            let (bids, asks) = book.levels();
            out.push(MarketEvent::Book {
                token: token.clone(),
                market: market.clone(),
                ts_ms: at_ms,
                bids,
                asks,
                hash: None,
                tick: book.tick(),
            });
        }
        out.extend(self.resolved.values().cloned());
        out
    }
}

/// The update a day opens with when the previous day's books carry over:
/// received at the day's first millisecond, as a REST resynchronisation would be.
pub fn opening_update(state: Vec<MarketEvent>, day_start_ms: u64) -> Option<FeedUpdate> {
    (!state.is_empty()).then(|| FeedUpdate {
        received_ms: day_start_ms,
        source: Source::Rest,
        raw: String::new(),
        events: state,
        errors: Vec::new(),
    })
}
