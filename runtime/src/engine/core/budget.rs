//! Per-strategy storage budgets: the journal bytes a strategy's decisions
//! added over the last minute of host time, the timers it has armed, and the
//! check a call's commands must pass before any of them is journaled.

use std::collections::VecDeque;

use super::*;

const MINUTE_S: u64 = 60;

/// Bytes added per second of host time over a sliding minute.
#[derive(Debug, Clone, Default)]
pub(super) struct ByteWindow {
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
fn min_command_bytes(action: &wit::Action) -> u64 {
    match action {
        wit::Action::Place(_) => 400,
        wit::Action::Cancel(_) | wit::Action::SetTimer(_) => 120,
        wit::Action::CancelAllInMarket(_) => 160,
    }
}

impl<V: Venue> Engine<V> {
    /// Brings the strategy's journal window up to date with what the journal
    /// counted for it (decisions, verdicts, order events, snapshots).
    pub(super) fn count_journal_bytes(&mut self, slot: usize) -> u64 {
        let s = &mut self.slots[slot];
        let total = self.journal.bytes_for(s.id);
        s.journal_window
            .add(self.now_ns, total.saturating_sub(s.journal_seen));
        s.journal_seen = total;
        s.journal_window.used(self.now_ns)
    }

    /// The storage budgets a call's commands must fit before any of them (or
    /// the call's restart point) is journaled: journal bytes per minute and
    /// armed timers.
    pub(super) fn check_budgets(
        &mut self,
        slot: usize,
        commands: &[wit::Command],
    ) -> Result<(), crate::strategy::Fault> {
        use crate::strategy::Fault;
        let used = self.count_journal_bytes(slot);
        let s = &self.slots[slot];
        let snapshot = match s.sup.last_snapshot() {
            Some(state)
                if s.sup.snapshots_taken() > s.snapshots_journaled
                    && self.journal.snapshot_is_new(s.id, state) =>
            {
                state.len() as u64
            }
            _ => 0,
        };
        let planned = commands
            .iter()
            .map(|c| min_command_bytes(&c.action) + c.reason.len() as u64)
            .sum::<u64>()
            + snapshot;
        let limit = self.config.sandbox.max_journal_bytes_per_minute;
        if planned > 0 && used.saturating_add(planned) > limit {
            return Err(Fault::Budget {
                what: "journal",
                detail: format!(
                    "{used} bytes journaled in the last minute and at least {planned} more to journal for this call ({} commands{}); limit {limit} bytes per minute",
                    commands.len(),
                    if snapshot > 0 {
                        format!(", a {snapshot} byte snapshot")
                    } else {
                        String::new()
                    }
                ),
            });
        }
        let new_timers = commands
            .iter()
            .filter(|c| matches!(c.action, wit::Action::SetTimer(_)))
            .count();
        if new_timers > 0 {
            let armed = self
                .timers
                .iter()
                .filter(|(_, strategy, _)| *strategy == s.id)
                .count();
            let max = self.config.sandbox.max_timers;
            if armed + new_timers > max {
                return Err(Fault::Budget {
                    what: "timer",
                    detail: format!(
                        "{armed} timers armed and {new_timers} more asked for; limit {max} at once"
                    ),
                });
            }
        }
        Ok(())
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
