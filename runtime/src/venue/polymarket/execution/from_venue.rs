//! The venue's open orders and trades read into the platform's model: an
//! unknown open order as a foreign order, and the fills a trade list made
//! on one of ours.

use rust_decimal::Decimal;

use super::sign_orders::MarketTerms;
use super::tracker::venue_fee;
use super::types::{VenueOrder, VenueTrade};
use crate::model::time::wall_ns;
use crate::model::{Fill, FillCause, Liquidity, Order, Price, Side, Size, TokenId};
use crate::venue::ForeignOrder;

/// An open order of the account as a foreign order; `None` when a field
/// cannot be read.
pub(super) fn foreign_of(o: &VenueOrder) -> Option<ForeignOrder> {
    let side = if o.side.eq_ignore_ascii_case("buy") {
        Side::Buy
    } else if o.side.eq_ignore_ascii_case("sell") {
        Side::Sell
    } else {
        return None;
    };
    Some(ForeignOrder {
        venue_id: o.id.clone(),
        token: TokenId::parse(&o.asset_id).ok()?,
        side,
        price: price_of(o.price)?,
        size: size_of(o.original_size),
        remaining: size_of(o.original_size - o.size_matched),
    })
}

/// An exact decimal share count as a size (dust below a micro-share dropped).
pub(super) fn size_of(d: Decimal) -> Size {
    use rust_decimal::prelude::ToPrimitive;
    Size::from_micros((d * Decimal::from(1_000_000)).trunc().to_u64().unwrap_or(0))
}

pub(super) fn price_of(d: Decimal) -> Option<Price> {
    use rust_decimal::prelude::ToPrimitive;
    Price::new((d * Decimal::from(1_000_000)).round().to_u32()?)
}

/// The fills `trades` made on the order with venue id `id` (failed trades
/// made none).
pub(super) fn fills_of(
    order: &Order,
    id: &str,
    trades: &[VenueTrade],
    terms: Option<MarketTerms>,
) -> Vec<Fill> {
    let fees = terms.map(|t| t.fees).unwrap_or_default();
    let mut out = Vec::new();
    for t in trades {
        if t.status.eq_ignore_ascii_case("failed") {
            continue;
        }
        let mine: Vec<(Decimal, Decimal, Liquidity)> = if t.taker_order_id.eq_ignore_ascii_case(id)
        {
            vec![(t.size, t.price, Liquidity::Taker)]
        } else {
            t.maker_orders
                .iter()
                .filter(|m| m.order_id.eq_ignore_ascii_case(id))
                .map(|m| (m.matched_amount, m.price, Liquidity::Maker))
                .collect()
        };
        for (size, price, liquidity) in mine {
            let (Some(price), size) = (price_of(price), size_of(size)) else {
                continue;
            };
            let (fee, fee_shares) = venue_fee(&fees, liquidity, order.side, price, size);
            out.push(Fill {
                key: order.key,
                token: order.token.clone(),
                side: order.side,
                price,
                size,
                fee,
                fee_shares,
                liquidity,
                remaining: Size::ZERO,
                ts_ns: wall_ns(),
                // One trade can match one order once; several maker entries of
                // the same order in one trade are told apart by position.
                trade_id: Some(if liquidity == Liquidity::Taker {
                    t.id.clone()
                } else {
                    format!("{}:{}", t.id, id)
                }),
                cause: FillCause::Reported,
            });
        }
    }
    out
}
