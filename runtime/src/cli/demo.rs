//! `pqap demo`: builds the example strategies, runs them side by side in their
//! sandboxes on a seeded synthetic market, and fills their orders against the
//! synthetic books (marketable orders at the touch, resting orders when the book
//! trades through them). This is the offline showcase until `pqap paper` runs the
//! full engine against `pqap sim`; it has no risk checks, fees or queue model.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use pqap::config::Config;
use pqap::data::synthetic::{SyntheticConfig, SyntheticMarkets};
use pqap::strategy::bindings::types::{
    Action, BookTop, CancelReason, Command, Event, EventKind, Fill, InitConfig, Interests,
    Liquidity, OpenOrder, OrderAccepted, OrderCancelled, OrderRejected, OrderRequest, Position,
    Quote, RejectReason, Side, TimeInForce,
};
use pqap::strategy::build::{BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::{
    CallOutcome, ClockMode, EngineOptions, HostView, InstanceOptions, SandboxEngine,
    SupervisedStrategy,
};
use rust_decimal::Decimal;
use serde::Serialize;

use super::print;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Configuration file (sandbox limits, cache).
    #[arg(long, default_value = "configs/dev.yaml")]
    config: std::path::PathBuf,
    /// Seconds of simulated market time (one batch per second).
    #[arg(long, default_value_t = 900)]
    steps: u32,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value_t = 3)]
    markets: u32,
    /// Print every command, not only fills and faults.
    #[arg(long)]
    verbose: bool,
    #[arg(long)]
    json: bool,
}

/// One strategy with its simulated account.
struct Runner {
    sup: SupervisedStrategy,
    interests: Interests,
    orders: BTreeMap<u64, (OrderRequest, u64)>,
    positions: BTreeMap<u32, Position>,
    cash: i64,
    pending: Vec<EventKind>,
    commands: u64,
    fills: u64,
    reasons: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct Summary {
    strategy: String,
    version: String,
    calls: u64,
    commands: u64,
    fills: u64,
    faults: usize,
    fuel_avg: u64,
    fuel_max: u64,
    cash_usd: Decimal,
    marked_pnl_usd: Decimal,
    positions: BTreeMap<u32, Decimal>,
    reasons: BTreeMap<String, u64>,
}

fn usd(micros: i64) -> Decimal {
    Decimal::new(micros, 6).normalize()
}

fn wanted(interests: Interests, kind: &EventKind) -> bool {
    match kind {
        EventKind::BookSnapshot(_) => interests.contains(Interests::BOOK_SNAPSHOTS),
        EventKind::BookChange(_) => interests.contains(Interests::BOOK_CHANGES),
        EventKind::Quote(_) => interests.contains(Interests::QUOTES),
        EventKind::Trade(_) => interests.contains(Interests::TRADES),
        _ => true,
    }
}

impl Runner {
    fn apply_fill(&mut self, order: &OrderRequest, price: u32, size: u64, liq: Liquidity) {
        let notional = (u128::from(size) * u128::from(price) / 1_000_000) as i64;
        let pos = self.positions.entry(order.instrument).or_insert(Position {
            instrument: order.instrument,
            size: 0,
            avg_price: 0,
            realized_pnl: 0,
        });
        match order.side {
            Side::Buy => {
                let cost = u128::from(pos.size) * u128::from(pos.avg_price)
                    + u128::from(size) * u128::from(price);
                pos.size += size;
                pos.avg_price = (cost / u128::from(pos.size.max(1))) as u32;
                self.cash -= notional;
            }
            Side::Sell => {
                let sold = size.min(pos.size);
                pos.realized_pnl += ((i128::from(price) - i128::from(pos.avg_price))
                    * i128::from(sold)
                    / 1_000_000) as i64;
                pos.size -= sold;
                self.cash += notional;
            }
        }
        let remaining = self
            .orders
            .get_mut(&order.id)
            .map(|(_, r)| {
                *r = r.saturating_sub(size);
                *r
            })
            .unwrap_or(0);
        if remaining == 0 {
            self.orders.remove(&order.id);
        }
        self.fills += 1;
        self.pending.push(EventKind::Fill(Fill {
            order: order.id,
            instrument: order.instrument,
            side: order.side,
            price,
            size,
            fee: 0,
            liquidity: liq,
            remaining,
        }));
    }

    /// Executes commands against the synthetic books.
    fn execute(
        &mut self,
        commands: &[Command],
        feed: &SyntheticMarkets,
        markets: &BTreeMap<u32, u32>,
    ) {
        for c in commands {
            self.commands += 1;
            *self.reasons.entry(c.reason.clone()).or_default() += 1;
            match &c.action {
                Action::Place(o) => self.place(o, feed),
                Action::Cancel(id) => self.cancel(*id),
                Action::CancelAllInMarket(m) => {
                    let ids: Vec<u64> = self
                        .orders
                        .values()
                        .filter(|(o, _)| markets.get(&o.instrument) == Some(m))
                        .map(|(o, _)| o.id)
                        .collect();
                    for id in ids {
                        self.cancel(id);
                    }
                }
                Action::SetTimer(_) => {}
            }
        }
    }

    fn cancel(&mut self, id: u64) {
        if let Some((_, remaining)) = self.orders.remove(&id) {
            self.pending.push(EventKind::OrderCancelled(OrderCancelled {
                order: id,
                reason: CancelReason::Requested,
                unfilled: remaining,
            }));
        }
    }

    fn place(&mut self, o: &OrderRequest, feed: &SyntheticMarkets) {
        let (bid, ask) = feed.top(o.instrument);
        let touch = match o.side {
            Side::Buy => ask.filter(|a| a.price <= o.price),
            Side::Sell => bid.filter(|b| b.price >= o.price),
        };
        let held = self.positions.get(&o.instrument).map_or(0, |p| p.size);
        if o.side == Side::Sell && o.size > held {
            self.pending.push(EventKind::OrderRejected(OrderRejected {
                order: o.id,
                reason: RejectReason::BadSize,
                message: "cannot sell more shares than held".into(),
            }));
            return;
        }
        if touch.is_some() && o.post_only {
            self.pending.push(EventKind::OrderRejected(OrderRejected {
                order: o.id,
                reason: RejectReason::WouldCross,
                message: "post-only order would cross".into(),
            }));
            return;
        }
        let take = touch.map_or(0, |t| t.size.min(o.size));
        if o.tif == TimeInForce::Fok && take < o.size {
            self.pending.push(EventKind::OrderCancelled(OrderCancelled {
                order: o.id,
                reason: CancelReason::Unfilled,
                unfilled: o.size,
            }));
            return;
        }
        self.pending
            .push(EventKind::OrderAccepted(OrderAccepted { order: o.id }));
        self.orders.insert(o.id, (*o, o.size));
        if let Some(t) = touch {
            self.apply_fill(o, t.price, take, Liquidity::Taker);
        }
        let left = self.orders.get(&o.id).map_or(0, |(_, r)| *r);
        if left > 0 && matches!(o.tif, TimeInForce::Fak | TimeInForce::Fok) {
            self.orders.remove(&o.id);
            self.pending.push(EventKind::OrderCancelled(OrderCancelled {
                order: o.id,
                reason: CancelReason::Unfilled,
                unfilled: left,
            }));
        }
    }

    /// Resting orders the new book traded through fill at their own price.
    fn match_resting(&mut self, feed: &SyntheticMarkets) {
        let crossing: Vec<(OrderRequest, u64)> = self
            .orders
            .values()
            .filter(|(o, _)| {
                let (bid, ask) = feed.top(o.instrument);
                match o.side {
                    Side::Buy => ask.is_some_and(|a| a.price <= o.price),
                    Side::Sell => bid.is_some_and(|b| b.price >= o.price),
                }
            })
            .copied()
            .collect();
        for (o, remaining) in crossing {
            self.apply_fill(&o, o.price, remaining, Liquidity::Maker);
        }
    }

    fn view(&self, now: u64, tops: &BTreeMap<u32, BookTop>) -> HostView {
        HostView {
            now,
            positions: self.positions.clone(),
            open_orders: self
                .orders
                .values()
                .map(|(o, r)| OpenOrder {
                    id: o.id,
                    instrument: o.instrument,
                    side: o.side,
                    price: o.price,
                    remaining: *r,
                })
                .collect(),
            tops: tops.clone(),
        }
    }
}

fn tops(feed: &SyntheticMarkets, ids: &[u32]) -> BTreeMap<u32, BookTop> {
    ids.iter()
        .map(|id| {
            let (bid, ask) = feed.top(*id);
            (*id, BookTop { bid, ask })
        })
        .collect()
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, std::env::vars())?;
    let engine = Arc::new(SandboxEngine::new(EngineOptions {
        cache_dir: config
            .compiled_cache
            .clone()
            .or_else(pqap::strategy::engine::default_cache_dir),
        ..EngineOptions::default()
    })?);
    let limits = config.sandbox.clone();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut artifacts = Vec::new();
    for example in ["market-maker", "complement-arb"] {
        let dir = repo.join("strategies").join(example);
        eprintln!("building {example} ...");
        let built = build_strategy(
            &engine,
            &BuildOptions {
                crate_dir: dir.clone(),
                target: GuestTarget::UnknownUnknown,
                out_dir: None,
                target_dir: None,
            },
            &limits,
        )
        .with_context(|| format!("building {}", dir.display()))?;
        let bytes = std::fs::read(&built.wasm)?;
        artifacts.push(engine.load(&bytes, &limits)?);
    }

    let mut feed = SyntheticMarkets::new(SyntheticConfig {
        markets: args.markets,
        seed: args.seed,
        ..SyntheticConfig::default()
    });
    let instruments = feed.instruments();
    let ids: Vec<u32> = instruments.iter().map(|i| i.id).collect();
    let markets: BTreeMap<u32, u32> = instruments.iter().map(|i| (i.id, i.market)).collect();
    let start_ns: u64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
    let mut now = start_ns;
    let mut runners: Vec<Runner> = Vec::new();
    for artifact in &artifacts {
        let options = InstanceOptions {
            mode: ClockMode::Simulated,
            seed: args.seed,
            limits: limits.clone(),
        };
        let config = InitConfig {
            run_id: format!("demo-{}", args.seed),
            instruments: instruments.clone(),
            params: Vec::new(),
        };
        let mut view = HostView {
            now,
            ..HostView::default()
        };
        let sup = SupervisedStrategy::start(Arc::clone(artifact), config, options, &mut view)?;
        runners.push(Runner {
            interests: artifact.info.interests,
            sup,
            orders: BTreeMap::new(),
            positions: BTreeMap::new(),
            cash: 0,
            pending: Vec::new(),
            commands: 0,
            fills: 0,
            reasons: BTreeMap::new(),
        });
    }

    let mut seq = 0u64;
    let mut before = BTreeMap::new();
    let mut market_events = feed.snapshots();
    for step in 0..=args.steps {
        if step > 0 {
            now += 1_000_000_000;
            market_events = feed.step();
        }
        let after = tops(&feed, &ids);
        for r in &mut runners {
            r.match_resting(&feed);
            let mut kinds: Vec<EventKind> = market_events
                .iter()
                .filter(|k| wanted(r.interests, k))
                .cloned()
                .collect();
            kinds.append(&mut r.pending);
            if r.interests.contains(Interests::QUOTES) {
                for (id, top) in &after {
                    if before.get(id) != Some(top) {
                        kinds.push(EventKind::Quote(Quote {
                            instrument: *id,
                            bid: top.bid,
                            ask: top.ask,
                        }));
                    }
                }
            }
            let events: Vec<Event> = kinds
                .into_iter()
                .map(|kind| {
                    seq += 1;
                    Event { seq, ts: now, kind }
                })
                .collect();
            let mut view = r.view(now, &after);
            match r.sup.on_events(&mut view, &events) {
                CallOutcome::Commands(cmds) => {
                    let fills_before = r.fills;
                    r.execute(&cmds, &feed, &markets);
                    if !args.json && (args.verbose || r.fills > fills_before) {
                        for c in &cmds {
                            println!(
                                "t+{:>4}s  {:<15} {:<32} {}",
                                step,
                                r.sup.name(),
                                describe(&c.action),
                                c.reason
                            );
                        }
                    }
                }
                CallOutcome::Faulted(f) => {
                    // The host cancels a faulted strategy's orders; the restarted
                    // instance learns of it through the cancellations.
                    let orders = std::mem::take(&mut r.orders);
                    for (id, (_, unfilled)) in orders {
                        r.pending.push(EventKind::OrderCancelled(OrderCancelled {
                            order: id,
                            reason: CancelReason::Host,
                            unfilled,
                        }));
                    }
                    if !args.json {
                        println!("t+{step:>4}s  {:<15} FAULT {f}", r.sup.name());
                    }
                }
                CallOutcome::NotRunning(_) => {}
            }
        }
        before = after;
    }

    let summaries: Vec<Summary> = runners
        .iter()
        .map(|r| {
            let marked: i64 = r
                .positions
                .values()
                .map(|p| {
                    let (bid, ask) = feed.top(p.instrument);
                    let mid = match (bid, ask) {
                        (Some(b), Some(a)) => (i64::from(b.price) + i64::from(a.price)) / 2,
                        _ => i64::from(p.avg_price),
                    };
                    (i128::from(p.size) * i128::from(mid) / 1_000_000) as i64
                })
                .sum();
            let fuel = r.sup.fuel();
            Summary {
                strategy: r.sup.name().to_string(),
                version: r.sup.artifact().info.version.clone(),
                calls: fuel.calls,
                commands: r.commands,
                fills: r.fills,
                faults: r.sup.faults().len(),
                fuel_avg: (fuel.total / u128::from(fuel.calls.max(1))) as u64,
                fuel_max: fuel.max,
                cash_usd: usd(r.cash),
                marked_pnl_usd: usd(r.cash + marked),
                positions: r
                    .positions
                    .iter()
                    .filter(|(_, p)| p.size > 0)
                    .map(|(id, p)| (*id, usd(p.size as i64)))
                    .collect(),
                reasons: r.reasons.clone(),
            }
        })
        .collect();
    if args.json {
        print::json(&summaries)?;
    } else {
        println!();
        let rows: Vec<Vec<String>> = summaries
            .iter()
            .map(|s| {
                vec![
                    format!("{} {}", s.strategy, s.version),
                    s.calls.to_string(),
                    s.commands.to_string(),
                    s.fills.to_string(),
                    s.faults.to_string(),
                    format!("{}/{}", s.fuel_avg, s.fuel_max),
                    s.cash_usd.to_string(),
                    s.marked_pnl_usd.to_string(),
                ]
            })
            .collect();
        print::table(
            &[
                "strategy",
                "calls",
                "commands",
                "fills",
                "faults",
                "fuel avg/max",
                "cash $",
                "pnl@mid $",
            ],
            &rows,
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(a: &Action) -> String {
    match a {
        Action::Place(o) => format!(
            "{} {} @ {} on #{}{}",
            if o.side == Side::Buy { "buy" } else { "sell" },
            usd(o.size as i64),
            usd(i64::from(o.price)),
            o.instrument,
            match o.tif {
                TimeInForce::Fak => " fak",
                TimeInForce::Fok => " fok",
                _ => "",
            }
        ),
        Action::Cancel(id) => format!("cancel {id:x}"),
        Action::CancelAllInMarket(m) => format!("cancel all in market {m}"),
        Action::SetTimer(t) => format!("timer {} at {}", t.id, t.at),
    }
}
