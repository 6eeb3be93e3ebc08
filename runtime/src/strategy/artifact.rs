//! A validated, compiled strategy ready to instantiate, with what it says about
//! itself.

use std::sync::Arc;

use serde::Serialize;

use super::bindings::StrategyPre;
use super::bindings::types::{Interests, ParamKind, ParamValue, StrategyInfo};
use super::engine::SandboxEngine;
use super::host::{HostState, HostView};
use super::instance::{InstanceOptions, SandboxInstance};
use super::limits::{ClockMode, SandboxLimits};
use super::validate::{self, ArtifactError, InterfaceReport};

/// A loaded strategy artifact: instantiate as many instances as needed.
pub struct Artifact {
    pub sha256: String,
    pub size: usize,
    pub interfaces: InterfaceReport,
    pub info: StrategyInfo,
    pub(super) pre: StrategyPre<HostState>,
    pub(super) engine: Arc<SandboxEngine>,
    /// For benchmarks only: instances call this linked copy of the strategy
    /// instead of the component (see [`Artifact::linked_natively`]).
    pub(super) native: Option<super::native::NativeFactory>,
}

impl std::fmt::Debug for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Artifact")
            .field("name", &self.info.name)
            .field("version", &self.info.version)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl Artifact {
    /// This artifact with its instances running `native`, the same strategy
    /// compiled into this binary, instead of the component: same name,
    /// version, hash and parameters, so a run's inputs and id are unchanged;
    /// no fuel, deadline or memory limit applies. For benchmarks that measure
    /// the sandbox's share of a run.
    pub fn linked_natively(&self, native: super::native::NativeFactory) -> Arc<Artifact> {
        Arc::new(Artifact {
            sha256: self.sha256.clone(),
            size: self.size,
            interfaces: self.interfaces.clone(),
            info: self.info.clone(),
            pre: self.pre.clone(),
            engine: self.engine.clone(),
            native: Some(native),
        })
    }

    pub(super) fn describe_and_build(
        engine: Arc<SandboxEngine>,
        pre: StrategyPre<HostState>,
        sha256: String,
        size: usize,
        interfaces: InterfaceReport,
        limits: &SandboxLimits,
    ) -> Result<Arc<Artifact>, ArtifactError> {
        let mut artifact = Artifact {
            sha256,
            size,
            interfaces,
            info: StrategyInfo {
                name: "describing".into(),
                version: String::new(),
                description: String::new(),
                params: Vec::new(),
                interests: Interests::empty(),
            },
            pre,
            engine,
            native: None,
        };
        let options = InstanceOptions {
            mode: ClockMode::Simulated,
            seed: 0,
            limits: limits.clone(),
        };
        let mut probe =
            SandboxInstance::instantiate(&artifact, &options).map_err(ArtifactError::Describe)?;
        let info = probe
            .describe(&mut HostView::default())
            .map_err(ArtifactError::Describe)?;
        validate::check_describe(&info)?;
        artifact.info = info;
        Ok(Arc::new(artifact))
    }

    /// The manifest written next to a built artifact and shown on upload.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            name: self.info.name.clone(),
            version: self.info.version.clone(),
            description: self.info.description.clone(),
            wit_version: self.interfaces.wit_version.clone(),
            sha256: self.sha256.clone(),
            size_bytes: self.size,
            kind: self.interfaces.kind,
            imports: self.interfaces.imports.clone(),
            interests: interest_names(self.info.interests),
            params: self.info.params.iter().map(ParamDoc::from_spec).collect(),
        }
    }
}

fn interest_names(i: Interests) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, name) in [
        (Interests::BOOK_SNAPSHOTS, "book_snapshots"),
        (Interests::BOOK_CHANGES, "book_changes"),
        (Interests::QUOTES, "quotes"),
        (Interests::TRADES, "trades"),
    ] {
        if i.contains(flag) {
            out.push(name.to_string());
        }
    }
    out
}

/// Artifact metadata: identity, interface and parameter schema.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub wit_version: String,
    pub sha256: String,
    pub size_bytes: usize,
    pub kind: super::validate::ComponentKind,
    pub imports: Vec<String>,
    pub interests: Vec<String>,
    pub params: Vec<ParamDoc>,
}

/// One parameter of the schema, with its default as text.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ParamDoc {
    pub name: String,
    pub kind: String,
    pub default: String,
    pub description: String,
}

impl ParamDoc {
    fn from_spec(spec: &super::bindings::types::ParamSpec) -> ParamDoc {
        let kind = match spec.kind {
            ParamKind::Integer => "integer",
            ParamKind::Decimal => "decimal",
            ParamKind::Flag => "flag",
            ParamKind::Text => "text",
        };
        ParamDoc {
            name: spec.name.clone(),
            kind: kind.to_string(),
            default: param_value_text(&spec.default),
            description: spec.description.clone(),
        }
    }
}

/// Parameters as name → the text a user would write.
pub fn params_text(
    params: &[super::bindings::types::Param],
) -> std::collections::BTreeMap<String, String> {
    params
        .iter()
        .map(|p| (p.name.clone(), param_value_text(&p.value)))
        .collect()
}

/// A parameter value as the text a user would write in YAML.
pub fn param_value_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Decimal(d) => {
            // Guest-supplied: a scale beyond what rust_decimal holds is shown raw.
            match rust_decimal::Decimal::try_from_i128_with_scale(
                i128::from(d.mantissa),
                u32::from(d.scale),
            ) {
                Ok(x) => x.normalize().to_string(),
                Err(_) => format!("{}e-{}", d.mantissa, d.scale),
            }
        }
        ParamValue::Flag(b) => b.to_string(),
        ParamValue::Text(s) => s.clone(),
    }
}
