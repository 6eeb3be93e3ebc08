//! The user channel `/ws/user`: a subscribe message with the API credentials
//! (bad credentials close the socket), text PING/PONG, and the `order` and
//! `trade` events of the key's address, optionally for some markets only.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::engine::UserFrame;
use super::http::lock;
use crate::venue::sim::rest::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Auth {
    api_key: String,
    secret: String,
    passphrase: String,
}

#[derive(Debug, Deserialize)]
struct Subscribe {
    auth: Option<Auth>,
    #[serde(default)]
    markets: Vec<String>,
    #[serde(default)]
    operation: Option<String>,
}

pub async fn upgrade(ws: WebSocketUpgrade, State(app): State<AppState>) -> Response {
    ws.on_upgrade(move |socket| connection(socket, app))
}

/// The address of valid credentials, with a receiver of user frames and the
/// user-socket drop generation at subscription time.
fn authorise(
    app: &AppState,
    auth: &Auth,
) -> Option<(
    alloy_primitives::Address,
    broadcast::Receiver<UserFrame>,
    u64,
)> {
    let sim = lock(app);
    let key = sim.exchange.keys.get(&auth.api_key)?;
    let secret_ok = key.secret_b64.trim_end_matches('=') == auth.secret.trim_end_matches('=');
    if !secret_ok || key.passphrase != auth.passphrase {
        return None;
    }
    Some((
        key.address,
        sim.exchange.subscribe(),
        sim.exchange.faults.drop_user_ws,
    ))
}

fn drop_generation(app: &AppState) -> u64 {
    lock(app).exchange.faults.drop_user_ws
}

async fn connection(mut socket: WebSocket, app: AppState) {
    let first = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
    let Ok(Some(Ok(Message::Text(text)))) = first else {
        return;
    };
    let sub: Option<Subscribe> = serde_json::from_str(text.as_str()).ok();
    let Some((address, mut rx, generation, mut markets)) = sub.and_then(|s| {
        let auth = s.auth?;
        authorise(&app, &auth).map(|(a, rx, g)| (a, rx, g, s.markets))
    }) else {
        tracing::info!("user channel: subscription refused (bad or missing auth)");
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let mut check = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == "PING" => {
                    if socket.send(Message::Text("PONG".into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Text(t))) => {
                    if let Ok(s) = serde_json::from_str::<Subscribe>(t.as_str()) {
                        match s.operation.as_deref() {
                            Some("unsubscribe") => markets.retain(|m| !s.markets.contains(m)),
                            _ if !s.markets.is_empty() => markets.extend(s.markets),
                            _ => {}
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            frame = rx.recv() => match frame {
                Ok(f) if f.address == address
                    && (markets.is_empty() || markets.iter().any(|m| m.eq_ignore_ascii_case(&f.market))) => {
                    if socket.send(Message::Text(f.json.as_str().into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "user channel subscriber lagged; closing it");
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = check.tick() => {
                if drop_generation(&app) != generation {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}
