//! Balances per funder address: pUSD collateral and outcome-token positions in
//! 6-decimal units, less what open orders reserve.

use std::collections::BTreeMap;

use alloy_primitives::Address;

use super::config::AccountConfig;
use super::records::ExOrder;
use crate::model::{Side, TokenId};

/// One funder's holdings.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub collateral: i128,
    pub positions: BTreeMap<TokenId, i128>,
    pub allowance: Option<u64>,
    pub closed_only: bool,
    pub banned: bool,
}

impl Ledger {
    pub fn from_config(c: &AccountConfig) -> Ledger {
        Ledger {
            collateral: i128::from(c.collateral),
            positions: c
                .positions
                .iter()
                .map(|(t, u)| (t.clone(), i128::from(*u)))
                .collect(),
            allowance: c.allowance,
            closed_only: c.closed_only,
            banned: c.banned,
        }
    }

    pub fn position(&self, token: &TokenId) -> i128 {
        self.positions.get(token).copied().unwrap_or(0)
    }

    pub fn add_position(&mut self, token: &TokenId, delta: i128) {
        *self.positions.entry(token.clone()).or_insert(0) += delta;
    }
}

/// Collateral units open BUY orders of `maker` hold back.
pub fn reserved_collateral<'a>(orders: impl Iterator<Item = &'a ExOrder>, maker: Address) -> i128 {
    orders
        .filter(|o| o.maker == maker && o.is_open() && o.side == Side::Buy)
        .map(|o| i128::from(o.remaining().notional_micros(o.price)))
        .sum()
}

/// Shares of `token` open SELL orders of `maker` hold back.
pub fn reserved_shares<'a>(
    orders: impl Iterator<Item = &'a ExOrder>,
    maker: Address,
    token: &TokenId,
) -> i128 {
    orders
        .filter(|o| o.maker == maker && o.is_open() && o.side == Side::Sell && &o.asset_id == token)
        .map(|o| i128::from(o.remaining().micros()))
        .sum()
}
