//! The adapter's record of every order it sent: the venue's id for each host
//! key, size and what has matched, the trades already reported. Whatever the
//! venue says, in whatever order and however often (the HTTP answer, the user
//! channel, a reconciliation), comes out as at most one answer (accepted,
//! rejected or unknown), fills that never exceed the order (each trade once)
//! and at most one end; a trade booked and then FAILED comes out as one
//! reversal.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::funds::Held;
use crate::execution::fees::{FeeSchedule, charge};
use crate::model::{
    CancelCause, Fill, FillCause, Liquidity, Order, OrderEvent, OrderKey, Price, Size, VenueReject,
};

/// What the venue takes from a fill's proceeds at the match: the taker fee
/// of the market's schedule. Makers pay nothing there; their rebates are paid
/// by the venue separately, so none is booked with the fill (the account's
/// balance would not show it).
pub fn venue_fee(
    fees: &FeeSchedule,
    liquidity: Liquidity,
    side: crate::model::Side,
    price: Price,
    size: Size,
) -> (rust_decimal::Decimal, Size) {
    match liquidity {
        Liquidity::Taker => charge(fees, liquidity, side, price, size),
        Liquidity::Maker => (rust_decimal::Decimal::ZERO, Size::ZERO),
    }
}

/// One order the adapter knows.
#[derive(Debug, Clone)]
struct Tracked {
    order: Order,
    venue_id: String,
    fees: FeeSchedule,
    matched: Size,
    answered: bool,
    ended: bool,
    cancel_requested: bool,
    /// Sent (or about to be) by this process and not answered yet: the
    /// venue may not have it yet, which must not read as "never received".
    in_flight: bool,
    /// The venue ended the order after `Size` had matched, more than the
    /// fills heard of: the end waits for the missing fills (the user channel
    /// can trail the cancel), so it never books matched shares as unfilled.
    ending: Option<(CancelCause, Size)>,
}

/// Every order sent, and the events owed to the engine.
#[derive(Debug, Default)]
pub struct Tracker {
    orders: BTreeMap<OrderKey, Tracked>,
    by_id: HashMap<String, OrderKey>,
    trades: HashSet<String>,
    /// Trades booked and not yet CONFIRMED (they may still fail), with the
    /// order and when they were booked (host ns).
    unsettled: BTreeMap<String, (OrderKey, u64)>,
    /// Trades the venue said FAILED (each reversed, or never booked, once).
    failed: HashSet<String>,
    out: Vec<OrderEvent>,
}

impl Tracker {
    /// Starts tracking `order` under the venue's id `venue_id`; `in_flight`
    /// when this process is about to send it.
    pub fn track(&mut self, order: &Order, venue_id: &str, fees: FeeSchedule, in_flight: bool) {
        self.by_id.insert(venue_id.to_ascii_lowercase(), order.key);
        self.orders.entry(order.key).or_insert_with(|| Tracked {
            order: order.clone(),
            venue_id: venue_id.to_ascii_lowercase(),
            fees,
            matched: Size::ZERO,
            answered: false,
            ended: false,
            cancel_requested: false,
            in_flight,
            ending: None,
        });
    }

    /// The host key of a venue order id, if it is one of ours.
    pub fn key_of(&self, venue_id: &str) -> Option<OrderKey> {
        self.by_id.get(&venue_id.to_ascii_lowercase()).copied()
    }

    pub fn venue_id(&self, key: OrderKey) -> Option<&str> {
        self.orders.get(&key).map(|t| t.venue_id.as_str())
    }

    /// Marks `key` as being cancelled at the host's request; its venue id
    /// (`None`: not ours, or over already).
    pub fn request_cancel(&mut self, key: OrderKey) -> Option<String> {
        let t = self.orders.get_mut(&key).filter(|t| !t.ended)?;
        t.cancel_requested = true;
        Some(t.venue_id.clone())
    }

    pub fn cancel_requested(&self, key: OrderKey) -> bool {
        self.orders.get(&key).is_some_and(|t| t.cancel_requested)
    }

    /// What has matched of `key` so far.
    pub fn matched(&self, key: OrderKey) -> Option<Size> {
        self.orders.get(&key).map(|t| t.matched)
    }

    /// Whether `key` was sent by this process and its answer is still due.
    pub fn in_flight(&self, key: OrderKey) -> bool {
        self.orders.get(&key).is_some_and(|t| t.in_flight)
    }

    /// Whether this trade was already turned into a fill.
    pub fn knows_trade(&self, trade_id: &str) -> bool {
        self.trades.contains(trade_id)
    }

    pub fn accepted(&mut self, key: OrderKey, now_ns: u64) {
        if let Some(t) = self.orders.get_mut(&key)
            && !t.answered
            && !t.ended
        {
            t.answered = true;
            t.in_flight = false;
            self.out.push(OrderEvent::Accepted { key, ts_ns: now_ns });
        }
    }

    pub fn rejected(&mut self, key: OrderKey, reject: VenueReject, message: String, now_ns: u64) {
        if let Some(t) = self.orders.get_mut(&key)
            && !t.ended
            && t.matched.is_zero()
        {
            t.answered = true;
            t.ended = true;
            t.in_flight = false;
            self.out.push(OrderEvent::Rejected {
                key,
                reject,
                message,
                ts_ns: now_ns,
            });
        }
    }

    /// The request went out and its answer was lost.
    pub fn unknown(&mut self, key: OrderKey, reason: String, now_ns: u64) {
        if let Some(t) = self.orders.get_mut(&key)
            && !t.answered
            && !t.ended
        {
            t.in_flight = false;
            self.out.push(OrderEvent::Unknown {
                key,
                reason,
                ts_ns: now_ns,
            });
        }
    }

    /// A trade of `size` at `price` on the venue order `venue_id`. Ignored if
    /// the order is not ours, the trade was seen, or it would overfill.
    pub fn fill(
        &mut self,
        venue_id: &str,
        trade_id: &str,
        price: Price,
        size: Size,
        liquidity: Liquidity,
        now_ns: u64,
    ) -> bool {
        let Some(key) = self.key_of(venue_id) else {
            return false;
        };
        if self.trades.contains(trade_id) || size.is_zero() {
            return false;
        }
        let Some(t) = self.orders.get_mut(&key) else {
            return false;
        };
        let Some(matched) = t.matched.checked_add(size).filter(|m| *m <= t.order.size) else {
            tracing::error!(order = %venue_id, trade = %trade_id, %size, "a trade would overfill the order; not booked");
            return false;
        };
        self.trades.insert(trade_id.to_string());
        self.unsettled.insert(trade_id.to_string(), (key, now_ns));
        t.in_flight = false;
        if !t.answered {
            t.answered = true;
            self.out.push(OrderEvent::Accepted { key, ts_ns: now_ns });
        }
        t.matched = matched;
        let remaining = t.order.size.saturating_sub(matched);
        let (fee, fee_shares) = venue_fee(&t.fees, liquidity, t.order.side, price, size);
        if remaining.is_zero() {
            t.ended = true;
        }
        let end = t
            .ending
            .filter(|(_, venue)| !t.ended && matched >= *venue)
            .map(|(cause, _)| cause);
        self.out.push(OrderEvent::Filled(Fill {
            key,
            token: t.order.token.clone(),
            side: t.order.side,
            price,
            size,
            fee,
            fee_shares,
            liquidity,
            remaining,
            ts_ns: now_ns,
            trade_id: Some(trade_id.to_string()),
            cause: FillCause::Reported,
        }));
        if let Some(cause) = end {
            self.ended(key, cause, now_ns);
        }
        true
    }

    /// The venue ended the order with `venue_matched` matched in all. When
    /// fills are still on their way, the end waits for them (until then the
    /// order counts as working, and a restart reconciles it with the venue's
    /// trades); otherwise it ends now.
    pub fn ended_after(
        &mut self,
        key: OrderKey,
        cause: CancelCause,
        venue_matched: Size,
        now_ns: u64,
    ) {
        if let Some(t) = self.orders.get_mut(&key)
            && !t.ended
            && venue_matched > t.matched
        {
            tracing::info!(order = %t.venue_id, heard = %t.matched, %venue_matched, "the venue ended the order; its last fills are still on their way");
            t.answered = true;
            t.in_flight = false;
            t.ending = Some((cause, venue_matched));
            return;
        }
        self.ended(key, cause, now_ns);
    }

    /// The order stopped working: what has not matched is cancelled.
    pub fn ended(&mut self, key: OrderKey, cause: CancelCause, now_ns: u64) {
        if let Some(t) = self.orders.get_mut(&key)
            && !t.ended
        {
            t.answered = true;
            t.ended = true;
            t.in_flight = false;
            self.out.push(OrderEvent::Cancelled {
                key,
                cause,
                unfilled: t.order.size.saturating_sub(t.matched),
                ts_ns: now_ns,
            });
        }
    }

    /// Adopts what reconciliation booked: `matched` so far, and whether the
    /// order is over (the engine journaled those events itself).
    pub fn reconciled(
        &mut self,
        key: OrderKey,
        matched: Size,
        over: bool,
        trades: &[String],
        now_ns: u64,
    ) {
        if let Some(t) = self.orders.get_mut(&key) {
            t.matched = t.matched.max(matched);
            t.answered = true;
            t.ended |= over;
        }
        for trade in trades {
            if self.trades.insert(trade.clone()) {
                self.unsettled.insert(trade.clone(), (key, now_ns));
            }
        }
    }

    /// A trade an earlier process booked on `order` (venue id `venue_id`),
    /// which may still fail: it is known (never booked again) and followed
    /// until it settles. `over` when the order has ended.
    pub fn booked_before(
        &mut self,
        order: &Order,
        venue_id: &str,
        fees: FeeSchedule,
        trade_id: &str,
        booked_ns: u64,
        over: bool,
    ) {
        self.track(order, venue_id, fees, false);
        if let Some(t) = self.orders.get_mut(&order.key) {
            // It traded, so the venue took it.
            t.answered = true;
            t.ended |= over;
        }
        if self.trades.insert(trade_id.to_string()) {
            self.unsettled
                .insert(trade_id.to_string(), (order.key, booked_ns));
        }
    }

    /// The trade settled on chain: it can no longer fail.
    pub fn confirmed(&mut self, trade_id: &str) {
        self.unsettled.remove(trade_id);
    }

    /// The venue says the trade `trade_id` on its order `venue_id` FAILED.
    /// One booked is reversed (once); one not booked never will be. The
    /// order's matched size stays: the venue does not give it back.
    pub fn failed(&mut self, venue_id: &str, trade_id: &str, now_ns: u64) -> bool {
        let Some(key) = self.key_of(venue_id) else {
            return false;
        };
        if !self.failed.insert(trade_id.to_string()) {
            return false;
        }
        self.unsettled.remove(trade_id);
        if !self.trades.insert(trade_id.to_string()) {
            self.out.push(OrderEvent::FillReversed {
                key,
                trade_id: trade_id.to_string(),
                fill: None,
                remaining: Size::ZERO,
                ts_ns: now_ns,
            });
            return true;
        }
        false
    }

    /// Booked trades that may still fail, and the earliest booking (host ns).
    pub fn unsettled(&self) -> (Vec<String>, Option<u64>) {
        (
            self.unsettled.keys().cloned().collect(),
            self.unsettled.values().map(|(_, at)| *at).min(),
        )
    }

    /// Events owed to the engine, in the order they happened.
    pub fn drain(&mut self) -> Vec<OrderEvent> {
        std::mem::take(&mut self.out)
    }

    /// What the orders still working (or whose fate is unknown) hold back of
    /// the account, `except` one: what is left of each, at its price.
    pub fn held(&self, except: OrderKey) -> Held {
        let mut held = Held::default();
        for t in self.orders.values() {
            if t.ended || t.order.key == except {
                continue;
            }
            let left = t.order.size.saturating_sub(t.matched);
            match t.order.side {
                crate::model::Side::Buy => {
                    held.collateral += i128::from(left.notional_micros(t.order.price));
                }
                crate::model::Side::Sell => {
                    *held.shares.entry(t.order.token.clone()).or_insert(0) +=
                        i128::from(left.micros());
                }
            }
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Side, TimeInForce, TokenId};

    fn order(client_id: u64, shares: u64) -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id,
            },
            token: TokenId::parse("123").unwrap(),
            side: Side::Buy,
            price: Price::new(500_000).unwrap(),
            size: Size::from_shares(shares).unwrap(),
            tif: TimeInForce::Gtc,
            post_only: false,
            created_ns: 0,
            venue_ref: None,
        }
    }

    fn shares(n: u64) -> Size {
        Size::from_shares(n).unwrap()
    }

    #[test]
    fn repeated_and_late_reports_make_one_history() {
        let mut t = Tracker::default();
        let o = order(1, 10);
        t.track(&o, "0xAB", FeeSchedule::FREE, true);
        let p = o.price;
        // The fill arrives before the HTTP answer, then both stages repeat.
        assert!(t.fill("0xab", "t1", p, shares(4), Liquidity::Maker, 1));
        assert!(!t.fill("0xab", "t1", p, shares(4), Liquidity::Maker, 2));
        t.accepted(o.key, 3);
        t.unknown(o.key, "late".into(), 4);
        assert!(
            !t.fill("0xab", "t2", p, shares(7), Liquidity::Maker, 5),
            "would overfill"
        );
        assert!(t.fill("0xab", "t3", p, shares(6), Liquidity::Maker, 6));
        t.ended(o.key, CancelCause::Requested, 7);
        t.rejected(o.key, VenueReject::BadPrice, String::new(), 8);
        let ev = t.drain();
        assert!(matches!(ev[0], OrderEvent::Accepted { .. }));
        assert!(
            matches!(&ev[1], OrderEvent::Filled(f) if f.remaining == shares(6) && f.trade_id.as_deref() == Some("t1"))
        );
        assert!(matches!(&ev[2], OrderEvent::Filled(f) if f.remaining.is_zero()));
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert!(
            !t.fill("0xcd", "t9", p, shares(1), Liquidity::Taker, 9),
            "not ours"
        );
    }

    #[test]
    fn an_end_waits_for_the_fills_the_venue_matched_before_it() {
        let mut t = Tracker::default();
        let o = order(3, 10);
        t.track(&o, "0x02", FeeSchedule::FREE, true);
        t.accepted(o.key, 1);
        // Cancelled after 4 shares matched; the fill report comes later.
        t.ended_after(o.key, CancelCause::Requested, shares(4), 2);
        assert_eq!(t.drain().len(), 1, "only the acceptance so far");
        assert!(t.fill("0x02", "t1", o.price, shares(4), Liquidity::Maker, 3));
        let ev = t.drain();
        assert!(matches!(&ev[0], OrderEvent::Filled(f) if f.remaining == shares(6)));
        assert!(
            matches!(&ev[1], OrderEvent::Cancelled { unfilled, .. } if *unfilled == shares(6)),
            "{ev:?}"
        );
        // Nothing heard is missing: the end is at once.
        let o2 = order(4, 10);
        t.track(&o2, "0x03", FeeSchedule::FREE, true);
        t.ended_after(o2.key, CancelCause::Venue, Size::ZERO, 4);
        assert!(matches!(t.drain()[..], [OrderEvent::Cancelled { .. }]));
    }

    #[test]
    fn a_lost_answer_then_a_cancel_ends_the_order_once() {
        let mut t = Tracker::default();
        let o = order(2, 10);
        t.track(&o, "0x01", FeeSchedule::FREE, true);
        t.unknown(o.key, "reset".into(), 1);
        t.ended(o.key, CancelCause::Venue, 2);
        t.ended(o.key, CancelCause::Venue, 3);
        let ev = t.drain();
        assert_eq!(ev.len(), 2);
        assert!(
            matches!(&ev[1], OrderEvent::Cancelled { unfilled, .. } if *unfilled == shares(10))
        );
    }
}
