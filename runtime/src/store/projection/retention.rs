//! How much history the projections keep: enough for a restart, the views
//! and reconciliation, and never more as the journal grows. Older history
//! stays in the journal, which reports read directly.
//!
//! Each collection is trimmed when it has doubled since its last trim, so a
//! trim costs O(1) per entry over time; where the trims fall depends only on
//! the entries applied, so a checkpoint and a full replay agree exactly.

use std::collections::{BTreeSet, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::{OrderStatus, Projections};

/// Fills kept beyond those of the last hour and of working orders.
pub const KEPT_FILLS: usize = 10_000;
/// Ended orders kept beyond those the kept fills belong to.
pub const KEPT_ENDED_ORDERS: usize = 10_000;
/// Faults, halts and anomalies kept (each list).
pub const KEPT_EVENTS: usize = 1_000;
/// Fills this recent are always kept: a restart follows their settlement.
pub const RECENT_NS: u64 = 3_600_000_000_000;

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;
/// Marks younger than this (behind the newest) are all kept.
const MARKS_FULL_NS: i64 = DAY_NS;
/// Marks younger than this keep one per strategy and hour; older, one per day.
const MARKS_HOURLY_NS: i64 = 30 * DAY_NS;

/// Sizes past which each collection is trimmed next (0: twice its kept size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct TrimMarks {
    fills: usize,
    orders: usize,
    pending: usize,
    timers: usize,
    marks: usize,
}

fn due(len: usize, at: usize, kept: usize) -> bool {
    len > at.max(2 * kept)
}

/// Appends, dropping the oldest past [`KEPT_EVENTS`].
pub(super) fn push_capped<T>(list: &mut VecDeque<T>, item: T) {
    push_capped_to(list, item, KEPT_EVENTS);
}

/// Appends, dropping the oldest past `cap`.
pub(super) fn push_capped_to<T>(list: &mut VecDeque<T>, item: T, cap: usize) {
    if list.len() >= cap {
        list.pop_front();
    }
    list.push_back(item);
}

impl Projections {
    pub(super) fn trim(&mut self) {
        if due(self.fills.len(), self.trim_at.fills, KEPT_FILLS) {
            self.trim_fills();
            self.trim_at.fills = 2 * self.fills.len();
        }
        if due(self.orders.len(), self.trim_at.orders, KEPT_ENDED_ORDERS) {
            self.trim_orders();
            self.trim_at.orders = 2 * self.orders.len();
        }
        if due(
            self.pending_command.len(),
            self.trim_at.pending,
            KEPT_ENDED_ORDERS,
        ) {
            self.trim_pending_commands();
            self.trim_at.pending = 2 * self.pending_command.len();
        }
        if due(self.timers.len(), self.trim_at.timers, KEPT_EVENTS) {
            let now = u64::try_from(self.last_ts_ns).unwrap_or(0);
            self.timers.retain(|_, at| *at > now);
            self.trim_at.timers = 2 * self.timers.len();
        }
        if due(self.marks.len(), self.trim_at.marks, KEPT_FILLS) {
            self.thin_marks();
            self.trim_at.marks = 2 * self.marks.len();
        }
    }

    /// Keeps the newest [`KEPT_FILLS`] fills, those of the last hour (a
    /// restart follows their settlement) and those of working orders (the
    /// venue reports their trades again, which must be known).
    fn trim_fills(&mut self) {
        let working: HashSet<_> = self.open_orders().map(|r| r.order.key).collect();
        let recent = u64::try_from(self.last_ts_ns)
            .unwrap_or(0)
            .saturating_sub(RECENT_NS);
        let old = self.fills.len().saturating_sub(KEPT_FILLS);
        let mut index = 0usize;
        self.fills.retain(|r| {
            index += 1;
            index > old || r.fill.ts_ns >= recent || working.contains(&r.fill.key)
        });
    }

    /// Keeps every working order, those of the fills kept, and the newest
    /// [`KEPT_ENDED_ORDERS`] of the rest.
    fn trim_orders(&mut self) {
        let of_fills: HashSet<_> = self.fills.iter().map(|r| r.fill.key).collect();
        let mut ended: Vec<_> = self
            .orders
            .values()
            .filter(|r| {
                !matches!(
                    r.status,
                    OrderStatus::Submitted | OrderStatus::Open | OrderStatus::Unknown
                ) && !of_fills.contains(&r.order.key)
            })
            .map(|r| (r.submitted_seq, r.order.key))
            .collect();
        if ended.len() <= KEPT_ENDED_ORDERS {
            return;
        }
        ended.sort_unstable();
        for (_, key) in &ended[..ended.len() - KEPT_ENDED_ORDERS] {
            self.orders.remove(key);
        }
    }

    /// Commands whose order was never sent (refused by risk) are kept only
    /// while they are among the newest [`KEPT_ENDED_ORDERS`].
    fn trim_pending_commands(&mut self) {
        let mut seqs: Vec<i64> = self.pending_command.values().map(|c| c.0).collect();
        if seqs.len() <= KEPT_ENDED_ORDERS {
            return;
        }
        seqs.sort_unstable();
        let from = seqs[seqs.len() - KEPT_ENDED_ORDERS];
        self.pending_command.retain(|_, c| c.0 >= from);
    }

    /// Every mark of the last day; one per strategy and hour for the 30 days
    /// before; one per strategy and day before that. The curve keeps its shape
    /// and a period's first mark is at most an hour late (a day, past 30 days).
    fn thin_marks(&mut self) {
        let Some(newest) = self.marks.iter().map(|m| m.0).max() else {
            return;
        };
        let mut seen = BTreeSet::new();
        self.marks.retain(|m| {
            let age = newest - m.0;
            if age < MARKS_FULL_NS {
                return true;
            }
            let bucket = if age < MARKS_HOURLY_NS {
                (0u8, m.0.div_euclid(HOUR_NS))
            } else {
                (1u8, m.0.div_euclid(DAY_NS))
            };
            seen.insert((m.1, bucket))
        });
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::model::{
        Fill, FillCause, Liquidity, Order, OrderEvent, OrderKey, Price, Side, Size, TimeInForce,
        TokenId,
    };
    use crate::store::{Entry, Stored};

    fn stored(seq: i64, ts_ns: i64, entry: Entry) -> Stored {
        Stored {
            seq,
            ts_ns,
            strategy: Some(1),
            entry,
            hash: String::new(),
        }
    }

    fn order(id: u64) -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id: id,
            },
            token: TokenId::parse("111").unwrap(),
            side: Side::Buy,
            price: Price::new(500_000).unwrap(),
            size: Size::from_micros(2_000_000),
            tif: TimeInForce::Gtc,
            post_only: false,
            created_ns: 0,
            venue_ref: None,
        }
    }

    fn fill(o: &Order, ts_ns: u64, remaining: u64) -> Fill {
        Fill {
            key: o.key,
            token: o.token.clone(),
            side: o.side,
            price: o.price,
            size: Size::from_micros(1_000_000),
            remaining: Size::from_micros(remaining),
            fee: Decimal::ZERO,
            fee_shares: Size::ZERO,
            liquidity: Liquidity::Taker,
            ts_ns,
            trade_id: Some(format!("t{}-{remaining}", o.key.client_id)),
            cause: FillCause::Reported,
        }
    }

    /// `orders` orders of two fills each, one second apart, and one order
    /// (the first) left working with an early fill.
    fn history(orders: u64) -> Vec<Stored> {
        let mut out = Vec::new();
        let mut seq = 0;
        let mut push = |ts: i64, e: Entry| {
            seq += 1;
            out.push(stored(seq, ts, e));
        };
        for id in 0..orders {
            let o = order(id);
            let ts = i64::try_from(id).unwrap() * 1_000_000_000;
            push(ts, Entry::OrderSubmitted { order: o.clone() });
            let first = fill(&o, ts as u64, 1_000_000);
            push(
                ts,
                Entry::Order {
                    event: OrderEvent::Filled(first),
                },
            );
            if id > 0 {
                let second = fill(&o, ts as u64, 0);
                push(
                    ts,
                    Entry::Order {
                        event: OrderEvent::Filled(second),
                    },
                );
            }
        }
        out
    }

    #[test]
    fn what_replay_keeps_stays_bounded_and_keeps_what_a_restart_needs() {
        let n = 4 * KEPT_FILLS as u64;
        let p = Projections::replay(&history(n));
        assert_eq!(p.orders_total, n);
        assert_eq!(p.fills_total, 2 * n - 1);
        assert!(p.fills.len() <= 2 * KEPT_FILLS, "{}", p.fills.len());
        assert!(p.orders.len() <= 2 * KEPT_ENDED_ORDERS + 2 * KEPT_FILLS);
        // The working order from the start of the run, and its fill, stay.
        let first = order(0).key;
        assert_eq!(p.orders[&first].status, OrderStatus::Open);
        assert!(p.fills.iter().any(|f| f.fill.key == first));
        // Every fill of the last hour stays.
        let recent = p.last_ts_ns as u64 - RECENT_NS;
        let last_hour = history(n)
            .iter()
            .filter(|s| matches!(&s.entry, Entry::Order { event: OrderEvent::Filled(f) } if f.ts_ns >= recent))
            .count();
        assert_eq!(
            p.fills.iter().filter(|f| f.fill.ts_ns >= recent).count(),
            last_hour
        );
        // Every kept fill finds its order (reasons in the views).
        assert!(p.fills.iter().all(|f| p.orders.contains_key(&f.fill.key)));
    }

    #[test]
    fn replaying_in_two_halves_through_a_serialised_state_equals_replay_whole() {
        let h = history(3 * KEPT_FILLS as u64);
        let whole = Projections::replay(&h);
        let (a, b) = h.split_at(h.len() / 2 + 7);
        let mut bytes = Vec::new();
        ciborium::into_writer(&Projections::replay(a), &mut bytes).unwrap();
        let mut resumed: Projections = ciborium::from_reader(bytes.as_slice()).unwrap();
        for s in b {
            resumed.apply(s);
        }
        assert_eq!(resumed, whole);
    }

    #[test]
    fn marks_are_thinned_with_age_but_the_last_day_is_whole() {
        let mut p = Projections::default();
        let minute = 60_000_000_000i64;
        let minutes = 60 * 24 * 45; // 45 days of one mark a minute
        for i in 0..minutes {
            p.apply(&stored(
                i + 1,
                i * minute,
                Entry::Mark {
                    strategy: 1,
                    equity: Decimal::from(i),
                    realized: Decimal::ZERO,
                    unrealized: Decimal::ZERO,
                    cash: Decimal::ZERO,
                    unrealized_at_bid: Decimal::ZERO,
                },
            ));
        }
        // About a day at full rate, 29 days hourly, the rest daily (with up
        // to twice that before the next thinning).
        assert!(p.marks.len() < 2 * (1_440 + 24 * 30 + 15) + 2 * KEPT_FILLS);
        let newest = p.marks.last().unwrap().0;
        let day = p.marks.iter().filter(|m| newest - m.0 < DAY_NS).count();
        assert_eq!(day, 1_440);
        assert_eq!(p.marks.first().unwrap().0, 0, "the first mark stays");
    }
}
