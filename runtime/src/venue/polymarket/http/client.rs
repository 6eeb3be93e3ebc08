//! The public REST client for CLOB and Gamma: timeouts, client-side rate limits,
//! and retries with backoff on 425/429/5xx and transport errors, honouring
//! `Retry-After`. Errors name the URL and what went wrong.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::book::OrderBookSummary;
use super::limits::{Family, RateLimiter};
use crate::model::TokenId;

/// Where the venue lives and how patient to be with it.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// e.g. `https://clob.polymarket.com` (or the local simulator).
    pub clob_url: String,
    /// e.g. `https://gamma-api.polymarket.com`.
    pub gamma_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
    /// First retry delay when the server gives no `Retry-After`; doubles per try.
    pub backoff: Duration,
    /// Share of the documented rate limits this client may use.
    pub rate_share: f64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            clob_url: "https://clob.polymarket.com".into(),
            gamma_url: "https://gamma-api.polymarket.com".into(),
            timeout: Duration::from_secs(10),
            max_retries: 4,
            backoff: Duration::from_millis(250),
            rate_share: 0.8,
        }
    }
}

/// Why a request failed (after retries, where retrying made sense).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: unexpected response: {message}")]
    Decode { url: String, message: String },
}

impl HttpError {
    /// Whether the venue may still have acted (a timeout, not a refusal).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, HttpError::Transport { .. })
    }
}

/// The REST client.
#[derive(Debug)]
pub struct PolymarketHttp {
    client: reqwest::Client,
    config: HttpConfig,
    limiter: RateLimiter,
}

/// Installs ring as rustls's crypto provider (idempotent): the workspace builds
/// rustls without a default provider to avoid the aws-lc C build.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?;
    let secs: u64 = v.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(120)))
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 425 || status.is_server_error()
}

impl PolymarketHttp {
    pub fn new(config: HttpConfig) -> Result<PolymarketHttp, HttpError> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("pqap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Transport {
                url: config.clob_url.clone(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        let limiter = RateLimiter::new(config.rate_share);
        Ok(PolymarketHttp {
            client,
            config,
            limiter,
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends a request with rate limiting and retries; returns the body text.
    async fn send(
        &self,
        family: Family,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<String, HttpError> {
        let mut attempt = 0u32;
        loop {
            self.limiter.acquire(family).await;
            let mut req = self.client.request(method.clone(), url).query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let (delay, error) = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return resp.text().await.map_err(|e| HttpError::Transport {
                            url: url.to_string(),
                            message: format!("reading body: {e}"),
                        });
                    }
                    let hint = retry_after(&resp);
                    let text = resp.text().await.unwrap_or_default();
                    let error = HttpError::Status {
                        url: url.to_string(),
                        status: status.as_u16(),
                        body: text.chars().take(300).collect(),
                    };
                    if !retryable(status) {
                        return Err(error);
                    }
                    (hint, error)
                }
                Err(e) => (
                    None,
                    HttpError::Transport {
                        url: url.to_string(),
                        message: e.to_string(),
                    },
                ),
            };
            if attempt >= self.config.max_retries {
                return Err(error);
            }
            let backoff = self.config.backoff.saturating_mul(1 << attempt.min(10));
            let jitter = Duration::from_millis(getrandom::u64().unwrap_or(0) % 100);
            let wait = delay.unwrap_or(backoff + jitter);
            tracing::warn!(%url, attempt, ?wait, %error, "retrying venue request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        family: Family,
        url: String,
        query: &[(&str, String)],
    ) -> Result<T, HttpError> {
        let text = self.send(family, Method::GET, &url, query, None).await?;
        serde_json::from_str(&text).map_err(|e| HttpError::Decode {
            url,
            message: e.to_string(),
        })
    }

    fn clob(&self, path: &str) -> String {
        format!("{}{path}", self.config.clob_url.trim_end_matches('/'))
    }

    /// `GET /book` with the raw body (kept for the archive).
    pub async fn book_raw(&self, token: &TokenId) -> Result<(OrderBookSummary, String), HttpError> {
        let url = self.clob("/book");
        let text = self
            .send(
                Family::ClobBook,
                Method::GET,
                &url,
                &[("token_id", token.to_string())],
                None,
            )
            .await?;
        let summary = serde_json::from_str(&text).map_err(|e| HttpError::Decode {
            url,
            message: e.to_string(),
        })?;
        Ok((summary, text))
    }

    /// `POST /books` for many tokens at once, with the raw body.
    pub async fn books_raw(
        &self,
        tokens: &[TokenId],
    ) -> Result<(Vec<OrderBookSummary>, String), HttpError> {
        let url = self.clob("/books");
        let body = serde_json::Value::Array(
            tokens
                .iter()
                .map(|t| serde_json::json!({ "token_id": t.as_str() }))
                .collect(),
        );
        let text = self
            .send(Family::ClobBooks, Method::POST, &url, &[], Some(&body))
            .await?;
        let books = serde_json::from_str(&text).map_err(|e| HttpError::Decode {
            url,
            message: e.to_string(),
        })?;
        Ok((books, text))
    }

    /// `GET /time`: server time in seconds.
    pub async fn server_time(&self) -> Result<u64, HttpError> {
        self.get_json(Family::ClobGeneral, self.clob("/time"), &[])
            .await
    }

    /// `GET /version`: the order-struct version the server expects.
    pub async fn version(&self) -> Result<u32, HttpError> {
        #[derive(serde::Deserialize)]
        struct V {
            version: u32,
        }
        let v: V = self
            .get_json(Family::ClobGeneral, self.clob("/version"), &[])
            .await?;
        Ok(v.version)
    }

    /// Any CLOB `GET` as JSON (typed shapes live in the sibling modules).
    pub async fn clob_get<T: DeserializeOwned>(
        &self,
        family: Family,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, HttpError> {
        self.get_json(family, self.clob(path), query).await
    }

    /// Any Gamma `GET` as JSON.
    pub async fn gamma_get<T: DeserializeOwned>(
        &self,
        family: Family,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, HttpError> {
        let url = format!("{}{path}", self.config.gamma_url.trim_end_matches('/'));
        self.get_json(family, url, query).await
    }
}
