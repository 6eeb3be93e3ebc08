//! Turns feed updates into a day file's rows: column builders, tokens and
//! markets interned in order of first appearance, counts of what the day holds
//! and the SHA-256 of what it replays.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    PrimitiveBuilder, StringBuilder, TimestampMillisecondBuilder, UInt8Builder, UInt16Builder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::types::{UInt8Type, UInt32Type};
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch, StringArray};
use arrow_schema::ArrowError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schema::{KINDS, RowKind, SIDES, SOURCES, schema};
use crate::data::update::{FeedUpdate, Source};
use crate::model::{MarketEvent, Side};

/// What a day holds, counted as the venue counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Payloads as received (frames, REST bodies, clock ticks).
    pub payloads: u64,
    /// Venue messages (a `price_change` message with three changes is one).
    pub messages: u64,
    pub books: u64,
    pub level_changes: u64,
    pub trades: u64,
    /// Tick-size, best-bid-ask, new-market and resolution messages.
    pub other: u64,
    /// Payloads without messages (a recorded paper session's clock).
    pub clock_ticks: u64,
}

/// Strings numbered in order of first appearance.
#[derive(Debug, Default)]
pub(super) struct Interner {
    ids: HashMap<Arc<str>, u32>,
    pub values: Vec<Arc<str>>,
}

impl Interner {
    pub fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.values.len() as u32;
        let key: Arc<str> = Arc::from(text);
        self.values.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    fn array(&self) -> Arc<StringArray> {
        Arc::new(StringArray::from_iter_values(
            self.values.iter().map(|v| &**v),
        ))
    }
}

/// One row's values before they go into the builders.
#[derive(Default, Clone, Copy)]
struct Row<'a> {
    event: Option<u32>,
    venue_ts: Option<u64>,
    market: Option<&'a str>,
    token: Option<&'a str>,
    side: Option<Side>,
    price: Option<u32>,
    size: Option<u64>,
    best_bid: Option<u32>,
    best_ask: Option<u32>,
    tick: Option<u32>,
    text: Option<&'a str>,
}

/// A row's values as numbered for the columns.
#[derive(Clone, Copy)]
struct Keys {
    kind: RowKind,
    venue_ts: Option<i64>,
    market: Option<u32>,
    token: Option<u32>,
    side: Option<u8>,
}

/// The rows of one day, built update by update.
pub struct DayRows {
    update: UInt32Builder,
    received: TimestampMillisecondBuilder,
    source: UInt8Builder,
    shard: UInt16Builder,
    event: UInt32Builder,
    kind: UInt8Builder,
    venue_ts: TimestampMillisecondBuilder,
    market: UInt32Builder,
    token: UInt32Builder,
    side: UInt8Builder,
    price: UInt32Builder,
    size: UInt64Builder,
    best_bid: UInt32Builder,
    best_ask: UInt32Builder,
    tick: UInt32Builder,
    text: StringBuilder,
    rows: usize,
    pub(super) tokens: Interner,
    pub(super) markets: Interner,
    next_update: u32,
    next_event: u32,
    digest: Sha256,
    counts: DayCounts,
    /// Reused for each row's bytes in the digest.
    scratch: Vec<u8>,
    /// Only the digest and counts are wanted: no columns are built.
    digest_only: bool,
}

impl Default for DayRows {
    fn default() -> DayRows {
        DayRows::new()
    }
}

/// An optional number in the digest: a presence byte, then its bytes.
macro_rules! put {
    ($s:expr, $v:expr) => {
        match $v {
            Some(v) => {
                $s.push(1);
                $s.extend_from_slice(&v.to_le_bytes());
            }
            None => $s.push(0),
        }
    };
}

impl DayRows {
    pub fn new() -> DayRows {
        DayRows {
            update: PrimitiveBuilder::new(),
            received: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            source: PrimitiveBuilder::new(),
            shard: PrimitiveBuilder::new(),
            event: PrimitiveBuilder::new(),
            kind: PrimitiveBuilder::new(),
            venue_ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            market: PrimitiveBuilder::new(),
            token: PrimitiveBuilder::new(),
            side: PrimitiveBuilder::new(),
            price: PrimitiveBuilder::new(),
            size: PrimitiveBuilder::new(),
            best_bid: PrimitiveBuilder::new(),
            best_ask: PrimitiveBuilder::new(),
            tick: PrimitiveBuilder::new(),
            text: StringBuilder::new(),
            rows: 0,
            tokens: Interner::default(),
            markets: Interner::default(),
            next_update: 0,
            next_event: 0,
            digest: Sha256::new(),
            counts: DayCounts::default(),
            scratch: Vec::with_capacity(128),
            digest_only: false,
        }
    }

    /// Rows that only digest and count what is pushed (a day's digest for
    /// data read from elsewhere, without building its columns).
    pub fn digest_only() -> DayRows {
        DayRows {
            digest_only: true,
            ..DayRows::new()
        }
    }

    /// Rows waiting for the next batch.
    pub fn pending(&self) -> usize {
        self.rows
    }

    pub fn counts(&self) -> &DayCounts {
        &self.counts
    }

    /// Appends the rows of one payload.
    pub fn push(&mut self, u: &FeedUpdate) {
        let update = self.next_update;
        self.next_update += 1;
        self.counts.payloads += 1;
        let (source, shard) = match u.source {
            Source::Ws { shard } => (0u8, shard),
            Source::Rest => (1u8, 0),
        };
        let head = (update, u.received_ms, source, shard);
        if u.events.is_empty() {
            self.counts.clock_ticks += 1;
            self.row(head, RowKind::Clock, Row::default());
            return;
        }
        for e in &u.events {
            let event = Some(self.next_event);
            self.next_event += 1;
            self.counts.messages += 1;
            match e {
                MarketEvent::Book {
                    token,
                    market,
                    ts_ms,
                    bids,
                    asks,
                    hash,
                    tick,
                } => {
                    self.counts.books += 1;
                    let base = Row {
                        event,
                        venue_ts: Some(*ts_ms),
                        market: Some(market.as_str()),
                        token: Some(token.as_str()),
                        ..Row::default()
                    };
                    self.row(
                        head,
                        RowKind::Book,
                        Row {
                            tick: tick.map(|t| t.micros()),
                            text: hash.as_deref(),
                            ..base
                        },
                    );
                    for (kind, levels) in [(RowKind::Bid, bids), (RowKind::Ask, asks)] {
                        for l in levels {
                            self.row(
                                head,
                                kind,
                                Row {
                                    price: Some(l.price.micros()),
                                    size: Some(l.size.micros()),
                                    ..base
                                },
                            );
                        }
                    }
                }
                MarketEvent::PriceChange {
                    market,
                    ts_ms,
                    changes,
                } => {
                    self.counts.level_changes += changes.len() as u64;
                    for c in changes {
                        self.row(
                            head,
                            RowKind::Change,
                            Row {
                                event,
                                venue_ts: Some(*ts_ms),
                                market: Some(market.as_str()),
                                token: Some(c.token.as_str()),
                                side: Some(c.side),
                                price: Some(c.price.micros()),
                                size: Some(c.size.micros()),
                                best_bid: c.best_bid.map(|p| p.micros()),
                                best_ask: c.best_ask.map(|p| p.micros()),
                                ..Row::default()
                            },
                        );
                    }
                    if changes.is_empty() {
                        // A message without changes still happened.
                        self.row(
                            head,
                            RowKind::Change,
                            Row {
                                event,
                                venue_ts: Some(*ts_ms),
                                market: Some(market.as_str()),
                                ..Row::default()
                            },
                        );
                    }
                }
                MarketEvent::LastTrade {
                    token,
                    market,
                    ts_ms,
                    price,
                    size,
                    side,
                } => {
                    self.counts.trades += 1;
                    self.row(
                        head,
                        RowKind::Trade,
                        Row {
                            event,
                            venue_ts: Some(*ts_ms),
                            market: Some(market.as_str()),
                            token: Some(token.as_str()),
                            side: *side,
                            price: Some(price.micros()),
                            size: Some(size.micros()),
                            ..Row::default()
                        },
                    );
                }
                MarketEvent::TickSize {
                    token,
                    market,
                    ts_ms,
                    old,
                    new,
                } => {
                    self.counts.other += 1;
                    self.row(
                        head,
                        RowKind::TickSize,
                        Row {
                            event,
                            venue_ts: Some(*ts_ms),
                            market: Some(market.as_str()),
                            token: Some(token.as_str()),
                            price: Some(old.micros()),
                            tick: Some(new.micros()),
                            ..Row::default()
                        },
                    );
                }
                MarketEvent::BestBidAsk {
                    token,
                    market,
                    ts_ms,
                    bid,
                    ask,
                } => {
                    self.counts.other += 1;
                    self.row(
                        head,
                        RowKind::BestBidAsk,
                        Row {
                            event,
                            venue_ts: Some(*ts_ms),
                            market: Some(market.as_str()),
                            token: Some(token.as_str()),
                            best_bid: bid.map(|p| p.micros()),
                            best_ask: ask.map(|p| p.micros()),
                            ..Row::default()
                        },
                    );
                }
                MarketEvent::NewMarket { market, ts_ms, .. }
                | MarketEvent::Resolved { market, ts_ms, .. } => {
                    self.counts.other += 1;
                    let kind = if matches!(e, MarketEvent::NewMarket { .. }) {
                        RowKind::NewMarket
                    } else {
                        RowKind::Resolved
                    };
                    // Serialising our own event type cannot fail.
                    let whole = serde_json::to_string(e).unwrap_or_default();
                    self.row(
                        head,
                        kind,
                        Row {
                            event,
                            venue_ts: Some(*ts_ms),
                            market: Some(market.as_str()),
                            text: Some(&whole),
                            ..Row::default()
                        },
                    );
                }
            }
        }
    }

    fn append(
        &mut self,
        (update, received, source, shard): (u32, i64, u8, u16),
        k: &Keys,
        r: &Row<'_>,
    ) {
        let Keys {
            kind,
            venue_ts,
            market,
            token,
            side,
        } = *k;
        self.update.append_value(update);
        self.received.append_value(received);
        self.source.append_value(source);
        self.shard.append_value(shard);
        self.event.append_option(r.event);
        self.kind.append_value(kind as u8);
        self.venue_ts.append_option(venue_ts);
        self.market.append_option(market);
        self.token.append_option(token);
        self.side.append_option(side);
        self.price.append_option(r.price);
        self.size.append_option(r.size);
        self.best_bid.append_option(r.best_bid);
        self.best_ask.append_option(r.best_ask);
        self.tick.append_option(r.tick);
        self.text.append_option(r.text);
        self.rows += 1;
    }

    fn row(
        &mut self,
        (update, received_ms, source, shard): (u32, u64, u8, u16),
        kind: RowKind,
        r: Row<'_>,
    ) {
        let market = r.market.map(|m| self.markets.id(m));
        let token = r.token.map(|t| self.tokens.id(t));
        let side = r.side.map(|s| match s {
            Side::Buy => 0u8,
            Side::Sell => 1,
        });
        let received = i64::try_from(received_ms).unwrap_or(i64::MAX);
        let venue_ts = r.venue_ts.map(|t| i64::try_from(t).unwrap_or(i64::MAX));
        if !self.digest_only {
            let keys = Keys {
                kind,
                venue_ts,
                market,
                token,
                side,
            };
            self.append((update, received, source, shard), &keys, &r);
        }
        // The digest covers every value as stored (tokens and markets by their
        // number; the numbering itself is hashed when the day ends).
        let s = &mut self.scratch;
        s.clear();
        s.push(kind as u8);
        s.extend_from_slice(&update.to_le_bytes());
        s.extend_from_slice(&received.to_le_bytes());
        s.push(source);
        s.extend_from_slice(&shard.to_le_bytes());
        put!(s, r.event);
        put!(s, venue_ts);
        put!(s, market);
        put!(s, token);
        put!(s, side);
        put!(s, r.price);
        put!(s, r.size);
        put!(s, r.best_bid);
        put!(s, r.best_ask);
        put!(s, r.tick);
        put!(s, r.text.map(|t| t.len() as u64));
        if let Some(t) = r.text {
            s.extend_from_slice(t.as_bytes());
        }
        self.digest.update(&self.scratch);
    }

    /// The pending rows as one record batch; the builders start empty again.
    pub fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        fn dict8(keys: arrow_array::UInt8Array, values: &[&str]) -> Result<ArrayRef, ArrowError> {
            let values = Arc::new(StringArray::from_iter_values(values.iter().copied()));
            Ok(Arc::new(DictionaryArray::<UInt8Type>::try_new(
                keys, values,
            )?))
        }
        let markets = self.markets.array();
        let tokens = self.tokens.array();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.update.finish()),
            Arc::new(self.received.finish()),
            dict8(self.source.finish(), &SOURCES)?,
            Arc::new(self.shard.finish()),
            Arc::new(self.event.finish()),
            dict8(self.kind.finish(), &KINDS)?,
            Arc::new(self.venue_ts.finish()),
            Arc::new(DictionaryArray::<UInt32Type>::try_new(
                self.market.finish(),
                markets,
            )?),
            Arc::new(DictionaryArray::<UInt32Type>::try_new(
                self.token.finish(),
                tokens,
            )?),
            dict8(self.side.finish(), &SIDES)?,
            Arc::new(self.price.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.best_bid.finish()),
            Arc::new(self.best_ask.finish()),
            Arc::new(self.tick.finish()),
            Arc::new(self.text.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema(), columns)
    }

    /// The day's digest: every row, then the token and market numbering.
    pub fn digest(&self) -> String {
        let mut h = self.digest.clone();
        for (tag, values) in [(b"T", &self.tokens.values), (b"M", &self.markets.values)] {
            h.update(tag);
            for v in values.iter() {
                h.update((v.len() as u64).to_le_bytes());
                h.update(v.as_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}
