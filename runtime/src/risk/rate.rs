//! Rolling one-minute order counts per strategy (host time, so backtests agree).

use std::collections::{BTreeMap, VecDeque};

use crate::model::StrategyId;

const WINDOW_NS: u64 = 60_000_000_000;

/// Submission times in the last minute, per strategy and in total.
#[derive(Debug, Clone, Default)]
pub struct OrderRate {
    by_strategy: BTreeMap<StrategyId, VecDeque<u64>>,
    all: VecDeque<u64>,
}

fn trim(q: &mut VecDeque<u64>, now_ns: u64) {
    while q
        .front()
        .is_some_and(|t| now_ns.saturating_sub(*t) >= WINDOW_NS)
    {
        q.pop_front();
    }
}

impl OrderRate {
    /// Orders in the last minute: (this strategy, everyone).
    pub fn count(&mut self, strategy: StrategyId, now_ns: u64) -> (u32, u32) {
        trim(&mut self.all, now_ns);
        let mine = self.by_strategy.entry(strategy).or_default();
        trim(mine, now_ns);
        (mine.len() as u32, self.all.len() as u32)
    }

    /// Records a submitted order.
    pub fn record(&mut self, strategy: StrategyId, now_ns: u64) {
        self.by_strategy
            .entry(strategy)
            .or_default()
            .push_back(now_ns);
        self.all.push_back(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let mut r = OrderRate::default();
        r.record(1, 0);
        r.record(1, 30_000_000_000);
        r.record(2, 30_000_000_000);
        assert_eq!(r.count(1, 59_000_000_000), (2, 3));
        assert_eq!(r.count(1, 60_000_000_000), (1, 2));
        assert_eq!(r.count(2, 90_000_000_000), (0, 0));
    }
}
