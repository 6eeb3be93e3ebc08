//! The host's shared vocabulary: identifiers, exact price/size units and the
//! normalised market events every other module speaks. Depends on nothing else in
//! the runtime.

pub mod event;
pub mod ids;

pub use event::{BookLevel, LevelChange, MarketEvent, Side};
pub use ids::{ConditionId, IdError, TokenId};
/// Exact micro-unit price and size: the same types strategies use.
pub use pqap_strategy_sdk::{Price, Size, UnitError};
