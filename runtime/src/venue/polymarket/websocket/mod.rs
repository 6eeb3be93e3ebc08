//! The Polymarket market WebSocket: frame decoding (and, next, the client).

pub mod decode;
