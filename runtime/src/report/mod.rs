//! What a run achieved, derived from its journal: metrics over the equity curve
//! and the realised trades, and the result record of a backtest.

pub mod metrics;
pub mod result;

pub use metrics::{Drawdown, EquityPoint, Metrics};
pub use result::{RunSummary, summarize};
