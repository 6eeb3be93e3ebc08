//! Throttling failed authentications, per client address and per account, in
//! fixed one-minute windows with bounded memory. Only failures count: a
//! caller with a valid token or session is never refused for what other
//! clients did. Each failure says whether it deserves an audit row, so that
//! a flood of refused attempts writes a few rows, not one per attempt.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Failed authentications allowed per client address per window.
pub const MAX_FAILURES: u32 = 20;
/// Failed logins allowed per account per window, from all addresses: a
/// guessing attack spread over many addresses still stops.
pub const MAX_ACCOUNT_FAILURES: u32 = 50;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses (and accounts) remembered at most; past it, windows that ended
/// are dropped first, then the oldest.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct Counters {
    by_address: HashMap<IpAddr, Window>,
    by_account: HashMap<String, Window>,
}

/// What one failure means for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The first from this address in its window: audited.
    First,
    /// It reached a limit: audited, saying further attempts are refused.
    NowBlocked,
    /// Any other: counted, not audited (the rows above stand for it).
    Counted,
}

/// Recent failed authentications by client address and by account.
#[derive(Debug, Clone, Default)]
pub struct FailureLimiter(Arc<Mutex<Counters>>);

fn live(w: &Window, now: Instant) -> bool {
    now.saturating_duration_since(w.started) <= FAILURE_WINDOW
}

fn count<K: Eq + Hash + Clone>(map: &HashMap<K, Window>, key: &K, now: Instant) -> u32 {
    map.get(key)
        .filter(|w| live(w, now))
        .map_or(0, |w| w.failures)
}

/// Adds a failure for `key`; the count in its window after it.
fn bump<K: Eq + Hash + Clone>(map: &mut HashMap<K, Window>, key: &K, now: Instant) -> u32 {
    if !map.contains_key(key) && map.len() >= MAX_TRACKED {
        map.retain(|_, w| live(w, now));
        if map.len() >= MAX_TRACKED
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
    }
    let w = map.entry(key.clone()).or_insert(Window {
        started: now,
        failures: 0,
    });
    if !live(w, now) {
        *w = Window {
            started: now,
            failures: 0,
        };
    }
    w.failures = w.failures.saturating_add(1);
    w.failures
}

impl FailureLimiter {
    /// Whether `ip` has used up its failures for now.
    pub fn address_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.0
            .lock()
            .map_or(true, |c| count(&c.by_address, &ip, now) >= MAX_FAILURES)
    }

    /// Whether the account `name` has had too many failed logins for now.
    pub fn account_blocked(&self, name: &str, now: Instant) -> bool {
        self.0.lock().map_or(true, |c| {
            count(&c.by_account, &name.to_string(), now) >= MAX_ACCOUNT_FAILURES
        })
    }

    /// Records a failure from `ip` (on the account `account`, for a login).
    pub fn failed(&self, ip: IpAddr, account: Option<&str>, now: Instant) -> Failure {
        let Ok(mut c) = self.0.lock() else {
            return Failure::Counted;
        };
        record(&mut c, ip, account, now)
    }

    /// Reserves a login attempt from `ip` as `account`, counted as a failure
    /// at once: attempts in flight together cannot pass the limit while
    /// their passwords are checked. `None` when a limit is reached; else
    /// what the failure would mean for the audit log. A login that succeeds
    /// gives its attempt back ([`FailureLimiter::forgive`]).
    pub fn attempt(&self, ip: IpAddr, account: &str, now: Instant) -> Option<Failure> {
        let mut c = self.0.lock().ok()?;
        if count(&c.by_address, &ip, now) >= MAX_FAILURES
            || count(&c.by_account, &account.to_string(), now) >= MAX_ACCOUNT_FAILURES
        {
            return None;
        }
        Some(record(&mut c, ip, Some(account), now))
    }

    /// Takes back an attempt that turned out a good login.
    pub fn forgive(&self, ip: IpAddr, account: &str, now: Instant) {
        let Ok(mut c) = self.0.lock() else { return };
        if let Some(w) = c.by_address.get_mut(&ip).filter(|w| live(w, now)) {
            w.failures = w.failures.saturating_sub(1);
        }
        if let Some(w) = c.by_account.get_mut(account).filter(|w| live(w, now)) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// Entries remembered (addresses, accounts).
    pub fn tracked(&self) -> (usize, usize) {
        self.0
            .lock()
            .map_or((0, 0), |c| (c.by_address.len(), c.by_account.len()))
    }
}

fn record(c: &mut Counters, ip: IpAddr, account: Option<&str>, now: Instant) -> Failure {
    let from_address = bump(&mut c.by_address, &ip, now);
    let on_account = account.map_or(0, |a| bump(&mut c.by_account, &a.to_string(), now));
    if from_address == MAX_FAILURES || on_account == MAX_ACCOUNT_FAILURES {
        Failure::NowBlocked
    } else if from_address == 1 {
        Failure::First
    } else {
        Failure::Counted
    }
}

/// The client's address: the peer's, or, when the peer is one of the
/// `trusted` proxies, the nearest address in `X-Forwarded-For` that is not
/// (a client cannot choose its address by sending the header itself).
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.ip();
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_limited_per_address_and_window() {
        let l = FailureLimiter::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        let mut marks = Vec::new();
        for _ in 0..MAX_FAILURES {
            assert!(!l.address_blocked(a, t0));
            marks.push(l.failed(a, None, t0));
        }
        assert!(l.address_blocked(a, t0));
        assert!(!l.address_blocked(b, t0), "another address is not affected");
        assert!(!l.address_blocked(a, t0 + FAILURE_WINDOW + Duration::from_secs(1)));
        // Two audit rows for twenty failures: the first and the block.
        assert_eq!(marks[0], Failure::First);
        assert_eq!(marks[MAX_FAILURES as usize - 1], Failure::NowBlocked);
        assert!(
            marks[1..MAX_FAILURES as usize - 1]
                .iter()
                .all(|m| *m == Failure::Counted)
        );
    }

    #[test]
    fn an_account_guessed_from_many_addresses_is_throttled_too() {
        let l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_ACCOUNT_FAILURES {
            assert!(!l.account_blocked("ada", t0));
            l.failed(
                IpAddr::from([10, 1, (i / 256) as u8, i as u8]),
                Some("ada"),
                t0,
            );
        }
        assert!(l.account_blocked("ada", t0));
        assert!(!l.account_blocked("bob", t0));
    }

    #[test]
    fn attempts_in_flight_together_cannot_pass_the_limit_and_a_good_login_gives_one_back() {
        let l = FailureLimiter::default();
        let ip = IpAddr::from([203, 0, 113, 9]);
        let t0 = Instant::now();
        // Twenty logins reserved before any password check has answered.
        let reserved: Vec<_> = (0..MAX_FAILURES)
            .map(|_| l.attempt(ip, "ada", t0))
            .collect();
        assert!(reserved.iter().all(Option::is_some));
        assert_eq!(reserved[0], Some(Failure::First));
        assert_eq!(l.attempt(ip, "ada", t0), None, "the 21st waits a minute");
        // One of them was the right password: its slot comes back.
        l.forgive(ip, "ada", t0);
        assert!(l.attempt(ip, "ada", t0).is_some());
        assert_eq!(l.attempt(ip, "ada", t0), None);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let l = FailureLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 * 3) {
            l.failed(IpAddr::from(i.to_be_bytes()), None, t0);
        }
        assert!(l.tracked().0 <= MAX_TRACKED);
        // Windows that ended make room first.
        let later = t0 + FAILURE_WINDOW + Duration::from_secs(1);
        l.failed(IpAddr::from([192, 168, 0, 1]), None, later);
        assert_eq!(l.tracked().0, 1);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let direct: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let trusted = [IpAddr::from([127, 0, 0, 1])];
        // Behind the proxy: the address the proxy saw (the rightmost), not
        // one the client wrote into the header itself.
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            IpAddr::from([203, 0, 113, 9])
        );
        // Not from a trusted proxy: the header is ignored.
        assert_eq!(client_ip(direct, &h, &trusted), direct.ip());
        assert_eq!(client_ip(proxy, &h, &[]), proxy.ip());
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy.ip());
    }
}
