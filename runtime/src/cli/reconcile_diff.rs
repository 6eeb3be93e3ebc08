//! What `pqap reconcile` reports: each order the journal holds open against
//! what the venue says of it, the fills the journal lacks, and the foreign
//! orders with the action the config takes. Pure: no I/O.

use std::collections::HashSet;

use pqap::model::money::{price_dollars, shares};
use pqap::model::{Fill, Liquidity, Side};
use pqap::store::{OrderRecord, OrderStatus};
use pqap::venue::{ForeignOrder, ForeignPolicy, OrderFate, Reconciliation};
use rust_decimal::Decimal;
use serde::Serialize;

/// The whole report (`--json` prints it as is; field names are stable).
#[derive(Debug, Serialize)]
pub struct Difference {
    pub dry_run: bool,
    pub journal: String,
    pub foreign_policy: &'static str,
    /// Orders the journal holds working, submitted or unknown.
    pub orders: Vec<OrderDiff>,
    pub foreign_orders: Vec<ForeignRow>,
    /// Nothing to book and no foreign order.
    pub in_agreement: bool,
    /// The differences were booked and the foreign orders acted on.
    pub applied: bool,
    /// What is still unresolved after applying (a cancel that failed, the
    /// venue unreachable while applying).
    pub problems: Vec<String>,
}

/// One order the journal holds open, and the venue's word on it.
#[derive(Debug, Serialize)]
pub struct OrderDiff {
    pub strategy: u32,
    pub client_id: u64,
    pub venue_id: Option<String>,
    pub token: String,
    pub side: &'static str,
    pub price: Decimal,
    /// `working`, `submitted` (no answer journaled) or `unknown` (answer lost).
    pub journal: &'static str,
    pub journal_remaining: Decimal,
    /// `working`, `over` (ended: cancelled or filled) or `not_received`.
    pub venue: &'static str,
    pub venue_remaining: Option<Decimal>,
    pub missing_fills: Vec<FillRow>,
    pub agrees: bool,
}

/// A fill the venue made that the journal has not booked.
#[derive(Debug, Serialize)]
pub struct FillRow {
    pub trade_id: Option<String>,
    pub size: Decimal,
    pub price: Decimal,
    pub liquidity: &'static str,
}

/// A foreign order and what the config does with it.
#[derive(Debug, Serialize)]
pub struct ForeignRow {
    pub venue_id: String,
    pub token: String,
    pub side: &'static str,
    pub price: Decimal,
    pub size: Decimal,
    pub remaining: Decimal,
    /// `cancel`, `adopt` or `leave` (the policy, per order).
    pub action: &'static str,
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// `record` (open in the journal) against the venue's `found`; `booked`:
/// the trade ids of every fill the journal holds.
pub fn order_diff(
    record: &OrderRecord,
    found: &Reconciliation,
    booked: &HashSet<String>,
) -> OrderDiff {
    let o = &record.order;
    let journal_remaining = (shares(o.size) - record.filled).max(Decimal::ZERO);
    let mut seen = HashSet::new();
    let missing: Vec<&Fill> = found
        .fills
        .iter()
        .filter(|f| f.key == o.key)
        .filter(|f| {
            f.trade_id
                .as_ref()
                .is_none_or(|t| !booked.contains(t) && seen.insert(t.clone()))
        })
        .collect();
    let (venue, venue_remaining) = match found.fate {
        OrderFate::Working { remaining } => ("working", Some(shares(remaining))),
        OrderFate::Over => ("over", None),
        OrderFate::NotReceived => ("not_received", None),
    };
    let journal = match record.status {
        OrderStatus::Submitted => "submitted",
        OrderStatus::Unknown => "unknown",
        _ => "working",
    };
    let agrees =
        missing.is_empty() && journal == "working" && venue_remaining == Some(journal_remaining);
    OrderDiff {
        strategy: o.key.strategy,
        client_id: o.key.client_id,
        venue_id: o.venue_ref.as_ref().map(|r| r.id.clone()),
        token: o.token.to_string(),
        side: side(o.side),
        price: price_dollars(o.price),
        journal,
        journal_remaining,
        venue,
        venue_remaining,
        missing_fills: missing
            .into_iter()
            .map(|f| FillRow {
                trade_id: f.trade_id.clone(),
                size: shares(f.size),
                price: price_dollars(f.price),
                liquidity: match f.liquidity {
                    Liquidity::Maker => "maker",
                    Liquidity::Taker => "taker",
                },
            })
            .collect(),
        agrees,
    }
}

pub fn foreign_row(o: &ForeignOrder, policy: ForeignPolicy) -> ForeignRow {
    ForeignRow {
        venue_id: o.venue_id.clone(),
        token: o.token.to_string(),
        side: side(o.side),
        price: price_dollars(o.price),
        size: shares(o.size),
        remaining: shares(o.remaining),
        action: policy.as_str(),
    }
}

/// Agreement: every open order agrees and there is no foreign order.
pub fn in_agreement(orders: &[OrderDiff], foreign: &[ForeignRow]) -> bool {
    orders.iter().all(|o| o.agrees) && foreign.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pqap::model::{FillCause, Order, OrderKey, Price, Size, TimeInForce, TokenId, VenueRef};

    fn record(status: OrderStatus, filled: Decimal) -> OrderRecord {
        OrderRecord {
            order: Order {
                key: OrderKey {
                    strategy: 1,
                    client_id: 7,
                },
                token: TokenId::parse("12").unwrap(),
                side: Side::Buy,
                price: Price::new(500_000).unwrap(),
                size: Size::from_micros(10_000_000),
                tif: TimeInForce::Gtc,
                post_only: false,
                created_ns: 0,
                venue_ref: Some(VenueRef {
                    salt: 1,
                    id: "0xab".into(),
                }),
            },
            status,
            filled,
            command_seq: None,
            reason: String::new(),
            cause_seq: None,
            submitted_seq: 1,
        }
    }

    fn fill(trade: &str, micros: u64) -> Fill {
        Fill {
            key: OrderKey {
                strategy: 1,
                client_id: 7,
            },
            token: TokenId::parse("12").unwrap(),
            side: Side::Buy,
            price: Price::new(500_000).unwrap(),
            size: Size::from_micros(micros),
            fee: Decimal::ZERO,
            fee_shares: Size::ZERO,
            liquidity: Liquidity::Maker,
            remaining: Size::ZERO,
            ts_ns: 0,
            trade_id: Some(trade.into()),
            cause: FillCause::Reported,
        }
    }

    #[test]
    fn a_working_order_the_venue_holds_as_the_journal_does_agrees() {
        let r = record(OrderStatus::Open, Decimal::from(4));
        let found = Reconciliation {
            fate: OrderFate::Working {
                remaining: Size::from_micros(6_000_000),
            },
            fills: vec![fill("t1", 4_000_000)],
        };
        let booked: HashSet<String> = ["t1".to_string()].into();
        let d = order_diff(&r, &found, &booked);
        assert!(d.agrees, "{d:?}");
        assert!(in_agreement(&[d], &[]));
    }

    #[test]
    fn fills_the_journal_lacks_are_listed_once_and_break_agreement() {
        let r = record(OrderStatus::Open, Decimal::ZERO);
        let found = Reconciliation {
            fate: OrderFate::Over,
            fills: vec![fill("t1", 4_000_000), fill("t1", 4_000_000), fill("t2", 1)],
        };
        let booked: HashSet<String> = ["t2".to_string()].into();
        let d = order_diff(&r, &found, &booked);
        assert!(!d.agrees);
        assert_eq!(d.venue, "over");
        assert_eq!(d.missing_fills.len(), 1);
        assert_eq!(d.missing_fills[0].size, Decimal::new(4, 0));
        assert_eq!(d.missing_fills[0].price.to_string(), "0.500000");
        assert_eq!(d.journal_remaining, Decimal::new(10, 0));
    }

    #[test]
    fn an_unknown_order_working_at_the_venue_still_differs() {
        let r = record(OrderStatus::Unknown, Decimal::ZERO);
        let d = order_diff(
            &r,
            &Reconciliation::working(Size::from_micros(10_000_000)),
            &HashSet::new(),
        );
        assert_eq!(
            (d.journal, d.venue, d.agrees),
            ("unknown", "working", false)
        );
    }

    #[test]
    fn a_foreign_order_breaks_agreement_and_carries_the_policy() {
        let o = ForeignOrder {
            venue_id: "0xff".into(),
            token: TokenId::parse("12").unwrap(),
            side: Side::Sell,
            price: Price::new(10_000).unwrap(),
            size: Size::from_micros(5_000_000),
            remaining: Size::from_micros(2_500_000),
        };
        let row = foreign_row(&o, ForeignPolicy::Adopt);
        assert_eq!((row.action, row.side), ("adopt", "sell"));
        assert_eq!(row.remaining.to_string(), "2.500000");
        assert!(!in_agreement(&[], &[row]));
    }
}
