//! What a feed hands downstream: the raw venue payload as received (the archive's
//! source of truth) with the events decoded from it and any decode errors.

use serde::{Deserialize, Serialize};

use crate::model::MarketEvent;
use crate::venue::polymarket::websocket::decode::{DecodeError, Frame, decode_frame};

/// Where a payload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A market-channel WebSocket frame from connection `shard`.
    Ws { shard: u16 },
    /// A REST `/book(s)` response used to (re)synchronise books.
    Rest,
}

/// One received payload and what it meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedUpdate {
    /// Host receive time, milliseconds since the epoch.
    pub received_ms: u64,
    pub source: Source,
    /// The payload exactly as received (frame text or response body).
    pub raw: String,
    pub events: Vec<MarketEvent>,
    pub errors: Vec<DecodeError>,
}

impl FeedUpdate {
    /// Decodes a WebSocket frame; keep-alives give `None`.
    pub fn from_frame(received_ms: u64, shard: u16, raw: String) -> Option<FeedUpdate> {
        let Frame::Messages(items) = decode_frame(&raw) else {
            return None;
        };
        let mut events = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            match item {
                Ok(e) => events.push(e),
                Err(e) => errors.push(e),
            }
        }
        Some(FeedUpdate {
            received_ms,
            source: Source::Ws { shard },
            raw,
            events,
            errors,
        })
    }
}
