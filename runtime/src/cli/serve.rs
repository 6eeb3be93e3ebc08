//! `pqap serve`: the long-lived process — the engine with its strategies, trading
//! paper against the configured venue (an in-process simulator when none is
//! set), or live with `--live` (as `pqap live` does), plus the HTTP API, `/healthz`, `/readyz` and `/metrics`. Stops cleanly on
//! SIGTERM or Ctrl-C: strategies snapshot, the journal is flushed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use clap::Args;
use pqap::config::Config;
use pqap::store::Journal;
use pqap::strategy::ArtifactLibrary;
use pqap::web::{FailureLimiter, Live, ServerState, WebError};

use super::duration;
use super::live::LiveArgs;
use super::paper::{PaperArgs, run as run_paper};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Strategies to run besides those deployed to this server: crate names
    /// under `strategies/`, crate directories, or `.wasm` components. A
    /// deployed strategy of the same name runs its deployed version.
    pub names: Vec<String>,
    #[arg(long, default_value = "configs/prod.yaml")]
    pub config: PathBuf,
    /// Address of the HTTP server (default: the config's `server.bind`,
    /// 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// `all`, or a comma-separated list of market slugs or condition ids.
    #[arg(long)]
    pub markets: Option<String>,
    /// Database (default: the config's).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Stop after this long (default: until SIGTERM or Ctrl-C).
    #[arg(long, value_parser = duration::parse)]
    pub duration: Option<Duration>,
    /// Parameter values of the strategies named here, `STRATEGY.NAME=VALUE`.
    #[arg(long = "params", num_args = 1.., value_name = "STRATEGY.NAME=VALUE")]
    pub params: Vec<String>,
    /// Trade live on the configured venue, as `pqap live` does (needs
    /// `trading: live` in the config; the same checks before the first order).
    #[arg(long)]
    pub live: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let bind = match args.bind {
        Some(b) => b,
        None => Config::load(&args.config, std::env::vars())?.server.bind,
    };
    if args.live {
        return super::live::run(LiveArgs {
            names: args.names,
            config: args.config,
            markets: args.markets,
            db: args.db,
            duration: args.duration,
            shadow: false,
            json: false,
            params: args.params,
            serve: Some(bind),
        });
    }
    run_paper(PaperArgs {
        names: args.names,
        config: args.config,
        duration: args.duration,
        until: None,
        markets: args.markets,
        db: args.db,
        quiet: true,
        json: false,
        record: None,
        params: args.params,
        seed: None,
        serve: Some(bind),
    })
}

/// The HTTP server beside a running engine.
pub struct RunningServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), WebError>>,
    /// Answers Telegram commands while the server runs.
    telegram: Option<tokio::task::JoinHandle<()>>,
    /// Takes the scheduled backups (`backups.every_s`).
    backups: Option<tokio::task::JoinHandle<()>>,
    /// Where the server's alerts go (the session's observer raises them too).
    pub alerter: pqap::alerts::Alerter,
}

impl RunningServer {
    /// Binds `addr` and serves `live` and the database `db`; uploads go to
    /// `library`. Prints `serving http://ADDR` once listening.
    pub async fn start(
        addr: SocketAddr,
        live: Live,
        db: &std::path::Path,
        library: Option<Arc<ArtifactLibrary>>,
        config: &pqap::config::Config,
    ) -> anyhow::Result<RunningServer> {
        let server = &config.server;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let auth = pqap::store::auth_db::open_auth(db).await?;
        let state = ServerState {
            auth,
            live,
            journal: Arc::new(Journal::open(db).await?),
            limiter: FailureLimiter::default(),
            artifacts: library,
            view: Default::default(),
            secure_cookies: server.secure_cookies(),
            metrics_public: server.metrics_public(addr),
            trusted_proxies: server.trusted_proxies.clone().into(),
            backtests_dir: db
                .parent()
                .map_or_else(|| "backtests".into(), |d| d.join("backtests")),
        };
        let alerter =
            pqap::alerts::Alerter::from_config(state.journal.pool().clone(), &config.alerts)?;
        let backups = config.backups.every_s.map(|every| {
            super::backup::schedule(
                db.to_path_buf(),
                config.backups.clone(),
                Duration::from_secs(every),
                alerter.clone(),
            )
        });
        let telegram = match &config.alerts.telegram {
            Some(t) => Some(pqap::alerts::telegram::listen(t, state.clone())?),
            None => None,
        };
        let task = tokio::spawn(pqap::web::serve(addr, state, bound_tx, async {
            let _ = stopped.await;
        }));
        let bound = bound_rx
            .await
            .map_err(|_| anyhow::anyhow!("the HTTP server did not start on {addr}"))?;
        // Machine-readable for scripts and tests, even with --quiet.
        eprintln!("serving http://{bound}");
        Ok(RunningServer {
            stop,
            task,
            telegram,
            backups,
            alerter,
        })
    }

    /// Stops accepting, lets requests in flight finish (at most 10 s).
    pub async fn stop(self) {
        if let Some(t) = &self.telegram {
            t.abort();
        }
        if let Some(b) = &self.backups {
            b.abort();
        }
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
            Err(_) => tracing::warn!("the HTTP server did not stop within 10 s"),
            _ => {}
        }
    }
}
