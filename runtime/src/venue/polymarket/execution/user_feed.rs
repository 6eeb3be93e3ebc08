//! The authenticated user channel, kept open for the venue adapter: every
//! trade on one of our orders becomes a fill the moment the venue reports it
//! (its first report; later settlement stages repeat it and are ignored, a
//! FAILED one reverses the fill), and cancellations the venue makes end
//! their orders. It reconnects with backoff; while it is down new orders
//! stop, and once it is back the engine reconciles at once (whatever it
//! missed, reconciliation finds) before trading again.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::inbox::Inbox;
use super::tracker::Tracker;
use crate::model::{CancelCause, Liquidity};
use crate::venue::polymarket::signing::ApiCredentials;
use crate::venue::polymarket::websocket::connect::connect;
use crate::venue::polymarket::websocket::user::{
    OrderEventKind, TradeStatus, UserMessage, decode_user,
};

/// Where the channel is and how to keep it.
#[derive(Debug, Clone)]
pub struct UserFeedConfig {
    /// e.g. `wss://ws-subscriptions-clob.polymarket.com/ws/user`.
    pub url: String,
    pub ping_every: Duration,
    /// No frame (not even a PONG) for this long: the connection is dead.
    pub silence: Duration,
}

impl UserFeedConfig {
    /// The user channel beside a market channel URL (`.../ws/market`).
    pub fn beside_market(market_url: &str) -> UserFeedConfig {
        let url = match market_url.strip_suffix("/market") {
            Some(base) => format!("{base}/user"),
            None => format!("{}/user", market_url.trim_end_matches('/')),
        };
        UserFeedConfig {
            url,
            ping_every: Duration::from_secs(10),
            silence: Duration::from_secs(30),
        }
    }
}

/// The subscribe message: every market of the account.
fn subscribe(credentials: &ApiCredentials) -> String {
    serde_json::json!({
        "auth": {
            "apiKey": credentials.api_key,
            "secret": credentials.secret_text(),
            "passphrase": credentials.passphrase(),
        },
        "markets": [],
        "type": "user",
    })
    .to_string()
}

/// Applies one user-channel message to the tracker; whether it changed it.
pub fn apply(tracker: &mut Tracker, message: &UserMessage, now_ns: u64) -> bool {
    match message {
        UserMessage::Trade(t) if matches!(t.status, TradeStatus::Failed) => {
            // Settlement failed: the trade is void. Each of our legs booked
            // is reversed; one not booked never will be.
            let mut changed = tracker.failed(&t.taker_order_id, &t.id, now_ns);
            for m in &t.maker_orders {
                let trade = format!("{}:{}", t.id, m.order_id.to_ascii_lowercase());
                changed |= tracker.failed(&m.order_id, &trade, now_ns);
            }
            changed
        }
        UserMessage::Trade(t) => {
            if matches!(t.status, TradeStatus::Retrying) {
                // Stays booked: most retries settle; a FAILED that follows
                // reverses it.
                tracing::warn!(trade = %t.id, "the venue is retrying a trade's settlement");
            }
            let confirmed = matches!(t.status, TradeStatus::Confirmed);
            let mut changed = false;
            if tracker.key_of(&t.taker_order_id).is_some() {
                changed |= tracker.fill(
                    &t.taker_order_id,
                    &t.id,
                    t.price,
                    t.size,
                    Liquidity::Taker,
                    now_ns,
                );
            }
            for m in &t.maker_orders {
                if tracker.key_of(&m.order_id).is_some() {
                    let trade = format!("{}:{}", t.id, m.order_id.to_ascii_lowercase());
                    changed |= tracker.fill(
                        &m.order_id,
                        &trade,
                        m.price,
                        m.matched,
                        Liquidity::Maker,
                        now_ns,
                    );
                    if confirmed {
                        tracker.confirmed(&trade);
                    }
                }
            }
            if confirmed {
                tracker.confirmed(&t.id);
            }
            changed
        }
        UserMessage::Order(o) if o.kind == OrderEventKind::Cancellation => {
            match tracker.key_of(&o.id) {
                Some(key) => {
                    let cause = if tracker.cancel_requested(key) {
                        CancelCause::Requested
                    } else {
                        CancelCause::Venue
                    };
                    // The event says what matched in all: fills it
                    // outran are waited for.
                    tracker.ended_after(key, cause, o.size_matched, now_ns);
                    true
                }
                None => false,
            }
        }
        UserMessage::Order(o) if o.kind == OrderEventKind::Placement => {
            match tracker.key_of(&o.id) {
                Some(key) => {
                    tracker.accepted(key, now_ns);
                    true
                }
                None => false,
            }
        }
        UserMessage::Order(_) => false,
    }
}

/// Runs the channel until the task is dropped.
pub async fn run(config: UserFeedConfig, credentials: ApiCredentials, inbox: Arc<Inbox>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let result = session(&config, &credentials, &inbox).await;
        // Whatever the venue said while the channel was down is lost to it:
        // no new orders until a reconciliation after it is back.
        let why = match result {
            Ok(()) => {
                backoff = Duration::from_millis(250);
                "closed".to_string()
            }
            Err(e) => e,
        };
        tracing::warn!(error = %why, "user channel down; no new orders until it is back and reconciled");
        inbox.channel_down(format!("user channel down ({why}); reports may be lost"));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn session(
    config: &UserFeedConfig,
    credentials: &ApiCredentials,
    inbox: &Inbox,
) -> Result<(), String> {
    let socket = connect(&config.url, Duration::from_secs(10)).await?;
    let (mut write, mut read) = socket.split();
    write
        .send(Message::Text(subscribe(credentials).into()))
        .await
        .map_err(|e| format!("{}: subscribing: {e}", config.url))?;
    inbox.channel_up();
    let mut ping = tokio::time::interval(config.ping_every);
    ping.tick().await;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                write.send(Message::Text("PING".into())).await.map_err(|e| e.to_string())?;
            }
            frame = tokio::time::timeout(config.silence, read.next()) => {
                let text = match frame {
                    Err(_) => return Err(format!("{}: silent for {:?}", config.url, config.silence)),
                    Ok(None) => return Err(format!("{}: closed", config.url)),
                    Ok(Some(Err(e))) => return Err(format!("{}: {e}", config.url)),
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    Ok(Some(Ok(Message::Close(_)))) => return Err(format!("{}: closed by the venue", config.url)),
                    Ok(Some(Ok(_))) => continue,
                };
                if text.as_str() == "PONG" {
                    continue;
                }
                let now = crate::model::time::wall_ns();
                let changed = inbox.with(|t| {
                    messages(&text).iter().fold(false, |c, m| apply(t, m, now) | c)
                });
                if changed {
                    inbox.wake();
                }
            }
        }
    }
}

/// A frame is one message or an array of them; what cannot be read is logged.
fn messages(text: &str) -> Vec<UserMessage> {
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(a)) => a,
        Ok(v) => vec![v],
        Err(e) => {
            tracing::warn!(error = %e, "user channel: not JSON");
            return Vec::new();
        }
    };
    values
        .into_iter()
        .filter_map(|v| match decode_user(&v.to_string()) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "user channel: message not understood");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::fees::FeeSchedule;
    use crate::model::{Order, OrderEvent, OrderKey, Price, Side, Size, TimeInForce, TokenId};

    fn order() -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id: 9,
            },
            token: TokenId::parse("12").unwrap(),
            side: Side::Buy,
            price: Price::new(500_000).unwrap(),
            size: Size::from_shares(10).unwrap(),
            tif: TimeInForce::Gtc,
            post_only: true,
            created_ns: 0,
            venue_ref: None,
        }
    }

    #[test]
    fn a_maker_trade_fills_once_across_its_stages_and_a_venue_cancel_ends_the_rest() {
        let mut t = Tracker::default();
        t.track(&order(), "0xAB", FeeSchedule::FREE, true);
        let trade = |status: &str| {
            format!(
                r#"{{"event_type":"trade","type":"TRADE","id":"t1","taker_order_id":"0xff","market":"0xc","asset_id":"12","side":"SELL","size":"4","price":"0.5","status":"{status}","maker_orders":[{{"order_id":"0xab","owner":"k","maker_address":"0x1","matched_amount":"4","price":"0.5","asset_id":"12","outcome":"Yes","side":"BUY"}}]}}"#
            )
        };
        for status in ["MATCHED", "MINED", "CONFIRMED"] {
            for m in messages(&trade(status)) {
                apply(&mut t, &m, 1);
            }
        }
        let cancel = r#"[{"event_type":"order","type":"CANCELLATION","id":"0xab","market":"0xc","asset_id":"12","side":"BUY","price":"0.5","original_size":"10","size_matched":"4","status":"CANCELED","order_type":"GTC"}]"#;
        for m in messages(cancel) {
            apply(&mut t, &m, 2);
        }
        let ev = t.drain();
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert!(matches!(&ev[1], OrderEvent::Filled(f)
            if f.size == Size::from_shares(4).unwrap() && f.trade_id.as_deref() == Some("t1:0xab")));
        assert!(
            matches!(&ev[2], OrderEvent::Cancelled { cause: CancelCause::Venue, unfilled, .. }
            if *unfilled == Size::from_shares(6).unwrap())
        );
    }

    #[test]
    fn a_trade_that_fails_after_it_was_booked_is_reversed_once() {
        let mut t = Tracker::default();
        t.track(&order(), "0xAB", FeeSchedule::FREE, true);
        let trade = |id: &str, status: &str| {
            format!(
                r#"{{"event_type":"trade","type":"TRADE","id":"{id}","taker_order_id":"0xff","market":"0xc","asset_id":"12","side":"SELL","size":"4","price":"0.5","status":"{status}","maker_orders":[{{"order_id":"0xab","owner":"k","maker_address":"0x1","matched_amount":"4","price":"0.5","asset_id":"12","outcome":"Yes","side":"BUY"}}]}}"#
            )
        };
        // Booked at MATCHED, still booked while RETRYING, reversed at FAILED
        // (once, however often it is said); a trade first heard FAILED is
        // never booked, even if a MATCHED report of it comes late.
        for (id, status) in [
            ("t1", "MATCHED"),
            ("t1", "RETRYING"),
            ("t1", "FAILED"),
            ("t1", "FAILED"),
            ("t2", "FAILED"),
            ("t2", "MATCHED"),
        ] {
            for m in messages(&trade(id, status)) {
                apply(&mut t, &m, 1);
            }
        }
        let ev = t.drain();
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert!(
            matches!(&ev[1], OrderEvent::Filled(f) if f.trade_id.as_deref() == Some("t1:0xab"))
        );
        assert!(
            matches!(&ev[2], OrderEvent::FillReversed { trade_id, .. } if trade_id == "t1:0xab")
        );
        assert!(t.unsettled().0.is_empty(), "a failed trade is settled");
    }

    #[test]
    fn the_user_channel_sits_beside_the_market_channel() {
        assert_eq!(
            UserFeedConfig::beside_market("wss://ws-subscriptions-clob.polymarket.com/ws/market")
                .url,
            "wss://ws-subscriptions-clob.polymarket.com/ws/user"
        );
    }
}
