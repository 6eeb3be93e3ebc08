//! A strategy's commands: journaling them, pre-trade risk, submission to the
//! venue, and the order events that come back.

use super::*;

impl<V: Venue> Engine<V> {
    pub(super) fn command(
        &mut self,
        slot: usize,
        c: wit::Command,
        cause: Option<i64>,
    ) -> Result<(), EngineError> {
        let strategy = self.slots[slot].id;
        let action = match &c.action {
            wit::Action::Place(o) => {
                let Some(token) = self.registry.token(o.instrument).cloned() else {
                    return Ok(());
                };
                let (Some(price), size) =
                    (crate::model::Price::new(o.price), Size::from_micros(o.size))
                else {
                    return Ok(());
                };
                CommandAction::Place {
                    order: Order {
                        key: OrderKey {
                            strategy,
                            client_id: o.id,
                        },
                        token,
                        side: match o.side {
                            wit::Side::Buy => Side::Buy,
                            wit::Side::Sell => Side::Sell,
                        },
                        price,
                        size,
                        tif: match o.tif {
                            wit::TimeInForce::Gtc => TimeInForce::Gtc,
                            wit::TimeInForce::Gtd(until_ns) => TimeInForce::Gtd { until_ns },
                            wit::TimeInForce::Fok => TimeInForce::Fok,
                            wit::TimeInForce::Fak => TimeInForce::Fak,
                        },
                        post_only: o.post_only,
                        created_ns: self.now_ns,
                        venue_ref: None,
                    },
                }
            }
            // A cancel of nothing this strategy has working is refused here,
            // unjournaled: ids it does not own (or that are done) must not let
            // it grow the journal or reach the venue.
            wit::Action::Cancel(id) => {
                let key = OrderKey {
                    strategy,
                    client_id: *id,
                };
                if !self.working.contains_key(&key) {
                    self.slots[slot].refused_cancels += 1;
                    return Ok(());
                }
                CommandAction::Cancel { client_id: *id }
            }
            wit::Action::CancelAllInMarket(m) => match self.registry.market_by_index(*m) {
                Some(spec) if !self.working_in_market(strategy, &spec.condition).is_empty() => {
                    CommandAction::CancelMarket {
                        market: spec.condition.clone(),
                    }
                }
                _ => {
                    self.slots[slot].refused_cancels += 1;
                    return Ok(());
                }
            },
            wit::Action::SetTimer(t) => CommandAction::Timer {
                id: t.id,
                at_ns: t.at,
            },
        };
        self.journal.append(
            self.now_ns,
            Some(strategy),
            &Entry::Command {
                strategy,
                reason: c.reason.clone(),
                cause,
                command: action.clone(),
            },
        )?;
        match action {
            CommandAction::Place { order } => self.place(slot, order),
            CommandAction::Cancel { client_id } => {
                let events = self.venue.cancel(
                    OrderKey {
                        strategy,
                        client_id,
                    },
                    self.now_ns,
                );
                self.handle_order_events(events)
            }
            CommandAction::CancelMarket { market } => {
                for key in self.working_in_market(strategy, &market) {
                    let events = self.venue.cancel(key, self.now_ns);
                    self.handle_order_events(events)?;
                }
                Ok(())
            }
            CommandAction::Timer { id, at_ns } => {
                self.timers.insert((at_ns, strategy, id));
                Ok(())
            }
        }
    }

    /// The strategy's working orders on any token of `market`.
    fn working_in_market(
        &self,
        strategy: StrategyId,
        market: &crate::model::ConditionId,
    ) -> Vec<OrderKey> {
        self.working
            .iter()
            .filter(|(k, w)| {
                k.strategy == strategy
                    && self
                        .registry
                        .spec_of_token(&w.order.token)
                        .is_some_and(|s| s.condition == *market)
            })
            .map(|(k, _)| *k)
            .collect()
    }

    pub(super) fn exposure(&mut self, strategy: Option<StrategyId>, order: &Order) -> Exposure {
        let mine = |k: &OrderKey| strategy.is_none_or(|s| k.strategy == s);
        let mut e = Exposure::default();
        for account in self
            .portfolio
            .accounts()
            .filter(|(id, _)| strategy.is_none_or(|s| **id == s))
            .map(|(_, a)| a)
        {
            if let Some(h) = account.holdings.get(&order.token) {
                e.held = e.held.checked_add(h.size).unwrap_or(e.held);
            }
            e.total_exposure += account.holdings.values().map(|h| h.cost).sum::<Decimal>();
        }
        for w in self.working.iter().filter(|(k, _)| mine(k)).map(|(_, w)| w) {
            e.open_orders += 1;
            if w.order.side == Side::Buy {
                e.total_exposure += notional(w.order.price, w.remaining);
            }
            if w.order.token == order.token {
                match w.order.side {
                    Side::Buy => {
                        e.open_buys = e.open_buys.checked_add(w.remaining).unwrap_or(e.open_buys)
                    }
                    Side::Sell => {
                        e.open_sells = e
                            .open_sells
                            .checked_add(w.remaining)
                            .unwrap_or(e.open_sells)
                    }
                }
            }
        }
        if strategy.is_none() {
            self.count_foreign(&mut e, &order.token);
        }
        let (mine_rate, all_rate) = self.rate.count(order.key.strategy, self.now_ns);
        e.orders_last_minute = if strategy.is_some() {
            mine_rate
        } else {
            all_rate
        };
        e
    }

    pub(super) fn place(&mut self, slot: usize, order: Order) -> Result<(), EngineError> {
        let Some(spec) = self.registry.spec_of_token(&order.token).cloned() else {
            return Ok(());
        };
        let book = self.books.book(&order.token);
        let market = MarketView {
            tick: book.and_then(|b| b.tick()).unwrap_or(spec.tick),
            min_size: spec.min_size,
            tradeable: match self.books.quality().status(&order.token) {
                None => Ok(()),
                Some(u) => Err(u.as_str().to_string()),
            },
            mid: book.and_then(|b| b.mid()),
        };
        if self.used_keys.contains(&order.key) {
            self.slots[slot].rejections += 1;
            // Sending a key twice could double an order at a real venue.
            self.journal.append(
                self.now_ns,
                Some(order.key.strategy),
                &Entry::RiskVerdict {
                    key: order.key,
                    accepted: false,
                    rule: Some("duplicate_id".into()),
                    message: Some(format!(
                        "order id {:x} was already used",
                        order.key.client_id
                    )),
                },
            )?;
            self.slots[slot].inbox.push((
                wit::EventKind::OrderRejected(wit::OrderRejected {
                    order: order.key.client_id,
                    reason: wit::RejectReason::DuplicateId,
                    message: "order id already used".into(),
                }),
                None,
            ));
            return Ok(());
        }
        let mine = self.exposure(Some(order.key.strategy), &order);
        let everyone = self.exposure(None, &order);
        let s = &self.slots[slot];
        let verdict = risk::check(&RiskInput {
            intent: Intent {
                side: order.side,
                price: order.price,
                size: order.size,
            },
            market: &market,
            strategy: &mine,
            global: &everyone,
            state: self.trading_state(),
            strategy_halted: s.halted || self.portfolio_halted,
            limits: &s.limits,
            global_limits: &self.config.global_limits,
        });
        if verdict.is_err() {
            self.slots[slot].rejections += 1;
        }
        self.journal.append(
            self.now_ns,
            Some(order.key.strategy),
            &Entry::RiskVerdict {
                key: order.key,
                accepted: verdict.is_ok(),
                rule: verdict.as_ref().err().map(|r| r.rule.to_string()),
                message: verdict.as_ref().err().map(|r| r.message.clone()),
            },
        )?;
        if let Err(rejection) = verdict {
            let reason = reject_reason(rejection.rule);
            self.slots[slot].inbox.push((
                wit::EventKind::OrderRejected(wit::OrderRejected {
                    order: order.key.client_id,
                    reason,
                    message: rejection.to_string(),
                }),
                None,
            ));
            return Ok(());
        }
        self.rate.record(order.key.strategy, self.now_ns);
        self.used_keys.insert(order.key);
        let mut order = order;
        self.venue.prepare(&mut order);
        self.journal.append(
            self.now_ns,
            Some(order.key.strategy),
            &Entry::OrderSubmitted {
                order: order.clone(),
            },
        )?;
        self.working.insert(
            order.key,
            Working {
                remaining: order.size,
                instrument: self.registry.instrument(&order.token),
                order: order.clone(),
            },
        );
        let events = self.venue.submit(order, self.now_ns, &self.books);
        self.handle_order_events(events)
    }

    pub(super) fn handle_order_events(
        &mut self,
        events: Vec<OrderEvent>,
    ) -> Result<(), EngineError> {
        for mut ev in events {
            if let OrderEvent::FillReversed { trade_id, .. } = &ev {
                self.reverse_trade(trade_id)?;
                continue;
            }
            if let OrderEvent::Filled(crate::model::Fill {
                trade_id: Some(trade),
                ..
            }) = &ev
                && !self.trade_ids.insert(trade.clone())
            {
                tracing::debug!(%trade, "a trade already booked was reported again; ignored");
                continue;
            }
            if let OrderEvent::Cancelled { key, cause, .. } = &mut ev
                && self.host_cancels.remove(key)
                && *cause == CancelCause::Requested
            {
                *cause = CancelCause::Host;
            }
            self.journal.append(
                self.now_ns,
                Some(ev.key().strategy),
                &Entry::Order { event: ev.clone() },
            )?;
            match &ev {
                OrderEvent::Filled(fill) => {
                    self.reversals.booked(fill);
                    self.portfolio_revision += 1;
                    if let Err(e) = self.portfolio.apply_fill(fill) {
                        tracing::error!(error = %e, "fill refused by the portfolio");
                    }
                    self.settle_late_fill(&fill.token)?;
                    self.unknown.remove(&fill.key);
                    if fill.remaining.is_zero() {
                        self.working.remove(&fill.key);
                        self.host_cancels.remove(&fill.key);
                    } else if let Some(w) = self.working.get_mut(&fill.key) {
                        w.remaining = fill.remaining;
                    }
                }
                OrderEvent::Rejected { key, .. } | OrderEvent::Cancelled { key, .. } => {
                    self.working.remove(key);
                    self.host_cancels.remove(key);
                    self.unknown.remove(key);
                }
                OrderEvent::Accepted { key, .. } => {
                    self.unknown.remove(key);
                }
                // Still working for exposure and open-order limits; never
                // sent again (its key stays used).
                OrderEvent::Unknown { key, .. } => {
                    self.unknown.insert(*key);
                }
                OrderEvent::FillReversed { .. } => {}
            }
            if let Some((strategy, kind)) = order_event(&self.registry, &ev)
                && let Some(slot) = self.slots.iter_mut().find(|s| s.id == strategy)
            {
                slot.inbox.push((kind, None));
            }
        }
        Ok(())
    }
}
