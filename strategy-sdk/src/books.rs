//! In-guest L2 books rebuilt from snapshot and level-change events, for strategies
//! that want depth (and for the native harness's simulated host).

use std::collections::BTreeMap;

use crate::types::{BookChange, BookSnapshot, BookTop, Level, Side};

/// One instrument's book: price → total size per side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    bids: BTreeMap<u32, u64>,
    asks: BTreeMap<u32, u64>,
}

impl Book {
    /// Replaces the book with a snapshot (zero-size levels are ignored).
    pub fn apply_snapshot(&mut self, snap: &BookSnapshot) {
        self.bids = snap
            .bids
            .iter()
            .filter(|l| l.size > 0)
            .map(|l| (l.price, l.size))
            .collect();
        self.asks = snap
            .asks
            .iter()
            .filter(|l| l.size > 0)
            .map(|l| (l.price, l.size))
            .collect();
    }

    /// Sets one level to its new total; size 0 removes it.
    pub fn apply_change(&mut self, side: Side, price: u32, size: u64) {
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if size == 0 {
            levels.remove(&price);
        } else {
            levels.insert(price, size);
        }
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.iter().next_back().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }

    pub fn top(&self) -> BookTop {
        BookTop {
            bid: self.best_bid(),
            ask: self.best_ask(),
        }
    }

    /// Bids best-first.
    pub fn bids(&self) -> impl Iterator<Item = Level> + '_ {
        self.bids.iter().rev().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }

    /// Asks best-first.
    pub fn asks(&self) -> impl Iterator<Item = Level> + '_ {
        self.asks.iter().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }
}

/// Books for many instruments, keyed by instrument id.
#[derive(Debug, Clone, Default)]
pub struct BookTracker {
    books: BTreeMap<u32, Book>,
}

impl BookTracker {
    pub fn on_snapshot(&mut self, snap: &BookSnapshot) {
        self.books
            .entry(snap.instrument)
            .or_default()
            .apply_snapshot(snap);
    }

    pub fn on_change(&mut self, change: &BookChange) {
        self.books
            .entry(change.instrument)
            .or_default()
            .apply_change(change.side, change.price, change.size);
    }

    pub fn book(&self, instrument: u32) -> Option<&Book> {
        self.books.get(&instrument)
    }

    pub fn top(&self, instrument: u32) -> BookTop {
        self.books
            .get(&instrument)
            .map(Book::top)
            .unwrap_or(BookTop {
                bid: None,
                ask: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_then_changes() {
        let mut t = BookTracker::default();
        t.on_snapshot(&BookSnapshot {
            instrument: 3,
            bids: vec![
                Level {
                    price: 480_000,
                    size: 10,
                },
                Level {
                    price: 470_000,
                    size: 5,
                },
            ],
            asks: vec![Level {
                price: 520_000,
                size: 7,
            }],
        });
        assert_eq!(t.top(3).bid.unwrap().price, 480_000);
        t.on_change(&BookChange {
            instrument: 3,
            side: Side::Buy,
            price: 480_000,
            size: 0,
        });
        assert_eq!(t.top(3).bid.unwrap().price, 470_000);
        t.on_change(&BookChange {
            instrument: 3,
            side: Side::Sell,
            price: 510_000,
            size: 2,
        });
        assert_eq!(
            t.top(3).ask.unwrap(),
            Level {
                price: 510_000,
                size: 2
            }
        );
        assert_eq!(t.top(9).bid, None);
    }
}
