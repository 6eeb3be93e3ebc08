//! `pqap deploy NAME --env ENV`: builds the strategy (or takes a `.wasm`),
//! uploads it to the environment's server with the API token, deploys it with
//! parameters and risk-limit overrides, and waits for the engine's answer:
//! started, reloaded in place, or rolled back (exit 1). `pqap deploy retire|
//! quarantine NAME --db …` changes a stopped server's database directly, for
//! when the server cannot start.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::config::Config;
use pqap::engine::deployments::{limit_value, quarantine_offline, retire_offline};
use pqap::store::{EngineLock, Journal};
use serde_json::json;

use super::paper::{artifact_bytes, sandbox_engine, settings_for};
use super::remote::Remote;
use super::{duration, print};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub offline: Option<OfflineCommand>,
    /// A crate name under `strategies/`, a crate directory, or a `.wasm` component.
    #[arg(required = true)]
    pub name: Option<String>,
    /// The environment whose server to deploy to (`configs/ENV.yaml`).
    #[arg(long, required = true)]
    pub env: Option<String>,
    /// Parameter values, checked against the strategy's schema.
    #[arg(long = "params", num_args = 1.., value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Risk-limit overrides over the server's per-strategy limits, e.g.
    /// `max_daily_loss=25`.
    #[arg(long = "limits", num_args = 1.., value_name = "LIMIT=VALUE")]
    pub limits: Vec<String>,
    /// Return once queued instead of waiting for the engine to apply it.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the engine.
    #[arg(long, default_value = "60s", value_parser = duration::parse)]
    pub timeout: Duration,
    #[arg(long)]
    pub json: bool,
}

/// `NAME=VALUE` pairs as a JSON object: parameters as text, limits as
/// [`limit_value`] writes them.
fn assignments(
    pairs: &[String],
    what: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("--{what} {pair:?}: expected NAME=VALUE"))?;
        let value = if what == "limits" {
            limit_value(v)
        } else {
            json!(v.trim())
        };
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

/// Changes to a stopped server's database, for when it cannot start.
#[derive(Debug, Subcommand)]
pub enum OfflineCommand {
    /// Retire a deployed strategy in the database of a server that is not
    /// running: its orders are not touched (none work while no engine runs), it
    /// will not start again, its positions stay.
    Retire(OfflineArgs),
    /// Quarantine a deployed strategy in the database of a server that is not
    /// running: a server started later shows it quarantined and never calls it
    /// until it is deployed again.
    Quarantine(OfflineArgs),
}

#[derive(Debug, Args)]
pub struct OfflineArgs {
    /// The strategy's name (as it describes itself).
    pub name: String,
    /// The server's database (default: the config's).
    #[arg(long)]
    pub db: Option<std::path::PathBuf>,
    #[arg(long, default_value = "configs/dev.yaml")]
    pub config: std::path::PathBuf,
    /// Why (journaled with the change).
    #[arg(long, default_value = "operator action while the server was down")]
    pub reason: String,
    #[arg(long)]
    pub json: bool,
}

fn offline(command: OfflineCommand) -> anyhow::Result<ExitCode> {
    let (args, retire) = match command {
        OfflineCommand::Retire(a) => (a, true),
        OfflineCommand::Quarantine(a) => (a, false),
    };
    let db = match &args.db {
        Some(db) => db.clone(),
        None => Config::load(&args.config, std::env::vars())?.database,
    };
    anyhow::ensure!(db.is_file(), "no database at {}", db.display());
    let _lock = EngineLock::acquire(&db)?;
    let actor = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    );
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let change = rt.block_on(async {
        let mut journal = Journal::open(&db).await?;
        let change = if retire {
            retire_offline(&mut journal, &args.name, &actor, now_ns).await
        } else {
            quarantine_offline(&mut journal, &args.name, &args.reason, &actor, now_ns).await
        };
        anyhow::Ok(change.with_context(|| format!("{}", db.display()))?)
    })?;
    if args.json {
        print::json(&change)?;
    } else {
        println!(
            "strategy {} (id {}) {} in {} (journal entry {})",
            change.strategy,
            change.id,
            change.outcome,
            db.display(),
            change.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: DeployArgs) -> anyhow::Result<ExitCode> {
    if let Some(command) = args.offline {
        return offline(command);
    }
    let (Some(name), Some(env)) = (args.name.clone(), args.env.clone()) else {
        anyhow::bail!("pqap deploy NAME --env ENV, or pqap deploy retire|quarantine NAME --db DB");
    };
    // The crate's strategy.yaml under the flags: parameters and limits per
    // key, and the markets it trades.
    let settings = settings_for(&name)?;
    let params = assignments(
        &settings
            .as_ref()
            .map_or_else(|| args.params.clone(), |s| s.assignments_with(&args.params)),
        "params",
    )?;
    let mut limits = settings
        .as_ref()
        .map(|s| s.risk.clone())
        .unwrap_or_default();
    limits.extend(assignments(&args.limits, "limits")?);
    let markets = settings
        .as_ref()
        .map(|s| s.markets.clone())
        .unwrap_or_default();
    let remote = Remote::for_env(&env)?;
    // Built and checked here with the environment's sandbox limits, so a
    // component the server would refuse is caught before the upload.
    let config = Config::load(
        std::path::Path::new(&format!("configs/{env}.yaml")),
        std::env::vars(),
    )?;
    let sandbox = sandbox_engine(&config)?;
    let bytes = artifact_bytes(&sandbox, &name, &config.sandbox, args.json)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let size = bytes.len();
        let manifest = remote
            .post("/api/v1/artifacts", "application/wasm", bytes)
            .await
            .context("uploading")?;
        let name = manifest["name"].as_str().unwrap_or_default().to_string();
        let sha = manifest["sha256"].as_str().unwrap_or_default().to_string();
        if !args.json {
            eprintln!(
                "uploaded {name} {} ({size} bytes, sha256 {sha})",
                manifest["version"].as_str().unwrap_or_default()
            );
        }
        if let Some(s) = &settings
            && !s.name.is_empty()
            && s.name != name
        {
            anyhow::bail!("{}: name: `{}`, but the strategy is `{name}`", s.path.display(), s.name);
        }
        let body = json!({ "sha256": sha, "params": params, "limits": limits, "markets": markets });
        let queued = remote
            .post(
                &format!("/api/v1/strategies/{name}/deploy"),
                "application/json",
                body.to_string().into_bytes(),
            )
            .await
            .context("deploying")?;
        let id = queued["deployment"].as_i64().unwrap_or_default();
        if args.no_wait {
            if args.json {
                print::json(&queued)?;
            } else {
                println!("deployment {id} queued");
            }
            return Ok(ExitCode::SUCCESS);
        }
        let started = Instant::now();
        let applied = loop {
            let doc = remote.get(&format!("/api/v1/deployments/{id}")).await?;
            if doc["status"] == "applied" {
                break doc;
            }
            anyhow::ensure!(
                started.elapsed() < args.timeout,
                "deployment {id}: the engine did not apply it within {:?} (is the server's engine running?)",
                args.timeout
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let outcome = applied["outcome"].as_str().unwrap_or_default().to_string();
        if args.json {
            print::json(&applied)?;
        } else {
            let message = applied["message"].as_str().unwrap_or_default();
            println!("deployment {id}: {name} {outcome}{}{message}", if message.is_empty() { "" } else { ": " });
        }
        Ok(if matches!(outcome.as_str(), "started" | "reloaded") {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_keep_decimals_as_text_and_name_bad_pairs() {
        let m = assignments(
            &["max_open_orders=4".into(), "max_daily_loss=2.5".into()],
            "limits",
        )
        .unwrap();
        assert_eq!(m["max_open_orders"], json!(4));
        assert_eq!(m["max_daily_loss"], json!("2.5"));
        let p = assignments(&["size=5".into()], "params").unwrap();
        assert_eq!(p["size"], json!("5"));
        let e = assignments(&["oops".into()], "params")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--params \"oops\""), "{e}");
    }
}
