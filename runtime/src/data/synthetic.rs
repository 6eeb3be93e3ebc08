//! A seeded synthetic market generator: binary markets whose fair probability
//! drifts (with occasional jumps), each outcome token with its own L2 book around
//! its fair price. Same seed, same session, byte for byte.

use std::collections::BTreeMap;

use crate::strategy::bindings::types::{
    BookChange, BookSnapshot, EventKind, InstrumentInfo, Level, Side, TradePrint,
};

/// Shape of a synthetic session.
#[derive(Debug, Clone)]
pub struct SyntheticConfig {
    pub markets: u32,
    pub seed: u64,
    /// Price increment in micro-dollars.
    pub tick: u32,
    /// Levels per side.
    pub levels: u32,
    /// Random-walk step of the fair price, in ticks (uniform in ±this).
    pub drift_ticks: u32,
    /// Chance per step of a jump of 5–15 ticks, in parts per million.
    pub jump_ppm: u32,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            markets: 2,
            seed: 7,
            tick: 10_000,
            levels: 5,
            drift_ticks: 1,
            jump_ppm: 20_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ladder {
    bids: BTreeMap<u32, u64>,
    asks: BTreeMap<u32, u64>,
}

#[derive(Debug, Clone)]
struct Market {
    yes: u32,
    no: u32,
    /// Fair probability of YES, micro-units.
    fair: i64,
    books: [Ladder; 2],
}

/// The generator.
#[derive(Debug, Clone)]
pub struct SyntheticMarkets {
    config: SyntheticConfig,
    rng: u64,
    markets: Vec<Market>,
}

impl SyntheticMarkets {
    pub fn new(config: SyntheticConfig) -> SyntheticMarkets {
        let mut s = SyntheticMarkets {
            rng: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            markets: Vec::new(),
            config,
        };
        for m in 0..s.config.markets {
            let fair = 200_000 + s.below(600_000) as i64;
            let mut market = Market {
                yes: 2 * m,
                no: 2 * m + 1,
                fair,
                books: [Ladder::default(), Ladder::default()],
            };
            market.books = [s.ladder(fair), s.ladder(1_000_000 - fair)];
            s.markets.push(market);
        }
        s
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: the generator's own stream, independent of strategy seeds.
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

    /// A book around `fair`: spread of 1–4 ticks, sizes of 20–500 shares.
    fn ladder(&mut self, fair: i64) -> Ladder {
        let tick = i64::from(self.config.tick);
        let spread = (1 + self.below(4) as i64) * tick;
        let best_bid = ((fair - spread / 2) / tick) * tick;
        let best_ask = best_bid + spread;
        let mut ladder = Ladder::default();
        for k in 0..i64::from(self.config.levels) {
            let size = (20 + self.below(480)) * 1_000_000;
            let bid = best_bid - k * tick;
            if bid >= tick {
                ladder.bids.insert(bid as u32, size);
            }
            let size = (20 + self.below(480)) * 1_000_000;
            let ask = best_ask + k * tick;
            if ask <= 1_000_000 - tick {
                ladder.asks.insert(ask as u32, size);
            }
        }
        ladder
    }

    /// Both outcome tokens of every market, YES first.
    pub fn instruments(&self) -> Vec<InstrumentInfo> {
        let mut out = Vec::new();
        for (i, m) in self.markets.iter().enumerate() {
            for (id, other, outcome) in [(m.yes, m.no, "Yes"), (m.no, m.yes, "No")] {
                out.push(InstrumentInfo {
                    id,
                    market: i as u32,
                    token: format!("{}", 7_000_000 + id),
                    outcome: outcome.to_string(),
                    question: format!("Synthetic market {i}: will it resolve YES?"),
                    complement: Some(other),
                    tick: self.config.tick,
                    min_size: 5_000_000,
                    taker_fee_rate: 0,
                });
            }
        }
        out
    }

    /// Full books of every token.
    pub fn snapshots(&self) -> Vec<EventKind> {
        let mut out = Vec::new();
        for m in &self.markets {
            for (id, book) in [(m.yes, &m.books[0]), (m.no, &m.books[1])] {
                out.push(EventKind::BookSnapshot(BookSnapshot {
                    instrument: id,
                    bids: book
                        .bids
                        .iter()
                        .rev()
                        .map(|(p, s)| Level {
                            price: *p,
                            size: *s,
                        })
                        .collect(),
                    asks: book
                        .asks
                        .iter()
                        .map(|(p, s)| Level {
                            price: *p,
                            size: *s,
                        })
                        .collect(),
                }));
            }
        }
        out
    }

    /// Best bid and ask of a token now.
    pub fn top(&self, instrument: u32) -> (Option<Level>, Option<Level>) {
        let Some(book) = self
            .markets
            .iter()
            .flat_map(|m| [(m.yes, &m.books[0]), (m.no, &m.books[1])])
            .find(|(id, _)| *id == instrument)
            .map(|(_, b)| b)
        else {
            return (None, None);
        };
        (
            book.bids.iter().next_back().map(|(p, s)| Level {
                price: *p,
                size: *s,
            }),
            book.asks.iter().next().map(|(p, s)| Level {
                price: *p,
                size: *s,
            }),
        )
    }

    /// Fair YES probability of market `i`, micro-units.
    pub fn fair(&self, market: usize) -> Option<i64> {
        self.markets.get(market).map(|m| m.fair)
    }

    /// One step: fair prices move, books are redrawn around them, and the level
    /// changes (plus a trade print where the top moved through) are returned.
    pub fn step(&mut self) -> Vec<EventKind> {
        let tick = i64::from(self.config.tick);
        let mut out = Vec::new();
        for i in 0..self.markets.len() {
            let span = u64::from(self.config.drift_ticks) * 2 + 1;
            let mut delta = (self.below(span) as i64 - i64::from(self.config.drift_ticks)) * tick;
            if self.below(1_000_000) < u64::from(self.config.jump_ppm) {
                let size = (5 + self.below(11) as i64) * tick;
                delta += if self.below(2) == 0 { size } else { -size };
            }
            let fair = (self.markets[i].fair + delta).clamp(3 * tick, 1_000_000 - 3 * tick);
            // The NO book gets its own noise so the two books do not mirror
            // exactly: sometimes the asks sum below $1 (what arbitrage hunts).
            let noise = (self.below(3) as i64 - 1) * tick;
            let books = [self.ladder(fair), self.ladder(1_000_000 - fair + noise)];
            let market = &mut self.markets[i];
            market.fair = fair;
            for (k, id) in [market.yes, market.no].into_iter().enumerate() {
                let old = std::mem::replace(&mut market.books[k], books[k].clone());
                diff(id, &old, &books[k], &mut out);
                let moved_up = match (old.asks.keys().next(), books[k].bids.keys().next_back()) {
                    (Some(old_ask), Some(new_bid)) => new_bid >= old_ask,
                    _ => false,
                };
                if moved_up && let Some((p, s)) = old.asks.iter().next() {
                    out.push(EventKind::Trade(TradePrint {
                        instrument: id,
                        price: *p,
                        size: (*s).min(10_000_000),
                        aggressor: Some(Side::Buy),
                    }));
                }
            }
        }
        out
    }
}

/// Appends the level changes that turn `old` into `new`.
fn diff(instrument: u32, old: &Ladder, new: &Ladder, out: &mut Vec<EventKind>) {
    for (side, before, after) in [
        (Side::Buy, &old.bids, &new.bids),
        (Side::Sell, &old.asks, &new.asks),
    ] {
        for (price, _) in before.iter().filter(|(p, _)| !after.contains_key(p)) {
            out.push(EventKind::BookChange(BookChange {
                instrument,
                side,
                price: *price,
                size: 0,
            }));
        }
        for (price, size) in after {
            if before.get(price) != Some(size) {
                out.push(EventKind::BookChange(BookChange {
                    instrument,
                    side,
                    price: *price,
                    size: *size,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_session() {
        let mut a = SyntheticMarkets::new(SyntheticConfig::default());
        let mut b = SyntheticMarkets::new(SyntheticConfig::default());
        for _ in 0..50 {
            assert_eq!(a.step(), b.step());
        }
        let mut c = SyntheticMarkets::new(SyntheticConfig {
            seed: 8,
            ..SyntheticConfig::default()
        });
        assert_ne!(a.step(), c.step());
    }

    #[test]
    fn books_stay_valid() {
        let mut s = SyntheticMarkets::new(SyntheticConfig {
            markets: 3,
            jump_ppm: 200_000,
            ..SyntheticConfig::default()
        });
        for _ in 0..500 {
            s.step();
            for inst in s.instruments() {
                let (bid, ask) = s.top(inst.id);
                if let (Some(b), Some(a)) = (bid, ask) {
                    assert!(b.price < a.price, "crossed book on {}", inst.id);
                }
                for l in bid.iter().chain(ask.iter()) {
                    assert!(l.price >= 10_000 && l.price <= 990_000);
                    assert_eq!(l.price % 10_000, 0);
                    assert!(l.size > 0);
                }
            }
        }
    }
}
