//! Reconciling the host's orders with the venue's account: at start for every
//! order the journal left working or unknown, and while running (periodically,
//! after a reconnect). Fills the host missed are booked once each (cause
//! `reconciled`), then each order's fate. While the account cannot be
//! reconciled the engine places no orders.

use super::*;
use crate::model::{FillCause, VenueReject};
use crate::venue::{OrderFate, Reconciliation};

/// How far back, at start, booked trades are followed to their settlement:
/// the venue settles a trade on chain within minutes (retries included), so
/// an hour covers a restart's downtime with room to spare.
const FOLLOW_BOOKED_NS: u64 = 3_600 * 1_000_000_000;

/// What one reconciliation pass found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Orders asked about.
    pub orders: usize,
    /// Fills booked that the host had not heard of.
    pub fills: usize,
    /// Orders found over (cancelled by the venue) or never received.
    pub ended: usize,
    /// Foreign orders open on the account after it (see `live.foreign_orders`).
    pub foreign: usize,
}

impl<V: Venue> Engine<V> {
    /// At start: the venue's account is brought up to date, then every order
    /// the journal left working or unknown is reconciled (and journaled as
    /// such). A venue that cannot be asked leaves the engine halted (not
    /// trading) until a later `reconcile_now` succeeds.
    pub(super) async fn reconcile_at_start(
        &mut self,
        prior: &Projections,
    ) -> Result<(), EngineError> {
        let orders: Vec<Order> = prior.open_orders().map(|r| r.order.clone()).collect();
        self.follow_recent_trades(prior);
        if let Err(e) = self.venue.refresh(&orders, self.now_ns).await {
            self.gate(Some(e.to_string()))?;
            // What the journal says stays working until the venue says
            // otherwise: exposure and limits count it.
            for r in prior.open_orders() {
                let remaining = r.order.size.saturating_sub(filled_size(r.filled));
                self.track(r.order.clone(), remaining);
            }
            return Ok(());
        }
        self.handle_foreign().await?;
        for r in prior.open_orders() {
            let remaining = r.order.size.saturating_sub(filled_size(r.filled));
            let found = self.venue.reconcile(&r.order, self.now_ns);
            self.journal.append(
                self.now_ns,
                Some(r.order.key.strategy),
                &Entry::Reconciled {
                    key: r.order.key,
                    working_micros: match found.fate {
                        OrderFate::Working { remaining } => Some(remaining.micros()),
                        OrderFate::Over | OrderFate::NotReceived => None,
                    },
                },
            )?;
            self.track(r.order.clone(), remaining);
            self.settle_order(r.order.key, found)?;
        }
        Ok(())
    }

    /// Hands the venue the trades booked in the last `FOLLOW_BOOKED_NS` by
    /// an earlier process: one may still end FAILED (reversed then), and
    /// after a restart only the venue's trade list can say so.
    fn follow_recent_trades(&mut self, prior: &Projections) {
        let since = self.now_ns.saturating_sub(FOLLOW_BOOKED_NS);
        let open: std::collections::HashSet<OrderKey> =
            prior.open_orders().map(|r| r.order.key).collect();
        let mut followed = 0usize;
        for r in prior.fills.iter().filter(|r| r.fill.ts_ns >= since) {
            let (Some(trade), Some(order)) = (&r.fill.trade_id, prior.orders.get(&r.fill.key))
            else {
                continue;
            };
            let over = !open.contains(&r.fill.key);
            self.venue
                .follow_booked(&order.order, trade, r.fill.ts_ns, over);
            followed += 1;
        }
        if followed > 0 {
            tracing::info!(
                trades = followed,
                "following the settlement of trades booked before the restart"
            );
        }
    }

    /// While running: asks the venue's account again and reconciles every
    /// working order with it. An order whose view changed is journaled; the
    /// engine stops placing orders while the venue cannot be asked, and
    /// trades again once it can.
    pub async fn reconcile_now(&mut self) -> Result<ReconcileReport, EngineError> {
        let mut report = ReconcileReport::default();
        let orders: Vec<Order> = self.working.values().map(|w| w.order.clone()).collect();
        if let Err(e) = self.venue.refresh(&orders, self.now_ns).await {
            self.gate(Some(e.to_string()))?;
            self.commit_round().await?;
            return Ok(report);
        }
        report.foreign = self.handle_foreign().await?;
        for order in orders {
            let key = order.key;
            let found = self.venue.reconcile(&order, self.now_ns);
            report.orders += 1;
            let before = self.working.get(&key).map(|w| w.remaining);
            let unchanged = found.fills.iter().all(|f| {
                f.trade_id
                    .as_ref()
                    .is_some_and(|t| self.trade_ids.contains(t))
            }) && matches!(found.fate, OrderFate::Working { remaining } if Some(remaining) == before)
                && !self.unknown.contains(&key);
            if unchanged {
                continue;
            }
            self.journal.append(
                self.now_ns,
                Some(key.strategy),
                &Entry::Reconciled {
                    key,
                    working_micros: match found.fate {
                        OrderFate::Working { remaining } => Some(remaining.micros()),
                        OrderFate::Over | OrderFate::NotReceived => None,
                    },
                },
            )?;
            let (fills, ended) = self.settle_order(key, found)?;
            report.fills += fills;
            report.ended += usize::from(ended);
        }
        let trouble = self.venue.trouble();
        self.gate(trouble)?;
        self.commit_round().await?;
        Ok(report)
    }

    /// Opens or closes the gate on new orders, journaling each change.
    pub(super) fn gate(&mut self, problem: Option<String>) -> Result<(), EngineError> {
        if problem.is_none() && self.unreconciled.is_none() {
            return Ok(());
        }
        if let Some(p) = &problem {
            if self.unreconciled.is_some() {
                self.unreconciled = problem;
                return Ok(());
            }
            tracing::error!(problem = %p, "the venue's account cannot be reconciled; no new orders until it is");
        } else {
            tracing::info!("the venue's account is reconciled; trading resumes");
        }
        self.journal.append(
            self.now_ns,
            None,
            &Entry::VenueReconciliation {
                complete: problem.is_none(),
                problem: problem.clone(),
            },
        )?;
        self.unreconciled = problem;
        Ok(())
    }

    fn track(&mut self, order: Order, remaining: Size) {
        self.working.insert(
            order.key,
            Working {
                remaining,
                instrument: self.registry.instrument(&order.token),
                order,
            },
        );
    }

    /// Books the fills of `found` the host lacks, then the order's fate.
    /// How many fills were booked, and whether the order ended.
    fn settle_order(
        &mut self,
        key: OrderKey,
        found: Reconciliation,
    ) -> Result<(usize, bool), EngineError> {
        let Some(mut remaining) = self.working.get(&key).map(|w| w.remaining) else {
            return Ok((0, false));
        };
        let mut missed = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for mut fill in found.fills {
            let known = fill
                .trade_id
                .as_ref()
                .is_some_and(|t| self.trade_ids.contains(t) || !seen.insert(t.clone()));
            if known || fill.key != key {
                continue;
            }
            if fill.size > remaining {
                tracing::error!(
                    ?key,
                    size = %fill.size,
                    %remaining,
                    "reconciliation: the venue reports a fill larger than what was left of the order; not booked"
                );
                continue;
            }
            remaining = remaining.saturating_sub(fill.size);
            fill.remaining = remaining;
            fill.cause = FillCause::Reconciled;
            missed.push(OrderEvent::Filled(fill));
        }
        let fills = missed.len();
        self.handle_order_events(missed)?;
        if remaining.is_zero() {
            return Ok((fills, true));
        }
        let end = match found.fate {
            OrderFate::Working { remaining: left } => {
                if let Some(w) = self.working.get_mut(&key) {
                    w.remaining = left.min(remaining);
                }
                // An order whose answer was lost is at the venue after all.
                if self.unknown.contains(&key) {
                    self.handle_order_events(vec![OrderEvent::Accepted {
                        key,
                        ts_ns: self.now_ns,
                    }])?;
                }
                return Ok((fills, false));
            }
            OrderFate::Over => OrderEvent::Cancelled {
                key,
                cause: CancelCause::Venue,
                unfilled: remaining,
                ts_ns: self.now_ns,
            },
            OrderFate::NotReceived => OrderEvent::Rejected {
                key,
                reject: VenueReject::NotReceived,
                message: String::new(),
                ts_ns: self.now_ns,
            },
        };
        self.handle_order_events(vec![end])?;
        Ok((fills, true))
    }
}

/// A journaled fill total (decimal shares) as a size.
fn filled_size(filled: Decimal) -> Size {
    Size::from_micros(
        (filled * Decimal::from(1_000_000))
            .trunc()
            .to_u64()
            .unwrap_or(0),
    )
}
