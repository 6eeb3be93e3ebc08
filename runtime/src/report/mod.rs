//! What a run achieved, derived from its journal: metrics over the equity curve
//! and the realised trades, attribution, forecast calibration, sanity analyses,
//! and the HTML report of a backtest.

pub mod analyses;
pub mod attribution;
pub mod calibration;
pub mod html;
pub mod metrics;
pub mod result;
pub mod svg;
pub mod views;

pub use analyses::{Analyses, Finding, analyse};
pub use attribution::{Attribution, Slice, attribute};
pub use calibration::{Calibration, calibrate};
pub use metrics::{Drawdown, EquityPoint, Metrics};
pub use result::{RunSummary, summarize};

#[cfg(test)]
mod tests;
