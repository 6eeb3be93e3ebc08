//! Backtest throughput, recorded in docs/BENCHMARKS.md. On a seeded recording
//! in the venue's own market-channel format (the generator behind `pqap data
//! generate`):
//! - import: `pqap data import --ws`'s code into a fresh archive (raw partition,
//!   index and the day's columnar file), lines per second;
//! - day-file replay: streaming the day files back as updates, no engine;
//! - engine: the market maker in its wasm sandbox over the day files, through
//!   books, risk, the fill simulator, the journal and the report, on one
//!   thread, events (venue messages) per second;
//! - engine, strategy linked natively: the same run with the market maker
//!   compiled into this binary instead of sandboxed (the sandbox's share of a
//!   run is the difference); it must decide exactly as the sandboxed run;
//! - end to end: import + backtest, lines per second;
//! - bytes: the day files and the raw partitions per byte of JSONL;
//! - peak RSS of the whole process.
//!
//! Run: `cargo bench -p pqap --bench backtest [-- LINES [MARKETS [RUNS]]]`
//! (default 1 000 000 lines over 20 markets, 3 runs: median and range).

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use pqap::backtest::{DataSpec, MarketData, RunInputs, Window, run};
use pqap::data::archive::Archive;
use pqap::execution::FillConfig;
use pqap::strategy::SandboxLimits;
use pqap::venue::sim::generator::GeneratorConfig;
use pqap::venue::sim::recording::write_jsonl;
use rust_decimal::Decimal;

/// Median and range of one stage's seconds over the runs.
fn spread(mut secs: Vec<f64>) -> (f64, f64, f64) {
    secs.sort_by(|a, b| a.total_cmp(b));
    let mid = secs[secs.len() / 2];
    (mid, secs[0], secs[secs.len() - 1])
}

fn report(name: &str, secs: Vec<f64>, items: u64, unit: &str) {
    let (mid, lo, hi) = spread(secs);
    let rate = |s: f64| items as f64 / s.max(1e-9);
    println!(
        "{name:<16} {mid:>7.2} s ({lo:.2}–{hi:.2})  {:>10.0} {unit}/s ({:.0}–{:.0})",
        rate(mid),
        rate(hi),
        rate(lo)
    );
}

fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

fn bytes_of(dir: &Path, suffix: &str) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let lines: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let markets: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
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
    println!(
        "recording: {} lines ({} MB), {} markets, {} steps, generated in {:.1} s",
        written.lines,
        written.bytes / 1_000_000,
        markets,
        written.steps,
        clock.elapsed().as_secs_f64()
    );

    let window = Window {
        start: "2026-01-01".into(),
        end: "2026-01-03".into(),
    };
    let (mut import, mut replay, mut engine) = (Vec::new(), Vec::new(), Vec::new());
    let mut native = Vec::new();
    let linked = artifact.linked_natively(pqap::strategy::native::linked::<
        pqap_market_maker::MarketMaker,
    >());
    let (mut messages, mut updates, mut outcome) = (0u64, 0u64, String::new());
    let (mut day_bytes, mut raw_bytes) = (0, 0);
    for i in 0..runs {
        let archive_dir = dir.path().join(format!("archive-{i}"));
        let clock = Instant::now();
        let imported = rt.block_on(async {
            let archive = Archive::open(&archive_dir).await.expect("archive");
            archive.import_ws_jsonl(&recording).await.expect("import")
        });
        import.push(clock.elapsed().as_secs_f64());
        assert_eq!(imported.bad, 0, "the generated recording imports cleanly");
        day_bytes = bytes_of(&archive_dir, ".events.parquet");
        raw_bytes = bytes_of(&archive_dir, ".sqlite") - bytes_of(&archive_dir, "index.sqlite");

        let spec = DataSpec::Archive {
            dir: archive_dir.clone(),
        };
        let data = rt
            .block_on(MarketData::load(&spec, &window))
            .expect("load archive");
        let clock = Instant::now();
        let (mut n_updates, mut n_messages) = (0u64, 0u64);
        let mut pass = data.replay();
        while pass.advance().expect("replay") {
            n_updates += 1;
            n_messages += pass.current().events.len() as u64;
        }
        replay.push(clock.elapsed().as_secs_f64());
        (updates, messages) = (n_updates, n_messages);

        let inputs = RunInputs {
            strategy: artifact.info.name.clone(),
            version: artifact.info.version.clone(),
            sha256: artifact.sha256.clone(),
            params: Vec::new(),
            seed: 7,
            data: spec,
            window: window.clone(),
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
            .block_on(run(
                artifact.clone(),
                inputs.clone(),
                &data,
                &dir.path().join("runs"),
                None,
            ))
            .expect("backtest");
        engine.push(clock.elapsed().as_secs_f64());
        let clock = Instant::now();
        let (linked_result, _) = rt
            .block_on(run(
                linked.clone(),
                inputs,
                &data,
                &dir.path().join("runs-native"),
                None,
            ))
            .expect("backtest, linked natively");
        native.push(clock.elapsed().as_secs_f64());
        assert_eq!(
            serde_json::to_string(&linked_result).ok(),
            serde_json::to_string(&result).ok(),
            "linked natively, the strategy decides as in its sandbox"
        );
        outcome = format!(
            "{} orders, {} fills, {} journal entries, run {}",
            result.summary.orders, result.summary.fills, result.journal_entries, result.run_id
        );
        std::fs::remove_dir_all(&archive_dir).ok();
    }
    let end_to_end: Vec<f64> = import.iter().zip(&engine).map(|(a, b)| a + b).collect();
    println!("{runs} runs: median (range)");
    report("import", import, written.lines, "lines");
    report("day-file replay", replay, messages, "events");
    let share = {
        let (e, n) = (spread(engine.clone()).0, spread(native.clone()).0);
        100.0 * (e - n) / e.max(1e-9)
    };
    report("engine", engine, messages, "events");
    report("engine (native)", native, messages, "events");
    println!("sandbox's share of the engine stage (medians): {share:.1} %");
    report("end to end", end_to_end, written.lines, "lines");
    println!("engine run: {updates} updates, {messages} events; {outcome}");
    println!(
        "bytes per JSONL byte: day files {:.3} ({} MB), raw partitions {:.2} ({} MB)",
        day_bytes as f64 / written.bytes as f64,
        day_bytes / 1_000_000,
        raw_bytes as f64 / written.bytes as f64,
        raw_bytes / 1_000_000
    );
    println!("peak RSS (whole process): {:.0} MiB", peak_rss_mib());
}
