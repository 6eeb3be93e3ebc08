//! Sending alerts to an HTTP endpoint (a chat or paging bridge): each alert is
//! POSTed as JSON in the background; a failure is logged, never retried into
//! the engine's way. The URL often carries a token in its path or query, so
//! logs name only its scheme and host.

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
        let endpoint = redacted(&self.url);
        tokio::spawn(async move {
            match request.send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::warn!(%endpoint, status = %r.status(), "the alert webhook refused an alert")
                }
                Err(e) => {
                    // reqwest's message repeats the whole URL unless told not to.
                    let e = e.without_url();
                    tracing::warn!(%endpoint, error = %e, "the alert webhook is unreachable")
                }
            }
        });
    }
}

/// The URL as logs may show it: scheme, host and port; the path, query and
/// any credentials (where tokens live) left out.
pub fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", u.scheme()),
            (Some(host), None) => format!("{}://{host}/…", u.scheme()),
            _ => format!("{}:…", u.scheme()),
        },
        Err(_) => "(an unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn logs_never_show_the_token_part_of_a_webhook_url() {
        let cases = [
            (
                "https://hooks.slack.com/services/T000/B000/s3cr3t",
                "https://hooks.slack.com/…",
            ),
            (
                "https://api.telegram.org/bot123:s3cr3t/sendMessage?chat_id=1",
                "https://api.telegram.org/…",
            ),
            (
                "http://user:s3cr3t@127.0.0.1:9000/hook?k=s3cr3t",
                "http://127.0.0.1:9000/…",
            ),
            ("not a url s3cr3t", "(an unparsable URL)"),
        ];
        for (url, shown) in cases {
            assert_eq!(redacted(url), shown);
            assert!(!redacted(url).contains("s3cr3t"));
        }
    }
}
