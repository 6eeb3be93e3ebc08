//! Replaying a reversed fill: undone once, in the order and the portfolio,
//! however often the journal says it, and the entry reads back as written.

use rust_decimal::Decimal;

use super::*;
use crate::model::{
    Fill, FillCause, Liquidity, Order, OrderEvent, OrderKey, Price, Side, Size, TimeInForce,
    TokenId,
};

const KEY: OrderKey = OrderKey {
    strategy: 1,
    client_id: 7,
};

fn stored(seq: i64, entry: Entry) -> Stored {
    Stored {
        seq,
        ts_ns: seq,
        strategy: Some(1),
        entry,
        hash: String::new(),
    }
}

fn fill(trade: &str, shares: u64) -> Fill {
    Fill {
        key: KEY,
        token: TokenId::parse("5").unwrap(),
        side: Side::Buy,
        price: Price::new(400_000).unwrap(),
        size: Size::from_shares(shares).unwrap(),
        fee: Decimal::new(2, 2),
        fee_shares: Size::ZERO,
        liquidity: Liquidity::Taker,
        remaining: Size::ZERO,
        ts_ns: 1,
        trade_id: Some(trade.into()),
        cause: FillCause::Reported,
    }
}

#[test]
fn a_reversal_is_applied_once_and_round_trips() {
    let order = Order {
        key: KEY,
        token: TokenId::parse("5").unwrap(),
        side: Side::Buy,
        price: Price::new(400_000).unwrap(),
        size: Size::from_shares(10).unwrap(),
        tif: TimeInForce::Fak,
        post_only: false,
        created_ns: 0,
        venue_ref: None,
    };
    let reversal = OrderEvent::FillReversed {
        key: KEY,
        trade_id: "t1".into(),
        fill: Some(fill("t1", 10)),
        remaining: Size::ZERO,
        ts_ns: 4,
    };
    let json = serde_json::to_string(&Entry::Order {
        event: reversal.clone(),
    })
    .unwrap();
    assert!(json.contains(r#""kind":"fill_reversed""#), "{json}");
    assert_eq!(
        serde_json::from_str::<Entry>(&json).unwrap(),
        Entry::Order {
            event: reversal.clone()
        }
    );
    let entries = vec![
        stored(1, Entry::OrderSubmitted { order }),
        stored(
            2,
            Entry::Order {
                event: OrderEvent::Filled(fill("t1", 10)),
            },
        ),
        stored(
            3,
            Entry::Order {
                event: reversal.clone(),
            },
        ),
        // Said again (a restart, a second report): nothing more happens.
        stored(4, Entry::Order { event: reversal }),
    ];
    let p = Projections::replay(&entries);
    let a = p.portfolio.account(1).unwrap();
    assert_eq!(
        (a.cash, a.fees, a.realized()),
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)
    );
    assert!(a.holdings.is_empty());
    assert!(p.fills.is_empty());
    assert_eq!(p.reversals.len(), 1);
    let r = &p.orders[&KEY];
    assert_eq!(r.filled, Decimal::ZERO);
    assert_eq!(
        r.status,
        OrderStatus::Cancelled {
            cause: crate::model::CancelCause::Venue
        }
    );
    assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    let mut folded = PortfolioProjection::default();
    for e in &entries {
        folded.apply(e);
    }
    assert_eq!(&folded.portfolio, &p.portfolio);
}
