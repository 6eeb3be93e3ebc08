//! The WIT types as the host's bindings define them and as the SDK's define
//! them are the same records, generated twice; a strategy linked natively gets
//! its events and config in the SDK's and returns commands in them.

use crate::strategy::bindings::LogLevel as HostLogLevel;
use crate::strategy::bindings::types as h;
use pqap_strategy_sdk::types as s;

/// Field by field between two generations of one record: `[vec]` and `[opt]`
/// mark fields that hold lists and options of records.
macro_rules! records {
    ($from:ident => $to:ident: $($name:ident { $($field:ident $([$kind:ident])?),* $(,)? })*) => {
        $(impl From<$from::$name> for $to::$name {
            fn from(v: $from::$name) -> $to::$name {
                $to::$name { $($field: records!(@field v.$field $(, $kind)?)),* }
            }
        })*
    };
    (@field $e:expr) => { $e.into() };
    (@field $e:expr, vec) => { $e.into_iter().map(Into::into).collect() };
    (@field $e:expr, opt) => { $e.map(Into::into) };
}

/// Variant by variant, both ways, for enums without payloads.
macro_rules! enums {
    ($($name:ident { $($variant:ident),* $(,)? })*) => {
        $(impl From<h::$name> for s::$name {
            fn from(v: h::$name) -> s::$name {
                match v { $(h::$name::$variant => s::$name::$variant),* }
            }
        }
        impl From<s::$name> for h::$name {
            fn from(v: s::$name) -> h::$name {
                match v { $(s::$name::$variant => h::$name::$variant),* }
            }
        })*
    };
}

enums! {
    Side { Buy, Sell }
    RejectReason { Risk, TradingState, MarketUntradeable, BadPrice, BadSize, WouldCross, DuplicateId, Venue, RateLimited }
    CancelReason { Requested, Expired, Unfilled, Host, Venue }
    Liquidity { Maker, Taker }
    ParamKind { Integer, Decimal, Flag, Text }
}

records! { h => s:
    Level { price, size }
    BookSnapshot { instrument, bids [vec], asks [vec] }
    BookChange { instrument, side, price, size }
    Quote { instrument, bid [opt], ask [opt] }
    TradePrint { instrument, price, size, aggressor [opt] }
    TickSizeChange { instrument, old_tick, new_tick }
    MarketStatus { instrument, tradeable, reason }
    Resolution { instrument, payout }
    OrderAccepted { order }
    OrderRejected { order, reason, message }
    OrderCancelled { order, reason, unfilled }
    Fill { order, instrument, side, price, size, fee, liquidity, remaining }
    Event { seq, ts, kind }
    InstrumentInfo { id, market, token, outcome, question, complement, tick, min_size, taker_fee_rate }
    InitConfig { run_id, instruments [vec], params [vec] }
    Param { name, value }
    Decimal { mantissa, scale }
    Position { instrument, size, avg_price, realized_pnl }
    OpenOrder { id, instrument, side, price, remaining }
    BookTop { bid [opt], ask [opt] }
}

records! { s => h:
    Decimal { mantissa, scale }
    OrderRequest { id, instrument, side, price, size, tif, post_only }
    TimerRequest { id, at }
    Command { action, reason, cause }
    ParamSpec { name, kind, default, description }
    StrategyInfo { name, version, description, params [vec], interests }
}

impl From<h::EventKind> for s::EventKind {
    fn from(v: h::EventKind) -> s::EventKind {
        use h::EventKind as K;
        match v {
            K::BookSnapshot(x) => s::EventKind::BookSnapshot(x.into()),
            K::BookChange(x) => s::EventKind::BookChange(x.into()),
            K::Quote(x) => s::EventKind::Quote(x.into()),
            K::Trade(x) => s::EventKind::Trade(x.into()),
            K::TickSize(x) => s::EventKind::TickSize(x.into()),
            K::MarketStatus(x) => s::EventKind::MarketStatus(x.into()),
            K::Resolved(x) => s::EventKind::Resolved(x.into()),
            K::OrderAccepted(x) => s::EventKind::OrderAccepted(x.into()),
            K::OrderRejected(x) => s::EventKind::OrderRejected(x.into()),
            K::OrderCancelled(x) => s::EventKind::OrderCancelled(x.into()),
            K::Fill(x) => s::EventKind::Fill(x.into()),
            K::Timer(id) => s::EventKind::Timer(id),
        }
    }
}

impl From<h::ParamValue> for s::ParamValue {
    fn from(v: h::ParamValue) -> s::ParamValue {
        match v {
            h::ParamValue::Integer(i) => s::ParamValue::Integer(i),
            h::ParamValue::Decimal(d) => s::ParamValue::Decimal(d.into()),
            h::ParamValue::Flag(f) => s::ParamValue::Flag(f),
            h::ParamValue::Text(t) => s::ParamValue::Text(t),
        }
    }
}

impl From<s::ParamValue> for h::ParamValue {
    fn from(v: s::ParamValue) -> h::ParamValue {
        match v {
            s::ParamValue::Integer(i) => h::ParamValue::Integer(i),
            s::ParamValue::Decimal(d) => h::ParamValue::Decimal(d.into()),
            s::ParamValue::Flag(f) => h::ParamValue::Flag(f),
            s::ParamValue::Text(t) => h::ParamValue::Text(t),
        }
    }
}

impl From<s::Action> for h::Action {
    fn from(v: s::Action) -> h::Action {
        match v {
            s::Action::Place(o) => h::Action::Place(o.into()),
            s::Action::Cancel(id) => h::Action::Cancel(id),
            s::Action::CancelAllInMarket(m) => h::Action::CancelAllInMarket(m),
            s::Action::SetTimer(t) => h::Action::SetTimer(t.into()),
        }
    }
}

impl From<s::TimeInForce> for h::TimeInForce {
    fn from(v: s::TimeInForce) -> h::TimeInForce {
        match v {
            s::TimeInForce::Gtc => h::TimeInForce::Gtc,
            s::TimeInForce::Gtd(at) => h::TimeInForce::Gtd(at),
            s::TimeInForce::Fok => h::TimeInForce::Fok,
            s::TimeInForce::Fak => h::TimeInForce::Fak,
        }
    }
}

impl From<s::Interests> for h::Interests {
    fn from(v: s::Interests) -> h::Interests {
        let mut out = h::Interests::empty();
        for (sdk, host) in [
            (s::Interests::BOOK_SNAPSHOTS, h::Interests::BOOK_SNAPSHOTS),
            (s::Interests::BOOK_CHANGES, h::Interests::BOOK_CHANGES),
            (s::Interests::QUOTES, h::Interests::QUOTES),
            (s::Interests::TRADES, h::Interests::TRADES),
        ] {
            if v.contains(sdk) {
                out |= host;
            }
        }
        out
    }
}

pub(super) fn log_level(v: s::LogLevel) -> HostLogLevel {
    match v {
        s::LogLevel::Trace => HostLogLevel::Trace,
        s::LogLevel::Debug => HostLogLevel::Debug,
        s::LogLevel::Info => HostLogLevel::Info,
        s::LogLevel::Warn => HostLogLevel::Warn,
        s::LogLevel::Error => HostLogLevel::Error,
    }
}
