//! `pqap record`: subscribes to markets (on Polymarket, or an in-process `pqap sim`
//! with `--sim`) and writes every payload into the day-partitioned archive.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pqap::data::archive::{Archive, MarketMeta};
use pqap::data::feed::{FeedConfig, FeedMessage, LiveFeed};
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::http::markets::open_markets;
use pqap::venue::polymarket::websocket::client::WsConfig;
use pqap::venue::sim::SimServer;

use super::{duration, print};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// `all`, or a comma-separated list of market slugs or condition ids.
    #[arg(long, default_value = "all")]
    markets: String,
    /// Stop after this long (e.g. 10m); default: until Ctrl-C.
    #[arg(long, value_parser = duration::parse)]
    duration: Option<Duration>,
    #[arg(long, default_value = "data/archive")]
    archive: PathBuf,
    /// Record an in-process simulator instead of a venue.
    #[arg(long)]
    sim: bool,
    #[arg(long, default_value_t = 7)]
    sim_seed: u64,
    #[arg(long, default_value = "https://clob.polymarket.com")]
    clob: String,
    #[arg(long, default_value = "https://gamma-api.polymarket.com")]
    gamma: String,
    #[arg(
        long,
        default_value = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    )]
    ws: String,
    #[arg(long)]
    json: bool,
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(record(args))
}

async fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let mut _sim = None;
    let (clob, gamma, ws) = if args.sim {
        let sim = SimServer::synthetic(args.sim_seed, 500).await?;
        let urls = (sim.clob_url(), sim.gamma_url(), sim.ws_url());
        _sim = Some(sim);
        urls
    } else {
        (args.clob.clone(), args.gamma.clone(), args.ws.clone())
    };
    let http_config = HttpConfig {
        clob_url: clob,
        gamma_url: gamma,
        ..HttpConfig::default()
    };
    let http = PolymarketHttp::new(http_config.clone())?;
    let wanted: Vec<&str> = args.markets.split(',').map(str::trim).collect();
    let markets: Vec<_> = open_markets(&http, 500)
        .await?
        .into_iter()
        .filter(|m| {
            wanted.contains(&"all")
                || wanted
                    .iter()
                    .any(|w| *w == m.slug || w.eq_ignore_ascii_case(m.condition.as_str()))
        })
        .collect();
    anyhow::ensure!(
        !markets.is_empty(),
        "no open market matches `{}`",
        args.markets
    );
    let tokens: Vec<_> = markets
        .iter()
        .flat_map(|m| m.tokens.iter().map(|(t, _)| t.clone()))
        .collect();
    let archive = Archive::open(&args.archive).await?;
    let listing: Vec<MarketMeta> = markets.iter().map(MarketMeta::from).collect();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    archive.save_markets(&listing, now_ms).await?;
    let mut recorder = archive.recorder();
    let (_feed, mut rx) = LiveFeed::start(
        FeedConfig {
            http: http_config,
            ws: WsConfig {
                url: ws,
                ..WsConfig::default()
            },
            ..FeedConfig::default()
        },
        tokens.clone(),
    )?;
    if !args.json {
        eprintln!(
            "recording {} markets ({} tokens) into {}",
            markets.len(),
            tokens.len(),
            args.archive.display()
        );
    }
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut flush = tokio::time::interval(Duration::from_secs(1));
    let (mut reconnects, mut decode_errors) = (0u64, 0u64);
    loop {
        let stop = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = flush.tick() => recorder.flush().await?,
            msg = rx.recv() => match msg {
                Some(FeedMessage::Data { update, .. }) => {
                    decode_errors += update.errors.len() as u64;
                    recorder.record(&update).await?;
                }
                Some(FeedMessage::Connection { connected: false, .. }) => reconnects += 1,
                Some(_) => {}
                None => break,
            },
        }
    }
    let recorded = recorder.finish().await?;
    let summary = serde_json::json!({
        "markets": markets.len(),
        "tokens": tokens.len(),
        "payloads": recorded,
        "reconnects": reconnects,
        "decode_errors": decode_errors,
        "partitions": archive.list().await?,
    });
    if args.json {
        print::json(&summary)?;
    } else {
        println!(
            "recorded {recorded} payloads ({reconnects} reconnects, {decode_errors} decode errors)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
