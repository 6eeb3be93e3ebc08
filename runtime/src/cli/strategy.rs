//! `pqap strategy new|build|validate|test`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use pqap::strategy::build::{BuildOptions, GuestTarget, build_strategy};
use pqap::strategy::scaffold::new_strategy;
use pqap::strategy::{EngineOptions, Manifest, SandboxEngine, SandboxLimits};

use super::print;

#[derive(Debug, Subcommand)]
pub enum StrategyCommand {
    /// Generate a new strategy project in DIR/NAME (DIR defaults to `.`).
    New {
        name: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Build a strategy crate into a validated component + manifest.
    Build(BuildArgs),
    /// Check a `.wasm` file the way the server checks an upload.
    Validate {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a strategy crate's native unit tests.
    Test {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The strategy crate's directory.
    #[arg(default_value = ".")]
    path: PathBuf,
    #[arg(long, value_enum, default_value = "wasm32-unknown-unknown")]
    target: GuestTarget,
    /// Output directory (default: the crate's target dir + `/pqap`).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The engine CLI commands use, with the user's compiled-code cache.
pub fn engine() -> anyhow::Result<Arc<SandboxEngine>> {
    let options = EngineOptions {
        cache_dir: pqap::strategy::engine::default_cache_dir(),
        ..EngineOptions::default()
    };
    Ok(Arc::new(SandboxEngine::new(options)?))
}

fn print_manifest(m: &Manifest) {
    println!("name        {}", m.name);
    println!("version     {}", m.version);
    println!("wit         pqap:strategy@{}", m.wit_version);
    println!("sha256      {}", m.sha256);
    println!("size        {} bytes", m.size_bytes);
    println!("kind        {:?}", m.kind);
    println!("imports     {}", m.imports.join(", "));
    println!("interests   {}", m.interests.join(", "));
    if !m.params.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = m
            .params
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.kind.clone(),
                    p.default.clone(),
                    p.description.clone(),
                ]
            })
            .collect();
        print::table(&["param", "kind", "default", "description"], &rows);
    }
}

pub fn run(cmd: StrategyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StrategyCommand::New { name, dir, json } => {
            let made = new_strategy(&name, &dir)?;
            if json {
                print::json(&made)?;
            } else {
                println!("created {}", made.dir.display());
                for f in &made.files {
                    println!("  {}", f.strip_prefix(&made.dir).unwrap_or(f).display());
                }
                println!(
                    "next: cd {} && pqap strategy test && pqap strategy build",
                    made.dir.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StrategyCommand::Build(args) => {
            let engine = engine()?;
            let out = build_strategy(
                &engine,
                &BuildOptions {
                    crate_dir: args.path.clone(),
                    target: args.target,
                    out_dir: args.out,
                    target_dir: None,
                },
                &SandboxLimits::default(),
            )
            .with_context(|| format!("building {}", args.path.display()))?;
            if args.json {
                print::json(&serde_json::json!({
                    "wasm": out.wasm,
                    "manifest_path": out.manifest_path,
                    "manifest": out.manifest,
                }))?;
            } else {
                println!("built {}", out.wasm.display());
                println!("manifest {}", out.manifest_path.display());
                print_manifest(&out.manifest);
            }
            Ok(ExitCode::SUCCESS)
        }
        StrategyCommand::Validate { file, json } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let engine = engine()?;
            match engine.load(&bytes, &SandboxLimits::default()) {
                Ok(artifact) => {
                    let manifest = artifact.manifest();
                    if json {
                        print::json(&serde_json::json!({
                            "file": file, "valid": true, "manifest": manifest,
                        }))?;
                    } else {
                        println!("{}: valid strategy component", file.display());
                        print_manifest(&manifest);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        print::json(&serde_json::json!({
                            "file": file, "valid": false, "error": e.to_string(),
                        }))?;
                    } else {
                        eprintln!("{}: invalid: {e}", file.display());
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        StrategyCommand::Test { path } => {
            let manifest = path.join("Cargo.toml");
            anyhow::ensure!(
                manifest.is_file(),
                "no Cargo.toml in {}: point `pqap strategy test` at a strategy crate",
                path.display()
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .arg("test")
                .arg("--manifest-path")
                .arg(&manifest)
                .status()
                .context("running cargo test")?;
            Ok(if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
