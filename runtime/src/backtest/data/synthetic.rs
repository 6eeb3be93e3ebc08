//! A seeded synthetic session: the generator behind `pqap sim`, its markets
//! listed as the sim lists them, resolving when the window ends.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Feed, MarketData};
use crate::data::update::{FeedUpdate, Source};
use crate::model::MarketEvent;
use crate::venue::MarketSpec;
use crate::venue::sim::generator::{Generator, GeneratorConfig};

/// A seeded synthetic session over `[start_ms, end_ms)`, resolving at the end.
pub fn synthetic(seed: u64, markets: u32, step_s: u64, start_ms: u64, end_ms: u64) -> MarketData {
    let step_s = step_s.max(1);
    // Steps inside the window; the last one resolves every market.
    let steps = (end_ms.saturating_sub(start_ms) / 1_000 / step_s)
        .saturating_sub(1)
        .max(1);
    let mut g = Generator::new(
        GeneratorConfig {
            seed,
            markets,
            step_ms: step_s * 1_000,
            resolve_after: Some(steps),
            ..GeneratorConfig::default()
        },
        start_ms,
    );
    let specs = g
        .markets()
        .into_iter()
        .enumerate()
        .map(|(i, m)| MarketSpec {
            slug: m.slug,
            condition: m.condition,
            question: m.question,
            tokens: m.tokens,
            tick: m.tick,
            min_size: m.min_size,
            // As `pqap sim` lists them: every other market charges the taker fee.
            neg_risk: false,
            fees: if i % 2 == 1 {
                crate::execution::fees::FeeSchedule {
                    rate_millionths: 20_000,
                    exponent: 1,
                    taker_only: true,
                    rebate_millionths: 200_000,
                }
            } else {
                crate::execution::fees::FeeSchedule::FREE
            },
        })
        .collect();
    let update = |received_ms: u64, events: Vec<MarketEvent>| FeedUpdate {
        received_ms,
        source: Source::Ws { shard: 0 },
        raw: String::new(),
        events,
        errors: Vec::new(),
    };
    let mut updates = vec![update(
        start_ms,
        g.tokens().iter().filter_map(|t| g.book(t)).collect(),
    )];
    for i in 1..=steps {
        let events = g.step();
        if !events.is_empty() {
            updates.push(update(start_ms + i * step_s * 1_000, events));
        }
    }
    let source = format!("synthetic seed {seed} markets {markets} step {step_s}s");
    MarketData::new(
        specs,
        source.clone(),
        hex::encode(Sha256::digest(source.as_bytes())),
        false,
        Feed::Memory(Arc::new(updates)),
    )
}
