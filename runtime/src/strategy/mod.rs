//! The sandbox host: runs untrusted strategy components under fuel, memory and
//! deadline limits, validates and caches artifacts, and supervises instances
//! through faults, restarts and quarantine.

pub mod artifact;
pub mod bindings;
pub mod build;
pub mod cache;
pub mod engine;
pub mod fault;
pub mod guest_text;
pub mod host;
pub mod instance;
pub mod library;
pub mod limits;
pub mod native;
pub mod output;
pub mod params;
mod rng;
pub mod scaffold;
pub mod settings;
pub mod supervisor;
pub mod validate;
pub mod wasi;

pub use artifact::{Artifact, Manifest};
pub use engine::{EngineOptions, SandboxEngine};
pub use fault::{Fault, FaultKind};
pub use host::{GuestOutput, HostView};
pub use instance::{InstanceOptions, SandboxInstance};
pub use library::{ArtifactLibrary, LibraryError};
pub use limits::{ClockMode, SandboxLimits};
pub use params::{ParamError, parse_assignments};
pub use settings::{SettingsError, StrategySettings};
pub use supervisor::{CallOutcome, RunState, SupervisedStrategy};
pub use validate::{ArtifactError, ComponentKind, HOST_WIT_VERSION};
