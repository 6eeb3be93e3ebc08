//! Unit tests of the exchange against a seeded synthetic market: auth failures
//! in the venue's words, tampered signatures, balances, duplicates, heartbeat
//! expiry and failed trades.

use alloy_primitives::{Address, B256, U256};
use axum::http::{HeaderMap, HeaderValue};

use super::auth::{L1_INVALID, L2_INVALID, check_l1, check_l2};
use super::config::{AccountConfig, ExchangeConfig};
use super::engine::{Clock, ExchangeState};
use super::place::{Caller, NOT_ENOUGH, Placed};
use super::records::{OrderStatus, TradeStatus};
use crate::model::{Side, TokenId};
use crate::venue::polymarket::signing::{
    Exchange, L2Signer, Order, OrderRequest, OrderType, PrivateKey, Salt, SignatureType,
    l1_headers, sign_order,
};
use crate::venue::sim::generator::{Generator, GeneratorConfig};
use crate::venue::sim::state::{Activity, SimState};

pub(super) const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub(super) const T0: u64 = 1_700_000_000_000;

pub(super) fn key() -> PrivateKey {
    PrivateKey::from_hex(KEY, "test").unwrap()
}

/// A sim with one market whose account holds `dollars` of pUSD.
pub(super) fn sim(dollars: u64) -> (SimState, Caller) {
    let g = Generator::new(
        GeneratorConfig {
            seed: 5,
            markets: 2,
            ..GeneratorConfig::default()
        },
        T0,
    );
    let mut s = SimState::new(Activity::Synthetic(g));
    let mut config = ExchangeConfig::default();
    config.accounts.insert(
        key().address(),
        AccountConfig {
            collateral: dollars * 1_000_000,
            ..AccountConfig::default()
        },
    );
    s.exchange = ExchangeState::new(config);
    let k = s.exchange.keys.create(key().address(), "0").unwrap();
    let caller = Caller {
        api_key: k.key,
        address: k.address,
    };
    (s, caller)
}

pub(super) fn clock(s: &SimState, wall_ms: u64) -> Clock {
    Clock {
        venue_ms: s.now_ms,
        wall_ms,
    }
}

pub(super) fn token(s: &SimState) -> TokenId {
    s.markets[0].tokens[0].0.clone()
}

/// A signed GTC/FOK… order of `size` shares at `price_micros`.
pub(super) fn request(
    caller: &Caller,
    t: &TokenId,
    side: Side,
    price: u64,
    shares: u64,
    salt: u64,
    ot: OrderType,
) -> OrderRequest {
    let size = shares * 1_000_000;
    let cash = size * price / 1_000_000;
    let (maker_amount, taker_amount) = match side {
        Side::Buy => (cash, size),
        Side::Sell => (size, cash),
    };
    let order = Order {
        salt: Salt::new(salt).unwrap(),
        maker: caller.address,
        signer: caller.address,
        token_id: U256::from_str_radix(t.as_str(), 10).unwrap(),
        maker_amount,
        taker_amount,
        side,
        signature_type: SignatureType::Eoa,
        timestamp_ms: T0,
        metadata: B256::ZERO,
        builder: B256::ZERO,
    };
    let signed = sign_order(&key(), &order, &Exchange::for_market(137, false)).unwrap();
    OrderRequest {
        order: signed,
        owner: caller.api_key.clone(),
        order_type: ot,
        defer_exec: false,
        post_only: false,
    }
}

pub(super) fn place(
    s: &mut SimState,
    caller: &Caller,
    req: &OrderRequest,
    wall: u64,
) -> Result<Placed, String> {
    let market = s.market_ref(&req.order.order.token_id.to_string());
    let c = clock(s, wall);
    let (ex, books) = (&mut s.exchange, &s.books);
    ex.place(caller, req, market, books, c)
}

/// Enough shares at `price` for the $1 minimum of marketable buys.
pub(super) fn taker_shares(price: u64) -> u64 {
    (2_000_000 / price).max(5)
}

pub(super) fn best(s: &SimState, t: &TokenId) -> (u64, u64) {
    let b = s.books.book(t).unwrap();
    (
        u64::from(b.best_bid().unwrap().price.micros()),
        u64::from(b.best_ask().unwrap().price.micros()),
    )
}

#[test]
fn l1_and_l2_failures_use_the_venues_texts() {
    let (s, caller) = sim(100);
    let now_s = s.now_ms / 1_000;
    let h = l1_headers(&key(), 137, now_s, 0).unwrap();
    let mut headers = HeaderMap::new();
    for (n, v) in h.pairs() {
        headers.insert(n, HeaderValue::from_str(v).unwrap());
    }
    assert_eq!(
        check_l1(&s.exchange, &headers, now_s).unwrap().0,
        key().address()
    );
    assert_eq!(
        check_l1(&s.exchange, &headers, now_s + 3_600),
        Err(L1_INVALID)
    );
    let mut other = headers.clone();
    other.insert(
        "POLY_ADDRESS",
        HeaderValue::from_static("0x0000000000000000000000000000000000000001"),
    );
    assert_eq!(check_l1(&s.exchange, &other, now_s), Err(L1_INVALID));

    let creds = s
        .exchange
        .keys
        .get(&caller.api_key)
        .unwrap()
        .credentials
        .clone();
    let signer = L2Signer::new(&creds, caller.address);
    let l2 = |ts: u64, body: &[u8]| {
        let mut m = HeaderMap::new();
        for (n, v) in signer.headers(ts, "POST", "/order", body).pairs() {
            m.insert(n, HeaderValue::from_str(v).unwrap());
        }
        m
    };
    let ok = l2(now_s, b"{}");
    assert_eq!(
        check_l2(&s.exchange, &ok, "POST", "/order", b"{}", now_s)
            .unwrap()
            .api_key,
        caller.api_key
    );
    assert_eq!(
        check_l2(&s.exchange, &ok, "POST", "/order", b"{ }", now_s).unwrap_err(),
        L2_INVALID
    );
    assert_eq!(
        check_l2(
            &s.exchange,
            &l2(now_s - 900, b"{}"),
            "POST",
            "/order",
            b"{}",
            now_s
        )
        .unwrap_err(),
        L2_INVALID
    );
    let mut unknown = ok.clone();
    unknown.insert("POLY_API_KEY", HeaderValue::from_static("nope"));
    assert_eq!(
        check_l2(&s.exchange, &unknown, "POST", "/order", b"{}", now_s).unwrap_err(),
        L2_INVALID
    );
}

#[test]
fn tampered_owner_and_duplicate_orders_are_refused() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let req = request(&caller, &t, Side::Buy, bid - 10_000, 10, 1, OrderType::Gtc);
    let mut tampered = req.clone();
    tampered.order.order.maker_amount += 10_000;
    assert!(
        place(&mut s, &caller, &tampered, 0)
            .unwrap_err()
            .starts_with("invalid signature")
    );
    let mut stranger = req.clone();
    stranger.owner = "someone-else".into();
    assert_eq!(
        place(&mut s, &caller, &stranger, 0).unwrap_err(),
        "the order owner has to be the owner of the API KEY"
    );
    let p = place(&mut s, &caller, &req, 0).unwrap();
    assert_eq!(p.status, "live");
    assert_eq!(
        p.order_id,
        req.order.id(&Exchange::for_market(137, false)).to_string()
    );
    assert_eq!(place(&mut s, &caller, &req, 0).unwrap_err(), "Duplicated");
}

#[test]
fn balances_and_reservations_are_enforced() {
    let (mut s, caller) = sim(10);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let price = bid - 10_000;
    // $10 buys at most 10/price shares; a resting order reserves its cost.
    let fits = 10_000_000 / price;
    let first = request(&caller, &t, Side::Buy, price, fits, 1, OrderType::Gtc);
    place(&mut s, &caller, &first, 0).unwrap();
    let more = request(&caller, &t, Side::Buy, price, 5, 2, OrderType::Gtc);
    assert_eq!(place(&mut s, &caller, &more, 0).unwrap_err(), NOT_ENOUGH);
    let sell = request(&caller, &t, Side::Sell, 990_000, 5, 3, OrderType::Gtc);
    assert_eq!(place(&mut s, &caller, &sell, 0).unwrap_err(), NOT_ENOUGH);
    // Cancelling frees the reservation.
    let id = first
        .order
        .id(&Exchange::for_market(137, false))
        .to_string();
    let c = clock(&s, 0);
    let (done, _) = s
        .exchange
        .cancel_owned(Some(caller.address), std::slice::from_ref(&id), c);
    assert_eq!(done, vec![id.clone()]);
    assert_eq!(s.exchange.orders[&id].status, OrderStatus::Cancelled);
    place(&mut s, &caller, &more, 0).unwrap();
    let (_, not) = s
        .exchange
        .cancel_owned(Some(Address::ZERO), std::slice::from_ref(&id), c);
    assert_eq!(not[&id], "order not found");
}

#[test]
fn crossing_fills_and_a_failed_trade_is_reversed() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (_, ask) = best(&s, &t);
    s.exchange.faults.fail_trades = 1;
    let req = request(
        &caller,
        &t,
        Side::Buy,
        ask,
        taker_shares(ask),
        9,
        OrderType::Fak,
    );
    let p = place(&mut s, &caller, &req, 1_000).unwrap();
    assert_eq!(p.status, "matched");
    let after_fill = s.exchange.ledgers[&caller.address].collateral;
    assert!(after_fill < 1_000_000_000);
    assert!(s.exchange.ledgers[&caller.address].position(&t) > 0);
    let c = clock(&s, 1_300);
    s.exchange.on_wall_time(c);
    assert_eq!(s.exchange.trades[0].status, TradeStatus::Retrying);
    let c = clock(&s, 2_000);
    s.exchange.on_wall_time(c);
    assert_eq!(s.exchange.trades[0].status, TradeStatus::Failed);
    // Only the other (confirmed) trades still count in the balances.
    let kept: i128 = s.exchange.trades[1..]
        .iter()
        .map(|t| t.collateral_delta)
        .sum();
    let shares: i128 = s.exchange.trades[1..].iter().map(|t| t.shares_delta).sum();
    let ledger = &s.exchange.ledgers[&caller.address];
    assert_eq!(ledger.collateral, 1_000_000_000 + kept);
    assert_eq!(ledger.position(&t), shares);
    assert!(after_fill < ledger.collateral);
}

/// A trade's counterparty legs name their owner by an API key of the UUID
/// shape keys have (the official Rust SDK fails to read `/data/trades` when an
/// owner is anything else, e.g. empty).
#[test]
fn counterparty_owners_are_api_key_uuids() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (_, ask) = best(&s, &t);
    let req = request(
        &caller,
        &t,
        Side::Buy,
        ask,
        taker_shares(ask),
        5,
        OrderType::Fak,
    );
    place(&mut s, &caller, &req, 0).unwrap();
    assert!(!s.exchange.trades.is_empty());
    for trade in &s.exchange.trades {
        let json = trade.to_json();
        let makers = json["maker_orders"].as_array().expect("maker_orders");
        assert!(!makers.is_empty());
        for m in makers {
            let owner = m["owner"].as_str().unwrap_or_default();
            let groups: Vec<usize> = owner.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "owner {owner:?} is no UUID");
            assert!(
                owner.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{owner}"
            );
        }
    }
}

#[test]
fn trades_settle_mined_then_confirmed() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (_, ask) = best(&s, &t);
    let req = request(
        &caller,
        &t,
        Side::Buy,
        ask,
        taker_shares(ask),
        4,
        OrderType::Fak,
    );
    place(&mut s, &caller, &req, 0).unwrap();
    let c = clock(&s, 250);
    s.exchange.on_wall_time(c);
    assert_eq!(s.exchange.trades[0].status, TradeStatus::Mined);
    let c = clock(&s, 450);
    s.exchange.on_wall_time(c);
    assert_eq!(s.exchange.trades[0].status, TradeStatus::Confirmed);
}

#[test]
fn heartbeat_silence_cancels_the_keys_orders() {
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, _) = best(&s, &t);
    let req = request(&caller, &t, Side::Buy, bid - 10_000, 5, 1, OrderType::Gtc);
    let p = place(&mut s, &caller, &req, 0).unwrap();
    let mut rx = s.exchange.subscribe();
    s.exchange
        .heartbeats
        .beat(&caller.api_key, None, 0)
        .unwrap();
    let c = clock(&s, 9_000);
    s.exchange.on_wall_time(c);
    assert!(s.exchange.orders[&p.order_id].is_open());
    let c = clock(&s, 10_500);
    s.exchange.on_wall_time(c);
    assert_eq!(
        s.exchange.orders[&p.order_id].status,
        OrderStatus::Cancelled
    );
    let frame = rx.try_recv().unwrap();
    assert!(frame.json.contains("CANCELLATION"), "{}", frame.json);
}

#[test]
fn user_channel_frames_parse_with_the_platforms_decoder() {
    use crate::venue::polymarket::websocket::user::{OrderEventKind, UserMessage, decode_user};
    let (mut s, caller) = sim(1_000);
    let t = token(&s);
    let (bid, ask) = best(&s, &t);
    let mut rx = s.exchange.subscribe();
    let rest = request(&caller, &t, Side::Buy, bid - 10_000, 5, 1, OrderType::Gtc);
    place(&mut s, &caller, &rest, 0).unwrap();
    let take = request(
        &caller,
        &t,
        Side::Buy,
        ask,
        taker_shares(ask),
        2,
        OrderType::Fak,
    );
    place(&mut s, &caller, &take, 0).unwrap();
    let c = clock(&s, 1_000);
    s.exchange.on_wall_time(c);
    let mut kinds = Vec::new();
    while let Ok(f) = rx.try_recv() {
        match decode_user(&f.json).unwrap_or_else(|e| panic!("{e}: {}", f.json)) {
            UserMessage::Order(o) => kinds.push(format!("order:{:?}", o.kind)),
            UserMessage::Trade(tr) => {
                assert_eq!(tr.trader_side.as_deref(), Some("TAKER"));
                assert_eq!(tr.maker_orders.len(), 1);
                kinds.push(format!("trade:{:?}", tr.status));
            }
        }
    }
    assert_eq!(kinds[0], format!("order:{:?}", OrderEventKind::Placement));
    for want in [
        "trade:Matched",
        "trade:Mined",
        "trade:Confirmed",
        "order:Update",
    ] {
        assert!(
            kinds.iter().any(|k| k == want),
            "{want} missing from {kinds:?}"
        );
    }
}
