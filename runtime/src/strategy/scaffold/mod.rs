//! `pqap strategy new`: generates a strategy crate (inside this repository's
//! `strategies/` as a workspace member, or anywhere else as a standalone project)
//! that builds, validates and passes its own tests with no edits.

use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("template/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("template/lib.rs.tmpl");
const STRATEGY_YAML: &str = include_str!("template/strategy.yaml.tmpl");
const README: &str = include_str!("template/README.md.tmpl");
const GITIGNORE: &str = include_str!("template/gitignore.tmpl");
const TOOLCHAIN: &str = include_str!("template/rust-toolchain.toml.tmpl");
const WORKFLOW: &str = include_str!("template/workflow.yml.tmpl");

/// Why a project could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "strategy name `{0}` must start with a lowercase letter and use only a-z, 0-9 and `_` (at most 64 characters)"
    )]
    BadName(String),
    #[error("{0} already exists and is not empty; pick another name or directory")]
    Exists(PathBuf),
    #[error(
        "cannot find the PQAP strategy SDK (looked at {0}); set PQAP_SDK_PATH to the repository's strategy-sdk directory"
    )]
    NoSdk(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scaffolded {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// True when the crate joined this repository's workspace.
    pub workspace_member: bool,
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 64
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Where the SDK lives: `PQAP_SDK_PATH`, else the repository this binary was
/// built from.
pub fn sdk_dir() -> Result<PathBuf, ScaffoldError> {
    let candidate = std::env::var_os("PQAP_SDK_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../strategy-sdk"));
    candidate
        .join("Cargo.toml")
        .is_file()
        .then(|| candidate.canonicalize().ok())
        .flatten()
        .ok_or(ScaffoldError::NoSdk(candidate))
}

fn render(template: &str, name: &str, sdk_dependency: &str, workspace_table: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{sdk_dependency}}", sdk_dependency)
        .replace("{{workspace_table}}", workspace_table)
}

/// Generates `<parent>/<name>/`.
pub fn new_strategy(name: &str, parent: &Path) -> Result<Scaffolded, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let sdk = sdk_dir()?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let parent = parent.canonicalize().map_err(io(parent))?;
    let dir = parent.join(name);
    if dir.exists() && std::fs::read_dir(&dir).map_err(io(&dir))?.next().is_some() {
        return Err(ScaffoldError::Exists(dir));
    }
    // A crate directly under this repository's `strategies/` is picked up by the
    // workspace's `strategies/*` glob; anywhere else it must be its own workspace.
    let repo_root = sdk.parent().map(Path::to_path_buf).unwrap_or_default();
    let workspace_member = parent == repo_root.join("strategies");
    let (sdk_dependency, workspace_table) = if workspace_member {
        (
            "pqap-strategy-sdk.workspace = true".to_string(),
            String::new(),
        )
    } else {
        (
            format!("pqap-strategy-sdk = {{ path = {:?} }}", sdk.display().to_string()),
            "\n# A standalone project, even when created inside another Cargo workspace.\n[workspace]\n"
                .to_string(),
        )
    };
    let r = |t: &str| render(t, name, &sdk_dependency, &workspace_table);
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("Cargo.toml"), r(CARGO_TOML)),
        (dir.join("src/lib.rs"), r(LIB_RS)),
        (dir.join("strategy.yaml"), r(STRATEGY_YAML)),
        (dir.join("README.md"), r(README)),
    ];
    if !workspace_member {
        files.push((dir.join(".gitignore"), r(GITIGNORE)));
        files.push((dir.join("rust-toolchain.toml"), r(TOOLCHAIN)));
        files.push((dir.join(".github/workflows/strategy.yml"), r(WORKFLOW)));
        // Start from the platform's resolved versions so the first build needs
        // nothing new from the registry and matches what the host was tested with.
        if let Ok(lock) = std::fs::read_to_string(repo_root.join("Cargo.lock")) {
            files.push((dir.join("Cargo.lock"), lock));
        }
    }
    let mut written = Vec::new();
    for (path, text) in files {
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io(p))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
        written.push(path);
    }
    Ok(Scaffolded {
        dir,
        files: written,
        workspace_member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("my_strategy_v1"));
        assert!(!valid_name("My"));
        assert!(!valid_name("1abc"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(65)));
    }

    #[test]
    fn refuses_non_empty_target_and_bad_names() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("taken")).unwrap();
        std::fs::write(tmp.path().join("taken/x"), "x").unwrap();
        assert!(matches!(
            new_strategy("taken", tmp.path()),
            Err(ScaffoldError::Exists(_))
        ));
        assert!(matches!(
            new_strategy("Bad", tmp.path()),
            Err(ScaffoldError::BadName(_))
        ));
    }

    #[test]
    fn standalone_project_has_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let s = new_strategy("alpha_v1", tmp.path()).unwrap();
        assert!(!s.workspace_member);
        let cargo = std::fs::read_to_string(s.dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"alpha_v1\""));
        assert!(cargo.contains("[workspace]"));
        assert!(cargo.contains("pqap-strategy-sdk = { path = "));
        let lib = std::fs::read_to_string(s.dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("\"alpha_v1\"") && !lib.contains("{{name}}"));
        let wf = std::fs::read_to_string(s.dir.join(".github/workflows/strategy.yml")).unwrap();
        assert!(
            wf.contains("${{ vars.PQAP_REPO }}"),
            "GitHub expressions survive"
        );
        assert!(s.dir.join("strategy.yaml").is_file());
    }
}
