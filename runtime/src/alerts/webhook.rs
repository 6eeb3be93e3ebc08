//! Sending alerts to an HTTP endpoint (a chat or paging bridge): each alert is
//! POSTed as JSON in the background; a failure is logged, never retried into
//! the engine's way.

use std::time::Duration;

use super::Alert;

/// Where alerts are POSTed.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(url: String) -> Webhook {
        crate::venue::polymarket::http::client::install_crypto_provider();
        Webhook {
            url,
            client: reqwest::Client::new(),
        }
    }

    /// Sends `alert` without waiting for the answer.
    pub fn send(&self, alert: &Alert) {
        let request = self
            .client
            .post(&self.url)
            .timeout(Duration::from_secs(5))
            .json(alert);
        let url = self.url.clone();
        tokio::spawn(async move {
            match request.send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::warn!(%url, status = %r.status(), "the alert webhook refused an alert")
                }
                Err(e) => tracing::warn!(%url, error = %e, "the alert webhook is unreachable"),
            }
        });
    }
}
