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

pub use analyses::{Analyses, Finding, StaleFills, analyse};
pub use attribution::{Attribution, AttributionFold, Slice, attribute};
pub use calibration::{Calibration, CalibrationFold, calibrate};
pub use metrics::{Drawdown, EquityPoint, Metrics};
pub use result::{RunSummary, SummaryFold, summarize};

#[cfg(test)]
mod fold_tests;
#[cfg(test)]
mod tests;
