//! `pqap data list|check|import|reindex|generate|compact` over the market-data
//! archive.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::data::archive::Archive;
use pqap::data::quality::QualityConfig;
use pqap::model::time::utc_day;

use super::print;

#[derive(Debug, Args)]
pub struct DataArgs {
    /// Archive directory.
    #[arg(long, default_value = "data/archive", global = true)]
    dir: PathBuf,
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Partitions (UTC days) in the archive.
    List,
    /// Quality report of one day, from the books the day before closed with,
    /// and whether its day file agrees with the raw partition; exit code 1
    /// unless it is clean.
    Check {
        #[arg(long)]
        date: String,
        /// Seconds without an update before a book counts as stale.
        #[arg(long, default_value_t = 60)]
        stale_after: u64,
    },
    /// Load recorded market-channel JSONL (`--ws`) or a prices series.
    Import {
        #[arg(long, conflicts_with = "prices_history")]
        ws: Option<PathBuf>,
        /// A `/prices-history` JSON (needs --token) or a prices CSV.
        #[arg(long)]
        prices_history: Option<PathBuf>,
        #[arg(long)]
        token: Option<String>,
    },
    /// Rebuild day files (the decoded messages as Parquet) from the raw
    /// partitions: one day and the days after it that it opens, or every day.
    Reindex {
        #[arg(long)]
        date: Option<String>,
    },
    /// Write a seeded market-channel recording (the venue's JSONL messages) for
    /// benchmarks and reproductions; `.gz` compresses.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 20)]
        markets: u32,
        /// Venue milliseconds per generator step.
        #[arg(long, default_value_t = 100)]
        step_ms: u64,
        /// First UTC day of the recording.
        #[arg(long, default_value = "2026-01-01")]
        start: String,
    },
    /// zstd-compress a finished day (replay still works).
    Compact {
        #[arg(long)]
        date: String,
    },
}

pub fn run(args: DataArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let DataCommand::Generate {
        out,
        lines,
        seed,
        markets,
        step_ms,
        start,
    } = &args.command
    {
        return generate(out, *lines, *seed, *markets, *step_ms, start, args.json);
    }
    rt.block_on(async {
        let archive = Archive::open(&args.dir).await?;
        match args.command {
            DataCommand::List => {
                let parts = archive.list().await?;
                if args.json {
                    print::json(&parts)?;
                } else {
                    let rows: Vec<Vec<String>> = parts
                        .iter()
                        .map(|p| {
                            vec![
                                p.day.clone(),
                                p.payloads.to_string(),
                                p.messages.to_string(),
                                p.books.to_string(),
                                p.level_changes.to_string(),
                                p.trades.to_string(),
                                p.tokens.to_string(),
                                pqap::model::time::utc_datetime(p.first_ms * 1_000_000),
                                pqap::model::time::utc_datetime(p.last_ms * 1_000_000),
                                p.bytes.to_string(),
                                if p.compressed { "zstd" } else { "" }.to_string(),
                            ]
                        })
                        .collect();
                    print::table(
                        &[
                            "day",
                            "payloads",
                            "messages",
                            "books",
                            "level changes",
                            "trades",
                            "tokens",
                            "first",
                            "last",
                            "bytes",
                            "",
                        ],
                        &rows,
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            DataCommand::Check { date, stale_after } => {
                let report = archive
                    .check(
                        &date,
                        QualityConfig {
                            stale_after_ms: stale_after * 1_000,
                        },
                    )
                    .await?;
                if args.json {
                    print::json(&report)?;
                } else {
                    let status = match report.status.as_str() {
                        "clean" => "clean".to_string(),
                        "unchecked" => format!(
                            "UNCHECKED: {} of {} books never went live",
                            report.never_live.len(),
                            report.tokens.len()
                        ),
                        _ => "NOT clean".to_string(),
                    };
                    println!("{date}: {} payloads, {status}", report.payloads);
                    if let Some(from) = &report.opened_from {
                        println!("  opened with the books {from} closed with");
                    }
                    println!("  day file {}", report.day_file);
                    for (k, n) in &report.events {
                        println!("  message {k:<20} {n}");
                    }
                    println!("  level changes {:>14}", report.level_changes);
                    for (k, n) in &report.issues {
                        println!("  issue   {k:<20} {n}");
                    }
                    for (k, n) in &report.warnings {
                        println!("  warning {k:<20} {n}");
                    }
                }
                Ok(if report.clean {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            DataCommand::Import {
                ws,
                prices_history,
                token,
            } => {
                let report = match (ws, prices_history) {
                    (Some(path), _) => archive.import_ws_jsonl(&path).await?,
                    (None, Some(path)) => archive.import_prices(&path, token.as_deref()).await?,
                    (None, None) => anyhow::bail!("give --ws FILE or --prices-history FILE"),
                };
                if args.json {
                    print::json(&report)?;
                } else {
                    println!(
                        "{} lines: {} payloads imported with {} messages ({} books, {} level changes, {} trades), {} bad",
                        report.lines,
                        report.imported,
                        report.messages,
                        report.books,
                        report.level_changes,
                        report.trades,
                        report.bad
                    );
                    for (line, why) in &report.first_bad {
                        println!("  line {line}: {why}");
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            // Handled before the archive is opened.
            DataCommand::Generate { .. } => Ok(ExitCode::SUCCESS),
            DataCommand::Reindex { date } => {
                let built = match date {
                    Some(day) => archive.reindex(&day).await?,
                    None => {
                        let days: Vec<String> =
                            archive.list().await?.into_iter().map(|p| p.day).collect();
                        let mut built = Vec::new();
                        for day in &days {
                            // Every day in order: each opens as the rebuilt day before closed.
                            built.push(archive.reindex_one(day).await?);
                        }
                        built
                    }
                };
                let rows: Vec<serde_json::Value> = built
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "day": m.day,
                            "payloads": m.counts.payloads,
                            "messages": m.counts.messages,
                            "level_changes": m.counts.level_changes,
                            "trades": m.counts.trades,
                            "opened_from": m.opening_from,
                            "digest": m.digest,
                        })
                    })
                    .collect();
                if args.json {
                    print::json(&rows)?;
                } else {
                    for m in &built {
                        println!(
                            "{}: {} payloads, {} messages ({} level changes, {} trades){}",
                            m.day,
                            m.counts.payloads,
                            m.counts.messages,
                            m.counts.level_changes,
                            m.counts.trades,
                            m.opening_from
                                .as_deref()
                                .map(|d| format!(", opened from {d}"))
                                .unwrap_or_default()
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            DataCommand::Compact { date } => {
                let today = utc_day(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64),
                );
                let bytes = archive.compact(&date, &today).await?;
                if args.json {
                    print::json(&serde_json::json!({"day": date, "compressed_bytes": bytes}))?;
                } else {
                    println!("{date} compacted to {bytes} bytes");
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn generate(
    out: &std::path::Path,
    lines: u64,
    seed: u64,
    markets: u32,
    step_ms: u64,
    start: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let start_ms = pqap::model::time::parse_day(start)
        .and_then(|ms| u64::try_from(ms).ok())
        .ok_or_else(|| anyhow::anyhow!("--start {start}: not a YYYY-MM-DD day"))?;
    anyhow::ensure!(markets > 0, "--markets must be at least 1");
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer: Box<dyn std::io::Write> = if out.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(std::io::BufWriter::new(file))
    };
    let started = std::time::Instant::now();
    let report = pqap::venue::sim::recording::write_jsonl(
        pqap::venue::sim::generator::GeneratorConfig {
            seed,
            markets,
            step_ms: step_ms.max(1),
            ..Default::default()
        },
        start_ms,
        lines,
        &mut writer,
    )
    .with_context(|| format!("writing {}", out.display()))?;
    drop(writer);
    if json {
        print::json(&report)?;
    } else {
        println!(
            "{}: {} lines, {} bytes, {} markets, {} → {} ({:.1} s)",
            out.display(),
            report.lines,
            report.bytes,
            report.markets,
            pqap::model::time::utc_datetime(
                i64::try_from(report.first_ms).unwrap_or(0) * 1_000_000
            ),
            pqap::model::time::utc_datetime(i64::try_from(report.last_ms).unwrap_or(0) * 1_000_000),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
