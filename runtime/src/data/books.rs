//! All books of a feed, kept current from normalised market events, with every
//! event passed through the quality checks. What changed is reported as outputs
//! the engine turns into strategy events; what needs a REST resync is reported too.

use std::collections::BTreeMap;

use super::book::{Applied, BookState, OrderBook};
use super::quality::{
    Issue, QualityConfig, QualityMonitor, StatusChange, check_levels, check_price,
};
use crate::model::{ConditionId, MarketEvent, Price, Side, Size, TokenId};

/// What applying an event changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutput {
    /// A token's book changed (read it with [`Books::book`]).
    Updated(TokenId),
    /// A token became tradeable or untradeable.
    Status(StatusChange),
    Trade {
        token: TokenId,
        price: Price,
        size: Size,
        side: Option<Side>,
    },
    TickSize {
        token: TokenId,
        old: Price,
        new: Price,
    },
    /// A market resolved; what each of its tokens pays per share.
    Resolved {
        market: ConditionId,
        payouts: Vec<(TokenId, Price)>,
    },
    /// The book cannot be trusted until a fresh snapshot (fetch `/book`).
    NeedsSnapshot(TokenId),
    /// A REST snapshot replaced the book; `diverged` if it differed from what
    /// the stream had built (messages were lost).
    Resynced { token: TokenId, diverged: bool },
}

/// Books by token plus their quality state.
#[derive(Debug, Clone, Default)]
pub struct Books {
    books: BTreeMap<TokenId, Kept>,
    quality: QualityMonitor,
    /// Tokens whose book was changed since the last [`Books::take_touched`], so
    /// readers can refresh what they derive from books (quotes, tops) without
    /// visiting every book.
    touched: Vec<TokenId>,
    /// The round of `take_touched`: a book whose mark is older is not listed yet.
    round: u64,
}

#[derive(Debug, Clone, Default)]
struct Kept {
    book: OrderBook,
    /// The round it was last listed as touched in (0: never).
    touched_in: u64,
}

/// The book of `token` for a change (created empty if new), listed as touched.
fn touch<'a>(
    books: &'a mut BTreeMap<TokenId, Kept>,
    touched: &mut Vec<TokenId>,
    round: u64,
    token: &TokenId,
) -> &'a mut OrderBook {
    let kept = books.entry(token.clone()).or_default();
    if kept.touched_in != round + 1 {
        kept.touched_in = round + 1;
        touched.push(token.clone());
    }
    &mut kept.book
}

impl Books {
    pub fn new(config: QualityConfig) -> Books {
        Books {
            books: BTreeMap::new(),
            quality: QualityMonitor::new(config),
            touched: Vec::new(),
            round: 0,
        }
    }

    pub fn book(&self, token: &TokenId) -> Option<&OrderBook> {
        self.books.get(token).map(|k| &k.book)
    }

    /// Moves the tokens whose book changed since the last call into `out`, in
    /// the order they were first changed.
    pub fn take_touched(&mut self, out: &mut Vec<TokenId>) {
        out.append(&mut self.touched);
        self.round += 1;
    }

    pub fn tokens(&self) -> impl Iterator<Item = &TokenId> {
        self.books.keys()
    }

    pub fn quality(&self) -> &QualityMonitor {
        &self.quality
    }

    /// Counts an issue found before an event could be formed (decode errors).
    pub fn record_issue(&mut self, issue: &Issue) {
        self.quality.record(None, issue);
    }

    /// Forgets a token's book until its next snapshot (after a gap or reconnect).
    pub fn invalidate(&mut self, token: &TokenId, now_ms: u64, out: &mut Vec<BookOutput>) {
        let book = touch(&mut self.books, &mut self.touched, self.round, token);
        book.invalidate();
        if let Some(c) = self.quality.after_update(token, book, now_ms) {
            out.push(BookOutput::Status(c));
        }
    }

    /// Applies one event at host time `now_ms`, appending what changed.
    pub fn apply(&mut self, event: &MarketEvent, now_ms: u64, out: &mut Vec<BookOutput>) {
        match event {
            MarketEvent::Book {
                token,
                ts_ms,
                bids,
                asks,
                hash,
                tick,
                ..
            } => {
                self.quality.observe_time(token, *ts_ms);
                let book = touch(&mut self.books, &mut self.touched, self.round, token);
                let grid = tick.or(book.tick());
                for issue in check_levels(Side::Buy, bids, grid)
                    .into_iter()
                    .chain(check_levels(Side::Sell, asks, grid))
                {
                    self.quality.record(Some(token), &issue);
                }
                book.apply_snapshot(bids, asks, *ts_ms, *tick, hash.clone());
                out.push(BookOutput::Updated(token.clone()));
                if let Some(c) = self.quality.after_update(token, book, now_ms) {
                    out.push(BookOutput::Status(c));
                }
            }
            MarketEvent::PriceChange { ts_ms, changes, .. } => {
                let mut touched: Vec<&TokenId> = Vec::new();
                for ch in changes {
                    if !touched.contains(&&ch.token) {
                        touched.push(&ch.token);
                        self.quality.observe_time(&ch.token, *ts_ms);
                    }
                    let book = touch(&mut self.books, &mut self.touched, self.round, &ch.token);
                    if let Some(issue) = check_price(ch.side, ch.price, book.tick()) {
                        self.quality.record(Some(&ch.token), &issue);
                    }
                    if book.apply_change(ch.side, ch.price, ch.size, *ts_ms) == Applied::Ignored {
                        self.quality
                            .record(Some(&ch.token), &Issue::ChangeBeforeSnapshot);
                        if !out.contains(&BookOutput::NeedsSnapshot(ch.token.clone())) {
                            out.push(BookOutput::NeedsSnapshot(ch.token.clone()));
                        }
                    }
                }
                for token in touched {
                    let Some(book) = self.books.get(token).map(|k| &k.book) else {
                        continue;
                    };
                    if book.state() == BookState::Live {
                        out.push(BookOutput::Updated(token.clone()));
                        // The venue's best prices after the last change of this
                        // token must match ours; if not, a message was lost.
                        if let Some(last) = changes.iter().rev().find(|c| &c.token == token)
                            && (last.best_bid.is_some() || last.best_ask.is_some())
                            && (last.best_bid != book.best_bid().map(|l| l.price)
                                || last.best_ask != book.best_ask().map(|l| l.price))
                        {
                            self.quality.record(Some(token), &Issue::BestPriceMismatch);
                            out.push(BookOutput::NeedsSnapshot(token.clone()));
                        }
                    }
                    if let Some(c) = self.quality.after_update(token, book, now_ms) {
                        out.push(BookOutput::Status(c));
                    }
                }
            }
            MarketEvent::LastTrade {
                token,
                price,
                size,
                side,
                ..
            } => out.push(BookOutput::Trade {
                token: token.clone(),
                price: *price,
                size: *size,
                side: *side,
            }),
            MarketEvent::TickSize {
                token, old, new, ..
            } => {
                let book = touch(&mut self.books, &mut self.touched, self.round, token);
                book.on_tick_size(*new);
                out.push(BookOutput::TickSize {
                    token: token.clone(),
                    old: *old,
                    new: *new,
                });
                out.push(BookOutput::NeedsSnapshot(token.clone()));
                if let Some(c) = self.quality.after_update(token, book, now_ms) {
                    out.push(BookOutput::Status(c));
                }
            }
            MarketEvent::BestBidAsk {
                token, bid, ask, ..
            } => {
                if let Some(book) = self.books.get(token).map(|k| &k.book)
                    && book.state() == BookState::Live
                    && (*bid != book.best_bid().map(|l| l.price)
                        || *ask != book.best_ask().map(|l| l.price))
                {
                    self.quality.record(Some(token), &Issue::BestPriceMismatch);
                    out.push(BookOutput::NeedsSnapshot(token.clone()));
                }
            }
            MarketEvent::Resolved {
                market,
                winner,
                tokens,
                payouts,
                ..
            } => {
                for t in tokens {
                    if let Some(c) = self
                        .quality
                        .close(t, crate::data::quality::Untradeable::Resolved)
                    {
                        out.push(BookOutput::Status(c));
                    }
                }
                out.push(BookOutput::Resolved {
                    market: market.clone(),
                    payouts: crate::model::payouts_of(winner, tokens, payouts),
                });
            }
            MarketEvent::NewMarket { .. } => {}
        }
    }

    /// The venue no longer lists `token`'s market as open: untradeable for good.
    pub fn close(&mut self, token: &TokenId, out: &mut Vec<BookOutput>) {
        if let Some(c) = self
            .quality
            .close(token, crate::data::quality::Untradeable::Closed)
        {
            out.push(BookOutput::Status(c));
        }
    }

    /// Applies a REST snapshot, reporting whether the streamed book had diverged.
    pub fn apply_resync(&mut self, event: &MarketEvent, now_ms: u64, out: &mut Vec<BookOutput>) {
        let MarketEvent::Book {
            token, bids, asks, ..
        } = event
        else {
            self.apply(event, now_ms, out);
            return;
        };
        let diverged = self.book(token).is_some_and(|b| {
            if b.state() != BookState::Live {
                return false;
            }
            let (ours_b, ours_a) = b.levels();
            let mut theirs_b: Vec<_> = bids.iter().filter(|l| !l.size.is_zero()).copied().collect();
            let mut theirs_a: Vec<_> = asks.iter().filter(|l| !l.size.is_zero()).copied().collect();
            theirs_b.sort_by_key(|l| std::cmp::Reverse(l.price));
            theirs_a.sort_by_key(|l| l.price);
            ours_b != theirs_b || ours_a != theirs_a
        });
        if diverged {
            self.quality.record(Some(token), &Issue::AuditMismatch);
        }
        self.apply(event, now_ms, out);
        out.push(BookOutput::Resynced {
            token: token.clone(),
            diverged,
        });
    }

    /// Flags books that went stale by host time `now_ms`.
    pub fn sweep(&mut self, now_ms: u64, out: &mut Vec<BookOutput>) {
        out.extend(
            self.quality
                .sweep(now_ms)
                .into_iter()
                .map(BookOutput::Status),
        );
    }
}

#[cfg(test)]
mod tests;
