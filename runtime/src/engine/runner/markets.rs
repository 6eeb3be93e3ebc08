//! Which of the venue's open markets a session trades: `all`, or a list of
//! slugs and condition ids, applied at start and at every refresh.

use crate::venue::polymarket::http::client::HttpError;
use crate::venue::polymarket::http::client::PolymarketHttp;
use crate::venue::polymarket::http::markets::{DiscoveredMarket, open_markets};

/// Open markets listed at most (Gamma pages of 100).
pub const MAX_MARKETS: usize = 5_000;

/// The session's market filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSelector {
    wanted: Vec<String>,
}

impl MarketSelector {
    /// From the `--markets` flag: `all`, or comma-separated slugs and
    /// condition ids.
    pub fn parse(flag: &str) -> MarketSelector {
        MarketSelector {
            wanted: flag
                .split(',')
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }

    pub fn all() -> MarketSelector {
        MarketSelector::parse("all")
    }

    pub fn selects(&self, m: &DiscoveredMarket) -> bool {
        self.wanted
            .iter()
            .any(|w| w == "all" || *w == m.slug || w.eq_ignore_ascii_case(m.condition.as_str()))
    }

    /// The venue's open markets this selector picks, in the venue's order.
    pub async fn open_on(&self, http: &PolymarketHttp) -> Result<Vec<DiscoveredMarket>, HttpError> {
        Ok(open_markets(http, MAX_MARKETS)
            .await?
            .into_iter()
            .filter(|m| self.selects(m))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::fees::FeeSchedule;
    use crate::model::{ConditionId, Price, Size, TokenId};

    fn market(slug: &str, n: u32) -> DiscoveredMarket {
        DiscoveredMarket {
            condition: ConditionId::parse(&format!("0x{n:064x}")).unwrap(),
            slug: slug.to_string(),
            question: format!("{slug}?"),
            tokens: [
                (TokenId::parse(&format!("{}", 2 * n)).unwrap(), "Yes".into()),
                (
                    TokenId::parse(&format!("{}", 2 * n + 1)).unwrap(),
                    "No".into(),
                ),
            ],
            tick: Price::new(10_000).unwrap(),
            min_size: Size::from_shares(5).unwrap(),
            closed: false,
            fees: FeeSchedule::FREE,
            neg_risk: false,
        }
    }

    #[test]
    fn selects_all_or_by_slug_or_condition() {
        let a = market("will-it-rain", 1);
        let b = market("will-it-snow", 2);
        assert!(MarketSelector::all().selects(&a));
        let by_slug = MarketSelector::parse("will-it-snow");
        assert!(!by_slug.selects(&a) && by_slug.selects(&b));
        let by_condition = MarketSelector::parse(&format!(" x , 0X{:064X}", 1u32));
        assert!(by_condition.selects(&a) && !by_condition.selects(&b));
        assert!(!MarketSelector::parse(" , ").selects(&a));
    }
}
