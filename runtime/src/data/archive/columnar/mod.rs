//! Day files: each day's decoded messages as Apache Parquet beside its raw
//! SQLite partition (which stays the source of truth), typed columns in exact
//! integer units, for fast replays and for reading in polars, pandas or DuckDB.
//! The footer carries the day's digest, counts, markets and the books it opened
//! and closed with.

mod carry;
mod read;
mod rows;
mod schema;
mod write;

use serde::{Deserialize, Serialize};

pub use carry::{BookCarry, opening_update};
pub use read::{DayReader, read_meta};
pub use rows::{DayCounts, DayRows};
pub use schema::{FORMAT, KINDS, RowKind, schema};
pub use write::{DayWriter, ROW_GROUP_ROWS};

use crate::data::seen::MarketsSeen;
use crate::model::MarketEvent;

/// The footer key holding [`DayMeta`] as JSON.
pub const META_KEY: &str = "pqap.day";

/// What a day file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayMeta {
    pub format: String,
    pub day: String,
    /// SHA-256 of the rows as replayed (see `DayRows::digest`).
    pub digest: String,
    pub counts: DayCounts,
    pub markets: MarketsSeen,
    /// The previous day, when the day's books opened as it closed them.
    pub opening_from: Option<String>,
    /// The books (and resolutions) the day opened with.
    pub opening: Vec<MarketEvent>,
    /// The books (and resolutions) as the day left them, for the next day.
    pub closing: Vec<MarketEvent>,
}

/// The state a day opens with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opening {
    /// The day it carries over from (none: the day starts empty).
    pub from_day: Option<String>,
    pub state: Vec<MarketEvent>,
    /// The day's first millisecond.
    pub at_ms: u64,
}

#[cfg(test)]
mod tests;
