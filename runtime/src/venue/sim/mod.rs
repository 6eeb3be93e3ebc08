//! `pqap sim`: a local Polymarket on 127.0.0.1 with the venue's REST paths, JSON
//! shapes and market WebSocket, driven by a seeded generator or a recorded
//! partition, with switches that inject faults.

pub mod exchange;
pub mod faults;
pub mod generator;
pub mod recording;
pub mod rest;
pub mod server;
pub mod state;
pub mod wire;
pub mod ws;

pub use server::{SimConfig, SimServer};
pub use state::Activity;
