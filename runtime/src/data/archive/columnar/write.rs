//! Writes a day file: rows in record batches, row groups streamed to a
//! `.partial` file, the day's metadata in the footer, then an atomic rename.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::carry::BookCarry;
use super::rows::DayRows;
use super::schema::{FORMAT, schema};
use super::{DayMeta, META_KEY, Opening};
use crate::data::archive::{ArchiveError, io_err};
use crate::data::seen::MarketsSeen;
use crate::data::update::FeedUpdate;

/// Rows per record batch handed to the Parquet writer.
const BATCH_ROWS: usize = 16 * 1024;
/// Rows per row group: what a streaming reader holds decoded at once.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// A day file being written.
pub struct DayWriter {
    day: String,
    path: PathBuf,
    partial: PathBuf,
    writer: ArrowWriter<File>,
    rows: DayRows,
    carry: BookCarry,
    seen: MarketsSeen,
    opening: Opening,
}

fn parquet_err(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> ArchiveError + '_ {
    move |e| io_err(path, format!("writing the day file: {e}"))
}

impl DayWriter {
    /// Starts `path` for `day`, whose books open as `opening` left them.
    pub fn create(path: &Path, day: &str, opening: Opening) -> Result<DayWriter, ArchiveError> {
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        let file = File::create(&partial).map_err(|e| io_err(&partial, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).map_err(|e| io_err(path, format!("zstd level: {e}")))?,
            ))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("pqap {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer =
            ArrowWriter::try_new(file, schema(), Some(props)).map_err(parquet_err(path))?;
        let mut carry = BookCarry::new();
        for e in &opening.state {
            carry.observe_event(e, opening.at_ms);
        }
        Ok(DayWriter {
            day: day.to_string(),
            path: path.to_path_buf(),
            partial,
            writer,
            rows: DayRows::new(),
            carry,
            seen: MarketsSeen::default(),
            opening,
        })
    }

    /// Appends one payload (in receive order).
    pub fn push(&mut self, u: &FeedUpdate) -> Result<(), ArchiveError> {
        self.rows.push(u);
        self.carry.observe(u);
        for e in &u.events {
            self.seen.observe(e);
        }
        if self.rows.pending() >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), ArchiveError> {
        let batch = self
            .rows
            .take_batch()
            .map_err(|e| io_err(&self.path, format!("building rows: {e}")))?;
        self.writer.write(&batch).map_err(parquet_err(&self.path))
    }

    /// Writes the footer and puts the file in place; returns its metadata.
    pub fn finish(mut self, next_day_start_ms: u64) -> Result<DayMeta, ArchiveError> {
        if self.rows.pending() > 0 {
            self.write_batch()?;
        }
        let meta = DayMeta {
            format: FORMAT.to_string(),
            day: self.day.clone(),
            digest: self.rows.digest(),
            counts: self.rows.counts().clone(),
            markets: self.seen,
            opening_from: self.opening.from_day.clone(),
            opening: self.opening.state,
            closing: self.carry.state(next_day_start_ms),
        };
        let text = serde_json::to_string(&meta)
            .map_err(|e| io_err(&self.path, format!("encoding the day's metadata: {e}")))?;
        self.writer
            .append_key_value_metadata(KeyValue::new(META_KEY.to_string(), text));
        self.writer.close().map_err(parquet_err(&self.path))?;
        std::fs::rename(&self.partial, &self.path).map_err(|e| io_err(&self.path, e))?;
        Ok(meta)
    }

    /// Abandons the file.
    pub fn discard(self) {
        drop(self.writer);
        let _ = std::fs::remove_file(&self.partial);
    }
}
