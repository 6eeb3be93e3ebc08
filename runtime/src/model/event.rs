//! Normalised market-data events: what the venue said, in exact units, before any
//! book or quality logic. Venue adapters produce them; books, checks, the archive
//! and the engine consume them.

use serde::{Deserialize, Serialize};

use super::ids::{ConditionId, TokenId};
use super::units_serde::{opt_price, price, size};
use super::{Price, Size};

/// Side of a book level or a taker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// One price level: the total size resting at a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookLevel {
    #[serde(with = "price")]
    pub price: Price,
    #[serde(with = "size")]
    pub size: Size,
}

/// A level's new total size (zero removes the level), as `price_change` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    pub token: TokenId,
    pub side: Side,
    #[serde(with = "price")]
    pub price: Price,
    #[serde(with = "size")]
    pub size: Size,
    /// The venue's best prices after the change, when it says.
    #[serde(with = "opt_price")]
    pub best_bid: Option<Price>,
    #[serde(with = "opt_price")]
    pub best_ask: Option<Price>,
}

/// A market-data message from the venue, normalised. Serialised (for the archive)
/// with prices and sizes as integer micro-units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MarketEvent {
    /// Full book of one token.
    Book {
        token: TokenId,
        market: ConditionId,
        ts_ms: u64,
        bids: Vec<BookLevel>,
        asks: Vec<BookLevel>,
        hash: Option<String>,
        #[serde(with = "opt_price")]
        tick: Option<Price>,
    },
    /// Level changes, possibly across several tokens of one market.
    PriceChange {
        market: ConditionId,
        ts_ms: u64,
        changes: Vec<LevelChange>,
    },
    /// A trade printed.
    LastTrade {
        token: TokenId,
        market: ConditionId,
        ts_ms: u64,
        #[serde(with = "price")]
        price: Price,
        #[serde(with = "size")]
        size: Size,
        side: Option<Side>,
    },
    /// The minimum price increment changed.
    TickSize {
        token: TokenId,
        market: ConditionId,
        ts_ms: u64,
        #[serde(with = "price")]
        old: Price,
        #[serde(with = "price")]
        new: Price,
    },
    /// The venue's own view of the top of book.
    BestBidAsk {
        token: TokenId,
        market: ConditionId,
        ts_ms: u64,
        #[serde(with = "opt_price")]
        bid: Option<Price>,
        #[serde(with = "opt_price")]
        ask: Option<Price>,
    },
    /// A market was created.
    NewMarket {
        market: ConditionId,
        ts_ms: u64,
        question: String,
        slug: String,
        tokens: Vec<TokenId>,
        outcomes: Vec<String>,
        #[serde(with = "opt_price")]
        tick: Option<Price>,
    },
    /// A market resolved: `winner` pays $1 a share and the others nothing,
    /// unless `payouts` says otherwise (a 50-50 resolution pays 0.5 each).
    Resolved {
        market: ConditionId,
        ts_ms: u64,
        tokens: Vec<TokenId>,
        winner: TokenId,
        winning_outcome: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        payouts: Vec<Payout>,
    },
}

/// What one share of a token pays at resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub token: TokenId,
    #[serde(with = "price")]
    pub payout: Price,
}

/// Each token's payout per share: `payouts` when given, else $1 for the
/// winner and nothing for the others.
pub fn payouts_of(
    winner: &TokenId,
    tokens: &[TokenId],
    payouts: &[Payout],
) -> Vec<(TokenId, Price)> {
    tokens
        .iter()
        .map(|t| {
            let p = match payouts.iter().find(|p| &p.token == t) {
                Some(p) => p.payout,
                None if payouts.is_empty() && t == winner => Price::ONE,
                None => Price::ZERO,
            };
            (t.clone(), p)
        })
        .collect()
}

impl MarketEvent {
    /// The venue timestamp in milliseconds.
    pub fn ts_ms(&self) -> u64 {
        match self {
            MarketEvent::Book { ts_ms, .. }
            | MarketEvent::PriceChange { ts_ms, .. }
            | MarketEvent::LastTrade { ts_ms, .. }
            | MarketEvent::TickSize { ts_ms, .. }
            | MarketEvent::BestBidAsk { ts_ms, .. }
            | MarketEvent::NewMarket { ts_ms, .. }
            | MarketEvent::Resolved { ts_ms, .. } => *ts_ms,
        }
    }

    /// The market (condition) the event concerns.
    pub fn market(&self) -> &ConditionId {
        match self {
            MarketEvent::Book { market, .. }
            | MarketEvent::PriceChange { market, .. }
            | MarketEvent::LastTrade { market, .. }
            | MarketEvent::TickSize { market, .. }
            | MarketEvent::BestBidAsk { market, .. }
            | MarketEvent::NewMarket { market, .. }
            | MarketEvent::Resolved { market, .. } => market,
        }
    }

    /// Short name of the kind, as counters and logs use it.
    pub fn kind(&self) -> &'static str {
        match self {
            MarketEvent::Book { .. } => "book",
            MarketEvent::PriceChange { .. } => "price_change",
            MarketEvent::LastTrade { .. } => "last_trade_price",
            MarketEvent::TickSize { .. } => "tick_size_change",
            MarketEvent::BestBidAsk { .. } => "best_bid_ask",
            MarketEvent::NewMarket { .. } => "new_market",
            MarketEvent::Resolved { .. } => "market_resolved",
        }
    }
}
