//! The markets a recording shows, for runs over recordings without the venue's
//! listing: tokens grouped by market (a `new_market` message's list when one
//! was seen, else the order books appeared in), outcomes, and each token's last
//! tick. Summaries of consecutive days merge into the summary of both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ConditionId, MarketEvent, Price, TokenId};

/// A binary market as a recording shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenMarket {
    pub condition: ConditionId,
    /// (token, outcome) in the listing's order.
    pub tokens: [(TokenId, String); 2],
    /// The first token's last tick, if a book said.
    pub tick: Option<Price>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketsSeen {
    /// Tokens per market in the order their books first appeared.
    books: BTreeMap<ConditionId, Vec<TokenId>>,
    /// The last `new_market` message of a binary market: tokens and outcomes.
    listed: BTreeMap<ConditionId, (Vec<TokenId>, Vec<String>)>,
    /// Each token's last tick (micro-dollars), from its books.
    ticks: BTreeMap<TokenId, u32>,
}

impl MarketsSeen {
    pub fn observe(&mut self, e: &MarketEvent) {
        match e {
            MarketEvent::Book {
                token,
                market,
                tick,
                ..
            } => {
                let list = self.books.entry(market.clone()).or_default();
                if !list.contains(token) {
                    list.push(token.clone());
                }
                if let Some(t) = tick {
                    self.ticks.insert(token.clone(), t.micros());
                }
            }
            MarketEvent::NewMarket {
                market,
                tokens,
                outcomes,
                ..
            } if tokens.len() == 2 => {
                self.listed
                    .insert(market.clone(), (tokens.clone(), outcomes.clone()));
            }
            _ => {}
        }
    }

    /// Adds what a later stretch of the recording showed.
    pub fn merge(&mut self, later: &MarketsSeen) {
        for (market, tokens) in &later.books {
            let list = self.books.entry(market.clone()).or_default();
            for t in tokens {
                if !list.contains(t) {
                    list.push(t.clone());
                }
            }
        }
        for (market, listed) in &later.listed {
            self.listed.insert(market.clone(), listed.clone());
        }
        for (token, tick) in &later.ticks {
            self.ticks.insert(token.clone(), *tick);
        }
    }

    /// The binary markets, by condition id.
    pub fn binary(&self) -> Vec<SeenMarket> {
        let mut conditions: Vec<&ConditionId> =
            self.books.keys().chain(self.listed.keys()).collect();
        conditions.sort();
        conditions.dedup();
        conditions
            .into_iter()
            .filter_map(|condition| {
                let (tokens, outcomes) = match self.listed.get(condition) {
                    Some((t, o)) => (t.as_slice(), o.clone()),
                    None => (
                        self.books.get(condition).map_or(&[][..], |t| t.as_slice()),
                        vec!["Yes".into(), "No".into()],
                    ),
                };
                let [yes, no] = tokens else {
                    return None;
                };
                Some(SeenMarket {
                    tick: self.ticks.get(yes).copied().and_then(Price::new),
                    tokens: [
                        (yes.clone(), outcomes.first().cloned().unwrap_or_default()),
                        (no.clone(), outcomes.get(1).cloned().unwrap_or_default()),
                    ],
                    condition: condition.clone(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(token: &str, market: &ConditionId, tick: u32) -> MarketEvent {
        MarketEvent::Book {
            token: TokenId::parse(token).unwrap(),
            market: market.clone(),
            ts_ms: 1,
            bids: Vec::new(),
            asks: Vec::new(),
            hash: None,
            tick: Price::new(tick),
        }
    }

    #[test]
    fn days_merge_into_what_one_pass_sees() {
        let m = ConditionId::parse(&format!("0x{}", "ab".repeat(32))).unwrap();
        let lone = ConditionId::parse(&format!("0x{}", "cd".repeat(32))).unwrap();
        let events = [
            book("1", &m, 10_000),
            book("5", &lone, 10_000),
            book("2", &m, 10_000),
            book("1", &m, 1_000),
        ];
        let mut whole = MarketsSeen::default();
        events.iter().for_each(|e| whole.observe(e));
        let (mut first, mut second) = (MarketsSeen::default(), MarketsSeen::default());
        events[..2].iter().for_each(|e| first.observe(e));
        events[2..].iter().for_each(|e| second.observe(e));
        first.merge(&second);
        assert_eq!(first, whole);
        let specs = whole.binary();
        // The market with one token is not binary.
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].tokens[0].0.as_str(), "1");
        assert_eq!(specs[0].tokens[1].1, "No");
        assert_eq!(specs[0].tick, Price::new(1_000));
        // A listing names the outcomes and wins over the books' order.
        whole.observe(&MarketEvent::NewMarket {
            market: m.clone(),
            ts_ms: 2,
            question: "q".into(),
            slug: "s".into(),
            tokens: vec![TokenId::parse("2").unwrap(), TokenId::parse("1").unwrap()],
            outcomes: vec!["Up".into(), "Down".into()],
            tick: None,
        });
        let specs = whole.binary();
        assert_eq!(specs[0].tokens[0].0.as_str(), "2");
        assert_eq!(specs[0].tokens[0].1, "Up");
    }
}
