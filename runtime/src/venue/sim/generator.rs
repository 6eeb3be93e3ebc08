//! Seeded synthetic Polymarket activity: binary markets whose fair probability
//! drifts with occasional jumps; makers add and cancel size near the fair price,
//! takers hit the touch, and levels the fair price moves through are swept as
//! trades. The NO book is the mirror of the YES book (`mirror`). Ticks tighten to
//! 0.001 near the edges, and every market resolves at the end of the session.
//! Same seed, same session.

use std::collections::BTreeMap;

mod mirror;

use mirror::{mirror_change, mirror_price, mirror_sides, opposite};

use crate::model::{BookLevel, ConditionId, LevelChange, MarketEvent, Price, Side, Size, TokenId};

/// Shape of a synthetic session.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub markets: u32,
    /// Venue milliseconds per step.
    pub step_ms: u64,
    /// Steps until every market resolves (`None`: never).
    pub resolve_after: Option<u64>,
    /// Random-walk step of the fair price, in 0.01 ticks (uniform in ±this).
    pub drift_ticks: u32,
    /// Chance per step and market of a 5–15 tick jump, in parts per million.
    pub jump_ppm: u32,
    /// Taker trades per step and token, on average, in thousandths.
    pub trades_milli: u32,
    /// A market (by index) that resolves 50-50 instead of to a winner.
    pub fifty_fifty: Option<u32>,
    /// How many markets (the first ones) resolve at `resolve_after`; `None`:
    /// all of them.
    pub resolve_markets: Option<u32>,
    /// At this step one more market opens (listed, with books).
    pub add_market_after: Option<u64>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 7,
            markets: 3,
            step_ms: 1_000,
            resolve_after: None,
            drift_ticks: 1,
            jump_ppm: 15_000,
            trades_milli: 300,
            fifty_fifty: None,
            resolve_markets: None,
            add_market_after: None,
        }
    }
}

/// A market as the simulator lists it (Gamma/CLOB metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMarketInfo {
    pub condition: ConditionId,
    pub question: String,
    pub slug: String,
    /// (token, outcome) with `Yes` first.
    pub tokens: [(TokenId, String); 2],
    pub tick: Price,
    pub min_size: Size,
    pub closed: bool,
    pub winner: Option<TokenId>,
    /// Resolved 50-50: every share pays 0.5.
    pub split: bool,
}

#[derive(Debug, Clone)]
struct Token {
    id: TokenId,
    bids: BTreeMap<Price, Size>,
    asks: BTreeMap<Price, Size>,
    tick: Price,
}

#[derive(Debug, Clone)]
struct Market {
    info: SimMarketInfo,
    /// Fair probability of YES in micro-units.
    fair: i64,
    tokens: [Token; 2],
}

/// The generator and the books it maintains.
#[derive(Debug, Clone)]
pub struct Generator {
    config: GeneratorConfig,
    rng: u64,
    step: u64,
    now_ms: u64,
    markets: Vec<Market>,
    /// Micro-dollars every NO book sits below the mirror of its YES book.
    no_shift: u32,
    /// A new `no_shift`, applied (books republished) at the next step.
    pending_shift: Option<u32>,
}

const CENT: i64 = 10_000;

impl Generator {
    pub fn new(config: GeneratorConfig, start_ms: u64) -> Generator {
        let mut g = Generator {
            rng: config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            config,
            step: 0,
            now_ms: start_ms,
            markets: Vec::new(),
            no_shift: 0,
            pending_shift: None,
        };
        for m in 0..g.config.markets {
            if let Some(market) = g.new_market(m) {
                g.markets.push(market);
            }
        }
        g
    }

    /// Market number `m`: its fair price, ids and seeded books.
    fn new_market(&mut self, m: u32) -> Option<Market> {
        let g = self;
        let fair = 150_000 + g.below(700_000) as i64;
        let condition = format!(
            "0x{:064x}",
            g.next() as u128 * 0x1_0000_0001 + u128::from(m)
        );
        let token = |g: &mut Generator| {
            // 77-digit decimal ids like the venue's.
            let digits: String = (0..77)
                .map(|i| {
                    let d = g.below(10) as u8;
                    char::from(b'0' + if i == 0 { d % 9 + 1 } else { d })
                })
                .collect();
            digits
        };
        let (yes, no) = (token(g), token(g));
        let (Ok(condition), Ok(yes), Ok(no)) = (
            ConditionId::parse(&condition),
            TokenId::parse(&yes),
            TokenId::parse(&no),
        ) else {
            return None;
        };
        let tick = Price::new(CENT as u32).unwrap_or(Price::ZERO);
        let mut market = Market {
            info: SimMarketInfo {
                condition,
                question: format!("Synthetic market {m}: will it resolve Yes?"),
                slug: format!("synthetic-market-{m}"),
                tokens: [(yes.clone(), "Yes".into()), (no.clone(), "No".into())],
                tick,
                min_size: Size::from_micros(5_000_000),
                closed: false,
                winner: None,
                split: false,
            },
            fair,
            tokens: [
                Token {
                    id: yes,
                    bids: BTreeMap::new(),
                    asks: BTreeMap::new(),
                    tick,
                },
                Token {
                    id: no,
                    bids: BTreeMap::new(),
                    asks: BTreeMap::new(),
                    tick,
                },
            ],
        };
        // The NO book mirrors the YES book (a bid at p on one is an ask at
        // 1 - p on the other), as on the venue, where a resting NO bid can fill
        // a YES buyer through a MINT match.
        g.seed_book(&mut market.tokens[0], fair);
        let (bids, asks) = mirror_sides(&market.tokens[0], g.no_shift);
        market.tokens[1].bids = bids;
        market.tokens[1].asks = asks;
        Some(market)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn size(&mut self, lo: u64, hi: u64) -> Size {
        Size::from_micros((lo + self.below(hi - lo + 1)) * 1_000_000)
    }

    fn seed_book(&mut self, t: &mut Token, fair: i64) {
        let tick = i64::from(t.tick.micros());
        let half = (1 + self.below(2) as i64) * tick;
        for k in 0..8 {
            let bid = ((fair - half) / tick - k) * tick;
            let ask = ((fair + half + tick - 1) / tick + k) * tick;
            if let Some(p) = valid(bid, tick) {
                let s = self.size(20, 400);
                t.bids.insert(p, s);
            }
            if let Some(p) = valid(ask, tick) {
                let s = self.size(20, 400);
                t.asks.insert(p, s);
            }
        }
    }

    /// Venue time of the current step.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    pub fn markets(&self) -> Vec<SimMarketInfo> {
        self.markets.iter().map(|m| m.info.clone()).collect()
    }

    /// Fair YES probability per market, micro-units.
    pub fn fairs(&self) -> Vec<i64> {
        self.markets.iter().map(|m| m.fair).collect()
    }

    fn token(&self, id: &TokenId) -> Option<(&Market, &Token)> {
        self.markets
            .iter()
            .find_map(|m| m.tokens.iter().find(|t| &t.id == id).map(|t| (m, t)))
    }

    /// The current book of a token as a snapshot event.
    pub fn book(&self, id: &TokenId) -> Option<MarketEvent> {
        let (m, t) = self.token(id)?;
        Some(MarketEvent::Book {
            token: t.id.clone(),
            market: m.info.condition.clone(),
            ts_ms: self.now_ms,
            bids: t
                .bids
                .iter()
                .map(|(p, s)| BookLevel {
                    price: *p,
                    size: *s,
                })
                .collect(),
            asks: t
                .asks
                .iter()
                .rev()
                .map(|(p, s)| BookLevel {
                    price: *p,
                    size: *s,
                })
                .collect(),
            hash: None,
            tick: Some(t.tick),
        })
    }

    /// Every token id.
    pub fn tokens(&self) -> Vec<TokenId> {
        self.markets
            .iter()
            .flat_map(|m| m.tokens.iter().map(|t| t.id.clone()))
            .collect()
    }

    /// From the next step on, every NO book sits `micros` below the mirror of
    /// its YES book (0: the exact mirror again), so that YES ask + NO ask can
    /// cost less than a dollar, as when one side of a market lags the other.
    pub fn dislocate_no(&mut self, micros: u32) {
        self.pending_shift = Some(micros);
    }

    /// Applies a pending dislocation: every open market's NO book is rebuilt
    /// from its YES book and republished.
    fn apply_shift(&mut self, out: &mut Vec<MarketEvent>) {
        let Some(shift) = self.pending_shift.take() else {
            return;
        };
        if shift == self.no_shift {
            return;
        }
        self.no_shift = shift;
        for i in 0..self.markets.len() {
            if self.markets[i].info.closed {
                continue;
            }
            let (bids, asks) = mirror_sides(&self.markets[i].tokens[0], shift);
            let no = &mut self.markets[i].tokens[1];
            no.bids = bids;
            no.asks = asks;
            let id = no.id.clone();
            out.extend(self.book(&id));
        }
    }

    /// Advances one step and returns what the venue would publish, in order.
    pub fn step(&mut self) -> Vec<MarketEvent> {
        self.step += 1;
        self.now_ms += self.config.step_ms;
        let resolve = self.config.resolve_after.is_some_and(|n| self.step >= n);
        let mut out = Vec::new();
        self.apply_shift(&mut out);
        if self.config.add_market_after == Some(self.step) {
            let m = self.markets.len() as u32;
            if let Some(market) = self.new_market(m) {
                out.push(MarketEvent::NewMarket {
                    market: market.info.condition.clone(),
                    ts_ms: self.now_ms,
                    question: market.info.question.clone(),
                    slug: market.info.slug.clone(),
                    tokens: market.tokens.iter().map(|t| t.id.clone()).collect(),
                    outcomes: market.info.tokens.iter().map(|(_, o)| o.clone()).collect(),
                    tick: Some(market.info.tick),
                });
                let tokens: Vec<TokenId> = market.tokens.iter().map(|t| t.id.clone()).collect();
                self.markets.push(market);
                out.extend(tokens.iter().filter_map(|t| self.book(t)));
            }
        }
        for i in 0..self.markets.len() {
            if self.markets[i].info.closed {
                continue;
            }
            if resolve && self.config.resolve_markets.is_none_or(|n| (i as u32) < n) {
                self.resolve(i, &mut out);
                continue;
            }
            self.move_fair(i);
            // A tick change republishes the books first; this step's flow then
            // happens on the new grid.
            self.retick(i, &mut out);
            // Order flow happens on the YES book; the NO book follows as its
            // mirror, level for level and trade for trade.
            let mut changes = Vec::new();
            let mut trades = Vec::new();
            let fair = self.markets[i].fair;
            let mut yes = self.markets[i].tokens[0].clone();
            self.flow(&mut yes, fair, &mut changes, &mut trades);
            self.markets[i].tokens[0] = yes;
            let shift = self.no_shift;
            let no = &mut self.markets[i].tokens[1];
            let mirrored: Vec<LevelChange> = changes
                .iter()
                .filter_map(|c| mirror_change(c, no, shift))
                .collect();
            changes.extend(mirrored);
            let mirrored: Vec<_> = trades
                .iter()
                .filter_map(|(_, p, s, side)| {
                    let price = mirror_price(*p, shift, no.tick)?;
                    Some((no.id.clone(), price, *s, opposite(*side)))
                })
                .collect();
            trades.extend(mirrored);
            let m = &self.markets[i];
            out.extend(trades.into_iter().map(|(token, price, size, side)| {
                MarketEvent::LastTrade {
                    token,
                    market: m.info.condition.clone(),
                    ts_ms: self.now_ms,
                    price,
                    size,
                    side: Some(side),
                }
            }));
            if !changes.is_empty() {
                for c in &mut changes {
                    if let Some(t) = m.tokens.iter().find(|t| t.id == c.token) {
                        c.best_bid = t.bids.keys().next_back().copied();
                        c.best_ask = t.asks.keys().next().copied();
                    }
                }
                out.push(MarketEvent::PriceChange {
                    market: m.info.condition.clone(),
                    ts_ms: self.now_ms,
                    changes,
                });
            }
        }
        out
    }

    fn move_fair(&mut self, i: usize) {
        let span = u64::from(self.config.drift_ticks) * 2 + 1;
        let mut delta = (self.below(span) as i64 - i64::from(self.config.drift_ticks)) * CENT;
        if self.below(1_000_000) < u64::from(self.config.jump_ppm) {
            let size = (5 + self.below(11) as i64) * CENT;
            delta += if self.below(2) == 0 { size } else { -size };
        }
        let m = &mut self.markets[i];
        m.fair = (m.fair + delta).clamp(5_000, 995_000);
    }

    /// Order flow on one token around `fair`, recording level changes and trades.
    fn flow(
        &mut self,
        t: &mut Token,
        fair: i64,
        changes: &mut Vec<LevelChange>,
        trades: &mut Vec<(TokenId, Price, Size, Side)>,
    ) {
        let tick = i64::from(t.tick.micros());
        let mut set = |t: &mut Token, side: Side, price: Price, size: Size| {
            let book = match side {
                Side::Buy => &mut t.bids,
                Side::Sell => &mut t.asks,
            };
            if size.is_zero() {
                book.remove(&price);
            } else {
                book.insert(price, size);
            }
            changes.retain(|c| !(c.token == t.id && c.side == side && c.price == price));
            changes.push(LevelChange {
                token: t.id.clone(),
                side,
                price,
                size,
                best_bid: None,
                best_ask: None,
            });
        };
        // Levels the fair price moved through are swept by informed takers.
        let stale_bids: Vec<(Price, Size)> = t
            .bids
            .iter()
            .filter(|(p, _)| i64::from(p.micros()) >= fair + tick)
            .map(|(p, s)| (*p, *s))
            .collect();
        for (p, s) in stale_bids {
            trades.push((t.id.clone(), p, s, Side::Sell));
            set(t, Side::Buy, p, Size::ZERO);
        }
        let stale_asks: Vec<(Price, Size)> = t
            .asks
            .iter()
            .filter(|(p, _)| i64::from(p.micros()) <= fair - tick)
            .map(|(p, s)| (*p, *s))
            .collect();
        for (p, s) in stale_asks {
            trades.push((t.id.clone(), p, s, Side::Buy));
            set(t, Side::Sell, p, Size::ZERO);
        }
        // Random takers at the touch.
        if self.below(1_000) < u64::from(self.config.trades_milli) {
            let side = if self.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let touch = match side {
                Side::Buy => t.asks.iter().next().map(|(p, s)| (*p, *s)),
                Side::Sell => t.bids.iter().next_back().map(|(p, s)| (*p, *s)),
            };
            if let Some((p, s)) = touch {
                let take = self.size(1, 60).min(s);
                trades.push((t.id.clone(), p, take, side));
                let book_side = if side == Side::Buy {
                    Side::Sell
                } else {
                    Side::Buy
                };
                set(t, book_side, p, s.saturating_sub(take));
            }
        }
        // Makers add near the fair price and cancel further out.
        for _ in 0..2 {
            let side = if self.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let away = (1 + self.below(6) as i64) * tick;
            let raw = if side == Side::Buy {
                fair - away
            } else {
                fair + away
            };
            let aligned = if side == Side::Buy {
                (raw / tick) * tick
            } else {
                ((raw + tick - 1) / tick) * tick
            };
            // Never cross the other side.
            let crosses = match side {
                Side::Buy => t
                    .asks
                    .keys()
                    .next()
                    .is_some_and(|a| i64::from(a.micros()) <= aligned),
                Side::Sell => t
                    .bids
                    .keys()
                    .next_back()
                    .is_some_and(|b| i64::from(b.micros()) >= aligned),
            };
            if let (Some(p), false) = (valid(aligned, tick), crosses) {
                let current = match side {
                    Side::Buy => t.bids.get(&p).copied(),
                    Side::Sell => t.asks.get(&p).copied(),
                }
                .unwrap_or(Size::ZERO);
                let add = self.size(5, 150);
                set(t, side, p, current.checked_add(add).unwrap_or(current));
            }
        }
        if self.below(3) == 0 {
            let side = if self.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let levels: Vec<(Price, Size)> = match side {
                Side::Buy => t.bids.iter().map(|(p, s)| (*p, *s)).collect(),
                Side::Sell => t.asks.iter().map(|(p, s)| (*p, *s)).collect(),
            };
            if levels.len() > 3 {
                let (p, s) = levels[self.below(levels.len() as u64) as usize];
                let cut = self.size(1, 100);
                set(t, side, p, s.saturating_sub(cut));
            }
        }
    }

    /// Near the edges the venue tightens the tick to 0.001 (and back).
    fn retick(&mut self, i: usize, out: &mut Vec<MarketEvent>) {
        let fair = self.markets[i].fair;
        let want = if !(40_000..=960_000).contains(&fair) {
            1_000
        } else {
            CENT as u32
        };
        let Some(new) = Price::new(want) else {
            return;
        };
        let m = &mut self.markets[i];
        if m.info.tick == new {
            return;
        }
        let old = m.info.tick;
        m.info.tick = new;
        let condition = m.info.condition.clone();
        let ts_ms = self.now_ms;
        for k in 0..2 {
            let t = &mut self.markets[i].tokens[k];
            t.tick = new;
            // Orders off the new grid or outside [tick, 1 - tick] are cancelled.
            let keep = |p: &Price| p.is_valid_order_price(new);
            t.bids.retain(|p, _| keep(p));
            t.asks.retain(|p, _| keep(p));
            out.push(MarketEvent::TickSize {
                token: self.markets[i].tokens[k].id.clone(),
                market: condition.clone(),
                ts_ms,
                old,
                new,
            });
            // The venue republishes the book on the new grid.
            let id = self.markets[i].tokens[k].id.clone();
            if let Some(book) = self.book(&id) {
                out.push(book);
            }
        }
    }

    fn resolve(&mut self, i: usize, out: &mut Vec<MarketEvent>) {
        let fair = self.markets[i].fair;
        let yes_wins = (self.below(1_000_000) as i64) < fair;
        let split = self.config.fifty_fifty == Some(i as u32);
        let m = &mut self.markets[i];
        let winner = m.tokens[if yes_wins { 0 } else { 1 }].id.clone();
        m.info.closed = true;
        m.info.split = split;
        if !split {
            m.info.winner = Some(winner.clone());
        }
        for t in &mut m.tokens {
            t.bids.clear();
            t.asks.clear();
        }
        out.push(MarketEvent::Resolved {
            market: m.info.condition.clone(),
            ts_ms: self.now_ms,
            tokens: m.tokens.iter().map(|t| t.id.clone()).collect(),
            winner,
            winning_outcome: if yes_wins { "Yes" } else { "No" }.into(),
            payouts: if split {
                m.tokens
                    .iter()
                    .map(|t| crate::model::Payout {
                        token: t.id.clone(),
                        payout: Price::new(500_000).unwrap_or(Price::ZERO),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        });
    }
}

fn valid(price: i64, tick: i64) -> Option<Price> {
    if price >= tick && price <= 1_000_000 - tick {
        u32::try_from(price).ok().and_then(Price::new)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
