//! One market whose books a test sets by hand, and an engine running a strategy
//! that buys 10 shares at the ask on its first call (the hostile guest's
//! `buy_once`), for tests of positions, losses and settlement.

use pqap::data::update::{FeedUpdate, Source};
use pqap::engine::{Engine, EngineConfig, StrategySetup};
use pqap::execution::fees::FeeSchedule;
use pqap::execution::{FillConfig, FillSimulator};
use pqap::model::{BookLevel, MarketEvent, Price, Size};
use pqap::risk::RiskLimits;
use pqap::store::Journal;
use pqap::strategy::{ClockMode, SandboxLimits};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use rust_decimal::Decimal;

pub const START: u64 = 1_767_225_600_000_000_000;
const MS: u64 = 1_000_000;

/// One market whose books the test sets by hand, and a strategy that buys 10
/// shares at the ask on its first call.
pub struct HandMarket {
    pub g: Generator,
}

impl HandMarket {
    pub fn new() -> HandMarket {
        HandMarket {
            g: Generator::new(
                GeneratorConfig {
                    seed: 9,
                    markets: 1,
                    ..GeneratorConfig::default()
                },
                START / MS,
            ),
        }
    }

    /// Every token's book at bid `bid` / ask `bid + 0.02` (cents), at `now`.
    pub fn at(&self, bid_cents: u32, now: u64) -> FeedUpdate {
        let m = &self.g.markets()[0];
        let level = |cents: u32| BookLevel {
            price: Price::new(cents * 10_000).unwrap(),
            size: Size::from_shares(1_000).unwrap(),
        };
        FeedUpdate {
            received_ms: now / MS,
            source: Source::Ws { shard: 0 },
            raw: String::new(),
            events: m
                .tokens
                .iter()
                .map(|(token, _)| MarketEvent::Book {
                    token: token.clone(),
                    market: m.condition.clone(),
                    ts_ms: now / MS,
                    bids: vec![level(bid_cents)],
                    asks: vec![level(bid_cents + 2)],
                    hash: None,
                    tick: Some(Price::new(10_000).unwrap()),
                })
                .collect(),
            errors: vec![],
        }
    }

    /// The market's registry (no fees).
    pub fn registry(&self) -> pqap::engine::Registry {
        super::session::registry(&self.g, FeeSchedule::FREE)
    }

    /// An engine on the fill simulator, the strategy's daily loss limit and
    /// the global one as given.
    pub async fn engine(
        &self,
        db: &std::path::Path,
        strategy_loss: Option<u32>,
        global_loss: Option<u32>,
        start: u64,
    ) -> Engine<FillSimulator> {
        let venue = FillSimulator::for_markets(FillConfig::default(), self.registry().markets());
        self.engine_on(db, venue, strategy_loss, global_loss, start)
            .await
    }

    /// An engine on `venue`.
    pub async fn engine_on<V: pqap::venue::Venue>(
        &self,
        db: &std::path::Path,
        venue: V,
        strategy_loss: Option<u32>,
        global_loss: Option<u32>,
        start: u64,
    ) -> Engine<V> {
        let registry = self.registry();
        let config = EngineConfig {
            run_id: "loss".into(),
            mode: ClockMode::Simulated,
            seed: 3,
            sandbox: SandboxLimits::default(),
            global_limits: RiskLimits {
                max_daily_loss: global_loss.map(Decimal::from),
                ..RiskLimits::default()
            },
            mark_every_ns: 60_000_000_000,
            keep_quarantines: false,
        };
        let setups = vec![StrategySetup {
            markets: Vec::new(),
            artifact: super::load(
                &super::guest(
                    "tests/guests/hostile",
                    pqap::strategy::build::GuestTarget::UnknownUnknown,
                ),
                &SandboxLimits::default(),
            ),
            params: vec![pqap::strategy::bindings::types::Param {
                name: "mode".into(),
                value: pqap::strategy::bindings::types::ParamValue::Text("buy_once".into()),
            }],
            limits: RiskLimits {
                max_daily_loss: strategy_loss.map(Decimal::from),
                ..RiskLimits::default()
            },
        }];
        let journal = Journal::open(db).await.unwrap();
        Engine::start(config, registry, venue, journal, setups, start)
            .await
            .unwrap()
    }
}
