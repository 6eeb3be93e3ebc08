//! The session loop shared by `paper`, `serve` and `live`: market-data
//! updates, clock ticks, market-list refreshes, resolution watches, operator
//! controls and deployments, taken in one select loop until stopped. The CLI
//! and the end-to-end tests drive the same loop.

mod markets;
mod resolutions;

pub use markets::{MAX_MARKETS, MarketSelector};
pub use resolutions::watch_resolutions;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::data::archive::{ArchiveError, MarketMeta, Recorder};
use crate::data::feed::{FeedConfig, FeedCounters, FeedMessage, LiveFeed};
use crate::data::update::{FeedUpdate, Source};
use crate::engine::{Engine, EngineError, deployments};
use crate::risk::RiskLimits;
use crate::strategy::ArtifactLibrary;
use crate::venue::polymarket::http::client::HttpError;
use crate::venue::polymarket::http::client::PolymarketHttp;
use crate::venue::{MarketSpec, Venue};

/// While a stop waits for cancels, how often it asks the venue's own view of
/// the orders still working.
const STOP_RECONCILE_EVERY: Duration = Duration::from_secs(1);

/// What stops a session loop other than its stop signal.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("recording the session: {0}")]
    Archive(#[from] ArchiveError),
    #[error("market feed: {0}")]
    Feed(#[from] HttpError),
    #[error("the market feed stopped")]
    FeedStopped,
    #[error("the session's observer failed: {0}")]
    Observer(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How often the loop does each of its periodic jobs, and when it ends.
#[derive(Clone)]
pub struct SessionSettings {
    pub feed: FeedConfig,
    pub markets: MarketSelector,
    /// How often the venue's list of open markets is asked again.
    pub markets_refresh: Duration,
    /// How often Gamma is asked about unsettled markets.
    pub resolution_watch: Duration,
    /// Clock ticks: timers, latencies, expiries, marks.
    pub tick: Duration,
    /// Operator controls, deployments and the observer's report.
    pub report: Duration,
    /// Host time (ns) at which the session ends by itself.
    pub deadline_ns: Option<u64>,
    /// A server also runs what is deployed to it, with these default limits.
    pub deployments: Option<(Arc<ArtifactLibrary>, RiskLimits)>,
    /// How often working orders are reconciled with the venue's account
    /// (a venue outside the process; `None`: never while running).
    pub reconcile_every: Option<Duration>,
}

impl SessionSettings {
    pub fn new(feed: FeedConfig, markets: MarketSelector) -> SessionSettings {
        SessionSettings {
            feed,
            markets,
            markets_refresh: Duration::from_secs(60),
            resolution_watch: Duration::from_secs(60),
            tick: Duration::from_millis(100),
            report: Duration::from_millis(500),
            deadline_ns: None,
            deployments: None,
            reconcile_every: None,
        }
    }
}

/// Told about the session every report interval (the dashboard's live view,
/// alerts, printed fills): the loop knows nothing of them.
pub trait SessionObserver<V: Venue> {
    fn on_report(
        &mut self,
        engine: &Engine<V>,
        feed: FeedCounters,
    ) -> impl Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>;
}

/// An observer that wants nothing.
pub struct Unobserved;

impl<V: Venue> SessionObserver<V> for Unobserved {
    async fn on_report(
        &mut self,
        _: &Engine<V>,
        _: FeedCounters,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
}

/// Why a session loop returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The stop signal fired.
    Stopped,
    /// The deadline passed.
    Deadline,
}

/// Host time now: wall-clock nanoseconds.
pub use crate::model::time::wall_ns;

/// An update without events: a clock tick in a recorded session, which a
/// backtest replays as the passage of time alone.
pub fn clock_tick(now_ns: u64) -> FeedUpdate {
    FeedUpdate {
        received_ms: now_ns / 1_000_000,
        source: Source::Rest,
        raw: String::new(),
        events: Vec::new(),
        errors: Vec::new(),
    }
}

/// A running engine, its feed and what the loop keeps between iterations.
pub struct Session<V: Venue> {
    engine: Engine<V>,
    http: PolymarketHttp,
    settings: SessionSettings,
    recorder: Option<Recorder>,
    counters: FeedCounters,
    /// When a reconciliation the venue asked for last ran: one that fails
    /// (the venue unreachable) is tried again a second later, not every tick.
    forced_at: Option<std::time::Instant>,
}

impl<V: Venue> Session<V> {
    /// A session of `engine` (already started); `recorder` receives every
    /// update the engine processes and every clock tick.
    pub fn new(
        engine: Engine<V>,
        settings: SessionSettings,
        recorder: Option<Recorder>,
    ) -> Result<Session<V>, RunError> {
        Ok(Session {
            engine,
            http: PolymarketHttp::new(settings.feed.http.clone())?,
            settings,
            recorder,
            counters: FeedCounters::default(),
            forced_at: None,
        })
    }

    pub fn engine(&self) -> &Engine<V> {
        &self.engine
    }

    /// Moves (or removes) the time the session ends by itself.
    pub fn set_deadline(&mut self, deadline_ns: Option<u64>) {
        self.settings.deadline_ns = deadline_ns;
    }

    pub fn feed(&self) -> FeedCounters {
        self.counters
    }

    /// Host time for the engine. A recorded session runs on the archive's
    /// millisecond clock, so a replay hands the engine exactly the times it had.
    pub fn now(&self) -> u64 {
        let now = wall_ns();
        if self.recorder.is_some() {
            now / 1_000_000 * 1_000_000
        } else {
            now
        }
    }

    /// Runs until `stop` fires or the deadline passes.
    pub async fn run<O: SessionObserver<V>>(
        &mut self,
        stop: impl Future<Output = ()>,
        observer: &mut O,
    ) -> Result<Ended, RunError> {
        let mut stop = std::pin::pin!(stop);
        // The feed runs while its handle lives; a new one replaces it (and
        // the old one's task ends) when the markets change.
        let (mut _feed, mut rx) =
            LiveFeed::start(self.settings.feed.clone(), self.engine.open_tokens())?;
        let now = self.now();
        watch_resolutions(&self.http, &mut self.engine, now, self.recorder.as_mut()).await?;
        let mut markets_refresh = interval(self.settings.markets_refresh, false);
        let mut resolution_watch = interval(self.settings.resolution_watch, false);
        let mut tick = interval(self.settings.tick, true);
        let mut report = interval(self.settings.report, true);
        // An interval's first tick is immediate; the periodic jobs above
        // have just been done (or need not be yet).
        markets_refresh.tick().await;
        resolution_watch.tick().await;
        let mut reconcile = self.settings.reconcile_every.map(|d| interval(d, true));
        if let Some(r) = reconcile.as_mut() {
            r.tick().await;
        }
        let wakeup = self.engine.venue().wakeup();
        loop {
            tokio::select! {
                () = &mut stop => return Ok(Ended::Stopped),
                () = woken(wakeup.as_deref()) => {
                    let now = self.now();
                    self.engine.on_time(now).await?;
                    self.reconcile_if_due().await?;
                }
                () = ticked(reconcile.as_mut()) => self.reconcile().await?,
                _ = tick.tick() => {
                    let now = self.now();
                    if self.settings.deadline_ns.is_some_and(|d| now >= d) {
                        return Ok(Ended::Deadline);
                    }
                    self.engine.on_time(now).await?;
                    self.reconcile_if_due().await?;
                    if let Some(r) = self.recorder.as_mut() {
                        r.record(&clock_tick(now)).await?;
                    }
                }
                _ = markets_refresh.tick() => {
                    if self.refresh_markets().await? {
                        (_feed, rx) = LiveFeed::start(self.settings.feed.clone(), self.engine.open_tokens())?;
                    }
                }
                _ = resolution_watch.tick() => {
                    let now = self.now();
                    watch_resolutions(&self.http, &mut self.engine, now, self.recorder.as_mut()).await?;
                }
                _ = report.tick() => {
                    self.engine.poll_controls().await?;
                    if let Some((library, limits)) = &self.settings.deployments {
                        deployments::apply_pending(&mut self.engine, library, limits).await?;
                    }
                    observer
                        .on_report(&self.engine, self.counters)
                        .await
                        .map_err(RunError::Observer)?;
                }
                msg = rx.recv() => self.on_feed(msg).await?,
            }
        }
    }

    /// Reconciles working orders (and booked trades not yet settled) with
    /// the venue's account.
    async fn reconcile(&mut self) -> Result<(), RunError> {
        let report = self.engine.reconcile_now().await?;
        if report.fills > 0 || report.ended > 0 {
            tracing::warn!(
                ?report,
                "reconciliation found what the venue had not reported"
            );
        }
        Ok(())
    }

    /// Reconciles at once when the venue may have missed reports (its user
    /// channel was down), not at the next interval.
    async fn reconcile_if_due(&mut self) -> Result<(), RunError> {
        let recent = self
            .forced_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if self.engine.reconcile_due() && !recent {
            self.forced_at = Some(std::time::Instant::now());
            self.reconcile().await?;
        }
        Ok(())
    }

    async fn on_feed(&mut self, msg: Option<FeedMessage>) -> Result<(), RunError> {
        match msg {
            Some(FeedMessage::Data { update, .. }) => {
                self.counters.connected = true;
                self.counters.updates += 1;
                self.counters.last_update_ms = Some(update.received_ms);
                let now = self.now();
                self.engine.on_update(&update, now).await?;
                if let Some(r) = self.recorder.as_mut() {
                    let mut seen = update.clone();
                    seen.received_ms = now / 1_000_000;
                    r.record(&seen).await?;
                }
            }
            Some(FeedMessage::Connection {
                connected: true, ..
            }) => self.counters.connected = true,
            Some(FeedMessage::Connection {
                connected: false,
                reason,
                ..
            }) => {
                self.counters.connected = false;
                self.counters.reconnects += 1;
                tracing::warn!(%reason, "market feed dropped; reconnecting");
            }
            Some(_) => {}
            None => return Err(RunError::FeedStopped),
        }
        Ok(())
    }

    /// Asks the venue for its open markets: new ones join, closed ones stop
    /// trading. Whether the session's markets changed (the feed must follow).
    async fn refresh_markets(&mut self) -> Result<bool, RunError> {
        let open = match self.settings.markets.open_on(&self.http).await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "markets refresh: the venue did not answer; asking again later");
                return Ok(false);
            }
        };
        let specs: Vec<MarketSpec> = open.iter().map(MarketSpec::from).collect();
        let change = self.engine.update_markets(&specs).await?;
        if change.is_empty() {
            return Ok(false);
        }
        if let Some(r) = self.recorder.as_ref() {
            let added: Vec<MarketMeta> = open
                .iter()
                .filter(|m| change.added.contains(&m.condition))
                .map(MarketMeta::from)
                .collect();
            r.archive()
                .save_markets(&added, wall_ns() / 1_000_000)
                .await?;
        }
        Ok(true)
    }

    /// Cancels every working order and waits (at most `within`) for the
    /// venue to confirm; how many are still working after that.
    ///
    /// An order the venue has ended can stay working here while its last
    /// fills are still on their way (a slow or broken account stream). Rather
    /// than leave it for the next start, the venue's own view of the account
    /// is asked every `STOP_RECONCILE_EVERY`: fills it made are booked once and
    /// the orders it ended are closed.
    pub async fn cancel_all_and_wait(&mut self, within: Duration) -> Result<usize, RunError> {
        self.engine.cancel_all().await?;
        let start = tokio::time::Instant::now();
        let until = start + within;
        let mut asked = start;
        while self.engine.working_orders() > 0 && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.now();
            self.engine.on_time(now).await?;
            let last_chance = until.saturating_duration_since(tokio::time::Instant::now())
                < Duration::from_millis(100);
            if self.engine.working_orders() > 0
                && (asked.elapsed() >= STOP_RECONCILE_EVERY || last_chance)
            {
                asked = tokio::time::Instant::now();
                self.reconcile().await?;
                // What reconciliation found still working is asked to go again.
                self.engine.cancel_all().await?;
            }
        }
        Ok(self.engine.working_orders())
    }

    /// Ends the session: strategies snapshot, the journal is flushed, the
    /// recording closed. The engine (for a summary) and how many updates and
    /// ticks were recorded.
    pub async fn finish(mut self) -> Result<(Engine<V>, Option<u64>), RunError> {
        self.engine.shutdown().await?;
        let recorded = match self.recorder {
            Some(r) => Some(r.finish().await?),
            None => None,
        };
        Ok((self.engine, recorded))
    }
}

/// Resolves when the venue wakes the loop (never without a venue that can).
async fn woken(wakeup: Option<&tokio::sync::Notify>) {
    match wakeup {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

/// Resolves at the interval's next tick (never without one).
async fn ticked(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn interval(every: Duration, skip_missed: bool) -> tokio::time::Interval {
    let mut i = tokio::time::interval(every.max(Duration::from_millis(1)));
    if skip_missed {
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    }
    i
}
