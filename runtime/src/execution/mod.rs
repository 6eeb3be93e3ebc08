//! Where orders go after risk: the fill simulator for backtest and paper trading,
//! and the venue fee schedule it charges.

pub mod fees;
pub mod rules;
pub mod simulator;

pub use simulator::{FillConfig, FillSimulator, MarketRules, SimOrderView, Slippage};
