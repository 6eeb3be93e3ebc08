//! Changing what runs without stopping: deploying a strategy beside the others,
//! hot-reloading a new version of a running one at an event boundary (its state
//! carried over by snapshot and restore, its positions and orders kept because
//! they belong to its id), rolling back when the new version cannot start, and
//! retiring a strategy.

use super::*;

/// What a deployment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// A strategy that was not running started.
    Started { strategy: StrategyId },
    /// The running version was replaced.
    Reloaded {
        strategy: StrategyId,
        previous_sha256: String,
    },
    /// The new version could not start; the previous one (if any) runs on.
    RolledBack {
        strategy: StrategyId,
        reason: String,
    },
}

impl Deployed {
    /// `started`, `reloaded` or `rolled_back`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Deployed::Started { .. } => "started",
            Deployed::Reloaded { .. } => "reloaded",
            Deployed::RolledBack { .. } => "rolled_back",
        }
    }
}

impl<V: Venue> Engine<V> {
    /// Deploys `setup` under its strategy name, on behalf of `actor`; journaled
    /// and durable when this returns.
    pub async fn deploy(
        &mut self,
        setup: StrategySetup,
        actor: &str,
    ) -> Result<Deployed, EngineError> {
        let name = setup.artifact.info.name.clone();
        let outcome = match self.slots.iter().position(|s| s.name == name) {
            Some(slot) => self.reload(slot, &setup)?,
            None => self.add(&setup)?,
        };
        let (strategy, previous, reason) = match &outcome {
            Deployed::Started { strategy } => (*strategy, None, None),
            Deployed::Reloaded {
                strategy,
                previous_sha256,
            } => (*strategy, Some(previous_sha256.clone()), None),
            Deployed::RolledBack { strategy, reason } => {
                let previous = self
                    .slots
                    .iter()
                    .find(|s| s.id == *strategy)
                    .map(|s| s.sup.artifact().sha256.clone());
                (*strategy, previous, Some(reason.clone()))
            }
        };
        self.journal.append(
            self.now_ns,
            Some(strategy),
            &Entry::Deployed {
                strategy,
                name,
                version: setup.artifact.info.version.clone(),
                sha256: setup.artifact.sha256.clone(),
                previous_sha256: previous,
                outcome: outcome.outcome().to_string(),
                reason,
                actor: actor.to_string(),
            },
        )?;
        self.commit_round().await?;
        Ok(outcome)
    }

    /// Starts a strategy that is not running (under its old id if it ran before).
    fn add(&mut self, setup: &StrategySetup) -> Result<Deployed, EngineError> {
        let name = setup.artifact.info.name.clone();
        let id = match self.known_ids.get(&name) {
            Some(id) => *id,
            None => {
                let id = self
                    .known_ids
                    .values()
                    .chain(self.slots.iter().map(|s| &s.id))
                    .max()
                    .map_or(1, |m| m + 1);
                self.known_ids.insert(name.clone(), id);
                id
            }
        };
        let mut view = self.view(id);
        let sup = match self.instantiate(id, setup, &mut view) {
            Ok(sup) => sup,
            Err(fault) => {
                return Ok(Deployed::RolledBack {
                    strategy: id,
                    reason: fault.to_string(),
                });
            }
        };
        self.journal_started(id, setup)?;
        let instruments = self.restricted(&sup);
        self.slots.push(Slot {
            id,
            name,
            instruments,
            markets: setup.markets.clone(),
            interests: setup.artifact.info.interests,
            snapshots_journaled: sup.snapshots_taken(),
            sup,
            limits: setup.limits.clone(),
            halted: false,
            paused: false,
            // Its baseline is set (and journaled) at the next update.
            day: 0,
            day_baseline: Decimal::ZERO,
            inbox: Vec::new(),
            rejections: 0,
            refused_cancels: 0,
            since_snapshot: Vec::new(),
            budgets: budget::Budgets::new(self.journal.bytes_for(id), self.journal.entries_for(id)),
        });
        Ok(Deployed::Started { strategy: id })
    }

    /// Swaps the instance in `slot` for `setup`'s, carrying the state over.
    pub(super) fn reload(
        &mut self,
        slot: usize,
        setup: &StrategySetup,
    ) -> Result<Deployed, EngineError> {
        let id = self.slots[slot].id;
        let previous_sha256 = self.slots[slot].sup.artifact().sha256.clone();
        let mut view = self.view(id);
        // The handover point: the old instance's state as of now, journaled so
        // a restart after the swap restores the same thing.
        let _ = self.slots[slot].sup.snapshot_now(&mut view);
        self.journal_snapshot(slot)?;
        let state = self.slots[slot].sup.last_snapshot().map(<[u8]>::to_vec);
        let mut sup = match self.instantiate(id, setup, &mut view) {
            Ok(sup) => sup,
            Err(fault) => {
                return Ok(Deployed::RolledBack {
                    strategy: id,
                    reason: format!("the new version failed to start: {fault}"),
                });
            }
        };
        if let Some(state) = state
            && let Err(fault) = sup.restore(&mut view, state)
        {
            return Ok(Deployed::RolledBack {
                strategy: id,
                reason: format!("the new version could not restore the running state: {fault}"),
            });
        }
        self.journal_started(id, setup)?;
        let instruments = self.restricted(&sup);
        let s = &mut self.slots[slot];
        s.sup = sup;
        s.instruments = instruments;
        s.markets = setup.markets.clone();
        s.interests = setup.artifact.info.interests;
        s.limits = setup.limits.clone();
        // Its restore point is the handover snapshot, already journaled.
        s.snapshots_journaled = s.sup.snapshots_taken();
        Ok(Deployed::Reloaded {
            strategy: id,
            previous_sha256,
        })
    }

    /// Retires the strategy `name`: its working orders cancelled, its timers
    /// dropped, its instance stopped after a last snapshot. Its positions stay.
    /// `None` when no strategy of that name runs.
    pub async fn retire(
        &mut self,
        name: &str,
        actor: &str,
    ) -> Result<Option<StrategyId>, EngineError> {
        let Some(slot) = self.slots.iter().position(|s| s.name == name) else {
            return Ok(None);
        };
        let id = self.slots[slot].id;
        self.cancel_working(id)?;
        let mut view = self.view(id);
        if self.slots[slot].sup.snapshot_now(&mut view).is_ok() {
            self.journal_snapshot(slot)?;
        }
        self.timers.retain(|(_, strategy, _)| *strategy != id);
        self.slots.remove(slot);
        self.journal.append(
            self.now_ns,
            Some(id),
            &Entry::StrategyRetired {
                strategy: id,
                actor: actor.to_string(),
            },
        )?;
        self.commit_round().await?;
        Ok(Some(id))
    }
}
