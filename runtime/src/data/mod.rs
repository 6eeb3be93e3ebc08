//! Market data: feeds, order books, quality checks and the archive.

pub mod synthetic;
