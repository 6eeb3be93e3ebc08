//! The simulator's market channel: subscribe/unsubscribe (with the initial book
//! dump), text PING/PONG, published events filtered per connection, and the fault
//! switches (drop, gap, stall, crossed book, malformed frames).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast;

use super::faults::MALFORMED;
use super::rest::AppState;
use super::wire;
use crate::model::{ConditionId, LevelChange, MarketEvent, Side, TokenId};
use crate::venue::polymarket::websocket::client::now_ms;

/// A subscribe or (un)subscribe-operation message from a client.
#[derive(Debug, Deserialize)]
struct ClientMessage {
    #[serde(default, alias = "asset_ids")]
    assets_ids: Vec<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    initial_dump: Option<bool>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    published: axum::extract::Extension<broadcast::Sender<Arc<Vec<MarketEvent>>>>,
) -> Response {
    let rx = published.subscribe();
    ws.on_upgrade(move |socket| connection(socket, app, rx))
}

async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// A change that crosses the first subscribed token's book: a bid one tick above
/// its best ask. Sent only to clients; the venue's own book stays correct.
fn crossed_change(app: &AppState, subscribed: &BTreeSet<TokenId>) -> Option<MarketEvent> {
    let sim = app.sim.lock().unwrap_or_else(|p| p.into_inner());
    let token = subscribed.iter().next()?;
    let book = sim.books.book(token)?;
    let ask = book.best_ask()?;
    let tick = book.tick().unwrap_or(ask.price);
    let price = ask.price.checked_add(tick)?;
    let market = sim
        .markets
        .iter()
        .find(|m| m.tokens.iter().any(|(t, _)| t == token))?
        .condition
        .clone();
    Some(MarketEvent::PriceChange {
        market,
        ts_ms: sim.now_ms,
        changes: vec![LevelChange {
            token: token.clone(),
            side: Side::Buy,
            price,
            size: ask.size,
            best_bid: Some(price),
            best_ask: Some(ask.price),
        }],
    })
}

async fn connection(
    mut socket: WebSocket,
    app: AppState,
    mut published: broadcast::Receiver<Arc<Vec<MarketEvent>>>,
) {
    let mut subscribed: BTreeSet<TokenId> = BTreeSet::new();
    let generation = app.faults.drop_generation();
    let mut watchdog = tokio::time::interval(Duration::from_millis(50));
    let mut malformed_next = 0usize;
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                if text.trim().eq_ignore_ascii_case("PING") {
                    if !send_text(&mut socket, "PONG".into()).await {
                        return;
                    }
                    continue;
                }
                let Ok(m) = serde_json::from_str::<ClientMessage>(&text) else {
                    continue;
                };
                let tokens: Vec<TokenId> = m.assets_ids.iter().filter_map(|a| TokenId::parse(a).ok()).collect();
                if m.operation.as_deref() == Some("unsubscribe") {
                    for t in &tokens {
                        subscribed.remove(t);
                    }
                    continue;
                }
                let fresh: Vec<TokenId> = tokens.into_iter().filter(|t| subscribed.insert(t.clone())).collect();
                if m.initial_dump.unwrap_or(true) && !fresh.is_empty() {
                    let dump: Vec<Value> = {
                        let sim = app.sim.lock().unwrap_or_else(|p| p.into_inner());
                        fresh
                            .iter()
                            .filter_map(|t| sim.snapshot(t))
                            .filter_map(|e| wire::message(&e, &|_| true))
                            .collect()
                    };
                    if !dump.is_empty() && !send_text(&mut socket, Value::Array(dump).to_string()).await {
                        return;
                    }
                }
            }
            events = published.recv() => {
                let events = match events {
                    Ok(e) => e,
                    // A slow client misses messages, exactly like a real gap.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if app.faults.stalled(now_ms()) || subscribed.is_empty() {
                    continue;
                }
                while app.faults.take_malformed() {
                    let bad = MALFORMED[malformed_next % MALFORMED.len()];
                    malformed_next += 1;
                    if !send_text(&mut socket, bad.to_string()).await {
                        return;
                    }
                }
                let wanted = |t: &TokenId| subscribed.contains(t);
                // Metadata for `new_market` / `market_resolved`, read when needed.
                let meta = |c: &ConditionId| {
                    let sim = app.sim.lock().unwrap_or_else(|p| p.into_inner());
                    wire::meta_of(&sim.markets, c)
                };
                if app.faults.take_crossed()
                    && let Some(json) = crossed_change(&app, &subscribed).and_then(|c| wire::message_with(&c, &wanted, &meta))
                    && !send_text(&mut socket, json.to_string()).await
                {
                    return;
                }
                for e in events.iter() {
                    let Some(json) = wire::message_with(e, &wanted, &meta) else {
                        continue;
                    };
                    // A gap loses book updates (what a client must notice).
                    if matches!(e, MarketEvent::PriceChange { .. }) && app.faults.take_skip() {
                        continue;
                    }
                    if !send_text(&mut socket, json.to_string()).await {
                        return;
                    }
                }
            }
            _ = watchdog.tick() => {
                if app.faults.drop_generation() != generation {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}
