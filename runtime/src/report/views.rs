//! The read-side documents of an environment — status, positions, trades and
//! performance — built from its journal's projections. The CLI prints them and the
//! server's API returns them, so both always say the same thing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::model::money::{notional, price_dollars, shares};
use crate::model::time::utc_datetime;
use crate::store::{Projections, Stored};

/// Run, trading state and counts.
pub fn status(p: &Projections, next_seq: i64) -> Value {
    let run = p.last_run.as_ref();
    json!({
        "run": run.map(|r| &r.0),
        "mode": run.map(|r| &r.1),
        "trading_state": p.trading_state.to_string(),
        "journal_entries": p.entries,
        "next_seq": next_seq,
        "strategies": p.strategies.iter().map(|(id, (n, v))| strategy_status(p, *id, n, v)).collect::<Vec<_>>(),
        "open_orders": p.open_orders().count(),
        "fills": p.fills_total,
        "risk_rejections": p.rejections,
        "faults": p.faults.len(),
        "halts": p.halts.len(),
        "last_activity": (p.last_seq > 0).then(|| utc_datetime(p.last_ts_ns)),
    })
}

/// One strategy as the journal last left it: `active`, `paused`,
/// `quarantined` (with why) or `retired`, and its latest fault.
fn strategy_status(p: &Projections, id: u32, name: &str, version: &str) -> Value {
    let state = if p.retired.contains(&id) {
        "retired"
    } else if p.quarantined.contains_key(&id) {
        "quarantined"
    } else if p.paused.contains(&id) {
        "paused"
    } else {
        "active"
    };
    let last_fault = p
        .faults
        .iter()
        .rev()
        .find(|(_, s, _)| *s == id)
        .map(|(_, _, f)| f.clone());
    json!({
        "id": id,
        "name": name,
        "version": version,
        "state": state,
        "quarantine_reason": p.quarantined.get(&id),
        "faults": p.faults.iter().filter(|(_, s, _)| *s == id).count(),
        "last_fault": last_fault,
    })
}

/// Shares held per strategy and token.
pub fn positions(p: &Projections) -> Vec<Value> {
    p.positions()
        .into_iter()
        .map(|(s, t, h)| {
            json!({
                "strategy": s,
                "strategy_name": p.strategies.get(&s).map(|x| x.0.clone()),
                "token": t.as_str(),
                "shares": shares(h.size),
                "avg_price": h.avg_price().round_dp(6),
                "cost": h.cost.round_dp(6),
            })
        })
        .collect()
}

/// The latest `last` fills, newest first, with the reason of their order.
pub fn trades(p: &Projections, last: usize) -> Vec<Value> {
    p.fills
        .iter()
        .rev()
        .take(last)
        .map(|f| {
            let o = p.orders.get(&f.fill.key);
            json!({
                "seq": f.seq,
                "time": utc_datetime(i64::try_from(f.fill.ts_ns).unwrap_or(i64::MAX)),
                "strategy": p.strategies.get(&f.fill.key.strategy).map(|x| x.0.clone()),
                "token": f.fill.token.as_str(),
                "side": f.fill.side,
                "price": price_dollars(f.fill.price),
                "shares": shares(f.fill.size),
                "fee": f.fill.fee_value(),
                "liquidity": f.fill.liquidity,
                "reason": o.map(|o| o.reason.clone()),
            })
        })
        .collect()
}

/// Orders the venue may still fill, newest first.
pub fn orders(p: &Projections) -> Vec<Value> {
    let mut open: Vec<_> = p.open_orders().collect();
    open.sort_by_key(|o| std::cmp::Reverse(o.submitted_seq));
    open.into_iter()
        .map(|o| {
            json!({
                "strategy": p.strategies.get(&o.order.key.strategy).map(|x| x.0.clone()),
                "client_id": format!("{:x}", o.order.key.client_id),
                "token": o.order.token.as_str(),
                "side": o.order.side,
                "price": price_dollars(o.order.price),
                "shares": shares(o.order.size),
                "filled": o.filled,
                "tif": o.order.tif,
                "post_only": o.order.post_only,
                "status": o.status,
                "reason": o.reason,
                "submitted_seq": o.submitted_seq,
            })
        })
        .collect()
}

/// The journal entries that explain fill `seq`: (its command, the market event
/// that caused it), as sequence numbers. `None` if `seq` is no fill.
pub fn explain_sources(p: &Projections, seq: i64) -> Option<(Option<i64>, Option<i64>)> {
    let fill = p.fills.iter().find(|f| f.seq == seq)?;
    let order = p.orders.get(&fill.fill.key);
    Some((
        order.and_then(|o| o.command_seq),
        order.and_then(|o| o.cause_seq),
    ))
}

/// A fill traced back to its cause: the order, the strategy's command and its
/// reason, and the market event that led to it (`command` and `cause` are the
/// entries [`explain_sources`] names). `None` if `seq` is no fill.
pub fn explain(
    p: &Projections,
    seq: i64,
    command: Option<&Stored>,
    cause: Option<&Stored>,
) -> Option<Value> {
    let fill = p.fills.iter().find(|f| f.seq == seq)?;
    let order = p.orders.get(&fill.fill.key);
    Some(json!({
        "fill": { "seq": fill.seq, "fill": fill.fill },
        "order": order.map(|o| json!({"order": o.order, "status": o.status, "submitted_seq": o.submitted_seq})),
        "command": command.map(|c| json!({"seq": c.seq, "time": utc_datetime(c.ts_ns), "entry": c.entry})),
        "cause": cause.map(|c| json!({"seq": c.seq, "time": utc_datetime(c.ts_ns), "entry": c.entry})),
    }))
}

/// Per strategy over the `period_ns` before the latest entry: fills, volume,
/// fees, realised PnL (closed early and at resolution), equity change, and fills
/// and volume by reason tag.
pub fn performance(p: &Projections, period_ns: i64) -> Vec<Value> {
    let from = p.last_ts_ns.saturating_sub(period_ns);
    let mut by_strategy: BTreeMap<u32, (u64, Decimal, Decimal)> = BTreeMap::new();
    let mut by_reason: BTreeMap<(u32, String), (u64, Decimal)> = BTreeMap::new();
    for f in p
        .fills
        .iter()
        .filter(|f| i64::try_from(f.fill.ts_ns).unwrap_or(i64::MAX) >= from)
    {
        let s = by_strategy.entry(f.fill.key.strategy).or_default();
        s.0 += 1;
        s.1 += notional(f.fill.price, f.fill.size);
        s.2 += f.fill.fee_value();
        let reason = p
            .orders
            .get(&f.fill.key)
            .map(|o| o.reason.clone())
            .unwrap_or_default();
        let r = by_reason.entry((f.fill.key.strategy, reason)).or_default();
        r.0 += 1;
        r.1 += notional(f.fill.price, f.fill.size);
    }
    p.strategies
        .iter()
        .map(|(id, (name, version))| {
            let (fills, volume, fees) = by_strategy.get(id).cloned().unwrap_or_default();
            let account = p.portfolio.account(*id);
            let first_mark = p.marks.iter().find(|m| m.1 == *id && m.0 >= from);
            let last_mark = p.marks.iter().rev().find(|m| m.1 == *id);
            json!({
                "id": id,
                "name": name,
                "version": version,
                "fills": fills,
                "volume": volume,
                "fees": fees,
                "realized_total": account.map(|a| a.realized()),
                "realized_closed_early": account.map(|a| a.realized_closed),
                "realized_at_resolution": account.map(|a| a.realized_resolution),
                "equity_change": match (first_mark, last_mark) {
                    (Some(a), Some(b)) => Some(b.2 - a.2),
                    _ => None,
                },
                "by_reason": by_reason.iter().filter(|((s, _), _)| s == id)
                    .map(|((_, r), (n, v))| json!({"reason": r, "fills": n, "volume": v}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}
