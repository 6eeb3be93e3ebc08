//! Fills whose trades failed to settle: each booked trade is kept by its id,
//! so that a reversal the venue reports (its user channel, or
//! reconciliation) undoes exactly what was booked, once.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::model::Fill;

/// The trades booked (by venue trade id) and those reversed.
#[derive(Debug, Default)]
pub(super) struct Reversals {
    booked: HashMap<String, Fill>,
    reversed: HashSet<String>,
}

impl Reversals {
    /// From the journal: the fills that stand and the trades reversed.
    pub(super) fn from_journal(prior: &Projections) -> Reversals {
        Reversals {
            booked: prior
                .fills
                .iter()
                .filter_map(|r| Some((r.fill.trade_id.clone()?, r.fill.clone())))
                .collect(),
            reversed: prior
                .reversals
                .iter()
                .filter_map(|r| r.fill.trade_id.clone())
                .collect(),
        }
    }

    pub(super) fn booked(&mut self, fill: &Fill) {
        if let Some(t) = &fill.trade_id {
            self.booked.insert(t.clone(), fill.clone());
        }
    }
}

impl<V: Venue> Engine<V> {
    /// The venue says the trade `trade_id` failed: its fill, if the host
    /// booked it, is journaled as reversed and undone in the portfolio, and
    /// the strategy hears of it. The order's remaining size stays as it is
    /// (the venue does not put the size back on the book).
    pub(super) fn reverse_trade(&mut self, trade_id: &str) -> Result<(), EngineError> {
        if self.reversals.reversed.contains(trade_id) {
            tracing::debug!(trade = %trade_id, "a reversed trade was reported failed again; ignored");
            return Ok(());
        }
        let Some(fill) = self.reversals.booked.remove(trade_id) else {
            // Failed before the host heard it matched: nothing to undo, and
            // a late report of it must not book it.
            tracing::warn!(trade = %trade_id, "the venue reports a trade FAILED that was never booked; it will not be");
            self.trade_ids.insert(trade_id.to_string());
            return Ok(());
        };
        self.reversals.reversed.insert(trade_id.to_string());
        let remaining = self
            .working
            .get(&fill.key)
            .map_or(Size::ZERO, |w| w.remaining);
        tracing::error!(
            trade = %trade_id,
            order = ?fill.key,
            side = ?fill.side,
            size = %fill.size,
            price = %fill.price,
            "a trade the host booked FAILED to settle: its fill is reversed"
        );
        let ev = OrderEvent::FillReversed {
            key: fill.key,
            trade_id: trade_id.to_string(),
            fill: Some(fill.clone()),
            remaining,
            ts_ns: self.now_ns,
        };
        self.journal.append(
            self.now_ns,
            Some(fill.key.strategy),
            &Entry::Order { event: ev.clone() },
        )?;
        self.portfolio_revision += 1;
        if let Err(e) = self.portfolio.reverse_fill(&fill) {
            tracing::error!(error = %e, trade = %trade_id, "the reversal could not be applied whole");
        }
        if let Some((strategy, kind)) = order_event(&self.registry, &ev)
            && let Some(slot) = self.slots.iter_mut().find(|s| s.id == strategy)
        {
            slot.inbox.push((kind, None));
        }
        Ok(())
    }
}
