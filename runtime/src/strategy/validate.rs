//! Checks an uploaded strategy must pass before it is compiled or run: size, that it
//! is a component (not a core module or precompiled code), its imports, its WIT
//! version and its `describe` answer.

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings::types::{ParamKind, ParamValue, StrategyInfo};
use super::fault::Fault;
use super::wasi::ALLOWED_WASI_PREFIXES;

/// The WIT package version this host implements.
pub const HOST_WIT_VERSION: &str = "0.1.0";
/// Import and export names use this package.
const PACKAGE: &str = "pqap:strategy";

/// Why an artifact was refused. Messages name the problem and, where possible,
/// what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("the file is empty")]
    Empty,
    #[error("{size} bytes is over the {limit} byte artifact limit")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "precompiled code is never accepted: upload the `.wasm` component and the host compiles it"
    )]
    Precompiled,
    #[error("not a WebAssembly file (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build it with `pqap strategy build`, which turns the module into a component"
    )]
    CoreModule,
    #[error("invalid or truncated component: {0}")]
    Invalid(String),
    #[error(
        "imports `{name}`, which strategies may not use (allowed: {PACKAGE}/host, {PACKAGE}/types and WASI clocks, random, cli and io, all without capabilities)"
    )]
    ForbiddenImport { name: String },
    #[error("built against {PACKAGE}@{found}; this host supports {PACKAGE}@{HOST_WIT_VERSION}")]
    UnsupportedWitVersion { found: String },
    #[error("does not export `{PACKAGE}/callbacks@{HOST_WIT_VERSION}`; exports: {exports}")]
    MissingExport { exports: String },
    #[error("cannot be linked against the host interface: {0}")]
    Link(String),
    #[error("compilation failed: {0}")]
    Compile(String),
    #[error("the compiled-code cache failed: {0}")]
    Cache(String),
    #[error("`describe` failed: {0}")]
    Describe(Fault),
    #[error("`describe` answered something unusable: {0}")]
    BadDescribe(String),
}

/// How a component reaches the outside world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    /// Imports only the PQAP host interface (`wasm32-unknown-unknown` + componentize).
    Plain,
    /// Also imports WASI, served by an empty, virtualised context (`wasm32-wasip2`).
    Wasi,
}

/// Cheap byte-level checks, before any compilation.
pub fn check_bytes(bytes: &[u8], max_bytes: usize) -> Result<(), ArtifactError> {
    if bytes.is_empty() {
        return Err(ArtifactError::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(ArtifactError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    if Engine::detect_precompiled(bytes).is_some() {
        return Err(ArtifactError::Precompiled);
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(ArtifactError::NotWasm);
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(ArtifactError::CoreModule);
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(ArtifactError::Invalid(
            "unknown WebAssembly encoding version".to_string(),
        ));
    }
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator
        .validate_all(bytes)
        .map_err(|e| ArtifactError::Invalid(e.to_string()))?;
    Ok(())
}

/// Splits `pqap:strategy/host@0.1.0` into (`host`, `0.1.0`).
fn pqap_interface(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

/// Whether a guest built against `version` links with this host: same major and,
/// for 0.x, same minor (semver compatibility).
fn wit_version_supported(version: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parse(version), parse(HOST_WIT_VERSION)) {
        (Some((0, minor)), Some((0, host_minor))) => minor == host_minor,
        (Some((major, _)), Some((host_major, _))) => major == host_major,
        _ => false,
    }
}

/// What the import/export check learned.
#[derive(Debug, Clone, Serialize)]
pub struct InterfaceReport {
    pub kind: ComponentKind,
    pub wit_version: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Checks imports ⊆ allowed interfaces, the WIT version, and the callbacks export.
pub fn check_interfaces(
    engine: &Engine,
    component: &Component,
) -> Result<InterfaceReport, ArtifactError> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let mut kind = ComponentKind::Plain;
    let mut wit_version: Option<String> = None;
    for name in &imports {
        if let Some((iface, version)) = pqap_interface(name) {
            if !matches!(iface, "host" | "types") {
                return Err(ArtifactError::ForbiddenImport { name: name.clone() });
            }
            if !wit_version_supported(version) {
                return Err(ArtifactError::UnsupportedWitVersion {
                    found: version.to_string(),
                });
            }
            wit_version.get_or_insert_with(|| version.to_string());
        } else if ALLOWED_WASI_PREFIXES.iter().any(|p| name.starts_with(p)) {
            kind = ComponentKind::Wasi;
        } else {
            return Err(ArtifactError::ForbiddenImport { name: name.clone() });
        }
    }
    let callbacks = exports.iter().find_map(|name| match pqap_interface(name) {
        Some(("callbacks", v)) => Some(v.to_string()),
        _ => None,
    });
    let Some(export_version) = callbacks else {
        let names: Vec<&str> = exports.iter().map(String::as_str).collect();
        return Err(ArtifactError::MissingExport {
            exports: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        });
    };
    if !wit_version_supported(&export_version) {
        return Err(ArtifactError::UnsupportedWitVersion {
            found: export_version,
        });
    }
    Ok(InterfaceReport {
        kind,
        wit_version: wit_version.unwrap_or(export_version),
        imports,
        exports,
    })
}

fn kind_matches(kind: ParamKind, value: &ParamValue) -> bool {
    matches!(
        (kind, value),
        (ParamKind::Integer, ParamValue::Integer(_))
            | (ParamKind::Decimal, ParamValue::Decimal(_))
            | (ParamKind::Flag, ParamValue::Flag(_))
            | (ParamKind::Text, ParamValue::Text(_))
    )
}

/// Longest strategy description `describe` may return, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4 << 10;
/// Most parameters a strategy may declare.
pub const MAX_PARAMS: usize = 64;
/// Longest parameter description, in bytes.
pub const MAX_PARAM_DESCRIPTION_BYTES: usize = 512;
/// Longest default of a text parameter, in bytes.
pub const MAX_TEXT_DEFAULT_BYTES: usize = 1 << 10;

/// Checks what `describe` returned: a usable name and version, a consistent
/// parameter schema, and sizes a manifest, a listing and a dashboard can carry
/// (every viewer of the strategy library receives it).
pub fn check_describe(info: &StrategyInfo) -> Result<(), ArtifactError> {
    let bad = |m: String| Err(ArtifactError::BadDescribe(m));
    if info.description.len() > MAX_DESCRIPTION_BYTES {
        return bad(format!(
            "the description is {} bytes, over the limit of {MAX_DESCRIPTION_BYTES}",
            info.description.len()
        ));
    }
    if info.params.len() > MAX_PARAMS {
        return bad(format!(
            "{} parameters declared, over the limit of {MAX_PARAMS}",
            info.params.len()
        ));
    }
    let name_ok = !info.name.is_empty()
        && info.name.len() <= 64
        && info
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !name_ok {
        return bad(format!(
            "name `{}` must be 1-64 characters of a-z, 0-9, `_` or `-`",
            super::guest_text::escape(&info.name)
        ));
    }
    let version_ok = !info.version.is_empty()
        && info.version.len() <= 32
        && info
            .version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'));
    if !version_ok {
        return bad(format!(
            "version `{}` must be 1-32 characters of A-Z, a-z, 0-9, `.`, `-`, `+` or `_`",
            super::guest_text::escape(&info.version)
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &info.params {
        let param_ok = !p.name.is_empty()
            && p.name.len() <= 64
            && p.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if !param_ok {
            return bad(format!(
                "parameter name `{}` must be 1-64 characters of A-Z, a-z, 0-9, `_` or `-`",
                super::guest_text::escape(&p.name)
            ));
        }
        if p.description.len() > MAX_PARAM_DESCRIPTION_BYTES {
            return bad(format!(
                "parameter `{}` has a {} byte description, over the limit of {MAX_PARAM_DESCRIPTION_BYTES}",
                p.name,
                p.description.len()
            ));
        }
        if let ParamValue::Text(t) = &p.default
            && t.len() > MAX_TEXT_DEFAULT_BYTES
        {
            return bad(format!(
                "parameter `{}` has a {} byte default, over the limit of {MAX_TEXT_DEFAULT_BYTES}",
                p.name,
                t.len()
            ));
        }
        if !seen.insert(p.name.as_str()) {
            return bad(format!("parameter `{}` is declared twice", p.name));
        }
        if !kind_matches(p.kind, &p.default) {
            return bad(format!(
                "parameter `{}` has a default of another kind than {:?}",
                p.name, p.kind
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_checks_name_the_problem() {
        assert!(matches!(check_bytes(b"", 10), Err(ArtifactError::Empty)));
        assert!(matches!(
            check_bytes(&[0u8; 11], 10),
            Err(ArtifactError::TooLarge {
                size: 11,
                limit: 10
            })
        ));
        assert!(matches!(
            check_bytes(b"hello world", 100),
            Err(ArtifactError::NotWasm)
        ));
        // Smallest valid core module: magic + version 1.
        assert!(matches!(
            check_bytes(b"\0asm\x01\0\0\0", 100),
            Err(ArtifactError::CoreModule)
        ));
        // Component header cut short inside a section.
        assert!(matches!(
            check_bytes(b"\0asm\x0d\0\x01\0\x01\x05ab", 100),
            Err(ArtifactError::Invalid(_))
        ));
    }

    fn info(description: usize, params: usize, param_description: usize) -> StrategyInfo {
        use super::super::bindings::types::{Interests, ParamSpec};
        StrategyInfo {
            name: "s".into(),
            version: "1".into(),
            description: "d".repeat(description),
            params: (0..params)
                .map(|i| ParamSpec {
                    name: format!("p{i}"),
                    kind: ParamKind::Text,
                    default: ParamValue::Text("x".into()),
                    description: "y".repeat(param_description),
                })
                .collect(),
            interests: Interests::empty(),
        }
    }

    #[test]
    fn describe_sizes_are_capped_by_name() {
        assert!(check_describe(&info(MAX_DESCRIPTION_BYTES, MAX_PARAMS, 10)).is_ok());
        let err = |i: StrategyInfo| check_describe(&i).unwrap_err().to_string();
        assert!(err(info(MAX_DESCRIPTION_BYTES + 1, 1, 1)).contains("description is 4097 bytes"));
        assert!(err(info(1, MAX_PARAMS + 1, 1)).contains("65 parameters"));
        assert!(err(info(1, 1, 513)).contains("parameter `p0` has a 513 byte description"));
        let mut long_default = info(1, 1, 1);
        long_default.params[0].default = ParamValue::Text("z".repeat(2_000));
        assert!(err(long_default).contains("2000 byte default"));
    }

    #[test]
    fn versions() {
        assert!(wit_version_supported("0.1.0"));
        assert!(wit_version_supported("0.1.7"));
        assert!(!wit_version_supported("0.2.0"));
        assert!(!wit_version_supported("1.1.0"));
        assert!(!wit_version_supported("x"));
        assert_eq!(
            pqap_interface("pqap:strategy/host@0.1.0"),
            Some(("host", "0.1.0"))
        );
        assert_eq!(pqap_interface("wasi:io/poll@0.2.6"), None);
    }
}
