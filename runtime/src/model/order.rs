//! Orders and fills as the host tracks them, for every venue (simulated or real).
//! Money is exact: prices and sizes in micro-units, fees and cash in `Decimal`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::TokenId;
use super::units_serde::{price, size};
use super::{Price, Side, Size};

/// A deployed strategy instance, numbered by the host.
pub type StrategyId = u32;

/// The host-wide identity of an order: the strategy and its own order id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderKey {
    pub strategy: StrategyId,
    pub client_id: u64,
}

/// How long an order may work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tif", rename_all = "snake_case")]
pub enum TimeInForce {
    Gtc,
    /// Good till this host time (ns).
    Gtd {
        until_ns: u64,
    },
    Fok,
    Fak,
}

/// A limit order after risk checks, ready for a venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub key: OrderKey,
    pub token: TokenId,
    pub side: Side,
    #[serde(with = "price")]
    pub price: Price,
    #[serde(with = "size")]
    pub size: Size,
    pub tif: TimeInForce,
    pub post_only: bool,
    /// Host time the strategy asked for it (ns).
    pub created_ns: u64,
    /// How a venue outside the process will know it (its salt and order id),
    /// stamped before the order is journaled: the durable intent names the
    /// order the venue will see, so a restart can ask for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_ref: Option<VenueRef>,
}

/// A venue's identity of an order, fixed before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueRef {
    /// The client-side salt that makes the signed order unique.
    pub salt: u64,
    /// The venue's order id (Polymarket: the order's EIP-712 hash, 0x hex).
    pub id: String,
}

/// Who provided liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    Maker,
    Taker,
}

/// Why a venue refused an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum VenueReject {
    /// A post-only order would have taken liquidity.
    WouldCross,
    /// Off the tick grid or outside [tick, 1 − tick].
    BadPrice,
    /// Below the market's minimum size.
    BadSize,
    /// The market does not accept orders (closed, resolved, unknown).
    MarketClosed,
    /// A fill-or-kill order could not fill whole, or a fill-and-kill one not
    /// at all.
    Unfillable,
    /// A good-till-date expiry inside the venue's one-minute threshold.
    BadExpiration,
    /// It would have traded against an order of the same account.
    SelfCross,
    /// A marketable buy under the venue's minimum notional.
    MinNotional,
    /// The order's fields break a venue rule (precision, type combinations).
    InvalidPayload,
    /// Its fate was unknown (the answer to sending it was lost) and
    /// reconciliation found the venue never received it.
    NotReceived,
    /// The account's balance or the exchange's allowance does not cover it.
    InsufficientFunds,
    /// The venue said no for another reason.
    Other { message: String },
}

/// Why a working order stopped without filling completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelCause {
    Requested,
    Expired,
    /// FAK/FOK could not fill (further).
    Unfilled,
    /// The venue cancelled it (market closed, tick change, ...).
    Venue,
    /// The host withdrew it: a halt, reduce-only trading, the strategy's daily
    /// loss limit, stale market data, a fault, a pause or a retirement.
    Host,
}

/// One execution of (part of) an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub key: OrderKey,
    pub token: TokenId,
    pub side: Side,
    #[serde(with = "price")]
    pub price: Price,
    #[serde(with = "size")]
    pub size: Size,
    /// Fee paid in dollars; negative for a maker rebate.
    pub fee: Decimal,
    /// Fee the venue took in shares: on a buy it keeps these out of `size`, so
    /// the buyer receives `size − fee_shares`.
    #[serde(with = "size", default)]
    pub fee_shares: Size,
    pub liquidity: Liquidity,
    /// Size of the order still open after this fill.
    #[serde(with = "size")]
    pub remaining: Size,
    /// Host time of the fill (ns).
    pub ts_ns: u64,
    /// The venue's id of the trade (a remote venue; the simulator has none):
    /// what makes a fill reported twice, or again by reconciliation, one fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_id: Option<String>,
    /// How the host learned of it.
    #[serde(default, skip_serializing_if = "FillCause::is_reported")]
    pub cause: FillCause,
}

/// How the host learned of a fill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillCause {
    /// The venue reported it as it happened.
    #[default]
    Reported,
    /// Reconciliation found it at the venue (made while the host was down or
    /// its report was lost).
    Reconciled,
}

impl FillCause {
    fn is_reported(&self) -> bool {
        *self == FillCause::Reported
    }
}

impl Fill {
    /// The whole fee in dollars: what was paid in dollars plus the shares kept,
    /// valued at the fill price.
    pub fn fee_value(&self) -> Decimal {
        self.fee + crate::model::money::notional(self.price, self.fee_shares)
    }

    /// Shares the buyer receives (a sell delivers `size`).
    pub fn received(&self) -> Size {
        self.size.saturating_sub(self.fee_shares)
    }
}

/// What a venue reports about orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderEvent {
    Accepted {
        key: OrderKey,
        ts_ns: u64,
    },
    Rejected {
        key: OrderKey,
        reject: VenueReject,
        /// The venue's own words, when it gave them.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
        ts_ns: u64,
    },
    Filled(Fill),
    Cancelled {
        key: OrderKey,
        cause: CancelCause,
        #[serde(with = "size")]
        unfilled: Size,
        ts_ns: u64,
    },
    /// Sent, but the venue's answer was lost (a transport error after the
    /// request left). It counts as working — against exposure and open-order
    /// limits — until reconciliation says what it is, and is never sent again.
    Unknown {
        key: OrderKey,
        /// What went wrong, in the transport's words.
        reason: String,
        ts_ns: u64,
    },
    /// A fill booked earlier did not happen: the venue's settlement of its
    /// trade failed (Polymarket: RETRYING, then FAILED), so the trade is void.
    /// The order's size the trade took does not come back to it (the venue
    /// does not put it back on the book).
    FillReversed {
        key: OrderKey,
        trade_id: String,
        /// The fill as the host booked it: a venue leaves it out, the engine
        /// puts its own record in before journaling, so the entry alone says
        /// what is undone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fill: Option<Fill>,
        /// Size of the order still open (the reversal does not change it).
        #[serde(with = "size", default)]
        remaining: Size,
        ts_ns: u64,
    },
}

impl OrderEvent {
    pub fn key(&self) -> OrderKey {
        match self {
            OrderEvent::Accepted { key, .. }
            | OrderEvent::Rejected { key, .. }
            | OrderEvent::Cancelled { key, .. }
            | OrderEvent::Unknown { key, .. }
            | OrderEvent::FillReversed { key, .. } => *key,
            OrderEvent::Filled(f) => f.key,
        }
    }
}
