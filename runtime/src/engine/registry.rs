//! The markets a run trades and the dense instrument ids strategies see: tokens
//! are numbered in market order (YES then NO), markets by position.

use std::collections::BTreeMap;

use crate::model::TokenId;
use crate::strategy::bindings::types::InstrumentInfo;
use crate::venue::MarketSpec;

/// Token ↔ instrument id ↔ market.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    markets: Vec<MarketSpec>,
    by_token: BTreeMap<TokenId, u32>,
}

impl Registry {
    pub fn new(markets: Vec<MarketSpec>) -> Registry {
        let mut by_token = BTreeMap::new();
        for (m, spec) in markets.iter().enumerate() {
            for (k, (t, _)) in spec.tokens.iter().enumerate() {
                by_token.insert(t.clone(), (m * 2 + k) as u32);
            }
        }
        Registry { markets, by_token }
    }

    /// Appends the markets of `specs` it does not have (instrument ids of
    /// the others never change); the ones added.
    pub fn extend(&mut self, specs: &[MarketSpec]) -> Vec<MarketSpec> {
        let mut added = Vec::new();
        for spec in specs {
            if self.markets.iter().any(|m| m.condition == spec.condition) {
                continue;
            }
            let m = self.markets.len();
            for (k, (t, _)) in spec.tokens.iter().enumerate() {
                self.by_token.insert(t.clone(), (m * 2 + k) as u32);
            }
            self.markets.push(spec.clone());
            added.push(spec.clone());
        }
        added
    }

    pub fn markets(&self) -> &[MarketSpec] {
        &self.markets
    }

    pub fn instrument(&self, token: &TokenId) -> Option<u32> {
        self.by_token.get(token).copied()
    }

    pub fn token(&self, instrument: u32) -> Option<&TokenId> {
        let m = self.markets.get((instrument / 2) as usize)?;
        m.tokens.get((instrument % 2) as usize).map(|(t, _)| t)
    }

    /// The market of an instrument and its index.
    pub fn market_of(&self, instrument: u32) -> Option<(u32, &MarketSpec)> {
        let i = instrument / 2;
        self.markets.get(i as usize).map(|m| (i, m))
    }

    pub fn market_by_index(&self, market: u32) -> Option<&MarketSpec> {
        self.markets.get(market as usize)
    }

    pub fn spec_of_token(&self, token: &TokenId) -> Option<&MarketSpec> {
        self.instrument(token)
            .and_then(|i| self.market_of(i))
            .map(|(_, m)| m)
    }

    /// Every (instrument, token), in instrument order, without copying.
    pub fn instruments(&self) -> impl Iterator<Item = (u32, &TokenId)> {
        self.markets.iter().enumerate().flat_map(|(m, spec)| {
            spec.tokens
                .iter()
                .enumerate()
                .map(move |(k, (t, _))| ((m * 2 + k) as u32, t))
        })
    }

    /// The instruments of the markets `selectors` name (all of them when
    /// there are none); `Err` names a selector that matches no market.
    pub fn instruments_of(
        &self,
        selectors: &[String],
    ) -> Result<std::collections::BTreeSet<u32>, String> {
        for sel in selectors {
            if !self.markets.iter().any(|m| m.matches(sel)) {
                return Err(format!(
                    "market `{sel}` matches no market traded here (by condition id, slug or question)"
                ));
            }
        }
        Ok(self
            .markets
            .iter()
            .enumerate()
            .filter(|(_, m)| selectors.is_empty() || selectors.iter().any(|s| m.matches(s)))
            .flat_map(|(i, _)| [i as u32 * 2, i as u32 * 2 + 1])
            .collect())
    }

    pub fn tokens(&self) -> Vec<TokenId> {
        self.by_token.keys().cloned().collect()
    }

    /// What strategies receive at `init`.
    pub fn instrument_infos(&self) -> Vec<InstrumentInfo> {
        let mut out = Vec::new();
        for (m, spec) in self.markets.iter().enumerate() {
            for (k, (token, outcome)) in spec.tokens.iter().enumerate() {
                let id = (m * 2 + k) as u32;
                out.push(InstrumentInfo {
                    id,
                    market: m as u32,
                    token: token.to_string(),
                    outcome: outcome.clone(),
                    question: spec.question.clone(),
                    complement: Some(id ^ 1),
                    tick: spec.tick.micros(),
                    min_size: spec.min_size.micros(),
                    taker_fee_rate: spec.fees.rate_millionths,
                });
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{ConditionId, Price, Size};

    /// A market numbered `n` (tokens `100 + 2n` and `101 + 2n`).
    pub(crate) fn spec(n: u32) -> MarketSpec {
        MarketSpec {
            slug: format!("market-{n}"),
            condition: ConditionId::parse(&format!("0x{n:064x}")).unwrap(),
            question: format!("q{n}"),
            tokens: [
                (
                    TokenId::parse(&format!("{}", 100 + n * 2)).unwrap(),
                    "Yes".into(),
                ),
                (
                    TokenId::parse(&format!("{}", 101 + n * 2)).unwrap(),
                    "No".into(),
                ),
            ],
            tick: Price::new(10_000).unwrap(),
            min_size: Size::from_shares(5).unwrap(),
            neg_risk: false,
            fees: crate::execution::fees::FeeSchedule {
                rate_millionths: 70_000,
                exponent: 1,
                taker_only: true,
                rebate_millionths: 200_000,
            },
        }
    }

    #[test]
    fn ids_are_dense_and_complementary() {
        let r = Registry::new(vec![spec(0), spec(1)]);
        let infos = r.instrument_infos();
        assert_eq!(infos.len(), 4);
        assert_eq!(infos[3].id, 3);
        assert_eq!(infos[3].market, 1);
        assert_eq!(infos[3].complement, Some(2));
        assert_eq!(infos[0].taker_fee_rate, 70_000);
        let t = r.token(3).unwrap().clone();
        assert_eq!(r.instrument(&t), Some(3));
        assert_eq!(r.token(4), None);
        let one = r.instruments_of(&["market-1".into()]).unwrap();
        assert_eq!(one.into_iter().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(r.instruments_of(&[]).unwrap().len(), 4);
        assert!(
            r.instruments_of(&["nope".into()])
                .unwrap_err()
                .contains("`nope`")
        );
    }
}
