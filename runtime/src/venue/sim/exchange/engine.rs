//! The exchange's state: keys, ledgers, one fill simulator per funder (the
//! platform's `FillSimulator`, fed the sim's own book events), orders, trades,
//! and the frames waiting for the user channel.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use alloy_primitives::{Address, keccak256};
use serde_json::Value;
use tokio::sync::broadcast;

use super::config::ExchangeConfig;
use super::heartbeat::Heartbeats;
use super::keys::KeyStore;
use super::ledger::Ledger;
use super::limits::{RateLimits, TradingFaults};
use super::records::{ExOrder, Trade};
use crate::data::books::Books;
use crate::execution::simulator::{FillConfig, FillSimulator};
use crate::model::MarketEvent;
use crate::venue::Venue;

/// A user-channel frame for the subscribers of one address.
#[derive(Debug, Clone)]
pub struct UserFrame {
    pub address: Address,
    /// The event's condition id (for subscriptions to some markets only).
    pub market: String,
    pub json: Arc<String>,
}

/// The two clocks the exchange reads: the sim's venue clock (order times,
/// auth windows, GTD) and wall time (settlement delays, heartbeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub venue_ms: u64,
    pub wall_ms: u64,
}

impl Clock {
    pub fn venue_ns(self) -> u64 {
        self.venue_ms.saturating_mul(1_000_000)
    }
}

pub struct ExchangeState {
    pub config: ExchangeConfig,
    pub keys: KeyStore,
    pub ledgers: BTreeMap<Address, Ledger>,
    pub(super) sims: BTreeMap<Address, FillSimulator>,
    pub orders: BTreeMap<String, ExOrder>,
    pub(super) by_client: HashMap<u64, String>,
    pub(super) next_client: u64,
    pub trades: Vec<Trade>,
    pub heartbeats: Heartbeats,
    pub limits: RateLimits,
    pub faults: TradingFaults,
    pub(super) user_tx: broadcast::Sender<UserFrame>,
    /// Frames held back (delayed fill reporting), with the wall time they are due.
    pub(super) outbox: Vec<(u64, UserFrame)>,
}

impl ExchangeState {
    pub fn new(config: ExchangeConfig) -> ExchangeState {
        let ledgers = config
            .accounts
            .iter()
            .map(|(a, c)| (*a, Ledger::from_config(c)))
            .collect();
        let (user_tx, _) = broadcast::channel(4096);
        ExchangeState {
            limits: RateLimits::new(config.order_bucket, config.cancel_bucket),
            config,
            keys: KeyStore::default(),
            ledgers,
            sims: BTreeMap::new(),
            orders: BTreeMap::new(),
            by_client: HashMap::new(),
            next_client: 1,
            trades: Vec::new(),
            heartbeats: Heartbeats::default(),
            faults: TradingFaults::default(),
            user_tx,
            outbox: Vec::new(),
        }
    }

    /// A receiver of every user-channel frame.
    pub fn subscribe(&self) -> broadcast::Receiver<UserFrame> {
        self.user_tx.subscribe()
    }

    pub(super) fn sim_of(&mut self, maker: Address) -> &mut FillSimulator {
        self.sims
            .entry(maker)
            .or_insert_with(|| FillSimulator::new(FillConfig::default()))
    }

    /// Sends a frame to `address`'s subscribers, now or when held frames are due.
    pub(super) fn publish(&mut self, address: Address, value: &Value, delay_to_ms: Option<u64>) {
        let frame = UserFrame {
            address,
            market: value
                .get("market")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            json: Arc::new(value.to_string()),
        };
        match delay_to_ms {
            Some(due) => self.outbox.push((due, frame)),
            None => {
                // Nobody subscribed is fine.
                let _ = self.user_tx.send(frame);
            }
        }
    }

    /// Market events reach every funder's simulator; what they fill is booked.
    pub fn on_market(&mut self, events: &[MarketEvent], books: &Books, clock: Clock) {
        let now = clock.venue_ns();
        let makers: Vec<Address> = self.sims.keys().copied().collect();
        for maker in makers {
            let mut out = Vec::new();
            if let Some(sim) = self.sims.get_mut(&maker) {
                for e in events {
                    out.extend(sim.on_market(e, now, books));
                }
                out.extend(sim.on_time(now, books));
            }
            self.apply(out, clock);
        }
    }

    /// Wall-clock duties: settlement stages, held frames, heartbeat expiry.
    pub fn on_wall_time(&mut self, clock: Clock) {
        // Held frames first: later stages must not overtake them.
        let due: Vec<UserFrame> = {
            let (ready, held): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox)
                .into_iter()
                .partition(|(t, _)| *t <= clock.wall_ms);
            self.outbox = held;
            ready.into_iter().map(|(_, f)| f).collect()
        };
        for f in due {
            let _ = self.user_tx.send(f);
        }
        self.settle(clock);
        for key in self
            .heartbeats
            .expired(clock.wall_ms, self.config.heartbeat_timeout_ms)
        {
            tracing::info!(api_key = %key, "heartbeat timeout: cancelling the key's open orders");
            let ids: Vec<String> = self
                .orders
                .values()
                .filter(|o| o.is_open() && o.owner == key)
                .map(|o| o.id.clone())
                .collect();
            self.cancel_ids(&ids, clock);
        }
    }

    /// A stable pseudo-random 0x hash for ids the sim invents (counterparty
    /// orders, transaction hashes).
    pub(super) fn invented_hash(&self, label: &str, n: usize) -> String {
        let mut buf = label.as_bytes().to_vec();
        buf.extend_from_slice(&(n as u64).to_be_bytes());
        buf.extend_from_slice(&self.next_client.to_be_bytes());
        keccak256(&buf).to_string()
    }
}
