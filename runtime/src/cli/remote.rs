//! Talking to an environment's server: its address from `configs/ENV.yaml`
//! (`server.url`), the API token from PQAP_API_TOKEN; errors name the URL and
//! what the server said.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use pqap::config::Config;

/// A server to ask.
pub struct Remote {
    pub base: String,
    token: String,
    client: reqwest::Client,
}

impl Remote {
    /// The server of environment `env`.
    pub fn for_env(env: &str) -> anyhow::Result<Remote> {
        let path = PathBuf::from(format!("configs/{env}.yaml"));
        let config = Config::load(&path, std::env::vars())
            .with_context(|| format!("--env {env}: loading {}", path.display()))?;
        let token = std::env::var("PQAP_API_TOKEN").map_err(|_| {
            anyhow::anyhow!("--env {env}: set PQAP_API_TOKEN to an API token (pqap token create)")
        })?;
        pqap::venue::polymarket::http::client::install_crypto_provider();
        Ok(Remote {
            base: config.server.base_url(),
            token,
            client: reqwest::Client::new(),
        })
    }

    /// `GET path`: the JSON document.
    pub async fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let request = self.client.get(&url);
        self.send(&url, request).await
    }

    /// `POST path` with `body` of `content_type`: the JSON answer.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let request = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(&url, request).await
    }

    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<serde_json::Value> {
        let response = request
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .with_context(|| format!("asking {url}"))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("{url}: {status}, and the answer is not JSON"))?;
        if !status.is_success() {
            anyhow::bail!(
                "{url}: {status}: {}",
                body["error"].as_str().unwrap_or("no message")
            );
        }
        Ok(body)
    }
}
