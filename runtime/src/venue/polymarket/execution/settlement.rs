//! Following booked trades to their settlement through the venue's trade
//! list (`/data/trades`): one CONFIRMED can no longer fail; one FAILED is
//! reversed. This is how a FAILED the user channel did not deliver (it was
//! down) still reaches the engine.

use std::collections::HashSet;

use super::tracker::Tracker;
use super::types::VenueTrade;

/// Each leg of `trade` on one of our orders, as (venue order id, the host's
/// trade id for it): the taker's is the trade's id, a maker's the trade's id
/// and its order id (one trade fills several makers).
pub fn our_legs(tracker: &Tracker, trade: &VenueTrade) -> Vec<(String, String)> {
    let mut legs = Vec::new();
    if tracker.key_of(&trade.taker_order_id).is_some() {
        legs.push((trade.taker_order_id.clone(), trade.id.clone()));
    }
    for m in &trade.maker_orders {
        if tracker.key_of(&m.order_id).is_some() {
            let id = m.order_id.to_ascii_lowercase();
            legs.push((id.clone(), format!("{}:{id}", trade.id)));
        }
    }
    legs
}

/// Applies what `trades` say of the `unsettled` ones.
pub fn follow(tracker: &mut Tracker, trades: &[VenueTrade], unsettled: &[String], now_ns: u64) {
    let unsettled: HashSet<&str> = unsettled.iter().map(String::as_str).collect();
    for t in trades {
        for (order, id) in our_legs(tracker, t) {
            if !unsettled.contains(id.as_str()) {
                continue;
            }
            if t.status.eq_ignore_ascii_case("failed") {
                tracing::error!(trade = %id, "reconciliation: a trade booked FAILED to settle");
                tracker.failed(&order, &id, now_ns);
            } else if t.status.eq_ignore_ascii_case("confirmed") {
                tracker.confirmed(&id);
            }
        }
    }
}
