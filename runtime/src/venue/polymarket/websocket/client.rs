//! The market-channel WebSocket client: one connection per shard of at most
//! `max_assets_per_connection` tokens, subscribe with `initial_dump` and
//! `custom_feature_enabled`, text `PING` keep-alive with a pong timeout, and
//! reconnection with jittered exponential backoff (resubscribing every time).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::connect::connect;
use crate::model::TokenId;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// e.g. `wss://ws-subscriptions-clob.polymarket.com/ws/market`.
    pub url: String,
    pub max_assets_per_connection: usize,
    pub ping_every: Duration,
    /// No `PONG` for this long means the connection is dead.
    pub pong_timeout: Duration,
    pub connect_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            url: "wss://ws-subscriptions-clob.polymarket.com/ws/market".into(),
            max_assets_per_connection: 200,
            ping_every: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// What a shard reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// Connected and subscribed.
    Connected {
        shard: u16,
    },
    /// A text frame other than `PONG`, with the host receive time.
    Frame {
        shard: u16,
        received_ms: u64,
        text: String,
    },
    Disconnected {
        shard: u16,
        reason: String,
    },
}

/// Milliseconds since the epoch on the host's wall clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The running shards.
pub struct MarketSocket {
    tasks: Vec<JoinHandle<()>>,
    shards: Vec<Vec<TokenId>>,
}

impl MarketSocket {
    /// Starts one task per shard; events go to `out`.
    pub fn spawn(config: WsConfig, assets: &[TokenId], out: mpsc::Sender<SocketEvent>) -> Self {
        let shards: Vec<Vec<TokenId>> = assets
            .chunks(config.max_assets_per_connection.max(1))
            .map(<[TokenId]>::to_vec)
            .collect();
        let tasks = shards
            .iter()
            .enumerate()
            .map(|(i, tokens)| {
                tokio::spawn(run_shard(
                    config.clone(),
                    i as u16,
                    tokens.clone(),
                    out.clone(),
                ))
            })
            .collect();
        MarketSocket { tasks, shards }
    }

    /// The tokens of each shard, by shard number.
    pub fn shards(&self) -> &[Vec<TokenId>] {
        &self.shards
    }

    /// Stops every shard.
    pub fn shutdown(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for MarketSocket {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn subscribe_message(tokens: &[TokenId]) -> String {
    serde_json::json!({
        "assets_ids": tokens.iter().map(TokenId::as_str).collect::<Vec<_>>(),
        "type": "market",
        "initial_dump": true,
        "custom_feature_enabled": true,
    })
    .to_string()
}

fn jittered(d: Duration) -> Duration {
    // ±25 % so shards that dropped together do not reconnect in lockstep.
    let spread = d.as_millis() as u64 / 4;
    let offset = if spread == 0 {
        0
    } else {
        getrandom::u64().unwrap_or(0) % (2 * spread + 1)
    };
    Duration::from_millis((d.as_millis() as u64).saturating_sub(spread) + offset)
}

async fn run_shard(
    config: WsConfig,
    shard: u16,
    tokens: Vec<TokenId>,
    out: mpsc::Sender<SocketEvent>,
) {
    let mut backoff = config.backoff_min;
    loop {
        let reason = match connect(&config.url, config.connect_timeout).await {
            Err(e) => e,
            Ok(ws) => {
                backoff = config.backoff_min;
                match session(&config, shard, &tokens, ws, &out).await {
                    Ok(()) => return, // the receiver is gone: nobody listens
                    Err(reason) => reason,
                }
            }
        };
        if out
            .send(SocketEvent::Disconnected {
                shard,
                reason: reason.clone(),
            })
            .await
            .is_err()
        {
            return;
        }
        tracing::warn!(shard, %reason, ?backoff, "market socket down; reconnecting");
        tokio::time::sleep(jittered(backoff)).await;
        backoff = (backoff * 2).min(config.backoff_max);
    }
}

/// One connected session; `Err` carries why it ended, `Ok` means stop for good.
async fn session(
    config: &WsConfig,
    shard: u16,
    tokens: &[TokenId],
    ws: super::connect::Socket,
    out: &mpsc::Sender<SocketEvent>,
) -> Result<(), String> {
    let (mut write, mut read) = ws.split();
    write
        .send(Message::Text(subscribe_message(tokens).into()))
        .await
        .map_err(|e| format!("subscribe failed: {e}"))?;
    if out.send(SocketEvent::Connected { shard }).await.is_err() {
        return Ok(());
    }
    let mut ping = tokio::time::interval(config.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pong = Instant::now();
    loop {
        tokio::select! {
            msg = read.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if text.trim().eq_ignore_ascii_case("PONG") {
                        last_pong = Instant::now();
                        continue;
                    }
                    let event = SocketEvent::Frame { shard, received_ms: now_ms(), text: text.to_string() };
                    if out.send(event).await.is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(Message::Ping(payload))) => {
                    write.send(Message::Pong(payload)).await.map_err(|e| e.to_string())?;
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("closed by server: {frame:?}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("connection ended".to_string()),
            },
            _ = ping.tick() => {
                if last_pong.elapsed() > config.pong_timeout {
                    return Err(format!("no PONG for {:?}", last_pong.elapsed()));
                }
                write.send(Message::Text("PING".into())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}
