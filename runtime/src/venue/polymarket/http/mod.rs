//! Polymarket REST: response shapes and the rate-limited, retrying client.

pub mod book;
pub mod client;
pub mod limits;
pub mod markets;
