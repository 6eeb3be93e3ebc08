//! Turning deployment records into running strategies: the setups a server
//! starts with (what was deployed before it stopped) and the requests queued
//! while it runs, applied between events and answered in the database.

use std::sync::Arc;

use super::core::{Engine, EngineError, StrategySetup};
use crate::risk::RiskLimits;
pub use crate::risk::limits::{limit_value, merged_limits};
use crate::store::deploys::{self, Deployment};
use crate::strategy::{ArtifactLibrary, parse_assignments};
use crate::venue::Venue;

/// The setup a deployment record describes: its component from the library,
/// its parameters checked against the component's schema, its limits.
pub async fn setup_for(
    deployment: &Deployment,
    library: &Arc<ArtifactLibrary>,
    defaults: &RiskLimits,
) -> Result<StrategySetup, String> {
    let sha = deployment
        .sha256
        .clone()
        .ok_or_else(|| format!("deployment {} names no component", deployment.id))?;
    // Compiling may take a while (it is cached after the first time).
    let lib = library.clone();
    let artifact = tokio::task::spawn_blocking(move || lib.load(&sha))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if artifact.info.name != deployment.strategy {
        return Err(format!(
            "component {} is strategy `{}`, not `{}`",
            artifact.sha256, artifact.info.name, deployment.strategy
        ));
    }
    let assignments: Vec<String> = deployment
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let params = parse_assignments(&artifact.info, &assignments).map_err(|e| e.to_string())?;
    let limits = merged_limits(defaults, &deployment.limits)?;
    Ok(StrategySetup {
        artifact,
        params,
        limits,
        markets: deployment.markets.clone(),
    })
}

/// The setups of every strategy deployed and not retired. One that can no
/// longer be set up (its component deleted by hand, say) is left out and named
/// in the second list.
pub async fn deployed_setups(
    pool: &sqlx::SqlitePool,
    library: &Arc<ArtifactLibrary>,
    defaults: &RiskLimits,
) -> Result<(Vec<StrategySetup>, Vec<String>), EngineError> {
    let mut setups = Vec::new();
    let mut problems = Vec::new();
    for d in deploys::running(pool).await? {
        match setup_for(&d, library, defaults).await {
            Ok(s) => setups.push(s),
            Err(e) => problems.push(format!("strategy `{}`: {e}", d.strategy)),
        }
    }
    Ok((setups, problems))
}

/// Applies the queued deployment requests in order; what each did.
pub async fn apply_pending<V: Venue>(
    engine: &mut Engine<V>,
    library: &Arc<ArtifactLibrary>,
    defaults: &RiskLimits,
) -> Result<Vec<Deployment>, EngineError> {
    let pool = engine.journal().pool().clone();
    let mut done = Vec::new();
    for d in deploys::pending(&pool).await? {
        let (seq, outcome, message) = if d.action == "retire" {
            match engine.retire(&d.strategy, &d.actor).await? {
                Some(_) => (engine.journal().next_seq() - 1, "retired", None),
                None => (
                    0,
                    "not_running",
                    Some(format!("no strategy `{}` runs", d.strategy)),
                ),
            }
        } else {
            match setup_for(&d, library, defaults).await {
                Ok(setup) => {
                    let deployed = engine.deploy(setup, &d.actor).await?;
                    let reason = match &deployed {
                        super::Deployed::RolledBack { reason, .. } => Some(reason.clone()),
                        _ => None,
                    };
                    (engine.journal().next_seq() - 1, deployed.outcome(), reason)
                }
                Err(e) => (0, "failed", Some(e)),
            }
        };
        tracing::info!(id = d.id, strategy = %d.strategy, outcome, "deployment applied");
        deploys::finish(&pool, d.id, seq, outcome, message.as_deref()).await?;
        if let Some(applied) = deploys::get(&pool, d.id).await? {
            done.push(applied);
        }
    }
    Ok(done)
}

/// Why an offline change to a stopped server's strategies was refused.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("no strategy `{name}` in this journal (known: {known})")]
    Unknown { name: String, known: String },
    #[error("strategy `{name}` is already retired")]
    AlreadyRetired { name: String },
}

/// What an offline change did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfflineChange {
    pub strategy: String,
    pub id: u32,
    /// `retired` or `quarantined`.
    pub outcome: &'static str,
    /// The journal entry that records it.
    pub seq: i64,
}

/// The id of strategy `name` in a stopped server's journal, if it is not retired.
async fn offline_target(journal: &crate::store::Journal, name: &str) -> Result<u32, OfflineError> {
    let p = journal.projections().await?;
    let id = p
        .strategies
        .iter()
        .find(|(_, (n, _))| n == name)
        .map(|(id, _)| *id)
        .ok_or_else(|| OfflineError::Unknown {
            name: name.to_string(),
            known: p
                .strategies
                .values()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    if p.retired.contains(&id) {
        return Err(OfflineError::AlreadyRetired {
            name: name.to_string(),
        });
    }
    Ok(id)
}

/// Retires strategy `name` in a journal no engine runs on (the caller holds
/// its [`crate::store::EngineLock`]): journaled like a retirement through the
/// server, and recorded as a deployment so a server started later does not run
/// it. Its positions stay.
pub async fn retire_offline(
    journal: &mut crate::store::Journal,
    name: &str,
    actor: &str,
    now_ns: u64,
) -> Result<OfflineChange, OfflineError> {
    let id = offline_target(journal, name).await?;
    let seq = journal.append(
        now_ns,
        Some(id),
        &crate::store::Entry::StrategyRetired {
            strategy: id,
            actor: actor.to_string(),
        },
    )?;
    journal.flush().await?;
    let pool = journal.pool().clone();
    let request =
        deploys::request(&pool, name, &deploys::DeployRequest::Retire, actor, now_ns).await?;
    deploys::finish(&pool, request, seq, "retired", Some("retired offline")).await?;
    Ok(OfflineChange {
        strategy: name.to_string(),
        id,
        outcome: "retired",
        seq,
    })
}

/// Quarantines strategy `name` in a journal no engine runs on: a server
/// started later keeps it stopped (shown, never called) until it is deployed
/// again.
pub async fn quarantine_offline(
    journal: &mut crate::store::Journal,
    name: &str,
    reason: &str,
    actor: &str,
    now_ns: u64,
) -> Result<OfflineChange, OfflineError> {
    let id = offline_target(journal, name).await?;
    let seq = journal.append(
        now_ns,
        Some(id),
        &crate::store::Entry::StrategyQuarantined {
            strategy: id,
            reason: format!("by an operator: {reason}"),
            actor: Some(actor.to_string()),
        },
    )?;
    journal.flush().await?;
    Ok(OfflineChange {
        strategy: name.to_string(),
        id,
        outcome: "quarantined",
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn overrides_lay_over_the_defaults_and_unknown_limits_are_named() {
        let defaults = RiskLimits {
            max_open_orders: Some(10),
            max_daily_loss: Some(Decimal::from(50)),
            ..RiskLimits::default()
        };
        let mut o = serde_json::Map::new();
        o.insert("max_daily_loss".into(), serde_json::json!("20"));
        let m = merged_limits(&defaults, &o).unwrap();
        assert_eq!(m.max_daily_loss, Some(Decimal::from(20)));
        assert_eq!(m.max_open_orders, Some(10));
        o.insert("max_dayly_loss".into(), serde_json::json!("20"));
        let e = merged_limits(&defaults, &o).unwrap_err();
        assert!(e.contains("max_dayly_loss"), "{e}");
        let mut bad = serde_json::Map::new();
        bad.insert("max_open_orders".into(), serde_json::json!("many"));
        assert!(merged_limits(&defaults, &bad).is_err());
    }
}
