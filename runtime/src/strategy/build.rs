//! `pqap strategy build`: compiles a strategy crate with plain cargo, turns the core
//! module into a component (the `wit-component` crate, no `cargo-component`), checks
//! it like an upload, and writes `NAME-VERSION.wasm` plus its manifest.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::artifact::Manifest;
use super::engine::SandboxEngine;
use super::limits::SandboxLimits;
use super::validate::ArtifactError;

/// The wasm target a strategy is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuestTarget {
    /// No WASI at all; componentized by the host. The default.
    #[value(name = "wasm32-unknown-unknown")]
    UnknownUnknown,
    /// Rust's component target; accepted with an empty WASI context.
    #[value(name = "wasm32-wasip2")]
    Wasip2,
}

impl GuestTarget {
    pub fn triple(self) -> &'static str {
        match self {
            GuestTarget::UnknownUnknown => "wasm32-unknown-unknown",
            GuestTarget::Wasip2 => "wasm32-wasip2",
        }
    }
}

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Directory of the strategy crate (with `Cargo.toml`).
    pub crate_dir: PathBuf,
    pub target: GuestTarget,
    /// Where `NAME-VERSION.wasm` goes; default `<target dir>/pqap`.
    pub out_dir: Option<PathBuf>,
    /// Cargo target directory override (tests use one per suite).
    pub target_dir: Option<PathBuf>,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    pub wasm: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no Cargo.toml in {0}: point `pqap strategy build` at a strategy crate")]
    NoManifest(PathBuf),
    #[error("`cargo metadata` failed for {path}: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error("{0} is not a strategy crate: its [lib] needs crate-type = [\"cdylib\", ...]")]
    NotCdylib(PathBuf),
    #[error("the {0} target is not installed: run `rustup target add {0}`")]
    TargetMissing(&'static str),
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    #[error("cargo build failed ({0}); the compiler's messages are above")]
    Cargo(String),
    #[error("cargo built no .wasm for package `{0}`")]
    NoWasm(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make a component from the module: {0}")]
    Componentize(String),
    #[error("the built component does not pass validation: {0}")]
    Invalid(#[from] ArtifactError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

struct CrateInfo {
    name: String,
    target_dir: PathBuf,
}

fn crate_info(manifest: &Path) -> Result<CrateInfo, BuildError> {
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .stderr(Stdio::piped())
        .output()
        .map_err(BuildError::Spawn)?;
    let fail = |message: String| BuildError::Metadata {
        path: manifest.to_path_buf(),
        message,
    };
    if !out.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| fail(e.to_string()))?;
    let wanted = manifest.canonicalize().map_err(io(manifest))?;
    let package = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .and_then(|m| Path::new(m).canonicalize().ok())
                .is_some_and(|m| m == wanted)
        })
        .ok_or_else(|| fail("no package at this manifest (a virtual workspace?)".into()))?;
    let is_cdylib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| {
            t["crate_types"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c == "cdylib")
        });
    if !is_cdylib {
        return Err(BuildError::NotCdylib(manifest.to_path_buf()));
    }
    Ok(CrateInfo {
        name: package["name"].as_str().unwrap_or_default().to_string(),
        target_dir: PathBuf::from(meta["target_directory"].as_str().unwrap_or("target")),
    })
}

/// Whether rustup has the target's standard library installed.
fn target_installed(target: GuestTarget) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        // No rustc to ask: let cargo report what is wrong.
        return true;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target.triple())
        .exists()
}

fn cargo_build(
    manifest: &Path,
    info: &CrateInfo,
    opts: &BuildOptions,
) -> Result<PathBuf, BuildError> {
    let mut cmd = Command::new(cargo());
    cmd.args([
        "build",
        "--release",
        "--lib",
        "--message-format",
        "json-render-diagnostics",
    ])
    .args(["--target", opts.target.triple()])
    .arg("--manifest-path")
    .arg(manifest)
    .args(["--package", &info.name])
    // Small components: no debug info in the guest; panics abort (they trap).
    .args(["--config", "profile.release.debug=false"])
    .args(["--config", "profile.release.strip=\"debuginfo\""])
    .args(["--config", "profile.release.panic=\"abort\""])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(dir) = &opts.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    let out = cmd.output().map_err(BuildError::Spawn)?;
    if !out.status.success() {
        return Err(BuildError::Cargo(out.status.to_string()));
    }
    let mut wasm = None;
    for line in out.stdout.split(|b| *b == b'\n') {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let ours = msg["target"]["name"].as_str().map(|n| n.replace('-', "_"))
            == Some(info.name.replace('-', "_"));
        if !ours {
            continue;
        }
        for f in msg["filenames"].as_array().into_iter().flatten() {
            if let Some(f) = f.as_str().filter(|f| f.ends_with(".wasm")) {
                wasm = Some(PathBuf::from(f));
            }
        }
    }
    wasm.ok_or_else(|| BuildError::NoWasm(info.name.clone()))
}

/// Turns a core module built by wit-bindgen (which embeds the world in a custom
/// section) into a component.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, BuildError> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| BuildError::Componentize(format!("{e:#}")))
}

/// Builds, componentizes, validates and writes the artifact and its manifest.
pub fn build_strategy(
    engine: &Arc<SandboxEngine>,
    opts: &BuildOptions,
    limits: &SandboxLimits,
) -> Result<BuildOutput, BuildError> {
    let manifest = opts.crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::NoManifest(opts.crate_dir.clone()));
    }
    if !target_installed(opts.target) {
        return Err(BuildError::TargetMissing(opts.target.triple()));
    }
    let info = crate_info(&manifest)?;
    let built = cargo_build(&manifest, &info, opts)?;
    let module = std::fs::read(&built).map_err(io(&built))?;
    let component = match opts.target {
        GuestTarget::UnknownUnknown => componentize(&module)?,
        // rustc's wasip2 linker already emits a component.
        GuestTarget::Wasip2 => module,
    };
    let artifact = engine.load(&component, limits)?;
    let manifest_doc = artifact.manifest();
    let target_dir = opts.target_dir.clone().unwrap_or(info.target_dir);
    let out_dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| target_dir.join("pqap"));
    std::fs::create_dir_all(&out_dir).map_err(io(&out_dir))?;
    let stem = format!("{}-{}", manifest_doc.name, manifest_doc.version);
    let wasm = out_dir.join(format!("{stem}.wasm"));
    std::fs::write(&wasm, &component).map_err(io(&wasm))?;
    let manifest_path = out_dir.join(format!("{stem}.manifest.json"));
    let text = serde_json::to_string_pretty(&manifest_doc)
        .map_err(|e| BuildError::Componentize(e.to_string()))?;
    std::fs::write(&manifest_path, text + "\n").map_err(io(&manifest_path))?;
    Ok(BuildOutput {
        wasm,
        manifest_path,
        manifest: manifest_doc,
    })
}
