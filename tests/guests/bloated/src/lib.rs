//! A strategy that describes itself at absurd length: a 40 MB description and
//! 100 000 parameters. The host must refuse it at validation, before a manifest
//! of that size reaches the library, a listing or a dashboard.

use pqap_strategy_sdk::types::{
    InitConfig, Interests, ParamKind, ParamSpec, ParamValue, StrategyInfo,
};
use pqap_strategy_sdk::{Ctx, Params, Strategy, export_strategy};

pub struct Bloated;

impl Strategy for Bloated {
    fn describe() -> StrategyInfo {
        StrategyInfo {
            name: "bloated".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "x".repeat(40 << 20),
            params: (0..100_000)
                .map(|i| ParamSpec {
                    name: format!("p{i}"),
                    kind: ParamKind::Integer,
                    default: ParamValue::Integer(0),
                    description: String::new(),
                })
                .collect(),
            interests: Interests::empty(),
        }
    }

    fn init(_ctx: &mut Ctx, _config: &InitConfig, _params: &Params) -> Result<Self, String> {
        Ok(Bloated)
    }
}

export_strategy!(Bloated);
