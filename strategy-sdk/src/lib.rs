//! The PQAP strategy SDK: what a strategy author depends on to write, test and export a
//! strategy component without touching `wit-bindgen` directly.
//!
//! A strategy implements [`Strategy`] (every hook has a no-op default), is exported
//! with [`export_strategy!`], and is unit-tested natively with [`harness::Harness`].
//! Money crosses the boundary as integer micro-units; [`Price`] and [`Size`] wrap them
//! with checked arithmetic.

pub mod bindings {
    //! Generated bindings for `pqap:strategy@0.1.0` (`wit/strategy.wit`).
    wit_bindgen::generate!({
        path: "../wit",
        world: "strategy",
        pub_export_macro: true,
        export_macro_name: "export_guest",
        default_bindings_module: "pqap_strategy_sdk::bindings",
        additional_derives: [PartialEq, Eq],
    });
}

mod books;
mod ctx;
#[doc(hidden)]
pub mod export;
pub mod fees;
#[cfg(not(target_arch = "wasm32"))]
pub mod harness;
mod params;
pub mod state;
mod strategy;
mod units;
mod wasm_host;

pub use books::{Book, BookTracker};
pub use ctx::{Ctx, HostApi, OrderIds};
pub use fees::{FeeCharge, FeeSchedule, taker_fee_micros};
pub use params::{ParamSchema, Params, decimal_to_micros, parse_decimal};
pub use strategy::Strategy;
pub use units::{Price, Size, UnitError};

/// The WIT data types, re-exported under short names.
pub mod types {
    pub use crate::bindings::pqap::strategy::host::LogLevel;
    pub use crate::bindings::pqap::strategy::types::{
        Action, BookChange, BookSnapshot, BookTop, CancelReason, Command, Decimal, Event,
        EventKind, Fill, InitConfig, InstrumentInfo, Interests, Level, Liquidity, MarketStatus,
        OpenOrder, OrderAccepted, OrderCancelled, OrderRejected, OrderRequest, Param, ParamKind,
        ParamSpec, ParamValue, Position, Quote, RejectReason, Resolution, Side, StrategyInfo,
        TickSizeChange, TimeInForce, TimerRequest, TradePrint,
    };
}

/// The WIT package version this SDK builds against.
pub const WIT_VERSION: &str = "0.1.0";
