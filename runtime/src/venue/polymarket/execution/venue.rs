//! The engine's venue for live trading on the CLOB. Orders are signed and
//! their venue ids stamped before the engine journals them; they leave only
//! when the engine releases them (write-ahead), through one sender task that
//! posts them (batched, with the venue's retries for 425/429/503 and never a
//! second send of a request whose answer was lost) and cancels. Answers and
//! fills come back through the tracker, which wakes the engine. `refresh`
//! asks the venue for the account's open orders, the engine's orders and its
//! trades, from which `reconcile` answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::client::{Asset, ClobClient};
use super::error::ClobError;
use super::from_venue::{fills_of, foreign_of, size_of};
use super::funds::Funds;
use super::inbox::Inbox;
use super::sender::{Request, send_loop};
use super::settlement;
use super::sign_orders::{MarketTerms, OrderSigner};
use super::tracker::Tracker;
use super::types::VenueOrder;
use super::user_feed::{self, UserFeedConfig};
use crate::data::books::Books;
use crate::model::{MarketEvent, Order, OrderEvent, OrderKey, Size, VenueReject};
use crate::venue::polymarket::signing::{
    ApiCredentials, CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2, OrderRequest,
};
use crate::venue::{
    ForeignOrder, ForeignPolicy, MarketSpec, OrderFate, Reconciliation, Venue, VenueUnreachable,
};

/// What the last refresh found about the engine's orders.
#[derive(Debug, Default)]
struct Snapshot {
    answers: HashMap<OrderKey, Reconciliation>,
}

/// Live trading through the CLOB.
pub struct PolymarketVenue {
    client: Arc<ClobClient>,
    signer: OrderSigner,
    shared: Arc<Inbox>,
    prepared: HashMap<OrderKey, (Box<OrderRequest>, MarketTerms)>,
    unsignable: HashMap<OrderKey, String>,
    held: Vec<Request>,
    sender: mpsc::UnboundedSender<Request>,
    snapshot: Snapshot,
    /// Open orders of the account the last refresh was not asked about and
    /// this process did not place, and what to do with them.
    foreign: Vec<ForeignOrder>,
    foreign_policy: ForeignPolicy,
    /// Sign everything, send nothing (`pqap live --shadow`).
    shadow: bool,
    /// Heartbeats and the user channel, stopped with the venue.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Balances and allowances, for refusing what the venue would refuse.
    funds: Funds,
}

impl Drop for PolymarketVenue {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PolymarketVenue {
    /// A venue trading `signer`'s account through `client` (authenticated),
    /// on `markets`. Starts the sender task: call inside a Tokio runtime.
    pub fn start(
        client: ClobClient,
        signer: OrderSigner,
        markets: &[MarketSpec],
    ) -> PolymarketVenue {
        let client = Arc::new(client);
        let shared = Arc::new(Inbox::default());
        let (sender, requests) = mpsc::unbounded_channel();
        tokio::spawn(send_loop(client.clone(), shared.clone(), requests));
        let mut venue = PolymarketVenue {
            client,
            signer,
            shared,
            prepared: HashMap::new(),
            unsignable: HashMap::new(),
            held: Vec::new(),
            sender,
            snapshot: Snapshot::default(),
            foreign: Vec::new(),
            foreign_policy: ForeignPolicy::default(),
            shadow: false,
            tasks: Vec::new(),
            funds: Funds::default(),
        };
        for m in markets {
            venue.signer.add_market(m);
        }
        venue
    }

    /// Orders are signed and logged, never sent; each is answered as
    /// rejected ("shadow mode") so strategies see a consistent state.
    pub fn shadow(mut self) -> PolymarketVenue {
        self.shadow = true;
        self
    }

    /// What reconciliation does with foreign orders (`live.foreign_orders`).
    pub fn with_foreign_orders(mut self, policy: ForeignPolicy) -> PolymarketVenue {
        self.foreign_policy = policy;
        self
    }

    pub fn client(&self) -> &Arc<ClobClient> {
        &self.client
    }

    /// Asks the venue for the account's collateral and the balances of the
    /// tokens it holds or sells; an answer that cannot be read leaves that
    /// balance as it was (the venue still checks every order).
    pub async fn refresh_funds(&mut self) -> Result<(), ClobError> {
        let sig = self.signer.account().signature_type.code();
        let collateral = self
            .client
            .balance_allowance(&Asset::Collateral, sig)
            .await?;
        if let Err(e) = self.funds.set_collateral(&collateral) {
            tracing::warn!(error = %e, "the venue's collateral balance");
        }
        for token in self.funds.tokens() {
            let asset = Asset::Conditional {
                token_id: token.to_string(),
            };
            let b = self.client.balance_allowance(&asset, sig).await?;
            if let Err(e) = self.funds.set_shares(&token, &b) {
                tracing::warn!(token = %token, error = %e, "the venue's token balance");
            }
        }
        Ok(())
    }

    /// Takes the tracker's events, moving the funds by their fills.
    fn drain(&mut self) -> Vec<OrderEvent> {
        let events = self.shared.with(Tracker::drain);
        for e in &events {
            if let OrderEvent::Filled(fill) = e {
                self.funds.apply_fill(fill);
            }
        }
        events
    }

    /// Listens to the account's user channel: fills and the venue's cancels
    /// reach the engine as they happen.
    pub fn start_user_feed(&mut self, config: UserFeedConfig, credentials: ApiCredentials) {
        let inbox = self.shared.clone();
        self.tasks
            .push(tokio::spawn(user_feed::run(config, credentials, inbox)));
    }

    /// Sends a heartbeat every `every`, chained from `first` (the id of one
    /// already sent). Two failures in a row stop new orders (the venue
    /// cancels a silent account's orders); a stale chain starts afresh.
    pub fn start_heartbeats(&mut self, first: String, every: Duration) {
        let client = self.client.clone();
        let shared = self.shared.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut id = Some(first);
            let mut failures = 0u32;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match client.heartbeat(id.as_deref()).await {
                    Ok(next) => {
                        id = Some(next);
                        if failures > 0 {
                            tracing::info!("heartbeats answered again");
                            failures = 0;
                            shared.set_trouble(None);
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, failures, "heartbeat failed");
                        if matches!(e, ClobError::Status { status: 400, .. }) {
                            id = None;
                        }
                        if failures >= 2 {
                            shared.set_trouble(Some(format!("heartbeats failing: {e}")));
                        }
                    }
                }
            }
        }));
    }
}

impl Venue for PolymarketVenue {
    fn prepare(&mut self, order: &mut Order) {
        match self.signer.prepare(order) {
            Ok(p) => {
                order.venue_ref = Some(p.venue_ref.clone());
                self.shared
                    .with(|t| t.track(order, &p.venue_ref.id, p.terms.fees, true));
                self.prepared
                    .insert(order.key, (Box::new(p.request), p.terms));
            }
            Err(message) => {
                self.unsignable.insert(order.key, message);
            }
        }
    }

    fn submit(&mut self, order: Order, now_ns: u64, _books: &Books) -> Vec<OrderEvent> {
        if let Some(message) = self.unsignable.remove(&order.key) {
            return vec![OrderEvent::Rejected {
                key: order.key,
                reject: VenueReject::InvalidPayload,
                message,
                ts_ns: now_ns,
            }];
        }
        let Some((request, terms)) = self.prepared.remove(&order.key) else {
            return vec![OrderEvent::Rejected {
                key: order.key,
                reject: VenueReject::InvalidPayload,
                message: "the order was not prepared for the venue".into(),
                ts_ns: now_ns,
            }];
        };
        let exchange = if terms.neg_risk {
            NEG_RISK_CTF_EXCHANGE_V2
        } else {
            CTF_EXCHANGE_V2
        }
        .to_string();
        let held = self.shared.with(|t| t.held(order.key));
        if let Err(message) = self.funds.check(&order, &exchange, &held) {
            tracing::info!(order = ?order.key, %message, "refused before sending");
            self.shared
                .with(|t| t.rejected(order.key, VenueReject::InsufficientFunds, message, now_ns));
            return self.drain();
        }
        if self.shadow {
            tracing::info!(
                order = ?order.key,
                body = %request.to_json().unwrap_or_default(),
                "shadow mode: signed, not sent"
            );
            return vec![OrderEvent::Rejected {
                key: order.key,
                reject: VenueReject::Other {
                    message: "shadow mode".into(),
                },
                message: "shadow mode: signed, not sent".into(),
                ts_ns: now_ns,
            }];
        }
        self.held
            .push(Request::Submit(order.key, request, order.tif));
        Vec::new()
    }

    fn cancel(&mut self, key: OrderKey, _now_ns: u64) -> Vec<OrderEvent> {
        if let Some(id) = self.shared.with(|t| t.request_cancel(key)) {
            self.held.push(Request::Cancel(key, id));
        }
        Vec::new()
    }

    fn on_market(&mut self, _: &MarketEvent, _: u64, _: &Books) -> Vec<OrderEvent> {
        self.drain()
    }

    fn on_time(&mut self, _: u64, _: &Books) -> Vec<OrderEvent> {
        self.drain()
    }

    fn follow_booked(&mut self, order: &Order, trade_id: &str, booked_ns: u64, over: bool) {
        let Some(r) = &order.venue_ref else {
            return;
        };
        let fees = self
            .signer
            .terms(&order.token)
            .map(|m| m.fees)
            .unwrap_or_default();
        self.shared
            .with(|t| t.booked_before(order, &r.id, fees, trade_id, booked_ns, over));
    }

    fn add_market(&mut self, spec: &MarketSpec) {
        self.signer.add_market(spec);
    }

    fn holds_requests(&self) -> bool {
        true
    }

    fn release(&mut self, _now_ns: u64) {
        for request in self.held.drain(..) {
            if self.sender.send(request).is_err() {
                tracing::error!("the order sender stopped; requests are not sent");
            }
        }
    }

    fn trouble(&self) -> Option<String> {
        self.shared.trouble()
    }

    fn wakeup(&self) -> Option<Arc<Notify>> {
        Some(self.shared.notify())
    }

    fn wants_reconcile(&self) -> bool {
        self.shared.reconcile_due()
    }

    async fn refresh(&mut self, orders: &[Order], now_ns: u64) -> Result<(), VenueUnreachable> {
        let unreachable = |e: ClobError| VenueUnreachable(e.to_string());
        // Taken before asking: a drop while asking leaves its gap open.
        let gap = self.shared.gap_mark();
        let (unsettled, booked_since) = self.shared.with(|t| t.unsettled());
        let open = self.client.open_orders().await.map_err(unreachable)?;
        let open: HashMap<String, VenueOrder> = open
            .into_iter()
            .map(|o| (o.id.to_ascii_lowercase(), o))
            .collect();
        let since = orders
            .iter()
            .map(|o| o.created_ns)
            .chain(booked_since)
            .min()
            .map(|ns| (ns / 1_000_000_000).saturating_sub(60));
        let trades = if orders.is_empty() && unsettled.is_empty() {
            Vec::new()
        } else {
            self.client.trades(since).await.map_err(unreachable)?
        };
        // Trades booked that settled since, or failed (their fills reversed).
        if !unsettled.is_empty() {
            self.shared
                .with(|t| settlement::follow(t, &trades, &unsettled, now_ns));
        }
        let mut answers = HashMap::new();
        for order in orders {
            let Some(r) = &order.venue_ref else {
                answers.insert(
                    order.key,
                    Reconciliation {
                        fate: OrderFate::NotReceived,
                        fills: Vec::new(),
                    },
                );
                continue;
            };
            let id = r.id.to_ascii_lowercase();
            let terms = self.signer.terms(&order.token);
            let in_flight = self.shared.with(|t| {
                t.track(order, &id, terms.map(|m| m.fees).unwrap_or_default(), false);
                t.in_flight(order.key)
            });
            // Not answered yet (queued behind a retry, or on the wire): the
            // venue may not have it yet; ask again next time.
            if in_flight {
                let matched = self
                    .shared
                    .with(|t| t.matched(order.key))
                    .unwrap_or(Size::ZERO);
                answers.insert(
                    order.key,
                    Reconciliation::working(order.size.saturating_sub(matched)),
                );
                continue;
            }
            let found = match open.get(&id) {
                Some(o) => Some(o.clone()),
                None => self.client.order(&id).await.map_err(unreachable)?,
            };
            let fills = fills_of(order, &id, &trades, terms);
            let fate = match found {
                None => OrderFate::NotReceived,
                Some(o) if o.is_live() => OrderFate::Working {
                    remaining: order.size.saturating_sub(size_of(o.size_matched)),
                },
                Some(_) => OrderFate::Over,
            };
            answers.insert(order.key, Reconciliation { fate, fills });
        }
        self.snapshot = Snapshot { answers };
        if let Err(e) = self.refresh_funds().await {
            // Not a reason to stop trading: the venue checks funds itself.
            tracing::warn!(error = %e, "asking the account's balances failed");
        }
        let asked: HashSet<String> = orders
            .iter()
            .filter_map(|o| o.venue_ref.as_ref())
            .map(|r| r.id.to_ascii_lowercase())
            .collect();
        self.foreign = open
            .iter()
            .filter(|(id, o)| {
                o.is_live()
                    && !asked.contains(*id)
                    && self.shared.with(|t| t.key_of(id).or_else(|| t.key_of(&o.id)).is_none())
            })
            .filter_map(|(_, o)| {
                let found = foreign_of(o);
                if found.is_none() {
                    tracing::error!(order = %o.id, asset = %o.asset_id, side = %o.side, price = %o.price, "an open order of the account that cannot be read; not counted");
                }
                found
            })
            .collect();
        if let Some(mark) = gap {
            self.shared.reconciled(mark);
        }
        Ok(())
    }

    fn foreign_orders(&self) -> Vec<ForeignOrder> {
        self.foreign.clone()
    }

    fn foreign_policy(&self) -> ForeignPolicy {
        // Shadow mode sends nothing, cancels included.
        if self.shadow {
            ForeignPolicy::Leave
        } else {
            self.foreign_policy
        }
    }

    async fn cancel_foreign(&mut self, venue_id: &str) -> Result<(), VenueUnreachable> {
        let answer = self
            .client
            .cancel(venue_id)
            .await
            .map_err(|e| VenueUnreachable(e.to_string()))?;
        if answer
            .canceled
            .unwrap_or_default()
            .iter()
            .any(|c| c.eq_ignore_ascii_case(venue_id))
        {
            return Ok(());
        }
        let why = answer
            .not_canceled
            .and_then(|n| {
                n.iter()
                    .find(|(id, _)| id.eq_ignore_ascii_case(venue_id))
                    .map(|(_, why)| why.clone())
            })
            .unwrap_or_else(|| "no reason given".into());
        Err(VenueUnreachable(format!(
            "the venue did not cancel {venue_id}: {why}"
        )))
    }

    fn reconcile(&mut self, order: &Order, now_ns: u64) -> Reconciliation {
        let found = self
            .snapshot
            .answers
            .remove(&order.key)
            .unwrap_or(Reconciliation {
                fate: OrderFate::Over,
                fills: Vec::new(),
            });
        let matched = found
            .fills
            .iter()
            .fold(Size::ZERO, |a, f| a.checked_add(f.size).unwrap_or(a));
        let trades: Vec<String> = found
            .fills
            .iter()
            .filter_map(|f| f.trade_id.clone())
            .collect();
        let over = !matches!(found.fate, OrderFate::Working { .. });
        self.shared.with(|t| {
            // An order still on its way is answered by its own request.
            if !t.in_flight(order.key) {
                t.reconciled(order.key, matched, over, &trades, now_ns);
            }
        });
        found
    }
}
