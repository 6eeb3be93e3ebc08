//! One strategy's account: cash, positions per token with cost basis, realised
//! PnL split into closed-early and held-to-resolution, and fees. All `Decimal`.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::money::{notional, shares};
use crate::model::{Fill, Price, Side, Size, TokenId};

/// Precision (decimal places of a dollar) of cost allocated to part of a
/// holding. Proportional cost can have endless decimals; rounding the allocated
/// part, and keeping the exact remainder, keeps every sum exact.
const COST_DP: u32 = 10;

/// Sales whose cost is kept for a reversal: trades fail within minutes of
/// matching, so the newest ten thousand cover any that still can, and an
/// account of a long run stays the same size.
pub const SALE_COSTS_KEPT: usize = 10_000;

fn allocated_cost(cost: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    (cost * part / whole)
        .round_dp_with_strategy(COST_DP, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

/// What can go wrong applying a fill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortfolioError {
    #[error("sell of {sold} shares of {token} exceeds the {held} held (no short selling)")]
    Oversell {
        token: TokenId,
        sold: Decimal,
        held: Decimal,
    },
    #[error(
        "reversing a buy of {reversed} shares of {token} finds only {held} held (sold since); the rest stays sold"
    )]
    ReversalShort {
        token: TokenId,
        reversed: Decimal,
        held: Decimal,
    },
}

/// Shares of one token held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    #[serde(with = "crate::model::units_serde::size")]
    pub size: Size,
    /// Total cost of the shares held (excluding fees), dollars.
    pub cost: Decimal,
}

impl Holding {
    /// Average entry price, dollars per share.
    pub fn avg_price(&self) -> Decimal {
        if self.size.is_zero() {
            Decimal::ZERO
        } else {
            self.cost / shares(self.size)
        }
    }
}

/// A strategy's money.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub cash: Decimal,
    pub holdings: BTreeMap<TokenId, Holding>,
    /// Realised by selling (or merging) before resolution, after fees.
    pub realized_closed: Decimal,
    /// Realised by settlement at resolution.
    pub realized_resolution: Decimal,
    /// Fees paid, in dollars (negative when rebates exceed them): those paid in
    /// dollars are in `realized_closed` at once; shares a buy gave up are in the
    /// cost of what it holds, and realised when that is sold or settled.
    pub fees: Decimal,
    /// Fills applied.
    pub fills: u64,
    /// Realised PnL per token (closed, settled or merged; dollar fees
    /// included), kept after the position is gone.
    pub realized_by_token: BTreeMap<TokenId, Decimal>,
    /// What each sale with a venue trade id took out of its holding's cost:
    /// reversing the sale (its trade failed to settle) puts that cost back.
    /// Oldest first, at most [`SALE_COSTS_KEPT`].
    pub sale_costs: VecDeque<(String, Decimal)>,
}

impl Account {
    pub fn holding(&self, token: &TokenId) -> Holding {
        self.holdings.get(token).cloned().unwrap_or_default()
    }

    pub fn realized(&self) -> Decimal {
        self.realized_closed + self.realized_resolution
    }

    /// Applies a fill: buys add the shares received (what matched less the
    /// shares the venue kept as fee) at the cost paid; sells realise against
    /// the average cost. Dollar fees are paid from cash and realised at once.
    pub fn apply_fill(&mut self, fill: &Fill) -> Result<(), PortfolioError> {
        let qty = shares(fill.size);
        let value = notional(fill.price, fill.size);
        match fill.side {
            Side::Buy => {
                let h = self.holdings.entry(fill.token.clone()).or_default();
                h.size = h.size.checked_add(fill.received()).unwrap_or(h.size);
                h.cost += value;
                self.cash -= value;
            }
            Side::Sell => {
                // Checked before anything changes: a refused fill leaves no trace.
                let held = self
                    .holdings
                    .get(&fill.token)
                    .map_or(Size::ZERO, |h| h.size);
                if fill.size > held {
                    return Err(PortfolioError::Oversell {
                        token: fill.token.clone(),
                        sold: qty,
                        held: shares(held),
                    });
                }
                if let Some(h) = self.holdings.get_mut(&fill.token) {
                    let cost_out = if fill.size == h.size {
                        h.cost
                    } else {
                        allocated_cost(h.cost, qty, shares(h.size))
                    };
                    h.size = h.size.saturating_sub(fill.size);
                    h.cost -= cost_out;
                    self.realized_closed += value - cost_out;
                    *self
                        .realized_by_token
                        .entry(fill.token.clone())
                        .or_default() += value - cost_out;
                    self.cash += value;
                    if let Some(trade) = &fill.trade_id {
                        if self.sale_costs.len() >= SALE_COSTS_KEPT {
                            self.sale_costs.pop_front();
                        }
                        self.sale_costs.push_back((trade.clone(), cost_out));
                    }
                    if h.size.is_zero() {
                        self.holdings.remove(&fill.token);
                    }
                }
            }
        }
        self.cash -= fill.fee;
        self.fees += fill.fee_value();
        self.realized_closed -= fill.fee;
        if !fill.fee.is_zero() {
            *self
                .realized_by_token
                .entry(fill.token.clone())
                .or_default() -= fill.fee;
        }
        self.fills += 1;
        Ok(())
    }

    /// Settles a resolved token at `payout` per share ($1 winner, $0 loser).
    pub fn settle(&mut self, token: &TokenId, payout: Price) {
        if let Some(h) = self.holdings.remove(token) {
            let value = notional(payout, h.size);
            self.cash += value;
            self.realized_resolution += value - h.cost;
            *self.realized_by_token.entry(token.clone()).or_default() += value - h.cost;
        }
    }

    /// Complementary pairs held (YES + NO), each redeemable for $1 by merging.
    pub fn mergeable(&self, yes: &TokenId, no: &TokenId) -> Size {
        self.holding(yes).size.min(self.holding(no).size)
    }

    /// Merges `size` pairs into $1 each of cash, realising against both costs.
    pub fn merge(&mut self, yes: &TokenId, no: &TokenId, size: Size) -> Size {
        let size = size.min(self.mergeable(yes, no));
        if size.is_zero() {
            return size;
        }
        let qty = shares(size);
        let mut cost_out = Decimal::ZERO;
        for t in [yes, no] {
            if let Some(h) = self.holdings.get_mut(t) {
                let part = if size == h.size {
                    h.cost
                } else {
                    allocated_cost(h.cost, qty, shares(h.size))
                };
                h.cost -= part;
                h.size = h.size.saturating_sub(size);
                cost_out += part;
                // Each side of the pair is redeemed for half of the dollar.
                *self.realized_by_token.entry(t.clone()).or_default() += qty / Decimal::TWO - part;
                if h.size.is_zero() {
                    self.holdings.remove(t);
                }
            }
        }
        self.cash += qty;
        self.realized_closed += qty - cost_out;
        size
    }

    /// Market value of holdings with `mark` per token (`None` marks at cost).
    pub fn holdings_value(&self, mark: &dyn Fn(&TokenId) -> Option<Price>) -> Decimal {
        self.holdings
            .iter()
            .map(|(t, h)| match mark(t) {
                Some(p) => notional(p, h.size),
                None => h.cost,
            })
            .sum()
    }

    /// Unrealised PnL with `mark` per token.
    pub fn unrealized(&self, mark: &dyn Fn(&TokenId) -> Option<Price>) -> Decimal {
        let cost: Decimal = self.holdings.values().map(|h| h.cost).sum();
        self.holdings_value(mark) - cost
    }

    /// Cash plus holdings at `mark`.
    pub fn equity(&self, mark: &dyn Fn(&TokenId) -> Option<Price>) -> Decimal {
        self.cash + self.holdings_value(mark)
    }
}

mod reversal;
#[cfg(test)]
mod reversal_tests;
#[cfg(test)]
mod tests;
