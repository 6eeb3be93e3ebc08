//! `GET /book` and `/books`: the `OrderBookSummary` shape, its conversion to a book
//! snapshot event, and the venue's book hash (SHA-1 over a fixed compact JSON).

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::model::{BookLevel, ConditionId, MarketEvent, Price, Size, TokenId};

/// One level as the venue writes it (decimal strings, kept verbatim for the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLevel {
    pub price: String,
    pub size: String,
}

/// The venue's book summary. Optional fields are absent in some captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBookSummary {
    pub market: String,
    pub asset_id: String,
    pub timestamp: String,
    #[serde(default)]
    pub hash: String,
    pub bids: Vec<WireLevel>,
    pub asks: Vec<WireLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_order_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_risk: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_trade_price: Option<String>,
}

/// Why a summary could not become a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("book summary for `{asset_id}`: bad `{field}` (`{value}`): {reason}")]
pub struct SummaryError {
    pub asset_id: String,
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

impl OrderBookSummary {
    fn err(&self, field: &'static str, value: &str, reason: impl ToString) -> SummaryError {
        SummaryError {
            asset_id: self.asset_id.chars().take(80).collect(),
            field,
            value: value.chars().take(80).collect(),
            reason: reason.to_string(),
        }
    }

    fn levels(
        &self,
        field: &'static str,
        wire: &[WireLevel],
    ) -> Result<Vec<BookLevel>, SummaryError> {
        wire.iter()
            .map(|l| {
                Ok(BookLevel {
                    price: Price::from_str(&l.price).map_err(|e| self.err(field, &l.price, e))?,
                    size: Size::from_str(&l.size).map_err(|e| self.err(field, &l.size, e))?,
                })
            })
            .collect()
    }

    /// The summary as a book snapshot event.
    pub fn to_event(&self) -> Result<MarketEvent, SummaryError> {
        Ok(MarketEvent::Book {
            token: TokenId::parse(&self.asset_id)
                .map_err(|e| self.err("asset_id", &self.asset_id, e))?,
            market: ConditionId::parse(&self.market)
                .map_err(|e| self.err("market", &self.market, e))?,
            ts_ms: self
                .timestamp
                .parse()
                .map_err(|e| self.err("timestamp", &self.timestamp, e))?,
            bids: self.levels("bids", &self.bids)?,
            asks: self.levels("asks", &self.asks)?,
            hash: (!self.hash.is_empty()).then(|| self.hash.clone()),
            tick: match self.tick_size.as_deref() {
                None | Some("") => None,
                Some(t) => Some(Price::from_str(t).map_err(|e| self.err("tick_size", t, e))?),
            },
        })
    }

    /// The venue's hash of this summary: SHA-1 (hex) of the compact JSON of
    /// `{market, asset_id, timestamp, hash: "", bids, asks, min_order_size,
    /// tick_size, neg_risk, last_trade_price}` in exactly that order. `None` when a
    /// field the hash covers is missing (some captures drop them).
    pub fn venue_hash(&self) -> Option<String> {
        #[derive(Serialize)]
        struct Hashed<'a> {
            market: &'a str,
            asset_id: &'a str,
            timestamp: &'a str,
            hash: &'a str,
            bids: &'a [WireLevel],
            asks: &'a [WireLevel],
            min_order_size: &'a str,
            tick_size: &'a str,
            neg_risk: bool,
            last_trade_price: &'a str,
        }
        let doc = Hashed {
            market: &self.market,
            asset_id: &self.asset_id,
            timestamp: &self.timestamp,
            hash: "",
            bids: &self.bids,
            asks: &self.asks,
            min_order_size: self.min_order_size.as_deref()?,
            tick_size: self.tick_size.as_deref()?,
            neg_risk: self.neg_risk?,
            last_trade_price: self.last_trade_price.as_deref()?,
        };
        let json = serde_json::to_string(&doc).ok()?;
        Some(hex::encode(Sha1::digest(json.as_bytes())))
    }

    /// `Some(true)` if the stated hash matches, `Some(false)` if not, `None` if the
    /// summary lacks what the hash covers.
    pub fn hash_matches(&self) -> Option<bool> {
        self.venue_hash().map(|h| h == self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> OrderBookSummary {
        OrderBookSummary {
            market: "0x1a4f04c2e6c000d9fc524eb12e7333217411a226c34745af140f195c0227cd5f".into(),
            asset_id:
                "23360939988679364027624185518382759743328544433592111535569478055890815567848"
                    .into(),
            timestamp: "1728799418260".into(),
            hash: String::new(),
            bids: vec![WireLevel {
                price: "0.1".into(),
                size: "125".into(),
            }],
            asks: vec![WireLevel {
                price: "0.14".into(),
                size: "705".into(),
            }],
            min_order_size: Some("5".into()),
            tick_size: Some("0.01".into()),
            neg_risk: Some(false),
            last_trade_price: Some("0.12".into()),
        }
    }

    #[test]
    fn hash_is_over_the_fixed_compact_document() {
        let mut s = summary();
        let json = r#"{"market":"0x1a4f04c2e6c000d9fc524eb12e7333217411a226c34745af140f195c0227cd5f","asset_id":"23360939988679364027624185518382759743328544433592111535569478055890815567848","timestamp":"1728799418260","hash":"","bids":[{"price":"0.1","size":"125"}],"asks":[{"price":"0.14","size":"705"}],"min_order_size":"5","tick_size":"0.01","neg_risk":false,"last_trade_price":"0.12"}"#;
        let expect = hex::encode(Sha1::digest(json.as_bytes()));
        assert_eq!(s.venue_hash().as_deref(), Some(expect.as_str()));
        s.hash = expect;
        assert_eq!(s.hash_matches(), Some(true));
        s.bids[0].size = "126".into();
        assert_eq!(s.hash_matches(), Some(false));
        s.tick_size = None;
        assert_eq!(s.hash_matches(), None);
    }

    #[test]
    fn converts_to_a_snapshot() {
        let MarketEvent::Book {
            bids, asks, tick, ..
        } = summary().to_event().unwrap()
        else {
            panic!()
        };
        assert_eq!(bids[0].price.micros(), 100_000);
        assert_eq!(asks[0].size.micros(), 705_000_000);
        assert_eq!(tick.unwrap().micros(), 10_000);
        let mut bad = summary();
        bad.asks[0].price = "1.2".into();
        let e = bad.to_event().unwrap_err();
        assert_eq!((e.field, e.value.as_str()), ("asks", "1.2"));
    }
}
