//! `pqap sim`: runs the local Polymarket until interrupted (or for `--duration`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pqap::venue::polymarket::websocket::client::now_ms;
use pqap::venue::sim::exchange::{AccountConfig, ExchangeConfig};
use pqap::venue::sim::faults::FaultRequest;
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};

use super::duration;
use super::print;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to serve on (loopback unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:8765")]
    bind: SocketAddr,
    /// Allow binding a non-loopback address.
    #[arg(long)]
    allow_remote: bool,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value_t = 3)]
    markets: u32,
    /// Wall time between steps (each step is one venue update round).
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    step: Duration,
    /// Resolve every market after this many steps.
    #[arg(long)]
    resolve_after: Option<u64>,
    /// Resolve only the first N markets (at --resolve-after).
    #[arg(long)]
    resolve_markets: Option<u32>,
    /// Resolve this market (by index) 50-50: every share pays 0.5. The market
    /// channel sends nothing for it; Gamma shows the final prices.
    #[arg(long)]
    fifty_fifty: Option<u32>,
    /// Open one more market after this many steps (listed, with books).
    #[arg(long)]
    add_market_after: Option<u64>,
    /// Stop after this long (e.g. 10m); default: until Ctrl-C.
    #[arg(long, value_parser = duration::parse)]
    duration: Option<Duration>,
    /// Close every market socket this often.
    #[arg(long, value_parser = duration::parse)]
    drop_every: Option<Duration>,
    /// Lose a few book updates this often.
    #[arg(long, value_parser = duration::parse)]
    gap_every: Option<Duration>,
    /// Stop sending market data for 5 s this often.
    #[arg(long, value_parser = duration::parse)]
    stall_every: Option<Duration>,
    /// Send a crossed book change this often.
    #[arg(long, value_parser = duration::parse)]
    crossed_every: Option<Duration>,
    /// Send malformed frames this often.
    #[arg(long, value_parser = duration::parse)]
    malformed_every: Option<Duration>,
    /// Replay a recorded day (YYYY-MM-DD) from the archive instead of the
    /// synthetic generator, one recorded payload per step.
    #[arg(long)]
    replay: Option<String>,
    #[arg(long, default_value = "data/archive")]
    archive: std::path::PathBuf,
    /// Fund a trading account: `0xADDRESS=DOLLARS` of pUSD (repeatable).
    #[arg(long = "fund", value_parser = parse_fund_arg)]
    fund: Vec<(alloy_primitives::Address, u64)>,
    /// Chain id the exchange verifies signatures for.
    #[arg(long, default_value_t = 137)]
    chain_id: u64,
    /// Silence after a key's last heartbeat that cancels its orders.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    heartbeat_timeout: Duration,
    /// Print the endpoints as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_fund_arg(s: &str) -> Result<(alloy_primitives::Address, u64), String> {
    pqap::venue::sim::exchange::parse_fund(s).map_err(|e| e.to_string())
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.allow_remote || args.bind.ip().is_loopback(),
        "--bind {} is not a loopback address; pass --allow-remote to expose the simulator",
        args.bind
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: SimArgs) -> anyhow::Result<ExitCode> {
    let activity = match &args.replay {
        Some(day) => {
            let archive = pqap::data::archive::Archive::open(&args.archive).await?;
            Activity::Replay(archive.replay_session(day).await?.into())
        }
        None => Activity::Synthetic(Generator::new(
            GeneratorConfig {
                seed: args.seed,
                markets: args.markets,
                step_ms: args.step.as_millis() as u64,
                resolve_after: args.resolve_after,
                resolve_markets: args.resolve_markets,
                fifty_fifty: args.fifty_fifty,
                add_market_after: args.add_market_after,
                ..GeneratorConfig::default()
            },
            now_ms(),
        )),
    };
    let sim = SimServer::start(
        SimConfig {
            bind: args.bind,
            step_every: args.step,
            exchange: ExchangeConfig {
                chain_id: args.chain_id,
                heartbeat_timeout_ms: args.heartbeat_timeout.as_millis() as u64,
                accounts: args
                    .fund
                    .iter()
                    .map(|(a, units)| {
                        (
                            *a,
                            AccountConfig {
                                collateral: *units,
                                ..AccountConfig::default()
                            },
                        )
                    })
                    .collect(),
                ..ExchangeConfig::default()
            },
        },
        activity,
    )
    .await?;
    let endpoints = serde_json::json!({
        "clob_url": sim.clob_url(),
        "gamma_url": sim.gamma_url(),
        "ws_url": sim.ws_url(),
        "user_ws_url": sim.user_ws_url(),
        "faults_url": format!("{}/_sim/faults", sim.clob_url()),
    });
    if args.json {
        print::json(&endpoints)?;
    } else {
        println!("pqap sim on {}", sim.addr);
        println!("  CLOB REST   {}", sim.clob_url());
        println!("  Gamma REST  {}", sim.gamma_url());
        println!("  market WS   {}", sim.ws_url());
        println!("  user WS     {}", sim.user_ws_url());
        for (address, units) in &args.fund {
            println!("  funded      {address} with {} pUSD", units / 1_000_000);
        }
        println!("  faults      POST {}/_sim/faults", sim.clob_url());
    }
    let schedule: Vec<(Duration, FaultRequest)> = [
        (
            args.drop_every,
            FaultRequest {
                drop: true,
                ..FaultRequest::default()
            },
        ),
        (
            args.gap_every,
            FaultRequest {
                gap: 5,
                ..FaultRequest::default()
            },
        ),
        (
            args.stall_every,
            FaultRequest {
                stall_ms: 5_000,
                ..FaultRequest::default()
            },
        ),
        (
            args.crossed_every,
            FaultRequest {
                crossed: true,
                ..FaultRequest::default()
            },
        ),
        (
            args.malformed_every,
            FaultRequest {
                malformed: 3,
                ..FaultRequest::default()
            },
        ),
    ]
    .into_iter()
    .filter_map(|(every, req)| every.map(|e| (e, req)))
    .collect();
    for (every, req) in schedule {
        let faults = sim.faults.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                faults.inject(&req, now_ms());
            }
        });
    }
    match args.duration {
        Some(d) => {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
