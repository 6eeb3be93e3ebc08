//! The context a strategy hook receives: host queries plus the command buffer.

use crate::types::{
    Action, BookTop, Command, LogLevel, OpenOrder, OrderRequest, Position, Side, TimeInForce,
    TimerRequest,
};
use crate::{Price, Size};

/// Reason tags longer than this are cut by the host; the SDK cuts them first so the
/// journal shows exactly what the strategy meant.
pub const MAX_REASON_BYTES: usize = 64;

/// The host services a strategy can use. In a component they are WIT imports; in
/// the native test harness they are simulated.
pub trait HostApi {
    fn log(&mut self, level: LogLevel, message: &str);
    fn now(&self) -> u64;
    fn position(&self, instrument: u32) -> Position;
    fn open_orders(&self, instrument: Option<u32>) -> Vec<OpenOrder>;
    fn book_top(&self, instrument: u32) -> BookTop;
    fn random(&mut self) -> u64;
    fn metric(&mut self, name: &str, value: i64);
    fn annotate(&mut self, key: &str, value: &str);
    fn fair_value(&mut self, instrument: u32, probability: Price);
}

/// Order ids drawn from a generator seeded once from the host's seeded random:
/// deterministic in a backtest, unique across restarts (a restarted instance
/// reseeds from the host's advanced stream), and one host call per instance
/// instead of one per order.
#[derive(Debug, Clone, Default)]
pub struct OrderIds {
    state: Option<u64>,
}

impl OrderIds {
    fn next(&mut self, host: &mut dyn HostApi) -> u64 {
        let state = self.state.get_or_insert_with(|| host.random());
        loop {
            // SplitMix64 step.
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            // Zero is reserved so that "no order" can be 0 in strategy state.
            let id = (z ^ (z >> 31)) >> 1;
            if id != 0 {
                return id;
            }
        }
    }
}

/// Handed to every [`crate::Strategy`] hook: ask the host, and queue commands.
///
/// Commands are returned to the host when the hook's batch ends, each tagged with
/// the reason given and the sequence number of the event being handled.
pub struct Ctx<'h> {
    host: &'h mut dyn HostApi,
    ids: &'h mut OrderIds,
    commands: Vec<Command>,
    cause: Option<u64>,
    event_ts: u64,
    /// Tops carried by this batch's quote events. The host sends them with its
    /// state after the batch, which is exactly what `book_top` would answer, so
    /// they save a host call per quoted instrument.
    tops: Vec<(u32, BookTop)>,
}

impl<'h> Ctx<'h> {
    pub fn new(host: &'h mut dyn HostApi, ids: &'h mut OrderIds) -> Ctx<'h> {
        let event_ts = host.now();
        Ctx {
            host,
            ids,
            commands: Vec::new(),
            cause: None,
            event_ts,
            tops: Vec::new(),
        }
    }

    /// Remembers a top the host sent in this call (see `tops`).
    #[doc(hidden)]
    pub fn note_top(&mut self, instrument: u32, top: BookTop) {
        match self.tops.iter_mut().find(|(i, _)| *i == instrument) {
            Some(slot) => slot.1 = top,
            None => self.tops.push((instrument, top)),
        }
    }

    /// Sets the event that commands issued from now on answer to.
    #[doc(hidden)]
    pub fn set_cause(&mut self, seq: Option<u64>, ts: u64) {
        self.cause = seq;
        self.event_ts = ts;
    }

    /// Takes the queued commands.
    #[doc(hidden)]
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// Commands queued so far in this call.
    pub fn pending(&self) -> &[Command] {
        &self.commands
    }

    /// Host time now (simulated in a backtest).
    pub fn now(&self) -> u64 {
        self.host.now()
    }

    /// Timestamp of the event being handled.
    pub fn event_time(&self) -> u64 {
        self.event_ts
    }

    /// Our position in an instrument.
    pub fn position(&self, instrument: u32) -> Position {
        self.host.position(instrument)
    }

    /// Our working orders on one instrument or all.
    pub fn open_orders(&self, instrument: Option<u32>) -> Vec<OpenOrder> {
        self.host.open_orders(instrument)
    }

    /// Best bid and ask of an instrument.
    pub fn book_top(&self, instrument: u32) -> BookTop {
        match self.tops.iter().find(|(i, _)| *i == instrument) {
            Some((_, top)) => *top,
            None => self.host.book_top(instrument),
        }
    }

    /// Next number from the run's seeded generator.
    pub fn random(&mut self) -> u64 {
        self.host.random()
    }

    /// A fresh, never-zero order id: deterministic across backtest reruns and
    /// unique across restarts (see [`OrderIds`]).
    pub fn new_order_id(&mut self) -> u64 {
        self.ids.next(self.host)
    }

    pub fn log(&mut self, level: LogLevel, message: &str) {
        self.host.log(level, message);
    }

    pub fn info(&mut self, message: &str) {
        self.host.log(LogLevel::Info, message);
    }

    pub fn warn(&mut self, message: &str) {
        self.host.log(LogLevel::Warn, message);
    }

    pub fn metric(&mut self, name: &str, value: i64) {
        self.host.metric(name, value);
    }

    pub fn annotate(&mut self, key: &str, value: &str) {
        self.host.annotate(key, value);
    }

    /// Publishes our probability that `instrument` pays out (scored by reports).
    pub fn fair_value(&mut self, instrument: u32, probability: Price) {
        self.host.fair_value(instrument, probability);
    }

    fn push(&mut self, action: Action, reason: &str) {
        let mut end = reason.len().min(MAX_REASON_BYTES);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.commands.push(Command {
            action,
            reason: reason[..end].to_string(),
            cause: self.cause,
        });
    }

    /// Queues an order exactly as given.
    pub fn place(&mut self, order: OrderRequest, reason: &str) {
        self.push(Action::Place(order), reason);
    }

    /// Queues a good-till-cancelled limit order and returns its new id.
    pub fn limit(
        &mut self,
        instrument: u32,
        side: Side,
        price: Price,
        size: Size,
        post_only: bool,
        reason: &str,
    ) -> u64 {
        let id = self.new_order_id();
        self.place(
            OrderRequest {
                id,
                instrument,
                side,
                price: price.micros(),
                size: size.micros(),
                tif: TimeInForce::Gtc,
                post_only,
            },
            reason,
        );
        id
    }

    /// Queues an order that takes what is available up to `price` now and cancels
    /// the rest (`fak`), or all-or-nothing (`fok`) when `all_or_none`.
    pub fn take(
        &mut self,
        instrument: u32,
        side: Side,
        price: Price,
        size: Size,
        all_or_none: bool,
        reason: &str,
    ) -> u64 {
        let id = self.new_order_id();
        let tif = if all_or_none {
            TimeInForce::Fok
        } else {
            TimeInForce::Fak
        };
        self.place(
            OrderRequest {
                id,
                instrument,
                side,
                price: price.micros(),
                size: size.micros(),
                tif,
                post_only: false,
            },
            reason,
        );
        id
    }

    /// Queues a cancel of one of our orders.
    pub fn cancel(&mut self, order: u64, reason: &str) {
        self.push(Action::Cancel(order), reason);
    }

    /// Queues a cancel of every order we have on any instrument of `market`.
    pub fn cancel_all_in_market(&mut self, market: u32, reason: &str) {
        self.push(Action::CancelAllInMarket(market), reason);
    }

    /// Asks for `on_timer(id)` at host time `at`.
    pub fn set_timer(&mut self, id: u64, at: u64, reason: &str) {
        self.push(Action::SetTimer(TimerRequest { id, at }), reason);
    }
}
