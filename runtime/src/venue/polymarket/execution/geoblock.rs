//! Whether the venue lets this machine trade from where it is: Polymarket's
//! geoblock answer (`GET https://polymarket.com/api/geoblock`), asked at start.

use std::time::Duration;

use serde::Deserialize;

use super::error::ClobError;
use crate::venue::polymarket::http::client::install_crypto_provider;

/// The venue's view of the caller's location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Geoblock {
    pub blocked: bool,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub region: String,
}

impl Geoblock {
    /// Where the venue places the caller, for messages.
    pub fn place(&self) -> String {
        let mut place = self.country.clone();
        if !self.region.is_empty() {
            place = format!("{place}/{}", self.region);
        }
        format!("{place} (from {})", self.ip)
    }
}

/// Asks `url` whether this machine is blocked.
pub async fn ask(url: &str, timeout: Duration) -> Result<Geoblock, ClobError> {
    install_crypto_provider();
    let route = format!("GET {url}");
    let sent = |e: reqwest::Error| ClobError::NotSent {
        route: route.clone(),
        message: e.to_string(),
    };
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(sent)?;
    let response = http.get(url).send().await.map_err(sent)?;
    let status = response.status();
    let body = response.text().await.map_err(|e| ClobError::AnswerLost {
        route: route.clone(),
        message: e.to_string(),
    })?;
    if !status.is_success() {
        return Err(ClobError::Status {
            route,
            status: status.as_u16(),
            message: body.chars().take(200).collect(),
            retry_after: None,
        });
    }
    serde_json::from_str(&body).map_err(|e| ClobError::Decode {
        route,
        message: format!("{e}: {}", body.chars().take(200).collect::<String>()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_venues_answer_reads_and_names_the_place() {
        let g: Geoblock = serde_json::from_str(
            r#"{"blocked":true,"ip":"203.0.113.9","country":"US","region":"NY"}"#,
        )
        .unwrap();
        assert!(g.blocked);
        assert_eq!(g.place(), "US/NY (from 203.0.113.9)");
        let open: Geoblock = serde_json::from_str(r#"{"blocked":false}"#).unwrap();
        assert!(!open.blocked);
    }
}
