//! Where a strategy's PnL came from: per market and per reason tag, replayed from
//! the journal so the slices add up to the run's totals exactly.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::money::{notional, shares};
use crate::model::{OrderEvent, OrderKey, Price, TokenId};
use crate::store::{CommandAction, Entry, PortfolioProjection, Stored};

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

/// Attribution for one strategy, built entry by entry as the journal is written.
#[derive(Debug, Clone)]
pub struct AttributionFold<'a> {
    strategy: u32,
    /// Token → (market question, outcome).
    names: &'a BTreeMap<TokenId, (String, String)>,
    a: Attribution,
    p: PortfolioProjection,
    /// Reason tag per placed order, kept for the order's life: a fill names its
    /// order, not the reason it was placed for.
    reasons: HashMap<OrderKey, String>,
}

impl<'a> AttributionFold<'a> {
    /// `names` maps a token to its market's question.
    pub fn new(strategy: u32, names: &'a BTreeMap<TokenId, (String, String)>) -> Self {
        AttributionFold {
            strategy,
            names,
            a: Attribution::default(),
            p: PortfolioProjection::default(),
            reasons: HashMap::new(),
        }
    }

    fn market_of(&self, t: &TokenId) -> String {
        self.names
            .get(t)
            .map_or_else(|| t.to_string(), |(question, _)| question.clone())
    }

    fn realized(&self) -> Decimal {
        self.p
            .portfolio
            .account(self.strategy)
            .map_or(Decimal::ZERO, |a| a.realized())
    }

    /// Takes the next journal entry, in sequence order.
    pub fn observe(&mut self, e: &Stored) {
        let strategy = self.strategy;
        let before = self.realized();
        let reversal = self
            .p
            .fresh_reversal(e)
            .filter(|f| f.key.strategy == strategy)
            .cloned();
        self.p.apply(e);
        let delta = self.realized() - before;
        // A trade that ended FAILED is taken out of its slices again.
        if let Some(f) = reversal {
            let reason = self.reasons.get(&f.key).cloned().unwrap_or_default();
            let market = self.market_of(&f.token);
            for slice in [
                self.a.by_market.entry(market).or_default(),
                self.a.by_reason.entry(reason).or_default(),
            ] {
                slice.fills = slice.fills.saturating_sub(1);
                slice.volume_shares -= shares(f.size);
                slice.turnover -= notional(f.price, f.size);
                slice.fees -= f.fee_value();
                slice.realized += delta;
            }
            return;
        }
        match &e.entry {
            Entry::Command {
                strategy: id,
                reason,
                command: CommandAction::Place { order },
                ..
            } if *id == strategy => {
                // A published forecast is not part of the tag.
                let (tag, _) = super::calibration::split_reason(reason);
                self.reasons.insert(order.key, tag.to_string());
            }
            Entry::OrderSubmitted { order } if order.key.strategy == strategy => {
                let reason = self.reasons.get(&order.key).cloned().unwrap_or_default();
                let market = self.market_of(&order.token);
                self.a.by_market.entry(market).or_default().orders += 1;
                self.a.by_reason.entry(reason).or_default().orders += 1;
            }
            Entry::Order {
                event: OrderEvent::Filled(f),
            } if f.key.strategy == strategy => {
                let reason = self.reasons.get(&f.key).cloned().unwrap_or_default();
                let market = self.market_of(&f.token);
                for slice in [
                    self.a.by_market.entry(market).or_default(),
                    self.a.by_reason.entry(reason).or_default(),
                ] {
                    slice.fills += 1;
                    slice.volume_shares += shares(f.size);
                    slice.turnover += notional(f.price, f.size);
                    slice.fees += f.fee_value();
                    slice.realized += delta;
                }
            }
            Entry::Settlement { token, .. } if !delta.is_zero() => {
                let market = self.market_of(token);
                self.a.by_market.entry(market).or_default().realized += delta;
                self.a
                    .by_reason
                    .entry(RESOLUTION.to_string())
                    .or_default()
                    .realized += delta;
            }
            _ => {}
        }
    }

    /// The attribution of everything observed; `final_mid` marks what is still
    /// held (at cost where it gives no price).
    pub fn finish(mut self, final_mid: &dyn Fn(&TokenId) -> Option<Price>) -> Attribution {
        let mut a = std::mem::take(&mut self.a);
        if let Some(account) = self.p.portfolio.account(self.strategy) {
            for (token, h) in &account.holdings {
                let value = final_mid(token).map_or(h.cost, |mid| notional(mid, h.size));
                a.by_market
                    .entry(self.market_of(token))
                    .or_default()
                    .unrealized += value - h.cost;
            }
        }
        a
    }
}

/// Replays `entries` for `strategy`. `names` maps a token to its market's
/// question; `final_mid` marks what is still held at the end.
pub fn attribute(
    entries: &[Stored],
    strategy: u32,
    names: &BTreeMap<TokenId, (String, String)>,
    final_mid: &dyn Fn(&TokenId) -> Option<Price>,
) -> Attribution {
    let mut fold = AttributionFold::new(strategy, names);
    for e in entries {
        fold.observe(e);
    }
    fold.finish(final_mid)
}
