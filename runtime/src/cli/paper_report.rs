//! What a paper session prints: each fill as the journal records it (with the
//! reason of its order), and the closing summary per strategy.

use std::path::Path;

use pqap::engine::Engine;
use pqap::execution::FillSimulator;
use pqap::model::money::shares;
use pqap::model::time::utc_datetime;
use pqap::model::{Liquidity, Side};
use pqap::store::{Entry, Journal, Projections};
use pqap::strategy::RunState;
use rust_decimal::Decimal;
use serde::Serialize;

use super::print;

#[derive(Debug, Serialize)]
pub struct StrategySummary {
    strategy: String,
    fills: usize,
    volume_shares: Decimal,
    fees: Decimal,
    realized: Decimal,
    unrealized: Decimal,
    /// Holdings marked to the best bid (what selling now would fetch).
    unrealized_at_bid: Decimal,
    equity: Decimal,
    faults: usize,
    /// `running`, `backoff` or `quarantined` when the session ended.
    state: &'static str,
    /// Its latest fault, as text.
    last_fault: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    database: String,
    markets: usize,
    runtime_s: u64,
    updates: u64,
    reconnects: u64,
    journal_entries: i64,
    strategies: Vec<StrategySummary>,
}

/// Prints fills (with the reason of the order) as the journal records them.
pub struct FillPrinter {
    projections: Projections,
    next: i64,
}

impl FillPrinter {
    pub async fn new(journal: &Journal) -> anyhow::Result<FillPrinter> {
        let projections = journal.projections().await?;
        Ok(FillPrinter {
            next: projections.last_seq + 1,
            projections,
        })
    }

    pub async fn print_new(&mut self, journal: &Journal) -> anyhow::Result<()> {
        for stored in journal.read_from(self.next).await? {
            self.next = stored.seq + 1;
            self.projections.apply(&stored);
            let name = |id: u32| {
                self.projections
                    .strategies
                    .get(&id)
                    .map_or_else(|| id.to_string(), |(n, _)| n.clone())
            };
            let when = utc_datetime(stored.ts_ns);
            match &stored.entry {
                Entry::Order {
                    event: pqap::model::OrderEvent::Filled(f),
                } => {
                    let reason = self
                        .projections
                        .orders
                        .get(&f.key)
                        .map_or("", |o| o.reason.as_str());
                    println!(
                        "{when}  {:<15} {} {} @ {} {} fee {}  #{}  {reason}",
                        name(f.key.strategy),
                        if f.side == Side::Buy { "BUY " } else { "SELL" },
                        shares(f.size).normalize(),
                        pqap::model::money::price_dollars(f.price).normalize(),
                        if f.liquidity == Liquidity::Maker {
                            "maker"
                        } else {
                            "taker"
                        },
                        f.fee_value().normalize(),
                        stored.seq,
                    );
                }
                Entry::Fault { strategy, fault } => {
                    println!("{when}  {:<15} FAULT {fault}", name(*strategy));
                }
                Entry::StrategyHalted { strategy, reason } => {
                    println!("{when}  {:<15} HALTED {reason}", name(*strategy));
                }
                Entry::StrategyQuarantined {
                    strategy, reason, ..
                } => {
                    println!("{when}  {:<15} QUARANTINED {reason}", name(*strategy));
                }
                Entry::TradingState { state, actor } => {
                    println!("{when}  trading state → {state:?} (by {actor})");
                }
                Entry::Restored {
                    strategy,
                    redelivered,
                    ..
                } => println!(
                    "{when}  {:<15} resumed from its snapshot ({redelivered} events re-delivered)",
                    name(*strategy)
                ),
                _ => {}
            }
        }
        Ok(())
    }
}

pub async fn summarize(
    engine: &Engine<FillSimulator>,
    db: &Path,
    markets: usize,
    runtime_s: u64,
    updates: u64,
    reconnects: u64,
) -> anyhow::Result<Summary> {
    let replay = engine.journal().projections().await?;
    let mark = |t: &pqap::model::TokenId| engine.books().book(t).and_then(|b| b.mid());
    let bid = |t: &pqap::model::TokenId| {
        Some(
            engine
                .books()
                .book(t)
                .and_then(|b| b.best_bid())
                .map_or(pqap::model::Price::ZERO, |l| l.price),
        )
    };
    let mut strategies = Vec::new();
    for (id, name) in engine.strategies() {
        let fills: Vec<_> = replay
            .fills
            .iter()
            .filter(|f| f.fill.key.strategy == id)
            .collect();
        let account = engine.portfolio().account(id);
        strategies.push(StrategySummary {
            strategy: name,
            fills: fills.len(),
            volume_shares: fills.iter().map(|f| shares(f.fill.size)).sum(),
            fees: fills.iter().map(|f| f.fill.fee_value()).sum(),
            realized: account.map_or(Decimal::ZERO, |a| a.realized()),
            unrealized: account.map_or(Decimal::ZERO, |a| a.unrealized(&mark)),
            unrealized_at_bid: account.map_or(Decimal::ZERO, |a| a.unrealized(&bid)),
            equity: account.map_or(Decimal::ZERO, |a| a.equity(&mark)),
            faults: replay.faults.iter().filter(|(_, s, _)| *s == id).count(),
            state: match engine.supervisor(id).map(|s| s.state()) {
                Some(RunState::Running) | None => "running",
                Some(RunState::Backoff { .. }) => "backoff",
                Some(RunState::Quarantined) => "quarantined",
            },
            last_fault: engine
                .supervisor(id)
                .and_then(|s| s.faults().last())
                .map(|f| f.fault.to_string()),
        });
    }
    Ok(Summary {
        database: db.display().to_string(),
        markets,
        runtime_s,
        updates,
        reconnects,
        journal_entries: replay.last_seq,
        strategies,
    })
}

/// Prints the closing summary: a table, or JSON.
pub fn print_summary(summary: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        print::json(summary)?;
    } else {
        println!();
        let rows: Vec<Vec<String>> = summary
            .strategies
            .iter()
            .map(|s| {
                vec![
                    s.strategy.clone(),
                    s.fills.to_string(),
                    s.volume_shares.normalize().to_string(),
                    s.fees.round_dp(4).to_string(),
                    s.realized.round_dp(4).to_string(),
                    s.unrealized.round_dp(4).to_string(),
                    s.unrealized_at_bid.round_dp(4).to_string(),
                    s.equity.round_dp(4).to_string(),
                    s.faults.to_string(),
                    s.state.to_string(),
                ]
            })
            .collect();
        print::table(
            &[
                "strategy",
                "fills",
                "shares",
                "fees $",
                "realised $",
                "unrealised $",
                "at bid $",
                "equity $",
                "faults",
                "state",
            ],
            &rows,
        );
        for s in summary.strategies.iter().filter(|s| s.state != "running") {
            if let Some(fault) = &s.last_fault {
                println!("{} is {}: {fault}", s.strategy, s.state);
            }
        }
        println!(
            "{} updates in {} s, {} reconnects; journal {} — see `pqap positions`, `pqap trades --last 50`",
            summary.updates, summary.runtime_s, summary.reconnects, summary.database
        );
    }
    Ok(())
}
