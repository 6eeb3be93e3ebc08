//! Books what the fill simulators report: each fill becomes a trade (MATCHED,
//! with its balance effects on the funder), and cancels close orders; both are
//! told to the owner's user channel.

use alloy_primitives::keccak256;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::engine::{Clock, ExchangeState};
use super::keys::uuid_of;
use super::records::{MakerLeg, OrderStatus, Trade, TradeStatus};
use crate::model::{CancelCause, Fill, Liquidity, OrderEvent, Side};

fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// Dollars as collateral units (rounded to the unit).
fn units(d: Decimal) -> i128 {
    (d * Decimal::from(1_000_000))
        .round()
        .to_i128()
        .unwrap_or(0)
}

impl ExchangeState {
    /// Books simulator events (after acceptance); returns the trades made.
    pub(super) fn apply(
        &mut self,
        events: Vec<crate::model::OrderEvent>,
        clock: Clock,
    ) -> Vec<String> {
        let mut made = Vec::new();
        for e in events {
            match e {
                OrderEvent::Filled(fill) => {
                    if let Some(id) = self.book_fill(&fill, clock) {
                        made.push(id);
                    }
                }
                OrderEvent::Cancelled { key, cause, .. } => {
                    let Some(id) = self.by_client.get(&key.client_id).cloned() else {
                        continue;
                    };
                    let Some(o) = self.orders.get_mut(&id) else {
                        continue;
                    };
                    let was_resting = o.is_open() && cause != CancelCause::Unfilled;
                    o.status = if cause == CancelCause::Unfilled && !o.size_matched.is_zero() {
                        OrderStatus::Matched
                    } else {
                        OrderStatus::Cancelled
                    };
                    let (addr, ev) = (o.owner_address, o.event("CANCELLATION", clock.wall_ms));
                    if was_resting {
                        self.publish(addr, &ev, None);
                    }
                }
                _ => {}
            }
        }
        made
    }

    fn book_fill(&mut self, fill: &Fill, clock: Clock) -> Option<String> {
        let id = self.by_client.get(&fill.key.client_id).cloned()?;
        let n = self.trades.len();
        let trade_id = uuid_of(keccak256(format!("trade|{id}|{n}")).as_slice());
        let tx = self.invented_hash("tx", n);
        let counterparty = self.invented_hash("counterparty-order", n);
        // The venue names a counterparty order's owner by its API key, a UUID
        // (the official Rust SDK refuses a trade whose `maker_orders` owner is
        // anything else), so the invented counterparty gets an invented key.
        let counterparty_owner =
            uuid_of(keccak256(format!("counterparty-owner|{counterparty}")).as_slice());
        let will_fail = self.faults.take_fail_trade();
        let hold = self.faults.fill_hold(clock.wall_ms);
        let o = self.orders.get_mut(&id)?;
        o.size_matched = o
            .size_matched
            .checked_add(fill.size)
            .unwrap_or(o.original_size);
        if o.remaining().is_zero() {
            o.status = OrderStatus::Matched;
        }
        o.associate_trades.push(trade_id.clone());
        let notional = i128::from(fill.size.notional_micros(fill.price));
        let (collateral_delta, shares_delta) = match fill.side {
            Side::Buy => (
                -notional - units(fill.fee),
                i128::from(fill.size.saturating_sub(fill.fee_shares).micros()),
            ),
            Side::Sell => (notional - units(fill.fee), -i128::from(fill.size.micros())),
        };
        let maker = fill.liquidity == Liquidity::Maker;
        let ours = MakerLeg {
            order_id: id.clone(),
            owner: o.owner.clone(),
            maker_address: o.maker.to_checksum(None),
            matched_amount: fill.size,
            price: fill.price,
            side: o.side,
        };
        let theirs = MakerLeg {
            order_id: counterparty.clone(),
            owner: counterparty_owner,
            maker_address: alloy_primitives::Address::ZERO.to_checksum(None),
            matched_amount: fill.size,
            price: fill.price,
            side: opposite(o.side),
        };
        let trade = Trade {
            id: trade_id.clone(),
            order_id: id.clone(),
            taker_order_id: if maker { counterparty } else { id.clone() },
            market: o.market.clone(),
            asset_id: o.asset_id.clone(),
            outcome: o.outcome.clone(),
            side: if maker { opposite(o.side) } else { o.side },
            size: fill.size,
            price: fill.price,
            fee_rate_bps: o.fee_rate_bps,
            status: TradeStatus::Matched,
            match_time_s: clock.venue_ms / 1_000,
            last_update_s: clock.venue_ms / 1_000,
            owner: o.owner.clone(),
            owner_address: o.owner_address,
            maker_address: o.maker,
            transaction_hash: tx,
            trader_side_maker: maker,
            maker_orders: vec![if maker { ours } else { theirs }],
            collateral_delta,
            shares_delta,
            matched_wall_ms: clock.wall_ms,
            will_fail,
        };
        let order_event = o.event("UPDATE", clock.wall_ms);
        let ledger = self.ledgers.entry(trade.maker_address).or_default();
        ledger.collateral += collateral_delta;
        ledger.add_position(&trade.asset_id, shares_delta);
        self.publish(trade.owner_address, &trade.event(clock.wall_ms), hold);
        self.publish(trade.owner_address, &order_event, hold);
        self.trades.push(trade);
        Some(trade_id)
    }

    /// Moves trades through MINED/CONFIRMED, or RETRYING/FAILED (which reverses
    /// the trade's balance effects).
    pub(super) fn settle(&mut self, clock: Clock) {
        let (mined, confirmed) = (self.config.mined_after_ms, self.config.confirmed_after_ms);
        let mut frames = Vec::new();
        for t in self.trades.iter_mut() {
            let age = clock.wall_ms.saturating_sub(t.matched_wall_ms);
            loop {
                let next = match (t.status, t.will_fail) {
                    (TradeStatus::Matched, false) if age >= mined => TradeStatus::Mined,
                    (TradeStatus::Mined, _) if age >= confirmed => TradeStatus::Confirmed,
                    (TradeStatus::Matched, true) if age >= mined => TradeStatus::Retrying,
                    (TradeStatus::Retrying, _) if age >= confirmed => TradeStatus::Failed,
                    _ => break,
                };
                t.status = next;
                t.last_update_s = clock.venue_ms / 1_000;
                if next == TradeStatus::Failed {
                    let ledger = self.ledgers.entry(t.maker_address).or_default();
                    ledger.collateral -= t.collateral_delta;
                    ledger.add_position(&t.asset_id, -t.shares_delta);
                    tracing::info!(trade = %t.id, "sim trade FAILED: balance effects reversed");
                }
                frames.push((t.owner_address, t.event(clock.wall_ms)));
            }
        }
        let hold = self.faults.fill_hold(clock.wall_ms);
        for (addr, v) in frames {
            self.publish(addr, &v, hold);
        }
    }
}
