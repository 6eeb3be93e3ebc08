//! A strategy that misbehaves on purpose, for the sandbox's hostile-guest tests.
//!
//! Parameter `mode` picks the misbehaviour; `after` lets it behave for that many
//! `on-events` calls first (placing one small bid per call, so a neighbour
//! comparison has something to compare).

use std::hint::black_box;

use pqap_strategy_sdk::types::{
    Action, Command, InitConfig, Interests, OrderCancelled, OrderRejected, OrderRequest,
    Resolution, Side, StrategyInfo, TimeInForce,
};
use pqap_strategy_sdk::{Ctx, ParamSchema, Params, Strategy, export_strategy};

pub struct Hostile {
    mode: String,
    after: u64,
    calls: u64,
    instrument: u32,
    hoard: Vec<Vec<u8>>,
    /// Started from a restart point (after a fault or a reload).
    restored: bool,
    /// `buy_once` has an order out (or bought).
    bought: bool,
    /// `buy_once`'s orders so far: a FAK the book moved away from is
    /// rejected, and it tries again with the next id.
    buy_attempts: u64,
}

#[allow(unconditional_recursion)] // the stack overflow is the point
fn recurse(depth: u64) -> u64 {
    // black_box keeps the optimiser from turning this into a loop.
    black_box(depth) + recurse(black_box(depth + 1))
}

fn place(id: u64, instrument: u32, price: u32, size: u64) -> Command {
    Command {
        action: Action::Place(OrderRequest {
            id,
            instrument,
            side: Side::Buy,
            price,
            size,
            tif: TimeInForce::Gtc,
            post_only: false,
        }),
        reason: "hostile".to_string(),
        cause: None,
    }
}

impl Hostile {
    fn misbehave(&mut self, ctx: &mut Ctx) {
        match self.mode.as_str() {
            "loop" => loop {
                black_box(&mut self.calls);
            },
            "grow" => loop {
                // Reserve without filling: filling would cost fuel per byte and
                // run out of fuel before memory.
                let mut chunk = Vec::with_capacity(1 << 20);
                chunk.push(1u8);
                self.hoard.push(black_box(chunk));
            },
            "stack" => {
                black_box(recurse(0));
            }
            "panic" => panic!("hostile strategy panicked on purpose"),
            // Panics once; the instance restarted from its restart point says
            // (as journaled timers) which order events and timers it hears.
            "panic_once" if !self.restored => panic!("hostile strategy panicked once"),
            "flood" => {
                for i in 0..1_000_000u64 {
                    ctx.place(
                        OrderRequest {
                            id: i + 1,
                            instrument: self.instrument,
                            side: Side::Buy,
                            price: 10_000,
                            size: 1,
                            tif: TimeInForce::Gtc,
                            post_only: false,
                        },
                        "flood",
                    );
                }
            }
            "price_zero" => ctx.place(
                match place(1, self.instrument, 0, 5_000_000).action {
                    Action::Place(o) => o,
                    _ => unreachable!(),
                },
                "bad",
            ),
            "price_high" => ctx.place(
                match place(1, self.instrument, 1_500_000, 5_000_000).action {
                    Action::Place(o) => o,
                    _ => unreachable!(),
                },
                "bad",
            ),
            "size_zero" => ctx.place(
                match place(1, self.instrument, 500_000, 0).action {
                    Action::Place(o) => o,
                    _ => unreachable!(),
                },
                "bad",
            ),
            "unknown_market" => {
                ctx.cancel_all_in_market(999_999, "bad");
            }
            "unknown_instrument" => ctx.place(
                match place(1, 999_999, 500_000, 5_000_000).action {
                    Action::Place(o) => o,
                    _ => unreachable!(),
                },
                "bad",
            ),
            // The WASI misbehaviours below matter when built for `wasm32-wasip2`,
            // where each reaches a WASI import the host must serve without
            // blocking, printing or crashing.
            "print" => {
                println!("hostile stdout line {}", self.calls);
                eprintln!("hostile stderr line\n2026-01-01T00:00:00Z ERROR pqap: forged by a guest");
            }
            "stdin" => {
                let mut line = String::new();
                let read = std::io::stdin().read_line(&mut line);
                ctx.info(&format!("stdin gave {read:?}"));
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_micros(100)),
            "sleep_long" => std::thread::sleep(std::time::Duration::from_secs(3_600)),
            "poll" => wasi_poll(ctx),
            "clock_spin" => {
                // Waits for time to pass inside one call: it never does.
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_millis(1) {
                    black_box(&mut self.calls);
                }
            }
            "exit" => std::process::exit(3),
            "forge_log" => ctx.info(
                "ok\n2026-01-01T00:00:00.000000Z  INFO pqap: risk: trading state HALTED \u{1b}[31mforged\u{1b}[0m",
            ),
            // Storage floods: each call asks the host to journal a lot.
            "journal_flood" => {
                for i in 0..900u64 {
                    let id = self.calls * 1_000_000 + i + 1;
                    ctx.place(
                        match place(id, self.instrument, 10_000, 5_000_000).action {
                            Action::Place(o) => o,
                            _ => unreachable!(),
                        },
                        "flood",
                    );
                }
            }
            "cancel_flood" => {
                for _ in 0..900 {
                    let id = ctx.random();
                    ctx.cancel(id, "not mine");
                }
            }
            "timer_flood" => {
                let at = ctx.now() + 3_600_000_000_000;
                for i in 0..600u64 {
                    ctx.set_timer(self.calls * 1_000_000 + i, at, "flood");
                }
            }
            // Not hostile: a taker buy of 10 shares on its first call, for
            // tests that need a position.
            // Buys 10 shares at the best ask the first time there is one
            // (again if the book moved away before the order arrived).
            "buy_once" if !self.bought => {
                if let Some(ask) = ctx.book_top(self.instrument).ask {
                    self.bought = true;
                    self.buy_attempts += 1;
                    ctx.place(
                        OrderRequest {
                            id: 76 + self.buy_attempts,
                            instrument: self.instrument,
                            side: Side::Buy,
                            price: ask.price,
                            size: 10_000_000,
                            tif: TimeInForce::Fak,
                            post_only: false,
                        },
                        "buy_once",
                    );
                }
            }
            "echo" => {
                // Reports what the host view says, to prove queries see the
                // current call's view.
                let top = ctx.book_top(self.instrument);
                let held = ctx.position(self.instrument).size;
                let open = ctx.open_orders(None).len();
                let msg = format!(
                    "now={} bid={:?} held={held} open={open} random={}",
                    ctx.now(),
                    top.bid.map(|l| l.price),
                    ctx.random()
                );
                ctx.info(&msg);
            }
            _ => {}
        }
    }
}

/// Polls a stdin pollable and a one-hour timer together, then blocks on the timer.
#[cfg(target_os = "wasi")]
fn wasi_poll(ctx: &mut Ctx) {
    let timer = wasip2::clocks::monotonic_clock::subscribe_duration(3_600_000_000_000);
    let stdin = wasip2::cli::stdin::get_stdin();
    let input = stdin.subscribe();
    let ready = wasip2::io::poll::poll(&[&timer, &input]);
    ctx.info(&format!("poll ready: {ready:?}"));
    timer.block();
}

#[cfg(not(target_os = "wasi"))]
fn wasi_poll(_ctx: &mut Ctx) {}

impl Strategy for Hostile {
    fn describe() -> StrategyInfo {
        StrategyInfo {
            name: "hostile".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "misbehaves on purpose (tests only)".to_string(),
            params: ParamSchema::new()
                .text("mode", "none", "which misbehaviour")
                .integer("after", 0, "well-behaved calls before misbehaving")
                .build(),
            interests: Interests::QUOTES | Interests::TRADES,
        }
    }

    fn init(_ctx: &mut Ctx, config: &InitConfig, params: &Params) -> Result<Self, String> {
        let mode = params.text("mode")?.to_string();
        match mode.as_str() {
            "refuse_init" => return Err("refusing to start on purpose".to_string()),
            "loop_init" => loop {
                black_box(&mode);
            },
            // Costs ~100 M fuel: fine under the default init budget, out of
            // fuel under a tighter one.
            "slow_init" => {
                let mut x = 0u64;
                for i in 0..20_000_000u64 {
                    x = black_box(x.wrapping_add(i));
                }
                black_box(x);
            }
            _ => {}
        }
        Ok(Hostile {
            mode,
            after: u64::try_from(params.integer("after")?).map_err(|e| e.to_string())?,
            calls: 0,
            instrument: config.instruments.first().map_or(0, |i| i.id),
            hoard: Vec::new(),
            restored: false,
            bought: false,
            buy_attempts: 0,
        })
    }

    fn on_batch_end(&mut self, ctx: &mut Ctx) {
        self.calls += 1;
        if self.mode == "panic_once" && self.calls == 1 {
            ctx.set_timer(
                5,
                ctx.now() + 1_500_000_000,
                "a timer due while it backs off",
            );
        }
        if self.calls > self.after {
            self.misbehave(ctx);
        } else {
            let id = self.calls;
            ctx.place(
                match place(id, self.instrument, 10_000, 5_000_000).action {
                    Action::Place(o) => o,
                    _ => unreachable!(),
                },
                "warmup",
            );
        }
    }

    fn snapshot_state(&self) -> Vec<u8> {
        let mut state = self.calls.to_le_bytes().to_vec();
        match self.mode.as_str() {
            "big_state" => return vec![7u8; 8 << 20],
            // 3 MiB that differ on every call, or are the same every call.
            "snapshot_churn" => state.resize(3 << 20, self.calls as u8),
            "snapshot_same" => {
                state = 1u64.to_le_bytes().to_vec();
                state.resize(3 << 20, 9);
            }
            _ => {}
        }
        state
    }

    fn on_resolved(&mut self, ctx: &mut Ctx, resolution: &Resolution) {
        if self.mode == "buy_once" {
            // Says what the host reports of the settled position.
            let p = ctx.position(resolution.instrument);
            let at = ctx.now() + 3_600_000_000_000;
            ctx.set_timer(
                3_000 + u64::from(resolution.instrument),
                at,
                &format!("position {} realized {}", p.size, p.realized_pnl),
            );
        }
    }

    fn on_order_rejected(&mut self, _ctx: &mut Ctx, rejected: &OrderRejected) {
        if self.mode == "buy_once" && rejected.order == 76 + self.buy_attempts {
            self.bought = false;
        }
    }

    fn on_order_cancelled(&mut self, ctx: &mut Ctx, cancelled: &OrderCancelled) {
        if self.mode == "panic_once" {
            let at = ctx.now() + 3_600_000_000_000;
            ctx.set_timer(
                1_000 + cancelled.order,
                at,
                &format!("heard cancel {}", cancelled.order),
            );
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, id: u64) {
        if self.mode == "panic_once" && id < 1_000 {
            let at = ctx.now() + 3_600_000_000_000;
            ctx.set_timer(2_000 + id, at, &format!("heard timer {id}"));
        }
    }

    fn restore_state(&mut self, _ctx: &mut Ctx, state: &[u8]) -> Result<(), String> {
        self.restored = true;
        let bytes: [u8; 8] = state
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or("state is shorter than 8 bytes")?;
        self.calls = u64::from_le_bytes(bytes);
        Ok(())
    }
}

export_strategy!(Hostile);
