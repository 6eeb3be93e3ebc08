//! The Bot API over HTTP: `frankenstein`'s typed methods, carried by the
//! platform's own reqwest client (rustls, one TLS provider). The token is
//! part of every method's URL, so nothing here ever shows a URL: errors say
//! which method failed and why, and `Debug` names only the host.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use frankenstein::AsyncTelegramApi;
use frankenstein::response::ErrorResponse;

/// Why a Bot API call failed (never with the token in it).
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Telegram {method}: {message}")]
    Http { method: String, message: String },
    #[error("Telegram {method} refused: {description} (code {code})")]
    Api {
        method: String,
        code: u16,
        description: String,
        /// Seconds Telegram asks to wait (a 429).
        retry_after: Option<u64>,
    },
    #[error("Telegram {method}: the answer does not decode: {message}")]
    Decode { method: String, message: String },
    #[error("Telegram {method}: reading {path}: {message}")]
    File {
        method: String,
        path: String,
        message: String,
    },
}

/// A bot, by its token, at a Bot API server.
#[derive(Clone)]
pub struct BotApi {
    /// `<api_url>/bot<token>`: secret.
    base: String,
    host: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BotApi({})", self.host)
    }
}

impl BotApi {
    /// `poll_s`: the longest a `getUpdates` long poll may wait, so the
    /// client's timeout allows for it.
    pub fn new(api_url: &str, token: &str, poll_s: u64) -> BotApi {
        crate::venue::polymarket::http::client::install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(poll_s + 20))
            .build()
            .unwrap_or_default();
        BotApi {
            base: format!("{}/bot{token}", api_url.trim_end_matches('/')),
            host: crate::alerts::webhook::redacted(api_url),
            client,
        }
    }

    fn http(method: &str, e: reqwest::Error) -> BotError {
        BotError::Http {
            method: method.to_string(),
            message: e.without_url().to_string(),
        }
    }

    async fn answer<Output: serde::de::DeserializeOwned>(
        method: &str,
        response: reqwest::Response,
    ) -> Result<Output, BotError> {
        let ok = response.status().is_success();
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| Self::http(method, e))?;
        let decode = |e: serde_json::Error| BotError::Decode {
            method: method.to_string(),
            message: e.to_string(),
        };
        if ok {
            return serde_json::from_str(&text).map_err(decode);
        }
        let refused: ErrorResponse = serde_json::from_str(&text).map_err(decode)?;
        Err(BotError::Api {
            method: method.to_string(),
            code: u16::try_from(refused.error_code).unwrap_or(status),
            description: refused.description,
            retry_after: refused
                .parameters
                .and_then(|p| p.retry_after)
                .map(u64::from),
        })
    }
}

#[async_trait]
impl AsyncTelegramApi for BotApi {
    type Error = BotError;

    async fn request<Params, Output>(
        &self,
        method: &str,
        params: Option<Params>,
    ) -> Result<Output, BotError>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let mut request = self.client.post(format!("{}/{method}", self.base));
        if let Some(p) = params {
            request = request.json(&p);
        }
        let response = request.send().await.map_err(|e| Self::http(method, e))?;
        Self::answer(method, response).await
    }

    async fn request_with_form_data<Params, Output>(
        &self,
        method: &str,
        params: Params,
        files: Vec<(&str, PathBuf)>,
    ) -> Result<Output, BotError>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let fields = match serde_json::to_value(&params) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => serde_json::Map::new(),
            Err(e) => {
                return Err(BotError::Decode {
                    method: method.to_string(),
                    message: e.to_string(),
                });
            }
        };
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            if files.iter().any(|(f, _)| *f == name) || value.is_null() {
                continue;
            }
            form = match value {
                serde_json::Value::String(s) => form.text(name, s),
                other => form.text(name, other.to_string()),
            };
        }
        for (name, path) in files {
            let bytes = tokio::fs::read(&path).await.map_err(|e| BotError::File {
                method: method.to_string(),
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let file_name = path
                .file_name()
                .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
            form = form.part(
                name.to_string(),
                reqwest::multipart::Part::bytes(bytes).file_name(file_name),
            );
        }
        let response = self
            .client
            .post(format!("{}/{method}", self.base))
            .multipart(form)
            .send()
            .await
            .map_err(|e| Self::http(method, e))?;
        Self::answer(method, response).await
    }
}

#[cfg(test)]
mod tests {
    use frankenstein::methods::SendMessageParams;

    use super::*;

    #[tokio::test]
    async fn neither_an_error_nor_the_debug_form_shows_the_token() {
        // Nothing listens on port 1: the call fails at connecting.
        let bot = BotApi::new("http://127.0.0.1:1", "123456:SECRET-TOKEN", 0);
        assert!(!format!("{bot:?}").contains("SECRET"));
        let params = SendMessageParams::builder().chat_id(5).text("hi").build();
        let e = bot.send_message(&params).await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("sendMessage"), "{shown}");
    }
}
