//! The event loop shared by backtest, paper and live: feed → books → strategies
//! (sandboxed) → risk → venue → portfolio → journal, in one total order.

pub mod registry;
pub mod translate;

pub use registry::{MarketSpec, Registry};
pub use translate::Translator;
