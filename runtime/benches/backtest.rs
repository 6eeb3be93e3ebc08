//! Backtest throughput, recorded in docs/BENCHMARKS.md:
//! - end to end from a raw venue recording: a seeded market-channel JSONL file
//!   (the generator behind `pqap data generate`) → `pqap data import` into a fresh
//!   archive → a backtest of the market maker over it; lines per second for each
//!   stage and for both;
//! - the engine from the archive: events per second through books, the market
//!   maker in its wasm sandbox, risk, the fill simulator and the journal, on one
//!   thread.
//!
//! Run: `cargo bench -p pqap --bench backtest [-- LINES [MARKETS]]` (default
//! 1 000 000 lines over 20 markets).

#[path = "../../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use pqap::backtest::{DataSpec, MarketData, RunInputs, Window, run};
use pqap::data::archive::Archive;
use pqap::execution::FillConfig;
use pqap::strategy::SandboxLimits;
use pqap::venue::sim::generator::GeneratorConfig;
use pqap::venue::sim::recording::write_jsonl;
use rust_decimal::Decimal;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let lines: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let markets: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().expect("temp dir");
    let artifact = common::market_maker();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The recording: 2026-01-01, 100 ms steps, seed 7.
    let recording = dir.path().join("recording.jsonl");
    let clock = Instant::now();
    let file = std::fs::File::create(&recording).expect("create recording");
    let mut out = std::io::BufWriter::new(file);
    let written = write_jsonl(
        GeneratorConfig {
            seed: 7,
            markets,
            step_ms: 100,
            ..GeneratorConfig::default()
        },
        1_767_225_600_000,
        lines,
        &mut out,
    )
    .expect("write recording");
    drop(out);
    let generate_s = clock.elapsed().as_secs_f64();

    let archive_dir = dir.path().join("archive");
    let clock = Instant::now();
    let report = rt.block_on(async {
        let archive = Archive::open(&archive_dir).await.expect("archive");
        archive.import_ws_jsonl(&recording).await.expect("import")
    });
    let import_s = clock.elapsed().as_secs_f64();
    assert_eq!(report.bad, 0, "the generated recording imports cleanly");

    let window = Window {
        start: "2026-01-01".into(),
        end: "2026-01-02".into(),
    };
    let spec = DataSpec::Archive {
        dir: archive_dir.clone(),
    };
    let clock = Instant::now();
    let data = rt
        .block_on(MarketData::load(&spec, &window))
        .expect("load archive");
    let load_s = clock.elapsed().as_secs_f64();
    let events: usize = data.updates.iter().map(|u| u.events.len()).sum();

    let inputs = RunInputs {
        strategy: artifact.info.name.clone(),
        version: artifact.info.version.clone(),
        sha256: artifact.sha256.clone(),
        params: Vec::new(),
        seed: 7,
        data: spec,
        window,
        markets: Vec::new(),
        data_range: None,
        capital: Decimal::from(1_000),
        fill_model: FillConfig::default(),
        risk: Default::default(),
        sandbox: SandboxLimits::default(),
        mark_every_ms: 300_000,
    };
    let clock = Instant::now();
    let (result, _) = rt
        .block_on(run(artifact, inputs, &data, &dir.path().join("runs"), None))
        .expect("backtest");
    let run_s = clock.elapsed().as_secs_f64();

    println!(
        "recording: {} lines ({} MB), {} markets, {} steps, generated in {generate_s:.1} s",
        written.lines,
        written.bytes / 1_000_000,
        markets,
        written.steps
    );
    println!(
        "import:    {:.1} s = {:.0} lines/s ({} payloads, {} messages)",
        import_s,
        report.lines as f64 / import_s,
        report.imported,
        report.messages
    );
    println!(
        "load:      {:.1} s = {:.0} updates/s (archive → memory)",
        load_s,
        data.updates.len() as f64 / load_s
    );
    println!(
        "engine:    {:.1} s = {:.0} events/s ({} updates, {} events; {} orders, {} fills, {} journal entries)",
        run_s,
        events as f64 / run_s,
        data.updates.len(),
        events,
        result.summary.orders,
        result.summary.fills,
        result.journal_entries
    );
    let total = import_s + load_s + run_s;
    println!(
        "end to end (import + load + backtest): {total:.1} s = {:.0} lines/s",
        written.lines as f64 / total
    );
}
