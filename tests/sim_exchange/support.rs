//! Helpers of the sim exchange tests: a sim with a funded account, an HTTP
//! client signing L1/L2 requests with the platform's signing module, and
//! signed orders.

use std::time::Duration;

use alloy_primitives::{B256, U256};
use pqap::model::Side;
use pqap::venue::polymarket::signing::{
    ApiCredentials, Exchange, L2Signer, Order, OrderRequest, OrderType, PrivateKey, Salt,
    SignatureType, l1_headers, sign_order,
};
use pqap::venue::sim::exchange::{AccountConfig, ExchangeConfig};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use serde_json::Value;

pub const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub fn key() -> PrivateKey {
    PrivateKey::from_hex(KEY, "test").expect("test key")
}

pub async fn start() -> SimServer {
    start_with(|_| {}).await
}

/// A sim whose exchange config `adjust` may change first.
pub async fn start_with(adjust: impl FnOnce(&mut ExchangeConfig)) -> SimServer {
    let g = Generator::new(
        GeneratorConfig {
            seed: 23,
            markets: 2,
            step_ms: 50,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    let mut exchange = ExchangeConfig::default();
    exchange.accounts.insert(
        key().address(),
        AccountConfig {
            collateral: 1_000_000_000,
            ..AccountConfig::default()
        },
    );
    adjust(&mut exchange);
    SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(50),
            exchange,
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts")
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub creds: Option<(ApiCredentials, String, String)>,
}

impl Client {
    /// Creates the test key's API key and signs with it from now on; the
    /// `POST /auth/api-key` answer.
    pub async fn login(&mut self) -> Value {
        let (s, created) = self.l1(reqwest::Method::POST, "/auth/api-key", 0).await;
        assert_eq!(s, 200, "{created}");
        let text = |k: &str| created[k].as_str().unwrap_or_default().to_string();
        let creds =
            ApiCredentials::new(&text("apiKey"), &text("secret"), &text("passphrase"), "sim")
                .expect("credentials");
        self.creds = Some((creds, text("secret"), text("passphrase")));
        created
    }

    /// Posts a signed order.
    pub async fn post(&self, order: &OrderRequest) -> (u16, Value) {
        self.l2("POST", "/order", "", &order.to_json().expect("json"))
            .await
    }

    pub async fn fault(&self, request: Value) {
        let r = self
            .http
            .post(format!("{}/_sim/faults", self.base))
            .json(&request)
            .send()
            .await;
        assert!(r.is_ok_and(|r| r.status().is_success()), "fault {request}");
    }

    pub fn new(sim: &SimServer) -> Client {
        pqap::venue::polymarket::http::client::install_crypto_provider();
        Client {
            base: sim.clob_url(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
            creds: None,
        }
    }

    pub async fn now_s(&self) -> u64 {
        let r = self
            .http
            .get(format!("{}/time", self.base))
            .send()
            .await
            .expect("time");
        r.json::<u64>().await.expect("time json")
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn l1(&self, method: reqwest::Method, path: &str, nonce: u64) -> (u16, Value) {
        let h = l1_headers(&key(), 137, self.now_s().await, nonce).expect("l1");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (n, v) in h.pairs() {
            req = req.header(n, v);
        }
        self.send(req).await
    }

    /// An L2-signed request; `query` goes on the URL but not into the signature.
    pub async fn l2(&self, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
        let (creds, _, _) = self.creds.as_ref().expect("credentials");
        let signer = L2Signer::new(creds, key().address());
        let h = signer.headers(self.now_s().await, method, path, body.as_bytes());
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}{query}", self.base));
        for (n, v) in h.pairs() {
            req = req.header(n, v);
        }
        if !body.is_empty() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(req).await
    }
}

/// A signed limit order body.
pub fn order(
    owner: &str,
    token: &str,
    side: Side,
    price_micros: u64,
    shares: u64,
    salt: u64,
    ot: OrderType,
) -> OrderRequest {
    let size = shares * 1_000_000;
    let cash = size * price_micros / 1_000_000;
    let (maker_amount, taker_amount) = match side {
        Side::Buy => (cash, size),
        Side::Sell => (size, cash),
    };
    let o = Order {
        salt: Salt::new(salt).expect("salt"),
        maker: key().address(),
        signer: key().address(),
        token_id: U256::from_str_radix(token, 10).expect("token id"),
        maker_amount,
        taker_amount,
        side,
        signature_type: SignatureType::Eoa,
        timestamp_ms: pqap::venue::polymarket::websocket::client::now_ms(),
        metadata: B256::ZERO,
        builder: B256::ZERO,
    };
    OrderRequest {
        order: sign_order(&key(), &o, &Exchange::for_market(137, false)).expect("sign"),
        owner: owner.to_string(),
        order_type: ot,
        defer_exec: false,
        post_only: false,
    }
}

pub fn micros(v: &Value) -> u64 {
    let s = v.as_str().expect("decimal string");
    let d: rust_decimal::Decimal = s.parse().expect("decimal");
    (d * rust_decimal::Decimal::from(1_000_000))
        .try_into()
        .expect("micros")
}

/// First token's id and its best bid and ask (levels are best-last).
pub async fn market(c: &Client) -> (String, u64, u64) {
    let (_, markets) = c.send(c.http.get(format!("{}/markets", c.base))).await;
    let token = markets["data"][0]["tokens"][0]["token_id"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, book) = c
        .send(c.http.get(format!("{}/book?token_id={token}", c.base)))
        .await;
    let last = |side: &str| {
        let levels = book[side].as_array().expect("levels");
        micros(&levels[levels.len() - 1]["price"])
    };
    (token, last("bids"), last("asks"))
}
