//! The streaming path agrees with the general one: a recording that crosses
//! UTC midnight, imported, backtests to the same result, the same journal rows
//! and the same run id whether the run streams the day files or loads the raw
//! partitions whole; so do its market and window cuts, and a window that
//! starts on the second day opens with the books the first day closed with.
//! The same run with the strategy linked natively (the benchmarks' engine
//! option) decides exactly as the sandboxed one.

mod common;

use std::path::Path;
use std::sync::Arc;

use pqap::backtest::{DataSpec, MarketData, RunInputs, Window, run};
use pqap::data::archive::Archive;
use pqap::execution::FillConfig;
use pqap::model::MarketEvent;
use pqap::strategy::{Artifact, SandboxLimits};
use pqap::venue::sim::generator::GeneratorConfig;
use pqap::venue::sim::recording::write_jsonl;
use rust_decimal::Decimal;

/// 2026-01-01 00:00 UTC.
const JAN_1: u64 = 1_767_225_600_000;

fn window(start: &str, end: &str) -> Window {
    Window {
        start: start.into(),
        end: end.into(),
    }
}

async fn journal_rows(db: &Path) -> Vec<(i64, i64, String, Option<i64>, String, String)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let rows: Vec<(i64, i64, String, Option<i64>, String, String)> =
        sqlx::query_as("SELECT seq, ts_ns, kind, strategy, body, hash FROM journal ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows
}

/// Runs the market maker over `data`; the result as stored JSON (run id and
/// all) and the journal's rows.
async fn outcome(
    artifact: Arc<Artifact>,
    data: &MarketData,
    spec: &DataSpec,
    w: &Window,
    markets: &[String],
    range: Option<&Window>,
    out: &Path,
) -> (String, Vec<(i64, i64, String, Option<i64>, String, String)>) {
    let inputs = RunInputs {
        strategy: artifact.info.name.clone(),
        version: artifact.info.version.clone(),
        sha256: artifact.sha256.clone(),
        params: Vec::new(),
        seed: 11,
        data: spec.clone(),
        window: w.clone(),
        markets: markets.to_vec(),
        data_range: range.cloned(),
        capital: Decimal::from(1_000),
        fill_model: FillConfig::default(),
        risk: Default::default(),
        sandbox: SandboxLimits::default(),
        mark_every_ms: 60_000,
    };
    let (result, _) = run(artifact, inputs, data, out, None).await.unwrap();
    let db = pqap::backtest::run::journal_path(out, &result.run_id);
    (
        serde_json::to_string(&result).unwrap(),
        journal_rows(&db).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_files_and_raw_partitions_backtest_identically() {
    let dir = tempfile::tempdir().unwrap();
    // Twenty minutes of three markets either side of midnight.
    let recording = dir.path().join("recording.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&recording).unwrap());
    let written = write_jsonl(
        GeneratorConfig {
            seed: 5,
            markets: 3,
            step_ms: 1_000,
            ..GeneratorConfig::default()
        },
        JAN_1 - 1_200_000,
        12_000,
        &mut file,
    )
    .unwrap();
    drop(file);
    assert!(written.steps > 1_200, "the recording crosses midnight");
    let archive_dir = dir.path().join("archive");
    let archive = Archive::open(&archive_dir).await.unwrap();
    let report = archive.import_ws_jsonl(&recording).await.unwrap();
    assert_eq!(report.bad, 0);
    assert_eq!(archive.list().await.unwrap().len(), 2, "two days");
    let spec = DataSpec::Archive {
        dir: archive_dir.clone(),
    };

    // The whole recording, one market of it, and a walk-forward window.
    let both = window("2025-12-31", "2026-01-02");
    let one_market = {
        let data = MarketData::load(&spec, &both).await.unwrap();
        vec![data.markets[1].condition.to_string()]
    };
    let fold = window("2026-01-01", "2026-01-02");
    let cases: Vec<(&str, Window, Vec<String>, Option<Window>)> = vec![
        ("whole", both.clone(), Vec::new(), None),
        ("one market", both.clone(), one_market.clone(), None),
        ("fold", fold.clone(), one_market, Some(both.clone())),
    ];
    for (name, w, markets, range) in cases {
        let (streamed, general) = match &range {
            None => (
                MarketData::load(&spec, &w)
                    .await
                    .unwrap()
                    .only(&markets)
                    .unwrap(),
                MarketData::load_raw(&spec, &w)
                    .await
                    .unwrap()
                    .only(&markets)
                    .unwrap(),
            ),
            Some(r) => {
                let (s, e) = w.bounds_ms().unwrap();
                (
                    MarketData::load(&spec, r)
                        .await
                        .unwrap()
                        .only(&markets)
                        .unwrap()
                        .slice(s, e),
                    MarketData::load_raw(&spec, r)
                        .await
                        .unwrap()
                        .only(&markets)
                        .unwrap()
                        .slice(s, e),
                )
            }
        };
        assert_eq!(streamed.digest, general.digest, "{name}: digests");
        assert_eq!(streamed.markets, general.markets, "{name}: markets");
        let a = outcome(
            common::market_maker(),
            &streamed,
            &spec,
            &w,
            &markets,
            range.as_ref(),
            &dir.path().join(format!("{name} a")),
        )
        .await;
        let b = outcome(
            common::market_maker(),
            &general,
            &spec,
            &w,
            &markets,
            range.as_ref(),
            &dir.path().join(format!("{name} b")),
        )
        .await;
        assert!(
            a.1.len() > 100,
            "{name}: the strategy traded ({} entries)",
            a.1.len()
        );
        assert_eq!(a.0, b.0, "{name}: results");
        assert!(a.1 == b.1, "{name}: journals differ");
    }

    // Linked natively, the market maker decides as it does in its sandbox:
    // same result, same journal, entry for entry.
    let data = MarketData::load(&spec, &both).await.unwrap();
    let sandboxed = outcome(
        common::market_maker(),
        &data,
        &spec,
        &both,
        &[],
        None,
        &dir.path().join("sandboxed"),
    )
    .await;
    let linked = common::market_maker().linked_natively(pqap::strategy::native::linked::<
        pqap_market_maker::MarketMaker,
    >());
    let native = outcome(
        linked,
        &data,
        &spec,
        &both,
        &[],
        None,
        &dir.path().join("native"),
    )
    .await;
    assert_eq!(sandboxed.0, native.0, "native: results");
    assert!(sandboxed.1 == native.1, "native: journals differ");

    // The second day alone opens with the books the first day closed with.
    let second = MarketData::load(&spec, &window("2026-01-01", "2026-01-02"))
        .await
        .unwrap();
    let mut replay = second.replay();
    assert!(replay.advance().unwrap());
    let opening = replay.current();
    assert_eq!(opening.received_ms, JAN_1);
    let books = opening
        .events
        .iter()
        .filter(|e| matches!(e, MarketEvent::Book { bids, asks, .. } if !bids.is_empty() && !asks.is_empty()))
        .count();
    assert_eq!(books, 6, "three markets' two books each");
}
