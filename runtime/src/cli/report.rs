//! Read-side commands over an environment's journal: `status`, `positions`,
//! `trades` (with `--explain`), `performance`, `journal verify`, and `risk`
//! (which queues a trading-state change for the running engine).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::config::Config;
use pqap::model::money::{price_dollars, shares};
use pqap::report::views;
use pqap::risk::TradingState;
use pqap::store::{Journal, Projections, Stored};
use serde_json::json;

use super::print::runtime;
use super::remote::Remote;
use super::{duration, print};

/// Which database to read, or which environment's server to ask.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Configuration naming the database.
    #[arg(long, default_value = "configs/dev.yaml", global = true)]
    config: PathBuf,
    /// Ask this environment's server (`configs/ENV.yaml`, `server.url`) instead
    /// of reading a database; the API token comes from PQAP_API_TOKEN.
    #[arg(long, global = true, conflicts_with = "db")]
    env: Option<String>,
    /// Read this database instead of the configured one.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[arg(long, global = true)]
    json: bool,
}

impl Target {
    fn remote(&self) -> anyhow::Result<Option<Remote>> {
        self.env.as_deref().map(Remote::for_env).transpose()
    }

    /// The document at `path` of the environment's API, when `--env` is given.
    async fn fetch(&self, path: &str) -> anyhow::Result<Option<serde_json::Value>> {
        match self.remote()? {
            Some(remote) => remote.get(path).await.map(Some),
            None => Ok(None),
        }
    }

    fn db(&self) -> anyhow::Result<PathBuf> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        Ok(Config::load(&self.config, std::env::vars())?.database)
    }
}

/// The journal of the target's database, which must exist.
async fn open_existing(target: &Target) -> anyhow::Result<Journal> {
    let path = target.db()?;
    anyhow::ensure!(
        path.exists(),
        "no database at {} (nothing has run in this environment yet)",
        path.display()
    );
    Ok(Journal::open(&path).await?)
}

async fn load(target: &Target) -> anyhow::Result<(Journal, Projections)> {
    let journal = open_existing(target).await?;
    let projections = journal.projections().await?;
    Ok((journal, projections))
}

fn short(token: &str) -> String {
    if token.len() > 12 {
        format!("{}…{}", &token[..5], &token[token.len() - 5..])
    } else {
        token.to_string()
    }
}

fn time(ts_ns: i64) -> String {
    pqap::model::time::utc_datetime(ts_ns)
}

pub fn status(target: Target) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let doc = match target.fetch("/api/v1/status").await? {
            Some(mut doc) => {
                doc["database"] = json!(target.remote()?.map(|r| r.base));
                doc
            }
            None => {
                let (journal, p) = load(&target).await?;
                let mut doc = views::status(&p, journal.next_seq());
                doc["database"] = json!(target.db()?);
                doc
            }
        };
        let run = doc["run"]
            .as_str()
            .zip(doc["mode"].as_str())
            .map(|(r, m)| (r.to_string(), m.to_string()));
        if target.json {
            print::json(&doc)?;
        } else {
            println!(
                "database       {}",
                doc["database"].as_str().unwrap_or_default()
            );
            if let Some((id, mode)) = &run {
                println!("run            {id} ({mode})");
            }
            let v = |k: &str| {
                doc[k]
                    .as_str()
                    .map_or_else(|| doc[k].to_string(), str::to_string)
            };
            println!("trading state  {}", v("trading_state"));
            println!("journal        {} entries", v("journal_entries"));
            println!(
                "orders         {} open · {} fills · {} risk rejections",
                v("open_orders"),
                v("fills"),
                v("risk_rejections")
            );
            println!("faults         {} · halts {}", v("faults"), v("halts"));
            for st in doc["strategies"].as_array().into_iter().flatten() {
                println!(
                    "strategy {}     {} {}  {}{}",
                    st["id"],
                    st["name"].as_str().unwrap_or_default(),
                    st["version"].as_str().unwrap_or_default(),
                    st["state"].as_str().unwrap_or_default(),
                    st["quarantine_reason"]
                        .as_str()
                        .map(|r| format!(" — {r}"))
                        .unwrap_or_default()
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn positions(target: Target) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let rows = match target.fetch("/api/v1/positions").await? {
            Some(doc) => doc.as_array().cloned().unwrap_or_default(),
            None => views::positions(&load(&target).await?.1),
        };
        if target.json {
            print::json(&rows)?;
        } else {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r["strategy_name"].as_str().unwrap_or("?").to_string(),
                        short(r["token"].as_str().unwrap_or("")),
                        r["shares"]
                            .as_str()
                            .map_or_else(|| r["shares"].to_string(), str::to_string),
                        r["avg_price"]
                            .as_str()
                            .map_or_else(|| r["avg_price"].to_string(), str::to_string),
                        r["cost"]
                            .as_str()
                            .map_or_else(|| r["cost"].to_string(), str::to_string),
                    ]
                })
                .collect();
            print::table(
                &["strategy", "token", "shares", "avg price", "cost $"],
                &table,
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Args)]
pub struct TradesArgs {
    /// How many of the latest fills.
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// Walk one fill (its journal sequence) back to the decision and market event.
    #[arg(long)]
    explain: Option<i64>,
    #[command(flatten)]
    target: Target,
}

pub fn trades(args: TradesArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        if let Some(seq) = args.explain
            && let Some(doc) = args
                .target
                .fetch(&format!("/api/v1/trades/{seq}/explain"))
                .await?
        {
            return print_explain(&args.target, &doc);
        }
        let remote = args
            .target
            .fetch(&format!("/api/v1/trades?last={}", args.last))
            .await?;
        let fills = match remote {
            Some(doc) => doc.as_array().cloned().unwrap_or_default(),
            None => {
                let (journal, p) = load(&args.target).await?;
                if let Some(seq) = args.explain {
                    return explain(&args.target, &journal, &p, seq).await;
                }
                views::trades(&p, args.last)
            }
        };
        if args.target.json {
            print::json(&fills)?;
        } else {
            let rows: Vec<Vec<String>> = fills
                .iter()
                .map(|f| {
                    let s = |k: &str| {
                        f[k].as_str()
                            .map_or_else(|| f[k].to_string(), str::to_string)
                    };
                    vec![
                        s("seq"),
                        s("time"),
                        s("strategy"),
                        short(&s("token")),
                        s("side"),
                        s("price"),
                        s("shares"),
                        s("fee"),
                        s("liquidity"),
                        s("reason"),
                    ]
                })
                .collect();
            print::table(
                &[
                    "seq", "time", "strategy", "token", "side", "price", "shares", "fee", "liq",
                    "reason",
                ],
                &rows,
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn explain(
    target: &Target,
    journal: &Journal,
    p: &Projections,
    seq: i64,
) -> anyhow::Result<ExitCode> {
    // A fill older than what the projections keep is read back from the journal.
    let older;
    let p = if views::explain_sources(p, seq).is_some() {
        p
    } else {
        older = journal.fill_history(seq).await?;
        older.as_ref().unwrap_or(p)
    };
    let (command, cause) = views::explain_sources(p, seq).with_context(|| {
        format!("journal entry {seq} is not a fill (see `pqap trades` for fill sequences)")
    })?;
    let command = one_entry(journal, command).await?;
    let cause = one_entry(journal, cause).await?;
    let doc = views::explain(p, seq, command.as_ref(), cause.as_ref()).unwrap_or_default();
    print_explain(target, &doc)
}

async fn one_entry(journal: &Journal, seq: Option<i64>) -> anyhow::Result<Option<Stored>> {
    Ok(match seq {
        Some(s) => journal.read_range(s, s).await?.into_iter().next(),
        None => None,
    })
}

/// A fill's story as `views::explain` tells it (from the journal here, or from
/// a server's API): JSON, or one line per link.
fn print_explain(target: &Target, doc: &serde_json::Value) -> anyhow::Result<ExitCode> {
    if target.json {
        print::json(doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let f = &doc["fill"]["fill"];
    println!(
        "fill    #{} {} {} {} shares @ {} (fee {}, {})",
        doc["fill"]["seq"],
        f["ts_ns"].as_i64().map(time).unwrap_or_default(),
        text(&f["side"]),
        f["size"].as_u64().map_or_else(String::new, |m| {
            shares(pqap::model::Size::from_micros(m)).to_string()
        }),
        f["price"]
            .as_u64()
            .and_then(|m| u32::try_from(m).ok())
            .and_then(pqap::model::Price::new)
            .map_or_else(String::new, |p| price_dollars(p).to_string()),
        text(&f["fee"]),
        text(&f["liquidity"])
    );
    let o = &doc["order"];
    if o.is_null() {
        println!("order   (not in the journal)");
    } else {
        println!(
            "order   strategy {} order {:x}: {} — now {}",
            o["order"]["key"]["strategy"],
            o["order"]["key"]["client_id"].as_u64().unwrap_or_default(),
            text(&o["order"]["tif"]),
            text(&o["status"])
        );
    }
    let c = &doc["command"];
    if c.is_null() {
        println!("command (not in the journal)");
    } else {
        println!(
            "command #{} {} reason `{}`",
            c["seq"],
            text(&c["time"]),
            text(&c["entry"]["reason"])
        );
    }
    let m = &doc["cause"];
    if m.is_null() {
        println!("cause   (no market event recorded: a timer or an order event)");
    } else {
        println!(
            "cause   #{} {} market event `{}`: {}",
            m["seq"],
            text(&m["time"]),
            text(&m["entry"]["event"]["kind"]),
            m["entry"]["event"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct PerformanceArgs {
    /// Window ending at the latest journal entry, e.g. 7d or 12h.
    #[arg(long, default_value = "7d", value_parser = duration::parse)]
    period: Duration,
    #[command(flatten)]
    target: Target,
}

pub fn performance(args: PerformanceArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let secs = args.period.as_secs().max(1);
        let (strategies, last_ts_ns) = match args
            .target
            .fetch(&format!("/api/v1/performance?period={secs}s"))
            .await?
        {
            Some(doc) => (doc.as_array().cloned().unwrap_or_default(), None),
            None => {
                let (_, p) = load(&args.target).await?;
                let period = i64::try_from(args.period.as_nanos()).unwrap_or(i64::MAX);
                (views::performance(&p, period), Some(p.last_ts_ns))
            }
        };
        if args.target.json {
            print::json(&strategies)?;
        } else {
            let rows: Vec<Vec<String>> = strategies
                .iter()
                .map(|s| {
                    let v = |k: &str| {
                        s[k].as_str()
                            .map_or_else(|| s[k].to_string(), str::to_string)
                    };
                    vec![
                        v("name"),
                        v("fills"),
                        v("volume"),
                        v("fees"),
                        v("realized_total"),
                        v("equity_change"),
                    ]
                })
                .collect();
            match last_ts_ns {
                Some(ts) => println!("period: {:?} up to {}", args.period, time(ts)),
                None => println!("period: {:?} up to the server's latest entry", args.period),
            }
            print::table(
                &[
                    "strategy",
                    "fills",
                    "volume $",
                    "fees $",
                    "realized $",
                    "equity Δ $",
                ],
                &rows,
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain and replay the projections.
    Verify(Target),
}

pub fn journal(cmd: JournalCommand) -> anyhow::Result<ExitCode> {
    let JournalCommand::Verify(target) = cmd;
    runtime()?.block_on(async {
        if let Some(report) = target.fetch("/api/v1/journal/verify").await? {
            let ok = report["broken"].is_null();
            if target.json {
                print::json(&json!({"ok": ok, "chain": report}))?;
            } else {
                println!("entries   {}", report["entries"]);
                println!("head      #{} {}", report["head_seq"], report["head_hash"]);
                match report["sealed_seq"].as_i64() {
                    Some(seq) => println!("sealed    at #{seq} (signed head outside the database)"),
                    None => println!("sealed    never (no journal key: only the chain is checked)"),
                }
                match report["broken"].as_array() {
                    None => println!("chain     intact"),
                    Some(b) => println!("chain     BROKEN at #{}: {}", b[0], b[1]),
                }
            }
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        let journal = open_existing(&target).await?;
        let audit = journal.audit().await?;
        let (report, p, commands) = (audit.report, audit.projections, audit.place_commands);
        let ok = report.broken.is_none() && p.anomalies.is_empty();
        if target.json {
            print::json(&json!({
                "ok": ok,
                "chain": report,
                "anomalies": p.anomalies,
                "anomalies_total": p.anomalies_total,
                "orders": p.orders_total,
                "fills": p.fills_total,
                "place_commands": commands,
            }))?;
        } else {
            println!("entries   {}", report.entries);
            println!("head      #{} {}", report.head_seq, report.head_hash);
            match report.sealed_seq {
                Some(seq) => println!("sealed    at #{seq} (signed head outside the database)"),
                None => println!("sealed    never (no journal key: only the chain is checked)"),
            }
            match &report.broken {
                None => println!("chain     intact"),
                Some((seq, why)) => println!("chain     BROKEN at #{seq}: {why}"),
            }
            println!(
                "checkpts  {} equal to the replay at their entry",
                report.checkpoints
            );
            if p.anomalies.is_empty() {
                println!(
                    "replay    consistent ({} orders, {} fills)",
                    p.orders_total, p.fills_total
                );
            } else {
                for a in &p.anomalies {
                    println!("replay    anomaly: {a}");
                }
            }
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

#[derive(Debug, Args)]
pub struct RiskArgs {
    /// halt, reduce or resume.
    action: String,
    /// Who asks (recorded in the journal).
    #[arg(long, default_value = "cli")]
    actor: String,
    #[command(flatten)]
    target: Target,
}

pub fn risk(args: RiskArgs) -> anyhow::Result<ExitCode> {
    let state: TradingState = args.action.parse().map_err(anyhow::Error::msg)?;
    runtime()?.block_on(async {
        if let Some(remote) = args.target.remote()? {
            let body = json!({ "state": args.action }).to_string().into_bytes();
            let answer = remote
                .post("/api/v1/risk", "application/json", body)
                .await
                .context("asking the server to change the trading state")?;
            if args.target.json {
                print::json(&answer)?;
            } else {
                println!(
                    "requested trading state {state} from {}; its engine applies it within half a second",
                    remote.base
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        // Only into a database an engine runs on: a request nobody applies is
        // worse than an error.
        let journal = open_existing(&args.target).await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let id = pqap::store::control::request(journal.pool(), state, &args.actor, now).await?;
        if args.target.json {
            print::json(&json!({"request": id, "trading_state": state.to_string()}))?;
        } else {
            println!("requested trading state {state} (request {id}); the running engine applies it at its next step");
        }
        Ok(ExitCode::SUCCESS)
    })
}
