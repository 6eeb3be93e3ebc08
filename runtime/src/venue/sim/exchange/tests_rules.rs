//! Unit tests of the order rules the exchange adds around the fill simulator
//! (expiration, post-only, account flags) and of resting orders filled by the
//! market as makers.

use super::config::{AccountConfig, ExchangeConfig};
use super::engine::ExchangeState;
use super::records::OrderStatus;
use super::tests::{best, place, request, sim, taker_shares, token};
use crate::model::Side;
use crate::venue::polymarket::signing::OrderType;

#[test]
fn expiration_rules() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let now_s = s.now_ms / 1_000;
    let mut gtd = request(&caller, &t, Side::Buy, bid, 5, 1, OrderType::Gtd);
    gtd.order.expiration = now_s + 30;
    assert_eq!(
        place(&mut s, &caller, &gtd, 0).unwrap_err(),
        "invalid expiration"
    );
    let mut gtc = request(&caller, &t, Side::Buy, bid, 5, 2, OrderType::Gtc);
    gtc.order.expiration = now_s + 3_600;
    assert_eq!(
        place(&mut s, &caller, &gtc, 0).unwrap_err(),
        "invalid expiration"
    );
    gtd.order.expiration = now_s + 3_600;
    assert_eq!(place(&mut s, &caller, &gtd, 0).unwrap().status, "live");
}

#[test]
fn tick_size_and_post_only_rules() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (_, ask) = best(&s, &t);
    let off = request(&caller, &t, Side::Buy, 505_000, 10, 1, OrderType::Gtc);
    let e = place(&mut s, &caller, &off, 0).unwrap_err();
    assert!(e.contains("breaks minimum tick size rule"), "{e}");
    let small = request(&caller, &t, Side::Buy, 100_000, 2, 2, OrderType::Gtc);
    let e = place(&mut s, &caller, &small, 0).unwrap_err();
    assert!(e.contains("lower than the minimum: 5"), "{e}");
    let mut crossing = request(&caller, &t, Side::Buy, ask, 10, 3, OrderType::Gtc);
    crossing.post_only = true;
    assert_eq!(
        place(&mut s, &caller, &crossing, 0).unwrap_err(),
        "invalid post-only order: order crosses book"
    );
}

#[test]
fn banned_and_closed_only_accounts() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let mut config = ExchangeConfig::default();
    config.accounts.insert(
        caller.address,
        AccountConfig {
            collateral: 1_000_000_000,
            positions: [(t.clone(), 50_000_000)].into_iter().collect(),
            closed_only: true,
            ..AccountConfig::default()
        },
    );
    let keys = std::mem::take(&mut s.exchange.keys);
    s.exchange = ExchangeState::new(config.clone());
    s.exchange.keys = keys;
    let buy = request(&caller, &t, Side::Buy, bid, 5, 1, OrderType::Gtc);
    assert!(
        place(&mut s, &caller, &buy, 0)
            .unwrap_err()
            .contains("closed-only")
    );
    let sell = request(&caller, &t, Side::Sell, 990_000, 5, 2, OrderType::Gtc);
    assert_eq!(place(&mut s, &caller, &sell, 0).unwrap().status, "live");
    if let Some(a) = config.accounts.get_mut(&caller.address) {
        a.banned = true;
    }
    let keys = std::mem::take(&mut s.exchange.keys);
    s.exchange = ExchangeState::new(config);
    s.exchange.keys = keys;
    assert_eq!(
        place(&mut s, &caller, &sell, 0).unwrap_err(),
        "address banned"
    );
}

#[test]
fn resting_orders_fill_as_makers_from_market_trades() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let req = request(
        &caller,
        &t,
        Side::Buy,
        bid,
        taker_shares(bid),
        1,
        OrderType::Gtc,
    );
    let p = place(&mut s, &caller, &req, 0).unwrap();
    assert_eq!(p.status, "live");
    for _ in 0..2_000 {
        s.step();
        if !s.exchange.trades.is_empty() {
            break;
        }
    }
    let trade = s
        .exchange
        .trades
        .first()
        .expect("the market fills the resting bid");
    assert!(trade.trader_side_maker);
    assert_eq!(trade.side, Side::Sell, "the taker sold into our bid");
    assert_eq!(trade.maker_orders[0].order_id, p.order_id);
    assert_eq!(trade.maker_orders[0].side, Side::Buy);
    let o = &s.exchange.orders[&p.order_id];
    assert!(!o.size_matched.is_zero());
    assert!(o.status == OrderStatus::Matched || o.is_open());
    assert!(s.exchange.ledgers[&caller.address].position(&t) > 0);
}
