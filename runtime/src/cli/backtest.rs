//! `pqap backtest`: the paper engine with a simulated clock, fed from archive
//! partitions (recorded or imported) or a seeded synthetic session, through the
//! fill simulator, into a fresh journal per run; prints the metrics and writes a
//! result JSON whose bytes depend only on the inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use pqap::config::Config;
use pqap::data::archive::Archive;
use pqap::data::update::{FeedUpdate, Source};
use pqap::engine::{Engine, EngineConfig, MarketSpec, Registry, StrategySetup};
use pqap::execution::FillSimulator;
use pqap::model::time::{parse_day, utc_day};
use pqap::model::{ConditionId, MarketEvent, Price, Size, TokenId};
use pqap::report::{RunSummary, summarize};
use pqap::store::Journal;
use pqap::strategy::ClockMode;
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::paper::{resolve_artifact, sandbox_engine};
use super::print;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The strategy: a crate name under `strategies/`, a crate directory, or a
    /// `.wasm` component.
    pub name: String,
    /// First UTC day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-01-01")]
    pub start: String,
    /// Day after the last one (exclusive).
    #[arg(long, default_value = "2026-01-02")]
    pub end: String,
    /// Use a seeded synthetic session instead of the archive.
    #[arg(long)]
    pub synthetic: bool,
    /// Synthetic markets.
    #[arg(long, default_value_t = 3)]
    pub markets: u32,
    /// Synthetic venue seconds per step.
    #[arg(long, default_value_t = 10)]
    pub step_s: u64,
    /// Seed of the synthetic session and of the strategy's randomness.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Starting capital, for returns.
    #[arg(long, default_value = "1000")]
    pub capital: Decimal,
    #[arg(long, default_value = "configs/dev.yaml")]
    pub config: PathBuf,
    #[arg(long, default_value = "data/archive")]
    pub archive: PathBuf,
    /// Where runs are stored (a journal and a result JSON per run).
    #[arg(long, default_value = "data/backtests")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

/// Everything a run's outcome depends on, and the outcome.
#[derive(Debug, Serialize)]
pub struct BacktestResult {
    pub run_id: String,
    pub strategy: String,
    pub version: String,
    pub sha256: String,
    pub seed: u64,
    pub source: String,
    pub start: String,
    pub end: String,
    pub fill_model: pqap::execution::FillConfig,
    pub updates: u64,
    pub journal_entries: i64,
    pub journal_head: String,
    pub summary: RunSummary,
}

/// Markets seen in a recording: tokens grouped by condition, outcomes from
/// `new_market` events when present, ticks from the books.
fn markets_of(updates: &[FeedUpdate]) -> Vec<MarketSpec> {
    let mut tokens: BTreeMap<ConditionId, Vec<TokenId>> = BTreeMap::new();
    let mut outcomes: BTreeMap<ConditionId, Vec<String>> = BTreeMap::new();
    let mut ticks: BTreeMap<TokenId, Price> = BTreeMap::new();
    for e in updates.iter().flat_map(|u| &u.events) {
        match e {
            MarketEvent::Book {
                token,
                market,
                tick,
                ..
            } => {
                let list = tokens.entry(market.clone()).or_default();
                if !list.contains(token) {
                    list.push(token.clone());
                }
                if let Some(t) = tick {
                    ticks.insert(token.clone(), *t);
                }
            }
            MarketEvent::NewMarket {
                market,
                tokens: t,
                outcomes: o,
                ..
            } if t.len() == 2 => {
                tokens.insert(market.clone(), t.clone());
                outcomes.insert(market.clone(), o.clone());
            }
            _ => {}
        }
    }
    tokens
        .into_iter()
        .filter(|(_, t)| t.len() == 2)
        .map(|(condition, t)| {
            let names = outcomes
                .get(&condition)
                .cloned()
                .unwrap_or_else(|| vec!["Yes".into(), "No".into()]);
            MarketSpec {
                question: condition.to_string(),
                tick: ticks
                    .get(&t[0])
                    .copied()
                    .unwrap_or(Price::new(10_000).unwrap_or(Price::ZERO)),
                // Recordings do not carry the minimum size; Polymarket's usual one.
                min_size: Size::from_micros(5_000_000),
                tokens: [
                    (t[0].clone(), names.first().cloned().unwrap_or_default()),
                    (t[1].clone(), names.get(1).cloned().unwrap_or_default()),
                ],
                condition,
                taker_fee_rate: Decimal::ZERO,
                maker_rebate_share: Decimal::ZERO,
            }
        })
        .collect()
}

/// A synthetic session of `days` days starting at `start_ms`, resolving at the end.
fn synthetic(args: &BacktestArgs, start_ms: u64, days: u64) -> (Vec<MarketSpec>, Vec<FeedUpdate>) {
    let steps = days * 86_400 / args.step_s.max(1);
    let mut g = Generator::new(
        GeneratorConfig {
            seed: args.seed,
            markets: args.markets,
            step_ms: args.step_s.max(1) * 1_000,
            resolve_after: Some(steps),
            ..GeneratorConfig::default()
        },
        start_ms,
    );
    let markets = g
        .markets()
        .into_iter()
        .enumerate()
        .map(|(i, m)| MarketSpec {
            condition: m.condition,
            question: m.question,
            tokens: m.tokens,
            tick: m.tick,
            min_size: m.min_size,
            // As `pqap sim` lists them: every other market charges the taker fee.
            taker_fee_rate: if i % 2 == 1 {
                Decimal::new(2, 2)
            } else {
                Decimal::ZERO
            },
            maker_rebate_share: if i % 2 == 1 {
                Decimal::new(2, 1)
            } else {
                Decimal::ZERO
            },
        })
        .collect();
    let update = |received_ms: u64, events: Vec<MarketEvent>| FeedUpdate {
        received_ms,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events,
        errors: Vec::new(),
    };
    let mut updates = vec![update(
        start_ms,
        g.tokens().iter().filter_map(|t| g.book(t)).collect(),
    )];
    for i in 1..=steps + 1 {
        let events = g.step();
        if !events.is_empty() {
            updates.push(update(start_ms + i * args.step_s.max(1) * 1_000, events));
        }
    }
    (markets, updates)
}

pub fn run(args: BacktestArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(backtest(args))
}

async fn backtest(args: BacktestArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, std::env::vars())?;
    let start_day = parse_day(&args.start)
        .ok_or_else(|| anyhow::anyhow!("--start {}: not a YYYY-MM-DD day", args.start))?;
    let end_day = parse_day(&args.end)
        .ok_or_else(|| anyhow::anyhow!("--end {}: not a YYYY-MM-DD day", args.end))?;
    anyhow::ensure!(
        end_day > start_day,
        "--end {} must be after --start {}",
        args.end,
        args.start
    );
    let start_ms = u64::try_from(start_day).context("--start before 1970")?;
    let sandbox = sandbox_engine(&config)?;
    let artifact = resolve_artifact(&sandbox, &args.name, &config.sandbox, args.json)?;

    let (markets, updates, source) = if args.synthetic {
        let days = u64::try_from(end_day - start_day).unwrap_or(0) / 86_400_000;
        let (m, u) = synthetic(&args, start_ms, days.max(1));
        let source = format!(
            "synthetic seed {} markets {} step {}s",
            args.seed, args.markets, args.step_s
        );
        (m, u, source)
    } else {
        let archive = Archive::open(&args.archive).await?;
        let mut updates = Vec::new();
        let mut days = Vec::new();
        for p in archive.list().await? {
            let Some(ms) = parse_day(&p.day) else {
                continue;
            };
            if ms >= start_day && ms < end_day {
                updates.extend(archive.replay(&p.day).await?);
                days.push(p.day);
            }
        }
        anyhow::ensure!(
            !updates.is_empty(),
            "no archive partition in {} between {} and {} (record or import some, or pass --synthetic)",
            args.archive.display(),
            args.start,
            args.end
        );
        let source = format!("archive {}", days.join(","));
        (markets_of(&updates), updates, source)
    };
    anyhow::ensure!(!markets.is_empty(), "the data holds no binary market");

    // The run id is a function of the inputs, so reruns are byte-identical.
    let fill_model = config.execution.clone();
    let id_input = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        artifact.sha256,
        args.seed,
        source,
        args.start,
        args.end,
        serde_json::to_string(&fill_model).unwrap_or_default(),
        serde_json::to_string(&config.risk).unwrap_or_default(),
    );
    let run_id = format!(
        "bt-{}",
        &hex::encode(Sha256::digest(id_input.as_bytes()))[..16]
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let db = args.out.join(format!("{run_id}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    let venue = FillSimulator::for_markets(fill_model.clone(), &markets);
    // A backtest can be rerun; it does not need an fsync per update.
    let journal = Journal::open_with(&db, false).await?;
    let start_ns = start_ms * 1_000_000;
    let engine_config = EngineConfig {
        run_id: run_id.clone(),
        mode: ClockMode::Simulated,
        seed: args.seed,
        sandbox: config.sandbox.clone(),
        global_limits: config.risk.global.clone(),
        mark_every_ns: 3_600_000_000_000,
    };
    let setups = vec![StrategySetup {
        artifact: artifact.clone(),
        params: Vec::new(),
        limits: config.risk.strategy.clone(),
    }];
    let mut engine = Engine::start(
        engine_config,
        Registry::new(markets),
        venue,
        journal,
        setups,
        start_ns,
    )
    .await?;
    let clock = Instant::now();
    let total = updates.len();
    let mut last_progress = Instant::now();
    for (i, update) in updates.iter().enumerate() {
        let now = update.received_ms.saturating_mul(1_000_000);
        engine.on_update(update, now).await?;
        engine.on_time(now).await?;
        if !args.json && last_progress.elapsed().as_secs() >= 2 {
            last_progress = Instant::now();
            let rate = (i + 1) as f64 / clock.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "  {}/{} updates ({:.0}/s, ETA {:.0} s)",
                i + 1,
                total,
                rate,
                (total - i - 1) as f64 / rate.max(1e-9)
            );
        }
    }
    engine.shutdown().await?;
    let elapsed = clock.elapsed();
    let entries = engine.journal().read_from(1).await?;
    let strategy = engine.strategies().first().map_or(1, |(id, _)| *id);
    let summary = summarize(&entries, strategy, Some(args.capital));
    let result = BacktestResult {
        run_id: run_id.clone(),
        strategy: artifact.info.name.clone(),
        version: artifact.info.version.clone(),
        sha256: artifact.sha256.clone(),
        seed: args.seed,
        source,
        start: args.start.clone(),
        end: args.end.clone(),
        fill_model,
        updates: total as u64,
        journal_entries: entries.last().map_or(0, |e| e.seq),
        journal_head: entries.last().map(|e| e.hash.clone()).unwrap_or_default(),
        summary,
    };
    let body = serde_json::to_string_pretty(&result)?;
    let result_path = args.out.join(format!("{run_id}.json"));
    std::fs::write(&result_path, &body)
        .with_context(|| format!("writing {}", result_path.display()))?;
    if args.json {
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    let m = &result.summary.metrics;
    let opt = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
    let optd = |v: Option<Decimal>| v.map_or("—".to_string(), |x| x.round_dp(4).to_string());
    let rows = vec![
        vec!["run".into(), result.run_id.clone()],
        vec!["data".into(), result.source.clone()],
        vec![
            "period".into(),
            format!("{} → {}", result.start, utc_day(end_day - 1)),
        ],
        vec!["updates".into(), result.updates.to_string()],
        vec!["total PnL $".into(), m.total_pnl.round_dp(4).to_string()],
        vec!["return".into(), optd(m.total_return)],
        vec![
            "realised $ (closed / at resolution)".into(),
            format!(
                "{} / {}",
                result.summary.realized_closed.round_dp(4),
                result.summary.realized_resolution.round_dp(4)
            ),
        ],
        vec![
            "Sharpe / Sortino / Calmar".into(),
            format!("{} / {} / {}", opt(m.sharpe), opt(m.sortino), opt(m.calmar)),
        ],
        vec![
            "max drawdown $".into(),
            format!(
                "{} ({})",
                m.max_drawdown.value.round_dp(4),
                optd(m.max_drawdown.fraction)
            ),
        ],
        vec![
            "orders / fills / maker fills".into(),
            format!(
                "{} / {} / {}",
                result.summary.orders, result.summary.fills, result.summary.maker_fills
            ),
        ],
        vec!["fees $".into(), result.summary.fees.round_dp(4).to_string()],
        vec![
            "trades / win rate".into(),
            format!("{} / {}", m.trades, opt(m.win_rate)),
        ],
        vec![
            "profit factor / expectancy $".into(),
            format!("{} / {}", optd(m.profit_factor), optd(m.expectancy)),
        ],
        vec!["faults".into(), result.summary.faults.to_string()],
    ];
    print::table(&["metric", "value"], &rows);
    println!(
        "{} updates in {:.2} s ({:.0}/s); result {}; journal {}",
        total,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
        result_path.display(),
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}
