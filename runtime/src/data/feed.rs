//! The live market-data feed: the sharded market socket plus REST. Books are
//! resynchronised from `/books` after every (re)connect, gap, tick-size change or
//! stale period; while a shard is down its books are polled from REST instead.
//! Everything downstream sees — socket frames and REST snapshots alike — comes out
//! as [`FeedUpdate`]s with the book outputs they caused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::books::{BookOutput, Books};
use super::quality::{Issue, QualityConfig, Untradeable};
use super::update::{FeedUpdate, Source};
use crate::model::{MarketEvent, TokenId};
use crate::venue::polymarket::http::client::{HttpConfig, HttpError, PolymarketHttp};
use crate::venue::polymarket::websocket::client::{MarketSocket, SocketEvent, WsConfig, now_ms};
use crate::venue::polymarket::websocket::decode::DecodeError;

/// Counters a session loop keeps about its feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounters {
    pub connected: bool,
    pub updates: u64,
    pub reconnects: u64,
    pub last_update_ms: Option<u64>,
}

/// Feed settings.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub http: HttpConfig,
    pub ws: WsConfig,
    pub quality: QualityConfig,
    /// How often books of a disconnected shard are refreshed from REST.
    pub poll_every: Duration,
    /// How often pending resyncs are sent (batched into one `/books` call).
    pub resync_every: Duration,
    /// How often staleness is checked.
    pub sweep_every: Duration,
    /// Tokens per `/books` request.
    pub books_batch: usize,
    /// How often every book is compared with (and replaced by) a REST snapshot,
    /// catching losses the stream cannot reveal (changes below the top).
    pub audit_every: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        FeedConfig {
            http: HttpConfig::default(),
            ws: WsConfig::default(),
            quality: QualityConfig::default(),
            poll_every: Duration::from_secs(2),
            resync_every: Duration::from_millis(200),
            sweep_every: Duration::from_secs(1),
            books_batch: 100,
            audit_every: Duration::from_secs(60),
        }
    }
}

/// What the feed emits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedMessage {
    /// A payload (socket frame or REST response) and what it changed.
    Data {
        update: FeedUpdate,
        outputs: Vec<BookOutput>,
    },
    /// Status changes found by the staleness sweep or a disconnect.
    Status(Vec<BookOutput>),
    /// A shard connected or dropped.
    Connection {
        shard: u16,
        connected: bool,
        reason: String,
    },
}

/// Counters for health reporting.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedStats {
    pub frames: u64,
    pub rest_snapshots: u64,
    pub reconnects: u64,
    pub decode_errors: u64,
    pub resync_requests: u64,
}

/// A running feed; dropping it stops the feed.
pub struct LiveFeed {
    task: JoinHandle<()>,
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveFeed {
    /// Starts the feed for `tokens`; messages arrive on the returned receiver.
    pub fn start(
        config: FeedConfig,
        tokens: Vec<TokenId>,
    ) -> Result<(LiveFeed, mpsc::Receiver<FeedMessage>), HttpError> {
        let http = Arc::new(PolymarketHttp::new(config.http.clone())?);
        let (out_tx, out_rx) = mpsc::channel(4096);
        let task = tokio::spawn(run(config, tokens, http, out_tx));
        Ok((LiveFeed { task }, out_rx))
    }
}

fn decode_issue(e: &DecodeError) -> Issue {
    match e {
        DecodeError::UnknownEventType(name) => Issue::UnknownEventType { name: name.clone() },
        other => Issue::Undecodable {
            error: other.to_string(),
        },
    }
}

struct State {
    books: Books,
    shards: Vec<Vec<TokenId>>,
    down: BTreeSet<u16>,
    resync: BTreeSet<TokenId>,
    stats: FeedStats,
    out: mpsc::Sender<FeedMessage>,
}

impl State {
    /// Applies an update and forwards it; `false` once nobody listens.
    async fn apply(&mut self, update: FeedUpdate) -> bool {
        let now = now_ms();
        let mut outputs = Vec::new();
        for e in &update.errors {
            self.stats.decode_errors += 1;
            self.books.record_issue(&decode_issue(e));
        }
        for event in &update.events {
            if update.source == Source::Rest {
                self.books.apply_resync(event, now, &mut outputs);
            } else {
                self.books.apply(event, now, &mut outputs);
            }
        }
        self.queue_resyncs(&outputs);
        self.out
            .send(FeedMessage::Data { update, outputs })
            .await
            .is_ok()
    }

    fn queue_resyncs(&mut self, outputs: &[BookOutput]) {
        for o in outputs {
            let token = match o {
                BookOutput::NeedsSnapshot(t) => t,
                // A stale, crossed or locked book is most likely missing
                // messages: REST is the way back to the truth.
                BookOutput::Status(s)
                    if matches!(
                        s.untradeable,
                        Some(Untradeable::Stale | Untradeable::Crossed | Untradeable::Locked)
                    ) =>
                {
                    &s.token
                }
                _ => continue,
            };
            if self.resync.insert(token.clone()) {
                self.stats.resync_requests += 1;
            }
        }
    }

    async fn on_socket(&mut self, event: SocketEvent) -> bool {
        match event {
            SocketEvent::Connected { shard } => {
                self.down.remove(&shard);
                // The initial dump brings snapshots, but a REST resync guarantees
                // nothing from before the drop is trusted.
                if let Some(tokens) = self.shards.get(usize::from(shard)) {
                    self.resync.extend(tokens.iter().cloned());
                }
                self.out
                    .send(FeedMessage::Connection {
                        shard,
                        connected: true,
                        reason: String::new(),
                    })
                    .await
                    .is_ok()
            }
            SocketEvent::Frame {
                shard,
                received_ms,
                text,
            } => match FeedUpdate::from_frame(received_ms, shard, text) {
                Some(update) => {
                    self.stats.frames += 1;
                    self.apply(update).await
                }
                None => true,
            },
            SocketEvent::Disconnected { shard, reason } => {
                self.stats.reconnects += 1;
                self.down.insert(shard);
                let mut outputs = Vec::new();
                let now = now_ms();
                if let Some(tokens) = self.shards.get(usize::from(shard)) {
                    for t in tokens {
                        self.books.invalidate(t, now, &mut outputs);
                        self.resync.insert(t.clone());
                    }
                }
                let status_ok =
                    outputs.is_empty() || self.out.send(FeedMessage::Status(outputs)).await.is_ok();
                status_ok
                    && self
                        .out
                        .send(FeedMessage::Connection {
                            shard,
                            connected: false,
                            reason,
                        })
                        .await
                        .is_ok()
            }
        }
    }

    /// Fetches queued tokens from REST in batches and applies the snapshots.
    async fn resync_now(&mut self, http: &PolymarketHttp, batch: usize) -> bool {
        while !self.resync.is_empty() {
            let tokens: Vec<TokenId> = self.resync.iter().take(batch.max(1)).cloned().collect();
            match http.books_raw(&tokens).await {
                Ok((summaries, raw)) => {
                    for t in &tokens {
                        self.resync.remove(t);
                    }
                    let mut events = Vec::new();
                    let mut errors = Vec::new();
                    for s in summaries {
                        // Only checkable when the venue sent every hashed field.
                        if s.hash_matches() == Some(false) {
                            self.books.record_issue(&Issue::HashMismatch);
                        }
                        match s.to_event() {
                            Ok(e) => events.push(e),
                            Err(e) => errors.push(DecodeError::NotJson(e.to_string())),
                        }
                    }
                    self.stats.rest_snapshots += events.len() as u64;
                    let update = FeedUpdate {
                        received_ms: now_ms(),
                        source: Source::Rest,
                        raw,
                        events,
                        errors,
                    };
                    if !self.apply(update).await {
                        return false;
                    }
                }
                Err(e) => {
                    // Keep them queued; the client already retried with backoff.
                    tracing::warn!(error = %e, tokens = tokens.len(), "book resync failed");
                    return true;
                }
            }
        }
        true
    }
}

async fn run(
    config: FeedConfig,
    tokens: Vec<TokenId>,
    http: Arc<PolymarketHttp>,
    out: mpsc::Sender<FeedMessage>,
) {
    let (sock_tx, mut sock_rx) = mpsc::channel(4096);
    let socket = MarketSocket::spawn(config.ws.clone(), &tokens, sock_tx);
    let mut state = State {
        books: Books::new(config.quality),
        shards: socket.shards().to_vec(),
        down: BTreeSet::new(),
        resync: BTreeSet::new(),
        stats: FeedStats::default(),
        out,
    };
    let mut resync_tick = tokio::time::interval(config.resync_every);
    let mut poll_tick = tokio::time::interval(config.poll_every);
    let mut sweep_tick = tokio::time::interval(config.sweep_every);
    let mut audit_tick = tokio::time::interval(config.audit_every);
    audit_tick.tick().await;
    for t in [
        &mut resync_tick,
        &mut poll_tick,
        &mut sweep_tick,
        &mut audit_tick,
    ] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        let alive = tokio::select! {
            ev = sock_rx.recv() => match ev {
                Some(ev) => state.on_socket(ev).await,
                None => false,
            },
            _ = resync_tick.tick() => state.resync_now(&http, config.books_batch).await,
            _ = poll_tick.tick() => {
                // Polling fallback: keep books of dead shards fresh from REST.
                let down: Vec<u16> = state.down.iter().copied().collect();
                for shard in down {
                    if let Some(t) = state.shards.get(usize::from(shard)) {
                        state.resync.extend(t.iter().cloned());
                    }
                }
                true
            }
            _ = audit_tick.tick() => {
                let all: Vec<TokenId> = state.shards.iter().flatten().cloned().collect();
                state.resync.extend(all);
                true
            }
            _ = sweep_tick.tick() => {
                let mut outputs = Vec::new();
                state.books.sweep(now_ms(), &mut outputs);
                state.queue_resyncs(&outputs);
                outputs.is_empty() || state.out.send(FeedMessage::Status(outputs)).await.is_ok()
            }
        };
        if !alive {
            break;
        }
    }
    drop(socket);
    tracing::info!(stats = ?state.stats, "feed stopped");
}

/// The tokens of a set of events, for subscriptions built from recorded data.
pub fn tokens_of(events: &[MarketEvent]) -> Vec<TokenId> {
    let mut set = BTreeMap::new();
    for e in events {
        match e {
            MarketEvent::Book { token, .. }
            | MarketEvent::LastTrade { token, .. }
            | MarketEvent::TickSize { token, .. }
            | MarketEvent::BestBidAsk { token, .. } => {
                set.insert(token.clone(), ());
            }
            MarketEvent::PriceChange { changes, .. } => {
                for c in changes {
                    set.insert(c.token.clone(), ());
                }
            }
            MarketEvent::NewMarket { tokens, .. } | MarketEvent::Resolved { tokens, .. } => {
                for t in tokens {
                    set.insert(t.clone(), ());
                }
            }
        }
    }
    set.into_keys().collect()
}
