//! The process-wide wasmtime engine for strategies: one `Engine` configured for
//! fuel, determinism and a wall-clock backstop, the host linkers, the epoch ticker
//! and the compiled-code cache. Loading an artifact ends in a ready `InstancePre`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::artifact::Artifact;
use super::bindings::{Strategy, StrategyPre};
use super::cache::CompiledCache;
use super::host::HostState;
use super::limits::SandboxLimits;
use super::validate::{self, ArtifactError, ComponentKind};
use super::wasi;

/// How to build the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Period of the epoch ticker that enforces wall-clock deadlines.
    pub epoch_tick: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cache_dir: None,
            epoch_tick: Duration::from_millis(10),
        }
    }
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the wasm engine: {0}")]
pub struct EngineError(String);

/// Shared by every strategy instance of the process.
pub struct SandboxEngine {
    engine: Engine,
    plain: Linker<HostState>,
    with_wasi: Linker<HostState>,
    cache: Option<CompiledCache>,
    fingerprint: String,
    epoch_tick: Duration,
}

fn engine_config() -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true)
        // Fuel bounds every call deterministically; epochs add a wall-clock
        // backstop in paper/live. Both are compiled in for every mode so fuel
        // counts are identical between backtest and live.
        .consume_fuel(true)
        .epoch_interruption(true)
        // Determinism: NaN bit patterns and relaxed SIMD are otherwise
        // platform-dependent. Threads and shared memory stay off because the
        // `threads` cargo feature of wasmtime is not enabled.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .max_wasm_stack(512 << 10)
        // Strategy calls are synchronous; this makes each export call ~3× cheaper.
        .concurrency_support(false);
    c
}

impl SandboxEngine {
    pub fn new(options: EngineOptions) -> Result<SandboxEngine, EngineError> {
        let engine = Engine::new(&engine_config()).map_err(|e| EngineError(e.to_string()))?;
        let mut plain = Linker::new(&engine);
        Strategy::add_to_linker::<HostState, HasSelf<HostState>>(&mut plain, |s| s)
            .map_err(|e| EngineError(e.to_string()))?;
        let mut with_wasi = Linker::new(&engine);
        Strategy::add_to_linker::<HostState, HasSelf<HostState>>(&mut with_wasi, |s| s)
            .map_err(|e| EngineError(e.to_string()))?;
        wasi::add_to_linker(&mut with_wasi).map_err(|e| EngineError(e.to_string()))?;

        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let fingerprint = format!(
            "wt{}-{:016x}",
            env!("CARGO_PKG_VERSION"),
            std::hash::Hasher::finish(&hasher)
        );

        spawn_epoch_ticker(&engine, options.epoch_tick);
        Ok(SandboxEngine {
            engine,
            plain,
            with_wasi,
            cache: options.cache_dir.map(CompiledCache::new),
            fingerprint,
            epoch_tick: options.epoch_tick,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Identifies compiled code compatibility (wasmtime version + configuration).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn epoch_tick(&self) -> Duration {
        self.epoch_tick
    }

    fn compile(&self, bytes: &[u8], sha256: &str) -> Result<Component, ArtifactError> {
        if let Some(cache) = &self.cache
            && let Some(c) = cache.load(&self.engine, sha256, &self.fingerprint)
        {
            return Ok(c);
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| ArtifactError::Compile(format!("{e:#}")))?;
        if let Some(cache) = &self.cache {
            // A cache that cannot be written only costs a recompile next time.
            if let Err(e) = cache.store(sha256, &self.fingerprint, &component) {
                tracing::warn!(error = %e, "could not cache compiled strategy");
            }
        }
        Ok(component)
    }

    /// Validates and compiles a strategy component and asks it to `describe` itself.
    pub fn load(
        self: &Arc<Self>,
        bytes: &[u8],
        limits: &SandboxLimits,
    ) -> Result<Arc<Artifact>, ArtifactError> {
        validate::check_bytes(bytes, limits.max_artifact_bytes)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = self.compile(bytes, &sha256)?;
        let interfaces = validate::check_interfaces(&self.engine, &component)?;
        let linker = match interfaces.kind {
            ComponentKind::Plain => &self.plain,
            ComponentKind::Wasi => &self.with_wasi,
        };
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| ArtifactError::Link(format!("{e:#}")))?;
        let pre = StrategyPre::new(pre).map_err(|e| ArtifactError::Link(format!("{e:#}")))?;
        Artifact::describe_and_build(self.clone(), pre, sha256, bytes.len(), interfaces, limits)
    }
}

/// Advances the engine's epoch on a fixed period until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("pqap-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        });
    if let Err(e) = spawned {
        // Without the ticker deadlines never fire; fuel still bounds every call.
        tracing::error!(error = %e, "epoch ticker not started: wall-clock deadlines disabled");
    }
}

/// Where CLI commands cache compiled components: `PQAP_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/pqap/compiled`, else `~/.cache/pqap/compiled`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PQAP_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("pqap/compiled"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pqap/compiled"))
}
