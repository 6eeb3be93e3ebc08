//! Foreign orders a reconciliation found on the venue's account: cancelled,
//! adopted or left per the venue's policy, each decision journaled once.
//! Adopted orders (and ones a cancel failed to remove) count against the
//! global limits, so the engine never exceeds a limit because of them.

use super::*;
use crate::risk::Exposure;
use crate::venue::{ForeignAction, ForeignOrder, ForeignPolicy};

/// Whether an order left in this state still spends the account's limits.
fn counts(action: ForeignAction) -> bool {
    matches!(action, ForeignAction::Adopted | ForeignAction::CancelFailed)
}

impl<V: Venue> Engine<V> {
    /// After a refresh that succeeded: decides on every foreign order not yet
    /// decided on, and forgets (journaled, for adopted ones) those no longer
    /// open. How many foreign orders are open after it.
    pub(super) async fn handle_foreign(&mut self) -> Result<usize, EngineError> {
        let found = self.venue.foreign_orders();
        let policy = self.venue.foreign_policy();
        let open: BTreeSet<&str> = found.iter().map(|o| o.venue_id.as_str()).collect();
        let gone: Vec<String> = self
            .foreign
            .keys()
            .filter(|id| !open.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some((order, action)) = self.foreign.remove(&id)
                && counts(action)
            {
                self.journal_foreign(order, ForeignAction::Gone, None)?;
            }
        }
        for order in found {
            // Decided on before: only what is left of it changes (fills).
            // A failed cancel is tried again.
            if let Some((known, action)) = self.foreign.get_mut(&order.venue_id)
                && *action != ForeignAction::CancelFailed
            {
                *known = order;
                continue;
            }
            let (action, detail) = match policy {
                ForeignPolicy::Adopt => (ForeignAction::Adopted, None),
                ForeignPolicy::Leave => (ForeignAction::Left, None),
                ForeignPolicy::Cancel => match self.venue.cancel_foreign(&order.venue_id).await {
                    Ok(()) => (ForeignAction::Cancelled, None),
                    Err(e) => (ForeignAction::CancelFailed, Some(e.0)),
                },
            };
            tracing::warn!(
                order = %order.venue_id,
                token = %order.token,
                side = ?order.side,
                price = %order.price,
                remaining = %order.remaining,
                ?action,
                "an order on the venue's account that this host did not place"
            );
            self.journal_foreign(order.clone(), action, detail)?;
            if action != ForeignAction::Cancelled {
                self.foreign.insert(order.venue_id.clone(), (order, action));
            }
        }
        Ok(self.foreign.len())
    }

    fn journal_foreign(
        &mut self,
        order: ForeignOrder,
        action: ForeignAction,
        detail: Option<String>,
    ) -> Result<(), EngineError> {
        self.journal.append(
            self.now_ns,
            None,
            &Entry::ForeignOrder {
                order,
                action,
                detail,
            },
        )?;
        Ok(())
    }

    /// Foreign orders open at the last reconciliation and what was done.
    pub fn foreign_orders(&self) -> Vec<(ForeignOrder, ForeignAction)> {
        self.foreign.values().cloned().collect()
    }

    /// Adds the foreign orders that count to everyone's exposure (`token`:
    /// the token of the order being judged).
    pub(super) fn count_foreign(&self, e: &mut Exposure, token: &crate::model::TokenId) {
        for (o, _) in self.foreign.values().filter(|(_, a)| counts(*a)) {
            e.open_orders = e.open_orders.saturating_add(1);
            if o.side == Side::Buy {
                e.total_exposure += notional(o.price, o.remaining);
            }
            if o.token == *token {
                match o.side {
                    Side::Buy => {
                        e.open_buys = e.open_buys.checked_add(o.remaining).unwrap_or(e.open_buys)
                    }
                    Side::Sell => {
                        e.open_sells = e
                            .open_sells
                            .checked_add(o.remaining)
                            .unwrap_or(e.open_sells)
                    }
                }
            }
        }
    }
}
