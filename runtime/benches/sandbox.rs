//! Sandbox overhead: the market maker's batch path compiled natively vs as a
//! component in its sandbox, on identical batches; instantiation from
//! `InstancePre`; fuel per call. Results are recorded in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p pqap --bench sandbox`

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pqap::strategy::bindings::types as wit;
use pqap::strategy::build::GuestTarget;
use pqap::strategy::{
    CallOutcome, ClockMode, HostView, InstanceOptions, SandboxInstance, SandboxLimits,
    SupervisedStrategy,
};
use pqap_market_maker::MarketMaker;
use pqap_strategy_sdk::types as sdk;
use pqap_strategy_sdk::{HostApi, Price, export};

const MARKETS: u32 = 10;
const START: u64 = 1_700_000_000_000_000_000;

fn instruments() -> Vec<wit::InstrumentInfo> {
    (0..MARKETS)
        .flat_map(|m| {
            [(2 * m, 2 * m + 1, "Yes"), (2 * m + 1, 2 * m, "No")].map(|(id, other, outcome)| {
                wit::InstrumentInfo {
                    id,
                    market: m,
                    token: id.to_string(),
                    outcome: outcome.into(),
                    question: format!("market {m}"),
                    complement: Some(other),
                    tick: 10_000,
                    min_size: 5_000_000,
                    taker_fee_rate: 0,
                }
            })
        })
        .collect()
}

/// Mid of batch `i`: alternates by a tick so every batch requotes.
fn top(i: usize) -> (u32, u32) {
    let shift = [0u32, 10_000][i % 2];
    (450_000 + shift, 550_000 + shift)
}

/// One batch: a quote for each of the first `k` markets' YES tokens.
fn wit_batch(i: usize, k: u32) -> (HostView, Vec<wit::Event>) {
    let (bid, ask) = top(i);
    let lvl = |price| wit::Level {
        price,
        size: 100_000_000,
    };
    let mut view = HostView {
        now: START + i as u64,
        ..HostView::default()
    };
    let mut events = Vec::new();
    // Tops by instrument id: the YES tokens quote, the NO tokens are empty.
    view.tops = vec![
        wit::BookTop {
            bid: None,
            ask: None
        };
        2 * k as usize
    ];
    for m in 0..k {
        let t = wit::BookTop {
            bid: Some(lvl(bid)),
            ask: Some(lvl(ask)),
        };
        view.tops[2 * m as usize] = t;
        events.push(wit::Event {
            seq: (i as u64) * 100 + u64::from(m),
            ts: view.now,
            kind: wit::EventKind::Quote(wit::Quote {
                instrument: 2 * m,
                bid: t.bid,
                ask: t.ask,
            }),
        });
    }
    (view, events)
}

/// The same batch as SDK types, for the native run.
fn sdk_batch(i: usize, k: u32) -> (BTreeMap<u32, sdk::BookTop>, Vec<sdk::Event>) {
    let (bid, ask) = top(i);
    let lvl = |price| sdk::Level {
        price,
        size: 100_000_000,
    };
    let mut tops = BTreeMap::new();
    let mut events = Vec::new();
    for m in 0..k {
        let t = sdk::BookTop {
            bid: Some(lvl(bid)),
            ask: Some(lvl(ask)),
        };
        tops.insert(2 * m, t);
        events.push(sdk::Event {
            seq: (i as u64) * 100 + u64::from(m),
            ts: START + i as u64,
            kind: sdk::EventKind::Quote(sdk::Quote {
                instrument: 2 * m,
                bid: t.bid,
                ask: t.ask,
            }),
        });
    }
    (tops, events)
}

/// A native host answering from plain maps, like the sandbox's view.
struct NativeHost {
    now: u64,
    tops: BTreeMap<u32, sdk::BookTop>,
    rng: u64,
}

impl HostApi for NativeHost {
    fn log(&mut self, _: sdk::LogLevel, _: &str) {}
    fn now(&self) -> u64 {
        self.now
    }
    fn position(&self, instrument: u32) -> sdk::Position {
        sdk::Position {
            instrument,
            size: 0,
            avg_price: 0,
            realized_pnl: 0,
        }
    }
    fn open_orders(&self, _: Option<u32>) -> Vec<sdk::OpenOrder> {
        Vec::new()
    }
    fn book_top(&self, instrument: u32) -> sdk::BookTop {
        self.tops.get(&instrument).copied().unwrap_or(sdk::BookTop {
            bid: None,
            ask: None,
        })
    }
    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.rng
    }
    fn metric(&mut self, _: &str, _: i64) {}
    fn annotate(&mut self, _: &str, _: &str) {}
    fn fair_value(&mut self, _: u32, _: Price) {}
}

fn sdk_config() -> sdk::InitConfig {
    sdk::InitConfig {
        run_id: "bench".into(),
        instruments: instruments()
            .into_iter()
            .map(|i| sdk::InstrumentInfo {
                id: i.id,
                market: i.market,
                token: i.token,
                outcome: i.outcome,
                question: i.question,
                complement: i.complement,
                tick: i.tick,
                min_size: i.min_size,
                taker_fee_rate: i.taker_fee_rate,
            })
            .collect(),
        params: Vec::new(),
    }
}

fn wit_config() -> wit::InitConfig {
    wit::InitConfig {
        run_id: "bench".into(),
        instruments: instruments(),
        params: Vec::new(),
    }
}

fn batch_path(c: &mut Criterion) {
    let artifact = common::market_maker();
    let limits = SandboxLimits::default();
    let mut group = c.benchmark_group("mm_batch");
    for k in [1u32, 10] {
        // Native: the same strategy code, linked into the benchmark.
        let batches: Vec<_> = (0..2).map(|i| sdk_batch(i, k)).collect();
        let mut host = NativeHost {
            now: START,
            tops: BTreeMap::new(),
            rng: 1,
        };
        let mut inst = export::build::<MarketMaker>(&mut host, &sdk_config()).expect("native init");
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("native", k), |b| {
            b.iter(|| {
                let (tops, events) = &batches[i % 2];
                host.tops.clone_from(tops);
                host.now = START + i as u64;
                let out = export::with_instance(&mut inst, &mut host, |s, ctx| {
                    export::dispatch(s, ctx, events)
                });
                i += 1;
                black_box(out)
            })
        });

        // Sandboxed: through the supervisor (output checks, periodic snapshots),
        // which is what the engine pays.
        let mut batches: Vec<_> = (0..2).map(|i| wit_batch(i, k)).collect();
        let options = InstanceOptions {
            mode: ClockMode::Simulated,
            seed: 1,
            limits: limits.clone(),
        };
        let mut view = batches[0].0.clone();
        let mut sup =
            SupervisedStrategy::start(artifact.clone(), wit_config(), options.clone(), &mut view)
                .expect("sandbox init");
        let mut i = 0usize;
        let mut fuel = Vec::new();
        group.bench_function(BenchmarkId::new("sandbox", k), |b| {
            b.iter(|| {
                let (view, events) = &mut batches[i % 2];
                let out = sup.on_events(view, events);
                i += 1;
                if fuel.len() < 64 {
                    fuel.push(sup.fuel().last);
                }
                match out {
                    CallOutcome::Commands(c) => black_box(c),
                    other => panic!("{other:?}"),
                }
            })
        });
        fuel.sort_unstable();
        eprintln!(
            "mm_batch k={k}: fuel per call median {} (min {}, max {})",
            fuel[fuel.len() / 2],
            fuel[0],
            fuel[fuel.len() - 1]
        );
    }
    group.finish();
}

fn instantiation(c: &mut Criterion) {
    let artifact = common::market_maker();
    let options = InstanceOptions {
        mode: ClockMode::Simulated,
        seed: 1,
        limits: SandboxLimits::default(),
    };
    let mut group = c.benchmark_group("instantiate");
    group.bench_function("from_instance_pre", |b| {
        b.iter(|| black_box(SandboxInstance::instantiate(&artifact, &options).expect("inst")))
    });
    let config = wit_config();
    group.bench_function("from_instance_pre+init", |b| {
        b.iter(|| {
            let mut inst = SandboxInstance::instantiate(&artifact, &options).expect("inst");
            let mut view = HostView::default();
            inst.init(&mut view, &config).expect("init");
            black_box(inst)
        })
    });
    let bytes = std::fs::read(common::guest(
        "strategies/market-maker",
        GuestTarget::UnknownUnknown,
    ))
    .expect("component");
    group.sample_size(10);
    group.bench_function("compile_uncached", |b| {
        b.iter(|| {
            black_box(
                wasmtime::component::Component::new(common::engine().engine(), &bytes)
                    .expect("compile"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, batch_path, instantiation);
criterion_main!(benches);
