//! The NO book of a binary market as the mirror of its YES book: a bid at p on
//! one is an ask at 1 - p of the same size on the other. A fault can move the
//! whole mirror down by a fixed amount (a dislocated NO book, where YES ask +
//! NO ask costs less than $1 and a complement arbitrage can trade).

use std::collections::BTreeMap;

use super::Token;
use crate::model::{LevelChange, Price, Side, Size};

pub(super) fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// Where a level at `p` on one token sits on the other: 1 - p, less `shift`
/// micro-dollars. `None` when the shifted price leaves [tick, 1 - tick] (the
/// level has no place on the other book).
pub(super) fn mirror_price(p: Price, shift: u32, tick: Price) -> Option<Price> {
    let c = p.complement();
    if shift == 0 {
        return Some(c);
    }
    let moved = Price::new(c.micros().checked_sub(shift)?)?;
    moved.is_valid_order_price(tick).then_some(moved)
}

/// The other token's sides of a binary market: each bid at p becomes an ask at
/// `mirror_price(p)`, and each ask a bid.
pub(super) fn mirror_sides(
    t: &Token,
    shift: u32,
) -> (BTreeMap<Price, Size>, BTreeMap<Price, Size>) {
    let flip = |side: &BTreeMap<Price, Size>| {
        side.iter()
            .filter_map(|(p, s)| Some((mirror_price(*p, shift, t.tick)?, *s)))
            .collect()
    };
    (flip(&t.asks), flip(&t.bids))
}

/// Applies the mirror image of a YES level change to the NO book `no` and
/// returns it as a change of its own (`None`: the level has no mirror).
pub(super) fn mirror_change(c: &LevelChange, no: &mut Token, shift: u32) -> Option<LevelChange> {
    let side = opposite(c.side);
    let price = mirror_price(c.price, shift, no.tick)?;
    let book = match side {
        Side::Buy => &mut no.bids,
        Side::Sell => &mut no.asks,
    };
    if c.size.is_zero() {
        book.remove(&price);
    } else {
        book.insert(price, c.size);
    }
    Some(LevelChange {
        token: no.id.clone(),
        side,
        price,
        size: c.size,
        best_bid: None,
        best_ask: None,
    })
}
