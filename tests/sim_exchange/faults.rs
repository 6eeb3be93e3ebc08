//! The user channel's refusal of bad credentials, per-key rate limits, and the
//! trading fault switches (forced 503, delayed fill reports, dropped sockets).

use super::*;
use support::start_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_channel_refuses_bad_credentials() {
    let sim = start().await;
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(format!("ws://{}/ws/user", sim.addr)),
    )
    .await
    .expect("ws in time")
    .expect("ws connects");
    let sub = json!({"auth": {"apiKey": "x", "secret": "y", "passphrase": "z"}, "markets": [], "type": "user"});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .expect("subscribe");
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("closed in time");
    assert!(
        matches!(next, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
        "{next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_order_faults() {
    let sim = start_with(|x| {
        x.order_bucket = pqap::venue::sim::exchange::Bucket {
            refill_per_s: 1,
            burst: 2,
        };
    })
    .await;
    let mut c = Client::new(&sim);
    let api_key = c.login().await["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (token, _, _) = market(&c).await;
    let o = |salt| order(&api_key, &token, Side::Buy, FAR, 5, salt, OrderType::Gtc);
    assert_eq!(c.post(&o(1)).await.0, 200);
    assert_eq!(c.post(&o(2)).await.0, 200);
    let r = c
        .l2("POST", "/order", "", &o(3).to_json().expect("json"))
        .await;
    assert_eq!(r.0, 429, "{}", r.1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    c.fault(json!({"order_503": 1})).await;
    assert_eq!(c.post(&o(4)).await.0, 503);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(c.post(&o(5)).await.0, 200);

    // A held answer: the order is live at the exchange (listed by
    // `/_sim/orders`, salt and all) while its sender still waits.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    c.fault(json!({"delay_order_responses_ms": 1_000})).await;
    let posted = tokio::time::Instant::now();
    let c = std::sync::Arc::new(c);
    let (poster, held) = (c.clone(), o(6));
    let answer = tokio::spawn(async move { poster.post(&held).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let listed: Vec<Value> = c
        .http
        .get(format!("http://{}/_sim/orders", sim.addr))
        .send()
        .await
        .expect("/_sim/orders")
        .json()
        .await
        .expect("a list");
    assert!(!answer.is_finished(), "answered before the delay was over");
    assert!(
        listed
            .iter()
            .any(|o| o["salt"] == "6" && o["status"] == "LIVE"),
        "{listed:?}"
    );
    let (status, r) = answer.await.expect("the post");
    assert_eq!(status, 200, "{r}");
    assert!(posted.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_channel_faults_delay_fills_and_drop_sockets() {
    let sim = start().await;
    let mut c = Client::new(&sim);
    let created = c.login().await;
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(format!("ws://{}/ws/user", sim.addr)),
    )
    .await
    .expect("ws in time")
    .expect("ws connects");
    let sub = json!({"auth": {"apiKey": created["apiKey"], "secret": created["secret"], "passphrase": created["passphrase"]}, "markets": [], "type": "user"});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .expect("subscribe");
    ws.send(Message::Text("PING".into())).await.expect("ping");
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("pong");
    assert!(matches!(pong, Some(Ok(Message::Text(ref t))) if t.as_str() == "PONG"));

    // Fill reports are held back for the delay.
    c.fault(json!({"delay_fills_ms": 1_500})).await;
    let (token, _, ask) = market(&c).await;
    let api_key = created["apiKey"].as_str().unwrap_or_default();
    let take = order(
        api_key,
        &token,
        Side::Buy,
        (ask + 50_000).min(990_000),
        (2_000_000 / ask).max(5),
        7,
        OrderType::Fak,
    );
    let posted = tokio::time::Instant::now();
    let (s, r) = c.post(&take).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("matched")), "{r}");
    let first_trade = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("frames in time");
        if let Some(Ok(Message::Text(t))) = msg
            && t.as_str().contains("\"event_type\":\"trade\"")
        {
            break posted.elapsed();
        }
    };
    assert!(
        first_trade >= Duration::from_millis(1_200),
        "{first_trade:?}"
    );

    // Dropping user sockets closes ours.
    c.fault(json!({"drop_user_ws": true})).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the user socket stays open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_silence_cancels_open_orders() {
    let sim = start_with(|x| x.heartbeat_timeout_ms = 300).await;
    let mut c = Client::new(&sim);
    let api_key = c.login().await["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (token, _, _) = market(&c).await;
    let o = order(&api_key, &token, Side::Buy, FAR, 5, 41, OrderType::Gtc);
    let (s, placed) = c.post(&o).await;
    assert_eq!(s, 200, "{placed}");
    let id = placed["orderID"].as_str().unwrap_or_default().to_string();
    let (s, _) = c
        .l2("POST", "/v1/heartbeats", "", r#"{"heartbeat_id": null}"#)
        .await;
    assert_eq!(s, 200);
    let path = format!("/data/order/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, one) = c.l2("GET", &path, "", "").await;
        if one["status"] == "CANCELED" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {one} after the heartbeat timeout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
