//! Leg-risk repair: evening out an attempt whose legs filled unevenly, by buying the
//! missing shares while the pair still breaks even, or else selling the extra ones.

use pqap_strategy_sdk::types::Side;
use pqap_strategy_sdk::{Ctx, Price, Size};

use crate::MAX_REPAIRS;
use crate::attempt::Leg;
use crate::edge::{all_in_price, completion_budget};
use crate::market::{Pair, Token};

/// Sends the next repair order for a settled, unbalanced attempt, waits for a
/// better book, or gives the attempt up (leaving the imbalance as a position).
pub(crate) fn repair(ctx: &mut Ctx, pair: &mut Pair) {
    let tradeable = pair.tradeable();
    let market = pair.market;
    let Some(attempt) = pair.attempt.as_ref() else {
        return;
    };
    let Some((long, excess)) = attempt.imbalance() else {
        return;
    };
    if attempt.repairs_sent >= MAX_REPAIRS {
        ctx.warn(&format!(
            "market {market}: {excess} {long:?} shares still unpaired after \
             {MAX_REPAIRS} repair orders; giving up"
        ));
        pair.attempt = None;
        return;
    }
    if !tradeable {
        return;
    }
    let filled_leg = *attempt.leg(long);
    let (filled, missing) = (pair.token(long), pair.token(long.other()));
    // Never sell shares the host says we do not hold (Polymarket has no shorting).
    let held = Size::from_micros(ctx.position(filled.id).size);
    let sellable = excess.min(held);
    let can_complete = excess >= missing.min_size;
    let can_unwind = !sellable.is_zero() && sellable >= filled.min_size;
    if !can_complete && !can_unwind {
        ctx.warn(&format!(
            "market {market}: {excess} unpaired {long:?} shares are below the minimum \
             order size; leaving them"
        ));
        pair.attempt = None;
        return;
    }
    let order = if let Some(price) = can_complete
        .then(|| completion_price(ctx, &missing, &filled_leg))
        .flatten()
    {
        ctx.take(missing.id, Side::Buy, price, excess, false, "complete_leg")
    } else if let Some(price) = can_unwind.then(|| unwind_price(ctx, &filled)).flatten() {
        ctx.take(filled.id, Side::Sell, price, sellable, false, "unwind_leg")
    } else {
        // Neither side of the book helps right now; look again after the next batch.
        return;
    };
    let now = ctx.now();
    if let Some(attempt) = pair.attempt.as_mut() {
        attempt.repair = Some(order);
        attempt.repairs_sent += 1;
        attempt.last_order_at = now;
    }
}

/// The missing leg's best ask, if buying there keeps the pair at or above breakeven
/// with what the filled leg cost.
fn completion_price(ctx: &Ctx, missing: &Token, filled_leg: &Leg) -> Option<Price> {
    let ask = ctx.book_top(missing.id).ask?;
    let price = Price::new(ask.price).filter(|p| p.is_valid_order_price(missing.tick))?;
    let budget = completion_budget(filled_leg.paid(), filled_leg.bought);
    (all_in_price(price, missing.fee_rate) <= budget).then_some(price)
}

/// The filled leg's best bid, if it is a valid order price.
fn unwind_price(ctx: &Ctx, filled: &Token) -> Option<Price> {
    let bid = ctx.book_top(filled.id).bid?;
    Price::new(bid.price).filter(|p| p.is_valid_order_price(filled.tick))
}
