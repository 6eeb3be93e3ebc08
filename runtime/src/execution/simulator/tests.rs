//! Hand-computed examples for queue position, book walks, FOK/FAK, post-only,
//! latency, fees and slippage, and a property test that no order fills beyond its
//! size.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::data::books::BookOutput;
use crate::model::{BookLevel, ConditionId, LevelChange};

const MS: u64 = 1_000_000;

fn token() -> TokenId {
    TokenId::parse("11").unwrap()
}

fn market() -> ConditionId {
    ConditionId::parse(&format!("0x{}", "ab".repeat(32))).unwrap()
}

fn px(cents: u32) -> Price {
    Price::new(cents * 10_000).unwrap()
}

fn sh(n: u64) -> Size {
    Size::from_shares(n).unwrap()
}

fn lv(cents: u32, n: u64) -> BookLevel {
    BookLevel {
        price: px(cents),
        size: sh(n),
    }
}

fn rules() -> MarketRules {
    MarketRules {
        tick: px(1),
        min_size: sh(1),
        fees: FeeSchedule {
            rate_millionths: 20_000,
            exponent: 1,
            taker_only: true,
            rebate_millionths: 250_000,
        },
    }
}

struct Bench {
    sim: FillSimulator,
    books: Books,
    now: u64,
    next_id: u64,
}

impl Bench {
    fn new(config: FillConfig, bids: Vec<BookLevel>, asks: Vec<BookLevel>) -> Bench {
        let mut sim = FillSimulator::new(config);
        sim.set_market(token(), rules());
        let mut b = Bench {
            sim,
            books: Books::default(),
            now: 1_000 * MS,
            next_id: 1,
        };
        b.market(MarketEvent::Book {
            token: token(),
            market: market(),
            ts_ms: 1_000,
            bids,
            asks,
            hash: None,
            tick: Some(px(1)),
        });
        b
    }

    fn market(&mut self, event: MarketEvent) -> Vec<OrderEvent> {
        let mut out: Vec<BookOutput> = Vec::new();
        self.books.apply(&event, self.now / MS, &mut out);
        self.sim.on_market(&event, self.now, &self.books)
    }

    fn trade(&mut self, cents: u32, n: u64, taker: Side) -> Vec<OrderEvent> {
        self.market(MarketEvent::LastTrade {
            token: token(),
            market: market(),
            ts_ms: self.now / MS,
            price: px(cents),
            size: sh(n),
            side: Some(taker),
        })
    }

    fn level(&mut self, side: Side, cents: u32, n: u64) -> Vec<OrderEvent> {
        self.market(MarketEvent::PriceChange {
            market: market(),
            ts_ms: self.now / MS,
            changes: vec![LevelChange {
                token: token(),
                side,
                price: px(cents),
                size: sh(n),
                best_bid: None,
                best_ask: None,
            }],
        })
    }

    fn order(
        &mut self,
        side: Side,
        cents: u32,
        n: u64,
        tif: TimeInForce,
        post_only: bool,
    ) -> Order {
        let key = OrderKey {
            strategy: 1,
            client_id: self.next_id,
        };
        self.next_id += 1;
        Order {
            key,
            token: token(),
            side,
            price: px(cents),
            size: sh(n),
            tif,
            post_only,
            created_ns: self.now,
            venue_ref: None,
        }
    }

    fn submit(
        &mut self,
        side: Side,
        cents: u32,
        n: u64,
        tif: TimeInForce,
        post_only: bool,
    ) -> (OrderKey, Vec<OrderEvent>) {
        let order = self.order(side, cents, n, tif, post_only);
        let key = order.key;
        let events = self.sim.submit(order, self.now, &self.books);
        (key, events)
    }

    fn ahead(&self, key: OrderKey) -> Option<Size> {
        self.sim
            .open_orders()
            .into_iter()
            .find(|o| o.key == key)
            .and_then(|o| o.ahead)
    }
}

/// Fills as (price, size, the whole fee in dollars, liquidity).
fn fills(events: &[OrderEvent]) -> Vec<(Price, Size, Decimal, Liquidity)> {
    events
        .iter()
        .filter_map(|e| match e {
            OrderEvent::Filled(f) => Some((f.price, f.size, f.fee_value(), f.liquidity)),
            _ => None,
        })
        .collect()
}

fn refusal(events: &[OrderEvent]) -> Option<(VenueReject, String)> {
    match events {
        [
            OrderEvent::Rejected {
                reject, message, ..
            },
        ] => Some((reject.clone(), message.clone())),
        _ => None,
    }
}

fn cancelled(events: &[OrderEvent]) -> Option<(CancelCause, Size)> {
    events.iter().find_map(|e| match e {
        OrderEvent::Cancelled {
            cause, unfilled, ..
        } => Some((*cause, *unfilled)),
        _ => None,
    })
}

fn default_book() -> Bench {
    Bench::new(
        FillConfig::default(),
        vec![lv(50, 30), lv(49, 40)],
        vec![lv(52, 10), lv(53, 20), lv(55, 50)],
    )
}

#[test]
fn queue_position_advances_with_trades_then_fills_what_passes_us() {
    let mut b = default_book();
    let (key, ev) = b.submit(Side::Buy, 50, 10, TimeInForce::Gtc, true);
    assert!(matches!(ev.as_slice(), [OrderEvent::Accepted { .. }]));
    // Behind the 30 shares displayed at 0.50.
    assert_eq!(b.ahead(key), Some(sh(30)));
    // 25 print at 0.50 (sellers hitting bids): 5 left ahead of us, nothing for us.
    assert!(b.trade(50, 25, Side::Sell).is_empty());
    assert_eq!(b.ahead(key), Some(sh(5)));
    // The level's new total shows the trade; no cancels are inferred.
    b.level(Side::Buy, 50, 5);
    assert_eq!(b.ahead(key), Some(sh(5)));
    // 10 more print: 5 finish the queue ahead, 5 fill us as maker.
    let ev = b.trade(50, 10, Side::Sell);
    // Maker rebate: 25 % of 5 × 0.02 × 0.5 × 0.5 = 0.025 → −0.00625.
    assert_eq!(
        fills(&ev),
        vec![(px(50), sh(5), dec!(-0.00625), Liquidity::Maker)]
    );
    assert_eq!(b.ahead(key), Some(Size::ZERO));
    // A print on the other side (buyers lifting asks at 0.50) does not move bids.
    assert!(b.trade(50, 100, Side::Buy).is_empty());
    // The next print at our price fills the remaining 5.
    let ev = b.trade(50, 7, Side::Sell);
    assert_eq!(
        fills(&ev),
        vec![(px(50), sh(5), dec!(-0.00625), Liquidity::Maker)]
    );
    assert!(b.sim.open_orders().is_empty());
}

#[test]
fn cancels_ahead_shrink_the_queue_in_proportion() {
    let mut b = default_book();
    let (key, _) = b.submit(Side::Buy, 50, 10, TimeInForce::Gtc, false);
    assert_eq!(b.ahead(key), Some(sh(30)));
    // 30 → 15 without a trade: 15 cancelled, all of it was ahead of us.
    b.level(Side::Buy, 50, 15);
    assert_eq!(b.ahead(key), Some(sh(15)));
    // Others join behind us: our place is unchanged.
    b.level(Side::Buy, 50, 40);
    assert_eq!(b.ahead(key), Some(sh(15)));
    // 40 → 20: 20 cancelled spread over 40, 15/40 of it ahead of us → 7.5 less.
    b.level(Side::Buy, 50, 20);
    assert_eq!(b.ahead(key), Some(Size::from_micros(7_500_000)));
}

#[test]
fn marketable_order_walks_three_levels_at_exact_fees() {
    let mut b = default_book();
    let (_, ev) = b.submit(Side::Buy, 55, 40, TimeInForce::Gtc, false);
    // 10 @ .52 + 20 @ .53 + 10 @ .55; taker fee = n × 0.02 × p × (1 − p).
    assert_eq!(
        fills(&ev),
        vec![
            (px(52), sh(10), dec!(0.04992), Liquidity::Taker),
            (px(53), sh(20), dec!(0.09964), Liquidity::Taker),
            (px(55), sh(10), dec!(0.0495), Liquidity::Taker),
        ]
    );
    let notional: Decimal = fills(&ev)
        .iter()
        .map(|(p, s, _, _)| crate::model::money::notional(*p, *s))
        .sum();
    // VWAP (5.2 + 10.6 + 5.5) / 40 = 0.5325.
    assert_eq!(notional / dec!(40), dec!(0.5325));
    assert!(
        b.sim.open_orders().is_empty(),
        "fully filled orders do not rest"
    );
}

#[test]
fn taken_liquidity_is_gone_until_the_book_shows_the_level_again() {
    let mut b = default_book();
    b.submit(Side::Buy, 53, 25, TimeInForce::Fak, false);
    // 10 @ .52 and 15 @ .53 taken; a second buyer only finds the 5 left at .53.
    let (_, ev) = b.submit(Side::Buy, 53, 25, TimeInForce::Fak, false);
    assert_eq!(
        fills(&ev),
        vec![(px(53), sh(5), dec!(0.02491), Liquidity::Taker)]
    );
    assert_eq!(cancelled(&ev), Some((CancelCause::Unfilled, sh(20))));
    // The venue republishes .52 at 8: available again.
    b.level(Side::Sell, 52, 8);
    let (_, ev) = b.submit(Side::Buy, 52, 25, TimeInForce::Fak, false);
    assert_eq!(
        fills(&ev).iter().map(|f| f.1).collect::<Vec<_>>(),
        vec![sh(8)]
    );
}

#[test]
fn fok_fills_all_or_nothing() {
    let mut b = default_book();
    // 80 displayed up to .55; 81 cannot fill whole: refused, never accepted.
    let (_, ev) = b.submit(Side::Buy, 55, 81, TimeInForce::Fok, false);
    assert_eq!(
        refusal(&ev),
        Some((
            VenueReject::Unfillable,
            "order couldn't be fully filled. FOK orders are fully filled or killed.".to_string()
        ))
    );
    assert!(b.sim.open_orders().is_empty());
    let (_, ev) = b.submit(Side::Buy, 55, 80, TimeInForce::Fok, false);
    assert_eq!(
        fills(&ev).iter().map(|f| f.1).collect::<Vec<_>>(),
        vec![sh(10), sh(20), sh(50)]
    );
    assert_eq!(cancelled(&ev), None);
}

#[test]
fn fak_fills_what_it_can_and_cancels_the_rest() {
    let mut b = default_book();
    let (_, ev) = b.submit(Side::Sell, 49, 100, TimeInForce::Fak, false);
    assert_eq!(
        fills(&ev).iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(px(50), sh(30)), (px(49), sh(40))]
    );
    assert_eq!(cancelled(&ev), Some((CancelCause::Unfilled, sh(30))));
    assert!(b.sim.open_orders().is_empty());
}

#[test]
fn gtc_partial_rests_the_remainder_at_its_limit() {
    let mut b = default_book();
    let (key, ev) = b.submit(Side::Buy, 52, 15, TimeInForce::Gtc, false);
    assert_eq!(
        fills(&ev).iter().map(|f| f.1).collect::<Vec<_>>(),
        vec![sh(10)]
    );
    let open = b.sim.open_orders();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].remaining, sh(5));
    // Nothing else was bid at .52, so it is first in line.
    assert_eq!(b.ahead(key), Some(Size::ZERO));
}

#[test]
fn post_only_that_would_cross_is_rejected() {
    let mut b = default_book();
    let (_, ev) = b.submit(Side::Buy, 52, 5, TimeInForce::Gtc, true);
    assert!(matches!(
        ev.as_slice(),
        [OrderEvent::Rejected {
            reject: VenueReject::WouldCross,
            ..
        }]
    ));
    let (_, ev) = b.submit(Side::Sell, 50, 5, TimeInForce::Gtc, true);
    assert!(matches!(ev.as_slice(), [OrderEvent::Rejected { .. }]));
    let (key, ev) = b.submit(Side::Buy, 51, 5, TimeInForce::Gtc, true);
    assert!(matches!(ev.as_slice(), [OrderEvent::Accepted { .. }]));
    assert_eq!(b.ahead(key), Some(Size::ZERO));
}

#[test]
fn venue_rules_reject_bad_orders() {
    let mut b = default_book();
    let mut off_tick = b.order(Side::Buy, 50, 5, TimeInForce::Gtc, false);
    off_tick.price = Price::new(505_000).unwrap();
    let ev = b.sim.submit(off_tick, b.now, &b.books);
    assert!(matches!(
        ev.as_slice(),
        [OrderEvent::Rejected {
            reject: VenueReject::BadPrice,
            ..
        }]
    ));
    let mut small = b.order(Side::Buy, 50, 5, TimeInForce::Gtc, false);
    small.size = Size::from_micros(500_000);
    let ev = b.sim.submit(small, b.now, &b.books);
    assert!(matches!(
        ev.as_slice(),
        [OrderEvent::Rejected {
            reject: VenueReject::BadSize,
            ..
        }]
    ));
    let mut unknown = b.order(Side::Buy, 50, 5, TimeInForce::Gtc, false);
    unknown.token = TokenId::parse("12").unwrap();
    let ev = b.sim.submit(unknown, b.now, &b.books);
    assert!(matches!(
        ev.as_slice(),
        [OrderEvent::Rejected {
            reject: VenueReject::MarketClosed,
            ..
        }]
    ));
}

#[test]
fn submit_latency_meets_the_book_as_it_is_on_arrival() {
    let config = FillConfig {
        submit_latency_ns: 5 * MS,
        cancel_latency_ns: 3 * MS,
        slippage: Slippage::BookWalk,
    };
    let mut b = Bench::new(config, vec![lv(50, 30)], vec![lv(52, 10), lv(53, 20)]);
    let (_, ev) = b.submit(Side::Buy, 53, 15, TimeInForce::Fak, false);
    assert!(ev.is_empty(), "nothing happens before the order arrives");
    // The ask at .52 goes away while the order is in flight.
    b.now += 2 * MS;
    b.level(Side::Sell, 52, 0);
    b.now += 2 * MS;
    assert!(b.sim.on_time(b.now, &b.books).is_empty());
    b.now += MS;
    let ev = b.sim.on_time(b.now, &b.books);
    assert!(matches!(ev[0], OrderEvent::Accepted { .. }));
    assert_eq!(
        fills(&ev).iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(px(53), sh(15))]
    );
}

#[test]
fn cancel_latency_lets_fills_in_before_the_cancel_lands() {
    let config = FillConfig {
        submit_latency_ns: 0,
        cancel_latency_ns: 3 * MS,
        slippage: Slippage::BookWalk,
    };
    let mut b = Bench::new(config, vec![lv(50, 0)], vec![lv(52, 10)]);
    let (key, _) = b.submit(Side::Buy, 51, 10, TimeInForce::Gtc, false);
    assert!(b.sim.cancel(key, b.now).is_empty());
    b.now += MS;
    let ev = b.trade(51, 4, Side::Sell);
    assert_eq!(
        fills(&ev).iter().map(|f| f.1).collect::<Vec<_>>(),
        vec![sh(4)]
    );
    b.now += 2 * MS;
    let ev = b.sim.on_time(b.now, &b.books);
    assert_eq!(cancelled(&ev), Some((CancelCause::Requested, sh(6))));
}

#[test]
fn a_cancel_that_beats_the_order_to_the_venue_wins() {
    let config = FillConfig {
        submit_latency_ns: 5 * MS,
        cancel_latency_ns: MS,
        slippage: Slippage::BookWalk,
    };
    let mut b = Bench::new(config, vec![lv(50, 30)], vec![lv(52, 10)]);
    let (key, _) = b.submit(Side::Buy, 52, 5, TimeInForce::Gtc, false);
    b.sim.cancel(key, b.now);
    b.now += 5 * MS;
    let ev = b.sim.on_time(b.now, &b.books);
    assert!(fills(&ev).is_empty());
    assert_eq!(cancelled(&ev), Some((CancelCause::Requested, sh(5))));
}

#[test]
fn gtd_orders_expire() {
    let mut b = default_book();
    let until = b.now + 61_000 * MS;
    let (_, _) = b.submit(
        Side::Buy,
        45,
        5,
        TimeInForce::Gtd { until_ns: until },
        false,
    );
    assert!(b.sim.on_time(until - 1, &b.books).is_empty());
    let ev = b.sim.on_time(until, &b.books);
    assert_eq!(cancelled(&ev), Some((CancelCause::Expired, sh(5))));
}

#[test]
fn a_book_trading_through_a_resting_order_fills_it_at_its_price() {
    let mut b = default_book();
    b.submit(Side::Buy, 51, 12, TimeInForce::Gtc, false);
    // The ask drops to .50, below our .51 bid: we would have been hit first.
    let ev = b.market(MarketEvent::Book {
        token: token(),
        market: market(),
        ts_ms: 1_001,
        bids: vec![lv(49, 10)],
        asks: vec![lv(50, 40)],
        hash: None,
        tick: Some(px(1)),
    });
    assert_eq!(
        fills(&ev)
            .iter()
            .map(|f| (f.0, f.1, f.3))
            .collect::<Vec<_>>(),
        vec![(px(51), sh(12), Liquidity::Maker)]
    );
}

#[test]
fn resolution_cancels_resting_orders() {
    let mut b = default_book();
    b.submit(Side::Buy, 45, 5, TimeInForce::Gtc, false);
    let ev = b.market(MarketEvent::Resolved {
        market: market(),
        ts_ms: 2_000,
        winner: token(),
        winning_outcome: "Yes".into(),
        tokens: vec![token(), TokenId::parse("12").unwrap()],
        payouts: Vec::new(),
    });
    assert_eq!(cancelled(&ev), Some((CancelCause::Venue, sh(5))));
}

#[test]
fn extra_ticks_slippage_worsens_each_fill_but_never_past_the_limit() {
    let config = FillConfig {
        slippage: Slippage::ExtraTicks { ticks: 1 },
        ..FillConfig::default()
    };
    let mut b = Bench::new(
        config,
        vec![lv(50, 30)],
        vec![lv(52, 10), lv(53, 20), lv(55, 50)],
    );
    let (_, ev) = b.submit(Side::Buy, 55, 40, TimeInForce::Fak, false);
    assert_eq!(
        fills(&ev).iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(px(53), sh(10)), (px(54), sh(20)), (px(55), sh(10))]
    );
    let (_, ev) = b.submit(Side::Sell, 40, 10, TimeInForce::Fak, false);
    assert_eq!(
        fills(&ev).iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(px(49), sh(10))]
    );
}

#[test]
fn size_aware_slippage_grows_with_the_fill() {
    let config = FillConfig {
        slippage: Slippage::SizeAware {
            bps_per_share: dec!(10),
        },
        ..FillConfig::default()
    };
    let mut b = Bench::new(config, vec![lv(50, 300)], vec![lv(40, 500)]);
    // 3 shares at .40: 0.40 × 10 bp × 3 = 0.0012 → rounded up to one tick.
    let (_, ev) = b.submit(Side::Buy, 99, 3, TimeInForce::Fak, false);
    assert_eq!(fills(&ev)[0].0, px(41));
    // 100 shares: 0.40 × 10 bp × 100 = 0.04 → four ticks.
    let (_, ev) = b.submit(Side::Buy, 99, 100, TimeInForce::Fak, false);
    assert_eq!(fills(&ev)[0].0, px(44));
    // Capped at the limit.
    let (_, ev) = b.submit(Side::Buy, 42, 100, TimeInForce::Fak, false);
    assert_eq!(fills(&ev)[0].0, px(42));
}

#[test]
fn tick_size_change_applies_to_new_orders() {
    let mut b = default_book();
    b.market(MarketEvent::TickSize {
        token: token(),
        market: market(),
        ts_ms: 1_001,
        old: px(1),
        new: Price::new(1_000).unwrap(),
    });
    let mut fine = b.order(Side::Buy, 45, 5, TimeInForce::Gtc, false);
    fine.price = Price::new(451_000).unwrap();
    let ev = b.sim.submit(fine, b.now, &b.books);
    assert!(matches!(ev.as_slice(), [OrderEvent::Accepted { .. }]));
}

#[derive(Debug, Clone)]
enum Step {
    Submit {
        buy: bool,
        cents: u32,
        n: u64,
        kind: u8,
    },
    Trade {
        cents: u32,
        n: u64,
        taker_buy: bool,
    },
    Level {
        bid: bool,
        cents: u32,
        n: u64,
    },
    Cancel {
        nth: usize,
    },
    Wait {
        ms: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<bool>(), 45u32..58, 1u64..60, 0u8..4).prop_map(|(buy, cents, n, kind)| {
            Step::Submit {
                buy,
                cents,
                n,
                kind,
            }
        }),
        (45u32..58, 1u64..80, any::<bool>()).prop_map(|(cents, n, taker_buy)| Step::Trade {
            cents,
            n,
            taker_buy
        }),
        (any::<bool>(), 45u32..58, 0u64..80).prop_map(|(bid, cents, n)| Step::Level {
            bid,
            cents,
            n
        }),
        (0usize..20).prop_map(|nth| Step::Cancel { nth }),
        (0u64..5).prop_map(|ms| Step::Wait { ms }),
    ]
}

proptest! {
    /// Whatever happens, each order's fills plus what is left plus what was
    /// cancelled equal its size, and an order ends at most once.
    #[test]
    fn every_share_is_accounted_for(steps in prop::collection::vec(step(), 1..120)) {
        let config = FillConfig {
            submit_latency_ns: 2 * MS,
            cancel_latency_ns: MS,
            slippage: Slippage::BookWalk,
        };
        let mut b = Bench::new(config, vec![lv(50, 30), lv(49, 40)], vec![lv(52, 10), lv(53, 20)]);
        let mut sizes: BTreeMap<OrderKey, Size> = BTreeMap::new();
        let mut filled: BTreeMap<OrderKey, Size> = BTreeMap::new();
        let mut ended: BTreeMap<OrderKey, u32> = BTreeMap::new();
        let mut keys = Vec::new();
        let mut all = Vec::new();
        for s in steps {
            let events = match s {
                Step::Submit { buy, cents, n, kind } => {
                    let tif = match kind { 0 => TimeInForce::Fok, 1 => TimeInForce::Fak, _ => TimeInForce::Gtc };
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let (key, ev) = b.submit(side, cents, n, tif, kind == 3);
                    sizes.insert(key, sh(n));
                    keys.push(key);
                    ev
                }
                Step::Trade { cents, n, taker_buy } => b.trade(cents, n, if taker_buy { Side::Buy } else { Side::Sell }),
                Step::Level { bid, cents, n } => b.level(if bid { Side::Buy } else { Side::Sell }, cents, n),
                Step::Cancel { nth } => match keys.get(nth) {
                    Some(k) => b.sim.cancel(*k, b.now),
                    None => Vec::new(),
                },
                Step::Wait { ms } => {
                    b.now += ms * MS;
                    b.sim.on_time(b.now, &b.books)
                }
            };
            all.extend(events);
        }
        for e in &all {
            match e {
                OrderEvent::Filled(f) => {
                    let t = filled.entry(f.key).or_insert(Size::ZERO);
                    *t = t.checked_add(f.size).unwrap();
                    prop_assert!(f.size > Size::ZERO);
                    prop_assert_eq!(t.checked_add(f.remaining), sizes.get(&f.key).copied());
                    if f.remaining.is_zero() {
                        *ended.entry(f.key).or_default() += 1;
                    }
                }
                OrderEvent::Cancelled { key, unfilled, .. } => {
                    let done = filled.get(key).copied().unwrap_or(Size::ZERO);
                    prop_assert_eq!(done.checked_add(*unfilled), sizes.get(key).copied());
                    *ended.entry(*key).or_default() += 1;
                }
                OrderEvent::Rejected { key, .. } => {
                    prop_assert!(!filled.contains_key(key));
                    *ended.entry(*key).or_default() += 1;
                }
                OrderEvent::Accepted { .. } => {}
                OrderEvent::Unknown { .. } => prop_assert!(false, "the simulator always answers"),
                OrderEvent::FillReversed { .. } => {
                    prop_assert!(false, "the simulator's trades never fail")
                }
            }
        }
        prop_assert!(ended.values().all(|n| *n == 1), "an order ended twice: {:?}", ended);
        for o in b.sim.open_orders() {
            prop_assert!(!ended.contains_key(&o.key));
            let done = filled.get(&o.key).copied().unwrap_or(Size::ZERO);
            prop_assert_eq!(done.checked_add(o.remaining), sizes.get(&o.key).copied());
        }
    }
}

#[test]
fn liquidity_our_taker_fill_consumed_is_not_offered_again_to_its_rest() {
    // GTC buy 40 @ .54 against .52×10 / .53×20 / .55×50: takes 30, rests 10.
    let mut b = default_book();
    let (key, ev) = b.submit(Side::Buy, 54, 40, TimeInForce::Gtc, false);
    assert_eq!(
        fills(&ev).iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
        vec![(px(52), sh(10)), (px(53), sh(20))]
    );
    assert_eq!(b.sim.open_orders()[0].remaining, sh(10));
    // An unrelated update elsewhere in the book: the .52 and .53 asks the book
    // still shows are the ones we took, so nothing fills.
    assert!(b.level(Side::Buy, 47, 25).is_empty());
    assert!(b.level(Side::Sell, 60, 5).is_empty());
    assert_eq!(b.sim.open_orders()[0].remaining, sh(10));
    // The venue shows .52 afresh at 4: that is new liquidity, and it crosses our
    // resting bid, which fills 4 as maker at its own price.
    let ev = b.level(Side::Sell, 52, 4);
    assert_eq!(
        fills(&ev)
            .iter()
            .map(|f| (f.0, f.1, f.3))
            .collect::<Vec<_>>(),
        vec![(px(54), sh(4), Liquidity::Maker)]
    );
    assert_eq!(b.ahead(key), Some(Size::ZERO));
    // And it is gone once taken: a further unrelated update fills nothing.
    assert!(b.level(Side::Buy, 46, 5).is_empty());
    assert_eq!(b.sim.open_orders()[0].remaining, sh(6));
}

#[test]
fn our_earlier_orders_at_a_price_queue_ahead_of_our_later_ones() {
    // 100 displayed at .50; our orders of 30 then 100 join behind it.
    let mut b = Bench::new(
        FillConfig::default(),
        vec![lv(50, 100), lv(49, 40)],
        vec![lv(52, 10)],
    );
    let (first, _) = b.submit(Side::Buy, 50, 30, TimeInForce::Gtc, false);
    let (second, _) = b.submit(Side::Buy, 50, 100, TimeInForce::Gtc, false);
    // 150 print at .50: 100 go to the queue displayed ahead, 50 to us — the
    // first order's 30, then 20 of the second.
    let ev = b.trade(50, 150, Side::Sell);
    let by_order: Vec<(OrderKey, Size)> = ev
        .iter()
        .filter_map(|e| match e {
            OrderEvent::Filled(f) => Some((f.key, f.size)),
            _ => None,
        })
        .collect();
    assert_eq!(by_order, vec![(first, sh(30)), (second, sh(20))]);
}

proptest! {
    /// However books, prints and our own orders interleave, a print at a price
    /// fills us at most by the volume beyond the queue ahead of our first order
    /// there — our own earlier orders included.
    #[test]
    fn fills_from_a_print_never_exceed_the_volume_beyond_the_queue(
        steps in prop::collection::vec(step(), 1..120),
    ) {
        let mut b = Bench::new(
            FillConfig::default(),
            vec![lv(50, 30), lv(49, 40)],
            vec![lv(52, 10), lv(53, 20)],
        );
        let mut keys = Vec::new();
        for s in steps {
            match s {
                Step::Trade { cents, n, taker_buy } => {
                    let maker = if taker_buy { Side::Sell } else { Side::Buy };
                    let first_ahead = b
                        .sim
                        .orders
                        .values()
                        .filter(|o| o.order.price == px(cents) && o.order.side == maker)
                        .filter_map(|o| match o.phase {
                            Phase::Resting { ahead } => Some((o.seq, ahead)),
                            Phase::Pending { .. } => None,
                        })
                        .min()
                        .map(|(_, ahead)| ahead);
                    let ev = b.trade(cents, n, if taker_buy { Side::Buy } else { Side::Sell });
                    let total = fills(&ev)
                        .iter()
                        .fold(Size::ZERO, |t, f| t.checked_add(f.1).unwrap());
                    let room = first_ahead.map_or(Size::ZERO, |a| sh(n).saturating_sub(a));
                    prop_assert!(total <= room, "{total:?} filled from {n} printed, {first_ahead:?} ahead");
                }
                Step::Submit { buy, cents, n, kind } => {
                    let tif = if kind == 0 { TimeInForce::Fak } else { TimeInForce::Gtc };
                    let side = if buy { Side::Buy } else { Side::Sell };
                    keys.push(b.submit(side, cents, n, tif, kind == 3).0);
                }
                Step::Level { bid, cents, n } => {
                    b.level(if bid { Side::Buy } else { Side::Sell }, cents, n);
                }
                Step::Cancel { nth } => {
                    if let Some(k) = keys.get(nth) {
                        b.sim.cancel(*k, b.now);
                    }
                }
                Step::Wait { ms } => {
                    b.now += ms * MS;
                    b.sim.on_time(b.now, &b.books);
                }
            }
        }
    }
}

#[test]
fn fees_are_taken_as_the_venue_takes_them_and_resolution_pays_what_it_would() {
    // Rate 0.07, the usual curve, takers only; asks .40×200, bids .50×100.
    let mut sim = FillSimulator::new(FillConfig::default());
    sim.set_market(
        token(),
        MarketRules {
            tick: px(1),
            min_size: sh(1),
            fees: FeeSchedule {
                rate_millionths: 70_000,
                exponent: 1,
                taker_only: true,
                rebate_millionths: 0,
            },
        },
    );
    let mut b = Bench {
        sim,
        books: Books::default(),
        now: 1_000 * MS,
        next_id: 1,
    };
    b.market(MarketEvent::Book {
        token: token(),
        market: market(),
        ts_ms: 1_000,
        bids: vec![lv(50, 100)],
        asks: vec![lv(40, 200)],
        hash: None,
        tick: Some(px(1)),
    });
    let mut account = crate::portfolio::account::Account::default();
    let mut apply = |events: &[OrderEvent]| {
        for e in events {
            if let OrderEvent::Filled(f) = e {
                account.apply_fill(f).unwrap();
            }
        }
    };
    // Buy 100 @ .40 as taker: the fee, 100 × 0.07 × 0.4 × 0.6 = $1.68, is taken
    // in shares, 1.68 / 0.4 = 4.2 of them: 95.8 received for $40.
    let (_, ev) = b.submit(Side::Buy, 40, 100, TimeInForce::Fak, false);
    let OrderEvent::Filled(buy) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (buy.fee, buy.fee_shares),
        (Decimal::ZERO, Size::from_micros(4_200_000))
    );
    assert_eq!(buy.fee_value(), dec!(1.68));
    apply(&ev);
    // Sell 30 @ .50 as taker: the fee, 30 × 0.07 × 0.25 = $0.525, in dollars.
    let (_, ev) = b.submit(Side::Sell, 50, 30, TimeInForce::Fak, false);
    let OrderEvent::Filled(sell) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!((sell.fee, sell.fee_shares), (dec!(0.525), Size::ZERO));
    apply(&ev);
    let held = account.holding(&token());
    assert_eq!(held.size, Size::from_micros(65_800_000));
    assert_eq!(account.cash, dec!(-40) + dec!(15) - dec!(0.525));
    // It resolves Yes: the venue redeems the 65.8 shares held for $65.80. Paid
    // $40, received $14.475 and $65.80: $40.275 to the micro-dollar.
    account.settle(&token(), Price::ONE);
    assert_eq!(account.cash, dec!(40.275));
    assert_eq!(account.realized(), dec!(40.275));
    assert_eq!(account.fees, dec!(2.205));
    assert!(account.holdings.is_empty());
}

#[test]
fn the_venues_order_rules_refuse_in_its_words() {
    let mut b = default_book();
    // A FAK finding nothing to take is refused, not accepted then cancelled.
    let (_, ev) = b.submit(Side::Buy, 51, 5, TimeInForce::Fak, false);
    assert_eq!(
        refusal(&ev),
        Some((
            VenueReject::Unfillable,
            "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.".to_string()
        ))
    );
    // A marketable buy under $1: 1 share at .52.
    let (_, ev) = b.submit(Side::Buy, 52, 1, TimeInForce::Fak, false);
    assert_eq!(
        refusal(&ev),
        Some((
            VenueReject::MinNotional,
            "invalid amount for a marketable BUY order ($0.52), min size: 1".to_string()
        ))
    );
    // A resting buy at .50 is fine under $1 (it does not take).
    let (_, ev) = b.submit(Side::Buy, 50, 1, TimeInForce::Gtc, false);
    assert!(matches!(ev.as_slice(), [OrderEvent::Accepted { .. }]));
    // Post-only only with GTC/GTD.
    let (_, ev) = b.submit(Side::Buy, 45, 5, TimeInForce::Fok, true);
    assert!(
        refusal(&ev)
            .unwrap()
            .1
            .contains("post-only is accepted only with GTC and GTD")
    );
    // A crossing post-only, in the venue's words.
    let (_, ev) = b.submit(Side::Buy, 52, 5, TimeInForce::Gtc, true);
    assert_eq!(
        refusal(&ev),
        Some((
            VenueReject::WouldCross,
            "invalid post-only order: order crosses book".to_string()
        ))
    );
    // GTD under a minute out.
    let soon = TimeInForce::Gtd {
        until_ns: b.now + 30_000 * MS,
    };
    let (_, ev) = b.submit(Side::Buy, 45, 5, soon, false);
    assert_eq!(
        refusal(&ev),
        Some((VenueReject::BadExpiration, "invalid expiration".to_string()))
    );
    // Sizes on two decimals.
    let mut fine = b.order(Side::Buy, 45, 5, TimeInForce::Gtc, false);
    fine.size = Size::from_micros(5_000_001);
    let ev = b.sim.submit(fine, b.now, &b.books);
    assert!(
        refusal(&ev)
            .unwrap()
            .1
            .starts_with("Invalid order payload: size 5.000001")
    );
    // A sell crossing our own resting .50 bid would trade with ourselves.
    let (key, ev) = b.submit(Side::Sell, 50, 5, TimeInForce::Gtc, false);
    let (reject, message) = refusal(&ev).unwrap();
    assert_eq!(reject, VenueReject::SelfCross);
    assert!(
        message.contains(&format!("order {:x}", key.client_id)),
        "{message}"
    );
}

#[test]
fn a_coarser_tick_cancels_resting_orders_off_its_grid() {
    let mut b = default_book();
    b.market(MarketEvent::TickSize {
        token: token(),
        market: market(),
        ts_ms: 1_001,
        old: px(1),
        new: Price::new(1_000).unwrap(),
    });
    let mut fine = b.order(Side::Buy, 45, 5, TimeInForce::Gtc, false);
    fine.price = Price::new(451_000).unwrap();
    let fine_key = fine.key;
    b.sim.submit(fine, b.now, &b.books);
    let (on_grid, _) = b.submit(Side::Buy, 44, 5, TimeInForce::Gtc, false);
    // Back to 0.01: the 0.451 bid is off the grid and goes; the 0.44 one stays.
    let ev = b.market(MarketEvent::TickSize {
        token: token(),
        market: market(),
        ts_ms: 1_002,
        old: Price::new(1_000).unwrap(),
        new: px(1),
    });
    assert_eq!(cancelled(&ev), Some((CancelCause::Venue, sh(5))));
    assert!(matches!(&ev[0], OrderEvent::Cancelled { key, .. } if *key == fine_key));
    assert_eq!(b.sim.open_orders().len(), 1);
    assert_eq!(b.sim.open_orders()[0].key, on_grid);
}

#[test]
fn a_snapshot_forgets_its_own_token_levels_only() {
    let t = |n: u32| TokenId::parse(&format!("{}", 500 + n)).unwrap();
    let p = |c: u32| Price::new(c * 10_000).unwrap();
    let mut levels = BTreeMap::new();
    for n in 0..3 {
        for side in [Side::Buy, Side::Sell] {
            for c in [1, 50, 99] {
                levels.insert((t(n), side, p(c)), Size::from_shares(1).unwrap());
            }
        }
    }
    forget_token(&mut levels, &t(1));
    assert_eq!(levels.len(), 12);
    assert!(levels.keys().all(|(token, _, _)| *token != t(1)));
    forget_token(&mut levels, &t(7));
    assert_eq!(levels.len(), 12);
}
