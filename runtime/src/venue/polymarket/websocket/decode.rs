//! Decoding of market-channel frames: text `PONG`, a JSON object, or a JSON array
//! of objects, each becoming a [`MarketEvent`] or a typed error. One bad element
//! never hides its neighbours, and unknown fields never break decoding.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::model::{BookLevel, ConditionId, LevelChange, MarketEvent, Price, Side, Size, TokenId};

/// Why one message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("message has no `event_type`")]
    NoEventType,
    #[error("unknown event type `{0}`")]
    UnknownEventType(String),
    #[error("`{event}` message lacks `{field}`")]
    Missing {
        event: &'static str,
        field: &'static str,
    },
    #[error("`{event}` message has a bad `{field}` (`{value}`): {reason}")]
    Bad {
        event: &'static str,
        field: &'static str,
        value: String,
        reason: String,
    },
}

/// What one frame held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The server's keep-alive answer.
    Pong,
    /// The client's keep-alive (seen when decoding our own sent frames or a peer).
    Ping,
    /// Messages in frame order, each decoded on its own.
    Messages(Vec<Result<MarketEvent, DecodeError>>),
}

/// Text that may arrive as a JSON string or a JSON number (timestamps do both).
#[derive(Debug, Default)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
struct RawLevel<'a> {
    #[serde(borrow)]
    price: Text<'a>,
    #[serde(borrow)]
    size: Text<'a>,
}

#[derive(Debug, Deserialize)]
struct RawChange<'a> {
    #[serde(borrow, default)]
    asset_id: Option<Text<'a>>,
    #[serde(borrow)]
    price: Text<'a>,
    #[serde(borrow)]
    size: Text<'a>,
    #[serde(borrow)]
    side: Text<'a>,
    #[serde(borrow, default)]
    best_bid: Option<Text<'a>>,
    #[serde(borrow, default)]
    best_ask: Option<Text<'a>>,
}

/// Every field any market-channel message has; unknown fields are ignored, so new
/// venue fields never break decoding.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMessage<'a> {
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
    #[serde(borrow)]
    asset_id: Option<Text<'a>>,
    #[serde(borrow)]
    market: Option<Text<'a>>,
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    hash: Option<Text<'a>>,
    #[serde(borrow)]
    price: Option<Text<'a>>,
    #[serde(borrow)]
    size: Option<Text<'a>>,
    #[serde(borrow)]
    side: Option<Text<'a>>,
    #[serde(borrow)]
    tick_size: Option<Text<'a>>,
    #[serde(borrow)]
    old_tick_size: Option<Text<'a>>,
    #[serde(borrow)]
    new_tick_size: Option<Text<'a>>,
    #[serde(borrow)]
    best_bid: Option<Text<'a>>,
    #[serde(borrow)]
    best_ask: Option<Text<'a>>,
    #[serde(borrow)]
    bids: Option<Vec<RawLevel<'a>>>,
    #[serde(borrow)]
    asks: Option<Vec<RawLevel<'a>>>,
    #[serde(borrow)]
    price_changes: Option<Vec<RawChange<'a>>>,
    /// The pre-September-2025 per-asset shape: `asset_id` + `changes`.
    #[serde(borrow)]
    changes: Option<Vec<RawChange<'a>>>,
    #[serde(borrow, alias = "asset_ids")]
    assets_ids: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    winning_asset_id: Option<Text<'a>>,
    #[serde(borrow)]
    winning_outcome: Option<Text<'a>>,
    #[serde(borrow)]
    question: Option<Text<'a>>,
    #[serde(borrow)]
    slug: Option<Text<'a>>,
    #[serde(borrow)]
    outcomes: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    order_price_min_tick_size: Option<Text<'a>>,
}

/// Decodes one frame of the market channel.
pub fn decode_frame(text: &str) -> Frame {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("PONG") {
        return Frame::Pong;
    }
    if trimmed.eq_ignore_ascii_case("PING") {
        return Frame::Ping;
    }
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<&RawValue>>(trimmed) {
            Ok(items) => Frame::Messages(items.iter().map(|r| decode_message(r.get())).collect()),
            Err(e) => Frame::Messages(vec![Err(DecodeError::NotJson(e.to_string()))]),
        };
    }
    Frame::Messages(vec![decode_message(trimmed)])
}

/// Decodes one JSON object into a market event.
pub fn decode_message(json: &str) -> Result<MarketEvent, DecodeError> {
    // Most of the stream is `price_change`: scan it without serde's overhead.
    if let Some(raw) = fast::scan_price_change(json) {
        return price_change(&raw);
    }
    decode_general(json)
}

/// The general path: serde into every known field, then convert.
fn decode_general(json: &str) -> Result<MarketEvent, DecodeError> {
    let raw: RawMessage =
        serde_json::from_str(json).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let Some(kind) = raw.event_type.as_ref() else {
        return Err(DecodeError::NoEventType);
    };
    match &*kind.0 {
        "book" => book(&raw),
        "price_change" => price_change(&raw),
        "last_trade_price" => last_trade(&raw),
        "tick_size_change" => tick_size(&raw),
        "best_bid_ask" => best_bid_ask(&raw),
        "new_market" => new_market(&raw),
        "market_resolved" => resolved(&raw),
        other => Err(DecodeError::UnknownEventType(
            other.chars().take(64).collect(),
        )),
    }
}

struct Ctx {
    event: &'static str,
}

impl Ctx {
    fn need<'t, 'a>(
        &self,
        field: &'static str,
        v: &'t Option<Text<'a>>,
    ) -> Result<&'t str, DecodeError> {
        v.as_ref().map(|t| &*t.0).ok_or(DecodeError::Missing {
            event: self.event,
            field,
        })
    }

    fn bad(&self, field: &'static str, value: &str, reason: impl ToString) -> DecodeError {
        DecodeError::Bad {
            event: self.event,
            field,
            value: value.chars().take(80).collect(),
            reason: reason.to_string(),
        }
    }

    fn token(&self, field: &'static str, v: &str) -> Result<TokenId, DecodeError> {
        TokenId::parse(v).map_err(|e| self.bad(field, v, e))
    }

    fn market(&self, v: &Option<Text>) -> Result<ConditionId, DecodeError> {
        let s = self.need("market", v)?;
        ConditionId::parse(s).map_err(|e| self.bad("market", s, e))
    }

    fn ts(&self, v: &Option<Text>) -> Result<u64, DecodeError> {
        let s = self.need("timestamp", v)?;
        s.parse::<u64>().map_err(|e| self.bad("timestamp", s, e))
    }

    fn price(&self, field: &'static str, s: &str) -> Result<Price, DecodeError> {
        Price::from_str(s).map_err(|e| self.bad(field, s, e))
    }

    /// An optional price; empty text (the venue's "none") is `None`.
    fn opt_price(
        &self,
        field: &'static str,
        v: &Option<Text>,
    ) -> Result<Option<Price>, DecodeError> {
        match v.as_ref().map(|t| t.0.trim()) {
            None | Some("") => Ok(None),
            Some(s) => self.price(field, s).map(Some),
        }
    }

    fn size(&self, field: &'static str, s: &str) -> Result<Size, DecodeError> {
        Size::from_str(s).map_err(|e| self.bad(field, s, e))
    }

    fn side(&self, s: &str) -> Result<Side, DecodeError> {
        match s {
            "BUY" | "buy" | "Buy" => Ok(Side::Buy),
            "SELL" | "sell" | "Sell" => Ok(Side::Sell),
            other => Err(self.bad("side", other, "expected BUY or SELL")),
        }
    }

    fn levels(
        &self,
        field: &'static str,
        v: &Option<Vec<RawLevel>>,
    ) -> Result<Vec<BookLevel>, DecodeError> {
        let levels = v.as_ref().ok_or(DecodeError::Missing {
            event: self.event,
            field,
        })?;
        levels
            .iter()
            .map(|l| {
                Ok(BookLevel {
                    price: self.price(field, &l.price.0)?,
                    size: self.size(field, &l.size.0)?,
                })
            })
            .collect()
    }
}

fn book(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx { event: "book" };
    Ok(MarketEvent::Book {
        token: c.token("asset_id", c.need("asset_id", &raw.asset_id)?)?,
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        bids: c.levels("bids", &raw.bids)?,
        asks: c.levels("asks", &raw.asks)?,
        hash: raw.hash.as_ref().map(|h| h.0.to_string()),
        tick: c.opt_price("tick_size", &raw.tick_size)?,
    })
}

fn price_change(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "price_change",
    };
    let market = c.market(&raw.market)?;
    let ts_ms = c.ts(&raw.timestamp)?;
    let change = |ch: &RawChange, token: &TokenId| -> Result<LevelChange, DecodeError> {
        Ok(LevelChange {
            token: token.clone(),
            side: c.side(&ch.side.0)?,
            price: c.price("price", &ch.price.0)?,
            size: c.size("size", &ch.size.0)?,
            best_bid: c.opt_price("best_bid", &ch.best_bid)?,
            best_ask: c.opt_price("best_ask", &ch.best_ask)?,
        })
    };
    let changes = if let Some(list) = &raw.price_changes {
        let mut out = Vec::with_capacity(list.len());
        // Consecutive changes usually name the same token: parse it once.
        let mut last: Option<(&str, TokenId)> = None;
        for ch in list {
            let id = c.need("asset_id", &ch.asset_id)?;
            let token = match &last {
                Some((s, t)) if *s == id => t.clone(),
                _ => {
                    let t = c.token("asset_id", id)?;
                    last = Some((id, t.clone()));
                    t
                }
            };
            out.push(change(ch, &token)?);
        }
        out
    } else {
        // Older shapes: one token per message, either one level at the top or a
        // `changes` list.
        let token = c.token("asset_id", c.need("asset_id", &raw.asset_id)?)?;
        match &raw.changes {
            Some(list) => list
                .iter()
                .map(|ch| change(ch, &token))
                .collect::<Result<_, _>>()?,
            None => vec![LevelChange {
                token,
                side: c.side(c.need("side", &raw.side)?)?,
                price: c.price("price", c.need("price", &raw.price)?)?,
                size: c.size("size", c.need("size", &raw.size)?)?,
                best_bid: c.opt_price("best_bid", &raw.best_bid)?,
                best_ask: c.opt_price("best_ask", &raw.best_ask)?,
            }],
        }
    };
    Ok(MarketEvent::PriceChange {
        market,
        ts_ms,
        changes,
    })
}

fn last_trade(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "last_trade_price",
    };
    let side = match raw.side.as_ref().map(|t| &*t.0) {
        None | Some("") => None,
        Some(s) => Some(c.side(s)?),
    };
    Ok(MarketEvent::LastTrade {
        token: c.token("asset_id", c.need("asset_id", &raw.asset_id)?)?,
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        price: c.price("price", c.need("price", &raw.price)?)?,
        size: c.size("size", c.need("size", &raw.size)?)?,
        side,
    })
}

fn tick_size(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "tick_size_change",
    };
    Ok(MarketEvent::TickSize {
        token: c.token("asset_id", c.need("asset_id", &raw.asset_id)?)?,
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        old: c.price(
            "old_tick_size",
            c.need("old_tick_size", &raw.old_tick_size)?,
        )?,
        new: c.price(
            "new_tick_size",
            c.need("new_tick_size", &raw.new_tick_size)?,
        )?,
    })
}

fn best_bid_ask(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "best_bid_ask",
    };
    Ok(MarketEvent::BestBidAsk {
        token: c.token("asset_id", c.need("asset_id", &raw.asset_id)?)?,
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        bid: c.opt_price("best_bid", &raw.best_bid)?,
        ask: c.opt_price("best_ask", &raw.best_ask)?,
    })
}

fn tokens(c: &Ctx, v: &Option<Vec<Text>>) -> Result<Vec<TokenId>, DecodeError> {
    v.as_ref()
        .ok_or(DecodeError::Missing {
            event: c.event,
            field: "assets_ids",
        })?
        .iter()
        .map(|t| c.token("assets_ids", &t.0))
        .collect()
}

fn new_market(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "new_market",
    };
    Ok(MarketEvent::NewMarket {
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        question: raw
            .question
            .as_ref()
            .map(|q| q.0.to_string())
            .unwrap_or_default(),
        slug: raw
            .slug
            .as_ref()
            .map(|s| s.0.to_string())
            .unwrap_or_default(),
        tokens: tokens(&c, &raw.assets_ids)?,
        outcomes: raw
            .outcomes
            .iter()
            .flatten()
            .map(|o| o.0.to_string())
            .collect(),
        tick: c.opt_price("order_price_min_tick_size", &raw.order_price_min_tick_size)?,
    })
}

fn resolved(raw: &RawMessage) -> Result<MarketEvent, DecodeError> {
    let c = Ctx {
        event: "market_resolved",
    };
    let tokens = tokens(&c, &raw.assets_ids)?;
    let winner = c.token(
        "winning_asset_id",
        c.need("winning_asset_id", &raw.winning_asset_id)?,
    )?;
    if !tokens.contains(&winner) {
        return Err(c.bad(
            "winning_asset_id",
            winner.as_str(),
            "not one of the market's assets_ids",
        ));
    }
    Ok(MarketEvent::Resolved {
        market: c.market(&raw.market)?,
        ts_ms: c.ts(&raw.timestamp)?,
        tokens,
        winner,
        winning_outcome: raw
            .winning_outcome
            .as_ref()
            .map(|o| o.0.to_string())
            .unwrap_or_default(),
        payouts: Vec::new(),
    })
}

mod fast;

#[cfg(test)]
mod tests;
