//! Command-line surface: argument parsing, logging set-up and dispatch. Each
//! command prints a human table by default and JSON with `--json`.

mod backtest;
mod backup;
mod data;
mod demo;
mod deploy;
mod duration;
mod live;
mod live_venue;
mod paper;
mod paper_report;
mod print;
mod reconcile;
mod reconcile_diff;
mod record;
mod remote;
mod report;
mod serve;
mod session;
mod sim;
mod strategy;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// PQAP: Polymarket quantitative automation platform.
#[derive(Debug, Parser)]
#[command(name = "pqap", version, about)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info` or `pqap=debug`.
    #[arg(long, global = true, env = "PQAP_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, build, validate and test strategy components.
    #[command(subcommand)]
    Strategy(strategy::StrategyCommand),
    /// Paper trade the example strategies for a minute against an in-process
    /// simulator (offline, no credentials).
    Demo(demo::DemoArgs),
    /// Backtest a strategy over archive partitions or a synthetic session with
    /// the same engine, fill simulator and journal as paper trading.
    Backtest(Box<backtest::BacktestArgs>),
    /// Paper trade strategies on live data (an in-process simulator unless the
    /// config names a venue) through the fill simulator; resumes after a restart.
    Paper(paper::PaperArgs),
    /// Trade on Polymarket's CLOB with real orders: needs `trading: live` in
    /// the config; `--shadow` signs orders and sends none.
    Live(live::LiveArgs),
    /// The journal against the live venue's account: missed fills, order
    /// fates and foreign orders; books them (and acts on foreign orders per
    /// `live.foreign_orders`) unless `--dry-run`.
    Reconcile(reconcile::ReconcileArgs),
    /// Run the engine with its strategies and the HTTP API (`/api/v1`,
    /// `/healthz`, `/readyz`, `/metrics`) until SIGTERM.
    Serve(serve::ServeArgs),
    /// Build, upload and deploy a strategy to an environment's server
    /// (`pqap deploy NAME --env prod`): started, hot-reloaded, or rolled back.
    Deploy(deploy::DeployArgs),
    /// Users of the server (`pqap user add NAME --role operator`).
    #[command(subcommand)]
    User(users::UserCommand),
    /// API tokens for the server's users (`pqap token create NAME`).
    #[command(subcommand)]
    Token(users::TokenCommand),
    /// Run a local, protocol-faithful Polymarket on 127.0.0.1 (REST + market
    /// WebSocket) with optional fault injection.
    Sim(sim::SimArgs),
    /// Record market data (payloads as received, plus decoded events) into the
    /// day-partitioned archive.
    Record(record::RecordArgs),
    /// The market-data archive: list, check, import, compact.
    Data(data::DataArgs),
    /// The environment at a glance: run, trading state, orders, faults.
    Status(report::Target),
    /// Shares held per strategy and token.
    Positions(report::Target),
    /// Latest fills, or one fill explained back to its cause (`--explain SEQ`).
    Trades(report::TradesArgs),
    /// PnL, volume, fees and attribution by reason tag over a period.
    Performance(report::PerformanceArgs),
    /// The journal: verify its hash chain and projections.
    #[command(subcommand)]
    Journal(report::JournalCommand),
    /// Switch the global trading state of the running engine: halt, reduce, resume.
    Risk(report::RiskArgs),
    /// Backups of the environment: take one while it runs, list, check, restore.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Strategy(cmd) => strategy::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Paper(args) => paper::run(args),
        Command::Live(args) => live::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Backtest(args) => backtest::run(*args),
        Command::Serve(args) => serve::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Sim(args) => sim::run(args),
        Command::User(cmd) => users::user(cmd),
        Command::Token(cmd) => users::token(cmd),
        Command::Record(args) => record::run(args),
        Command::Data(args) => data::run(args),
        Command::Status(t) => report::status(t),
        Command::Positions(t) => report::positions(t),
        Command::Trades(a) => report::trades(a),
        Command::Performance(a) => report::performance(a),
        Command::Journal(c) => report::journal(c),
        Command::Risk(a) => report::risk(a),
        Command::Backup(c) => backup::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
