//! Operator controls of the running engine: the global trading state, pausing
//! and resuming a strategy, the requests queued for them in the database, and
//! withdrawing working orders — everything on a halt, what adds risk when
//! reducing or past a daily loss limit, a market's orders when its data goes
//! stale, a strategy's on a pause, a fault or a stop that leaves nothing resting.

use super::*;

impl<V: Venue> Engine<V> {
    /// Switches the global trading state (journaled) and takes off the venue
    /// what it no longer allows: every working order when halted, every buy
    /// (which adds exposure) when reducing.
    pub async fn set_trading_state(
        &mut self,
        state: TradingState,
        actor: &str,
    ) -> Result<(), EngineError> {
        self.state = state;
        self.journal.append(
            self.now_ns,
            None,
            &Entry::TradingState {
                state,
                actor: actor.to_string(),
            },
        )?;
        match state {
            TradingState::Halted => self.withdraw(|_| true)?,
            TradingState::Reducing => self.withdraw(|w| w.order.side == Side::Buy)?,
            // An operator's resume also lifts today's daily-loss halts.
            TradingState::Active => self.lift_loss_halt(None)?,
        }
        self.commit_round().await?;
        Ok(())
    }

    /// Asks the venue to cancel every working order `which` picks; the cancels
    /// come back with cause `host`.
    pub(super) fn withdraw(&mut self, which: impl Fn(&Working) -> bool) -> Result<(), EngineError> {
        let keys: Vec<OrderKey> = self
            .working
            .iter()
            .filter(|(_, w)| which(w))
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            self.host_cancels.insert(key);
            let events = self.venue.cancel(key, self.now_ns);
            self.handle_order_events(events)?;
        }
        Ok(())
    }

    /// Applies operator requests queued in the database (`pqap risk ...`).
    pub async fn poll_controls(&mut self) -> Result<(), EngineError> {
        for req in crate::store::control::pending(self.journal.pool()).await? {
            self.set_trading_state(req.state, &req.actor).await?;
            let seq = self.journal.next_seq() - 1;
            crate::store::control::mark_applied(self.journal.pool(), req.id, seq).await?;
        }
        for req in crate::store::control::pending_strategy(self.journal.pool()).await? {
            let seq = match self.slots.iter().find(|s| s.name == req.strategy) {
                Some(slot) => {
                    let id = slot.id;
                    self.set_paused(id, req.pause, &req.actor).await?;
                    self.journal.next_seq() - 1
                }
                None => 0,
            };
            crate::store::control::mark_strategy_applied(self.journal.pool(), req.id, seq).await?;
        }
        Ok(())
    }

    /// Pauses (cancelling its working orders) or resumes a strategy; journaled.
    pub async fn set_paused(
        &mut self,
        strategy: StrategyId,
        paused: bool,
        actor: &str,
    ) -> Result<(), EngineError> {
        let Some(slot) = self.slots.iter().position(|s| s.id == strategy) else {
            return Ok(());
        };
        if !paused {
            // Resuming a strategy lifts its daily-loss halt.
            self.lift_loss_halt(Some(strategy))?;
        }
        if self.slots[slot].paused == paused {
            self.commit_round().await?;
            return Ok(());
        }
        self.slots[slot].paused = paused;
        self.journal.append(
            self.now_ns,
            Some(strategy),
            &Entry::StrategyPaused {
                strategy,
                paused,
                actor: actor.to_string(),
            },
        )?;
        if paused {
            self.cancel_working(strategy)?;
        }
        self.commit_round().await?;
        Ok(())
    }

    /// Asks the venue to cancel every working order of every strategy (a stop
    /// configured to leave nothing resting); journaled.
    pub async fn cancel_all(&mut self) -> Result<(), EngineError> {
        let ids: Vec<StrategyId> = self.slots.iter().map(|s| s.id).collect();
        for id in ids {
            self.cancel_working(id)?;
        }
        self.commit_round().await?;
        Ok(())
    }

    /// Orders the venue may still fill.
    pub fn working_orders(&self) -> usize {
        self.working.len()
    }

    /// Asks the venue to cancel every order `strategy` has working.
    pub(super) fn cancel_working(&mut self, strategy: StrategyId) -> Result<(), EngineError> {
        self.withdraw(|w| w.order.key.strategy == strategy)
    }

    /// Whether an operator has paused the strategy.
    pub fn is_paused(&self, strategy: StrategyId) -> bool {
        self.slots.iter().any(|s| s.id == strategy && s.paused)
    }
}
