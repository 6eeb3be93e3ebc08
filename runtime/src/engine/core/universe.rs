//! The market universe while running: markets the venue lists anew join the
//! run (new instrument ids after the others; strategies that trade every
//! market are re-initialised with them, their state carried over as in a hot
//! reload), and markets it stops listing as open close to orders at once.

use super::*;
use crate::venue::MarketSpec;

/// What a refresh of the venue's open markets changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketsChange {
    pub added: Vec<crate::model::ConditionId>,
    pub closed: Vec<crate::model::ConditionId>,
}

impl MarketsChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.closed.is_empty()
    }
}

impl<V: Venue> Engine<V> {
    /// Tokens of the run's markets still open to orders: what the feed follows.
    pub fn open_tokens(&self) -> Vec<crate::model::TokenId> {
        use crate::data::quality::Untradeable;
        self.registry
            .tokens()
            .into_iter()
            .filter(|t| {
                !matches!(
                    self.books.quality().status(t),
                    Some(Untradeable::Resolved | Untradeable::Closed)
                )
            })
            .collect()
    }

    /// Brings the run's markets in line with `open`, the venue's list of open
    /// markets (already filtered to those the run may trade); journaled.
    pub async fn update_markets(
        &mut self,
        open: &[MarketSpec],
    ) -> Result<MarketsChange, EngineError> {
        use crate::data::quality::Untradeable;
        let listed = |c: &crate::model::ConditionId| open.iter().any(|m| &m.condition == c);
        let closing: Vec<MarketSpec> = self
            .registry
            .markets()
            .iter()
            .filter(|m| !listed(&m.condition))
            .filter(|m| {
                m.tokens.iter().any(|(t, _)| {
                    !matches!(
                        self.books.quality().status(t),
                        Some(Untradeable::Resolved | Untradeable::Closed)
                    )
                })
            })
            .cloned()
            .collect();
        let added = self.registry.extend(open);
        // Tokens held (or ordered) before they were listed get ids now.
        self.portfolio_revision += 1;
        for w in self.working.values_mut() {
            w.instrument = self.registry.instrument(&w.order.token);
        }
        let change = MarketsChange {
            added: added.iter().map(|m| m.condition.clone()).collect(),
            closed: closing.iter().map(|m| m.condition.clone()).collect(),
        };
        if change.is_empty() {
            return Ok(change);
        }
        self.journal.append(
            self.now_ns,
            None,
            &Entry::MarketsChanged {
                added: change.added.clone(),
                closed: change.closed.clone(),
            },
        )?;
        for spec in &added {
            self.venue.add_market(spec);
        }
        // Closed markets: untradeable, their orders withdrawn, strategies told.
        let mut outputs = Vec::new();
        for m in &closing {
            for (t, _) in &m.tokens {
                self.books.close(t, &mut outputs);
            }
        }
        self.withdraw_from_untrusted(&outputs)?;
        let mut kinds = Vec::new();
        self.translator
            .outputs(&self.registry, &outputs, &mut kinds);
        let shared: Vec<(wit::EventKind, Option<usize>)> =
            kinds.into_iter().map(|k| (k, None)).collect();
        for slot in 0..self.slots.len() {
            self.deliver(slot, &shared, &[])?;
        }
        // New markets: strategies trading every market start seeing them.
        if !added.is_empty() {
            for slot in 0..self.slots.len() {
                let s = &self.slots[slot];
                let wants = s.markets.is_empty()
                    || added
                        .iter()
                        .any(|m| s.markets.iter().any(|sel| m.matches(sel)));
                if !wants || *s.sup.state() != crate::strategy::RunState::Running {
                    continue;
                }
                let setup = StrategySetup {
                    artifact: s.sup.artifact().clone(),
                    params: s.sup.config().params.clone(),
                    limits: s.limits.clone(),
                    markets: s.markets.clone(),
                };
                let name = s.name.clone();
                if let Deployed::RolledBack { reason, .. } = self.reload(slot, &setup)? {
                    tracing::warn!(strategy = %name, %reason, "new markets: the strategy keeps its old ones");
                }
            }
        }
        self.commit_round().await?;
        tracing::info!(
            added = change.added.len(),
            closed = change.closed.len(),
            "markets changed"
        );
        Ok(change)
    }
}
