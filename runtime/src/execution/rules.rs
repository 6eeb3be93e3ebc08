//! The venue's order rules, each refused with the venue's own words (see
//! `../shared/reference/polymarket-api.md` §3.2, §3.6, §7.2): prices on the
//! tick inside (0, 1), sizes on two decimals and at least the market minimum,
//! post-only only for GTC and GTD, GTD at least a minute out, marketable buys
//! of at least $1, and no order that would trade against the account's own.

use crate::model::money::notional;
use crate::model::{Order, Price, Side, Size, TimeInForce, VenueReject};

/// Share sizes are quoted to two decimals: a multiple of 0.01 share.
const SIZE_STEP: u64 = 10_000;
/// GTD expiries closer than this are refused (the venue's security threshold).
const GTD_MIN_NS: u64 = 60_000_000_000;

/// A refusal and the venue's message for it.
pub type Refusal = (VenueReject, String);

fn id(order: &Order) -> String {
    format!("{:x}", order.key.client_id)
}

/// What the venue checks on receipt, before it looks at the book.
pub fn on_receipt(order: &Order, tick: Price, min_size: Size, now_ns: u64) -> Result<(), Refusal> {
    if !order.price.is_valid_order_price(tick) {
        return Err((
            VenueReject::BadPrice,
            format!(
                "order {} is invalid. Price ({}) breaks minimum tick size rule: {}",
                id(order),
                order.price,
                tick
            ),
        ));
    }
    if !order.size.micros().is_multiple_of(SIZE_STEP) {
        return Err((
            VenueReject::InvalidPayload,
            format!(
                "Invalid order payload: size {} has more than 2 decimals",
                order.size
            ),
        ));
    }
    if order.size < min_size || order.size.is_zero() {
        return Err((
            VenueReject::BadSize,
            format!(
                "order {} is invalid. Size ({}) lower than the minimum: {}",
                id(order),
                order.size,
                min_size
            ),
        ));
    }
    if order.post_only && !matches!(order.tif, TimeInForce::Gtc | TimeInForce::Gtd { .. }) {
        return Err((
            VenueReject::InvalidPayload,
            "Invalid order payload: post-only is accepted only with GTC and GTD orders".to_string(),
        ));
    }
    if let TimeInForce::Gtd { until_ns } = order.tif
        && until_ns < now_ns.saturating_add(GTD_MIN_NS)
    {
        return Err((VenueReject::BadExpiration, "invalid expiration".to_string()));
    }
    Ok(())
}

/// A marketable buy must be worth at least $1 at its limit.
pub fn min_notional(order: &Order) -> Result<(), Refusal> {
    let value = notional(order.price, order.size);
    if order.side == Side::Buy && value < rust_decimal::Decimal::ONE {
        return Err((
            VenueReject::MinNotional,
            format!(
                "invalid amount for a marketable BUY order (${}), min size: 1",
                value.round_dp(2)
            ),
        ));
    }
    Ok(())
}

/// A post-only order that would take liquidity.
pub fn crosses_book() -> Refusal {
    (
        VenueReject::WouldCross,
        "invalid post-only order: order crosses book".to_string(),
    )
}

/// A fill-or-kill order that cannot fill whole, or a fill-and-kill one that
/// finds nothing to take.
pub fn unfillable(tif: TimeInForce) -> Refusal {
    let text = if tif == TimeInForce::Fok {
        "order couldn't be fully filled. FOK orders are fully filled or killed."
    } else {
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    };
    (VenueReject::Unfillable, text.to_string())
}

/// An order that would trade against a resting order of the same account.
pub fn self_cross(order: &Order, other: &Order) -> Refusal {
    (
        VenueReject::SelfCross,
        format!(
            "Invalid order payload: order {} would match order {} of the same account",
            id(order),
            id(other)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderKey, TokenId};

    fn order(side: Side, cents: u32, micros: u64, tif: TimeInForce, post_only: bool) -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id: 0xab,
            },
            token: TokenId::parse("7").unwrap(),
            side,
            price: Price::new(cents * 10_000).unwrap(),
            size: Size::from_micros(micros),
            tif,
            post_only,
            created_ns: 0,
            venue_ref: None,
        }
    }

    #[test]
    fn each_rule_refuses_in_the_venues_words() {
        let tick = Price::new(10_000).unwrap();
        let min = Size::from_shares(5).unwrap();
        let now = 1_000_000_000_000;
        let check = |o: &Order| on_receipt(o, tick, min, now).err().map(|(_, m)| m);
        let mut off_tick = order(Side::Buy, 50, 10_000_000, TimeInForce::Gtc, false);
        off_tick.price = Price::new(505_000).unwrap();
        assert_eq!(
            check(&off_tick).unwrap(),
            "order ab is invalid. Price (0.505) breaks minimum tick size rule: 0.01"
        );
        assert_eq!(
            check(&order(Side::Buy, 50, 4_000_000, TimeInForce::Gtc, false)).unwrap(),
            "order ab is invalid. Size (4) lower than the minimum: 5"
        );
        assert!(
            check(&order(Side::Buy, 50, 5_001_000, TimeInForce::Gtc, false))
                .unwrap()
                .starts_with("Invalid order payload: size 5.001")
        );
        assert!(
            check(&order(Side::Buy, 50, 5_000_000, TimeInForce::Fak, true))
                .unwrap()
                .contains("post-only is accepted only with GTC and GTD")
        );
        let soon = TimeInForce::Gtd {
            until_ns: now + 59_000_000_000,
        };
        assert_eq!(
            check(&order(Side::Buy, 50, 5_000_000, soon, true)).unwrap(),
            "invalid expiration"
        );
        let later = TimeInForce::Gtd {
            until_ns: now + 61_000_000_000,
        };
        assert_eq!(check(&order(Side::Buy, 50, 5_000_000, later, true)), None);
        assert_eq!(
            min_notional(&order(Side::Buy, 10, 5_000_000, TimeInForce::Fak, false))
                .unwrap_err()
                .1,
            "invalid amount for a marketable BUY order ($0.50), min size: 1"
        );
        assert!(min_notional(&order(Side::Sell, 10, 5_000_000, TimeInForce::Fak, false)).is_ok());
        assert!(min_notional(&order(Side::Buy, 20, 5_000_000, TimeInForce::Fak, false)).is_ok());
        assert_eq!(
            unfillable(TimeInForce::Fok).1,
            "order couldn't be fully filled. FOK orders are fully filled or killed."
        );
        assert!(
            unfillable(TimeInForce::Fak)
                .1
                .starts_with("no orders found to match with FAK order.")
        );
        assert_eq!(
            crosses_book().1,
            "invalid post-only order: order crosses book"
        );
    }
}
