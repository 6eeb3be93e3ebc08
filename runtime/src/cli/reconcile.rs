//! `pqap reconcile [--dry-run] [--json]`: the journal's open orders and fills
//! against the venue's account, and the account's foreign orders. A dry run
//! only reads (journal and venue); otherwise the differences are booked as a
//! start-up reconciliation books them (journaled) and the foreign orders are
//! cancelled, adopted or left per `live.foreign_orders`.
//!
//! Exit codes: 0 in agreement, or the differences applied; 1 an error (the
//! config, the journal, the credentials, the venue unreachable); 2 a dry run
//! found differences, or applying left something unresolved.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use pqap::config::{Config, TradingMode};
use pqap::engine::runner::wall_ns;
use pqap::engine::{Engine, EngineConfig, Registry};
use pqap::model::Order;
use pqap::store::{EngineLock, Journal, Projections};
use pqap::strategy::ClockMode;
use pqap::venue::{ForeignAction, Venue};

use super::live_venue::{self, Endpoints};
use super::print;
use super::reconcile_diff::{Difference, foreign_row, in_agreement, order_diff};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[arg(long, default_value = "configs/prod.yaml")]
    pub config: PathBuf,
    /// Database (default: the config's).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The markets whose fee terms price missed fills: `all`, or a
    /// comma-separated list of slugs or condition ids.
    #[arg(long)]
    pub markets: Option<String>,
    /// Show the difference; write nothing, cancel nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(reconcile(args))
}

async fn reconcile(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, std::env::vars())?;
    // Applying writes the journal and cancels at the venue: a live action. A
    // dry run only reads, so it may look at a paper-configured account too.
    if config.trading != TradingMode::Live && !args.dry_run {
        anyhow::bail!(
            "{}: `trading: paper`. Applying a reconciliation needs `trading: live` in the config \
             (or PQAP_TRADING=live); `pqap reconcile --dry-run` only shows the difference",
            args.config.display()
        );
    }
    let endpoints = Endpoints::of(&config, &args.config)?;
    let db = args.db.clone().unwrap_or_else(|| config.database.clone());
    anyhow::ensure!(
        db.exists(),
        "{}: no journal there (--db, or `database` in {})",
        db.display(),
        args.config.display()
    );
    // No other engine may write the journal while this one applies.
    let _lock = if args.dry_run {
        None
    } else {
        Some(EngineLock::acquire(&db).with_context(|| {
            format!(
                "{}: is `pqap live` or `pqap serve` running on it?",
                db.display()
            )
        })?)
    };
    let journal = Journal::open(&db)
        .await
        .with_context(|| format!("opening the journal {}", db.display()))?;
    let history = journal
        .read_from(1)
        .await
        .with_context(|| format!("reading the journal {}", db.display()))?;
    let prior = Projections::replay(&history);

    let live = &config.live;
    let reached = live_venue::connect(live, &endpoints.clob).await?;
    let (_, markets) = live_venue::open_markets(&endpoints, args.markets.as_deref()).await?;
    let mut venue = live_venue::venue(reached, live, &markets);

    let open: Vec<Order> = prior.open_orders().map(|r| r.order.clone()).collect();
    venue.refresh(&open, wall_ns()).await.with_context(|| {
        format!(
            "asking {} for the account's orders and trades",
            endpoints.clob
        )
    })?;
    let booked: HashSet<String> = prior
        .fills
        .iter()
        .filter_map(|f| f.fill.trade_id.clone())
        .collect();
    let now = wall_ns();
    let orders: Vec<_> = prior
        .open_orders()
        .map(|r| order_diff(r, &venue.reconcile(&r.order, now), &booked))
        .collect();
    let policy = venue.foreign_policy();
    let foreign: Vec<_> = venue
        .foreign_orders()
        .iter()
        .map(|o| foreign_row(o, policy))
        .collect();
    let agree = in_agreement(&orders, &foreign);
    let mut report = Difference {
        dry_run: args.dry_run,
        journal: db.display().to_string(),
        foreign_policy: policy.as_str(),
        orders,
        foreign_orders: foreign,
        in_agreement: agree,
        applied: false,
        problems: Vec::new(),
    };
    if !args.dry_run && !agree {
        let start_ns = wall_ns();
        // An engine without strategies: starting it is exactly a start-up
        // reconciliation (fills booked once, fates, foreign orders), journaled.
        let engine = Engine::start(
            EngineConfig {
                run_id: format!("reconcile-{}", start_ns / 1_000_000),
                mode: ClockMode::Wall,
                seed: start_ns,
                sandbox: config.sandbox.clone(),
                global_limits: config.risk.global.clone(),
                mark_every_ns: config.mark_every_ms.saturating_mul(1_000_000),
                keep_quarantines: true,
            },
            Registry::new(markets),
            venue,
            journal,
            Vec::new(),
            start_ns,
        )
        .await
        .with_context(|| format!("booking the reconciliation into {}", db.display()))?;
        report.applied = true;
        if let Some(problem) = engine.unreconciled() {
            report.problems.push(format!(
                "the venue could not be asked while applying: {problem}"
            ));
        }
        for (o, action) in engine.foreign_orders() {
            if action == ForeignAction::CancelFailed {
                report.problems.push(format!(
                    "foreign order {} is still open: the cancel failed",
                    o.venue_id
                ));
            }
        }
    }
    if args.json {
        print::json(&report)?;
    } else {
        print_text(&report);
    }
    let unresolved = if args.dry_run {
        !report.in_agreement
    } else {
        !report.problems.is_empty()
    };
    Ok(if unresolved {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(r: &Difference) {
    let rows: Vec<Vec<String>> = r
        .orders
        .iter()
        .map(|o| {
            let fills: Vec<String> = o
                .missing_fills
                .iter()
                .map(|f| {
                    format!(
                        "{} {}@{}",
                        f.trade_id.as_deref().unwrap_or("-"),
                        f.size,
                        f.price
                    )
                })
                .collect();
            vec![
                format!("{}/{}", o.strategy, o.client_id),
                o.venue_id.clone().unwrap_or_else(|| "-".into()),
                format!("{} {}", o.journal, o.journal_remaining),
                match o.venue_remaining {
                    Some(left) => format!("{} {left}", o.venue),
                    None => o.venue.to_string(),
                },
                if fills.is_empty() {
                    "-".into()
                } else {
                    fills.join(", ")
                },
                if o.agrees { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    println!("journal {}: {} open orders", r.journal, r.orders.len());
    if !rows.is_empty() {
        print::table(
            &[
                "ORDER",
                "VENUE ID",
                "JOURNAL",
                "VENUE",
                "MISSING FILLS",
                "AGREES",
            ],
            &rows,
        );
    }
    println!(
        "{} foreign orders (live.foreign_orders: {})",
        r.foreign_orders.len(),
        r.foreign_policy
    );
    if !r.foreign_orders.is_empty() {
        let rows: Vec<Vec<String>> = r
            .foreign_orders
            .iter()
            .map(|f| {
                vec![
                    f.venue_id.clone(),
                    f.token.clone(),
                    f.side.into(),
                    f.price.to_string(),
                    format!("{}/{}", f.remaining, f.size),
                    f.action.into(),
                ]
            })
            .collect();
        print::table(
            &["VENUE ID", "TOKEN", "SIDE", "PRICE", "LEFT/SIZE", "ACTION"],
            &rows,
        );
    }
    let verdict = match (r.in_agreement, r.dry_run, r.applied) {
        (true, _, _) => "in agreement: nothing to do",
        (false, true, _) => "differences found (dry run: nothing written, nothing cancelled)",
        (false, false, true) => "differences booked into the journal; foreign orders acted on",
        (false, false, false) => "differences found, not applied",
    };
    println!("{verdict}");
    for p in &r.problems {
        println!("unresolved: {p}");
    }
}
