//! Settlement that cannot be missed: a resolved token pays every share held
//! at its payout ($1 or $0, or 0.5 each in a 50-50 resolution), once per
//! holding — shares a late fill brings after the resolution are settled when
//! they arrive — and a resolution the feed never delivered is applied when the
//! REST watch finds it.

use super::*;

impl<V: Venue> Engine<V> {
    /// Settles every holding of the resolved tokens at their payouts
    /// (journaled); a token settled before is settled again only for what was
    /// bought since.
    pub(super) fn settle(
        &mut self,
        payouts: &[(crate::model::TokenId, crate::model::Price)],
    ) -> Result<(), EngineError> {
        for (token, payout) in payouts {
            let first = self.settled.insert(token.clone(), *payout).is_none();
            let held = self
                .portfolio
                .accounts()
                .any(|(_, a)| a.holdings.contains_key(token));
            if first || held {
                self.settle_token(token, *payout)?;
            }
        }
        Ok(())
    }

    fn settle_token(
        &mut self,
        token: &crate::model::TokenId,
        payout: crate::model::Price,
    ) -> Result<(), EngineError> {
        self.portfolio_revision += 1;
        self.portfolio.settle(token, payout);
        self.journal.append(
            self.now_ns,
            None,
            &Entry::Settlement {
                token: token.clone(),
                payout_micros: payout.micros(),
            },
        )?;
        Ok(())
    }

    /// A fill in a token that already resolved: its shares settle at once.
    pub(super) fn settle_late_fill(
        &mut self,
        token: &crate::model::TokenId,
    ) -> Result<(), EngineError> {
        if let Some(payout) = self.settled.get(token).copied() {
            tracing::warn!(%token, "a fill arrived after its market resolved; settled at once");
            self.settle_token(token, payout)?;
        }
        Ok(())
    }

    /// Tokens some strategy holds (or has orders in) whose resolution the
    /// engine has not seen: what the REST watch asks the venue about.
    pub fn unsettled_tokens(&self) -> Vec<crate::model::TokenId> {
        let mut tokens: BTreeSet<crate::model::TokenId> = self
            .portfolio
            .accounts()
            .flat_map(|(_, a)| a.holdings.keys().cloned())
            .collect();
        tokens.extend(self.working.values().map(|w| w.order.token.clone()));
        tokens.retain(|t| !self.settled.contains_key(t));
        tokens.into_iter().collect()
    }
}
