//! The `Strategy` trait: one hook per event kind, each a no-op unless overridden.

use crate::types::{
    BookChange, BookSnapshot, Fill, InitConfig, MarketStatus, OrderAccepted, OrderCancelled,
    OrderRejected, Quote, Resolution, StrategyInfo, TickSizeChange, TradePrint,
};
use crate::{Ctx, Params};

/// A trading strategy. Implement `describe` and `init`; override the hooks you need.
///
/// The host delivers events in batches, in one total order. Hooks run in that order;
/// `on_batch_end` runs once after the batch, which is the natural place to compare
/// wanted quotes with working orders and act once instead of per event.
pub trait Strategy: Sized + 'static {
    /// Name, version, parameter schema and event interests. Must be constant.
    fn describe() -> StrategyInfo;

    /// Builds the strategy from its configuration. `params` already has defaults
    /// filled in and kinds checked against `describe`. An `Err` refuses to start.
    fn init(ctx: &mut Ctx, config: &InitConfig, params: &Params) -> Result<Self, String>;

    fn on_book_snapshot(&mut self, _ctx: &mut Ctx, _book: &BookSnapshot) {}
    fn on_book_change(&mut self, _ctx: &mut Ctx, _change: &BookChange) {}
    fn on_quote(&mut self, _ctx: &mut Ctx, _quote: &Quote) {}
    fn on_trade(&mut self, _ctx: &mut Ctx, _trade: &TradePrint) {}
    fn on_tick_size(&mut self, _ctx: &mut Ctx, _change: &TickSizeChange) {}
    fn on_market_status(&mut self, _ctx: &mut Ctx, _status: &MarketStatus) {}
    fn on_resolved(&mut self, _ctx: &mut Ctx, _resolution: &Resolution) {}
    fn on_order_accepted(&mut self, _ctx: &mut Ctx, _accepted: &OrderAccepted) {}
    fn on_order_rejected(&mut self, _ctx: &mut Ctx, _rejected: &OrderRejected) {}
    fn on_order_cancelled(&mut self, _ctx: &mut Ctx, _cancelled: &OrderCancelled) {}
    fn on_fill(&mut self, _ctx: &mut Ctx, _fill: &Fill) {}
    fn on_timer(&mut self, _ctx: &mut Ctx, _id: u64) {}
    /// Runs after every batch of events (not after `on_timer` calls).
    fn on_batch_end(&mut self, _ctx: &mut Ctx) {}

    /// State to carry across a hot reload or a restart after a fault.
    fn snapshot_state(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Rebuilds state saved by `snapshot_state` (called after `init`).
    fn restore_state(&mut self, _ctx: &mut Ctx, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }

    /// A planned stop: queue final commands such as cancels.
    fn shutdown(&mut self, _ctx: &mut Ctx) {}
}
