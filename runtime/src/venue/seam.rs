//! The seam between the engine and a venue: what the engine asks of a place
//! orders go to. The fill simulator (backtest, paper) and the live CLOB
//! implement it. Host time is passed in, never read.

use crate::data::books::Books;
use crate::model::{MarketEvent, Order, OrderEvent, OrderKey, Size};
use crate::venue::MarketSpec;

/// A place orders go to and order events come from.
pub trait Venue {
    /// Sends an order; events that follow at once (accept, reject, taker fills).
    fn submit(&mut self, order: Order, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// Asks to cancel an order; an unknown key yields nothing.
    fn cancel(&mut self, key: OrderKey, now_ns: u64) -> Vec<OrderEvent>;
    /// Market activity (already applied to `books`) that may fill resting orders.
    fn on_market(&mut self, event: &MarketEvent, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// Time passing: latencies elapse, orders expire.
    fn on_time(&mut self, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// After a restart: is this order still working, and with how much left?
    /// `None` means the venue does not know it (never arrived, or gone).
    fn reconcile(&mut self, key: OrderKey, now_ns: u64) -> Option<Size>;
    /// A market the run trades from now on (listed while running).
    fn add_market(&mut self, _spec: &MarketSpec) {}
    /// Whether submits and cancels are held until [`Venue::release`]: a venue
    /// outside the process, whose requests must not leave before the journal
    /// entries they follow from are durable (write-ahead). A venue inside the
    /// process acts at once and says no.
    fn holds_requests(&self) -> bool {
        false
    }
    /// Everything journaled so far is durable: held requests may leave.
    fn release(&mut self, _now_ns: u64) {}
}
