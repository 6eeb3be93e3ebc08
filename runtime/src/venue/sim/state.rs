//! The simulated venue's state: market metadata, its own books (kept with the same
//! book logic clients use), last trades and a price history per token, advanced
//! one step at a time by the activity source.

use std::collections::{BTreeMap, VecDeque};

use super::generator::{Generator, SimMarketInfo};
use crate::data::books::Books;
use crate::data::update::FeedUpdate;
use crate::model::{MarketEvent, Price, TokenId};

/// Where market activity comes from.
pub enum Activity {
    /// The seeded generator.
    Synthetic(Generator),
    /// A recorded partition, one recorded update per step.
    Replay(VecDeque<FeedUpdate>),
}

/// Points of price history kept per token.
const HISTORY_CAP: usize = 100_000;

/// Everything the REST and socket handlers read.
pub struct SimState {
    pub markets: Vec<SimMarketInfo>,
    pub books: Books,
    pub last_trade: BTreeMap<TokenId, Price>,
    /// (unix seconds, mid) per token, one point per step with a two-sided book.
    pub history: BTreeMap<TokenId, VecDeque<(u64, Price)>>,
    pub now_ms: u64,
    activity: Activity,
}

impl SimState {
    pub fn new(activity: Activity) -> SimState {
        let mut state = SimState {
            markets: Vec::new(),
            books: Books::default(),
            last_trade: BTreeMap::new(),
            history: BTreeMap::new(),
            now_ms: 0,
            activity,
        };
        if let Activity::Synthetic(g) = &state.activity {
            state.markets = g.markets();
            state.now_ms = g.now_ms();
            let snapshots: Vec<MarketEvent> = g.tokens().iter().filter_map(|t| g.book(t)).collect();
            state.absorb(&snapshots);
        }
        state
    }

    /// Applies events to the venue's own books and bookkeeping.
    fn absorb(&mut self, events: &[MarketEvent]) {
        let mut scratch = Vec::new();
        for e in events {
            self.books.apply(e, self.now_ms, &mut scratch);
            match e {
                MarketEvent::LastTrade { token, price, .. } => {
                    self.last_trade.insert(token.clone(), *price);
                }
                // A replayed recording names its markets through its books.
                MarketEvent::Book { market, token, .. } => self.learn_market(market, token),
                _ => {}
            }
        }
        let secs = self.now_ms / 1_000;
        let tokens: Vec<TokenId> = self.books.tokens().cloned().collect();
        for t in tokens {
            if let Some(mid) = self.books.book(&t).and_then(|b| b.mid()) {
                let h = self.history.entry(t).or_default();
                if h.back().is_none_or(|(s, _)| *s < secs) {
                    h.push_back((secs, mid));
                    if h.len() > HISTORY_CAP {
                        h.pop_front();
                    }
                }
            }
        }
    }

    fn learn_market(&mut self, market: &crate::model::ConditionId, token: &TokenId) {
        if let Some(m) = self.markets.iter_mut().find(|m| &m.condition == market) {
            if m.tokens[1].0 != *token && m.tokens[0].0 != *token {
                m.tokens[1] = (token.clone(), "No".into());
            }
            return;
        }
        self.markets.push(SimMarketInfo {
            condition: market.clone(),
            question: format!("Recorded market {market}"),
            slug: format!("recorded-{}", &market.as_str()[2..10]),
            tokens: [(token.clone(), "Yes".into()), (token.clone(), "No".into())],
            tick: Price::new(10_000).unwrap_or(Price::ZERO),
            min_size: crate::model::Size::from_micros(5_000_000),
            closed: false,
            winner: None,
            split: false,
        });
    }

    /// Advances one step; returns the events to publish (empty at the end of a
    /// replay).
    pub fn step(&mut self) -> Vec<MarketEvent> {
        let events = match &mut self.activity {
            Activity::Synthetic(g) => {
                let events = g.step();
                self.now_ms = g.now_ms();
                self.markets = g.markets();
                events
            }
            Activity::Replay(queue) => match queue.pop_front() {
                Some(update) => {
                    self.now_ms = update.received_ms;
                    update.events
                }
                None => Vec::new(),
            },
        };
        self.absorb(&events);
        events
    }

    /// Whether a replay has run out.
    pub fn finished(&self) -> bool {
        matches!(&self.activity, Activity::Replay(q) if q.is_empty())
    }

    /// The current book of a token as a snapshot event.
    pub fn snapshot(&self, token: &TokenId) -> Option<MarketEvent> {
        let book = self.books.book(token)?;
        let market = self
            .markets
            .iter()
            .find(|m| m.tokens.iter().any(|(t, _)| t == token))?
            .condition
            .clone();
        let (bids, asks) = book.levels();
        Some(MarketEvent::Book {
            token: token.clone(),
            market,
            ts_ms: self.now_ms,
            bids,
            asks,
            hash: None,
            tick: book.tick(),
        })
    }
}
