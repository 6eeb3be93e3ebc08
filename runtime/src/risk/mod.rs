//! Pre-trade risk: limits per strategy and global, the global trading state
//! (active, reducing, halted), order rates and the daily-loss halt.

pub mod check;
pub mod limits;
pub mod rate;

pub use check::{
    Exposure, Intent, MarketView, Rejection, RiskInput, check, daily_loss_breached, reduces,
};
pub use limits::{RiskLimits, TradingState};
pub use rate::OrderRate;
