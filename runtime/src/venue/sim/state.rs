//! The simulated venue's state: market metadata, its own books (kept with the same
//! book logic clients use), last trades and a price history per token, advanced
//! one step at a time by the activity source.

use std::collections::{BTreeMap, VecDeque};

use super::generator::{Generator, SimMarketInfo};
use crate::data::book::OrderBook;
use crate::data::books::Books;
use crate::data::update::FeedUpdate;
use crate::model::{ConditionId, MarketEvent, Price, Side, TokenId};

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
    /// Price and taker side of each token's last trade.
    pub last_trade: BTreeMap<TokenId, (Price, Option<Side>)>,
    /// (unix seconds, mid) per token, one point per step with a two-sided book.
    pub history: BTreeMap<TokenId, VecDeque<(u64, Price)>>,
    pub now_ms: u64,
    /// Venue time the session started (when the markets began accepting orders).
    pub start_ms: u64,
    /// The trading side (accounts, orders, trades).
    pub exchange: super::exchange::ExchangeState,
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
            start_ms: 0,
            exchange: super::exchange::ExchangeState::new(Default::default()),
            activity,
        };
        if let Activity::Replay(queue) = &state.activity {
            state.start_ms = queue.front().map_or(0, |u| u.received_ms);
        }
        if let Activity::Synthetic(g) = &state.activity {
            state.markets = g.markets();
            state.now_ms = g.now_ms();
            state.start_ms = g.now_ms();
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
                MarketEvent::LastTrade {
                    token, price, side, ..
                } => {
                    self.last_trade.insert(token.clone(), (*price, *side));
                }
                // A replayed recording names its markets through its books.
                MarketEvent::Book { market, token, .. } => self.learn_market(market, token),
                MarketEvent::Resolved {
                    market,
                    tokens,
                    winner,
                    payouts,
                    ..
                } => self.close_market(market, tokens, winner, !payouts.is_empty(), &mut scratch),
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

    /// A resolved market trades no more: its books are emptied (so no mid,
    /// no history) and it is listed as closed with its winner.
    fn close_market(
        &mut self,
        market: &ConditionId,
        tokens: &[TokenId],
        winner: &TokenId,
        split: bool,
        scratch: &mut Vec<crate::data::books::BookOutput>,
    ) {
        for t in tokens {
            let tick = self.books.book(t).and_then(OrderBook::tick);
            let empty = MarketEvent::Book {
                token: t.clone(),
                market: market.clone(),
                ts_ms: self.now_ms,
                bids: Vec::new(),
                asks: Vec::new(),
                hash: None,
                tick,
            };
            self.books.apply(&empty, self.now_ms, scratch);
        }
        if let Some(m) = self.markets.iter_mut().find(|m| &m.condition == market) {
            m.closed = true;
            m.split = split;
            m.winner = (!split).then(|| winner.clone());
        }
    }

    /// The market listing `token`, with its index (the Gamma id is index + 1).
    pub fn market_of(&self, token: &TokenId) -> Option<(usize, &SimMarketInfo)> {
        self.markets
            .iter()
            .enumerate()
            .find(|(_, m)| m.tokens.iter().any(|(t, _)| t == token))
    }

    /// The book of a token whose market still trades: a resolved (closed)
    /// market has no order book, as on the venue.
    pub fn live_book(&self, token: &TokenId) -> Option<&OrderBook> {
        let (_, m) = self.market_of(token)?;
        if m.closed {
            return None;
        }
        self.books.book(token)
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
        let clock = super::exchange::Clock {
            venue_ms: self.now_ms,
            wall_ms: crate::venue::polymarket::websocket::client::now_ms(),
        };
        self.exchange.on_market(&events, &self.books, clock);
        events
    }

    /// What the exchange needs to know of the market trading `token` (a
    /// decimal token id string).
    pub fn market_ref(&self, token: &str) -> Option<super::exchange::place::MarketRef> {
        let id = TokenId::parse(token).ok()?;
        let (i, m) = self.market_of(&id)?;
        let outcome = m.tokens.iter().find(|(t, _)| *t == id)?.1.clone();
        let fees = super::rest::charges_fees(i);
        Some(super::exchange::place::MarketRef {
            condition: m.condition.clone(),
            outcome,
            tick: self
                .books
                .book(&id)
                .and_then(OrderBook::tick)
                .unwrap_or(m.tick),
            min_size: m.min_size,
            fees: crate::execution::fees::FeeSchedule {
                rate_millionths: if fees { 20_000 } else { 0 },
                exponent: 1,
                taker_only: true,
                rebate_millionths: 0,
            },
            fee_rate_bps: if fees { 1_000 } else { 0 },
            closed: m.closed,
        })
    }

    /// Moves every NO book below the mirror of its YES book from the next
    /// step (see `Generator::dislocate_no`); a replay plays what was recorded.
    pub fn dislocate_no(&mut self, micros: u32) {
        if let Activity::Synthetic(g) = &mut self.activity {
            g.dislocate_no(micros);
        }
    }

    /// Whether a replay has run out.
    pub fn finished(&self) -> bool {
        matches!(&self.activity, Activity::Replay(q) if q.is_empty())
    }

    /// The current book of a token as a snapshot event; `None` once the market has resolved.
    pub fn snapshot(&self, token: &TokenId) -> Option<MarketEvent> {
        let book = self.live_book(token)?;
        let market = self.market_of(token)?.1.condition.clone();
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
