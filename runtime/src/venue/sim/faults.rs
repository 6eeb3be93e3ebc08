//! Fault-injection switches of the simulator, shared by its socket tasks and
//! settable over `POST /_sim/faults` or on a schedule from the command line.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The switches. Each is consumed by the socket tasks as they act on it.
#[derive(Debug, Default)]
pub struct Faults {
    /// Bumped to make every open market socket close.
    drop_generation: AtomicU64,
    /// Messages still to be skipped (a gap in the stream).
    skip: AtomicU32,
    /// Until this wall time (ms) no market data is sent; PINGs are still answered.
    stall_until_ms: AtomicU64,
    /// Send one crossed book change next.
    crossed: AtomicBool,
    /// Malformed frames still to send.
    malformed: AtomicU32,
    /// REST book requests still to fail with 503 (retry-able).
    http_errors: AtomicU32,
}

/// A request to inject faults (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRequest {
    pub drop: bool,
    pub gap: u32,
    pub stall_ms: u64,
    pub crossed: bool,
    pub malformed: u32,
    pub http_errors: u32,
    /// Trading: accept the next N orders but break their HTTP answers.
    pub drop_order_responses: u32,
    /// Trading: answer the next N order posts 425 (engine restarting).
    pub order_425: u32,
    /// Trading: answer the next N order posts 503 with Retry-After.
    pub order_503: u32,
    /// Trading: answer the next N order posts 429 with Retry-After.
    pub order_429: u32,
    /// Trading: hold fill reports on the user channel for this long.
    pub delay_fills_ms: u64,
    /// Trading: for this long, order posts take effect at once but are
    /// answered only when the time is over.
    pub delay_order_responses_ms: u64,
    /// Trading: the next N trades settle RETRYING → FAILED (reversed).
    pub fail_trades: u32,
    /// Trading: close every user-channel socket.
    pub drop_user_ws: bool,
    /// Trading: answer the next N order posts `order_version_mismatch`.
    pub order_version_mismatch: u32,
    /// Trading: the order version `GET /version` answers from now on; order
    /// posts are refused `order_version_mismatch` while it is not 2.
    pub order_version: Option<u32>,
    /// The country `GET /api/geoblock` says the caller is in, blocked
    /// (empty: not blocked).
    pub geoblock_country: Option<String>,
    /// Trading: answer heartbeats 503 for this long (they do not count, so
    /// the dead-man switch cancels the key's orders after its timeout).
    pub fail_heartbeats_ms: u64,
    /// Market data and matching: from the next step, every NO book sits this
    /// many micro-dollars below the mirror of its YES book (0 restores the
    /// mirror), so buying YES and NO at their asks costs under a dollar.
    /// Synthetic sessions only.
    pub dislocate_no_micros: Option<u32>,
}

impl Faults {
    pub fn inject(&self, r: &FaultRequest, now_ms: u64) {
        if r.drop {
            self.drop_generation.fetch_add(1, Ordering::SeqCst);
        }
        if r.gap > 0 {
            self.skip.fetch_add(r.gap, Ordering::SeqCst);
        }
        if r.stall_ms > 0 {
            self.stall_until_ms
                .fetch_max(now_ms.saturating_add(r.stall_ms), Ordering::SeqCst);
        }
        if r.crossed {
            self.crossed.store(true, Ordering::SeqCst);
        }
        if r.malformed > 0 {
            self.malformed.fetch_add(r.malformed, Ordering::SeqCst);
        }
        if r.http_errors > 0 {
            self.http_errors.fetch_add(r.http_errors, Ordering::SeqCst);
        }
        tracing::info!(request = ?r, "sim fault injected");
    }

    pub fn drop_generation(&self) -> u64 {
        self.drop_generation.load(Ordering::SeqCst)
    }

    /// Takes one message to skip, if a gap is pending.
    pub fn take_skip(&self) -> bool {
        self.skip
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    pub fn stalled(&self, now_ms: u64) -> bool {
        now_ms < self.stall_until_ms.load(Ordering::SeqCst)
    }

    pub fn take_crossed(&self) -> bool {
        self.crossed.swap(false, Ordering::SeqCst)
    }

    pub fn take_http_error(&self) -> bool {
        self.http_errors
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    pub fn take_malformed(&self) -> bool {
        self.malformed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Frames a broken venue might send, cycled through by the malformed switch.
pub const MALFORMED: &[&str] = &[
    "{\"event_type\":\"price_change\",\"market\":",
    "not json at all",
    "{\"event_type\":\"book\",\"asset_id\":\"123\",\"market\":\"0x12\",\"timestamp\":\"x\",\"bids\":[],\"asks\":[]}",
    "[{\"event_type\":\"mystery_event\",\"timestamp\":\"1\"}]",
    "{\"event_type\":\"last_trade_price\",\"price\":\"2.5\"}",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_consumed() {
        let f = Faults::default();
        f.inject(
            &FaultRequest {
                gap: 2,
                crossed: true,
                stall_ms: 100,
                ..FaultRequest::default()
            },
            1_000,
        );
        assert!(f.take_skip() && f.take_skip() && !f.take_skip());
        assert!(f.take_crossed() && !f.take_crossed());
        assert!(f.stalled(1_050) && !f.stalled(1_100));
        let g = f.drop_generation();
        f.inject(
            &FaultRequest {
                drop: true,
                ..FaultRequest::default()
            },
            0,
        );
        assert_eq!(f.drop_generation(), g + 1);
    }
}
