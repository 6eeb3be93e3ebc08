//! The L2 order book of one outcome token, rebuilt from `book` snapshots and the
//! level totals of `price_change` (never from array positions). A tick-size change
//! starts a new epoch: the book is dropped until a fresh snapshot arrives, because
//! levels on the old grid are no longer a trustworthy picture.

use std::collections::BTreeMap;

use crate::model::{BookLevel, Price, Side, Size};

/// Whether the book can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookState {
    /// No snapshot yet in this epoch; changes are ignored.
    AwaitingSnapshot,
    Live,
}

/// What applying a level change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The level already had that size.
    Unchanged,
    /// No snapshot in this epoch yet: the change cannot be placed.
    Ignored,
}

/// One token's book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBook {
    bids: BTreeMap<Price, Size>,
    asks: BTreeMap<Price, Size>,
    tick: Option<Price>,
    epoch: u32,
    state: BookState,
    last_ts_ms: u64,
    hash: Option<String>,
}

impl Default for OrderBook {
    fn default() -> Self {
        OrderBook {
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            tick: None,
            epoch: 0,
            state: BookState::AwaitingSnapshot,
            last_ts_ms: 0,
            hash: None,
        }
    }
}

impl OrderBook {
    pub fn new() -> OrderBook {
        OrderBook::default()
    }

    /// Replaces the book. Zero-size levels are skipped; a price listed twice keeps
    /// its last size (the quality checks count both as issues).
    pub fn apply_snapshot(
        &mut self,
        bids: &[BookLevel],
        asks: &[BookLevel],
        ts_ms: u64,
        tick: Option<Price>,
        hash: Option<String>,
    ) {
        let collect = |levels: &[BookLevel]| {
            levels
                .iter()
                .filter(|l| !l.size.is_zero())
                .map(|l| (l.price, l.size))
                .collect::<BTreeMap<_, _>>()
        };
        self.bids = collect(bids);
        self.asks = collect(asks);
        if tick.is_some() {
            self.tick = tick;
        }
        self.state = BookState::Live;
        self.last_ts_ms = ts_ms;
        self.hash = hash;
    }

    /// Sets one level to its new total (zero removes it).
    pub fn apply_change(&mut self, side: Side, price: Price, size: Size, ts_ms: u64) -> Applied {
        if self.state == BookState::AwaitingSnapshot {
            return Applied::Ignored;
        }
        self.last_ts_ms = self.last_ts_ms.max(ts_ms);
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let changed = if size.is_zero() {
            levels.remove(&price).is_some()
        } else {
            levels.insert(price, size) != Some(size)
        };
        if changed {
            Applied::Changed
        } else {
            Applied::Unchanged
        }
    }

    /// A new tick size: new epoch, book dropped until the next snapshot.
    pub fn on_tick_size(&mut self, new_tick: Price) {
        self.tick = Some(new_tick);
        self.epoch += 1;
        self.bids.clear();
        self.asks.clear();
        self.state = BookState::AwaitingSnapshot;
    }

    /// Forgets the book (e.g. after a gap) until the next snapshot.
    pub fn invalidate(&mut self) {
        self.state = BookState::AwaitingSnapshot;
    }

    pub fn state(&self) -> BookState {
        self.state
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    pub fn tick(&self) -> Option<Price> {
        self.tick
    }

    pub fn last_ts_ms(&self) -> u64 {
        self.last_ts_ms
    }

    pub fn hash(&self) -> Option<&str> {
        self.hash.as_deref()
    }

    pub fn best_bid(&self) -> Option<BookLevel> {
        self.bids.iter().next_back().map(|(p, s)| BookLevel {
            price: *p,
            size: *s,
        })
    }

    pub fn best_ask(&self) -> Option<BookLevel> {
        self.asks.iter().next().map(|(p, s)| BookLevel {
            price: *p,
            size: *s,
        })
    }

    /// Mid price in micro-dollars, rounded down, when both sides exist.
    pub fn mid(&self) -> Option<Price> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        Price::new((b.price.micros() + a.price.micros()) / 2)
    }

    /// Best bid at or above best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price > a.price)
    }

    /// Best bid equal to best ask.
    pub fn is_locked(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price == a.price)
    }

    /// Up to `n` levels of one side, best first.
    pub fn depth(&self, side: Side, n: usize) -> Vec<BookLevel> {
        let level = |(p, s): (&Price, &Size)| BookLevel {
            price: *p,
            size: *s,
        };
        match side {
            Side::Buy => self.bids.iter().rev().take(n).map(level).collect(),
            Side::Sell => self.asks.iter().take(n).map(level).collect(),
        }
    }

    pub fn level_count(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.bids.len(),
            Side::Sell => self.asks.len(),
        }
    }

    /// Size resting at a price on one side (zero if none).
    pub fn size_at(&self, side: Side, price: Price) -> Size {
        let levels = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        levels.get(&price).copied().unwrap_or(Size::ZERO)
    }

    /// The same liquidity seen from the other outcome: a bid at p here is an ask at
    /// 1 − p there (a BUY of this token matches against a BUY of the other).
    pub fn complement(&self) -> OrderBook {
        let flip = |levels: &BTreeMap<Price, Size>| {
            levels
                .iter()
                .map(|(p, s)| (p.complement(), *s))
                .collect::<BTreeMap<_, _>>()
        };
        OrderBook {
            bids: flip(&self.asks),
            asks: flip(&self.bids),
            tick: self.tick,
            epoch: self.epoch,
            state: self.state,
            last_ts_ms: self.last_ts_ms,
            hash: None,
        }
    }

    /// All levels, best first, for checks and archives.
    pub fn levels(&self) -> (Vec<BookLevel>, Vec<BookLevel>) {
        (
            self.depth(Side::Buy, usize::MAX),
            self.depth(Side::Sell, usize::MAX),
        )
    }
}

#[cfg(test)]
mod tests;
