//! Positions, cash and PnL per strategy, settlement at resolution, merging of
//! complementary pairs. Exact money throughout (`rust_decimal`).

pub mod account;

use std::collections::BTreeMap;

pub use account::{Account, Holding, PortfolioError};

use crate::model::{Fill, Price, StrategyId, TokenId};

/// Every strategy's account.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Portfolio {
    accounts: BTreeMap<StrategyId, Account>,
}

impl Portfolio {
    pub fn account(&self, strategy: StrategyId) -> Option<&Account> {
        self.accounts.get(&strategy)
    }

    pub fn account_mut(&mut self, strategy: StrategyId) -> &mut Account {
        self.accounts.entry(strategy).or_default()
    }

    pub fn accounts(&self) -> impl Iterator<Item = (&StrategyId, &Account)> {
        self.accounts.iter()
    }

    pub fn apply_fill(&mut self, fill: &Fill) -> Result<(), PortfolioError> {
        self.account_mut(fill.key.strategy).apply_fill(fill)
    }

    /// Undoes a fill booked earlier (its trade failed to settle).
    pub fn reverse_fill(&mut self, fill: &Fill) -> Result<(), PortfolioError> {
        self.account_mut(fill.key.strategy).reverse_fill(fill)
    }

    /// Settles a resolved token in every account.
    pub fn settle(&mut self, token: &TokenId, payout: Price) {
        for a in self.accounts.values_mut() {
            a.settle(token, payout);
        }
    }
}
