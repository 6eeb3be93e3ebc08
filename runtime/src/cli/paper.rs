//! `pqap paper`: runs strategies on live market data (an in-process `pqap sim`
//! unless the config names a venue) through the fill simulator, with risk checks
//! and the journal, until a duration, a time or Ctrl-C/SIGTERM. A restart on the
//! same database resumes: positions, open orders and strategy state come back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pqap::config::{Config, ShutdownOrders};
use pqap::data::archive::{Archive, MarketMeta};
use pqap::data::feed::FeedCounters;
use pqap::engine::runner::{MarketSelector, Session, clock_tick, wall_ns};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::execution::FillSimulator;
use pqap::model::time::parse_day;
use pqap::store::{EngineLock, Journal};
use pqap::strategy::build::{BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::{
    Artifact, ClockMode, EngineOptions, SandboxEngine, SandboxLimits, StrategySettings,
};
use pqap::venue::MarketSpec;
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::http::markets::DiscoveredMarket;
use pqap::venue::sim::SimServer;
use pqap::web::{Live, publish};

use super::duration;
use super::paper_report::{FillPrinter, print_summary, summarize};
use super::serve::RunningServer;
use super::session::{PaperObserver, deployed_strategies, session_settings};

#[derive(Debug, Args)]
pub struct PaperArgs {
    /// Strategies: crate names under `strategies/`, crate directories, or `.wasm`
    /// components.
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(long, default_value = "configs/dev.yaml")]
    pub config: PathBuf,
    /// Stop after this long (e.g. 90s, 7d).
    #[arg(long, value_parser = duration::parse)]
    pub duration: Option<Duration>,
    /// Stop at this UTC time: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`.
    #[arg(long, value_parser = parse_until)]
    pub until: Option<u64>,
    /// `all`, or a comma-separated list of market slugs or condition ids: the
    /// session's markets, for every strategy. Without it, every open market,
    /// each strategy trading those its `strategy.yaml` names (all if none).
    #[arg(long)]
    pub markets: Option<String>,
    /// Database (default: the config's).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Print only the summary.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON (fills are not printed).
    #[arg(long)]
    pub json: bool,
    /// Record every update the engine processes, and every clock tick, into this
    /// archive, on a millisecond clock, so `pqap backtest` over the recording
    /// replays the session exactly.
    #[arg(long, value_name = "ARCHIVE_DIR")]
    pub record: Option<PathBuf>,
    /// Parameter values per strategy, `STRATEGY.NAME=VALUE` (the strategy's
    /// name as it describes itself, e.g. `market_maker.size=5`), checked
    /// against its schema.
    #[arg(long = "params", num_args = 1.., value_name = "STRATEGY.NAME=VALUE")]
    pub params: Vec<String>,
    /// Seed of the strategies' randomness (default: the start time).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Serve the HTTP API and health endpoints on this address (`pqap serve`).
    #[arg(skip)]
    pub serve: Option<std::net::SocketAddr>,
}

/// `--until`: a UTC day or second, as host nanoseconds.
fn parse_until(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').ok_or_else(bad)?)),
        None => (text, None),
    };
    let day_ms = parse_day(date).ok_or_else(bad)?;
    let secs = match time {
        None => 0,
        Some(t) => {
            let p: Vec<u64> = t
                .split(':')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            match p.as_slice() {
                [h, m, s] if *h < 24 && *m < 60 && *s < 60 => h * 3600 + m * 60 + s,
                _ => return Err(bad()),
            }
        }
    };
    u64::try_from(day_ms)
        .ok()
        .and_then(|ms| ms.checked_add(secs * 1_000))
        .and_then(|ms| ms.checked_mul(1_000_000))
        .ok_or_else(bad)
}

/// The compiled-component engine, with the configured cache.
pub fn sandbox_engine(config: &Config) -> anyhow::Result<Arc<SandboxEngine>> {
    Ok(Arc::new(SandboxEngine::new(EngineOptions {
        cache_dir: config
            .compiled_cache
            .clone()
            .or_else(pqap::strategy::engine::default_cache_dir),
        ..EngineOptions::default()
    })?))
}

/// A `.wasm` file, a crate directory, or a crate under `strategies/` (here or
/// in the source tree this binary was built from), built if needed.
pub fn resolve_artifact(
    engine: &Arc<SandboxEngine>,
    name: &str,
    limits: &SandboxLimits,
    quiet: bool,
) -> anyhow::Result<Arc<Artifact>> {
    let bytes = artifact_bytes(engine, name, limits, quiet)?;
    engine
        .load(&bytes, limits)
        .with_context(|| format!("loading {name}"))
}

/// The crate directory `name` names: a directory, or a crate under
/// `strategies/` (here or in the source tree this binary was built from).
pub fn crate_dir(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e == "wasm") {
        return None;
    }
    let source_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        path.to_path_buf(),
        Path::new("strategies").join(name),
        source_tree.join("strategies").join(name),
    ]
    .into_iter()
    .find(|d| d.join("Cargo.toml").is_file())
}

/// The `strategy.yaml` of the crate `name` names, if it has one.
pub fn settings_for(name: &str) -> anyhow::Result<Option<StrategySettings>> {
    Ok(match crate_dir(name) {
        Some(dir) => StrategySettings::beside(&dir)?,
        None => None,
    })
}

/// The component bytes `name` resolves to (see [`resolve_artifact`]).
pub fn artifact_bytes(
    engine: &Arc<SandboxEngine>,
    name: &str,
    limits: &SandboxLimits,
    quiet: bool,
) -> anyhow::Result<Vec<u8>> {
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e == "wasm") {
        return std::fs::read(path).with_context(|| format!("reading {name}"));
    }
    let dir = crate_dir(name).ok_or_else(|| {
        anyhow::anyhow!(
            "strategy `{name}`: not a .wasm file, a crate directory, or a crate under strategies/"
        )
    })?;
    if !quiet {
        eprintln!("building {} ...", dir.display());
    }
    let built = build_strategy(
        engine,
        &BuildOptions {
            crate_dir: dir.clone(),
            target: GuestTarget::UnknownUnknown,
            out_dir: None,
            target_dir: None,
        },
        limits,
    )
    .with_context(|| format!("building {}", dir.display()))?;
    std::fs::read(&built.wasm).with_context(|| format!("reading {}", built.wasm.display()))
}

/// The `--params` meant for `artifact` (`STRATEGY.NAME=VALUE` whose strategy
/// is its name), checked against its schema.
/// How one strategy named on the command line runs: its `strategy.yaml`
/// (parameters, markets, risk limits) under the flags (`--params` per key,
/// `--markets` for all), over the config's per-strategy limits.
fn setup_of(
    artifact: Arc<Artifact>,
    settings: Option<&StrategySettings>,
    args: &PaperArgs,
    config: &Config,
) -> anyhow::Result<StrategySetup> {
    setup_of_flags(
        artifact,
        settings,
        &args.params,
        args.markets.is_some(),
        config,
    )
}

/// [`setup_of`] from the flags themselves: `--params`, and whether
/// `--markets` was given (it overrides the markets of `strategy.yaml`).
pub(super) fn setup_of_flags(
    artifact: Arc<Artifact>,
    settings: Option<&StrategySettings>,
    params: &[String],
    markets_flag: bool,
    config: &Config,
) -> anyhow::Result<StrategySetup> {
    let prefix = format!("{}.", artifact.info.name);
    let flags: Vec<String> = params
        .iter()
        .filter_map(|a| a.strip_prefix(&prefix))
        .map(str::to_string)
        .collect();
    let (params, limits, markets) = match settings {
        Some(s) => (
            s.params_for(&artifact.info, &flags)?,
            s.limits_over(&config.risk.strategy)?,
            if markets_flag {
                Vec::new()
            } else {
                s.markets.clone()
            },
        ),
        None => (
            pqap::strategy::parse_assignments(&artifact.info, &flags)
                .with_context(|| format!("--params for strategy `{}`", artifact.info.name))?,
            config.risk.strategy.clone(),
            Vec::new(),
        ),
    };
    Ok(StrategySetup {
        artifact,
        params,
        limits,
        markets,
    })
}

/// Every `--params` names one of the strategies run, by its name.
pub(super) fn check_params_targets(
    artifacts: &[Arc<Artifact>],
    all: &[String],
) -> anyhow::Result<()> {
    for a in all {
        let target = a
            .split_once('.')
            .map(|(s, _)| s)
            .filter(|s| !s.contains('='));
        match target {
            Some(s) if artifacts.iter().any(|x| x.info.name == s) => {}
            Some(s) => anyhow::bail!(
                "--params {a}: no strategy `{s}` is run (running: {})",
                artifacts
                    .iter()
                    .map(|x| x.info.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => anyhow::bail!("--params {a}: expected STRATEGY.NAME=VALUE"),
        }
    }
    Ok(())
}

pub fn run(args: PaperArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(paper(args))
}

pub async fn paper(args: PaperArgs) -> anyhow::Result<ExitCode> {
    // First of all: a SIGTERM that arrives while starting (a server announces
    // its address before its loop runs) must stop it gracefully, not kill it.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let config = Config::load(&args.config, std::env::vars())?;
    let loud = !args.quiet && !args.json;
    let sandbox = sandbox_engine(&config)?;
    let mut artifacts = Vec::new();
    let mut settings = Vec::new();
    for name in &args.names {
        let artifact = resolve_artifact(&sandbox, name, &config.sandbox, !loud)?;
        let s = settings_for(name)?;
        if let Some(s) = &s {
            s.check_name(&artifact.info)?;
        }
        artifacts.push(artifact);
        settings.push(s);
    }
    check_params_targets(&artifacts, &args.params)?;

    let mut _sim = None;
    let v = &config.venue;
    let (clob, gamma, ws) = match (&v.clob_url, &v.gamma_url, &v.ws_url) {
        (Some(c), Some(g), Some(w)) => (c.clone(), g.clone(), w.clone()),
        _ => {
            let sim = SimServer::synthetic(v.sim_seed, v.sim_step_ms).await?;
            if loud {
                eprintln!("in-process simulator at {}", sim.clob_url());
            }
            let urls = (sim.clob_url(), sim.gamma_url(), sim.ws_url());
            _sim = Some(sim);
            urls
        }
    };
    let http_config = HttpConfig {
        clob_url: clob,
        gamma_url: gamma,
        ..HttpConfig::default()
    };
    let http = PolymarketHttp::new(http_config.clone())?;
    let markets_flag = args.markets.as_deref().unwrap_or("all");
    let selector = MarketSelector::parse(markets_flag);
    let listed: Vec<DiscoveredMarket> = selector
        .open_on(&http)
        .await
        .context("listing open markets")?;
    let markets: Vec<MarketSpec> = listed.iter().map(MarketSpec::from).collect();
    anyhow::ensure!(
        !markets.is_empty(),
        "--markets {markets_flag}: no open market matches"
    );
    let venue = FillSimulator::for_markets(config.execution.clone(), &markets);
    let registry = Registry::new(markets.clone());

    let db = args.db.clone().unwrap_or_else(|| config.database.clone());
    // Held until the session ends: one engine per journal.
    let _lock = EngineLock::acquire(&db)?;
    let journal = Journal::open(&db).await?;
    // A server also runs what was deployed to it, from its strategy library.
    let (library, deployed) = match args.serve {
        Some(_) => {
            let (library, deployed) =
                deployed_strategies(&db, sandbox.clone(), &config, &journal).await?;
            (Some(library), deployed)
        }
        None => (None, Vec::new()),
    };
    let mut recorder = match &args.record {
        Some(dir) => {
            let archive = Archive::open(dir).await?;
            archive
                .save_markets(
                    &listed.iter().map(MarketMeta::from).collect::<Vec<_>>(),
                    wall_ns() / 1_000_000,
                )
                .await?;
            Some(archive.recorder().with_batch(256))
        }
        None => None,
    };
    // A recorded session runs on the archive's millisecond clock (see
    // `Session::now`), from its first instant on.
    let start_ns = match recorder {
        Some(_) => wall_ns() / 1_000_000 * 1_000_000,
        None => wall_ns(),
    };
    let mut setups: Vec<StrategySetup> = artifacts
        .into_iter()
        .zip(settings)
        .filter(|(a, _)| {
            let replaced = deployed.iter().any(|d| d.artifact.info.name == a.info.name);
            if replaced {
                eprintln!(
                    "strategy `{}`: running its deployed version, not the one named on the command line",
                    a.info.name
                );
            }
            !replaced
        })
        .map(|(artifact, s)| setup_of(artifact, s.as_ref(), &args, &config))
        .collect::<anyhow::Result<_>>()?;
    setups.extend(deployed);
    let engine_config = EngineConfig {
        run_id: format!("paper-{}", start_ns / 1_000_000),
        mode: ClockMode::Wall,
        seed: args.seed.unwrap_or(start_ns),
        sandbox: config.sandbox.clone(),
        global_limits: config.risk.global.clone(),
        mark_every_ns: config.mark_every_ms.saturating_mul(1_000_000),
        keep_quarantines: args.serve.is_some(),
    };
    let engine = Engine::start(engine_config, registry, venue, journal, setups, start_ns)
        .await
        .with_context(|| format!("starting the engine on {}", db.display()))?;
    if let Some(r) = recorder.as_mut() {
        r.record(&clock_tick(start_ns)).await?;
    }
    let live: Live = Default::default();
    if let Ok(mut l) = live.write() {
        l.started_ms = start_ns / 1_000_000;
        l.mode = "paper".into();
    }
    publish(
        &live,
        &engine,
        FeedCounters::default(),
        wall_ns() / 1_000_000,
    );
    let server = match args.serve {
        Some(addr) => {
            Some(RunningServer::start(addr, live.clone(), &db, library.clone(), &config).await?)
        }
        None => None,
    };
    if loud {
        eprintln!(
            "paper trading {} on {} markets; journal {} (Ctrl-C stops)",
            engine
                .strategies()
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            markets.len(),
            db.display()
        );
    }

    let mut observer = PaperObserver {
        alerter: server.as_ref().map(|s| s.alerter.clone()),
        printer: FillPrinter::new(engine.journal()).await?,
        live,
        loud,
    };
    let mut settings = session_settings(http_config, ws, selector, &config);
    settings.deadline_ns = [
        args.duration
            .map(|d| start_ns.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))),
        args.until,
    ]
    .into_iter()
    .flatten()
    .min();
    settings.deployments = library.map(|l| (l, config.risk.strategy.clone()));
    let mut session = Session::new(engine, settings, recorder)?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    session.run(stop, &mut observer).await?;
    if args.serve.is_some() && config.server.on_shutdown == ShutdownOrders::Cancel {
        // The venue confirms cancels after its latency; wait for that so the
        // journal ends with nothing working.
        let left = session.cancel_all_and_wait(Duration::from_secs(5)).await?;
        if left > 0 {
            tracing::warn!(
                left,
                "orders still working at shutdown: the venue did not confirm their cancels within 5 s"
            );
        }
    }
    let feed = session.feed();
    let (engine, recorded) = session.finish().await?;
    if let Some(server) = server {
        server.stop().await;
    }
    if let (Some(recorded), true) = (recorded, loud) {
        eprintln!("recorded {recorded} updates and clock ticks");
    }
    if loud {
        observer.printer.print_new(engine.journal()).await?;
    }
    let runtime_s = wall_ns().saturating_sub(start_ns) / 1_000_000_000;
    let summary = summarize(
        &engine,
        &db,
        markets.len(),
        runtime_s,
        feed.updates,
        feed.reconnects,
    )
    .await?;
    print_summary(&summary, args.json)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_accepts_a_day_or_a_utc_second() {
        // 2026-12-01 is day 20 788 since 1970-01-01.
        let day = 20_788 * 86_400 * 1_000_000_000u64;
        assert_eq!(parse_until("2026-12-01"), Ok(day));
        assert_eq!(
            parse_until("2026-12-01T10:00:05Z"),
            Ok(day + 36_005 * 1_000_000_000)
        );
        for bad in [
            "2026-13-01",
            "2026-12-01T10:00:05",
            "2026-12-01T24:00:00Z",
            "tomorrow",
        ] {
            assert!(parse_until(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
