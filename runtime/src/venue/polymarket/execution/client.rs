//! The CLOB's authenticated trading API over HTTPS: API keys (L1), and with
//! them (L2 headers on every call) orders, cancels, open orders, trades,
//! balances, the ban status and heartbeats. Each error says whether the
//! request reached the venue.

use std::time::Duration;

use alloy_primitives::Address;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::{ClobError, error_text};
use super::rate::{Draw, TradingLimiter, TradingTier};
use super::types::{
    ApiKeyAnswer, BalanceAllowance, Cancelled, ClosedOnly, END_CURSOR, FIRST_CURSOR,
    HeartbeatAnswer, Page, PostedOrder, VenueOrder, VenueTrade,
};
use crate::venue::polymarket::http::client::install_crypto_provider;
use crate::venue::polymarket::signing::l1::l1_headers;
use crate::venue::polymarket::signing::l2::L2Signer;
use crate::venue::polymarket::signing::secrets::{ApiCredentials, PrivateKey};
use crate::venue::polymarket::signing::wire::{MAX_BATCH, OrderRequest};

/// Pages read at most from one cursor-paged list (a runaway cursor must end).
const MAX_PAGES: usize = 1_000;

/// Collateral or an outcome token, for balance queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asset {
    Collateral,
    Conditional { token_id: String },
}

/// A trading client for one account.
pub struct ClobClient {
    http: reqwest::Client,
    base: String,
    chain_id: u64,
    signer: Option<L2Signer>,
    limiter: TradingLimiter,
    /// Venue time minus local time (seconds): signatures carry the venue's
    /// clock, which checks their freshness.
    clock_offset_s: i64,
}

impl std::fmt::Debug for ClobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClobClient")
            .field("base", &self.base)
            .field("chain_id", &self.chain_id)
            .field("authenticated", &self.signer.is_some())
            .finish()
    }
}

fn local_now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl ClobClient {
    /// A client of the CLOB at `base` (e.g. `https://clob.polymarket.com`).
    pub fn new(base: &str, chain_id: u64, timeout: Duration) -> Result<ClobClient, ClobError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| ClobError::Local {
                route: base.to_string(),
                message: format!("building the HTTP client: {e}"),
            })?;
        Ok(ClobClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            chain_id,
            signer: None,
            limiter: TradingLimiter::new(TradingTier::STANDARD),
            clock_offset_s: 0,
        })
    }

    /// Signs every trading call with `credentials`, owned by `owner` (the
    /// EOA the key was created for).
    pub fn authenticated(mut self, credentials: &ApiCredentials, owner: Address) -> ClobClient {
        self.signer = Some(L2Signer::new(credentials, owner));
        self
    }

    pub fn with_tier(mut self, tier: TradingTier) -> ClobClient {
        self.limiter = TradingLimiter::new(tier);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn now_s(&self) -> u64 {
        u64::try_from(local_now_s().saturating_add(self.clock_offset_s)).unwrap_or(0)
    }

    /// Reads the venue's clock (`GET /time`) and signs with it from now on.
    /// The offset found (venue − local, seconds).
    pub async fn sync_clock(&mut self) -> Result<i64, ClobError> {
        let venue: i64 = self.call(Method::GET, "/time", &[], None, false).await?;
        self.clock_offset_s = venue.saturating_sub(local_now_s());
        Ok(self.clock_offset_s)
    }

    /// The order struct version the venue expects (`GET /version`).
    pub async fn version(&self) -> Result<u64, ClobError> {
        let v: serde_json::Value = self.call(Method::GET, "/version", &[], None, false).await?;
        v.get("version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ClobError::Decode {
                route: "GET /version".into(),
                message: format!("no numeric `version` in {v}"),
            })
    }

    /// The API key of `key` for `nonce`: created, or derived when it exists.
    pub async fn create_or_derive_api_key(
        &self,
        key: &PrivateKey,
        nonce: u64,
    ) -> Result<ApiCredentials, ClobError> {
        let created = self
            .l1_call(Method::POST, "/auth/api-key", key, nonce)
            .await;
        let answer = match created {
            Ok(a) => a,
            Err(ClobError::Status { status: 400, .. }) => {
                self.l1_call(Method::GET, "/auth/derive-api-key", key, nonce)
                    .await?
            }
            Err(e) => return Err(e),
        };
        ApiCredentials::new(
            &answer.api_key,
            &answer.secret,
            &answer.passphrase,
            "the venue's API-key answer",
        )
        .map_err(|e| ClobError::Decode {
            route: "/auth/api-key".into(),
            message: e.to_string(),
        })
    }

    async fn l1_call(
        &self,
        method: Method,
        path: &str,
        key: &PrivateKey,
        nonce: u64,
    ) -> Result<ApiKeyAnswer, ClobError> {
        let route = format!("{method} {path}");
        let headers =
            l1_headers(key, self.chain_id, self.now_s(), nonce).map_err(|e| ClobError::Local {
                route: route.clone(),
                message: e.to_string(),
            })?;
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        self.finish(route, req).await
    }

    /// `POST /order`.
    pub async fn post_order(&self, order: &OrderRequest) -> Result<PostedOrder, ClobError> {
        let body = order.to_json().map_err(|e| ClobError::Local {
            route: "POST /order".into(),
            message: e.to_string(),
        })?;
        self.limiter.wait(Draw::Orders(1)).await;
        self.call(Method::POST, "/order", &[], Some(body.into_bytes()), true)
            .await
    }

    /// `POST /orders`: at most 15, one result each, in order.
    pub async fn post_orders(
        &self,
        orders: &[OrderRequest],
    ) -> Result<Vec<PostedOrder>, ClobError> {
        let route = "POST /orders";
        if orders.len() > MAX_BATCH {
            return Err(ClobError::Local {
                route: route.into(),
                message: format!(
                    "{} orders in one batch; the venue takes {MAX_BATCH}",
                    orders.len()
                ),
            });
        }
        let body = OrderRequest::batch_to_json(orders).map_err(|e| ClobError::Local {
            route: route.into(),
            message: e.to_string(),
        })?;
        self.limiter.wait(Draw::Orders(orders.len())).await;
        self.call(Method::POST, "/orders", &[], Some(body.into_bytes()), true)
            .await
    }

    /// `DELETE /order`.
    pub async fn cancel(&self, order_id: &str) -> Result<Cancelled, ClobError> {
        let body = serde_json::json!({ "orderID": order_id }).to_string();
        self.limiter.wait(Draw::Cancels(1)).await;
        self.call(Method::DELETE, "/order", &[], Some(body.into_bytes()), true)
            .await
    }

    /// `DELETE /orders`.
    pub async fn cancel_orders(&self, order_ids: &[String]) -> Result<Cancelled, ClobError> {
        let body = serde_json::to_string(order_ids).map_err(|e| ClobError::Local {
            route: "DELETE /orders".into(),
            message: e.to_string(),
        })?;
        self.limiter.wait(Draw::Cancels(order_ids.len())).await;
        self.call(
            Method::DELETE,
            "/orders",
            &[],
            Some(body.into_bytes()),
            true,
        )
        .await
    }

    /// `DELETE /cancel-all`.
    pub async fn cancel_all(&self) -> Result<Cancelled, ClobError> {
        self.limiter.wait(Draw::Cancels(1)).await;
        self.call(Method::DELETE, "/cancel-all", &[], None, true)
            .await
    }

    /// `DELETE /cancel-market-orders` (either may be empty).
    pub async fn cancel_market(
        &self,
        market: &str,
        asset_id: &str,
    ) -> Result<Cancelled, ClobError> {
        let body = serde_json::json!({ "market": market, "asset_id": asset_id }).to_string();
        self.limiter.wait(Draw::Cancels(1)).await;
        self.call(
            Method::DELETE,
            "/cancel-market-orders",
            &[],
            Some(body.into_bytes()),
            true,
        )
        .await
    }

    /// `GET /data/order/{id}`: `None` when the venue does not know it.
    pub async fn order(&self, order_id: &str) -> Result<Option<VenueOrder>, ClobError> {
        let path = format!("/data/order/{order_id}");
        match self.call(Method::GET, &path, &[], None, true).await {
            Ok(o) => Ok(Some(o)),
            Err(ClobError::Status { status: 404, .. }) => Ok(None),
            // Some deployments answer an unknown id with 200 and `null`.
            Err(ClobError::Decode { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every open order of the account (`GET /data/orders`, all pages).
    pub async fn open_orders(&self) -> Result<Vec<VenueOrder>, ClobError> {
        self.paged("/data/orders", &[]).await
    }

    /// The account's trades matched at or after `after_s` (unix seconds;
    /// all when `None`), all pages.
    pub async fn trades(&self, after_s: Option<u64>) -> Result<Vec<VenueTrade>, ClobError> {
        let after = after_s.map(|a| a.to_string());
        let query: Vec<(&str, &str)> = after.iter().map(|a| ("after", a.as_str())).collect();
        self.paged("/data/trades", &query).await
    }

    async fn paged<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, ClobError> {
        let mut out = Vec::new();
        let mut cursor = FIRST_CURSOR.to_string();
        for _ in 0..MAX_PAGES {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("next_cursor", cursor.as_str()));
            let page: Page<T> = self.call(Method::GET, path, &q, None, true).await?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            match page.next_cursor {
                Some(next)
                    if next != END_CURSOR && !next.is_empty() && !empty && next != cursor =>
                {
                    cursor = next;
                }
                _ => return Ok(out),
            }
        }
        Err(ClobError::Decode {
            route: format!("GET {path}"),
            message: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// `GET /balance-allowance` of collateral or a token.
    pub async fn balance_allowance(
        &self,
        asset: &Asset,
        signature_type: u8,
    ) -> Result<BalanceAllowance, ClobError> {
        let sig = signature_type.to_string();
        let mut q = vec![("signature_type", sig.as_str())];
        match asset {
            Asset::Collateral => q.push(("asset_type", "COLLATERAL")),
            Asset::Conditional { token_id } => {
                q.push(("asset_type", "CONDITIONAL"));
                q.push(("token_id", token_id.as_str()));
            }
        }
        self.call(Method::GET, "/balance-allowance", &q, None, true)
            .await
    }

    /// Whether the account may only close positions.
    pub async fn closed_only(&self) -> Result<bool, ClobError> {
        let c: ClosedOnly = self
            .call(Method::GET, "/auth/ban-status/closed-only", &[], None, true)
            .await?;
        Ok(c.closed_only)
    }

    /// `POST /v1/heartbeats`, chained on the previous id; the next id.
    pub async fn heartbeat(&self, previous: Option<&str>) -> Result<String, ClobError> {
        let body = serde_json::json!({ "heartbeat_id": previous }).to_string();
        let a: HeartbeatAnswer = self
            .call(
                Method::POST,
                "/v1/heartbeats",
                &[],
                Some(body.into_bytes()),
                true,
            )
            .await?;
        Ok(a.heartbeat_id)
    }

    /// One request; with `auth`, signed with the L2 headers over the exact
    /// bytes sent.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        auth: bool,
    ) -> Result<T, ClobError> {
        let route = format!("{method} {path}");
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if !query.is_empty() {
            req = req.query(query);
        }
        if auth {
            let signer = self.signer.as_ref().ok_or_else(|| ClobError::Local {
                route: route.clone(),
                message: "no API credentials: this call needs L2 authentication".into(),
            })?;
            let headers = signer.headers(
                self.now_s(),
                method.as_str(),
                path,
                body.as_deref().unwrap_or_default(),
            );
            for (name, value) in headers.pairs() {
                req = req.header(name, value);
            }
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        self.finish(route, req).await
    }

    async fn finish<T: DeserializeOwned>(
        &self,
        route: String,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClobError> {
        let resp = req.send().await.map_err(|e| transport(&route, &e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp.text().await.map_err(|e| ClobError::AnswerLost {
            route: route.clone(),
            message: format!("reading the answer: {e}"),
        })?;
        if !status.is_success() {
            return Err(ClobError::Status {
                route,
                status: status.as_u16(),
                message: error_text(&text),
                retry_after,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClobError::Decode {
            route,
            message: format!("{e}: {}", text.chars().take(300).collect::<String>()),
        })
    }
}

/// A transport failure: before a connection the request had no effect;
/// after, it may have.
fn transport(route: &str, e: &reqwest::Error) -> ClobError {
    let message = e.to_string();
    if e.is_connect() || e.is_builder() {
        ClobError::NotSent {
            route: route.to_string(),
            message,
        }
    } else {
        ClobError::AnswerLost {
            route: route.to_string(),
            message,
        }
    }
}
