//! The event loop shared by backtest, paper and live: feed → books → strategies
//! (sandboxed) → risk → venue → portfolio → journal, in one total order.

pub mod core;
pub mod deployments;
pub mod registry;
pub mod translate;
pub mod venue;

pub use registry::{MarketSpec, Registry};
pub use translate::Translator;
pub use venue::Venue;

pub use self::core::{Deployed, Engine, EngineConfig, EngineError, MarketsChange, StrategySetup};
