//! The seam between the engine and a venue: what the engine asks of a place
//! orders go to. The fill simulator (backtest, paper) and the live CLOB
//! implement it. Host time is passed in, never read.

use crate::data::books::Books;
use crate::model::{Fill, MarketEvent, Order, OrderEvent, OrderKey, Size};
use crate::venue::{ForeignOrder, ForeignPolicy, MarketSpec};

/// A place orders go to and order events come from.
pub trait Venue {
    /// Stamps the venue's identity of an order (its salt and order id) before
    /// the engine journals it; a venue inside the process needs none.
    fn prepare(&mut self, _order: &mut Order) {}
    /// Sends an order; events that follow at once (accept, reject, taker fills).
    fn submit(&mut self, order: Order, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// Asks to cancel an order; an unknown key yields nothing.
    fn cancel(&mut self, key: OrderKey, now_ns: u64) -> Vec<OrderEvent>;
    /// Market activity (already applied to `books`) that may fill resting orders.
    fn on_market(&mut self, event: &MarketEvent, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// Time passing: latencies elapse, orders expire.
    fn on_time(&mut self, now_ns: u64, books: &Books) -> Vec<OrderEvent>;
    /// After a restart (and whenever the host is unsure): what became of an
    /// order the journal left working or unknown.
    fn reconcile(&mut self, order: &Order, now_ns: u64) -> Reconciliation;
    /// A market the run trades from now on (listed while running).
    fn add_market(&mut self, _spec: &MarketSpec) {}
    /// At start: a fill an earlier process booked on `order` (its venue trade
    /// `trade_id`, booked at host time `booked_ns`) whose trade may not have
    /// settled yet. A venue whose trades can still fail follows it to its end
    /// and reports a FAILED as a reversal; `over` when the journal holds the
    /// order as ended. A venue inside the process settles at once.
    fn follow_booked(&mut self, _order: &Order, _trade_id: &str, _booked_ns: u64, _over: bool) {}
    /// Whether submits and cancels are held until [`Venue::release`]: a venue
    /// outside the process, whose requests must not leave before the journal
    /// entries they follow from are durable (write-ahead). A venue inside the
    /// process acts at once and says no.
    fn holds_requests(&self) -> bool {
        false
    }
    /// Everything journaled so far is durable: held requests may leave.
    fn release(&mut self, _now_ns: u64) {}
    /// Brings what [`Venue::reconcile`] answers about `orders` (those the
    /// engine holds working or unknown) up to date: a venue outside the
    /// process asks the exchange for its open orders, these orders and the
    /// trades since the last it saw. An error leaves the engine not trading.
    fn refresh(
        &mut self,
        _orders: &[Order],
        _now_ns: u64,
    ) -> impl Future<Output = Result<(), VenueUnreachable>> {
        std::future::ready(Ok(()))
    }
    /// Open orders on the account that the last refresh was not asked about
    /// and this process did not place. A venue inside the process has none.
    fn foreign_orders(&self) -> Vec<ForeignOrder> {
        Vec::new()
    }
    /// What the host does with foreign orders (the venue's account config).
    fn foreign_policy(&self) -> ForeignPolicy {
        ForeignPolicy::Leave
    }
    /// Cancels a foreign order by its venue id: `Ok` once the venue says it
    /// is cancelled, else why not (the venue's or the transport's words).
    fn cancel_foreign(
        &mut self,
        venue_id: &str,
    ) -> impl Future<Output = Result<(), VenueUnreachable>> {
        std::future::ready(Err(VenueUnreachable(format!(
            "this venue cannot cancel {venue_id}: it has no orders it did not place"
        ))))
    }
    /// Something wrong with the venue connection that must stop new orders
    /// (heartbeats failing: the venue is cancelling the account's orders).
    /// Trading resumes after the next reconciliation that finds none.
    fn trouble(&self) -> Option<String> {
        None
    }
    /// Whether the venue may have missed reports and a reconciliation is due
    /// at once, not at the next interval (its user channel dropped and is
    /// back). Until one succeeds, [`Venue::trouble`] stops new orders.
    fn wants_reconcile(&self) -> bool {
        false
    }
    /// Woken when the venue has news (answers, fills) for the engine, which
    /// then takes them at once instead of at its next clock tick.
    fn wakeup(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}

/// The venue's account could not be asked: why, in the transport's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the venue's account cannot be reconciled: {0}")]
pub struct VenueUnreachable(pub String);

/// What the venue says of an order the host lost track of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub fate: OrderFate,
    /// Fills the venue made that the host may not have heard of, in order,
    /// each with its trade id when the venue gives one; the engine books those
    /// it has not journaled (cause `reconciled`) before the fate.
    pub fills: Vec<Fill>,
}

/// Where an order stands at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFate {
    /// Still working, with this much left.
    Working { remaining: Size },
    /// No longer working: what its fills did not take was cancelled.
    Over,
    /// The venue never received it.
    NotReceived,
}

impl Reconciliation {
    pub fn working(remaining: Size) -> Reconciliation {
        Reconciliation {
            fate: OrderFate::Working { remaining },
            fills: Vec::new(),
        }
    }

    pub fn over() -> Reconciliation {
        Reconciliation {
            fate: OrderFate::Over,
            fills: Vec::new(),
        }
    }
}
