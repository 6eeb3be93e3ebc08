//! Venue adapters: the real Polymarket and, next to it, the local simulator.

pub mod polymarket;
pub mod sim;
