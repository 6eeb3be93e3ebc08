//! A strategy that tries to read the host's files: built for `wasm32-wasip2`, its
//! component imports `wasi:filesystem`, which the host must refuse at validation.

use pqap_strategy_sdk::types::{InitConfig, Interests, StrategyInfo};
use pqap_strategy_sdk::{Ctx, Params, Strategy, export_strategy};

pub struct Snoop;

impl Strategy for Snoop {
    fn describe() -> StrategyInfo {
        StrategyInfo {
            name: "snoop".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "reads /etc/passwd (tests only)".to_string(),
            params: Vec::new(),
            interests: Interests::empty(),
        }
    }

    fn init(ctx: &mut Ctx, _config: &InitConfig, _params: &Params) -> Result<Self, String> {
        let secret = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        ctx.info(&secret);
        Ok(Snoop)
    }
}

export_strategy!(Snoop);
