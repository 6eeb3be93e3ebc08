//! Starts the simulator: binds 127.0.0.1, serves REST and the market channel, and
//! steps the activity source on a timer, publishing each step to every socket.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::faults::Faults;
use super::rest::{self, AppState};
use super::state::{Activity, SimState};
use super::ws;
use crate::model::MarketEvent;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free one. Loopback only by default.
    pub bind: SocketAddr,
    /// Wall time between steps.
    pub step_every: Duration,
    /// The trading side: funded accounts, chain id, delays, limits.
    pub exchange: super::exchange::ExchangeConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            step_every: Duration::from_millis(200),
            exchange: super::exchange::ExchangeConfig::default(),
        }
    }
}

/// A running simulator. Dropping it stops it.
pub struct SimServer {
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    pub state: Arc<Mutex<SimState>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the simulator on {addr}: {source}")]
pub struct SimError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

impl SimServer {
    /// A seeded synthetic market on a free loopback port, one step (of `step_ms`
    /// venue time) every `step_ms` of wall time, starting now: what commands
    /// start in process when no venue is configured.
    pub async fn synthetic(seed: u64, step_ms: u64) -> Result<SimServer, SimError> {
        let generator = super::generator::Generator::new(
            super::generator::GeneratorConfig {
                seed,
                step_ms,
                ..super::generator::GeneratorConfig::default()
            },
            crate::venue::polymarket::websocket::client::now_ms(),
        );
        let config = SimConfig {
            step_every: Duration::from_millis(step_ms),
            ..SimConfig::default()
        };
        SimServer::start(config, Activity::Synthetic(generator)).await
    }

    pub async fn start(config: SimConfig, activity: Activity) -> Result<SimServer, SimError> {
        let mut sim_state = SimState::new(activity);
        sim_state.exchange = super::exchange::ExchangeState::new(config.exchange.clone());
        let state = Arc::new(Mutex::new(sim_state));
        let faults = Arc::new(Faults::default());
        let (publish, _) = broadcast::channel::<Arc<Vec<MarketEvent>>>(1024);
        let app_state = AppState {
            sim: state.clone(),
            faults: faults.clone(),
        };
        let app = Router::new()
            .route("/", get(rest::root))
            .route("/ok", get(rest::ok))
            .route("/time", get(rest::time))
            .route("/version", get(rest::version))
            .route("/api/geoblock", get(rest::geoblock))
            .route("/book", get(rest::book))
            .route("/books", get(rest::books_get).post(rest::books_post))
            .route("/tick-size", get(rest::tick_size))
            .route("/tick-size/{token_id}", get(rest::tick_size_path))
            .route("/neg-risk", get(rest::neg_risk))
            .route("/fee-rate", get(rest::fee_rate))
            .route("/price", get(rest::price))
            .route("/prices", get(rest::prices_get).post(rest::prices_post))
            .route("/midpoint", get(rest::midpoint))
            .route(
                "/midpoints",
                get(rest::midpoints_get).post(rest::midpoints_post),
            )
            .route("/spread", get(rest::spread))
            .route("/spreads", get(rest::spreads_get).post(rest::spreads_post))
            .route("/last-trade-price", get(rest::last_trade_price))
            .route(
                "/last-trades-prices",
                get(rest::last_trades_prices_get).post(rest::last_trades_prices_post),
            )
            .route("/prices-history", get(rest::prices_history))
            .route("/markets", get(rest::markets))
            .route("/markets/{cid}", get(rest::market))
            .route("/simplified-markets", get(rest::simplified_markets))
            .route("/sampling-markets", get(rest::sampling_markets))
            .route(
                "/sampling-simplified-markets",
                get(rest::sampling_simplified_markets),
            )
            .route("/clob-markets/{cid}", get(rest::clob_market_info))
            .route("/markets-by-token/{token_id}", get(rest::market_by_token))
            .route("/gamma/markets", get(rest::gamma_markets))
            .route("/gamma/markets/keyset", get(rest::gamma_markets_keyset))
            .route("/gamma/markets/{id}", get(rest::gamma_market_by_id))
            .route("/gamma/events", get(rest::gamma_events))
            .route("/ws/market", get(ws::upgrade))
            .route("/_sim/faults", post(rest::inject_faults));
        let app = super::exchange::routes::add(app)
            .layer(axum::Extension(publish.clone()))
            .with_state(app_state);
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| SimError {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError {
            addr: config.bind,
            source,
        })?;
        let serve = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        let stepper_state = state.clone();
        let step_every = config.step_every;
        let stepper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(step_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let events = {
                    let mut s = stepper_state.lock().unwrap_or_else(|p| p.into_inner());
                    if s.finished() {
                        break;
                    }
                    s.step()
                };
                if !events.is_empty() {
                    // No subscribers is fine: nobody is listening yet.
                    let _ = publish.send(Arc::new(events));
                }
            }
            tracing::info!("simulator activity finished");
        });
        let wall_state = state.clone();
        let wall = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let mut s = wall_state.lock().unwrap_or_else(|p| p.into_inner());
                let clock = super::exchange::Clock {
                    venue_ms: s.now_ms,
                    wall_ms: crate::venue::polymarket::websocket::client::now_ms(),
                };
                s.exchange.on_wall_time(clock);
            }
        });
        tracing::info!(%addr, "simulator listening");
        Ok(SimServer {
            addr,
            faults,
            state,
            tasks: vec![serve, stepper, wall],
        })
    }

    /// Base URL of the CLOB REST paths.
    pub fn clob_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of the Gamma paths.
    pub fn gamma_url(&self) -> String {
        format!("http://{}/gamma", self.addr)
    }

    /// URL of the market channel.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/market", self.addr)
    }

    /// URL of the (authenticated) user channel.
    pub fn user_ws_url(&self) -> String {
        format!("ws://{}/ws/user", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
