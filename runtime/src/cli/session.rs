//! What every trading session of the CLI shares: its feed and periodic
//! settings from the config, and what it shows while it runs.

use std::time::Duration;

use pqap::alerts::Alerter;
use pqap::config::Config;
use pqap::data::feed::{FeedConfig, FeedCounters};
use pqap::engine::Engine;
use pqap::engine::runner::{MarketSelector, SessionObserver, SessionSettings, wall_ns};
use pqap::venue::Venue;
use pqap::venue::polymarket::http::client::HttpConfig;
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::web::{Live, publish};

use super::paper_report::FillPrinter;

/// A session's feed (the venue's REST and market channel) and how often it
/// asks the venue for its markets and their resolutions, from the config.
pub(super) fn session_settings(
    http: HttpConfig,
    ws_url: String,
    selector: MarketSelector,
    config: &Config,
) -> SessionSettings {
    let mut settings = SessionSettings::new(
        FeedConfig {
            http,
            ws: WsConfig {
                url: ws_url,
                ..WsConfig::default()
            },
            ..FeedConfig::default()
        },
        selector,
    );
    settings.markets_refresh = Duration::from_secs(config.venue.markets_refresh_s.max(1));
    settings.resolution_watch = Duration::from_secs(config.venue.resolution_watch_s.max(1));
    settings
}

/// What a session shows while it runs: the dashboard's live view, alerts
/// (when serving) and new fills (unless quiet).
pub(super) struct PaperObserver {
    pub(super) live: Live,
    pub(super) alerter: Option<Alerter>,
    pub(super) printer: FillPrinter,
    pub(super) loud: bool,
}

impl PaperObserver {
    /// Keeps the live view only (fills are in the journal).
    pub(super) fn quiet(printer: FillPrinter) -> PaperObserver {
        PaperObserver {
            live: Live::default(),
            alerter: None,
            printer,
            loud: false,
        }
    }
}

impl<V: Venue> SessionObserver<V> for PaperObserver {
    async fn on_report(
        &mut self,
        engine: &Engine<V>,
        feed: FeedCounters,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        publish(&self.live, engine, feed, wall_ns() / 1_000_000);
        if let Some(a) = self.alerter.as_mut() {
            let now = self.live.read().map(|l| l.clone()).unwrap_or_default();
            a.observe(&now).await;
        }
        if self.loud {
            self.printer.print_new(engine.journal()).await?;
        }
        Ok(())
    }
}

/// What `pqap serve` adds to a session: the strategy library uploads go to,
/// and the strategies deployed to this server (a deployed strategy that
/// cannot start is reported, not fatal).
pub(super) async fn deployed_strategies(
    db: &std::path::Path,
    sandbox: std::sync::Arc<pqap::strategy::SandboxEngine>,
    config: &Config,
    journal: &pqap::store::Journal,
) -> anyhow::Result<(
    std::sync::Arc<pqap::strategy::ArtifactLibrary>,
    Vec<pqap::engine::StrategySetup>,
)> {
    let library = std::sync::Arc::new(pqap::strategy::ArtifactLibrary::beside(
        db,
        sandbox,
        config.sandbox.clone(),
    ));
    let (setups, problems) =
        pqap::engine::deployments::deployed_setups(journal.pool(), &library, &config.risk.strategy)
            .await?;
    for p in problems {
        tracing::error!(problem = %p, "a deployed strategy cannot start");
        eprintln!("not starting a deployed strategy: {p}");
    }
    Ok((library, setups))
}
