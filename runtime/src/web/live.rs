//! What the running engine publishes for the server: feed health, counters and
//! each strategy's sandbox and PnL state, refreshed by the engine's loop. Handlers
//! read a copy; they never touch the engine.

use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::data::feed::FeedCounters;
use crate::engine::Engine;
use crate::strategy::RunState;
use crate::venue::Venue;

/// One strategy as the server shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyLive {
    pub id: u32,
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// Parameters given at deployment (the rest keep their defaults).
    pub params: std::collections::BTreeMap<String, String>,
    /// `running`, `paused`, `halted` (daily loss), `backoff` or `quarantined`.
    pub state: &'static str,
    pub fuel_calls: u64,
    pub fuel_total: u128,
    pub fuel_max: u64,
    pub faults: usize,
    pub restarts: u32,
    /// Orders risk refused (since the server started).
    pub risk_rejections: u64,
    /// The latest fault, as text.
    pub last_fault: Option<String>,
    pub fills: u64,
    pub fees: Decimal,
    pub realized: Decimal,
    /// Holdings marked to the mid, less their cost.
    pub unrealized: Decimal,
    pub cash: Decimal,
    /// Cash plus holdings at the mid.
    pub equity: Decimal,
}

/// The engine's state as of `updated_ms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveStatus {
    pub started_ms: u64,
    pub updated_ms: u64,
    pub mode: String,
    pub trading_state: String,
    pub feed_connected: bool,
    pub feed_updates: u64,
    /// Updates per second since the previous status (a rate for display and
    /// metrics, hence a float).
    pub feed_updates_per_s: f64,
    pub feed_reconnects: u64,
    pub last_update_ms: Option<u64>,
    pub journal_next_seq: i64,
    /// The last journal commit succeeded.
    pub journal_ok: bool,
    /// All strategies' equity together.
    pub equity: Decimal,
    pub strategies: Vec<StrategyLive>,
}

/// Shared between the engine loop (writer) and the HTTP handlers (readers).
pub type Live = Arc<RwLock<LiveStatus>>;

/// Refreshes `live` from the engine.
pub fn publish<V: Venue>(live: &Live, engine: &Engine<V>, feed: FeedCounters, now_ms: u64) {
    let strategies: Vec<StrategyLive> = engine
        .strategies()
        .into_iter()
        .filter_map(|(id, name)| {
            let sup = engine.supervisor(id)?;
            let account = engine.portfolio().account(id);
            let fuel = sup.fuel();
            let (equity, unrealized) = engine.equity(id).unwrap_or_default();
            Some(StrategyLive {
                id,
                name,
                version: sup.artifact().info.version.clone(),
                sha256: sup.artifact().sha256.clone(),
                params: crate::strategy::artifact::params_text(&sup.config().params),
                state: match sup.state() {
                    RunState::Running if engine.is_paused(id) => "paused",
                    RunState::Running if engine.is_halted(id) => "halted",
                    RunState::Running => "running",
                    RunState::Backoff { .. } => "backoff",
                    RunState::Quarantined => "quarantined",
                },
                fuel_calls: fuel.calls,
                fuel_total: fuel.total,
                fuel_max: fuel.max,
                faults: sup.faults().len(),
                restarts: sup.restarts(),
                last_fault: sup.faults().last().map(|f| f.fault.to_string()),
                risk_rejections: engine.rejections(id),
                fills: account.map_or(0, |a| a.fills),
                fees: account.map_or(Decimal::ZERO, |a| a.fees),
                realized: account.map_or(Decimal::ZERO, |a| a.realized()),
                cash: account.map_or(Decimal::ZERO, |a| a.cash),
                unrealized,
                equity,
            })
        })
        .collect();
    if let Ok(mut s) = live.write() {
        let dt_ms = now_ms.saturating_sub(s.updated_ms);
        if s.updated_ms > 0 && dt_ms > 0 {
            s.feed_updates_per_s =
                feed.updates.saturating_sub(s.feed_updates) as f64 * 1_000.0 / dt_ms as f64;
        }
        s.updated_ms = now_ms;
        s.trading_state = engine.trading_state().to_string();
        s.feed_connected = feed.connected;
        s.feed_updates = feed.updates;
        s.feed_reconnects = feed.reconnects;
        s.last_update_ms = feed.last_update_ms;
        s.journal_next_seq = engine.journal().next_seq();
        s.journal_ok = true;
        s.equity = strategies
            .iter()
            .map(|st: &StrategyLive| st.equity)
            .sum::<Decimal>()
            .round_dp(6);
        s.strategies = strategies;
    }
}
