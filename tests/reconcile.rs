//! Restart reconciliation against a venue outside the process: an order whose
//! answer was lost stays working (unknown) and is never sent again; after a
//! restart, fills the journal missed are booked once each (cause `reconciled`),
//! an order the venue never received is rejected as such, one the venue ended
//! is cancelled for what its fills left, and one still working keeps working.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::hand::{HandMarket, START};
use pqap::data::books::Books;
use pqap::engine::{Engine, EngineConfig, StrategySetup};
use pqap::model::{
    CancelCause, Fill, FillCause, Liquidity, MarketEvent, Order, OrderEvent, OrderKey, Size,
    VenueReject,
};
use pqap::risk::RiskLimits;
use pqap::store::{Entry, Journal, Projections};
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::{OrderFate, Reconciliation, Venue, VenueUnreachable};
use rust_decimal::Decimal;

const MS: u64 = 1_000_000;

/// The exchange's side of the story, shared by the two processes' venues.
#[derive(Default)]
struct Exchange {
    /// Orders in the order they were sent.
    sent: Vec<Order>,
    /// What reconciliation answers, by order.
    fates: BTreeMap<OrderKey, Reconciliation>,
    /// The account cannot be asked.
    down: bool,
    /// Reports the venue pushes (its user channel), taken at the next tick.
    pushed: Vec<OrderEvent>,
    /// Heartbeats failing.
    trouble: Option<String>,
}

/// A venue that holds requests until released, answers the first order,
/// loses the answer to the second (a transport error after sending) and
/// answers the rest; after a restart it answers from `Exchange::fates`.
struct RemoteVenue {
    exchange: Arc<Mutex<Exchange>>,
    held: Vec<Order>,
    answers: Vec<OrderEvent>,
}

impl RemoteVenue {
    fn new(exchange: &Arc<Mutex<Exchange>>) -> RemoteVenue {
        RemoteVenue {
            exchange: exchange.clone(),
            held: Vec::new(),
            answers: Vec::new(),
        }
    }
}

impl Venue for RemoteVenue {
    fn submit(&mut self, order: Order, _: u64, _: &Books) -> Vec<OrderEvent> {
        self.held.push(order);
        Vec::new()
    }
    fn cancel(&mut self, _: OrderKey, _: u64) -> Vec<OrderEvent> {
        Vec::new()
    }
    fn on_market(&mut self, _: &MarketEvent, _: u64, _: &Books) -> Vec<OrderEvent> {
        std::mem::take(&mut self.answers)
    }
    fn on_time(&mut self, _: u64, _: &Books) -> Vec<OrderEvent> {
        let mut out = std::mem::take(&mut self.answers);
        out.append(&mut self.exchange.lock().unwrap().pushed);
        out
    }
    async fn refresh(&mut self, _: &[Order], _: u64) -> Result<(), VenueUnreachable> {
        if self.exchange.lock().unwrap().down {
            Err(VenueUnreachable("connection refused".into()))
        } else {
            Ok(())
        }
    }
    fn reconcile(&mut self, order: &Order, _: u64) -> Reconciliation {
        let key = order.key;
        let exchange = self.exchange.lock().unwrap();
        exchange
            .fates
            .get(&key)
            .cloned()
            .unwrap_or_else(Reconciliation::over)
    }
    fn holds_requests(&self) -> bool {
        true
    }
    fn trouble(&self) -> Option<String> {
        self.exchange.lock().unwrap().trouble.clone()
    }
    fn release(&mut self, now_ns: u64) {
        let mut exchange = self.exchange.lock().unwrap();
        for order in std::mem::take(&mut self.held) {
            let n = exchange.sent.len();
            exchange.sent.push(order.clone());
            self.answers.push(if n == 1 {
                OrderEvent::Unknown {
                    key: order.key,
                    reason: "connection reset after the request was sent".into(),
                    ts_ns: now_ns,
                }
            } else {
                OrderEvent::Accepted {
                    key: order.key,
                    ts_ns: now_ns,
                }
            });
        }
    }
}

async fn engine(
    m: &HandMarket,
    db: &std::path::Path,
    venue: RemoteVenue,
    start: u64,
) -> Engine<RemoteVenue> {
    Engine::start(
        EngineConfig {
            run_id: "reconcile".into(),
            mode: ClockMode::Simulated,
            seed: 1,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits::default(),
            mark_every_ns: 60_000 * MS,
            keep_quarantines: false,
        },
        m.registry(),
        venue,
        Journal::open(db).await.unwrap(),
        vec![StrategySetup {
            artifact: common::market_maker(),
            params: vec![pqap::strategy::bindings::types::Param {
                name: "all_outcomes".into(),
                value: pqap::strategy::bindings::types::ParamValue::Flag(true),
            }],
            limits: RiskLimits::default(),
            markets: Vec::new(),
        }],
        start,
    )
    .await
    .unwrap()
}

fn fill(order: &Order, shares: u64, trade: &str) -> Fill {
    Fill {
        key: order.key,
        token: order.token.clone(),
        side: order.side,
        price: order.price,
        size: Size::from_shares(shares).unwrap(),
        fee: Decimal::ZERO,
        fee_shares: Size::ZERO,
        liquidity: Liquidity::Maker,
        // The engine computes what is left from the journal's own count.
        remaining: Size::ZERO,
        ts_ns: START,
        trade_id: Some(trade.to_string()),
        cause: FillCause::Reported,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_books_missed_fills_once_and_settles_every_orders_fate() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let exchange = Arc::new(Mutex::new(Exchange::default()));

    // First process: bids on both outcomes go out (the answer to the second
    // is lost), then the book moves and they are replaced; the venue has not
    // confirmed the cancels when the process dies.
    let mut first = engine(&m, &db, RemoteVenue::new(&exchange), START).await;
    first.on_update(&m.at(45, START), START).await.unwrap();
    first.on_time(START + MS).await.unwrap();
    first
        .on_update(&m.at(35, START + 2 * MS), START + 2 * MS)
        .await
        .unwrap();
    first.on_time(START + 3 * MS).await.unwrap();
    let sent = exchange.lock().unwrap().sent.clone();
    assert!(sent.len() >= 3, "the market maker quoted: {sent:?}");
    assert_eq!(
        first.working_orders(),
        sent.len(),
        "the unknown order still counts as working"
    );
    // A crash: no shutdown.
    drop(first);

    // Meanwhile at the exchange: the first order filled 2 shares and works
    // on; the second never arrived; the third filled 1 share (reported
    // twice, as a venue does at each settlement stage) and was cancelled.
    {
        let mut ex = exchange.lock().unwrap();
        let (a, b, c) = (sent[0].clone(), sent[1].clone(), sent[2].clone());
        ex.fates.insert(
            a.key,
            Reconciliation {
                fate: OrderFate::Working {
                    remaining: a.size.checked_sub(Size::from_shares(2).unwrap()).unwrap(),
                },
                fills: vec![fill(&a, 2, "trade-a")],
            },
        );
        ex.fates.insert(
            b.key,
            Reconciliation {
                fate: OrderFate::NotReceived,
                fills: Vec::new(),
            },
        );
        ex.fates.insert(
            c.key,
            Reconciliation {
                fate: OrderFate::Over,
                fills: vec![fill(&c, 1, "trade-c"), fill(&c, 1, "trade-c")],
            },
        );
        for o in &sent[3..] {
            ex.fates.insert(o.key, Reconciliation::working(o.size));
        }
    }

    let restart = START + 10_000 * MS;
    let second = engine(&m, &db, RemoteVenue::new(&exchange), restart).await;
    let entries = second.journal().read_from(1).await.unwrap();
    let events: Vec<&OrderEvent> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order { event } => Some(event),
            _ => None,
        })
        .collect();
    let reconciled: Vec<&Fill> = events
        .iter()
        .filter_map(|e| match e {
            OrderEvent::Filled(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(reconciled.len(), 2, "one fill per trade id: {reconciled:?}");
    assert!(reconciled.iter().all(|f| f.cause == FillCause::Reconciled));
    let a = reconciled.iter().find(|f| f.key == sent[0].key).unwrap();
    assert_eq!(
        a.remaining,
        sent[0]
            .size
            .checked_sub(Size::from_shares(2).unwrap())
            .unwrap()
    );
    assert!(
        events.iter().any(|e| matches!(e,
        OrderEvent::Rejected { key, reject: VenueReject::NotReceived, .. } if *key == sent[1].key))
    );
    let c_left = sent[2]
        .size
        .checked_sub(Size::from_shares(1).unwrap())
        .unwrap();
    assert!(events.iter().any(|e| matches!(e,
        OrderEvent::Cancelled { key, cause: CancelCause::Venue, unfilled, .. }
            if *key == sent[2].key && *unfilled == c_left)));
    // Still working: the first and every order after the third.
    assert_eq!(second.working_orders(), 1 + sent.len() - 3);
    // Nothing was sent again.
    assert_eq!(exchange.lock().unwrap().sent.len(), sent.len());
    // The journal alone tells the same portfolio, and still verifies.
    assert_eq!(&Projections::replay(&entries).portfolio, second.portfolio());
    let report = second.journal().verify().await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
}

fn filled(entries: &[pqap::store::Stored]) -> Vec<Fill> {
    entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::Order {
                event: OrderEvent::Filled(f),
            } => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_reported_again_is_booked_once_and_a_running_reconcile_finds_what_was_missed() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let exchange = Arc::new(Mutex::new(Exchange::default()));
    let mut engine = engine(
        &m,
        &dir.path().join("d.db"),
        RemoteVenue::new(&exchange),
        START,
    )
    .await;
    engine.on_update(&m.at(45, START), START).await.unwrap();
    engine.on_time(START + MS).await.unwrap();
    let sent = exchange.lock().unwrap().sent.clone();
    let a = sent[0].clone();
    // The user channel reports one trade at each settlement stage.
    {
        let mut ex = exchange.lock().unwrap();
        let mut f = fill(&a, 3, "t-1");
        f.remaining = a.size.checked_sub(Size::from_shares(3).unwrap()).unwrap();
        ex.pushed = vec![OrderEvent::Filled(f.clone()), OrderEvent::Filled(f)];
    }
    engine.on_time(START + 2 * MS).await.unwrap();
    engine.on_time(START + 3 * MS).await.unwrap();
    let entries = engine.journal().read_from(1).await.unwrap();
    assert_eq!(filled(&entries).len(), 1, "t-1 booked once");
    // A trade the channel never delivered, and the same t-1 again, found by
    // a reconcile while running; the order works on.
    let left = a.size.checked_sub(Size::from_shares(5).unwrap()).unwrap();
    exchange.lock().unwrap().fates.insert(
        a.key,
        Reconciliation {
            fate: OrderFate::Working { remaining: left },
            fills: vec![fill(&a, 3, "t-1"), fill(&a, 2, "t-2")],
        },
    );
    for o in &sent[1..] {
        exchange
            .lock()
            .unwrap()
            .fates
            .insert(o.key, Reconciliation::working(o.size));
    }
    let report = engine.reconcile_now().await.unwrap();
    assert_eq!(report.fills, 1);
    assert_eq!(report.ended, 0);
    let entries = engine.journal().read_from(1).await.unwrap();
    let fills = filled(&entries);
    assert_eq!(fills.len(), 2);
    assert_eq!(fills[1].trade_id.as_deref(), Some("t-2"));
    assert_eq!(fills[1].cause, FillCause::Reconciled);
    assert_eq!(fills[1].remaining, left);
    // A second pass finds nothing new and journals nothing.
    let before = entries.len();
    let again = engine.reconcile_now().await.unwrap();
    assert_eq!((again.fills, again.ended), (0, 0));
    assert_eq!(engine.journal().read_from(1).await.unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_cannot_be_reconciled_stops_new_orders_until_it_can() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let exchange = Arc::new(Mutex::new(Exchange {
        down: true,
        ..Exchange::default()
    }));
    let mut engine = engine(
        &m,
        &dir.path().join("u.db"),
        RemoteVenue::new(&exchange),
        START,
    )
    .await;
    assert_eq!(engine.trading_state(), pqap::risk::TradingState::Halted);
    assert!(
        engine
            .unreconciled()
            .unwrap()
            .contains("connection refused")
    );
    engine.on_update(&m.at(45, START), START).await.unwrap();
    engine.on_time(START + MS).await.unwrap();
    assert!(exchange.lock().unwrap().sent.is_empty(), "nothing was sent");
    let entries = engine.journal().read_from(1).await.unwrap();
    assert!(entries.iter().any(|e| matches!(&e.entry,
        Entry::RiskVerdict { accepted: false, rule: Some(rule), .. } if rule == "trading_state")));
    assert!(entries.iter().any(|e| matches!(
        &e.entry,
        Entry::VenueReconciliation {
            complete: false,
            ..
        }
    )));
    // Still down: no second entry.
    engine.reconcile_now().await.unwrap();
    exchange.lock().unwrap().down = false;
    engine.reconcile_now().await.unwrap();
    assert_eq!(engine.trading_state(), pqap::risk::TradingState::Active);
    let entries = engine.journal().read_from(1).await.unwrap();
    let gates: Vec<bool> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            Entry::VenueReconciliation { complete, .. } => Some(*complete),
            _ => None,
        })
        .collect();
    assert_eq!(gates, [false, true]);
    engine
        .on_update(&m.at(40, START + 5 * MS), START + 5 * MS)
        .await
        .unwrap();
    assert!(!exchange.lock().unwrap().sent.is_empty(), "trading resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_heartbeats_stop_new_orders_until_a_reconciliation_after_they_recover() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let exchange = Arc::new(Mutex::new(Exchange::default()));
    let mut engine = engine(
        &m,
        &dir.path().join("h.db"),
        RemoteVenue::new(&exchange),
        START,
    )
    .await;
    exchange.lock().unwrap().trouble = Some("heartbeats failing: connection refused".into());
    engine.on_time(START + MS).await.unwrap();
    assert_eq!(engine.trading_state(), pqap::risk::TradingState::Halted);
    engine
        .on_update(&m.at(45, START + 2 * MS), START + 2 * MS)
        .await
        .unwrap();
    assert!(
        exchange.lock().unwrap().sent.is_empty(),
        "no order while heartbeats fail"
    );
    // Still failing: reconciling does not lift the stop.
    engine.reconcile_now().await.unwrap();
    assert_eq!(engine.trading_state(), pqap::risk::TradingState::Halted);
    exchange.lock().unwrap().trouble = None;
    engine.reconcile_now().await.unwrap();
    assert_eq!(engine.trading_state(), pqap::risk::TradingState::Active);
    engine
        .on_update(&m.at(40, START + 3 * MS), START + 3 * MS)
        .await
        .unwrap();
    assert!(!exchange.lock().unwrap().sent.is_empty(), "trading resumed");
    let entries = engine.journal().read_from(1).await.unwrap();
    assert!(entries.iter().any(|e| matches!(&e.entry,
        Entry::VenueReconciliation { complete: false, problem: Some(p) } if p.contains("heartbeats"))));
}
