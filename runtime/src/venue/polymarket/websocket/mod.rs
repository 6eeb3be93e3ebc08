//! The Polymarket WebSockets: frame decoding, connection and the sharded client.

pub mod client;
pub mod connect;
pub mod decode;
pub mod user;
