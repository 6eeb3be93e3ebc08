//! `pqap user add` and `pqap token create`: the people and tokens the server
//! accepts, stored in the environment's database.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::config::Config;
use pqap::store::auth::{Role, add_user, audit, create_token, revoke_access};

use super::print::runtime;

#[derive(Debug, Args)]
pub struct Env {
    #[arg(long, default_value = "configs/dev.yaml", global = true)]
    config: PathBuf,
    /// This database instead of the configured one.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
}

impl Env {
    /// The environment's auth database (users, tokens, sessions, audit).
    async fn open(&self) -> anyhow::Result<sqlx::SqlitePool> {
        let path = match &self.db {
            Some(p) => p.clone(),
            None => Config::load(&self.config, std::env::vars())?.database,
        };
        Ok(pqap::store::auth_db::open_auth(&path).await?)
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password comes from PQAP_PASSWORD or the first line of stdin.
    Add {
        name: String,
        #[arg(long, default_value = "viewer")]
        role: String,
        #[command(flatten)]
        env: Env,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (shown once; only its hash is kept).
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        env: Env,
    },
    /// Revoke every API token of a user and end their browser sessions.
    Revoke {
        user: String,
        #[command(flatten)]
        env: Env,
    },
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub fn user(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::Add { name, role, env } = cmd;
    let role: Role = role
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--role {e}"))?;
    let password = match std::env::var("PQAP_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    runtime()?.block_on(async {
        let auth = env.open().await?;
        add_user(&auth, &name, role, &password, now_ns()).await?;
        audit(
            &auth,
            now_ns(),
            "cli",
            "user_add",
            &format!("{name} as {role}"),
            "ok",
        )
        .await?;
        println!("user {name} added as {role}");
        Ok(ExitCode::SUCCESS)
    })
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let (user, label, env) = match cmd {
        TokenCommand::Create { user, label, env } => (user, label, env),
        TokenCommand::Revoke { user, env } => {
            return runtime()?.block_on(async {
                let auth = env.open().await?;
                let n = revoke_access(&auth, &user).await?;
                audit(
                    &auth,
                    now_ns(),
                    "cli",
                    "token_revoke",
                    &user,
                    &format!("{n} tokens and sessions ended"),
                )
                .await?;
                println!("revoked {n} tokens and sessions of {user}");
                Ok(ExitCode::SUCCESS)
            });
        }
    };
    runtime()?.block_on(async {
        let auth = env.open().await?;
        let token = create_token(&auth, &user, &label, now_ns()).await?;
        audit(
            &auth,
            now_ns(),
            "cli",
            "token_create",
            &format!("{user} ({label})"),
            "ok",
        )
        .await?;
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    })
}
