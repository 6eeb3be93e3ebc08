//! Client-side rate limiting at the venue's documented limits (per 10 s windows),
//! so we queue ourselves instead of being throttled or banned.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: `capacity` requests per `window`, refilled continuously.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: u32, window: Duration) -> Bucket {
        let capacity = f64::from(capacity.max(1));
        Bucket {
            capacity,
            tokens: capacity,
            per_sec: capacity / window.as_secs_f64().max(0.001),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Time until one token is available (zero if one is).
    fn deficit(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec)
        }
    }
}

/// The venue's limit families (Polymarket docs, rate-limits page, 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    ClobGeneral,
    ClobBook,
    ClobBooks,
    ClobPricesHistory,
    ClobTickSize,
    GammaGeneral,
    GammaMarkets,
    GammaEvents,
}

impl Family {
    /// Requests allowed per 10 seconds.
    pub fn per_10s(self) -> u32 {
        match self {
            Family::ClobGeneral => 9_000,
            Family::ClobBook => 1_500,
            Family::ClobBooks => 500,
            Family::ClobPricesHistory => 1_000,
            Family::ClobTickSize => 200,
            Family::GammaGeneral => 4_000,
            Family::GammaMarkets => 300,
            Family::GammaEvents => 500,
        }
    }

    /// The general bucket a specific family also counts against.
    fn parent(self) -> Option<Family> {
        match self {
            Family::ClobGeneral | Family::GammaGeneral => None,
            Family::GammaMarkets | Family::GammaEvents => Some(Family::GammaGeneral),
            _ => Some(Family::ClobGeneral),
        }
    }
}

/// Buckets for every family, shared by all requests of a client.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<BTreeMap<Family, Bucket>>,
    /// Fraction of the documented limit we allow ourselves (headroom for other
    /// processes on the same IP).
    share: f64,
}

impl RateLimiter {
    pub fn new(share: f64) -> RateLimiter {
        RateLimiter {
            buckets: Mutex::new(BTreeMap::new()),
            share: share.clamp(0.01, 1.0),
        }
    }

    /// Waits until a request of `family` may go; it counts against the family's
    /// bucket and its general bucket.
    pub async fn acquire(&self, family: Family) {
        let families: Vec<Family> = std::iter::once(family).chain(family.parent()).collect();
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().await;
                let now = Instant::now();
                let mut wait = Duration::ZERO;
                for f in &families {
                    let cap = ((f64::from(f.per_10s()) * self.share) as u32).max(1);
                    let b = buckets
                        .entry(*f)
                        .or_insert_with(|| Bucket::new(cap, Duration::from_secs(10)));
                    b.refill(now);
                    wait = wait.max(b.deficit());
                }
                if wait.is_zero() {
                    for f in &families {
                        if let Some(b) = buckets.get_mut(f) {
                            b.tokens -= 1.0;
                        }
                    }
                    return;
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_once_the_burst_is_spent() {
        let limiter = RateLimiter::new(1.0);
        let start = Instant::now();
        for _ in 0..200 {
            limiter.acquire(Family::ClobTickSize).await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the burst is free"
        );
        for _ in 0..20 {
            limiter.acquire(Family::ClobTickSize).await;
        }
        // 20 more at 20 per second take about a second.
        let spent = start.elapsed();
        assert!(
            spent >= Duration::from_millis(950) && spent <= Duration::from_millis(1100),
            "{spent:?}"
        );
    }
}
