//! Market data: order books, quality checks and (next) feeds and the archive; plus
//! the seeded synthetic market generator.

pub mod archive;
pub mod book;
pub mod books;
pub mod feed;
pub mod quality;
pub mod seen;
pub mod update;
