//! Daily loss is today's loss: each strategy's (and all strategies') equity —
//! cash plus holdings at the mid, so realised and unrealised PnL together —
//! against its baseline, the equity when the UTC day began for it. Baselines
//! and halts are journaled, so a restart keeps both; a halt lasts until the
//! next day or an operator's resume, which sets a new baseline from then.

use super::*;

impl<V: Venue> Engine<V> {
    /// A strategy's equity now (zero before its first fill).
    fn equity_now(&self, strategy: StrategyId) -> Decimal {
        let mark = |t: &crate::model::TokenId| self.mid(t);
        self.portfolio
            .account(strategy)
            .map_or(Decimal::ZERO, |a| a.equity(&mark))
    }

    fn journal_baseline(
        &mut self,
        strategy: Option<StrategyId>,
        equity: Decimal,
        reason: &str,
    ) -> Result<(), EngineError> {
        self.journal.append(
            self.now_ns,
            strategy,
            &Entry::DayStart {
                strategy,
                day: self.now_ns / DAY_NS,
                equity,
                reason: reason.to_string(),
            },
        )?;
        Ok(())
    }

    /// Sets baselines at the start of a day, and halts a strategy (or all of
    /// them) whose loss today breaks its limit: only reducing orders pass and
    /// its orders that add risk are withdrawn.
    pub(super) fn daily_loss(&mut self) -> Result<(), EngineError> {
        let day = self.now_ns / DAY_NS;
        let mut total = Decimal::ZERO;
        for i in 0..self.slots.len() {
            let id = self.slots[i].id;
            let equity = self.equity_now(id);
            total += equity;
            if self.slots[i].day != day {
                self.slots[i].day = day;
                self.slots[i].day_baseline = equity;
                self.slots[i].halted = false;
                self.journal_baseline(Some(id), equity, "day")?;
            }
            let today = equity - self.slots[i].day_baseline;
            if !self.slots[i].halted && risk::daily_loss_breached(&self.slots[i].limits, today) {
                self.slots[i].halted = true;
                self.journal.append(
                    self.now_ns,
                    Some(id),
                    &Entry::StrategyHalted {
                        strategy: id,
                        reason: format!("daily loss {} beyond the limit", -today),
                    },
                )?;
                self.withdraw(|w| w.order.key.strategy == id && w.order.side == Side::Buy)?;
            }
        }
        if self.portfolio_day.0 != day {
            self.portfolio_day = (day, total);
            self.portfolio_halted = false;
            self.journal_baseline(None, total, "day")?;
        }
        let today = total - self.portfolio_day.1;
        if !self.portfolio_halted && risk::daily_loss_breached(&self.config.global_limits, today) {
            self.portfolio_halted = true;
            self.journal.append(
                self.now_ns,
                None,
                &Entry::PortfolioHalted {
                    reason: format!(
                        "all strategies lost {} today, beyond risk.global.max_daily_loss",
                        -today
                    ),
                },
            )?;
            self.withdraw(|w| w.order.side == Side::Buy)?;
        }
        Ok(())
    }

    /// An operator resumed `strategy` (or, `None`, everything): a daily-loss
    /// halt ends, and the loss allowance counts afresh from its equity now.
    pub(super) fn lift_loss_halt(
        &mut self,
        strategy: Option<StrategyId>,
    ) -> Result<(), EngineError> {
        for i in 0..self.slots.len() {
            let id = self.slots[i].id;
            if self.slots[i].halted && strategy.is_none_or(|s| s == id) {
                let equity = self.equity_now(id);
                self.slots[i].halted = false;
                self.slots[i].day_baseline = equity;
                self.journal_baseline(Some(id), equity, "operator resume")?;
            }
        }
        if strategy.is_none() && self.portfolio_halted {
            let total = self
                .slots
                .iter()
                .map(|s| self.equity_now(s.id))
                .sum::<Decimal>();
            self.portfolio_halted = false;
            self.portfolio_day.1 = total;
            self.journal_baseline(None, total, "operator resume")?;
        }
        Ok(())
    }
}
