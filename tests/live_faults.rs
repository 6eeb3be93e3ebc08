//! The live venue adapter under the exchange's faults, in-process against the
//! local exchange: an answer lost after the exchange accepted the order leaves
//! it unknown (never sent again) until reconciliation finds it working; 425 and
//! 429 are waited out and sent again, because the exchange did nothing with
//! them. In every case the exchange holds each order once and the journal
//! verifies.

mod common;

use std::time::Duration;

use common::live_session::{
    Wiring, buy_once, events, exchange, exchange_with, inject, journal, market_maker, submitted,
};
use pqap::engine::StrategySetup;
use pqap::engine::runner::{Ended, Session};
use pqap::model::OrderEvent;
use pqap::store::Entry;
use pqap::venue::Venue;
use pqap::venue::polymarket::execution::PolymarketVenue;
use pqap::venue::sim::SimServer;

/// `strategy` trading on `sim`, reconciling every second; with the user
/// channel or without (then only reconciliation tells what the HTTP answers
/// did not).
async fn session_with(
    sim: &SimServer,
    db: &std::path::Path,
    user_channel: bool,
    strategy: StrategySetup,
) -> Session<PolymarketVenue> {
    let wiring = Wiring {
        user_channel,
        reconcile_every: Some(Duration::from_secs(1)),
        heartbeats: None,
    };
    common::live_session::session(sim, db, strategy, wiring).await
}

/// The market maker, as [`session_with`].
async fn session(
    sim: &SimServer,
    db: &std::path::Path,
    user_channel: bool,
) -> Session<PolymarketVenue> {
    session_with(sim, db, user_channel, market_maker()).await
}

async fn exchange_funded(collateral: u64) -> SimServer {
    exchange_with(collateral, None).await
}

/// Trading faults injected and not yet used up.
fn faults_left(sim: &SimServer) -> (u32, u32, u32) {
    let s = sim.state.lock().unwrap();
    let f = &s.exchange.faults;
    (f.drop_order_responses, f.order_425, f.order_429)
}

/// Runs the session for `secs`; it must end by its deadline.
async fn run_for(session: &mut Session<PolymarketVenue>, secs: u64) {
    let ended = common::live_session::run_for(session, secs * 1_000).await;
    assert_eq!(ended, Ended::Deadline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_leaves_the_order_unknown_until_reconciliation_finds_it() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lost.db");
    // The first order the exchange accepts gets no answer.
    inject(&sim, serde_json::json!({ "drop_order_responses": 1 })).await;
    let mut s = session(&sim, &db, false).await;
    run_for(&mut s, 5).await;
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    let first = orders.first().expect("the market maker quoted");
    let ev = events(&entries);
    assert!(
        ev.iter()
            .any(|e| matches!(e, OrderEvent::Unknown { key, .. } if *key == first.key)),
        "the lost answer made the first order unknown: {ev:?}"
    );
    // Its fate was settled afterwards (the venue confirmed its cancel, or
    // reconciliation found it): nothing stays unknown.
    let after = ev
        .iter()
        .skip_while(|e| !matches!(e, OrderEvent::Unknown { key, .. } if *key == first.key))
        .skip(1)
        .any(|e| e.key() == first.key);
    assert!(after, "the unknown order was settled: {ev:?}");
    // With the user channel the placement itself is reported.
    let sim2 = exchange().await;
    inject(&sim2, serde_json::json!({ "drop_order_responses": 1 })).await;
    let db2 = dir.path().join("told.db");
    let mut s = session(&sim2, &db2, true).await;
    run_for(&mut s, 3).await;
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries2 = journal(&db2).await;
    let first2 = submitted(&entries2)[0].key;
    assert!(
        events(&entries2)
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { key, .. } if *key == first2))
    );
    // Sent once: one intent per key, and the exchange knows each id once.
    let mut keys: Vec<_> = orders.iter().map(|o| o.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), orders.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_without_effect_are_waited_out_and_sent_again() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.db");
    inject(&sim, serde_json::json!({ "order_425": 1, "order_429": 1 })).await;
    let mut s = session(&sim, &db, true).await;
    run_for(&mut s, 6).await;
    assert_eq!(
        faults_left(&sim),
        (0, 0, 0),
        "the exchange answered 425 and 429"
    );
    s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap();
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    let first = orders.first().expect("the market maker quoted");
    let ev = events(&entries);
    // After the 425 and the 429 were waited out, the exchange took the order
    // and judged it: accepted, or (the book having moved meanwhile) refused
    // as a post-only order that now crosses. Never lost, never refused for
    // being busy.
    let answer = ev.iter().find(|e| e.key() == first.key);
    assert!(
        matches!(
            answer,
            Some(OrderEvent::Accepted { .. })
                | Some(OrderEvent::Rejected {
                    reject: pqap::model::VenueReject::WouldCross,
                    ..
                })
        ),
        "the exchange judged the first order after its 425 and 429: {answer:?}"
    );
    assert!(
        !ev.iter().any(|e| matches!(
            e,
            OrderEvent::Unknown { .. }
                | OrderEvent::Rejected {
                    reject: pqap::model::VenueReject::Other { .. },
                    ..
                }
        )),
        "{ev:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_whose_answer_was_lost_is_found_by_reconciliation() {
    let dir = tempfile::tempdir().unwrap();
    // The FAK whose answer is lost buys at the ask it saw; on a loaded
    // machine the book can move before it arrives and it fills nothing (then
    // there is no lost fill to find). Up to three fresh tries for one that
    // fills; whatever happens, nothing is ever sent twice.
    for attempt in 1..=3 {
        let sim = exchange().await;
        let db = dir.path().join(format!("taker-{attempt}.db"));
        inject(&sim, serde_json::json!({ "drop_order_responses": 1 })).await;
        let mut s = session_with(&sim, &db, false, buy_once()).await;
        run_for(&mut s, 4).await;
        assert_eq!(faults_left(&sim).0, 0, "the exchange dropped an answer");
        let holdings = s
            .engine()
            .portfolio()
            .account(1)
            .map(|a| a.holdings.clone())
            .unwrap_or_default();
        s.finish().await.unwrap();
        let entries = journal(&db).await;
        let orders = submitted(&entries);
        let ev = events(&entries);
        // The answer dropped is the first order the exchange accepted: an
        // earlier FAK refused for finding nothing (the book moved) does not
        // consume the fault.
        let first = ev
            .iter()
            .find_map(|e| match e {
                OrderEvent::Unknown { key, .. } => Some(*key),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the lost answer left no order unknown: {ev:?}"));
        assert!(
            ev.iter()
                .take_while(|e| !matches!(e, OrderEvent::Unknown { .. }))
                .all(|e| matches!(e, OrderEvent::Rejected { .. })),
            "before the lost answer only refusals: {ev:?}"
        );
        let mut keys: Vec<_> = orders.iter().map(|o| o.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), orders.len(), "an order was sent twice");
        let refused = ev
            .iter()
            .filter(|e| matches!(e, OrderEvent::Rejected { .. }))
            .count();
        assert_eq!(
            sim.state.lock().unwrap().exchange.orders.len() + refused,
            orders.len(),
            "the exchange holds each order it took once"
        );
        let fills: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                OrderEvent::Filled(f) if f.key == first => Some(f),
                _ => None,
            })
            .collect();
        if fills.is_empty() {
            eprintln!("attempt {attempt}: the lost FAK filled nothing (the book moved): {ev:?}");
            continue;
        }
        assert_eq!(
            orders.iter().filter(|o| o.key == first).count(),
            1,
            "bought once, sent once: {ev:?}"
        );
        assert_eq!(
            orders.last().map(|o| o.key),
            Some(first),
            "nothing sent after the lost order filled: {ev:?}"
        );
        assert!(
            fills
                .iter()
                .all(|f| f.cause == pqap::model::FillCause::Reconciled)
        );
        let bought: u64 = fills.iter().map(|f| f.size.micros()).sum();
        assert_eq!(
            holdings.values().map(|h| h.size.micros()).sum::<u64>(),
            bought
        );
        return;
    }
    panic!("in three tries the FAK whose answer was lost never filled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_account_cannot_pay_for_is_refused_before_it_is_sent() {
    // 50 cents: buy_once's 10 shares at the ask cost more unless the ask is
    // under 0.05, which this market's is not.
    let sim = exchange_funded(500_000).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("poor.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let orders = submitted(&entries);
    assert!(!orders.is_empty(), "buy_once asked");
    // It asks again after each refusal; every one is refused here.
    let ev = events(&entries);
    for o in &orders {
        let refusal = ev.iter().find_map(|e| match e {
            OrderEvent::Rejected {
                key,
                reject: pqap::model::VenueReject::InsufficientFunds,
                message,
                ..
            } if *key == o.key => Some(message.clone()),
            _ => None,
        });
        let refusal = refusal.unwrap_or_else(|| panic!("{:?} refused for funds: {ev:?}", o.key));
        assert!(
            refusal.contains("not enough balance / allowance") && refusal.contains("$0.5 free"),
            "{refusal}"
        );
    }
    let exchange_orders = sim.state.lock().unwrap().exchange.orders.len();
    assert_eq!(exchange_orders, 0, "nothing reached the exchange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_refusal_is_sent_once_more_and_a_new_version_stops_trading() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    // One refusal while the venue still says version 2: sent once more.
    inject(&sim, serde_json::json!({ "order_version_mismatch": 1 })).await;
    let db = dir.path().join("stale.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let key = submitted(&entries)[0].key;
    assert!(
        events(&entries)
            .iter()
            .any(|e| matches!(e, OrderEvent::Accepted { key: k, .. } if *k == key)),
        "{:?}",
        events(&entries)
    );
    assert_eq!(
        sim.state
            .lock()
            .unwrap()
            .exchange
            .faults
            .order_version_mismatch,
        0
    );

    // The venue moved to version 3: the order is rejected and trading stops.
    let sim = exchange().await;
    inject(&sim, serde_json::json!({ "order_version": 3 })).await;
    let db = dir.path().join("v3.db");
    let mut s = session_with(&sim, &db, true, buy_once()).await;
    run_for(&mut s, 3).await;
    let trouble = s.engine().venue().trouble().unwrap_or_default();
    s.finish().await.unwrap();
    assert!(trouble.contains("order version 3"), "{trouble}");
    let entries = journal(&db).await;
    let key = submitted(&entries)[0].key;
    assert!(
        events(&entries).iter().any(|e| matches!(
            e,
            OrderEvent::Rejected { key: k, message, .. } if *k == key && message.contains("order_version_mismatch")
        )),
        "{:?}",
        events(&entries)
    );
    assert!(
        entries.iter().any(|e| matches!(
            &e.entry,
            Entry::VenueReconciliation { problem: Some(p), .. } if p.contains("order version 3")
        )),
        "the halt is journaled"
    );
}

/// A stop while the user channel still holds fills back: a quote the
/// venue cancelled after the market traded with it waits for those fills,
/// and the stop asks the venue's own view instead of leaving it working.
/// Each fill is booked once (as reconciled) and the host's shares are the
/// exchange's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_books_the_fills_the_user_channel_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    // The market trades with a quote within seconds, almost always: up to
    // three fresh tries for a session in which it did.
    for attempt in 1..=3 {
        let sim = exchange().await;
        let db = dir.path().join(format!("held-{attempt}.db"));
        inject(&sim, serde_json::json!({ "delay_fills_ms": 120_000 })).await;
        // No periodic reconciliation: only the stop can find the fills.
        let wiring = Wiring {
            user_channel: true,
            reconcile_every: None,
            heartbeats: None,
        };
        let mm = common::live_session::market_maker_all_outcomes();
        let mut s = common::live_session::session(&sim, &db, mm, wiring).await;
        let ended = common::live_session::run_for(&mut s, 6_000).await;
        assert_eq!(ended, Ended::Deadline);
        if sim.state.lock().unwrap().exchange.trades.is_empty() {
            s.finish().await.unwrap();
            eprintln!("attempt {attempt}: nothing traded with the quotes");
            continue;
        }
        let left = s.cancel_all_and_wait(Duration::from_secs(3)).await.unwrap();
        assert_eq!(left, 0, "the stop left an order working");
        s.finish().await.unwrap();
        let entries = journal(&db).await;
        let fills = common::live_session::fills(&events(&entries));
        let trades = sim.state.lock().unwrap().exchange.trades.len();
        assert_eq!(fills.len(), trades, "every trade booked, once");
        assert!(
            fills
                .iter()
                .all(|f| f.cause == pqap::model::FillCause::Reconciled),
            "{fills:?}"
        );
        let mut ids: Vec<_> = fills.iter().map(|f| f.trade_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), fills.len(), "each trade booked once");
        let held = common::live::journal_books(&pqap::store::Projections::replay(&entries)).1;
        let address = pqap::venue::polymarket::signing::PrivateKey::from_hex(
            common::live_session::KEY,
            "test",
        )
        .unwrap()
        .address();
        let state = sim.state.lock().unwrap();
        for (token, micros) in &state.exchange.ledgers[&address].positions {
            let host = held.get(token).copied().unwrap_or_default();
            assert_eq!(
                host * rust_decimal::Decimal::from(1_000_000),
                rust_decimal::Decimal::from(*micros),
                "shares of {token}"
            );
        }
        return;
    }
    panic!("in three tries nothing traded with the market maker's quotes");
}
