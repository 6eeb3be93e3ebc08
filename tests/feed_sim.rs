//! The live feed against `pqap sim`: books track the venue, and with faults
//! injected (dropped sockets, gaps, stalls, crossed books, malformed frames, REST
//! failures) the feed reconnects, resyncs, flags what it must and never panics.

use std::collections::BTreeMap;
use std::time::Duration;

use pqap::data::books::{BookOutput, Books};
use pqap::data::feed::{FeedConfig, FeedMessage, LiveFeed};
use pqap::data::quality::{QualityConfig, Untradeable};
use pqap::model::{BookLevel, MarketEvent, TokenId};
use pqap::venue::polymarket::http::client::HttpConfig;
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::faults::FaultRequest;
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use tokio::sync::mpsc::Receiver;

async fn sim(seed: u64) -> SimServer {
    let g = Generator::new(
        GeneratorConfig {
            seed,
            markets: 3,
            step_ms: 50,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(50),
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts")
}

fn feed_config(sim: &SimServer) -> FeedConfig {
    FeedConfig {
        http: HttpConfig {
            clob_url: sim.clob_url(),
            gamma_url: sim.gamma_url(),
            timeout: Duration::from_secs(2),
            max_retries: 5,
            backoff: Duration::from_millis(20),
            rate_share: 1.0,
        },
        ws: WsConfig {
            url: sim.ws_url(),
            max_assets_per_connection: 4,
            ping_every: Duration::from_millis(200),
            pong_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
        },
        quality: QualityConfig {
            stale_after_ms: 400,
        },
        poll_every: Duration::from_millis(200),
        resync_every: Duration::from_millis(50),
        sweep_every: Duration::from_millis(100),
        books_batch: 100,
        audit_every: Duration::from_millis(500),
    }
}

/// What the test saw of the feed.
#[derive(Default)]
struct Seen {
    books: Books,
    status: BTreeMap<TokenId, Option<Untradeable>>,
    connects: usize,
    disconnects: usize,
    decode_errors: usize,
    rest_updates: usize,
    resync_requests: usize,
    divergences: usize,
}

impl Seen {
    fn absorb(&mut self, m: FeedMessage) {
        let outputs = match m {
            FeedMessage::Data { update, outputs } => {
                let mut scratch = Vec::new();
                for e in &update.events {
                    self.books.apply(e, 0, &mut scratch);
                }
                self.decode_errors += update.errors.len();
                if update.source == pqap::data::update::Source::Rest {
                    self.rest_updates += 1;
                }
                outputs
            }
            FeedMessage::Status(outputs) => outputs,
            FeedMessage::Connection { connected, .. } => {
                if connected {
                    self.connects += 1;
                } else {
                    self.disconnects += 1;
                }
                Vec::new()
            }
        };
        for o in outputs {
            match o {
                BookOutput::Status(s) => {
                    self.status.insert(s.token, s.untradeable);
                }
                BookOutput::NeedsSnapshot(_) => self.resync_requests += 1,
                BookOutput::Resynced { diverged: true, .. } => self.divergences += 1,
                _ => {}
            }
        }
    }
}

/// Reads the feed until `until` holds or the deadline passes.
async fn pump(
    rx: &mut Receiver<FeedMessage>,
    seen: &mut Seen,
    deadline: Duration,
    until: impl Fn(&Seen) -> bool,
) -> bool {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if until(seen) {
            return true;
        }
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(m)) => seen.absorb(m),
            Ok(None) | Err(_) => return until(seen),
        }
    }
}

/// Best levels of every token as the sim's REST says, vs what the feed built.
async fn books_agree(sim: &SimServer, seen: &Seen) -> bool {
    let snapshots: Vec<(TokenId, Option<BookLevel>, Option<BookLevel>)> = {
        let s = sim.state.lock().unwrap();
        s.books
            .tokens()
            .filter_map(|t| {
                let b = s.books.book(t)?;
                Some((t.clone(), b.best_bid(), b.best_ask()))
            })
            .collect()
    };
    snapshots.iter().all(|(t, bid, ask)| {
        seen.books
            .book(t)
            .is_some_and(|b| b.best_bid() == *bid && b.best_ask() == *ask)
    })
}

async fn settle(sim: &SimServer, rx: &mut Receiver<FeedMessage>, seen: &mut Seen) -> bool {
    // The sim keeps moving; agreement is checked between messages.
    for _ in 0..200 {
        pump(rx, seen, Duration::from_millis(20), |_| false).await;
        if books_agree(sim, seen).await
            && seen.status.values().all(Option::is_none)
            && !seen.status.is_empty()
        {
            return true;
        }
    }
    false
}

fn tokens(sim: &SimServer) -> Vec<TokenId> {
    let s = sim.state.lock().unwrap();
    s.markets
        .iter()
        .flat_map(|m| m.tokens.iter().map(|(t, _)| t.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_tracks_the_sim_and_recovers_from_every_fault() {
    let sim = sim(21).await;
    let (_feed, mut rx) = LiveFeed::start(feed_config(&sim), tokens(&sim)).expect("feed");
    let mut seen = Seen::default();
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s.connects
            >= 2)
        .await,
        "two shards (6 tokens, 4 per connection) connect"
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "books track the sim"
    );

    // Dropped sockets: reconnect, resubscribe, resync.
    sim.faults.inject(
        &FaultRequest {
            drop: true,
            ..FaultRequest::default()
        },
        0,
    );
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s
            .disconnects
            >= 2
            && s.connects >= 4)
        .await,
        "both shards reconnect"
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "books recover after reconnect"
    );

    // A gap: lost book updates show up as disagreeing best prices or, below the
    // top, as a divergence found by the periodic REST audit.
    let (resyncs, divergences) = (seen.resync_requests, seen.divergences);
    sim.faults.inject(
        &FaultRequest {
            gap: 6,
            ..FaultRequest::default()
        },
        0,
    );
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s
            .resync_requests
            > resyncs
            || s.divergences > divergences)
        .await,
        "a gap is detected"
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "books recover after a gap"
    );

    // A crossed book is flagged untradeable, then repaired by a resync.
    sim.faults.inject(
        &FaultRequest {
            crossed: true,
            ..FaultRequest::default()
        },
        0,
    );
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s
            .status
            .values()
            .any(|v| *v == Some(Untradeable::Crossed)))
        .await,
        "crossed book flagged"
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "crossed book repaired"
    );

    // Malformed frames are counted, not fatal.
    sim.faults.inject(
        &FaultRequest {
            malformed: 5,
            ..FaultRequest::default()
        },
        0,
    );
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s
            .decode_errors
            >= 5)
        .await,
        "malformed frames reported as decode errors"
    );

    // REST failures are retried (503 with Retry-After).
    sim.faults.inject(
        &FaultRequest {
            http_errors: 3,
            drop: true,
            ..FaultRequest::default()
        },
        0,
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "resync survives REST failures"
    );

    // A stall: no data for longer than the stale limit → stale, polled from REST.
    let now = pqap::venue::polymarket::websocket::client::now_ms();
    sim.faults.inject(
        &FaultRequest {
            // Well past the 400 ms limit, so a loaded machine still sees it.
            stall_ms: 3_000,
            ..FaultRequest::default()
        },
        now,
    );
    assert!(
        pump(&mut rx, &mut seen, Duration::from_secs(10), |s| s
            .status
            .values()
            .any(|v| *v == Some(Untradeable::Stale)))
        .await,
        "stalled books flagged stale"
    );
    assert!(
        settle(&sim, &mut rx, &mut seen).await,
        "books recover after the stall"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serves_the_venue_rest_shapes() {
    let sim = sim(5).await;
    let http =
        pqap::venue::polymarket::http::client::PolymarketHttp::new(feed_config(&sim).http).unwrap();
    let t = tokens(&sim);
    let (book, raw) = http.book_raw(&t[0]).await.unwrap();
    assert_eq!(book.hash_matches(), Some(true), "{raw}");
    assert!(matches!(book.to_event().unwrap(), MarketEvent::Book { .. }));
    let (books, _) = http.books_raw(&t).await.unwrap();
    assert_eq!(books.len(), t.len());
    assert!(http.server_time().await.unwrap() > 1_600_000_000);
    assert_eq!(http.version().await.unwrap(), 2);
    let gamma: serde_json::Value = http
        .gamma_get(
            pqap::venue::polymarket::http::limits::Family::GammaMarkets,
            "/markets",
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<String> =
        serde_json::from_str(gamma[0]["clobTokenIds"].as_str().unwrap()).unwrap();
    assert_eq!(ids.len(), 2, "clobTokenIds is a JSON-encoded string");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let history: serde_json::Value = http
        .clob_get(
            pqap::venue::polymarket::http::limits::Family::ClobPricesHistory,
            "/prices-history",
            &[("market", t[0].to_string()), ("fidelity", "1".into())],
        )
        .await
        .unwrap();
    assert!(history["history"].as_array().is_some_and(|h| !h.is_empty()));
    use pqap::venue::polymarket::http::markets;
    let keyset = markets::gamma_markets_keyset(&http, &[], 5).await.unwrap();
    assert_eq!(keyset.len(), 3);
    assert_eq!(markets::gamma_events(&http, &[]).await.unwrap().len(), 3);
    let open = markets::open_markets(&http, 100).await.unwrap();
    assert_eq!(open.len(), 3);
    assert_eq!(markets::clob_markets(&http, 5).await.unwrap().len(), 3);
    // 0.01, or 0.001 if the market drifted near an edge meanwhile.
    let tick = markets::tick_size(&http, &t[0]).await.unwrap().micros();
    assert!(tick == 10_000 || tick == 1_000, "{tick}");
    let points = markets::prices_history(&http, &t[0], 0, u64::MAX / 2, 1)
        .await
        .unwrap();
    assert!(!points.is_empty());
    let err = http
        .clob_get::<serde_json::Value>(
            pqap::venue::polymarket::http::limits::Family::ClobBook,
            "/book",
            &[("token_id", "1".into())],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}
