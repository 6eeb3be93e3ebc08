//! The venue's per-signer token buckets for trading (reference §7.4): orders
//! and cancels refill at the account's tier rate up to its burst; a batch
//! costs one token per order. The client waits for tokens instead of being
//! answered 429.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Refill per second and burst of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketRate {
    pub per_sec: f64,
    pub burst: f64,
}

/// A tier's order and cancel buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradingTier {
    pub orders: BucketRate,
    pub cancels: BucketRate,
}

impl TradingTier {
    /// The Standard tier: orders 40/s (burst 60), cancels 80/s (burst 120).
    pub const STANDARD: TradingTier = TradingTier {
        orders: BucketRate {
            per_sec: 40.0,
            burst: 60.0,
        },
        cancels: BucketRate {
            per_sec: 80.0,
            burst: 120.0,
        },
    };
}

#[derive(Debug)]
struct Bucket {
    rate: BucketRate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: BucketRate) -> Bucket {
        Bucket {
            rate,
            tokens: rate.burst,
            last: Instant::now(),
        }
    }

    /// Takes `cost` tokens, or says how long until they are there. A cost
    /// above the burst can never be paid at once: it waits for a full bucket
    /// and takes it (the venue would refuse the batch; callers split them).
    fn take(&mut self, cost: f64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_sec).min(self.rate.burst);
        self.last = now;
        let cost = cost.min(self.rate.burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - self.tokens) / self.rate.per_sec.max(0.001))
        }
    }
}

/// Which bucket a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    Orders(usize),
    Cancels(usize),
}

/// The account's trading buckets.
#[derive(Debug)]
pub struct TradingLimiter {
    orders: Mutex<Bucket>,
    cancels: Mutex<Bucket>,
}

impl TradingLimiter {
    pub fn new(tier: TradingTier) -> TradingLimiter {
        TradingLimiter {
            orders: Mutex::new(Bucket::new(tier.orders)),
            cancels: Mutex::new(Bucket::new(tier.cancels)),
        }
    }

    /// Waits until the request may go.
    pub async fn wait(&self, draw: Draw) {
        let (bucket, cost) = match draw {
            Draw::Orders(n) => (&self.orders, n),
            Draw::Cancels(n) => (&self.cancels, n),
        };
        loop {
            let wait = bucket.lock().await.take(cost as f64, Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut b = Bucket::new(BucketRate {
            per_sec: 10.0,
            burst: 3.0,
        });
        b.last = start;
        for _ in 0..3 {
            assert_eq!(b.take(1.0, start), Duration::ZERO);
        }
        let wait = b.take(1.0, start);
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        assert_eq!(
            b.take(1.0, start + Duration::from_millis(100)),
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_waits_instead_of_overrunning() {
        let l = TradingLimiter::new(TradingTier {
            orders: BucketRate {
                per_sec: 10.0,
                burst: 2.0,
            },
            cancels: BucketRate {
                per_sec: 10.0,
                burst: 2.0,
            },
        });
        let t0 = Instant::now();
        l.wait(Draw::Orders(2)).await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        l.wait(Draw::Orders(1)).await;
        assert!(t0.elapsed() >= Duration::from_millis(99));
    }
}
