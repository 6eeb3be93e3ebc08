//! What the journal records: every state-changing input and every decision.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{ConditionId, MarketEvent, Order, OrderEvent, OrderKey, StrategyId, TokenId};
use crate::risk::TradingState;
use crate::venue::{ForeignAction, ForeignOrder};

/// What a strategy asked for (after the sandbox's structural checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CommandAction {
    Place { order: Order },
    Cancel { client_id: u64 },
    CancelMarket { market: ConditionId },
    Timer { id: u64, at_ns: u64 },
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    RunStarted {
        run_id: String,
        mode: String,
        seed: u64,
    },
    StrategyStarted {
        strategy: StrategyId,
        name: String,
        version: String,
        sha256: String,
        params: serde_json::Value,
    },
    /// A market event that led to a decision (kept so trades can be explained).
    Market {
        event: MarketEvent,
    },
    Command {
        strategy: StrategyId,
        reason: String,
        /// Journal sequence of the market event that caused it.
        cause: Option<i64>,
        command: CommandAction,
    },
    RiskVerdict {
        key: OrderKey,
        accepted: bool,
        rule: Option<String>,
        message: Option<String>,
    },
    OrderSubmitted {
        order: Order,
    },
    Order {
        event: OrderEvent,
    },
    Settlement {
        token: TokenId,
        payout_micros: u32,
    },
    Fault {
        strategy: StrategyId,
        fault: serde_json::Value,
    },
    /// A strategy's restart point, taken after the call whose decisions follow it
    /// in the journal; `event_seq` is the last event sequence it had seen. The
    /// state is stored once per content in `snapshot_blobs` under
    /// `state_sha256` (journals before that held it inline as `state_hex`).
    Snapshot {
        strategy: StrategyId,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        state_hex: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state_sha256: Option<String>,
        #[serde(default)]
        state_bytes: u64,
        #[serde(default)]
        event_seq: u64,
    },
    /// After a restart: what the venue said of an order the journal left working
    /// (or with an unknown submission outcome).
    Reconciled {
        key: OrderKey,
        /// Micro-shares still working at the venue, or `None`: unknown to it.
        working_micros: Option<u64>,
    },
    /// The venue's account could (again) or could not be reconciled; while it
    /// cannot, the engine places no orders.
    VenueReconciliation {
        complete: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<String>,
    },
    /// A foreign order on the venue's account (one no order of the host names)
    /// and what was done about it under `live.foreign_orders`; `detail` says
    /// why a cancel failed.
    ForeignOrder {
        order: ForeignOrder,
        action: ForeignAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A restarted strategy was restored from the snapshot at `snapshot_seq` and
    /// re-delivered `redelivered` order events journaled since.
    Restored {
        strategy: StrategyId,
        snapshot_seq: i64,
        redelivered: u32,
    },
    TradingState {
        state: TradingState,
        actor: String,
    },
    /// An operator paused (`paused: true`) or resumed a strategy. A paused
    /// strategy hears nothing and its working orders are cancelled.
    StrategyPaused {
        strategy: StrategyId,
        paused: bool,
        actor: String,
    },
    /// A deployment into the running engine: a new strategy `started`, a new
    /// version `reloaded` in place of `previous_sha256` (state carried over by
    /// snapshot and restore; positions and orders kept), or `rolled_back`
    /// because it could not start (`reason`), the old version still running.
    Deployed {
        strategy: StrategyId,
        name: String,
        version: String,
        sha256: String,
        previous_sha256: Option<String>,
        outcome: String,
        reason: Option<String>,
        actor: String,
    },
    /// An operator retired a strategy: its orders cancelled, its instance
    /// stopped; its positions stay on the books.
    StrategyRetired {
        strategy: StrategyId,
        actor: String,
    },
    /// A strategy stopped for good until an operator acts: too many faults, a
    /// start that failed, or an operator's decision (`actor`).
    StrategyQuarantined {
        strategy: StrategyId,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor: Option<String>,
    },
    /// The daily-loss baseline of a strategy (or of all of them, `None`): its
    /// equity (cash plus holdings at the mid) when the UTC `day` began for it,
    /// or when an operator resumed it after a daily-loss halt (`reason`).
    DayStart {
        strategy: Option<StrategyId>,
        day: u64,
        equity: Decimal,
        reason: String,
    },
    /// All strategies together lost more today than `risk.global.max_daily_loss`:
    /// only reducing orders pass until the next UTC day or an operator resume.
    PortfolioHalted {
        reason: String,
    },
    /// The venue's list of open markets changed while running: markets it
    /// trades from now on, and markets it stopped listing (closed to orders).
    MarketsChanged {
        added: Vec<ConditionId>,
        closed: Vec<ConditionId>,
    },
    /// A strategy stopped opening positions (daily loss limit).
    StrategyHalted {
        strategy: StrategyId,
        reason: String,
    },
    /// Equity and PnL; `unrealized` marks holdings to the mid,
    /// `unrealized_at_bid` to what selling them at the best bid would fetch.
    Mark {
        strategy: StrategyId,
        equity: Decimal,
        cash: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        #[serde(default)]
        unrealized_at_bid: Decimal,
    },
}

impl Entry {
    /// The kind column of the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::RunStarted { .. } => "run_started",
            Entry::StrategyStarted { .. } => "strategy_started",
            Entry::Market { .. } => "market",
            Entry::Command { .. } => "command",
            Entry::RiskVerdict { .. } => "risk_verdict",
            Entry::OrderSubmitted { .. } => "order_submitted",
            Entry::Order { .. } => "order",
            Entry::Settlement { .. } => "settlement",
            Entry::Fault { .. } => "fault",
            Entry::Snapshot { .. } => "snapshot",
            Entry::Reconciled { .. } => "reconciled",
            Entry::VenueReconciliation { .. } => "venue_reconciliation",
            Entry::ForeignOrder { .. } => "foreign_order",
            Entry::Restored { .. } => "restored",
            Entry::TradingState { .. } => "trading_state",
            Entry::StrategyPaused { .. } => "strategy_paused",
            Entry::StrategyHalted { .. } => "strategy_halted",
            Entry::DayStart { .. } => "day_start",
            Entry::MarketsChanged { .. } => "markets_changed",
            Entry::PortfolioHalted { .. } => "portfolio_halted",
            Entry::StrategyQuarantined { .. } => "strategy_quarantined",
            Entry::Deployed { .. } => "deployed",
            Entry::StrategyRetired { .. } => "strategy_retired",
            Entry::Mark { .. } => "mark",
        }
    }
}
