//! One binary market as engine and venue both need it: its condition, its two
//! tokens (YES first), tick, minimum size and fees.

use crate::data::archive::MarketMeta;
use crate::model::{ConditionId, Price, Size, TokenId};
use crate::venue::polymarket::http::markets::DiscoveredMarket;

/// One binary market, as listed by the venue or recorded in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSpec {
    pub condition: ConditionId,
    /// The venue's slug (empty when the data did not carry it).
    pub slug: String,
    pub question: String,
    /// (token, outcome), YES first.
    pub tokens: [(TokenId, String); 2],
    pub tick: Price,
    pub min_size: Size,
    pub fees: crate::execution::fees::FeeSchedule,
    /// Traded on the neg-risk exchange (orders are signed for its contract).
    pub neg_risk: bool,
}

impl From<&MarketMeta> for MarketSpec {
    fn from(m: &MarketMeta) -> MarketSpec {
        MarketSpec {
            condition: m.condition.clone(),
            slug: m.slug.clone(),
            question: m.question.clone(),
            tokens: m.tokens.clone(),
            tick: m.tick,
            min_size: m.min_size,
            fees: m.fees(),
            neg_risk: m.neg_risk,
        }
    }
}

impl From<&DiscoveredMarket> for MarketSpec {
    fn from(m: &DiscoveredMarket) -> MarketSpec {
        MarketSpec::from(&MarketMeta::from(m))
    }
}

impl MarketSpec {
    /// Whether `selector` names this market: its condition id, its slug, or
    /// text found in its question (case-insensitive).
    pub fn matches(&self, selector: &str) -> bool {
        let sel = selector.trim().to_lowercase();
        !sel.is_empty()
            && (self.condition.as_str() == sel
                || self.slug.to_lowercase() == sel
                || self.question.to_lowercase().contains(&sel))
    }
}
