//! Per-strategy storage budgets: the journal bytes a strategy's decisions
//! added over the last minute of host time, and the check a call's commands
//! must pass before any of them is journaled.

use std::collections::VecDeque;

const MINUTE_S: u64 = 60;

/// Bytes added per second of host time over a sliding minute.
#[derive(Debug, Clone, Default)]
pub struct ByteWindow {
    buckets: VecDeque<(u64, u64)>,
    total: u64,
}

impl ByteWindow {
    /// Counts `bytes` added at host time `now_ns`.
    pub fn add(&mut self, now_ns: u64, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let second = now_ns / 1_000_000_000;
        match self.buckets.back_mut() {
            Some((s, b)) if *s == second => *b += bytes,
            _ => self.buckets.push_back((second, bytes)),
        }
        self.total += bytes;
    }

    /// Bytes added in the minute up to `now_ns`.
    pub fn used(&mut self, now_ns: u64) -> u64 {
        let second = now_ns / 1_000_000_000;
        while let Some((s, b)) = self.buckets.front().copied() {
            if s + MINUTE_S > second {
                break;
            }
            self.buckets.pop_front();
            self.total -= b;
        }
        self.total
    }
}

/// What journaling a command costs at least, before its reason tag: a place
/// is its `command` entry (the whole order) and its risk verdict; a cancel or
/// a timer is one short entry.
pub fn min_command_bytes(action: &crate::strategy::bindings::types::Action) -> u64 {
    use crate::strategy::bindings::types::Action;
    match action {
        Action::Place(_) => 400,
        Action::Cancel(_) | Action::SetTimer(_) => 120,
        Action::CancelAllInMarket(_) => 160,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_leave_the_window_after_a_minute() {
        let s = 1_000_000_000u64;
        let mut w = ByteWindow::default();
        w.add(0, 100);
        w.add(s / 2, 50);
        w.add(30 * s, 10);
        assert_eq!(w.used(30 * s), 160);
        assert_eq!(w.used(59 * s), 160);
        assert_eq!(w.used(60 * s), 10);
        assert_eq!(w.used(90 * s), 0);
        w.add(90 * s, 0);
        assert_eq!(w.used(90 * s), 0);
    }
}
