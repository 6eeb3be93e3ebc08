//! PQAP runtime: the host that owns market data, risk, execution and money, and
//! runs untrusted strategies in wasm sandboxes. The modules follow the pipeline
//! (data → strategy → risk → execution → portfolio → store); none reaches back up it.

pub mod alerts;
pub mod backtest;
pub mod config;
pub mod data;
pub mod engine;
pub mod execution;
pub mod model;
pub mod portfolio;
pub mod report;
pub mod risk;
pub mod store;
pub mod strategy;
pub mod venue;
pub mod web;
