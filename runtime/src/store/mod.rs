//! Persistence: the append-only, hash-chained journal (the source of truth) and,
//! built from it, the projections that commands and reports read.

pub mod auth;
pub mod auth_db;
pub mod backup;
pub mod control;
pub mod deploys;
pub mod entry;
pub mod journal;
pub mod lock;
pub mod projection;
pub mod sessions;

pub use entry::{CommandAction, Entry};
pub use journal::{
    Audit, GENESIS, Journal, SealPaths, SealState, SealedHead, StoreError, Stored, VerifyReport,
    chain_hash, read_seal,
};
pub use lock::EngineLock;
pub use projection::{
    FillRecord, OrderRecord, OrderStatus, PortfolioProjection, Projections, SnapshotRef,
    SnapshotState,
};

#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod reversal_tests;
#[cfg(test)]
mod tests;
