//! The sim's trading side: a verifying exchange for the authenticated CLOB API
//! (API keys by L1, L2-signed trading calls, signed V2 orders matched against
//! the simulated book by the platform's fill simulator, settlement stages, the
//! user channel, heartbeats, rate limits and trading faults).

pub mod auth;
pub mod cancel;
pub mod config;
pub mod engine;
pub mod fills;
pub mod heartbeat;
pub mod http;
pub mod http_data;
pub mod http_keys;
pub mod http_orders;
pub mod keys;
pub mod ledger;
pub mod limits;
pub mod place;
pub mod records;
pub mod routes;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rules;
pub mod user_ws;

pub use config::{AccountConfig, Bucket, ExchangeConfig, parse_fund};
pub use engine::{Clock, ExchangeState};
pub use records::TradeStatus;
