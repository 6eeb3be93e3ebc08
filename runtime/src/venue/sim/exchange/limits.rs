//! Per-key token buckets for the trading routes (429 with Retry-After) and the
//! trading fault switches of `POST /_sim/faults`.

use std::collections::BTreeMap;

use super::config::Bucket;

#[derive(Debug, Clone, Copy)]
struct Level {
    /// Tokens held, in millitokens.
    milli: u64,
    at_ms: u64,
}

/// Which bucket a route draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Order,
    Cancel,
}

/// The buckets of every key.
#[derive(Debug)]
pub struct RateLimits {
    order: Bucket,
    cancel: Bucket,
    levels: BTreeMap<(String, Class), Level>,
}

impl RateLimits {
    pub fn new(order: Bucket, cancel: Bucket) -> RateLimits {
        RateLimits {
            order,
            cancel,
            levels: BTreeMap::new(),
        }
    }

    /// Takes `cost` tokens from `key`'s bucket; `Err(seconds)` to wait when it
    /// has too few.
    pub fn take(&mut self, key: &str, class: Class, cost: u32, now_ms: u64) -> Result<(), u64> {
        let b = match class {
            Class::Order => self.order,
            Class::Cancel => self.cancel,
        };
        let cap = u64::from(b.burst) * 1_000;
        let l = self
            .levels
            .entry((key.to_string(), class))
            .or_insert(Level {
                milli: cap,
                at_ms: now_ms,
            });
        let refill = now_ms.saturating_sub(l.at_ms) * u64::from(b.refill_per_s);
        l.milli = l.milli.saturating_add(refill).min(cap);
        l.at_ms = now_ms;
        let need = u64::from(cost) * 1_000;
        if l.milli >= need {
            l.milli -= need;
            return Ok(());
        }
        let rate = u64::from(b.refill_per_s.max(1));
        Err((need - l.milli).div_ceil(rate * 1_000).max(1))
    }
}

/// Trading faults still pending.
#[derive(Debug, Default, Clone)]
pub struct TradingFaults {
    /// Accepted orders whose HTTP answer is dropped.
    pub drop_order_responses: u32,
    /// Order posts answered 425 (matching engine restarting).
    pub order_425: u32,
    /// Order posts answered 503 with Retry-After.
    pub order_503: u32,
    /// Order posts answered 429 with Retry-After.
    pub order_429: u32,
    /// Trades that will settle RETRYING → FAILED.
    pub fail_trades: u32,
    /// Until this wall time, fill reports on the user channel are held back.
    pub hold_fills_until_ms: u64,
    /// Until this wall time, order posts are carried out at once but
    /// answered only when it comes: the client's order is live at the
    /// exchange while it still waits for the answer.
    pub hold_order_responses_until_ms: u64,
    /// Bumped to close every user-channel socket.
    pub drop_user_ws: u64,
    /// Order posts answered `order_version_mismatch`.
    pub order_version_mismatch: u32,
    /// The order version the venue expects, when not 2.
    pub order_version: Option<u32>,
    /// Callers are geoblocked in this country.
    pub geoblocked_in: Option<String>,
    /// Until this wall time, heartbeats are answered 503 and not counted.
    pub heartbeats_down_until_ms: u64,
}

/// The answer a pending fault forces on an order post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedStatus {
    VersionMismatch,
    TooEarly,
    Unavailable,
    TooMany,
}

fn take(n: &mut u32) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

impl TradingFaults {
    /// Adds the trading switches of a `POST /_sim/faults` request.
    pub fn inject(&mut self, r: &crate::venue::sim::faults::FaultRequest, wall_ms: u64) {
        self.drop_order_responses += r.drop_order_responses;
        self.order_425 += r.order_425;
        self.order_503 += r.order_503;
        self.order_429 += r.order_429;
        self.fail_trades += r.fail_trades;
        if r.delay_fills_ms > 0 {
            self.hold_fills_until_ms = self
                .hold_fills_until_ms
                .max(wall_ms.saturating_add(r.delay_fills_ms));
        }
        if r.drop_user_ws {
            self.drop_user_ws += 1;
        }
        if r.fail_heartbeats_ms > 0 {
            self.heartbeats_down_until_ms = self
                .heartbeats_down_until_ms
                .max(wall_ms.saturating_add(r.fail_heartbeats_ms));
        }
        if r.delay_order_responses_ms > 0 {
            self.hold_order_responses_until_ms = self
                .hold_order_responses_until_ms
                .max(wall_ms.saturating_add(r.delay_order_responses_ms));
        }
        self.order_version_mismatch += r.order_version_mismatch;
        if let Some(v) = r.order_version {
            self.order_version = (v != 2).then_some(v);
        }
        if let Some(c) = &r.geoblock_country {
            self.geoblocked_in = (!c.is_empty()).then(|| c.clone());
        }
    }

    /// The order version `GET /version` answers.
    pub fn order_version(&self) -> u32 {
        self.order_version.unwrap_or(2)
    }

    pub fn take_fail_trade(&mut self) -> bool {
        take(&mut self.fail_trades)
    }

    pub fn take_drop_response(&mut self) -> bool {
        take(&mut self.drop_order_responses)
    }

    pub fn take_forced(&mut self) -> Option<ForcedStatus> {
        if self.order_version.is_some() || take(&mut self.order_version_mismatch) {
            Some(ForcedStatus::VersionMismatch)
        } else if take(&mut self.order_425) {
            Some(ForcedStatus::TooEarly)
        } else if take(&mut self.order_503) {
            Some(ForcedStatus::Unavailable)
        } else if take(&mut self.order_429) {
            Some(ForcedStatus::TooMany)
        } else {
            None
        }
    }

    /// When fill reports made now are due, if they are held back.
    pub fn fill_hold(&self, wall_ms: u64) -> Option<u64> {
        (wall_ms < self.hold_fills_until_ms).then_some(self.hold_fills_until_ms)
    }

    /// How long the answer to an order post carried out now is held back.
    pub fn answer_hold(&self, wall_ms: u64) -> Option<std::time::Duration> {
        (wall_ms < self.hold_order_responses_until_ms)
            .then(|| std::time::Duration::from_millis(self.hold_order_responses_until_ms - wall_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_and_refuses() {
        let mut r = RateLimits::new(
            Bucket {
                refill_per_s: 2,
                burst: 3,
            },
            Bucket {
                refill_per_s: 1,
                burst: 1,
            },
        );
        for _ in 0..3 {
            assert!(r.take("k", Class::Order, 1, 0).is_ok());
        }
        assert_eq!(r.take("k", Class::Order, 1, 0), Err(1));
        assert!(r.take("k", Class::Order, 1, 500).is_ok());
        assert!(r.take("other", Class::Order, 3, 500).is_ok());
        assert_eq!(r.take("k", Class::Order, 5, 500), Err(3));
    }

    #[test]
    fn order_answers_are_held_until_the_delay_is_over() {
        let mut f = TradingFaults::default();
        assert_eq!(f.answer_hold(1_000), None);
        let delay = |ms| crate::venue::sim::faults::FaultRequest {
            delay_order_responses_ms: ms,
            ..Default::default()
        };
        f.inject(&delay(500), 1_000);
        assert_eq!(
            f.answer_hold(1_200),
            Some(std::time::Duration::from_millis(300))
        );
        // A shorter delay asked later does not cut the first one short.
        f.inject(&delay(100), 1_300);
        assert_eq!(
            f.answer_hold(1_400),
            Some(std::time::Duration::from_millis(100))
        );
        assert_eq!(f.answer_hold(1_500), None);
    }
}
