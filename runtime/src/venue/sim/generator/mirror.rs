//! The NO book of a binary market as the mirror of its YES book: a bid at p on
//! one is an ask at 1 - p of the same size on the other.

use std::collections::BTreeMap;

use super::Token;
use crate::model::{LevelChange, Price, Side, Size};

pub(super) fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// The other token's sides of a binary market: each bid at p becomes an ask at
/// 1 - p of the same size, and each ask a bid.
pub(super) fn mirror_sides(t: &Token) -> (BTreeMap<Price, Size>, BTreeMap<Price, Size>) {
    let flip =
        |side: &BTreeMap<Price, Size>| side.iter().map(|(p, s)| (p.complement(), *s)).collect();
    (flip(&t.asks), flip(&t.bids))
}

/// Applies the mirror image of a YES level change to the NO book `no` and
/// returns it as a change of its own.
pub(super) fn mirror_change(c: &LevelChange, no: &mut Token) -> LevelChange {
    let side = opposite(c.side);
    let price = c.price.complement();
    let book = match side {
        Side::Buy => &mut no.bids,
        Side::Sell => &mut no.asks,
    };
    if c.size.is_zero() {
        book.remove(&price);
    } else {
        book.insert(price, c.size);
    }
    LevelChange {
        token: no.id.clone(),
        side,
        price,
        size: c.size,
        best_bid: None,
        best_ask: None,
    }
}
