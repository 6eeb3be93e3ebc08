//! Turns host events into what strategies see: market events and book outputs
//! into WIT events on instrument ids, top-of-book changes into quotes, venue order
//! events into the owning strategy's order events. Interest filtering happens per
//! strategy when batches are assembled.

use std::collections::{BTreeMap, BTreeSet};

use super::registry::Registry;
use crate::data::books::{BookOutput, Books};
use crate::model::{BookLevel, MarketEvent, OrderEvent, Side, StrategyId, TokenId};
use crate::strategy::bindings::types as wit;

fn side(s: Side) -> wit::Side {
    match s {
        Side::Buy => wit::Side::Buy,
        Side::Sell => wit::Side::Sell,
    }
}

fn level(l: &BookLevel) -> wit::Level {
    wit::Level {
        price: l.price.micros(),
        size: l.size.micros(),
    }
}

/// Keeps every instrument's top of book current from the books that changed,
/// and remembers the tops strategies were last told about (quotes).
#[derive(Debug, Clone, Default)]
pub struct Translator {
    /// The tops strategies were last sent a quote for.
    told: BTreeMap<u32, wit::BookTop>,
    /// Every instrument's top now, by instrument id.
    current: Vec<wit::BookTop>,
    /// Instruments whose top may differ from what strategies were told.
    unquoted: BTreeSet<u32>,
    /// Scratch for the tokens the books report changed.
    touched: Vec<TokenId>,
}

const EMPTY_TOP: wit::BookTop = wit::BookTop {
    bid: None,
    ask: None,
};

impl Translator {
    /// Strategy events for one market event and the book outputs it caused.
    pub fn market(
        &self,
        registry: &Registry,
        event: &MarketEvent,
        outputs: &[BookOutput],
        out: &mut Vec<wit::EventKind>,
    ) {
        match event {
            MarketEvent::Book {
                token, bids, asks, ..
            } => {
                if let Some(instrument) = registry.instrument(token) {
                    let mut bids: Vec<wit::Level> = bids
                        .iter()
                        .filter(|l| !l.size.is_zero())
                        .map(level)
                        .collect();
                    let mut asks: Vec<wit::Level> = asks
                        .iter()
                        .filter(|l| !l.size.is_zero())
                        .map(level)
                        .collect();
                    bids.sort_by_key(|l| std::cmp::Reverse(l.price));
                    asks.sort_by_key(|l| l.price);
                    out.push(wit::EventKind::BookSnapshot(wit::BookSnapshot {
                        instrument,
                        bids,
                        asks,
                    }));
                }
            }
            MarketEvent::PriceChange { changes, .. } => {
                for c in changes {
                    if let Some(instrument) = registry.instrument(&c.token) {
                        out.push(wit::EventKind::BookChange(wit::BookChange {
                            instrument,
                            side: side(c.side),
                            price: c.price.micros(),
                            size: c.size.micros(),
                        }));
                    }
                }
            }
            _ => {}
        }
        self.outputs(registry, outputs, out);
    }

    /// Strategy events for book outputs (trades, tick changes, status, resolution).
    pub fn outputs(
        &self,
        registry: &Registry,
        outputs: &[BookOutput],
        out: &mut Vec<wit::EventKind>,
    ) {
        for o in outputs {
            match o {
                BookOutput::Trade {
                    token,
                    price,
                    size,
                    side: s,
                } => {
                    if let Some(instrument) = registry.instrument(token) {
                        out.push(wit::EventKind::Trade(wit::TradePrint {
                            instrument,
                            price: price.micros(),
                            size: size.micros(),
                            aggressor: s.map(side),
                        }));
                    }
                }
                BookOutput::TickSize { token, old, new } => {
                    if let Some(instrument) = registry.instrument(token) {
                        out.push(wit::EventKind::TickSize(wit::TickSizeChange {
                            instrument,
                            old_tick: old.micros(),
                            new_tick: new.micros(),
                        }));
                    }
                }
                BookOutput::Status(s) => {
                    if let Some(instrument) = registry.instrument(&s.token) {
                        out.push(wit::EventKind::MarketStatus(wit::MarketStatus {
                            instrument,
                            tradeable: s.untradeable.is_none(),
                            reason: s.untradeable.map(|u| u.as_str()).unwrap_or("").to_string(),
                        }));
                    }
                }
                BookOutput::Resolved { payouts, .. } => {
                    for (t, payout) in payouts {
                        if let Some(instrument) = registry.instrument(t) {
                            out.push(wit::EventKind::Resolved(wit::Resolution {
                                instrument,
                                payout: payout.micros(),
                            }));
                        }
                    }
                }
                BookOutput::Updated(_)
                | BookOutput::NeedsSnapshot(_)
                | BookOutput::Resynced { .. } => {}
            }
        }
    }

    /// Brings the tops up to date: instruments the registry gained, and those
    /// whose book changed since the last refresh. Only their books are read.
    pub fn refresh(&mut self, registry: &Registry, books: &mut Books) {
        // Two instruments per market: only a new listing walks the list.
        let known = self.current.len();
        if registry.markets().len() * 2 > known {
            for (instrument, token) in registry.instruments().skip(known) {
                debug_assert_eq!(instrument as usize, self.current.len());
                self.current.push(top_of(books, token));
                self.unquoted.insert(instrument);
            }
        }
        books.take_touched(&mut self.touched);
        for token in self.touched.drain(..) {
            if let Some(i) = registry.instrument(&token)
                && let Some(top) = self.current.get_mut(i as usize)
            {
                *top = top_of(books, &token);
                self.unquoted.insert(i);
            }
        }
    }

    /// Every instrument's top now, by instrument id (as of the last refresh).
    pub fn tops(&self) -> &[wit::BookTop] {
        &self.current
    }

    /// A quote for every instrument whose best bid or ask changed since the last
    /// call, in instrument order (sent after a batch's other events).
    pub fn quotes(
        &mut self,
        registry: &Registry,
        books: &mut Books,
        out: &mut Vec<wit::EventKind>,
    ) {
        self.refresh(registry, books);
        for instrument in std::mem::take(&mut self.unquoted) {
            let top = self
                .current
                .get(instrument as usize)
                .copied()
                .unwrap_or(EMPTY_TOP);
            if self.told.get(&instrument) != Some(&top) {
                self.told.insert(instrument, top);
                out.push(wit::EventKind::Quote(wit::Quote {
                    instrument,
                    bid: top.bid,
                    ask: top.ask,
                }));
            }
        }
    }
}

/// Best bid and ask of a token's book (empty if unknown or unusable).
pub fn top_of(books: &Books, token: &TokenId) -> wit::BookTop {
    let Some(book) = books
        .book(token)
        .filter(|b| b.state() == crate::data::book::BookState::Live)
    else {
        return EMPTY_TOP;
    };
    wit::BookTop {
        bid: book.best_bid().map(|l| level(&l)),
        ask: book.best_ask().map(|l| level(&l)),
    }
}

/// The owning strategy and its view of a venue order event.
pub fn order_event(registry: &Registry, ev: &OrderEvent) -> Option<(StrategyId, wit::EventKind)> {
    let key = ev.key();
    let kind = match ev {
        OrderEvent::Accepted { .. } => wit::EventKind::OrderAccepted(wit::OrderAccepted {
            order: key.client_id,
        }),
        OrderEvent::Rejected {
            reject, message, ..
        } => {
            use crate::model::VenueReject as V;
            let (reason, generic) = match reject {
                V::WouldCross => (
                    wit::RejectReason::WouldCross,
                    "post-only order would cross".to_string(),
                ),
                V::BadPrice => (
                    wit::RejectReason::BadPrice,
                    "price off tick or out of range".to_string(),
                ),
                V::BadSize => (
                    wit::RejectReason::BadSize,
                    "size below the market minimum".to_string(),
                ),
                V::MarketClosed => (
                    wit::RejectReason::MarketUntradeable,
                    "market not accepting orders".to_string(),
                ),
                V::Unfillable => (
                    wit::RejectReason::Venue,
                    "FOK/FAK order could not fill".to_string(),
                ),
                V::BadExpiration => (wit::RejectReason::Venue, "invalid expiration".to_string()),
                V::SelfCross => (
                    wit::RejectReason::Venue,
                    "would trade against an order of the same account".to_string(),
                ),
                V::MinNotional => (
                    wit::RejectReason::BadSize,
                    "marketable buy under the $1 minimum".to_string(),
                ),
                V::InvalidPayload => (wit::RejectReason::Venue, "invalid order".to_string()),
                V::NotReceived => (
                    wit::RejectReason::Venue,
                    "the venue never received it".to_string(),
                ),
                V::InsufficientFunds => (
                    wit::RejectReason::Venue,
                    "not enough balance / allowance".to_string(),
                ),
                V::Other { message } => (wit::RejectReason::Venue, message.clone()),
            };
            let message = if message.is_empty() {
                generic
            } else {
                message.clone()
            };
            wit::EventKind::OrderRejected(wit::OrderRejected {
                order: key.client_id,
                reason,
                message,
            })
        }
        OrderEvent::Cancelled {
            cause, unfilled, ..
        } => {
            use crate::model::CancelCause as C;
            wit::EventKind::OrderCancelled(wit::OrderCancelled {
                order: key.client_id,
                reason: match cause {
                    C::Requested => wit::CancelReason::Requested,
                    C::Expired => wit::CancelReason::Expired,
                    C::Unfilled => wit::CancelReason::Unfilled,
                    C::Venue => wit::CancelReason::Venue,
                    C::Host => wit::CancelReason::Host,
                },
                unfilled: unfilled.micros(),
            })
        }
        // The strategy's order stays working as far as it can tell, which is
        // what the host assumes too until reconciliation says otherwise.
        OrderEvent::Unknown { .. } => return None,
        // The strategy hears a fill that cancels the failed one: the same
        // size at the same price the other way, its fee given back, so
        // positions and cash it keeps from fills come out as if the trade
        // never happened (the WIT has no reversal of its own).
        OrderEvent::FillReversed {
            fill: Some(f),
            remaining,
            ..
        } => {
            let instrument = registry.instrument(&f.token)?;
            let fee = (f.fee_value() * rust_decimal::Decimal::from(1_000_000))
                .round()
                .try_into()
                .unwrap_or(0i64);
            wit::EventKind::Fill(wit::Fill {
                order: key.client_id,
                instrument,
                side: side(match f.side {
                    crate::model::Side::Buy => crate::model::Side::Sell,
                    crate::model::Side::Sell => crate::model::Side::Buy,
                }),
                price: f.price.micros(),
                size: f.size.micros(),
                fee: -fee,
                liquidity: match f.liquidity {
                    crate::model::Liquidity::Maker => wit::Liquidity::Maker,
                    crate::model::Liquidity::Taker => wit::Liquidity::Taker,
                },
                remaining: remaining.micros(),
            })
        }
        OrderEvent::FillReversed { fill: None, .. } => return None,
        OrderEvent::Filled(f) => {
            let instrument = registry.instrument(&f.token)?;
            // Fees cross the boundary in micro-dollars (rebates negative),
            // shares a buy gave up valued at the fill price.
            let fee = (f.fee_value() * rust_decimal::Decimal::from(1_000_000))
                .round()
                .try_into()
                .unwrap_or(0i64);
            wit::EventKind::Fill(wit::Fill {
                order: key.client_id,
                instrument,
                side: side(f.side),
                price: f.price.micros(),
                size: f.size.micros(),
                fee,
                liquidity: match f.liquidity {
                    crate::model::Liquidity::Maker => wit::Liquidity::Maker,
                    crate::model::Liquidity::Taker => wit::Liquidity::Taker,
                },
                remaining: f.remaining.micros(),
            })
        }
    };
    Some((key.strategy, kind))
}

#[cfg(test)]
mod tests;
