//! Where a strategy's PnL came from: per market and per reason tag, replayed from
//! the journal so the slices add up to the run's totals exactly.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::money::{notional, shares};
use crate::model::{OrderEvent, OrderKey, Price, TokenId};
use crate::store::{CommandAction, Entry, Projections, Stored};

/// The reason tag settlements are attributed to.
pub const RESOLUTION: &str = "resolution";

/// One slice of a strategy's activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    pub orders: usize,
    pub fills: usize,
    pub volume_shares: Decimal,
    /// Dollars traded (price × shares), both sides.
    pub turnover: Decimal,
    pub fees: Decimal,
    /// Realised PnL, net of fees.
    pub realized: Decimal,
    /// Open holdings marked to the final mid (per market only: a position has no
    /// single reason).
    pub unrealized: Decimal,
}

impl Slice {
    pub fn pnl(&self) -> Decimal {
        self.realized + self.unrealized
    }
}

/// PnL and activity by market (question) and by the reason tag of the order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub by_market: BTreeMap<String, Slice>,
    pub by_reason: BTreeMap<String, Slice>,
}

/// Replays `entries` for `strategy`. `names` maps a token to its market's
/// question; `final_mid` marks what is still held at the end.
pub fn attribute(
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
