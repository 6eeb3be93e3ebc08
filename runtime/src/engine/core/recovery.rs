//! Starting a run: replaying the journal of earlier runs, restoring strategies
//! from their snapshots, reconciling open orders with the venue; snapshots and
//! the graceful stop.

use super::*;

impl<V: Venue> Engine<V> {
    /// Starts every strategy (a refusal to start is an error) and journals the run.
    /// A journal that already holds runs is a restart: the portfolio, trading
    /// state and timers come back from replay, strategies keep their ids (by
    /// name) and resume from their last snapshot with the order events journaled
    /// since re-delivered, and every order the journal left working is
    /// reconciled with the venue before anything else happens.
    pub async fn start(
        config: EngineConfig,
        registry: Registry,
        venue: V,
        mut journal: Journal,
        setups: Vec<StrategySetup>,
        start_ns: u64,
    ) -> Result<Engine<V>, EngineError> {
        // The newest checkpoint and what follows it: a start costs the same
        // after a year of trading as after a day.
        let prior = journal.projections().await?;
        // A rerunnable journal (a backtest's) is never restarted from.
        if journal.is_durable() {
            journal.track_projections(prior.clone(), crate::store::journal::CHECKPOINT_EVERY);
        }
        let history = Self::since_snapshots(&journal, &prior, &setups).await?;
        // A restarted strategy must not regenerate the order ids of the previous
        // run, so each run has its own seed (run 0 keeps the configured one).
        let seed = config
            .seed
            .wrapping_add(prior.runs.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let now_ns = start_ns.max(u64::try_from(prior.last_ts_ns).unwrap_or(0));
        journal.append(
            now_ns,
            None,
            &Entry::RunStarted {
                run_id: config.run_id.clone(),
                mode: format!("{:?}", config.mode).to_lowercase(),
                seed,
            },
        )?;
        let next_seq = prior
            .snapshots
            .values()
            .map(|s| s.event_seq + 1)
            .max()
            .unwrap_or(1);
        let timers = prior
            .timers
            .iter()
            .filter(|(_, at)| **at > u64::try_from(prior.last_ts_ns).unwrap_or(0))
            .map(|((strategy, id), at)| (*at, *strategy, *id))
            .collect();
        let mut engine = Engine {
            config,
            registry,
            books: Books::default(),
            translator: Translator::default(),
            slots: Vec::new(),
            venue,
            portfolio: prior.portfolio.clone(),
            journal,
            state: prior.trading_state,
            rate: OrderRate::default(),
            working: BTreeMap::new(),
            used_keys: prior.orders.keys().copied().collect(),
            host_cancels: BTreeSet::new(),
            settled: prior
                .settled
                .iter()
                .filter_map(|(t, p)| crate::model::Price::new(*p).map(|p| (t.clone(), p)))
                .collect(),
            portfolio_day: match prior.day_baselines.get(&None) {
                Some((day, equity)) if *day == now_ns / DAY_NS => (*day, *equity),
                _ => (0, Decimal::ZERO),
            },
            portfolio_halted: prior.loss_halts.get(&None) == Some(&(now_ns / DAY_NS)),
            timers,
            now_ns,
            next_seq,
            // The first update of a run marks equity: the curve starts there,
            // and after a restart it shows the recovered portfolio.
            last_mark_ns: 0,
            run_seed: seed,
            known_ids: BTreeMap::new(),
            portfolio_revision: 1,
            positions_cache: BTreeMap::new(),
            spare_views: Vec::new(),
            buffers: Default::default(),
            trade_ids: prior
                .fills
                .iter()
                .chain(&prior.reversals)
                .filter_map(|f| f.fill.trade_id.clone())
                .collect(),
            reversals: reversal::Reversals::from_journal(&prior),
            unreconciled: None,
            unknown: prior
                .open_orders()
                .filter(|r| r.status == crate::store::OrderStatus::Unknown)
                .map(|r| r.order.key)
                .collect(),
            foreign: BTreeMap::new(),
        };
        let mut next_id = prior.strategies.keys().max().copied().unwrap_or(0) + 1;
        for setup in setups {
            let name = &setup.artifact.info.name;
            let taken: BTreeSet<StrategyId> = engine.slots.iter().map(|s| s.id).collect();
            let id = match prior
                .strategies
                .iter()
                .find(|(id, (n, _))| n == name && !taken.contains(id))
            {
                Some((id, _)) => *id,
                None => {
                    next_id += 1;
                    next_id - 1
                }
            };
            engine.launch(id, setup, &prior, &history).await?;
        }
        for (id, (name, _)) in &prior.strategies {
            engine.known_ids.entry(name.clone()).or_insert(*id);
        }
        for slot in &engine.slots {
            engine.known_ids.insert(slot.name.clone(), slot.id);
        }
        engine.reconcile_at_start(&prior).await?;
        engine.commit_round().await?;
        Ok(engine)
    }

    /// The order events and refusals journaled since the oldest snapshot of
    /// the strategies being started: what a restored strategy had not yet
    /// heard. Nothing else of the history is read.
    async fn since_snapshots(
        journal: &Journal,
        prior: &Projections,
        setups: &[StrategySetup],
    ) -> Result<Vec<Stored>, EngineError> {
        let starting: BTreeSet<&str> = setups
            .iter()
            .map(|s| s.artifact.info.name.as_str())
            .collect();
        let oldest = prior
            .snapshots
            .iter()
            .filter(|(id, _)| {
                prior
                    .strategies
                    .get(id)
                    .is_some_and(|(name, _)| starting.contains(name.as_str()))
            })
            .map(|(_, s)| s.seq)
            .min();
        let Some(oldest) = oldest else {
            return Ok(Vec::new());
        };
        let mut kept = journal
            .read_kinds_from(oldest + 1, &["order", "risk_verdict"])
            .await?;
        kept.retain(|s| !matches!(s.entry, Entry::RiskVerdict { accepted: true, .. }));
        Ok(kept)
    }

    /// Starts one strategy under `id`, restoring it when the journal has a
    /// snapshot for it. A strategy that cannot start (or is to stay
    /// quarantined) takes its slot quarantined, with its fault journaled: the
    /// others start regardless.
    async fn launch(
        &mut self,
        id: StrategyId,
        setup: StrategySetup,
        prior: &Projections,
        history: &[Stored],
    ) -> Result<(), EngineError> {
        let info = setup.artifact.info.clone();
        let mut view = self.view(id);
        let name = info.name.clone();
        let kept_quarantine = prior
            .quarantined
            .get(&id)
            .filter(|_| {
                self.config.keep_quarantines
                    && prior.strategies.get(&id).is_some_and(|(n, _)| *n == name)
            })
            .cloned();
        let parts = self.instance_parts(id, &setup);
        // A strategy whose markets the run does not trade still gets a slot
        // (quarantined, shown) with what it would have started from.
        let (init, options) = match &parts {
            Ok(p) => p.clone(),
            Err(_) => (
                wit::InitConfig {
                    run_id: self.config.run_id.clone(),
                    instruments: Vec::new(),
                    params: setup.params.clone(),
                },
                InstanceOptions {
                    mode: self.config.mode,
                    seed: self.run_seed.wrapping_add(u64::from(id)),
                    limits: self.config.sandbox.clone(),
                },
            ),
        };
        let started = match (&kept_quarantine, parts) {
            (Some(_), _) => None,
            (None, Err(fault)) => Some(Err(fault)),
            (None, Ok(_)) => Some(SupervisedStrategy::start(
                setup.artifact.clone(),
                init.clone(),
                options.clone(),
                &mut view,
            )),
        };
        self.journal_started(id, &setup)?;
        let mut inbox = Vec::new();
        let sup = match started {
            Some(Ok(mut sup)) => {
                if let Some(snapshot) = prior.snapshots.get(&id) {
                    self.restore_at_launch(id, &mut sup, &mut view, snapshot, history, &mut inbox)
                        .await?;
                }
                sup
            }
            Some(Err(fault)) => {
                let at = self.now_ns;
                self.journal.append(
                    at,
                    Some(id),
                    &Entry::Fault {
                        strategy: id,
                        fault: serde_json::to_value(&fault).unwrap_or_default(),
                    },
                )?;
                self.journal.append(
                    at,
                    Some(id),
                    &Entry::StrategyQuarantined {
                        strategy: id,
                        reason: format!("could not start: {fault}"),
                        actor: None,
                    },
                )?;
                SupervisedStrategy::quarantined(
                    setup.artifact.clone(),
                    init,
                    options,
                    Some((at, fault)),
                )
            }
            None => {
                let reason = kept_quarantine.unwrap_or_default();
                tracing::warn!(strategy = %name, %reason, "kept quarantined from the previous run");
                self.journal.append(
                    self.now_ns,
                    Some(id),
                    &Entry::StrategyQuarantined {
                        strategy: id,
                        reason: format!("still quarantined: {reason}"),
                        actor: None,
                    },
                )?;
                SupervisedStrategy::quarantined(setup.artifact.clone(), init, options, None)
            }
        };
        // Today's baseline and a daily-loss halt of today survive a restart;
        // without a baseline of today, the next update sets one.
        let today = self.now_ns / DAY_NS;
        let (day, day_baseline) = match prior.day_baselines.get(&Some(id)) {
            Some((day, equity)) if *day == today => (today, *equity),
            _ => (0, Decimal::ZERO),
        };
        let halted = prior.loss_halts.get(&Some(id)) == Some(&today);
        let instruments = self.restricted(&sup);
        self.slots.push(Slot {
            id,
            name,
            instruments,
            markets: setup.markets.clone(),
            interests: info.interests,
            snapshots_journaled: sup.snapshots_taken(),
            sup,
            limits: setup.limits,
            halted,
            paused: prior.paused.contains(&id),
            day,
            day_baseline,
            inbox,
            rejections: 0,
            refused_cancels: 0,
            since_snapshot: Vec::new(),
            budgets: budget::Budgets::new(self.journal.bytes_for(id), self.journal.entries_for(id)),
        });
        Ok(())
    }

    /// Restores a strategy started at launch from its journaled snapshot and
    /// queues the order events journaled after it; a refusal is a fault.
    async fn restore_at_launch(
        &mut self,
        id: StrategyId,
        sup: &mut SupervisedStrategy,
        view: &mut HostView,
        snapshot: &crate::store::SnapshotRef,
        history: &[Stored],
        inbox: &mut Vec<(wit::EventKind, Option<usize>)>,
    ) -> Result<(), EngineError> {
        let snapshot_seq = &snapshot.seq;
        let state = self.journal.snapshot_state(snapshot).await?;
        if let Err(fault) = sup.restore(view, state) {
            self.journal.append(
                self.now_ns,
                Some(id),
                &Entry::Fault {
                    strategy: id,
                    fault: serde_json::to_value(&fault).unwrap_or_default(),
                },
            )?;
            return Ok(());
        }
        // What the strategy had not yet heard when it was snapshotted.
        for stored in history.iter().filter(|e| e.seq > *snapshot_seq) {
            match &stored.entry {
                Entry::Order { event } if event.key().strategy == id => {
                    if let Some((_, kind)) = order_event(&self.registry, event) {
                        inbox.push((kind, None));
                    }
                }
                Entry::RiskVerdict {
                    key,
                    accepted: false,
                    rule,
                    message,
                } if key.strategy == id => {
                    inbox.push((
                        wit::EventKind::OrderRejected(wit::OrderRejected {
                            order: key.client_id,
                            reason: reject_reason(rule.as_deref().unwrap_or("")),
                            message: message.clone().unwrap_or_default(),
                        }),
                        None,
                    ));
                }
                _ => {}
            }
        }
        self.journal.append(
            self.now_ns,
            Some(id),
            &Entry::Restored {
                strategy: id,
                snapshot_seq: *snapshot_seq,
                redelivered: inbox.len() as u32,
            },
        )?;
        Ok(())
    }

    /// What an instance of `setup` for strategy `id` starts from.
    /// `Err` when its markets name none the run trades.
    pub(super) fn instance_parts(
        &self,
        id: StrategyId,
        setup: &StrategySetup,
    ) -> Result<(wit::InitConfig, InstanceOptions), crate::strategy::Fault> {
        let mine = self
            .registry
            .instruments_of(&setup.markets)
            .map_err(|message| crate::strategy::Fault::Misconfigured { message })?;
        let init = wit::InitConfig {
            run_id: self.config.run_id.clone(),
            instruments: self
                .registry
                .instrument_infos()
                .into_iter()
                .filter(|i| mine.contains(&i.id))
                .collect(),
            params: setup.params.clone(),
        };
        let options = InstanceOptions {
            mode: self.config.mode,
            seed: self.run_seed.wrapping_add(u64::from(id)),
            limits: self.config.sandbox.clone(),
        };
        Ok((init, options))
    }

    /// The instruments a strategy trades when not all of the run's.
    pub(super) fn restricted(&self, sup: &SupervisedStrategy) -> Option<BTreeSet<u32>> {
        let mine: BTreeSet<u32> = sup.config().instruments.iter().map(|i| i.id).collect();
        (mine.len() < self.registry.instrument_infos().len()).then_some(mine)
    }

    /// A new sandboxed instance of `setup` for strategy `id`, initialised.
    pub(super) fn instantiate(
        &self,
        id: StrategyId,
        setup: &StrategySetup,
        view: &mut HostView,
    ) -> Result<SupervisedStrategy, crate::strategy::Fault> {
        let (init, options) = self.instance_parts(id, setup)?;
        SupervisedStrategy::start(setup.artifact.clone(), init, options, view)
    }

    /// Journals that `id` runs `setup`'s component with its parameters.
    pub(super) fn journal_started(
        &mut self,
        id: StrategyId,
        setup: &StrategySetup,
    ) -> Result<(), EngineError> {
        let info = &setup.artifact.info;
        self.journal.append(
            self.now_ns,
            Some(id),
            &Entry::StrategyStarted {
                strategy: id,
                name: info.name.clone(),
                version: info.version.clone(),
                sha256: setup.artifact.sha256.clone(),
                params: serde_json::to_value(crate::strategy::artifact::params_text(&setup.params))
                    .unwrap_or_default(),
            },
        )?;
        Ok(())
    }

    /// Takes a restart point of every running strategy and makes the journal
    /// durable (a graceful stop).
    pub async fn shutdown(&mut self) -> Result<(), EngineError> {
        for slot in 0..self.slots.len() {
            let id = self.slots[slot].id;
            let mut view = self.view(id);
            if self.slots[slot].sup.snapshot_now(&mut view).is_ok() {
                self.journal_snapshot(slot)?;
            }
        }
        self.journal.flush().await?;
        // The next start then replays nothing.
        self.journal.checkpoint_now().await?;
        Ok(())
    }

    /// Journals the strategy's newest restart point if it has not been yet.
    pub(super) fn journal_snapshot(&mut self, slot: usize) -> Result<(), EngineError> {
        let s = &mut self.slots[slot];
        if s.sup.snapshots_taken() <= s.snapshots_journaled {
            return Ok(());
        }
        s.snapshots_journaled = s.sup.snapshots_taken();
        let Some(state) = s.sup.last_snapshot() else {
            return Ok(());
        };
        let event_seq = self.next_seq.saturating_sub(1);
        self.journal
            .append_snapshot(self.now_ns, s.id, state, event_seq)?;
        Ok(())
    }
}
