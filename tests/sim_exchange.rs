//! The sim's trading API end to end over HTTP and the user channel, with
//! requests signed by the platform's signing module: API keys by L1, L2-signed
//! orders that rest and that fill, duplicates, the batch limit, cancels,
//! queries, settlement stages, heartbeats, faults and auth failures.

#[path = "sim_exchange/support.rs"]
mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pqap::model::Side;
use pqap::venue::polymarket::signing::{
    ApiCredentials, Exchange, L2Signer, OrderRequest, OrderType,
};
use serde_json::{Value, json};
use support::{Client, key, market, order, start};
use tokio_tungstenite::tungstenite::Message;

/// A buy price far below the market, so resting orders stay unfilled.
const FAR: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trading_api_end_to_end() {
    let sim = start().await;
    let mut c = Client::new(&sim);

    // L1: create once, then 400; derive gives the same key; bad L1 → 401.
    let (s, created) = c.l1(reqwest::Method::POST, "/auth/api-key", 0).await;
    assert_eq!(s, 200, "{created}");
    let (s, again) = c.l1(reqwest::Method::POST, "/auth/api-key", 0).await;
    assert_eq!(s, 400, "{again}");
    let (s, derived) = c.l1(reqwest::Method::GET, "/auth/derive-api-key", 0).await;
    assert_eq!((s, &derived), (200, &created));
    let (s, bad) = c
        .send(
            c.http
                .get(format!("{}/auth/derive-api-key", c.base))
                .header("POLY_ADDRESS", "0x01"),
        )
        .await;
    assert_eq!(
        (s, bad["error"].as_str()),
        (401, Some("Invalid L1 Request headers"))
    );
    let api_key = created["apiKey"].as_str().expect("apiKey").to_string();
    let creds = ApiCredentials::new(
        &api_key,
        created["secret"].as_str().expect("secret"),
        created["passphrase"].as_str().expect("passphrase"),
        "sim",
    )
    .expect("credentials");
    c.creds = Some((
        creds,
        created["secret"].as_str().unwrap_or_default().into(),
        created["passphrase"].as_str().unwrap_or_default().into(),
    ));

    let (s, keys) = c.l2("GET", "/auth/api-keys", "", "").await;
    assert_eq!(
        (s, keys["apiKeys"][0].as_str()),
        (200, Some(api_key.as_str()))
    );
    let (s, bal) = c
        .l2("GET", "/balance-allowance", "?asset_type=COLLATERAL", "")
        .await;
    assert_eq!(
        (s, bal["balance"].as_str()),
        (200, Some("1000000000")),
        "{bal}"
    );

    // The user channel, subscribed before trading.
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(format!("ws://{}/ws/user", sim.addr)),
    )
    .await
    .expect("ws in time")
    .expect("ws connects");
    let sub = json!({"auth": {"apiKey": api_key, "secret": created["secret"], "passphrase": created["passphrase"]}, "markets": [], "type": "user"});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .expect("subscribe");
    ws.send(Message::Text("PING".into())).await.expect("ping");
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("pong in time");
    assert!(
        matches!(pong, Some(Ok(Message::Text(ref t))) if t.as_str() == "PONG"),
        "{pong:?}"
    );

    // A resting buy, then the same order again.
    let (token, bid, ask) = market(&c).await;
    assert!(FAR < bid, "the market trades above {FAR}");
    let rest = order(&api_key, &token, Side::Buy, FAR, 10, 11, OrderType::Gtc);
    let body = rest.to_json().expect("json");
    let (s, placed) = c.l2("POST", "/order", "", &body).await;
    assert_eq!(
        (s, placed["status"].as_str()),
        (200, Some("live")),
        "{placed}"
    );
    let rest_id = placed["orderID"].as_str().expect("id").to_string();
    assert_eq!(
        rest_id,
        rest.order.id(&Exchange::for_market(137, false)).to_string()
    );
    let (s, dup) = c.l2("POST", "/order", "", &body).await;
    assert_eq!((s, dup["error"].as_str()), (400, Some("Duplicated")));

    // Someone else's key as owner, and a tampered body (HMAC over other bytes).
    let stranger = order("not-my-key", &token, Side::Buy, FAR, 10, 12, OrderType::Gtc);
    let (s, e) = c
        .l2("POST", "/order", "", &stranger.to_json().expect("json"))
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (
            400,
            Some("the order owner has to be the owner of the API KEY")
        )
    );
    let mut tampered = order(&api_key, &token, Side::Buy, FAR, 10, 13, OrderType::Gtc);
    tampered.order.order.taker_amount += 10_000;
    let (s, e) = c
        .l2("POST", "/order", "", &tampered.to_json().expect("json"))
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid signature")),
        "{e}"
    );

    // Batch limit.
    let many: Vec<OrderRequest> = (0..15)
        .map(|i| order(&api_key, &token, Side::Buy, FAR, 5, 100 + i, OrderType::Gtc))
        .collect();
    let mut raw: Vec<Value> =
        serde_json::from_str(&OrderRequest::batch_to_json(&many).expect("batch")).expect("json");
    raw.push(raw[0].clone());
    let (s, e) = c
        .l2("POST", "/orders", "", &Value::Array(raw).to_string())
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("Too many orders in payload: 16, max allowed: 15"))
    );

    // A crossing buy fills at the book.
    let take = order(
        &api_key,
        &token,
        Side::Buy,
        (ask + 50_000).min(990_000),
        (2_000_000 / ask).max(5),
        21,
        OrderType::Fak,
    );
    let (s, filled) = c
        .l2("POST", "/order", "", &take.to_json().expect("json"))
        .await;
    assert_eq!(
        (s, filled["status"].as_str()),
        (200, Some("matched")),
        "{filled}"
    );
    assert!(!filled["tradeIDs"].as_array().expect("ids").is_empty());

    // Open orders, one order, trades (settled after the delays).
    let (s, open) = c.l2("GET", "/data/orders", "?next_cursor=MA==", "").await;
    assert_eq!(s, 200);
    assert_eq!(open["next_cursor"], "LTE=");
    assert!(
        open["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|o| o["id"] == rest_id.as_str())
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (s, trades) = c.l2("GET", "/data/trades", "", "").await;
    assert_eq!(s, 200);
    let t0 = &trades["data"][0];
    assert_eq!(
        (t0["status"].as_str(), t0["trader_side"].as_str()),
        (Some("CONFIRMED"), Some("TAKER")),
        "{trades}"
    );
    let (_, pos) = c
        .l2(
            "GET",
            "/balance-allowance",
            &format!("?asset_type=CONDITIONAL&token_id={token}"),
            "",
        )
        .await;
    assert!(pos["balance"].as_str().is_some_and(|b| b != "0"), "{pos}");

    // Cancel, then the order reads as cancelled; unknown ids are 404.
    let (s, cancelled) = c
        .l2(
            "DELETE",
            "/order",
            "",
            &json!({"orderID": rest_id}).to_string(),
        )
        .await;
    assert_eq!(
        (s, &cancelled["canceled"]),
        (200, &json!([rest_id])),
        "{cancelled}"
    );
    let path = format!("/data/order/{rest_id}");
    let (s, one) = c.l2("GET", &path, "", "").await;
    assert_eq!((s, one["status"].as_str()), (200, Some("CANCELED")));
    let (s, _) = c.l2("GET", "/data/order/0x1234", "", "").await;
    assert_eq!(s, 404);
    let (s, _) = c.l2("DELETE", "/cancel-all", "", "").await;
    assert_eq!(s, 200);

    // The user channel heard the placement and the fill.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(seen.iter().any(|k: &String| k == "PLACEMENT") && seen.iter().any(|k| k == "CONFIRMED"))
    {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("user events in time");
        if let Some(Ok(Message::Text(t))) = msg {
            let v: Value = serde_json::from_str(t.as_str()).expect("json frame");
            let kind = if v["event_type"] == "trade" {
                v["status"].clone()
            } else {
                v["type"].clone()
            };
            seen.push(kind.as_str().unwrap_or_default().to_string());
        }
    }

    // Heartbeats chain; a wrong id is refused.
    let (s, hb) = c
        .l2("POST", "/v1/heartbeats", "", r#"{"heartbeat_id": null}"#)
        .await;
    assert_eq!(s, 200, "{hb}");
    let next = json!({"heartbeat_id": hb["heartbeat_id"]}).to_string();
    let (s, _) = c.l2("POST", "/v1/heartbeats", "", &next).await;
    assert_eq!(s, 200);
    let (s, _) = c.l2("POST", "/v1/heartbeats", "", &next).await;
    assert_eq!(s, 400);

    // Faults: a 425, then an accepted order whose answer is lost.
    let (s, _) = c
        .send(
            c.http
                .post(format!("{}/_sim/faults", c.base))
                .json(&json!({"order_425": 1, "drop_order_responses": 1})),
        )
        .await;
    assert_eq!(s, 200);
    let o = order(
        &api_key,
        &token,
        Side::Buy,
        FAR + 10_000,
        5,
        31,
        OrderType::Gtc,
    );
    let (s, _) = c
        .l2("POST", "/order", "", &o.to_json().expect("json"))
        .await;
    assert_eq!(s, 425);
    let signer = L2Signer::new(&c.creds.as_ref().expect("creds").0, key().address());
    let body = o.to_json().expect("json");
    let h = signer.headers(c.now_s().await, "POST", "/order", body.as_bytes());
    let mut req = c.http.post(format!("{}/order", c.base)).body(body);
    for (n, v) in h.pairs() {
        req = req.header(n, v);
    }
    let lost = match req.send().await {
        Ok(r) => r.text().await.is_err(),
        Err(_) => true,
    };
    assert!(lost, "the answer should have been dropped");
    let id = o.order.id(&Exchange::for_market(137, false)).to_string();
    let (s, live) = c.l2("GET", "/data/orders", &format!("?id={id}"), "").await;
    assert_eq!(
        (s, live["data"][0]["status"].as_str()),
        (200, Some("LIVE")),
        "{live}"
    );

    // Auth failure on an L2 route.
    c.creds = Some((
        ApiCredentials::new(
            &api_key,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "x",
            "t",
        )
        .expect("creds"),
        String::new(),
        String::new(),
    ));
    let (s, e) = c.l2("GET", "/data/orders", "", "").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (401, Some("Unauthorized/Invalid api key"))
    );
}

#[path = "sim_exchange/faults.rs"]
mod faults;
