//! Per-strategy storage budgets: the journal bytes a strategy's decisions
//! added over the last minute of host time, the timers it has armed, and the
//! check a call's commands must pass before any of them is journaled.

use std::collections::VecDeque;

use super::*;

/// Amounts added per second of host time over a sliding window of seconds.
#[derive(Debug, Clone)]
pub(super) struct Window {
    span_s: u64,
    buckets: VecDeque<(u64, u64)>,
    total: u64,
}

impl Window {
    pub fn new(span_s: u64) -> Window {
        Window {
            span_s,
            buckets: VecDeque::new(),
            total: 0,
        }
    }

    /// Counts `n` added at host time `now_ns`.
    pub fn add(&mut self, now_ns: u64, n: u64) {
        if n == 0 {
            return;
        }
        let second = now_ns / 1_000_000_000;
        match self.buckets.back_mut() {
            Some((s, b)) if *s == second => *b += n,
            _ => self.buckets.push_back((second, n)),
        }
        self.total += n;
    }

    /// What was added in the window up to `now_ns`.
    pub fn used(&mut self, now_ns: u64) -> u64 {
        let second = now_ns / 1_000_000_000;
        while let Some((s, b)) = self.buckets.front().copied() {
            if s + self.span_s > second {
                break;
            }
            self.buckets.pop_front();
            self.total -= b;
        }
        self.total
    }
}

/// One strategy's use of its budgets.
#[derive(Debug, Clone)]
pub(super) struct Budgets {
    /// Journal bytes and entries attributed to it over the last minute and
    /// second, and the journal's counts for it when last looked at.
    journal_bytes: Window,
    journal_entries: Window,
    seen: (u64, u64),
    /// Commands it returned and timers it armed over the last second.
    commands: Window,
    timers: Window,
}

impl Budgets {
    /// Fresh budgets, counting from the journal's totals for the strategy.
    pub fn new(seen_bytes: u64, seen_entries: u64) -> Budgets {
        Budgets {
            journal_bytes: Window::new(60),
            journal_entries: Window::new(1),
            seen: (seen_bytes, seen_entries),
            commands: Window::new(1),
            timers: Window::new(1),
        }
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
    /// Brings the strategy's journal windows up to date with what the journal
    /// counted for it (decisions, verdicts, order events, snapshots): bytes in
    /// the last minute and entries in the last second.
    pub(super) fn count_journal(&mut self, slot: usize) -> (u64, u64) {
        let now = self.now_ns;
        let s = &mut self.slots[slot];
        let (bytes, entries) = (self.journal.bytes_for(s.id), self.journal.entries_for(s.id));
        let b = &mut s.budgets;
        b.journal_bytes.add(now, bytes.saturating_sub(b.seen.0));
        b.journal_entries.add(now, entries.saturating_sub(b.seen.1));
        b.seen = (bytes, entries);
        (b.journal_bytes.used(now), b.journal_entries.used(now))
    }

    /// Counts what a call that passed its budgets asked for.
    pub(super) fn count_call(&mut self, slot: usize, commands: &[wit::Command]) {
        let timers = commands
            .iter()
            .filter(|c| matches!(c.action, wit::Action::SetTimer(_)))
            .count() as u64;
        let b = &mut self.slots[slot].budgets;
        b.commands.add(self.now_ns, commands.len() as u64);
        b.timers.add(self.now_ns, timers);
    }

    /// The budgets a call's commands must fit before any of them (or the
    /// call's restart point) is journaled: commands per second, journal bytes
    /// per minute and entries per second, timers armed at once and per second.
    pub(super) fn check_budgets(
        &mut self,
        slot: usize,
        commands: &[wit::Command],
    ) -> Result<(), crate::strategy::Fault> {
        use crate::strategy::Fault;
        let (used, entries) = self.count_journal(slot);
        let now = self.now_ns;
        let limits = &self.config.sandbox;
        let over = |what: &'static str, used: u64, more: u64, limit: u64, per: &str| {
            (more > 0 && used.saturating_add(more) > limit).then(|| Fault::Budget {
                what,
                detail: format!(
                    "{used} in the last {per} and {more} more asked for; limit {limit} per {per}"
                ),
            })
        };
        let n = commands.len() as u64;
        let commands_used = self.slots[slot].budgets.commands.used(now);
        if let Some(fault) = over(
            "command",
            commands_used,
            n,
            limits.max_commands_per_second,
            "second",
        ) {
            return Err(fault);
        }
        // Every command is at least one journal entry.
        if let Some(fault) = over(
            "journal entry",
            entries,
            n,
            limits.max_journal_entries_per_second,
            "second",
        ) {
            return Err(fault);
        }
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
        let timers_used = self.slots[slot].budgets.timers.used(now);
        if let Some(fault) = over(
            "timer",
            timers_used,
            new_timers as u64,
            self.config.sandbox.max_timers_per_second,
            "second",
        ) {
            return Err(fault);
        }
        let s = &self.slots[slot];
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
    fn amounts_leave_the_window_after_its_span() {
        let s = 1_000_000_000u64;
        let mut w = Window::new(60);
        w.add(0, 100);
        w.add(s / 2, 50);
        w.add(30 * s, 10);
        assert_eq!(w.used(30 * s), 160);
        assert_eq!(w.used(59 * s), 160);
        assert_eq!(w.used(60 * s), 10);
        assert_eq!(w.used(90 * s), 0);
        w.add(90 * s, 0);
        assert_eq!(w.used(90 * s), 0);
        let mut second = Window::new(1);
        second.add(s, 5);
        second.add(s + s / 2, 5);
        assert_eq!(second.used(s + s / 2), 10);
        assert_eq!(second.used(2 * s), 0);
    }
}
