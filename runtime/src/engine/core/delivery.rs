//! Delivering events to a strategy so that none is lost around a fault: while
//! it backs off, its order events and timers wait (market data passes it by);
//! when it restarts from its last restart point, it hears again the order
//! events and timers that came after that point, then what waited, in order.

use super::*;
use crate::strategy::RunState;

type Pending = Vec<(wit::EventKind, Option<usize>)>;

/// The instrument a market event is about (order events and timers are the
/// strategy's own).
fn instrument_of(kind: &wit::EventKind) -> Option<u32> {
    use wit::EventKind as K;
    match kind {
        K::BookSnapshot(b) => Some(b.instrument),
        K::BookChange(c) => Some(c.instrument),
        K::Quote(q) => Some(q.instrument),
        K::Trade(t) => Some(t.instrument),
        K::TickSize(t) => Some(t.instrument),
        K::MarketStatus(s) => Some(s.instrument),
        K::Resolved(r) => Some(r.instrument),
        K::Fill(f) => Some(f.instrument),
        K::OrderAccepted(_) | K::OrderRejected(_) | K::OrderCancelled(_) | K::Timer(_) => None,
    }
}

impl<V: Venue> Engine<V> {
    /// Sends a strategy its batch — what waited in its inbox, then what it is
    /// interested in of `shared` — and acts on what it returns.
    pub(super) fn deliver(
        &mut self,
        slot: usize,
        shared: &[(wit::EventKind, Option<usize>)],
        sources: &[MarketEvent],
    ) -> Result<(), EngineError> {
        if self.slots[slot].paused || !self.slots[slot].sup.takes_calls(self.now_ns) {
            // Market data passes it by; its order events wait in the inbox.
            return Ok(());
        }
        let interests = self.slots[slot].interests;
        let heard: Pending = std::mem::take(&mut self.slots[slot].inbox);
        let mut batch = heard.clone();
        let mine = |k: &wit::EventKind| match (&self.slots[slot].instruments, instrument_of(k)) {
            (Some(set), Some(i)) => set.contains(&i),
            _ => true,
        };
        batch.extend(
            shared
                .iter()
                .filter(|(k, _)| wanted(interests, k) && mine(k))
                .cloned(),
        );
        if batch.is_empty() {
            return Ok(());
        }
        let mut causes = Vec::with_capacity(batch.len());
        let events: Vec<wit::Event> = batch
            .into_iter()
            .map(|(kind, source)| {
                let seq = self.next_seq;
                self.next_seq += 1;
                causes.push((seq, source));
                wit::Event {
                    seq,
                    ts: self.now_ns,
                    kind,
                }
            })
            .collect();
        let strategy = self.slots[slot].id;
        let before = self.slots[slot].sup.snapshots_taken();
        let mut view = self.view(strategy);
        let outcome = self.slots[slot].sup.on_events(&mut view, &events);
        self.recycle(view);
        self.outcome(slot, outcome, &causes, sources)?;
        self.remember(slot, heard, before);
        Ok(())
    }

    /// Fires a timer of the strategy in `slot`: a call of its own when it
    /// takes calls, otherwise an event waiting in its inbox.
    pub(super) fn fire_timer(&mut self, slot: usize, id: u64) -> Result<(), EngineError> {
        let timer = (wit::EventKind::Timer(id), None);
        match self.slots[slot].sup.state() {
            RunState::Quarantined => return Ok(()),
            _ if !self.slots[slot].sup.takes_calls(self.now_ns) => {
                self.slots[slot].inbox.push(timer);
                return Ok(());
            }
            _ => {}
        }
        let strategy = self.slots[slot].id;
        let before = self.slots[slot].sup.snapshots_taken();
        let mut view = self.view(strategy);
        let outcome = self.slots[slot].sup.on_timer(&mut view, id);
        self.recycle(view);
        self.outcome(slot, outcome, &[], &[])?;
        self.remember(slot, vec![timer], before);
        Ok(())
    }

    /// After a call that carried `heard` (order events, timers): forgotten once
    /// a restart point covers them; heard again after the restart if the call
    /// (or its restart) failed; dropped with a quarantine.
    fn remember(&mut self, slot: usize, heard: Pending, snapshots_before: u64) {
        let s = &mut self.slots[slot];
        match s.sup.state() {
            RunState::Running if s.sup.snapshots_taken() > snapshots_before => {
                s.since_snapshot.clear();
            }
            RunState::Running => s.since_snapshot.extend(heard),
            RunState::Backoff { .. } => {
                let mut again = std::mem::take(&mut s.since_snapshot);
                again.extend(heard);
                again.append(&mut s.inbox);
                s.inbox = again;
            }
            RunState::Quarantined => {
                s.since_snapshot.clear();
                s.inbox.clear();
            }
        }
    }
}
