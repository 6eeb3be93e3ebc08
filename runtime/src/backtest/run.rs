//! One backtest run: the paper engine on a simulated clock over loaded market
//! data, through the fill simulator, into a fresh journal; the result record
//! depends only on the inputs it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BacktestError;
use super::data::{DataSpec, MarketData, Window};
use crate::config::RiskConfig;
use crate::engine::{Engine, EngineConfig, Registry, StrategySetup};
use crate::execution::{FillConfig, FillSimulator};
use crate::model::{Price, TokenId};
use crate::report::{
    Analyses, Attribution, AttributionFold, Calibration, CalibrationFold, RunSummary, StaleFills,
    SummaryFold, analyse,
};
use crate::store::{Journal, Stored};
use crate::strategy::{Artifact, ClockMode, SandboxLimits, parse_assignments};

/// Journal entries buffered per SQLite transaction in a backtest.
const COMMIT_BATCH: usize = 4_096;

/// Everything a run's outcome depends on; stored in the result so `rerun` can
/// repeat it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    pub strategy: String,
    pub version: String,
    pub sha256: String,
    /// `NAME=VALUE` as given; unnamed parameters keep the strategy's defaults.
    pub params: Vec<String>,
    pub seed: u64,
    pub data: DataSpec,
    pub window: Window,
    /// Markets the run is restricted to (`--markets`); empty: all in the data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markets: Vec<String>,
    /// The longer range the window was cut from (walk-forward folds), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_range: Option<Window>,
    pub capital: Decimal,
    pub fill_model: FillConfig,
    pub risk: RiskConfig,
    pub sandbox: SandboxLimits,
    /// Simulated milliseconds between equity marks.
    pub mark_every_ms: u64,
}

/// The stored outcome of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestResult {
    pub run_id: String,
    pub inputs: RunInputs,
    pub data_source: String,
    pub data_digest: String,
    pub updates: u64,
    pub markets: usize,
    pub journal_entries: i64,
    pub journal_head: String,
    pub summary: RunSummary,
    pub attribution: Attribution,
    pub calibration: Calibration,
    pub analyses: Analyses,
}

/// What a run leaves beside its result, for reports.
#[derive(Debug, Clone, Default)]
pub struct RunTrace {
    /// The strategy's id in the journal.
    pub strategy: u32,
    /// The journal entries the report draws: the strategy's marks and fills.
    pub entries: Vec<Stored>,
    /// Sampled mid prices per token: (epoch ms, mid).
    pub prices: BTreeMap<TokenId, Vec<(u64, Price)>>,
    /// Token → (market question, outcome).
    pub names: BTreeMap<TokenId, (String, String)>,
}

/// Progress of a run: updates done of total.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// The run id: a hash of the inputs and of the data digest.
pub fn run_id(inputs: &RunInputs, data_digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(inputs).unwrap_or_default());
    h.update(data_digest.as_bytes());
    format!("bt-{}", &hex::encode(h.finalize())[..16])
}

/// The journal database of a run in `out`.
pub fn journal_path(out: &Path, run_id: &str) -> PathBuf {
    out.join(format!("{run_id}.db"))
}

/// Runs `artifact` over `data` with `inputs`, journaling into `out/<run_id>.db`
/// (replacing an earlier journal of the same run).
pub async fn run(
    artifact: Arc<Artifact>,
    inputs: RunInputs,
    data: &MarketData,
    out: &Path,
    progress: Option<Progress<'_>>,
) -> Result<(BacktestResult, RunTrace), BacktestError> {
    let (start_ms, end_ms) = inputs.window.bounds_ms()?;
    let params = parse_assignments(&artifact.info, &inputs.params)
        .map_err(|e| BacktestError::Input(e.to_string()))?;
    let run_id = run_id(&inputs, &data.digest);
    std::fs::create_dir_all(out).map_err(|e| BacktestError::io(out, e))?;
    let db = journal_path(out, &run_id);
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| BacktestError::io(&p, e))?;
        }
    }
    let venue = FillSimulator::for_markets(inputs.fill_model.clone(), &data.markets);
    // A backtest can simply be rerun: no fsync, and large transactions.
    let mut journal = Journal::open_with(&db, false).await?;
    journal.set_commit_batch(COMMIT_BATCH);
    // SQLite writes on a thread of its own while the engine goes on.
    journal.write_behind().await?;
    // The report's figures are folded from the entries as they are journaled,
    // never read back.
    journal.retain();
    let engine_config = EngineConfig {
        run_id: run_id.clone(),
        mode: ClockMode::Simulated,
        seed: inputs.seed,
        sandbox: inputs.sandbox.clone(),
        global_limits: inputs.risk.global.clone(),
        mark_every_ns: inputs.mark_every_ms.saturating_mul(1_000_000),
        keep_quarantines: false,
    };
    // The data is already cut to the run's markets.
    let setups = vec![StrategySetup {
        markets: Vec::new(),
        artifact: artifact.clone(),
        params,
        limits: inputs.risk.strategy.clone(),
    }];
    // A recording of a paper session (`pqap paper --record`) carries its clock
    // ticks as updates without events: replay them exactly, starting where the
    // session started. Other data gets a tick after every update.
    let recorded_clock = data.recorded_clock;
    let mut replay = data.replay();
    let mut more = replay.advance()?;
    let engine_start_ms = if more && recorded_clock {
        replay.current().received_ms
    } else {
        start_ms
    };
    let mut engine = Engine::start(
        engine_config,
        Registry::new(data.markets.clone()),
        venue,
        journal,
        setups,
        engine_start_ms.saturating_mul(1_000_000),
    )
    .await?;

    let mut names = BTreeMap::new();
    for m in &data.markets {
        for (token, outcome) in &m.tokens {
            names.insert(token.clone(), (m.question.clone(), outcome.clone()));
        }
    }
    let strategy = engine.strategies().first().map_or(1, |(id, _)| *id);
    let mut figures = Figures {
        summary: SummaryFold::new(strategy, Some(inputs.capital)),
        attribution: AttributionFold::new(strategy, &names),
        calibration: CalibrationFold::new(strategy),
        stale: StaleFills::new(strategy, &data.markets),
        drawn: Vec::new(),
        strategy,
    };
    figures.fold(engine.journal_mut().take_retained());
    // About 600 price samples per token over the window, for the report.
    let sample_every_ms = ((end_ms - start_ms) / 600).max(1_000);
    let mut next_sample_ms = start_ms;
    let mut prices: BTreeMap<TokenId, Vec<(u64, Price)>> = BTreeMap::new();
    let total = usize::try_from(data.payloads()).unwrap_or(usize::MAX);
    let mut progress = progress;
    let mut last_ms = 0;
    let mut look_ahead = 0u64;
    let mut replayed = 0usize;
    while more {
        let update = replay.current();
        let i = replayed;
        if update.received_ms < last_ms {
            return Err(BacktestError::Input(format!(
                "update {i} received at {} ms before the previous one ({last_ms} ms): the engine would see the future first",
                update.received_ms
            )));
        }
        last_ms = update.received_ms;
        // Venue stamps more than a second after delivery would leak the future.
        look_ahead += update
            .events
            .iter()
            .filter(|e| e.ts_ms() > update.received_ms.saturating_add(1_000))
            .count() as u64;
        let now = update.received_ms.saturating_mul(1_000_000);
        if update.events.is_empty() {
            engine.on_time(now).await?;
        } else {
            engine.on_update(update, now).await?;
            if !recorded_clock {
                engine.on_time(now).await?;
            }
        }
        // The fills this update caused first, then the update: a book change in
        // a fill's own millisecond counts as before it.
        figures.fold(engine.journal_mut().take_retained());
        figures.stale.on_update(update);
        if update.received_ms >= next_sample_ms {
            next_sample_ms = update.received_ms + sample_every_ms;
            for token in names.keys() {
                if let Some(mid) = engine.books().book(token).and_then(|b| b.mid()) {
                    prices
                        .entry(token.clone())
                        .or_default()
                        .push((update.received_ms, mid));
                }
            }
        }
        replayed += 1;
        more = replay.advance()?;
        if let Some(p) = progress.as_mut()
            && (i.is_multiple_of(1_024) || !more)
        {
            p(replayed, total.max(replayed));
        }
    }
    engine.shutdown().await?;
    engine.journal_mut().finish().await?;
    figures.fold(engine.journal_mut().take_retained());
    let final_mid = |t: &TokenId| engine.books().book(t).and_then(|b| b.mid());
    let summary = figures.summary.finish();
    let attribution = figures.attribution.finish(&final_mid);
    let calibration = figures.calibration.finish();
    let analyses = analyse(&summary, &attribution, figures.stale.finish(), look_ahead);
    let (journal_entries, journal_head) = {
        let (seq, hash) = engine.journal().head();
        (seq, hash.to_string())
    };
    let entries = figures.drawn;
    let result = BacktestResult {
        run_id,
        data_source: data.source.clone(),
        data_digest: data.digest.clone(),
        updates: replayed as u64,
        markets: data.markets.len(),
        journal_entries,
        journal_head,
        summary,
        attribution,
        calibration,
        analyses,
        inputs,
    };
    Ok((
        result,
        RunTrace {
            strategy,
            entries,
            prices,
            names,
        },
    ))
}

/// The report's figures, folded from the journal's entries as a run goes.
struct Figures<'a> {
    summary: SummaryFold,
    attribution: AttributionFold<'a>,
    calibration: CalibrationFold,
    stale: StaleFills,
    /// What the report draws (the strategy's marks and fills).
    drawn: Vec<Stored>,
    strategy: u32,
}

impl Figures<'_> {
    fn fold(&mut self, entries: Vec<Stored>) {
        use crate::model::OrderEvent;
        use crate::store::Entry;
        for e in entries {
            self.summary.observe(&e);
            self.attribution.observe(&e);
            self.calibration.observe(&e);
            self.stale.on_entry(&e);
            let drawn = match &e.entry {
                Entry::Mark { strategy, .. } => *strategy == self.strategy,
                Entry::Order {
                    event: OrderEvent::Filled(f),
                } => f.key.strategy == self.strategy,
                _ => false,
            };
            if drawn {
                self.drawn.push(e);
            }
        }
    }
}
