//! Backtests: the paper engine on a simulated clock over recorded or synthetic
//! market data; stored, comparable and rerunnable runs; parameter sweeps and
//! walk-forward evaluation.

pub mod data;
pub mod run;
pub mod runs;
pub mod sweep;

use std::path::Path;

pub use data::{DataSpec, MarketData, Window};
pub use run::{BacktestResult, RunInputs, RunTrace, run, run_id};

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0}")]
    Input(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Archive(#[from] crate::data::archive::ArchiveError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

impl BacktestError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> BacktestError {
        BacktestError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}
