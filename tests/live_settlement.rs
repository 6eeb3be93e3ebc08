//! Settlement faults of the live venue adapter, in-process against the local
//! exchange: a trade booked at MATCHED that ends FAILED is reversed (from the
//! user channel, or found by reconciliation in the trade list) and the
//! host's cash and shares end equal to the exchange's ledger to the
//! micro-dollar; a user channel dropped while fill reports were held back
//! stops new orders, and once it is back a reconciliation runs at once and
//! every fill is booked exactly once.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::live_session::{
    KEY, START_COLLATERAL, Wiring, buy_once, events, exchange, exchange_with, fills, inject,
    journal, market_maker,
};
use pqap::engine::StrategySetup;
use pqap::engine::runner::Session;
use pqap::model::{Fill, OrderEvent, TokenId};
use pqap::store::{Entry, Projections, Stored};
use pqap::venue::polymarket::execution::PolymarketVenue;
use pqap::venue::polymarket::signing::PrivateKey;
use pqap::venue::sim::SimServer;
use rust_decimal::Decimal;

/// `strategy` trading live on `sim`, journaling into `db`; with the user
/// channel or without; reconciling every `reconcile_every` (`None`: only
/// when the venue asks).
async fn session(
    sim: &SimServer,
    db: &std::path::Path,
    user_channel: bool,
    strategy: StrategySetup,
    reconcile_every: Option<Duration>,
) -> Session<PolymarketVenue> {
    let wiring = Wiring {
        user_channel,
        reconcile_every,
        heartbeats: None,
    };
    common::live_session::session(sim, db, strategy, wiring).await
}

async fn run_for(session: &mut Session<PolymarketVenue>, millis: u64) {
    common::live_session::run_for(session, millis).await;
}

/// The exchange's ledger of the account: collateral moved since the start
/// (micro-dollars) and shares per token (micro-shares, zeros left out).
fn exchange_view(sim: &SimServer) -> (i128, BTreeMap<TokenId, i128>) {
    let key = PrivateKey::from_hex(KEY, "test").unwrap();
    let s = sim.state.lock().unwrap();
    let ledger = s
        .exchange
        .ledgers
        .get(&key.address())
        .cloned()
        .unwrap_or_default();
    (
        ledger.collateral - i128::from(START_COLLATERAL),
        ledger
            .positions
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .collect(),
    )
}

/// The host's view from the journal alone (replayed): cash (micro-dollars)
/// and shares per token, over every strategy.
fn host_view(entries: &[Stored]) -> (i128, BTreeMap<TokenId, i128>) {
    let p = Projections::replay(entries);
    let mut cash = Decimal::ZERO;
    let mut shares = BTreeMap::new();
    for (_, a) in p.portfolio.accounts() {
        cash += a.cash;
        for (t, h) in &a.holdings {
            *shares.entry(t.clone()).or_insert(0) += i128::from(h.size.micros());
        }
    }
    let micros = cash * Decimal::from(1_000_000);
    assert_eq!(micros, micros.trunc(), "cash is whole micro-dollars");
    (
        rust_decimal::prelude::ToPrimitive::to_i128(&micros).unwrap(),
        shares.into_iter().filter(|(_, v)| *v != 0).collect(),
    )
}

fn reversed(ev: &[OrderEvent]) -> Vec<(String, Option<Fill>)> {
    ev.iter()
        .filter_map(|e| match e {
            OrderEvent::FillReversed { trade_id, fill, .. } => {
                Some((trade_id.clone(), fill.clone()))
            }
            _ => None,
        })
        .collect()
}

/// A buy booked at MATCHED whose trade ends FAILED: told by the user
/// channel, or (without it) found by reconciliation in the trade list.
/// Either way the journal reverses it once, and the host's cash and shares
/// equal the exchange's ledger to the micro-dollar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_trade_is_reversed_and_the_books_match_the_exchange() {
    for user_channel in [true, false] {
        let sim = exchange().await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("failed.db");
        inject(&sim, serde_json::json!({ "fail_trades": 1 })).await;
        let every = (!user_channel).then_some(Duration::from_millis(500));
        let mut s = session(&sim, &db, user_channel, buy_once(), every).await;
        run_for(&mut s, 4_000).await;
        let held_now = s
            .engine()
            .portfolio()
            .accounts()
            .map(|(_, a)| a.holdings.len())
            .sum::<usize>();
        s.finish().await.unwrap();
        let entries = journal(&db).await;
        let ev = events(&entries);
        let booked = fills(&ev);
        assert!(
            !booked.is_empty(),
            "bought (channel {user_channel}): {ev:?}"
        );
        let reversals = reversed(&ev);
        assert_eq!(
            reversals.len(),
            1,
            "the failed trade is reversed once (channel {user_channel}): {ev:?}"
        );
        let (trade, fill) = &reversals[0];
        let fill = fill.as_ref().expect("the journal says what was undone");
        assert_eq!(fill.trade_id.as_ref(), Some(trade));
        assert!(
            booked.iter().any(|f| f.trade_id.as_ref() == Some(trade)),
            "it reverses a fill that was booked"
        );
        let host = host_view(&entries);
        let venue = exchange_view(&sim);
        assert_eq!(host, venue, "host (cash, shares) vs exchange ledger");
        assert_eq!(
            held_now,
            host.1.len(),
            "the engine's portfolio agrees with replay"
        );
        if booked.len() == 1 {
            assert_eq!(
                host,
                (0, BTreeMap::new()),
                "the only buy failed: nothing held"
            );
        }
    }
}

/// A trade booked at MATCHED by one process ends FAILED while no process
/// runs: the next start follows the trades booked before it through the
/// venue's trade list and reverses that one (no user channel, no periodic
/// reconciliation: only the start can find it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_that_fails_after_a_restart_is_reversed_by_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    // buy_once's FAK may fill nothing when the book moves before it
    // arrives: up to three fresh tries for one that fills.
    for attempt in 1..=3 {
        // Settlement takes 3 s, so the trade fails after the first process
        // has stopped.
        let sim = common::live_session::exchange_configured(START_COLLATERAL, |c| {
            c.mined_after_ms = 200;
            c.confirmed_after_ms = 3_000;
        })
        .await;
        let db = dir.path().join(format!("restart-{attempt}.db"));
        inject(&sim, serde_json::json!({ "fail_trades": 1 })).await;
        let mut s = session(&sim, &db, true, buy_once(), None).await;
        run_for(&mut s, 1_500).await;
        s.finish().await.unwrap();
        let failing = {
            let st = sim.state.lock().unwrap();
            st.exchange.trades.first().map(|t| t.id.clone())
        };
        let Some(failing) = failing else {
            eprintln!("attempt {attempt}: the FAK filled nothing (the book moved)");
            continue;
        };
        let before = reversed(&events(&journal(&db).await));
        assert!(before.is_empty(), "not failed yet: {before:?}");
        // Wait (at most 10 s) until the exchange has failed it.
        let until = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let failed = sim.state.lock().unwrap().exchange.trades[0].status
                == pqap::venue::sim::exchange::TradeStatus::Failed;
            if failed {
                break;
            }
            assert!(std::time::Instant::now() < until, "the trade never failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut s = session(&sim, &db, false, buy_once(), None).await;
        run_for(&mut s, 1_500).await;
        s.finish().await.unwrap();
        let entries = journal(&db).await;
        let reversals = reversed(&events(&entries));
        assert_eq!(reversals.len(), 1, "{reversals:?}");
        assert_eq!(
            reversals[0].0, failing,
            "the failed trade is the one reversed"
        );
        assert_eq!(
            host_view(&entries),
            exchange_view(&sim),
            "host vs exchange ledger"
        );
        return;
    }
    panic!("in three tries buy_once's FAK never filled");
}

/// The user channel drops while the exchange holds fill reports back: new
/// orders stop; once the channel is back a reconciliation runs at once (the
/// periodic one is off), trading resumes, and every fill is booked exactly
/// once with the host's books equal to the exchange's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_channel_gap_is_reconciled_at_once_and_nothing_is_booked_twice() {
    let sim = exchange().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gap.db");
    let mut s = session(&sim, &db, true, market_maker(), None).await;
    run_for(&mut s, 2_000).await;
    inject(
        &sim,
        serde_json::json!({ "delay_fills_ms": 2_500, "drop_user_ws": true }),
    )
    .await;
    run_for(&mut s, 6_000).await;
    assert!(
        s.engine().unreconciled().is_none(),
        "trading resumed after the gap"
    );
    // Reports held back were due long ago; after the cancels nothing trades
    // (a further run would let the market maker quote again).
    assert_eq!(
        s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap(),
        0
    );
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    // The gap closed the gate, and a reconciliation (not the periodic one:
    // there is none) opened it again.
    let gates: Vec<(i64, bool, Option<String>)> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::VenueReconciliation { complete, problem } => {
                Some((e.ts_ns, *complete, problem.clone()))
            }
            _ => None,
        })
        .collect();
    let closed = gates
        .iter()
        .position(|(_, complete, p)| {
            !complete && p.as_deref().is_some_and(|p| p.contains("user channel"))
        })
        .unwrap_or_else(|| panic!("the gap stopped new orders: {gates:?}"));
    let (closed_at, _, _) = gates[closed];
    let reopened = gates[closed..]
        .iter()
        .find(|(_, complete, _)| *complete)
        .unwrap_or_else(|| panic!("a reconciliation reopened trading: {gates:?}"));
    assert!(
        reopened.0 - closed_at < 5_000_000_000,
        "reconciled soon after the channel came back: {gates:?}"
    );
    // No order was placed while the gate was closed.
    let placed_while_closed = entries.iter().any(|e| {
        e.ts_ns > closed_at
            && e.ts_ns < reopened.0
            && matches!(&e.entry, Entry::OrderSubmitted { .. })
    });
    assert!(!placed_while_closed, "no new order while unreconciled");
    let booked = fills(&events(&entries));
    assert!(!booked.is_empty(), "the market maker traded");
    let mut ids = HashSet::new();
    for f in &booked {
        let id = f.trade_id.clone().expect("a live fill has its trade id");
        assert!(ids.insert(id.clone()), "trade {id} booked twice");
    }
    assert_eq!(host_view(&entries), exchange_view(&sim));
}

/// Heartbeats fail at the exchange (answered 503): new orders stop, and
/// nothing stays working at the exchange (its dead-man switch cancels what
/// the strategy did not) while the host agrees; once heartbeats are answered
/// again a reconciliation reopens trading, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_loss_cancels_at_the_exchange_and_stops_new_orders_until_reconciled() {
    let sim = exchange_with(START_COLLATERAL, Some(1_500)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("heartbeats.db");
    let wiring = Wiring {
        user_channel: true,
        reconcile_every: Some(Duration::from_secs(1)),
        heartbeats: Some(Duration::from_millis(300)),
    };
    let mut s = common::live_session::session(&sim, &db, market_maker(), wiring).await;
    run_for(&mut s, 2_000).await;
    assert!(s.engine().working_orders() > 0, "the market maker quotes");
    inject(&sim, serde_json::json!({ "fail_heartbeats_ms": 3_500 })).await;
    run_for(&mut s, 3_000).await;
    assert!(
        s.engine()
            .unreconciled()
            .is_some_and(|p| p.contains("heartbeats")),
        "heartbeats failing stop new orders: {:?}",
        s.engine().unreconciled()
    );
    // Whoever ended them first (the exchange's dead-man switch, or the
    // strategy requoting into the halt), nothing is left working at the
    // exchange, and the host agrees.
    let open_at_exchange = sim
        .state
        .lock()
        .unwrap()
        .exchange
        .orders
        .values()
        .filter(|o| o.is_open())
        .count();
    assert_eq!(open_at_exchange, 0, "no order left at the exchange");
    assert_eq!(s.engine().working_orders(), 0, "the host agrees");
    run_for(&mut s, 4_000).await;
    assert!(
        s.engine().unreconciled().is_none(),
        "heartbeats answered again and a reconciliation ran"
    );
    assert_eq!(
        s.cancel_all_and_wait(Duration::from_secs(5)).await.unwrap(),
        0
    );
    s.finish().await.unwrap();
    let entries = journal(&db).await;
    let gates: Vec<(i64, bool, Option<String>)> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::VenueReconciliation { complete, problem } => {
                Some((e.ts_ns, *complete, problem.clone()))
            }
            _ => None,
        })
        .collect();
    let closed = gates
        .iter()
        .position(|(_, c, p)| !c && p.as_deref().is_some_and(|p| p.contains("heartbeats")))
        .unwrap_or_else(|| panic!("{gates:?}"));
    let reopened = gates[closed..]
        .iter()
        .find(|(_, c, _)| *c)
        .unwrap_or_else(|| panic!("{gates:?}"));
    assert!(
        !entries.iter().any(|e| e.ts_ns > gates[closed].0
            && e.ts_ns < reopened.0
            && matches!(&e.entry, Entry::OrderSubmitted { .. })),
        "no new order while heartbeats failed"
    );
    // Nothing lost: every order ended, and the books equal the exchange's.
    let p = Projections::replay(&entries);
    assert_eq!(p.open_orders().count(), 0);
    assert_eq!(host_view(&entries), exchange_view(&sim));
}
