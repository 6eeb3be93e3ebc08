//! Encodes normalised events and books back into the venue's exact JSON shapes
//! (decimal strings, millisecond timestamps as strings, best level last).

use serde_json::{Value, json};

use super::generator::SimMarketInfo;
use crate::model::{BookLevel, ConditionId, LevelChange, MarketEvent, Price, Side, TokenId};
use crate::venue::polymarket::http::book::{OrderBookSummary, WireLevel};

/// What the custom-feature messages (`new_market`, `market_resolved`) say about
/// a market beyond the event itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketMeta {
    /// The Gamma market id (a decimal string).
    pub id: String,
    pub question: String,
    pub slug: String,
    pub description: String,
    pub outcomes: Vec<String>,
}

/// The metadata of `market` among the listed `markets` (Gamma id = index + 1).
pub fn meta_of(markets: &[SimMarketInfo], market: &ConditionId) -> Option<MarketMeta> {
    let (i, m) = markets
        .iter()
        .enumerate()
        .find(|(_, m)| &m.condition == market)?;
    Some(MarketMeta {
        id: (i + 1).to_string(),
        question: m.question.clone(),
        slug: m.slug.clone(),
        description: description(m),
        outcomes: m.tokens.iter().map(|(_, o)| o.clone()).collect(),
    })
}

/// A market's resolution text, in the venue's usual wording.
pub fn description(m: &SimMarketInfo) -> String {
    format!(
        "{} This simulated market will resolve to \"Yes\" with its fair probability at the end of the session. Otherwise, this market will resolve to \"No\".",
        m.question
    )
}

/// Metadata for a market the caller cannot name (a replayed recording's):
/// empty strings, which the official SDKs' types still accept.
fn unknown_meta(market: &ConditionId) -> MarketMeta {
    MarketMeta {
        id: String::new(),
        question: String::new(),
        slug: format!("market-{}", market.as_str().get(2..10).unwrap_or("")),
        description: String::new(),
        outcomes: Vec::new(),
    }
}

impl MarketMeta {
    fn event_message(&self) -> Value {
        json!({
            "id": self.id,
            "ticker": self.slug,
            "slug": self.slug,
            "title": self.question,
            "description": self.description,
        })
    }
}

/// Looks up market metadata for the custom-feature messages.
pub type MetaLookup<'a> = &'a dyn Fn(&ConditionId) -> Option<MarketMeta>;

/// For callers that publish no custom-feature messages.
pub fn no_meta(_: &ConditionId) -> Option<MarketMeta> {
    None
}

/// The tag every simulated market carries.
pub const SIM_TAG: &str = "Simulated";

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn levels(levels: &[BookLevel]) -> Vec<WireLevel> {
    levels
        .iter()
        .map(|l| WireLevel {
            price: l.price.to_string(),
            size: l.size.to_string(),
        })
        .collect()
}

/// A book summary as `GET /book` returns it, with the venue's hash.
pub fn summary(event: &MarketEvent, min_size: &str, last_trade: &str) -> Option<OrderBookSummary> {
    let MarketEvent::Book {
        token,
        market,
        ts_ms,
        bids,
        asks,
        tick,
        ..
    } = event
    else {
        return None;
    };
    let mut bids = bids.clone();
    let mut asks = asks.clone();
    // The venue lists the best level last: bids ascending, asks descending.
    bids.sort_by_key(|l| l.price);
    asks.sort_by_key(|l| std::cmp::Reverse(l.price));
    let mut s = OrderBookSummary {
        market: market.to_string(),
        asset_id: token.to_string(),
        timestamp: ts_ms.to_string(),
        hash: String::new(),
        bids: levels(&bids),
        asks: levels(&asks),
        min_order_size: Some(min_size.to_string()),
        tick_size: Some(tick.map_or_else(|| "0.01".to_string(), |t| t.to_string())),
        neg_risk: Some(false),
        last_trade_price: Some(last_trade.to_string()),
    };
    s.hash = s.venue_hash().unwrap_or_default();
    Some(s)
}

fn change_json(c: &LevelChange) -> Value {
    let mut v = json!({
        "asset_id": c.token.as_str(),
        "price": c.price.to_string(),
        "size": c.size.to_string(),
        "side": side(c.side),
    });
    // An empty side has no best price. The captures at hand never show one, so
    // what the venue sends there is unknown; `""` makes strict clients (the
    // official Rust SDK parses `best_bid` as `Option<Decimal>`) drop the whole
    // frame, while a missing key is their `None`. So the key is left out.
    if let Some(p) = c.best_bid {
        v["best_bid"] = json!(p.to_string());
    }
    if let Some(p) = c.best_ask {
        v["best_ask"] = json!(p.to_string());
    }
    v
}

/// One market-channel message for `event`, restricted to the `wanted` tokens;
/// `None` when nothing in it concerns them.
pub fn message(event: &MarketEvent, wanted: &dyn Fn(&TokenId) -> bool) -> Option<Value> {
    message_with(event, wanted, &no_meta)
}

/// [`message`], naming markets in `new_market` / `market_resolved` through
/// `meta`.
pub fn message_with(
    event: &MarketEvent,
    wanted: &dyn Fn(&TokenId) -> bool,
    meta: MetaLookup<'_>,
) -> Option<Value> {
    match event {
        MarketEvent::Book { token, .. } => {
            if !wanted(token) {
                return None;
            }
            let s = summary(event, "5", "0.5")?;
            Some(json!({
                "event_type": "book",
                "asset_id": s.asset_id,
                "market": s.market,
                "timestamp": s.timestamp,
                "hash": s.hash,
                "bids": s.bids,
                "asks": s.asks,
                "tick_size": s.tick_size,
            }))
        }
        MarketEvent::PriceChange {
            market,
            ts_ms,
            changes,
        } => {
            let changes: Vec<Value> = changes
                .iter()
                .filter(|c| wanted(&c.token))
                .map(change_json)
                .collect();
            (!changes.is_empty()).then(|| {
                json!({
                    "event_type": "price_change",
                    "market": market.as_str(),
                    "timestamp": ts_ms.to_string(),
                    "price_changes": changes,
                })
            })
        }
        MarketEvent::LastTrade {
            token,
            market,
            ts_ms,
            price,
            size,
            side: s,
        } => wanted(token).then(|| {
            json!({
                "event_type": "last_trade_price",
                "asset_id": token.as_str(),
                "market": market.as_str(),
                "price": price.to_string(),
                "size": size.to_string(),
                "side": s.map(side).unwrap_or(""),
                "fee_rate_bps": "0",
                "timestamp": ts_ms.to_string(),
            })
        }),
        MarketEvent::TickSize {
            token,
            market,
            ts_ms,
            old,
            new,
        } => wanted(token).then(|| {
            json!({
                "event_type": "tick_size_change",
                "asset_id": token.as_str(),
                "market": market.as_str(),
                "old_tick_size": old.to_string(),
                "new_tick_size": new.to_string(),
                "timestamp": ts_ms.to_string(),
            })
        }),
        MarketEvent::BestBidAsk {
            token,
            market,
            ts_ms,
            bid,
            ask,
        } => {
            // The official SDKs type all three prices as plain decimals, so a
            // one-sided book has no valid `best_bid_ask`; the book and
            // `price_change` messages already carry the empty side.
            let (bid, ask) = ((*bid)?, (*ask)?);
            let spread = ask.checked_sub(bid).unwrap_or(Price::ZERO);
            wanted(token).then(|| {
                json!({
                    "event_type": "best_bid_ask",
                    "asset_id": token.as_str(),
                    "market": market.as_str(),
                    "best_bid": bid.to_string(),
                    "best_ask": ask.to_string(),
                    "spread": spread.to_string(),
                    "timestamp": ts_ms.to_string(),
                })
            })
        }
        MarketEvent::Resolved {
            market,
            ts_ms,
            tokens,
            winner,
            winning_outcome,
            payouts,
        } => (payouts.is_empty() && tokens.iter().any(wanted)).then(|| {
            // The market channel names a winner; a 50-50 resolution has none
            // and shows only in Gamma's final prices. The documented keys come
            // first; question, slug, description, outcomes and event_message
            // are the optional ones the official Rust SDK requires.
            let m = meta(market).unwrap_or_else(|| unknown_meta(market));
            json!({
                "event_type": "market_resolved",
                "id": m.id,
                "market": market.as_str(),
                "assets_ids": tokens.iter().map(TokenId::as_str).collect::<Vec<_>>(),
                "winning_asset_id": winner.as_str(),
                "winning_outcome": winning_outcome,
                "timestamp": ts_ms.to_string(),
                "tags": [SIM_TAG],
                "question": m.question,
                "slug": m.slug,
                "description": m.description,
                "outcomes": m.outcomes,
                "event_message": m.event_message(),
            })
        }),
        MarketEvent::NewMarket {
            market,
            ts_ms,
            question,
            slug,
            tokens,
            outcomes,
            tick,
        } => {
            // A new market's tokens are unknown to every subscriber, so the
            // announcement goes to all of them.
            let _ = wanted;
            let m = meta(market).unwrap_or_else(|| unknown_meta(market));
            let ids: Vec<&str> = tokens.iter().map(TokenId::as_str).collect();
            Some(json!({
                "event_type": "new_market",
                "id": m.id,
                "question": question,
                "market": market.as_str(),
                "slug": slug,
                "description": m.description,
                "assets_ids": ids,
                "outcomes": outcomes,
                "event_message": m.event_message(),
                "timestamp": ts_ms.to_string(),
                "tags": [SIM_TAG],
                "condition_id": market.as_str(),
                "active": true,
                "clob_token_ids": ids,
                "sports_market_type": "",
                "line": "",
                "game_start_time": "",
                "order_price_min_tick_size": tick.map(|t| t.to_string()).unwrap_or_default(),
                "group_item_title": "",
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::polymarket::websocket::decode::decode_message;
    use crate::venue::sim::generator::{Generator, GeneratorConfig};

    #[test]
    fn encoded_messages_decode_to_the_same_events() {
        let mut g = Generator::new(
            GeneratorConfig {
                jump_ppm: 200_000,
                resolve_after: Some(400),
                ..GeneratorConfig::default()
            },
            1_700_000_000_000,
        );
        let all = |_: &TokenId| true;
        let mut events: Vec<MarketEvent> = g.tokens().iter().filter_map(|t| g.book(t)).collect();
        for _ in 0..400 {
            events.extend(g.step());
        }
        for e in &events {
            let json = message(e, &all)
                .expect("every event is published")
                .to_string();
            let back = decode_message(&json).unwrap_or_else(|err| panic!("{err}: {json}"));
            match (e, &back) {
                // Snapshots come back with the venue's hash and ordering.
                (
                    MarketEvent::Book { bids, asks, .. },
                    MarketEvent::Book {
                        bids: b2, asks: a2, ..
                    },
                ) => {
                    let sorted = |v: &[BookLevel]| {
                        let mut v = v.to_vec();
                        v.sort_by_key(|l| l.price);
                        v
                    };
                    assert_eq!(sorted(bids), sorted(b2));
                    assert_eq!(sorted(asks), sorted(a2));
                }
                (
                    MarketEvent::PriceChange { changes, .. },
                    MarketEvent::PriceChange { changes: c2, .. },
                ) => {
                    assert_eq!(changes.len(), c2.len());
                    for (a, b) in changes.iter().zip(c2) {
                        assert_eq!(
                            (&a.token, a.side, a.price, a.size),
                            (&b.token, b.side, b.price, b.size)
                        );
                    }
                }
                _ => assert_eq!(e, &back),
            }
        }
    }

    #[test]
    fn summaries_carry_a_valid_hash_and_best_last() {
        let g = Generator::new(GeneratorConfig::default(), 1);
        let t = &g.tokens()[0];
        let s = summary(&g.book(t).unwrap(), "5", "0.5").unwrap();
        assert_eq!(s.hash_matches(), Some(true));
        let p = |l: &WireLevel| l.price.parse::<crate::model::Price>().unwrap();
        assert!(s.bids.windows(2).all(|w| p(&w[0]) < p(&w[1])));
        assert!(s.asks.windows(2).all(|w| p(&w[0]) > p(&w[1])));
    }
}
