//! Cancelling: by id (only the caller's own orders), all of a caller's, or a
//! market's; the answer is `{"canceled": [...], "not_canceled": {id: reason}}`.

use std::collections::BTreeMap;

use alloy_primitives::Address;

use super::engine::{Clock, ExchangeState};
use super::records::OrderStatus;
use crate::venue::Venue;

/// Ids cancelled and the reasons others were not.
pub type CancelOutcome = (Vec<String>, BTreeMap<String, String>);

impl ExchangeState {
    /// Cancels `ids` that belong to `owner` (any owner when `None`).
    pub fn cancel_owned(
        &mut self,
        owner: Option<Address>,
        ids: &[String],
        clock: Clock,
    ) -> CancelOutcome {
        let mut canceled = Vec::new();
        let mut not = BTreeMap::new();
        for id in ids {
            let Some(o) = self
                .orders
                .get(id)
                .filter(|o| owner.is_none_or(|a| a == o.owner_address))
            else {
                not.insert(id.clone(), "order not found".to_string());
                continue;
            };
            match o.status {
                OrderStatus::Cancelled => {
                    not.insert(id.clone(), "order already canceled".to_string());
                    continue;
                }
                OrderStatus::Matched => {
                    not.insert(id.clone(), "order already fully matched".to_string());
                    continue;
                }
                OrderStatus::Live => {}
            }
            let (key, maker) = (o.key, o.maker);
            let events = self.sim_of(maker).cancel(key, clock.venue_ns());
            let booked = !events.is_empty();
            self.apply(events, clock);
            if booked {
                canceled.push(id.clone());
            } else {
                not.insert(id.clone(), "order is not live".to_string());
            }
        }
        (canceled, not)
    }

    pub(super) fn cancel_ids(&mut self, ids: &[String], clock: Clock) -> CancelOutcome {
        self.cancel_owned(None, ids, clock)
    }

    /// The open orders of `owner`, optionally only of a market and/or token.
    pub fn open_ids(
        &self,
        owner: Address,
        market: Option<&str>,
        asset: Option<&str>,
    ) -> Vec<String> {
        self.orders
            .values()
            .filter(|o| o.is_open() && o.owner_address == owner)
            .filter(|o| {
                market.is_none_or(|m| m.is_empty() || o.market.as_str().eq_ignore_ascii_case(m))
            })
            .filter(|o| asset.is_none_or(|a| a.is_empty() || o.asset_id.as_str() == a))
            .map(|o| o.id.clone())
            .collect()
    }
}
