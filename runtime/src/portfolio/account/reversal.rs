//! Undoing a fill whose trade failed to settle on chain: the account goes back to what it held without it.

use rust_decimal::Decimal;

use super::{Account, PortfolioError, allocated_cost};
use crate::model::money::{notional, shares};
use crate::model::{Fill, Side, Size};

impl Account {
    /// Undoes `fill`, booked earlier: its cash, shares, fees and realised PnL
    /// go back. When the token has not traded since, the account is exactly
    /// what it would be without the fill. Otherwise cash, shares and fees
    /// still are (the venue's balances agree), and `cash = realised − cost
    /// held` still holds; only the split of PnL between realised and the cost
    /// basis can differ from never having traded (average cost moved).
    /// A bought position partly sold since cannot give back all its shares:
    /// what is held goes, and the shortfall is reported.
    pub fn reverse_fill(&mut self, fill: &Fill) -> Result<(), PortfolioError> {
        let value = notional(fill.price, fill.size);
        let mut result = Ok(());
        let realized = match fill.side {
            Side::Buy => {
                let received = fill.received();
                let (held, cost) = self
                    .holdings
                    .get(&fill.token)
                    .map_or((Size::ZERO, Decimal::ZERO), |h| (h.size, h.cost));
                let take = received.min(held);
                if take < received {
                    result = Err(PortfolioError::ReversalShort {
                        token: fill.token.clone(),
                        reversed: shares(received),
                        held: shares(held),
                    });
                }
                // The cost this buy added leaves with its shares; a holding
                // that goes takes all its cost, and none goes below zero.
                // Whatever differs from the refund is realised.
                let cost_out = if take == held { cost } else { value.min(cost) };
                if let Some(h) = self.holdings.get_mut(&fill.token) {
                    h.size = h.size.saturating_sub(take);
                    h.cost -= cost_out;
                    if h.size.is_zero() {
                        self.holdings.remove(&fill.token);
                    }
                }
                self.cash += value;
                value - cost_out
            }
            Side::Sell => {
                // The cost the sale took out comes back; a sale booked without
                // a record of it comes back at the average cost held, or at
                // its own price (no PnL) when nothing is held.
                let recorded = fill.trade_id.as_ref().and_then(|t| {
                    let at = self.sale_costs.iter().position(|(id, _)| id == t)?;
                    self.sale_costs.remove(at).map(|(_, cost)| cost)
                });
                let cost_back = recorded.unwrap_or_else(|| {
                    self.holdings
                        .get(&fill.token)
                        .filter(|h| !h.size.is_zero())
                        .map_or(value, |h| {
                            allocated_cost(h.cost, shares(fill.size), shares(h.size))
                        })
                });
                let h = self.holdings.entry(fill.token.clone()).or_default();
                h.size = h.size.checked_add(fill.size).unwrap_or(h.size);
                h.cost += cost_back;
                self.cash -= value;
                cost_back - value
            }
        };
        self.realized_closed += realized + fill.fee;
        if !(realized + fill.fee).is_zero() {
            *self
                .realized_by_token
                .entry(fill.token.clone())
                .or_default() += realized + fill.fee;
        }
        self.cash += fill.fee;
        self.fees -= fill.fee_value();
        self.fills = self.fills.saturating_sub(1);
        result
    }
}
