//! Alerts to Telegram: every alert the server raises goes, deduplicated and
//! within a per-minute budget (`outbox`), to each whitelisted chat of
//! `alerts.telegram.chats`, through the Bot API at `alerts.telegram.api_url`
//! with the token from `PQAP_TELEGRAM_TOKEN`. Sending runs on a task of its
//! own; the engine only hands alerts over, and never waits on Telegram.
//! The same chats may command the server (`listener`), each with its role.

mod bot;
pub mod commands;
mod listener;
mod outbox;

pub use bot::{BotApi, BotError};
pub use listener::Listener;
pub use outbox::Outbox;

use std::time::{Duration, Instant};

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::SendMessageParams;
use tokio::sync::mpsc;

use super::Alert;
use crate::config::TelegramConfig;
use crate::config::telegram::TOKEN_VAR;

/// Alerts waiting for the sending task at most; past it they are dropped
/// (and logged): a stuck Telegram never holds memory or the engine.
const QUEUE: usize = 1_000;

/// Why Telegram alerts cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error(
        "alerts.telegram is configured but {TOKEN_VAR} is not set (the bot's token never goes in the file)"
    )]
    NoToken,
}

/// The way to the sending task.
#[derive(Clone)]
pub struct Telegram {
    alerts: mpsc::Sender<Alert>,
}

fn token() -> Result<String, TelegramError> {
    std::env::var(TOKEN_VAR)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or(TelegramError::NoToken)
}

/// Starts answering the whitelisted chats' commands for the server `state`.
pub fn listen(
    config: &TelegramConfig,
    state: crate::web::ServerState,
) -> Result<tokio::task::JoinHandle<()>, TelegramError> {
    let listener = Listener::new(config, &token()?, state);
    Ok(tokio::spawn(listener.run()))
}

impl Telegram {
    /// Starts the sending task, with the token from the environment.
    pub fn start(config: &TelegramConfig) -> Result<Telegram, TelegramError> {
        let bot = BotApi::new(&config.api_url, &token()?, 0);
        Ok(Telegram::with_bot(config, bot))
    }

    pub fn with_bot(config: &TelegramConfig, bot: BotApi) -> Telegram {
        let (alerts, rx) = mpsc::channel(QUEUE);
        let chats: Vec<i64> = config.chats.iter().map(|c| c.id).collect();
        let outbox = Outbox::new(Duration::from_secs(config.dedupe_s), config.max_per_minute);
        tokio::spawn(send_loop(bot, chats, outbox, rx));
        Telegram { alerts }
    }

    /// Hands `alert` to the sending task without waiting.
    pub fn send(&self, alert: &Alert) {
        if self.alerts.try_send(alert.clone()).is_err() {
            tracing::warn!(
                kind = alert.kind,
                "the Telegram queue is full; an alert was not sent there"
            );
        }
    }
}

async fn send_loop(
    bot: BotApi,
    chats: Vec<i64>,
    mut outbox: Outbox,
    mut alerts: mpsc::Receiver<Alert>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        let text = tokio::select! {
            a = alerts.recv() => match a {
                Some(a) => outbox.offer(&a, Instant::now()),
                None => return,
            },
            _ = tick.tick() => outbox.tick(Instant::now()),
        };
        if let Some(text) = text {
            deliver(&bot, &chats, &text).await;
        }
    }
}

/// Sends `text` to every chat; a failure is logged (without the token).
async fn deliver(bot: &BotApi, chats: &[i64], text: &str) {
    for chat in chats {
        let params = SendMessageParams::builder()
            .chat_id(*chat)
            .text(text)
            .build();
        if let Err(e) = bot.send_message(&params).await {
            tracing::warn!(chat, error = %e, "a Telegram alert was not delivered");
        }
    }
}
