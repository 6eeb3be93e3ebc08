//! `HostApi` backed by the component's WIT imports (what runs inside the sandbox).

use crate::Price;
use crate::bindings::pqap::strategy::host;
use crate::ctx::HostApi;
use crate::types::{BookTop, LogLevel, OpenOrder, Position};

/// The real host, reached through the component's imports.
pub struct WasmHost;

impl HostApi for WasmHost {
    fn log(&mut self, level: LogLevel, message: &str) {
        host::log(level, message);
    }

    fn now(&self) -> u64 {
        host::now()
    }

    fn position(&self, instrument: u32) -> Position {
        host::get_position(instrument)
    }

    fn open_orders(&self, instrument: Option<u32>) -> Vec<OpenOrder> {
        host::get_open_orders(instrument)
    }

    fn book_top(&self, instrument: u32) -> BookTop {
        host::get_book_top(instrument)
    }

    fn random(&mut self) -> u64 {
        host::random()
    }

    fn metric(&mut self, name: &str, value: i64) {
        host::metric(name, value);
    }

    fn annotate(&mut self, key: &str, value: &str) {
        host::annotate(key, value);
    }

    fn fair_value(&mut self, instrument: u32, probability: Price) {
        host::fair_value(instrument, probability.micros());
    }
}
