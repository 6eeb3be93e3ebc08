//! The exchange's configuration: funded accounts, chain id, settlement delays,
//! the heartbeat timeout and the per-key rate limits.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy_primitives::Address;

use crate::model::TokenId;

/// One funded account (a maker/funder address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    /// pUSD collateral in 6-decimal units.
    pub collateral: u64,
    /// Initial outcome-token positions in 6-decimal units.
    pub positions: BTreeMap<TokenId, u64>,
    /// Collateral allowance granted to the exchange; `None` = unlimited.
    pub allowance: Option<u64>,
    /// Only orders that reduce a position are accepted.
    pub closed_only: bool,
    /// No orders at all.
    pub banned: bool,
}

/// Token-bucket parameters of one class of trading calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens added per second.
    pub refill_per_s: u32,
    /// Most tokens held.
    pub burst: u32,
}

/// The trading side of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeConfig {
    pub chain_id: u64,
    pub accounts: BTreeMap<Address, AccountConfig>,
    /// Wall time from MATCHED to MINED.
    pub mined_after_ms: u64,
    /// Wall time from MATCHED to CONFIRMED (or FAILED).
    pub confirmed_after_ms: u64,
    /// Silence after a key's last heartbeat that cancels its open orders.
    pub heartbeat_timeout_ms: u64,
    /// L1/L2 timestamps may differ from the sim clock by at most this.
    pub auth_window_s: u64,
    /// `POST /order(s)` bucket per API key (Standard tier by default).
    pub order_bucket: Bucket,
    /// Cancel-route bucket per API key.
    pub cancel_bucket: Bucket,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            chain_id: 137,
            accounts: BTreeMap::new(),
            mined_after_ms: 200,
            confirmed_after_ms: 400,
            heartbeat_timeout_ms: 10_000,
            auth_window_s: 300,
            order_bucket: Bucket {
                refill_per_s: 40,
                burst: 60,
            },
            cancel_bucket: Bucket {
                refill_per_s: 80,
                burst: 120,
            },
        }
    }
}

/// A `--fund` argument that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--fund `{arg}`: {reason}")]
pub struct FundError {
    pub arg: String,
    pub reason: &'static str,
}

/// Parses `0xADDR=DOLLARS` (dollars with up to six decimals) into an address and
/// 6-decimal collateral units.
pub fn parse_fund(arg: &str) -> Result<(Address, u64), FundError> {
    let bad = |reason| FundError {
        arg: arg.chars().take(120).collect(),
        reason,
    };
    let (addr, amount) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected 0xADDRESS=DOLLARS"))?;
    if !addr.starts_with("0x") {
        return Err(bad("the address must be 0x-prefixed hex"));
    }
    let address = Address::from_str(addr).map_err(|_| bad("not a 20-byte hex address"))?;
    let dollars = rust_decimal::Decimal::from_str(amount.trim())
        .map_err(|_| bad("amount is not a decimal"))?;
    if dollars.is_sign_negative() || dollars.scale() > 6 {
        return Err(bad("amount must be non-negative with at most 6 decimals"));
    }
    let units = rust_decimal::prelude::ToPrimitive::to_u64(
        &(dollars * rust_decimal::Decimal::from(1_000_000)),
    )
    .ok_or_else(|| bad("amount is too large"))?;
    Ok((address, units))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fund_arguments() {
        let (a, u) = parse_fund("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266=1000.5").unwrap();
        assert_eq!(
            a.to_checksum(None),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(u, 1_000_500_000);
        assert!(parse_fund("0xf39F=1").is_err());
        assert!(parse_fund("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266=-1").is_err());
        assert!(parse_fund("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266=1").is_err());
        assert!(parse_fund("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").is_err());
    }
}
