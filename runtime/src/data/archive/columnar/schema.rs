//! The columns of a day file: one row per book header, book level, level
//! change, trade or other venue message (and one per clock tick), grouped into
//! payloads by `update` and into messages by `event`.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// Version of the layout below; readers refuse files of another.
pub const FORMAT: &str = "1";

/// What a row is. The codes are the dictionary order of the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RowKind {
    /// A book snapshot's header: token, market, `tick`, the hash in `text`;
    /// its levels follow as `bid` and `ask` rows of the same `event`.
    Book = 0,
    Bid = 1,
    Ask = 2,
    /// One level change of a `price_change` message (several rows of one
    /// `event` are one message).
    Change = 3,
    Trade = 4,
    /// `price` is the old tick, `tick` the new one.
    TickSize = 5,
    BestBidAsk = 6,
    /// Rare messages kept whole: the message as JSON in `text`.
    NewMarket = 7,
    Resolved = 8,
    /// A payload without messages: time passing in a recorded paper session.
    Clock = 9,
}

/// The `kind` column's dictionary, in code order.
pub const KINDS: [&str; 10] = [
    "book",
    "bid",
    "ask",
    "change",
    "trade",
    "tick_size",
    "best_bid_ask",
    "new_market",
    "resolved",
    "clock",
];

impl RowKind {
    pub fn from_code(code: u8) -> Option<RowKind> {
        use RowKind::*;
        Some(match code {
            0 => Book,
            1 => Bid,
            2 => Ask,
            3 => Change,
            4 => Trade,
            5 => TickSize,
            6 => BestBidAsk,
            7 => NewMarket,
            8 => Resolved,
            9 => Clock,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        KINDS[self as usize]
    }
}

/// The `source` column's dictionary.
pub const SOURCES: [&str; 2] = ["ws", "rest"];
/// The `side` column's dictionary.
pub const SIDES: [&str; 2] = ["buy", "sell"];

/// Column positions, in schema order.
pub mod col {
    pub const UPDATE: usize = 0;
    pub const RECEIVED: usize = 1;
    pub const SOURCE: usize = 2;
    pub const SHARD: usize = 3;
    pub const EVENT: usize = 4;
    pub const KIND: usize = 5;
    pub const VENUE_TS: usize = 6;
    pub const MARKET: usize = 7;
    pub const TOKEN: usize = 8;
    pub const SIDE: usize = 9;
    pub const PRICE: usize = 10;
    pub const SIZE: usize = 11;
    pub const BEST_BID: usize = 12;
    pub const BEST_ASK: usize = 13;
    pub const TICK: usize = 14;
    pub const TEXT: usize = 15;
}

fn dict(key: DataType) -> DataType {
    DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
}

fn utc_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The day file's schema. Prices are micro-dollars (divide by 10⁶), sizes
/// micro-shares; timestamps are UTC milliseconds.
pub fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("update", DataType::UInt32, false),
        Field::new("received", utc_ms(), false),
        Field::new("source", dict(DataType::UInt8), false),
        Field::new("shard", DataType::UInt16, false),
        Field::new("event", DataType::UInt32, true),
        Field::new("kind", dict(DataType::UInt8), false),
        Field::new("venue_ts", utc_ms(), true),
        Field::new("market", dict(DataType::UInt32), true),
        Field::new("token", dict(DataType::UInt32), true),
        Field::new("side", dict(DataType::UInt8), true),
        Field::new("price", DataType::UInt32, true),
        Field::new("size", DataType::UInt64, true),
        Field::new("best_bid", DataType::UInt32, true),
        Field::new("best_ask", DataType::UInt32, true),
        Field::new("tick", DataType::UInt32, true),
        Field::new("text", DataType::Utf8, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_round_trip_and_columns_line_up() {
        for code in 0..KINDS.len() as u8 {
            let kind = RowKind::from_code(code).unwrap();
            assert_eq!(kind as u8, code);
            assert_eq!(kind.name(), KINDS[code as usize]);
        }
        assert_eq!(RowKind::from_code(KINDS.len() as u8), None);
        let s = schema();
        assert_eq!(s.field(col::UPDATE).name(), "update");
        assert_eq!(s.field(col::KIND).name(), "kind");
        assert_eq!(s.field(col::TICK).name(), "tick");
        assert_eq!(s.field(col::TEXT).name(), "text");
        assert_eq!(s.fields().len(), col::TEXT + 1);
    }
}
