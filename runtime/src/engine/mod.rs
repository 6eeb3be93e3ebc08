//! The event loop shared by backtest, paper and live: feed → books → strategies
//! (sandboxed) → risk → venue → portfolio → journal, in one total order.

pub mod core;
pub mod deployments;
pub mod registry;
pub mod runner;
pub mod translate;

pub use registry::Registry;
pub use translate::Translator;

pub use self::core::{
    Deployed, Engine, EngineConfig, EngineError, MarketsChange, ReconcileReport, StrategySetup,
};
