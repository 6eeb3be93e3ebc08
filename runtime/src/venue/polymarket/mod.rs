//! The Polymarket venue adapter: wire formats and clients, split as `http/`,
//! `websocket/` and (with live trading) `signing/` and `execution/`.

pub mod execution;
pub mod http;
pub mod rtds;
pub mod signing;
pub mod websocket;
