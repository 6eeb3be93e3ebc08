//! Foreign orders: open orders on the venue's account that the host did not
//! place (a crashed run's leftovers, a second process, a human), what the
//! config says to do with them, and what the host did.

use serde::{Deserialize, Serialize};

use crate::model::units_serde::{price, size};
use crate::model::{Price, Side, Size, TokenId};

/// An open order on the account that no order of the host names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignOrder {
    /// The venue's order id.
    pub venue_id: String,
    pub token: TokenId,
    pub side: Side,
    #[serde(with = "price")]
    pub price: Price,
    /// The size it was placed with, and what is left of it.
    #[serde(with = "size")]
    pub size: Size,
    #[serde(with = "size")]
    pub remaining: Size,
}

/// What to do with foreign orders (`live.foreign_orders`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignPolicy {
    /// Cancel them at the venue: on a bot's account an order nobody knows is
    /// most likely a crashed run's or a second process's, and it spends the
    /// account's money outside every limit.
    #[default]
    Cancel,
    /// Keep them, counted against the global exposure and open-order limits
    /// so the engine never exceeds a limit because of them.
    Adopt,
    /// Report and count them; do nothing.
    Leave,
}

impl ForeignPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ForeignPolicy::Cancel => "cancel",
            ForeignPolicy::Adopt => "adopt",
            ForeignPolicy::Leave => "leave",
        }
    }
}

/// What the host did about one foreign order (journaled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignAction {
    /// Cancelled at the venue.
    Cancelled,
    /// The cancel failed; it is tried again at the next reconciliation and
    /// counts against the global limits meanwhile.
    CancelFailed,
    /// Counted against the global limits from now on.
    Adopted,
    /// Seen and left alone.
    Left,
    /// An adopted order no longer open at the venue: no longer counted.
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_reads_as_the_config_spells_it() {
        let p: ForeignPolicy = serde_json::from_str("\"adopt\"").unwrap();
        assert_eq!(p, ForeignPolicy::Adopt);
        assert_eq!(ForeignPolicy::default(), ForeignPolicy::Cancel);
        assert!(serde_json::from_str::<ForeignPolicy>("\"keep\"").is_err());
        assert_eq!(
            serde_json::to_string(&ForeignAction::CancelFailed).unwrap(),
            "\"cancel_failed\""
        );
    }
}
