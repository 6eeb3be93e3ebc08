//! Structural checks on what a strategy returns. A batch with any malformed command
//! is discarded whole: acting on half a decision (a cancel without its replacement)
//! is worse than acting on none.

use std::collections::BTreeSet;

use super::bindings::types::{Action, Command, InitConfig};

/// Longest reason tag accepted, in bytes.
pub const MAX_REASON_BYTES: usize = 64;

/// Knows the instruments and markets a strategy was configured with.
#[derive(Debug, Clone)]
pub struct CommandChecker {
    instruments: BTreeSet<u32>,
    markets: BTreeSet<u32>,
    max_commands: usize,
}

impl CommandChecker {
    pub fn new(config: &InitConfig, max_commands: usize) -> CommandChecker {
        CommandChecker {
            instruments: config.instruments.iter().map(|i| i.id).collect(),
            markets: config.instruments.iter().map(|i| i.market).collect(),
            max_commands,
        }
    }

    /// `Ok` if every command is well-formed; otherwise the first problem, naming
    /// the command's position and what is wrong.
    pub fn check(&self, commands: &[Command]) -> Result<(), String> {
        if commands.len() > self.max_commands {
            return Err(format!(
                "{} commands in one call, over the limit of {}",
                commands.len(),
                self.max_commands
            ));
        }
        let mut ids = BTreeSet::new();
        for (i, c) in commands.iter().enumerate() {
            if c.reason.is_empty() {
                return Err(format!("command {i} has an empty reason tag"));
            }
            if c.reason.len() > MAX_REASON_BYTES {
                return Err(format!(
                    "command {i} has a {} byte reason tag (limit {MAX_REASON_BYTES})",
                    c.reason.len()
                ));
            }
            match &c.action {
                Action::Place(o) => {
                    if !self.instruments.contains(&o.instrument) {
                        return Err(format!(
                            "command {i} (order {}) names unknown instrument {}",
                            o.id, o.instrument
                        ));
                    }
                    if o.price == 0 || o.price >= 1_000_000 {
                        return Err(format!(
                            "command {i} (order {}) has price {} micro-dollars, outside 1..=999999",
                            o.id, o.price
                        ));
                    }
                    if o.size == 0 {
                        return Err(format!("command {i} (order {}) has size 0", o.id));
                    }
                    if !ids.insert(o.id) {
                        return Err(format!("command {i} reuses order id {} in one batch", o.id));
                    }
                }
                Action::CancelAllInMarket(m) => {
                    if !self.markets.contains(m) {
                        return Err(format!("command {i} names unknown market {m}"));
                    }
                }
                Action::Cancel(_) | Action::SetTimer(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::bindings::types::{InstrumentInfo, OrderRequest, Side, TimeInForce};

    fn checker() -> CommandChecker {
        let instrument = InstrumentInfo {
            id: 4,
            market: 2,
            token: "t".into(),
            outcome: "Yes".into(),
            question: "q".into(),
            complement: None,
            tick: 10_000,
            min_size: 5_000_000,
            taker_fee_rate: 0,
        };
        CommandChecker::new(
            &InitConfig {
                run_id: "r".into(),
                instruments: vec![instrument],
                params: vec![],
            },
            3,
        )
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
            reason: "why".into(),
            cause: None,
        }
    }

    #[test]
    fn accepts_well_formed() {
        let c = checker();
        assert!(c.check(&[place(1, 4, 500_000, 1)]).is_ok());
        assert!(c.check(&[]).is_ok());
    }

    #[test]
    fn rejects_each_malformation_by_name() {
        let c = checker();
        let err = |cmds: &[Command]| c.check(cmds).unwrap_err();
        assert!(err(&[place(1, 4, 0, 1)]).contains("price 0"));
        assert!(err(&[place(1, 4, 1_000_000, 1)]).contains("outside"));
        assert!(err(&[place(1, 4, 1_500_000, 1)]).contains("outside"));
        assert!(err(&[place(1, 4, 500_000, 0)]).contains("size 0"));
        assert!(err(&[place(1, 9, 500_000, 1)]).contains("unknown instrument 9"));
        assert!(err(&[place(1, 4, 5, 1), place(1, 4, 5, 1)]).contains("reuses order id 1"));
        let many = vec![place(1, 4, 5, 1); 4];
        assert!(err(&many).contains("4 commands"));
        let mut bad_market = place(1, 4, 5, 1);
        bad_market.action = Action::CancelAllInMarket(7);
        assert!(err(&[bad_market]).contains("unknown market 7"));
        let mut no_reason = place(1, 4, 5, 1);
        no_reason.reason.clear();
        assert!(err(&[no_reason]).contains("empty reason"));
        let mut long_reason = place(1, 4, 5, 1);
        long_reason.reason = "x".repeat(65);
        assert!(err(&[long_reason]).contains("65 byte"));
    }
}
