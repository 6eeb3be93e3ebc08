//! `pqap live`: strategies trade on Polymarket's CLOB with real orders. Armed
//! only by `trading: live` in the config and this command; `--shadow` signs
//! every order and sends none. Before trading it checks the venue's order
//! version, the account's standing, reconciliation and a first heartbeat,
//! refusing on any failure, and prints what it will trade with.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pqap::config::{Config, TradingMode};
use pqap::data::feed::FeedCounters;
use pqap::engine::runner::{Session, wall_ns};
use pqap::engine::{Engine, EngineConfig, Registry, StrategySetup};
use pqap::store::{EngineLock, Journal};
use pqap::strategy::ClockMode;
use pqap::venue::polymarket::execution::Asset;
use pqap::venue::polymarket::execution::user_feed::UserFeedConfig;
use pqap::web::{Live, publish};
use rust_decimal::Decimal;
use serde::Serialize;

use super::duration;
use super::live_venue::{self, Endpoints};
use super::paper::{
    check_params_targets, resolve_artifact, sandbox_engine, settings_for, setup_of_flags,
};
use super::paper_report::FillPrinter;
use super::print;
use super::serve::RunningServer;
use super::session::{PaperObserver, deployed_strategies, session_settings};

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Strategies: crate names under `strategies/`, crate directories, or
    /// `.wasm` components.
    #[arg(required = true)]
    pub names: Vec<String>,
    #[arg(long, default_value = "configs/prod.yaml")]
    pub config: PathBuf,
    /// `all`, or a comma-separated list of market slugs or condition ids.
    #[arg(long)]
    pub markets: Option<String>,
    /// Database (default: the config's).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Stop after this long (e.g. 90s, 7d); default: until SIGTERM or Ctrl-C.
    #[arg(long, value_parser = duration::parse)]
    pub duration: Option<Duration>,
    /// Sign every order, send none: log what would have been sent.
    #[arg(long)]
    pub shadow: bool,
    /// Print the start summary and the end summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Parameter values per strategy, `STRATEGY.NAME=VALUE`.
    #[arg(long = "params", num_args = 1.., value_name = "STRATEGY.NAME=VALUE")]
    pub params: Vec<String>,
    /// Serve the HTTP API, dashboard and deployments on this address too
    /// (`pqap serve --live`).
    #[arg(skip)]
    pub serve: Option<std::net::SocketAddr>,
}

/// What a live session trades with (printed before it starts; no secret).
#[derive(Debug, Serialize)]
pub struct Armed {
    pub mode: &'static str,
    pub chain_id: u64,
    /// The key's address (signs orders, owns the API key).
    pub signer: String,
    /// The wallet whose funds trade.
    pub funder: String,
    pub api_key: String,
    /// Collateral (pUSD) the venue reports for the funder.
    pub balance: Decimal,
    pub markets: usize,
    pub strategies: Vec<String>,
    pub max_total_exposure: Option<Decimal>,
    pub max_open_orders: Option<u32>,
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(live(args))
}

pub async fn live(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let config = Config::load(&args.config, std::env::vars())?;
    if config.trading != TradingMode::Live && !args.shadow {
        anyhow::bail!(
            "{}: `trading: paper`. Live trading needs `trading: live` in the config (or PQAP_TRADING=live) \
             and `pqap live` (or `pqap serve --live`); `pqap live --shadow` signs orders without sending them",
            args.config.display()
        );
    }
    let endpoints = Endpoints::of(&config, &args.config)?;
    let live = &config.live;
    let reached = live_venue::connect(live, &endpoints.clob).await?;
    let (key, account, creds) = (reached.key.clone(), reached.account, reached.creds.clone());
    let client = &reached.client;
    anyhow::ensure!(
        !client
            .closed_only()
            .await
            .context("asking the account's standing")?,
        "account {} is closed-only at the venue (it may only close positions): not trading",
        key.address()
    );
    let balance = client
        .balance_allowance(&Asset::Collateral, account.signature_type.code())
        .await
        .context("asking the account's collateral balance")?;
    let balance = balance
        .balance
        .parse::<Decimal>()
        .map(|b| b / Decimal::from(1_000_000))
        .with_context(|| format!("the venue's balance `{}` is not a number", balance.balance))?;
    let first_beat = client
        .heartbeat(None)
        .await
        .context("the first heartbeat failed: not trading")?;

    let sandbox = sandbox_engine(&config)?;
    let mut setups: Vec<StrategySetup> = Vec::new();
    let mut artifacts = Vec::new();
    for name in &args.names {
        let artifact = resolve_artifact(&sandbox, name, &config.sandbox, args.json)?;
        let settings = settings_for(name)?;
        if let Some(s) = &settings {
            s.check_name(&artifact.info)?;
        }
        artifacts.push(artifact.clone());
        setups.push(setup_of_flags(
            artifact,
            settings.as_ref(),
            &args.params,
            args.markets.is_some(),
            &config,
        )?);
    }
    check_params_targets(&artifacts, &args.params)?;

    let http_config = endpoints.http();
    let (selector, markets) = live_venue::open_markets(&endpoints, args.markets.as_deref()).await?;
    anyhow::ensure!(!markets.is_empty(), "--markets: no open market matches");

    let mut venue = live_venue::venue(reached, live, &markets);
    if args.shadow {
        venue = venue.shadow();
    }
    venue.start_heartbeats(first_beat, Duration::from_secs(live.heartbeat_every_s));
    venue.start_user_feed(UserFeedConfig::beside_market(&endpoints.ws), creds.clone());
    let db = args.db.clone().unwrap_or_else(|| config.database.clone());
    let _lock = EngineLock::acquire(&db)?;
    let journal = Journal::open(&db).await?;
    // A server also runs what was deployed to it; a deployed strategy of the
    // same name replaces the one named on the command line.
    let library = match args.serve {
        Some(_) => {
            let (library, deployed) =
                deployed_strategies(&db, sandbox.clone(), &config, &journal).await?;
            setups.retain(|s| {
                !deployed
                    .iter()
                    .any(|d| d.artifact.info.name == s.artifact.info.name)
            });
            setups.extend(deployed);
            Some(library)
        }
        None => None,
    };
    let start_ns = wall_ns();
    let engine = Engine::start(
        EngineConfig {
            run_id: format!("live-{}", start_ns / 1_000_000),
            mode: ClockMode::Wall,
            seed: start_ns,
            sandbox: config.sandbox.clone(),
            global_limits: config.risk.global.clone(),
            mark_every_ns: config.mark_every_ms.saturating_mul(1_000_000),
            keep_quarantines: args.serve.is_some(),
        },
        Registry::new(markets.clone()),
        venue,
        journal,
        setups,
        start_ns,
    )
    .await
    .with_context(|| format!("starting the engine on {}", db.display()))?;
    if let Some(problem) = engine.unreconciled() {
        anyhow::bail!("reconciliation with the venue failed ({problem}): not trading");
    }
    let armed = Armed {
        mode: if args.shadow { "shadow" } else { "live" },
        chain_id: live.chain_id,
        signer: key.address().to_checksum(None),
        funder: account.maker.to_checksum(None),
        api_key: creds.api_key.clone(),
        balance,
        markets: markets.len(),
        strategies: engine.strategies().into_iter().map(|(_, n)| n).collect(),
        max_total_exposure: config.risk.global.max_total_exposure,
        max_open_orders: config.risk.global.max_open_orders,
    };
    if args.json {
        print::json(&armed)?;
    } else {
        eprintln!(
            "{} trading {} on {} markets as {} (funds {}, ${} collateral; exposure cap {}, open-order cap {}); journal {} (Ctrl-C stops)",
            armed.mode,
            armed.strategies.join(", "),
            armed.markets,
            armed.signer,
            armed.funder,
            armed.balance,
            armed
                .max_total_exposure
                .map_or("none".into(), |d| format!("${d}")),
            armed
                .max_open_orders
                .map_or("none".into(), |n| n.to_string()),
            db.display()
        );
    }

    let mut settings = session_settings(http_config, endpoints.ws.clone(), selector, &config);
    settings.reconcile_every = Some(Duration::from_secs(live.reconcile_every_s));
    settings.deadline_ns = args
        .duration
        .map(|d| start_ns.saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)));
    let live_view: Live = Default::default();
    if let Ok(mut l) = live_view.write() {
        l.started_ms = start_ns / 1_000_000;
        l.mode = armed.mode.into();
    }
    publish(
        &live_view,
        &engine,
        FeedCounters::default(),
        wall_ns() / 1_000_000,
    );
    let server = match args.serve {
        Some(addr) => Some(
            RunningServer::start(addr, live_view.clone(), &db, library.clone(), &config).await?,
        ),
        None => None,
    };
    let mut observer = PaperObserver {
        alerter: server.as_ref().map(|s| s.alerter.clone()),
        ..PaperObserver::quiet(FillPrinter::new(engine.journal()).await?)
    };
    observer.live = live_view;
    settings.deployments = library.map(|l| (l, config.risk.strategy.clone()));
    let mut session = Session::new(engine, settings, None)?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
    };
    session.run(stop, &mut observer).await?;
    // Nothing is left resting at the venue when a live session ends.
    let left = session.cancel_all_and_wait(Duration::from_secs(10)).await?;
    if left > 0 {
        tracing::warn!(
            left,
            "orders still working at the venue after 10 s of cancelling"
        );
    }
    let (engine, _) = session.finish().await?;
    if let Some(server) = server {
        server.stop().await;
    }
    let summary = LiveSummary {
        working_orders: engine.working_orders(),
        journal_entries: engine.journal().next_seq() - 1,
    };
    if args.json {
        print::json(&summary)?;
    } else {
        eprintln!(
            "stopped; {} orders still working; {} journal entries",
            summary.working_orders, summary.journal_entries
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct LiveSummary {
    working_orders: usize,
    journal_entries: i64,
}
