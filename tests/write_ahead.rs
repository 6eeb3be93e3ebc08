//! Write-ahead under a venue outside the process: an order may leave only after
//! the journal entry that says it was submitted is on disk, so a crash between
//! the two never leaves an order at the venue the journal does not know.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::hand::{HandMarket, START};
use pqap::data::books::Books;
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::{MarketEvent, Order, OrderEvent, OrderKey, VenueRef};
use pqap::store::{Entry, Journal};
use pqap::venue::Venue;

const MS: u64 = 1_000_000;

/// What the venue saw: per order, whether its submit entry was on disk when
/// the engine handed it over, and when the engine let it leave.
#[derive(Default)]
struct Seen {
    durable_at_submit: Vec<bool>,
    durable_at_release: Vec<bool>,
}

/// A venue that holds requests (like the CLOB client) and checks the journal
/// file, through a connection of its own, at each step. Released orders reach
/// the fill simulator at the next clock tick, as if over a network.
struct HeldVenue {
    inner: FillSimulator,
    db: PathBuf,
    held: Vec<Order>,
    sent: Vec<Order>,
    seen: Arc<Mutex<Seen>>,
}

/// Whether the journal file, read by a process-like stranger, has `key`'s
/// submit entry, naming the order as the venue will know it.
fn on_disk(db: &Path, key: OrderKey) -> bool {
    let db = db.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let journal = Journal::open(&db).await.unwrap();
            journal
                .read_from(1)
                .await
                .unwrap()
                .iter()
                .any(|e| matches!(&e.entry, Entry::OrderSubmitted { order } if order.key == key))
        })
    })
    .join()
    .unwrap()
}

/// The identity the venue gives an order (in the CLOB client: its salt and
/// signed order's hash).
fn venue_ref(key: OrderKey) -> VenueRef {
    VenueRef {
        salt: key.client_id & ((1 << 53) - 1),
        id: format!("0x{:064x}", key.client_id),
    }
}

impl Venue for HeldVenue {
    fn prepare(&mut self, order: &mut Order) {
        order.venue_ref = Some(venue_ref(order.key));
    }
    fn submit(&mut self, order: Order, _now_ns: u64, _books: &Books) -> Vec<OrderEvent> {
        let durable = on_disk(&self.db, order.key);
        self.seen.lock().unwrap().durable_at_submit.push(durable);
        self.held.push(order);
        Vec::new()
    }
    fn cancel(&mut self, key: OrderKey, now_ns: u64) -> Vec<OrderEvent> {
        self.inner.cancel(key, now_ns)
    }
    fn on_market(&mut self, event: &MarketEvent, now_ns: u64, books: &Books) -> Vec<OrderEvent> {
        self.inner.on_market(event, now_ns, books)
    }
    fn on_time(&mut self, now_ns: u64, books: &Books) -> Vec<OrderEvent> {
        let mut events = Vec::new();
        for order in std::mem::take(&mut self.sent) {
            events.extend(self.inner.submit(order, now_ns, books));
        }
        events.extend(self.inner.on_time(now_ns, books));
        events
    }
    fn reconcile(&mut self, order: &Order, now_ns: u64) -> pqap::venue::Reconciliation {
        self.inner.reconcile(order, now_ns)
    }
    fn holds_requests(&self) -> bool {
        true
    }
    fn release(&mut self, _now_ns: u64) {
        for order in std::mem::take(&mut self.held) {
            let durable = on_disk(&self.db, order.key);
            self.seen.lock().unwrap().durable_at_release.push(durable);
            self.sent.push(order);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_leaves_only_after_its_submit_entry_is_on_disk() {
    let m = HandMarket::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wa.db");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let venue = HeldVenue {
        inner: FillSimulator::for_markets(FillConfig::default(), m.registry().markets()),
        db: db.clone(),
        held: Vec::new(),
        sent: Vec::new(),
        seen: seen.clone(),
    };
    let mut engine = m.engine_on(&db, venue, None, None, START).await;
    engine.on_update(&m.at(49, START), START).await.unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.durable_at_submit,
            [false],
            "one buy, not yet on disk when handed over"
        );
        assert_eq!(seen.durable_at_release, [true], "on disk before it left");
    }
    // Not sent before the engine let it go, so nothing filled yet; at the next
    // tick the venue has it and fills it.
    assert!(
        engine
            .portfolio()
            .account(1)
            .is_none_or(|a| a.holdings.is_empty())
    );
    engine.on_time(START + MS).await.unwrap();
    let account = engine.portfolio().account(1).expect("the buy filled");
    assert!(!account.holdings.is_empty());
    let entries = engine.journal().read_from(1).await.unwrap();
    let submitted = entries
        .iter()
        .position(|e| matches!(e.entry, Entry::OrderSubmitted { .. }))
        .unwrap();
    let filled = entries
        .iter()
        .position(|e| {
            matches!(
                &e.entry,
                Entry::Order {
                    event: OrderEvent::Filled(_)
                }
            )
        })
        .unwrap();
    assert!(submitted < filled);
}
