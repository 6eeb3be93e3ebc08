//! Venues: the seam the engine trades through, the real Polymarket and, next
//! to it, the local simulator.

pub mod foreign;
pub mod market;
pub mod polymarket;
pub mod seam;
pub mod sim;

pub use foreign::{ForeignAction, ForeignOrder, ForeignPolicy};
pub use market::MarketSpec;
pub use seam::{OrderFate, Reconciliation, Venue, VenueUnreachable};
