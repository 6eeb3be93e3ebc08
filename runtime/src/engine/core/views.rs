//! What a strategy sees through its host queries: its view (tops, open
//! orders, positions), built from buffers handed back by earlier calls, with
//! positions recomputed only after the portfolio changed.

use super::*;

impl<V: Venue> Engine<V> {
    /// What a strategy's host queries answer with now. Tops come from the
    /// translator (kept current from the books that changed), positions are
    /// recomputed only after the portfolio changed, and the buffers of views
    /// handed back with [`Engine::recycle`] are reused.
    pub(super) fn view(&mut self, strategy: StrategyId) -> HostView {
        self.translator.refresh(&self.registry, &mut self.books);
        let mut view = self.spare_views.pop().unwrap_or_default();
        view.now = self.now_ns;
        view.tops.clear();
        view.tops.extend_from_slice(self.translator.tops());
        self.positions_of(strategy, &mut view.positions);
        view.open_orders.clear();
        for w in self
            .working
            .values()
            .filter(|w| w.order.key.strategy == strategy)
        {
            if let Some(instrument) = w.instrument {
                view.open_orders.push(wit::OpenOrder {
                    id: w.order.key.client_id,
                    instrument,
                    side: match w.order.side {
                        Side::Buy => wit::Side::Buy,
                        Side::Sell => wit::Side::Sell,
                    },
                    price: w.order.price.micros(),
                    remaining: w.remaining.micros(),
                });
            }
        }
        view
    }

    /// Gives back a view after its call, for the next one's buffers.
    pub(super) fn recycle(&mut self, view: HostView) {
        if self.spare_views.len() < 4 {
            self.spare_views.push(view);
        }
    }

    /// A strategy's positions as its queries see them, in instrument order;
    /// from the cache unless a fill or settlement happened since.
    fn positions_of(&mut self, strategy: StrategyId, out: &mut Vec<wit::Position>) {
        let revision = self.portfolio_revision;
        let cached = self.positions_cache.entry(strategy).or_default();
        if cached.0 != revision {
            cached.0 = revision;
            cached.1.clear();
            if let Some(account) = self.portfolio.account(strategy) {
                let micros = |d: Decimal| -> i64 {
                    (d * Decimal::from(1_000_000))
                        .round()
                        .try_into()
                        .unwrap_or(0)
                };
                let tokens = account
                    .holdings
                    .keys()
                    .chain(account.realized_by_token.keys());
                for token in tokens {
                    let Some(instrument) = self.registry.instrument(token) else {
                        continue;
                    };
                    let h = account.holding(token);
                    let avg = (h.avg_price() * Decimal::from(1_000_000)).round();
                    let realized = account
                        .realized_by_token
                        .get(token)
                        .copied()
                        .unwrap_or_default();
                    let position = wit::Position {
                        instrument,
                        size: h.size.micros(),
                        avg_price: avg.try_into().unwrap_or(0u32),
                        realized_pnl: micros(realized),
                    };
                    // A token both held and realised is listed twice; the
                    // later (identical) one wins, as a map insert would.
                    match cached.1.binary_search_by_key(&instrument, |p| p.instrument) {
                        Ok(i) => cached.1[i] = position,
                        Err(i) => cached.1.insert(i, position),
                    }
                }
            }
        }
        out.clone_from(&cached.1);
    }
}
