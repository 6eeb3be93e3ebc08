//! The folds fed entry by entry against the whole-journal replays they replaced
//! (kept here, verbatim, as the reference) on generated journals and feeds.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::analyses::{STALE_AFTER_MS, StaleFills};
use super::attribution::{Attribution, AttributionFold, RESOLUTION};
use super::calibration::{Bucket, Calibration, CalibrationFold, split_reason};
use super::metrics::{self, EquityPoint};
use super::result::{RunSummary, SummaryFold};
use crate::data::update::{FeedUpdate, Source};
use crate::model::money::{notional, shares};
use crate::model::{
    ConditionId, Fill, Liquidity, MarketEvent, Order, OrderEvent, OrderKey, Price, Side, Size,
    TimeInForce, TokenId,
};
use crate::store::{CommandAction, Entry, Projections, Stored};
use crate::venue::MarketSpec;

// The replays as they were before the folds.

fn batch_summarize(entries: &[Stored], strategy: u32, capital: Option<Decimal>) -> RunSummary {
    let mut p = Projections::default();
    let mut s = RunSummary::default();
    let mut curve = Vec::new();
    let mut trades = Vec::new();
    let realized = |p: &Projections| {
        p.portfolio
            .account(strategy)
            .map_or(Decimal::ZERO, |a| a.realized())
    };
    let held = |p: &Projections, t: &TokenId| {
        p.portfolio
            .account(strategy)
            .is_some_and(|a| a.holding(t).size.micros() > 0)
    };
    let any_held = |p: &Projections| {
        p.portfolio
            .account(strategy)
            .is_some_and(|a| a.holdings.values().any(|h| h.size.micros() > 0))
    };
    let mut opened: HashMap<TokenId, i64> = HashMap::new();
    let mut holding_ns: i128 = 0;
    let mut in_market_since: Option<i64> = None;
    let mut in_market_ns: i128 = 0;
    for e in entries {
        let before = realized(&p);
        let touched = match &e.entry {
            Entry::Order {
                event: crate::model::OrderEvent::Filled(f),
            } if f.key.strategy == strategy => Some(f.token.clone()),
            Entry::Settlement { token, .. } => Some(token.clone()),
            _ => None,
        };
        let was_held = touched.as_ref().is_some_and(|t| held(&p, t));
        p.apply(e);
        if let Some(t) = &touched {
            match (was_held, held(&p, t)) {
                (false, true) => {
                    opened.insert(t.clone(), e.ts_ns);
                }
                (true, false) => {
                    if let Some(at) = opened.remove(t) {
                        holding_ns += i128::from(e.ts_ns - at);
                        s.round_trips += 1;
                    }
                }
                _ => {}
            }
            match (in_market_since, any_held(&p)) {
                (None, true) => in_market_since = Some(e.ts_ns),
                (Some(at), false) => {
                    in_market_ns += i128::from(e.ts_ns - at);
                    in_market_since = None;
                }
                _ => {}
            }
        }
        match &e.entry {
            Entry::OrderSubmitted { order } if order.key.strategy == strategy => s.orders += 1,
            Entry::RiskVerdict {
                key,
                accepted: false,
                ..
            } if key.strategy == strategy => s.risk_rejections += 1,
            Entry::Fault { strategy: id, .. } if *id == strategy => s.faults += 1,
            Entry::Order {
                event: crate::model::OrderEvent::Filled(f),
            } if f.key.strategy == strategy => {
                s.fills += 1;
                if f.liquidity == Liquidity::Maker {
                    s.maker_fills += 1;
                }
                s.volume_shares += shares(f.size);
                s.turnover += notional(f.price, f.size);
                s.fees += f.fee_value();
            }
            Entry::Mark {
                strategy: id,
                equity,
                ..
            } if *id == strategy => curve.push(EquityPoint {
                ts_ns: e.ts_ns,
                // Journal equity starts at zero; the curve starts at the capital.
                equity: *equity + capital.unwrap_or(Decimal::ZERO),
            }),
            _ => {}
        }
        let after = realized(&p);
        // Fees alone (a buy's fee or rebate) are costs, not a closed trade.
        let closing = matches!(&e.entry, Entry::Settlement { .. })
            || matches!(&e.entry, Entry::Order { event: crate::model::OrderEvent::Filled(f) }
                if f.key.strategy == strategy && f.side == crate::model::Side::Sell);
        if closing && after != before {
            trades.push(after - before);
        }
    }
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        if let Some(at) = in_market_since {
            in_market_ns += i128::from(last.ts_ns - at);
        }
        let span = i128::from(last.ts_ns - first.ts_ns);
        if span > 0 {
            s.time_in_market = Some(in_market_ns as f64 / span as f64);
        }
    }
    if s.round_trips > 0 {
        s.average_holding_s = Some(holding_ns as f64 / 1e9 / s.round_trips as f64);
    }
    if s.fills > 0 {
        s.maker_share = Some(s.maker_fills as f64 / s.fills as f64);
    }
    if let Some(a) = p.portfolio.account(strategy) {
        s.realized_closed = a.realized_closed;
        s.realized_resolution = a.realized_resolution;
    }
    s.metrics = metrics::compute(&curve, &trades, capital);
    s
}

fn batch_attribute(
    entries: &[Stored],
    strategy: u32,
    names: &BTreeMap<TokenId, (String, String)>,
    final_mid: &dyn Fn(&TokenId) -> Option<Price>,
) -> Attribution {
    let market_of = |t: &TokenId| {
        names
            .get(t)
            .map_or_else(|| t.to_string(), |(question, _)| question.clone())
    };
    let mut a = Attribution::default();
    let mut p = Projections::default();
    let mut reasons: HashMap<OrderKey, String> = HashMap::new();
    let realized = |p: &Projections| {
        p.portfolio
            .account(strategy)
            .map_or(Decimal::ZERO, |a| a.realized())
    };
    for e in entries {
        let before = realized(&p);
        p.apply(e);
        let delta = realized(&p) - before;
        match &e.entry {
            Entry::Command {
                strategy: id,
                reason,
                command: CommandAction::Place { order },
                ..
            } if *id == strategy => {
                // A published forecast is not part of the tag.
                let (tag, _) = super::calibration::split_reason(reason);
                reasons.insert(order.key, tag.to_string());
            }
            Entry::OrderSubmitted { order } if order.key.strategy == strategy => {
                let reason = reasons.get(&order.key).cloned().unwrap_or_default();
                a.by_market
                    .entry(market_of(&order.token))
                    .or_default()
                    .orders += 1;
                a.by_reason.entry(reason).or_default().orders += 1;
            }
            Entry::Order {
                event: OrderEvent::Filled(f),
            } if f.key.strategy == strategy => {
                let reason = reasons.get(&f.key).cloned().unwrap_or_default();
                for slice in [
                    a.by_market.entry(market_of(&f.token)).or_default(),
                    a.by_reason.entry(reason).or_default(),
                ] {
                    slice.fills += 1;
                    slice.volume_shares += shares(f.size);
                    slice.turnover += notional(f.price, f.size);
                    slice.fees += f.fee_value();
                    slice.realized += delta;
                }
            }
            Entry::Settlement { token, .. } if !delta.is_zero() => {
                a.by_market.entry(market_of(token)).or_default().realized += delta;
                a.by_reason
                    .entry(RESOLUTION.to_string())
                    .or_default()
                    .realized += delta;
            }
            _ => {}
        }
    }
    if let Some(account) = p.portfolio.account(strategy) {
        for (token, h) in &account.holdings {
            let value = final_mid(token).map_or(h.cost, |mid| notional(mid, h.size));
            a.by_market.entry(market_of(token)).or_default().unrealized += value - h.cost;
        }
    }
    a
}

fn batch_calibrate(entries: &[Stored], strategy: u32) -> Calibration {
    let mut open: HashMap<TokenId, Vec<Decimal>> = HashMap::new();
    let mut scored: Vec<(Decimal, bool)> = Vec::new();
    let mut forecasts = 0;
    for e in entries {
        match &e.entry {
            Entry::Command {
                strategy: id,
                reason,
                command: CommandAction::Place { order },
                ..
            } if *id == strategy => {
                if let (_, Some(p)) = split_reason(reason) {
                    forecasts += 1;
                    open.entry(order.token.clone()).or_default().push(p);
                }
            }
            Entry::Settlement {
                token,
                payout_micros,
            } => {
                let won = *payout_micros >= 500_000;
                for p in open.remove(token).unwrap_or_default() {
                    scored.push((p, won));
                }
            }
            _ => {}
        }
    }
    let mut c = Calibration {
        forecasts,
        settled: scored.len(),
        ..Calibration::default()
    };
    if scored.is_empty() {
        return c;
    }
    let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
    let outcome = |won: bool| if won { 1.0 } else { 0.0 };
    let sum: f64 = scored
        .iter()
        .map(|(p, won)| (f(*p) - outcome(*won)).powi(2))
        .sum();
    c.brier = Some(sum / scored.len() as f64);
    for i in 0..10u32 {
        let low = Decimal::new(i64::from(i), 1);
        let high = Decimal::new(i64::from(i) + 1, 1);
        let inside: Vec<&(Decimal, bool)> = scored
            .iter()
            .filter(|(p, _)| *p >= low && (*p < high || (i == 9 && *p <= high)))
            .collect();
        let n = inside.len();
        c.buckets.push(Bucket {
            low,
            high,
            forecasts: n,
            mean_forecast: (n > 0)
                .then(|| inside.iter().map(|(p, _)| f(*p)).sum::<f64>() / n as f64),
            observed: (n > 0)
                .then(|| inside.iter().filter(|(_, won)| *won).count() as f64 / n as f64),
        });
    }
    c
}

fn batch_stale_fills(
    entries: &[Stored],
    strategy: u32,
    markets: &[MarketSpec],
    updates: &[FeedUpdate],
) -> usize {
    let market_of: HashMap<&TokenId, &ConditionId> = markets
        .iter()
        .flat_map(|m| m.tokens.iter().map(move |(t, _)| (t, &m.condition)))
        .collect();
    let fills: Vec<(u64, &ConditionId)> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order {
                event: OrderEvent::Filled(f),
            } if f.key.strategy == strategy => {
                market_of.get(&f.token).map(|m| (f.ts_ns / 1_000_000, *m))
            }
            _ => None,
        })
        .collect();
    if fills.is_empty() {
        return 0;
    }
    let mut changes: BTreeMap<&ConditionId, Vec<u64>> =
        fills.iter().map(|(_, m)| (*m, Vec::new())).collect();
    for u in updates {
        for e in &u.events {
            if let MarketEvent::Book { market, .. } | MarketEvent::PriceChange { market, .. } = e
                && let Some(times) = changes.get_mut(market)
            {
                times.push(u.received_ms);
            }
        }
    }
    fills
        .iter()
        .filter(|(ts, m)| {
            let times = changes.get(m).map_or(&[][..], |v| v.as_slice());
            let before = times.partition_point(|t| t <= ts);
            before == 0 || ts - times[before - 1] >= STALE_AFTER_MS
        })
        .count()
}

// Generated journals: orders placed (some with a forecast, some rejected), filled
// in part or whole on either side, settlements, marks and faults, for two
// strategies, often several in the same nanosecond.

const S: i64 = 1_000_000_000;

fn token(n: &str) -> TokenId {
    TokenId::parse(n).unwrap()
}

fn condition(c: char) -> ConditionId {
    ConditionId::parse(&format!("0x{}", c.to_string().repeat(64))).unwrap()
}

const TOKENS: [&str; 5] = ["1", "2", "3", "4", "9"];
const REASONS: [&str; 8] = [
    "entry",
    "exit",
    "edge p=0.62",
    "fade;p=0.1",
    "hedge p=0",
    "sure p=1",
    "x p=1.5",
    "",
];
const PAYOUTS: [u32; 4] = [0, 250_000, 500_000, 1_000_000];

#[derive(Debug, Clone)]
enum Op {
    Place {
        strategy: u32,
        token: usize,
        sell: bool,
        cents: u32,
        reason: usize,
        rejected: bool,
    },
    Fill {
        order: usize,
        shares: u64,
        fee_cents: i64,
        maker: bool,
    },
    Settle {
        token: usize,
        payout: usize,
    },
    Mark {
        strategy: u32,
        equity_cents: i64,
    },
    Fault {
        strategy: u32,
    },
    Wait {
        seconds: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u32..=2, 0..TOKENS.len(), any::<bool>(), 1u32..100, 0..REASONS.len(), prop::bool::weighted(0.1))
            .prop_map(|(strategy, token, sell, cents, reason, rejected)| Op::Place {
                strategy, token, sell, cents, reason, rejected,
            }),
        4 => (any::<usize>(), 1u64..8, -2i64..5, any::<bool>())
            .prop_map(|(order, shares, fee_cents, maker)| Op::Fill { order, shares, fee_cents, maker }),
        1 => (0..TOKENS.len(), 0..PAYOUTS.len()).prop_map(|(token, payout)| Op::Settle { token, payout }),
        2 => (1u32..=2, -500i64..500).prop_map(|(strategy, equity_cents)| Op::Mark { strategy, equity_cents }),
        1 => (1u32..=2).prop_map(|strategy| Op::Fault { strategy }),
        3 => prop_oneof![Just(0i64), 1i64..400].prop_map(|seconds| Op::Wait { seconds }),
    ]
}

fn journal(ops: &[Op]) -> Vec<Stored> {
    let mut out: Vec<Stored> = Vec::new();
    let mut orders: Vec<Order> = Vec::new();
    let mut ts = 0i64;
    let push = |out: &mut Vec<Stored>, ts: i64, entry: Entry| {
        let seq = out.len() as i64 + 1;
        out.push(Stored {
            seq,
            ts_ns: ts,
            strategy: None,
            entry,
            hash: String::new(),
        });
    };
    for op in ops {
        match op {
            Op::Place {
                strategy,
                token: t,
                sell,
                cents,
                reason,
                rejected,
            } => {
                let key = OrderKey {
                    strategy: *strategy,
                    client_id: out.len() as u64 + 1,
                };
                let order = Order {
                    key,
                    token: token(TOKENS[*t]),
                    side: if *sell { Side::Sell } else { Side::Buy },
                    price: Price::new(cents * 10_000).unwrap(),
                    size: Size::from_micros(10_000_000),
                    tif: TimeInForce::Gtc,
                    post_only: false,
                    created_ns: ts as u64,
                    venue_ref: None,
                };
                push(
                    &mut out,
                    ts,
                    Entry::Command {
                        strategy: *strategy,
                        reason: REASONS[*reason].into(),
                        cause: None,
                        command: CommandAction::Place {
                            order: order.clone(),
                        },
                    },
                );
                push(
                    &mut out,
                    ts,
                    Entry::RiskVerdict {
                        key,
                        accepted: !rejected,
                        rule: None,
                        message: None,
                    },
                );
                if !rejected {
                    push(
                        &mut out,
                        ts,
                        Entry::OrderSubmitted {
                            order: order.clone(),
                        },
                    );
                    orders.push(order);
                }
            }
            Op::Fill {
                order,
                shares,
                fee_cents,
                maker,
            } => {
                if orders.is_empty() {
                    continue;
                }
                let o = &orders[order % orders.len()];
                push(
                    &mut out,
                    ts,
                    Entry::Order {
                        event: OrderEvent::Filled(Fill {
                            key: o.key,
                            token: o.token.clone(),
                            side: o.side,
                            price: o.price,
                            size: Size::from_micros(shares * 1_000_000),
                            fee: Decimal::new(*fee_cents, 2),
                            fee_shares: Size::ZERO,
                            liquidity: if *maker {
                                Liquidity::Maker
                            } else {
                                Liquidity::Taker
                            },
                            remaining: Size::ZERO,
                            ts_ns: ts as u64,
                            trade_id: None,
                            cause: crate::model::FillCause::Reported,
                        }),
                    },
                );
            }
            Op::Settle { token: t, payout } => push(
                &mut out,
                ts,
                Entry::Settlement {
                    token: token(TOKENS[*t]),
                    payout_micros: PAYOUTS[*payout],
                },
            ),
            Op::Mark {
                strategy,
                equity_cents,
            } => push(
                &mut out,
                ts,
                Entry::Mark {
                    strategy: *strategy,
                    equity: Decimal::new(*equity_cents, 2),
                    cash: Decimal::ZERO,
                    realized: Decimal::ZERO,
                    unrealized: Decimal::ZERO,
                    unrealized_at_bid: Decimal::ZERO,
                },
            ),
            Op::Fault { strategy } => push(
                &mut out,
                ts,
                Entry::Fault {
                    strategy: *strategy,
                    fault: serde_json::Value::Null,
                },
            ),
            Op::Wait { seconds } => ts += seconds * S,
        }
    }
    out
}

fn names() -> BTreeMap<TokenId, (String, String)> {
    [
        ("1", "M1", "Yes"),
        ("2", "M1", "No"),
        ("3", "M2", "Yes"),
        ("4", "M2", "No"),
    ]
    .into_iter()
    .map(|(t, m, o)| (token(t), (m.to_string(), o.to_string())))
    .collect()
}

fn final_mid(t: &TokenId) -> Option<Price> {
    match t.to_string().as_str() {
        "1" => Price::new(500_000),
        "3" => Price::new(200_000),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn folds_fed_entry_by_entry_equal_the_replays(
        ops in prop::collection::vec(op(), 0..120),
        capital in prop::option::of(0i64..10_000),
    ) {
        let entries = journal(&ops);
        let capital = capital.map(|c| Decimal::new(c, 0));
        let names = names();
        for strategy in 1..=3 {
            let mut summary = SummaryFold::new(strategy, capital);
            let mut attribution = AttributionFold::new(strategy, &names);
            let mut calibration = CalibrationFold::new(strategy);
            for e in &entries {
                summary.observe(e);
                attribution.observe(e);
                calibration.observe(e);
            }
            // Debug shows every float exactly, and NaN equal to itself.
            prop_assert_eq!(
                format!("{:?}", summary.finish()),
                format!("{:?}", batch_summarize(&entries, strategy, capital))
            );
            prop_assert_eq!(
                attribution.finish(&final_mid),
                batch_attribute(&entries, strategy, &names, &final_mid)
            );
            prop_assert_eq!(
                format!("{:?}", calibration.finish()),
                format!("{:?}", batch_calibrate(&entries, strategy))
            );
        }
    }
}

#[test]
fn generated_journals_reach_the_interesting_cases() {
    // The property is only as good as its journals: make sure they close trades,
    // settle forecasts and leave positions open.
    let ops = [
        Op::Place {
            strategy: 1,
            token: 0,
            sell: false,
            cents: 40,
            reason: 2,
            rejected: false,
        },
        Op::Fill {
            order: 0,
            shares: 5,
            fee_cents: -1,
            maker: true,
        },
        Op::Wait { seconds: 10 },
        Op::Place {
            strategy: 1,
            token: 0,
            sell: true,
            cents: 50,
            reason: 1,
            rejected: false,
        },
        Op::Fill {
            order: 1,
            shares: 3,
            fee_cents: 2,
            maker: false,
        },
        Op::Mark {
            strategy: 1,
            equity_cents: 30,
        },
        Op::Wait { seconds: 10 },
        Op::Settle {
            token: 0,
            payout: 3,
        },
    ];
    let entries = journal(&ops);
    let s = SummaryFold::new(1, None);
    let s = entries.iter().fold(s, |mut f, e| {
        f.observe(e);
        f
    });
    let s = s.finish();
    assert_eq!(s, batch_summarize(&entries, 1, None));
    assert_eq!((s.fills, s.round_trips, s.metrics.trades), (2, 1, 2));
    let mut c = CalibrationFold::new(1);
    entries.iter().for_each(|e| c.observe(e));
    let c = c.finish();
    assert_eq!((c.forecasts, c.settled), (1, 1));
    assert_eq!(c, batch_calibrate(&entries, 1));
}

// Stale fills: a run's feed, each update followed or preceded by the fills it
// caused (stamped with its receive time), against the replay over all of it.

fn spec(c: char, yes: &str, no: &str) -> MarketSpec {
    MarketSpec {
        slug: String::new(),
        condition: condition(c),
        question: c.to_string(),
        tokens: [(token(yes), "Yes".into()), (token(no), "No".into())],
        tick: Price::new(10_000).unwrap(),
        min_size: Size::from_micros(5_000_000),
        neg_risk: false,
        fees: crate::execution::fees::FeeSchedule::FREE,
    }
}

fn markets() -> [MarketSpec; 2] {
    [spec('a', "1", "2"), spec('b', "3", "4")]
}

/// Markets `a` and `b` are known; `c` is not.
const CONDITIONS: [char; 3] = ['a', 'b', 'c'];

fn update(ms: u64, events: Vec<MarketEvent>) -> FeedUpdate {
    FeedUpdate {
        received_ms: ms,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events,
        errors: Vec::new(),
    }
}

fn price_change(ms: u64, c: char) -> MarketEvent {
    MarketEvent::PriceChange {
        market: condition(c),
        ts_ms: ms,
        changes: Vec::new(),
    }
}

fn book(ms: u64, c: char) -> MarketEvent {
    MarketEvent::Book {
        token: token("1"),
        market: condition(c),
        ts_ms: ms,
        bids: Vec::new(),
        asks: Vec::new(),
        hash: None,
        tick: None,
    }
}

/// Not a change of the book.
fn last_trade(ms: u64, c: char) -> MarketEvent {
    MarketEvent::LastTrade {
        token: token("1"),
        market: condition(c),
        ts_ms: ms,
        price: Price::new(500_000).unwrap(),
        size: Size::from_micros(1_000_000),
        side: None,
    }
}

fn fill(seq: i64, ms: u64, strategy: u32, tok: &str) -> Stored {
    Stored {
        seq,
        ts_ns: (ms * 1_000_000) as i64,
        strategy: None,
        entry: Entry::Order {
            event: OrderEvent::Filled(Fill {
                key: OrderKey {
                    strategy,
                    client_id: seq as u64,
                },
                token: token(tok),
                side: Side::Buy,
                price: Price::new(500_000).unwrap(),
                size: Size::from_micros(1_000_000),
                fee: Decimal::ZERO,
                fee_shares: Size::ZERO,
                liquidity: Liquidity::Taker,
                remaining: Size::ZERO,
                ts_ns: ms * 1_000_000,
                trade_id: None,
                cause: crate::model::FillCause::Reported,
            }),
        },
        hash: String::new(),
    }
}

/// One update of a feed and the fills processing it journaled.
#[derive(Debug, Clone)]
struct Step {
    update: FeedUpdate,
    fills: Vec<Stored>,
    fills_first: bool,
}

/// Feeds `steps` as a run would, each update's fills before or after it.
fn incremental(steps: &[Step]) -> usize {
    let mut stale = StaleFills::new(1, &markets());
    for s in steps {
        if s.fills_first {
            s.fills.iter().for_each(|e| stale.on_entry(e));
        }
        stale.on_update(&s.update);
        if !s.fills_first {
            s.fills.iter().for_each(|e| stale.on_entry(e));
        }
    }
    stale.finish()
}

fn batch(steps: &[Step]) -> usize {
    let updates: Vec<FeedUpdate> = steps.iter().map(|s| s.update.clone()).collect();
    let entries: Vec<Stored> = steps.iter().flat_map(|s| s.fills.clone()).collect();
    batch_stale_fills(&entries, 1, &markets(), &updates)
}

/// Every fill first, then every update: what a caller holding both can do.
fn fills_then_updates(steps: &[Step]) -> usize {
    let mut stale = StaleFills::new(1, &markets());
    steps
        .iter()
        .flat_map(|s| &s.fills)
        .for_each(|e| stale.on_entry(e));
    steps.iter().for_each(|s| stale.on_update(&s.update));
    stale.finish()
}

#[test]
fn a_change_in_a_fills_millisecond_counts_as_before_it() {
    let t = STALE_AFTER_MS + 5_000;
    // M1 last changed at 0, 305 s before the fill on its token 1 at `t`; in the
    // same millisecond an update changes `changed_at_t` (M1 or M2), fed before or
    // after the fill, maybe followed by a later update.
    for (changed_at_t, expect) in [('a', 0), ('b', 1)] {
        for fills_first in [true, false] {
            for later in [false, true] {
                let mut steps = vec![
                    Step {
                        update: update(0, vec![price_change(0, 'a'), price_change(0, 'b')]),
                        fills: Vec::new(),
                        fills_first: false,
                    },
                    Step {
                        update: update(t, vec![book(t, changed_at_t)]),
                        fills: vec![fill(1, t, 1, "1")],
                        fills_first,
                    },
                ];
                if later {
                    steps.push(Step {
                        update: update(t + 1, vec![price_change(t + 1, 'a')]),
                        fills: Vec::new(),
                        fills_first: false,
                    });
                }
                let case = format!("{changed_at_t} fills_first={fills_first} later={later}");
                assert_eq!(batch(&steps), expect, "{case}");
                assert_eq!(incremental(&steps), expect, "{case}");
                assert_eq!(fills_then_updates(&steps), expect, "{case}");
            }
        }
    }
}

#[test]
fn stale_fills_by_the_table() {
    let t = STALE_AFTER_MS;
    // (last change of M1 before the fill, a change at the fill's ms, stale)
    let cases = [
        (None, None, 1),
        (Some(0), None, 1),
        (Some(1), None, 0),
        (Some(0), Some(price_change(t, 'a')), 0),
        (Some(0), Some(last_trade(t, 'a')), 1),
        (Some(0), Some(price_change(t, 'c')), 1),
    ];
    for (i, (last, at_t, expect)) in cases.into_iter().enumerate() {
        let mut steps = Vec::new();
        if let Some(ms) = last {
            steps.push(Step {
                update: update(ms, vec![book(ms, 'a')]),
                fills: Vec::new(),
                fills_first: false,
            });
        }
        steps.push(Step {
            update: update(t, at_t.into_iter().collect()),
            // Another strategy's fill and one outside the markets never count.
            fills: vec![fill(1, t, 1, "1"), fill(2, t, 2, "1"), fill(3, t, 1, "9")],
            fills_first: i % 2 == 0,
        });
        assert_eq!(batch(&steps), expect, "case {i}");
        assert_eq!(incremental(&steps), expect, "case {i}");
        assert_eq!(fills_then_updates(&steps), expect, "case {i}");
    }
}

/// Time since the previous update, its events as (market, 0 price change / 1
/// book / 2 trade), the fills it caused as (token, strategy), and whether they
/// are fed before it.
type RawStep = (u64, Vec<(usize, u8)>, Vec<(usize, u32)>, bool);

fn step() -> impl Strategy<Value = RawStep> {
    (
        prop::sample::select(vec![
            0u64,
            0,
            1,
            1_000,
            150_000,
            STALE_AFTER_MS - 1,
            STALE_AFTER_MS,
            STALE_AFTER_MS + 1,
            2 * STALE_AFTER_MS,
        ]),
        prop::collection::vec((0..CONDITIONS.len(), 0u8..3), 0..3),
        prop::collection::vec((0..TOKENS.len(), 1u32..=2), 0..3),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn stale_fills_fed_as_the_run_goes_equal_the_replay(
        raw in prop::collection::vec(step(), 0..40),
    ) {
        let mut ms = 0;
        let mut seq = 0;
        let steps: Vec<Step> = raw
            .into_iter()
            .map(|(dt, changes, fills, fills_first)| {
                ms += dt;
                let events = changes
                    .into_iter()
                    .map(|(m, kind)| match kind {
                        0 => price_change(ms, CONDITIONS[m]),
                        1 => book(ms, CONDITIONS[m]),
                        _ => last_trade(ms, CONDITIONS[m]),
                    })
                    .collect();
                let fills = fills
                    .into_iter()
                    .map(|(t, strategy)| {
                        seq += 1;
                        fill(seq, ms, strategy, TOKENS[t])
                    })
                    .collect();
                Step { update: update(ms, events), fills, fills_first }
            })
            .collect();
        let expect = batch(&steps);
        prop_assert_eq!(incremental(&steps), expect);
        prop_assert_eq!(fills_then_updates(&steps), expect);
    }
}
