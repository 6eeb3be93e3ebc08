//! Trading on Polymarket's CLOB: the authenticated client (`client`), its
//! error classes and the venue's answers, per-signer rate buckets, and the
//! venue adapter the engine trades through.

pub mod client;
pub mod error;
mod from_venue;
pub mod funds;
pub mod geoblock;
pub mod inbox;
pub mod rate;
mod sender;
pub mod settlement;
pub mod sign_orders;
pub mod tracker;
pub mod types;
pub mod user_feed;
pub mod venue;

pub use client::{Asset, ClobClient};
pub use error::ClobError;
pub use sign_orders::OrderSigner;
pub use venue::PolymarketVenue;
