//! Streams a day file back as feed updates, one row group at a time: memory
//! stays at a row group however long the day, and no payload text is read.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMillisecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{Array, PrimitiveArray, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::schema::{FORMAT, KINDS, RowKind, SIDES, SOURCES, col};
use super::{DayMeta, META_KEY};
use crate::data::archive::{ArchiveError, io_err};
use crate::data::update::{FeedUpdate, Source};
use crate::model::{BookLevel, ConditionId, LevelChange, MarketEvent, Price, Side, Size, TokenId};

/// Rows decoded per batch.
const READ_BATCH: usize = 8 * 1024;

/// One batch's columns, typed, with its dictionaries translated.
struct Columns {
    update: PrimitiveArray<UInt32Type>,
    received: PrimitiveArray<TimestampMillisecondType>,
    source: Vec<Option<u8>>,
    source_keys: PrimitiveArray<UInt8Type>,
    shard: PrimitiveArray<UInt16Type>,
    event: PrimitiveArray<UInt32Type>,
    kind: Vec<Option<RowKind>>,
    kind_keys: PrimitiveArray<UInt8Type>,
    venue_ts: PrimitiveArray<TimestampMillisecondType>,
    market: Vec<Option<ConditionId>>,
    market_keys: PrimitiveArray<UInt32Type>,
    token: Vec<Option<TokenId>>,
    token_keys: PrimitiveArray<UInt32Type>,
    side: Vec<Option<Side>>,
    side_keys: PrimitiveArray<UInt8Type>,
    price: PrimitiveArray<UInt32Type>,
    size: PrimitiveArray<UInt64Type>,
    best_bid: PrimitiveArray<UInt32Type>,
    best_ask: PrimitiveArray<UInt32Type>,
    tick: PrimitiveArray<UInt32Type>,
    text: StringArray,
    rows: usize,
}

/// A day file opened for streaming.
pub struct DayReader {
    path: PathBuf,
    meta: DayMeta,
    batches: ParquetRecordBatchReader,
    cols: Option<Columns>,
    row: usize,
    /// Rows read so far, for error messages.
    seen_rows: u64,
    tokens: HashMap<String, TokenId>,
    markets: HashMap<String, ConditionId>,
}

/// Reads the footer metadata of a day file.
pub fn read_meta(path: &Path) -> Result<DayMeta, ArchiveError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| io_err(path, format!("not a readable day file: {e}")))?;
    meta_of(path, &builder)
}

fn meta_of<T>(
    path: &Path,
    builder: &parquet::arrow::arrow_reader::ArrowReaderBuilder<T>,
) -> Result<DayMeta, ArchiveError> {
    let text = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == META_KEY))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| io_err(path, "not a pqap day file (no day metadata)"))?;
    let meta: DayMeta = serde_json::from_str(&text)
        .map_err(|e| io_err(path, format!("day metadata unreadable: {e}")))?;
    if meta.format != FORMAT {
        return Err(io_err(
            path,
            format!(
                "day file format {} (this build reads {FORMAT}); rebuild it with `pqap data reindex`",
                meta.format
            ),
        ));
    }
    Ok(meta)
}

fn dictionary<'a, K: arrow_array::types::ArrowDictionaryKeyType>(
    batch: &'a RecordBatch,
    i: usize,
    path: &Path,
) -> Result<(PrimitiveArray<K>, &'a StringArray), ArchiveError> {
    let name = batch.schema().field(i).name().clone();
    let dict = batch
        .column(i)
        .as_dictionary_opt::<K>()
        .ok_or_else(|| io_err(path, format!("column `{name}` is not a dictionary")))?;
    let values = dict
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| io_err(path, format!("column `{name}` has no text values")))?;
    Ok((dict.keys().clone(), values))
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(
    batch: &RecordBatch,
    i: usize,
    path: &Path,
) -> Result<PrimitiveArray<T>, ArchiveError> {
    batch
        .column(i)
        .as_primitive_opt::<T>()
        .cloned()
        .ok_or_else(|| {
            io_err(
                path,
                format!(
                    "column `{}` has type {}",
                    batch.schema().field(i).name(),
                    batch.column(i).data_type()
                ),
            )
        })
}

impl DayReader {
    pub fn open(path: &Path) -> Result<DayReader, ArchiveError> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| io_err(path, format!("not a readable day file: {e}")))?;
        let meta = meta_of(path, &builder)?;
        let batches = builder
            .with_batch_size(READ_BATCH)
            .build()
            .map_err(|e| io_err(path, format!("reading the day file: {e}")))?;
        Ok(DayReader {
            path: path.to_path_buf(),
            meta,
            batches,
            cols: None,
            row: 0,
            seen_rows: 0,
            tokens: HashMap::new(),
            markets: HashMap::new(),
        })
    }

    /// Makes the tokens read back the very ids given (one allocation each,
    /// so the engine compares them by pointer).
    pub fn share_tokens<'t>(&mut self, ids: impl IntoIterator<Item = &'t TokenId>) {
        for id in ids {
            self.tokens.insert(id.as_str().to_string(), id.clone());
        }
    }

    pub fn meta(&self) -> &DayMeta {
        &self.meta
    }

    fn load(&mut self, batch: &RecordBatch) -> Result<Columns, ArchiveError> {
        let path = self.path.clone();
        let path = path.as_path();
        let (source_keys, source_values) = dictionary::<UInt8Type>(batch, col::SOURCE, path)?;
        let (kind_keys, kind_values) = dictionary::<UInt8Type>(batch, col::KIND, path)?;
        let (side_keys, side_values) = dictionary::<UInt8Type>(batch, col::SIDE, path)?;
        let (market_keys, market_values) = dictionary::<UInt32Type>(batch, col::MARKET, path)?;
        let (token_keys, token_values) = dictionary::<UInt32Type>(batch, col::TOKEN, path)?;
        let code = |names: &[&str], v: &str| names.iter().position(|n| *n == v).map(|p| p as u8);
        let mut market = Vec::with_capacity(market_values.len());
        for v in market_values.iter() {
            market.push(match v {
                Some(text) => Some(match self.markets.get(text) {
                    Some(id) => id.clone(),
                    None => {
                        let id = ConditionId::parse(text)
                            .map_err(|e| io_err(path, format!("column `market`: {e}")))?;
                        self.markets.insert(text.to_string(), id.clone());
                        id
                    }
                }),
                None => None,
            });
        }
        let mut token = Vec::with_capacity(token_values.len());
        for v in token_values.iter() {
            token.push(match v {
                Some(text) => Some(match self.tokens.get(text) {
                    Some(id) => id.clone(),
                    None => {
                        let id = TokenId::parse(text)
                            .map_err(|e| io_err(path, format!("column `token`: {e}")))?;
                        self.tokens.insert(text.to_string(), id.clone());
                        id
                    }
                }),
                None => None,
            });
        }
        Ok(Columns {
            update: primitive(batch, col::UPDATE, path)?,
            received: primitive(batch, col::RECEIVED, path)?,
            source: source_values
                .iter()
                .map(|v| v.and_then(|v| code(&SOURCES, v)))
                .collect(),
            source_keys,
            shard: primitive(batch, col::SHARD, path)?,
            event: primitive(batch, col::EVENT, path)?,
            kind: kind_values
                .iter()
                .map(|v| v.and_then(|v| code(&KINDS, v)).and_then(RowKind::from_code))
                .collect(),
            kind_keys,
            venue_ts: primitive(batch, col::VENUE_TS, path)?,
            market,
            market_keys,
            token,
            token_keys,
            side: side_values
                .iter()
                .map(|v| match v.and_then(|v| code(&SIDES, v)) {
                    Some(0) => Some(Side::Buy),
                    Some(1) => Some(Side::Sell),
                    _ => None,
                })
                .collect(),
            side_keys,
            price: primitive(batch, col::PRICE, path)?,
            size: primitive(batch, col::SIZE, path)?,
            best_bid: primitive(batch, col::BEST_BID, path)?,
            best_ask: primitive(batch, col::BEST_ASK, path)?,
            tick: primitive(batch, col::TICK, path)?,
            text: batch
                .column(col::TEXT)
                .as_string_opt::<i32>()
                .cloned()
                .ok_or_else(|| io_err(path, "column `text` is not text"))?,
            rows: batch.num_rows(),
        })
    }

    /// Fills `out` with the next payload; `false` at the end of the day.
    pub fn next_into(&mut self, out: &mut FeedUpdate) -> Result<bool, ArchiveError> {
        out.events.clear();
        out.errors.clear();
        out.raw.clear();
        let mut current: Option<u32> = None;
        // The event id of the last message in `out.events`.
        let mut last_event: Option<u32> = None;
        loop {
            if self.cols.as_ref().is_none_or(|c| self.row >= c.rows) {
                match self.batches.next() {
                    None => {
                        self.cols = None;
                        return Ok(current.is_some());
                    }
                    Some(batch) => {
                        let batch = batch.map_err(|e| {
                            io_err(&self.path, format!("reading the day file: {e}"))
                        })?;
                        self.cols = Some(self.load(&batch)?);
                        self.row = 0;
                        continue;
                    }
                }
            }
            let Some(c) = self.cols.as_ref() else {
                continue;
            };
            let i = self.row;
            let update = c.update.value(i);
            match current {
                Some(u) if u != update => return Ok(true),
                Some(_) => {}
                None => {
                    current = Some(update);
                    out.received_ms = u64::try_from(c.received.value(i)).unwrap_or(0);
                    out.source = match key8(&c.source_keys, &c.source, i) {
                        Some(1) => Source::Rest,
                        _ => Source::Ws {
                            shard: c.shard.value(i),
                        },
                    };
                }
            }
            self.row += 1;
            self.seen_rows += 1;
            let bad =
                |what: &str| io_err(&self.path, format!("row {}: {what}", self.seen_rows - 1));
            let kind = c
                .kind_keys
                .is_valid(i)
                .then(|| c.kind.get(c.kind_keys.value(i) as usize).copied().flatten())
                .flatten()
                .ok_or_else(|| bad("unknown kind"))?;
            if kind == RowKind::Clock {
                continue;
            }
            let event = c.event.is_valid(i).then(|| c.event.value(i));
            let same_event = event.is_some() && event == last_event;
            let ts_ms = c
                .venue_ts
                .is_valid(i)
                .then(|| u64::try_from(c.venue_ts.value(i)).unwrap_or(0))
                .ok_or_else(|| bad("no venue timestamp"))?;
            let market = || {
                idx(&c.market_keys, i)
                    .and_then(|k| c.market.get(k).cloned().flatten())
                    .ok_or_else(|| bad("no market"))
            };
            let token = || {
                idx(&c.token_keys, i)
                    .and_then(|k| c.token.get(k).cloned().flatten())
                    .ok_or_else(|| bad("no token"))
            };
            let side = idx(&c.side_keys, i).and_then(|k| c.side.get(k).copied().flatten());
            let price = |a: &PrimitiveArray<UInt32Type>| -> Result<Option<Price>, ArchiveError> {
                if a.is_valid(i) {
                    Price::new(a.value(i))
                        .map(Some)
                        .ok_or_else(|| bad("a price above $1"))
                } else {
                    Ok(None)
                }
            };
            let need = |p: Option<Price>, what: &str| p.ok_or_else(|| bad(what));
            let size = c
                .size
                .is_valid(i)
                .then(|| Size::from_micros(c.size.value(i)));
            match kind {
                RowKind::Clock => {}
                RowKind::Book => {
                    out.events.push(MarketEvent::Book {
                        token: token()?,
                        market: market()?,
                        ts_ms,
                        bids: Vec::new(),
                        asks: Vec::new(),
                        hash: c.text.is_valid(i).then(|| c.text.value(i).to_string()),
                        tick: price(&c.tick)?,
                    });
                }
                RowKind::Bid | RowKind::Ask => {
                    let level = BookLevel {
                        price: need(price(&c.price)?, "a level without a price")?,
                        size: size.ok_or_else(|| bad("a level without a size"))?,
                    };
                    match out.events.last_mut() {
                        Some(MarketEvent::Book { bids, asks, .. }) if same_event => {
                            if kind == RowKind::Bid {
                                bids.push(level);
                            } else {
                                asks.push(level);
                            }
                        }
                        _ => return Err(bad("a book level outside a book")),
                    }
                }
                RowKind::Change => {
                    let change = if c.token_keys.is_valid(i) {
                        Some(LevelChange {
                            token: token()?,
                            side: side.ok_or_else(|| bad("a change without a side"))?,
                            price: need(price(&c.price)?, "a change without a price")?,
                            size: size.ok_or_else(|| bad("a change without a size"))?,
                            best_bid: price(&c.best_bid)?,
                            best_ask: price(&c.best_ask)?,
                        })
                    } else {
                        None
                    };
                    match out.events.last_mut() {
                        Some(MarketEvent::PriceChange { changes, .. }) if same_event => {
                            changes.extend(change);
                        }
                        _ => out.events.push(MarketEvent::PriceChange {
                            market: market()?,
                            ts_ms,
                            changes: change.into_iter().collect(),
                        }),
                    }
                }
                RowKind::Trade => out.events.push(MarketEvent::LastTrade {
                    token: token()?,
                    market: market()?,
                    ts_ms,
                    price: need(price(&c.price)?, "a trade without a price")?,
                    size: size.ok_or_else(|| bad("a trade without a size"))?,
                    side,
                }),
                RowKind::TickSize => out.events.push(MarketEvent::TickSize {
                    token: token()?,
                    market: market()?,
                    ts_ms,
                    old: need(price(&c.price)?, "a tick change without the old tick")?,
                    new: need(price(&c.tick)?, "a tick change without the new tick")?,
                }),
                RowKind::BestBidAsk => out.events.push(MarketEvent::BestBidAsk {
                    token: token()?,
                    market: market()?,
                    ts_ms,
                    bid: price(&c.best_bid)?,
                    ask: price(&c.best_ask)?,
                }),
                RowKind::NewMarket | RowKind::Resolved => {
                    if !c.text.is_valid(i) {
                        return Err(bad("a market message without its text"));
                    }
                    let e: MarketEvent = serde_json::from_str(c.text.value(i))
                        .map_err(|e| bad(&format!("market message unreadable: {e}")))?;
                    out.events.push(e);
                }
            }
            last_event = event;
        }
    }
}

fn idx<K: arrow_array::ArrowPrimitiveType>(keys: &PrimitiveArray<K>, i: usize) -> Option<usize>
where
    K::Native: TryInto<usize>,
{
    keys.is_valid(i)
        .then(|| keys.value(i).try_into().ok())
        .flatten()
}

fn key8(keys: &PrimitiveArray<UInt8Type>, codes: &[Option<u8>], i: usize) -> Option<u8> {
    idx(keys, i).and_then(|k| codes.get(k).copied().flatten())
}

impl Iterator for DayReader {
    type Item = Result<FeedUpdate, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut u = FeedUpdate {
            received_ms: 0,
            source: Source::Rest,
            raw: String::new(),
            events: Vec::new(),
            errors: Vec::new(),
        };
        match self.next_into(&mut u) {
            Ok(true) => Some(Ok(u)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}
