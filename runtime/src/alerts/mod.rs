//! Alerts: what an operator must hear about while the server runs — a strategy
//! faulting, quarantined or halted by its daily loss limit, the market feed
//! dropping or coming back, trading halted. Detected by comparing successive
//! live statuses, then logged, stored, shown and (optionally) sent to a webhook
//! and to Telegram chats.

mod detect;
mod store;
pub mod telegram;
pub(crate) mod webhook;

pub use detect::detect;
pub use store::{recent, record};
pub use telegram::{Telegram, TelegramError};
pub use webhook::Webhook;

use serde::Serialize;

use crate::web::LiveStatus;

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub ts_ms: u64,
    pub severity: Severity,
    /// `strategy_fault`, `strategy_quarantined`, `strategy_halted`,
    /// `feed_down`, `feed_up`, `trading_state`, `backup_failed`.
    pub kind: &'static str,
    pub strategy: Option<String>,
    pub message: String,
}

/// Watches the live status the engine publishes and raises alerts on changes.
#[derive(Clone)]
pub struct Alerter {
    previous: Option<LiveStatus>,
    pool: sqlx::SqlitePool,
    webhook: Option<Webhook>,
    telegram: Option<Telegram>,
}

impl Alerter {
    pub fn new(pool: sqlx::SqlitePool, webhook: Option<Webhook>) -> Alerter {
        Alerter {
            previous: None,
            pool,
            webhook,
            telegram: None,
        }
    }

    /// Alerts stored in `pool` and sent where `config` says.
    pub fn from_config(
        pool: sqlx::SqlitePool,
        config: &crate::config::AlertsConfig,
    ) -> Result<Alerter, TelegramError> {
        let mut a = Alerter::new(pool, config.webhook_url.clone().map(Webhook::new));
        a.telegram = config.telegram.as_ref().map(Telegram::start).transpose()?;
        Ok(a)
    }

    /// Compares `now` with the last status seen; raises what changed.
    pub async fn observe(&mut self, now: &LiveStatus) -> Vec<Alert> {
        let alerts = match &self.previous {
            Some(prev) => detect(prev, now),
            None => Vec::new(),
        };
        self.previous = Some(now.clone());
        for a in &alerts {
            self.raise(a).await;
        }
        alerts
    }

    /// Logs, stores and sends one alert (also for jobs beside the engine,
    /// such as scheduled backups).
    pub async fn raise(&self, a: &Alert) {
        match a.severity {
            Severity::Critical => {
                tracing::error!(kind = a.kind, strategy = ?a.strategy, "{}", a.message)
            }
            Severity::Warning => {
                tracing::warn!(kind = a.kind, strategy = ?a.strategy, "{}", a.message)
            }
            Severity::Info => {
                tracing::info!(kind = a.kind, strategy = ?a.strategy, "{}", a.message)
            }
        }
        if let Err(e) = record(&self.pool, a).await {
            tracing::error!(error = %e, "storing an alert");
        }
        if let Some(w) = &self.webhook {
            w.send(a);
        }
        if let Some(t) = &self.telegram {
            t.send(a);
        }
    }
}
