//! A synthetic market session for engine tests: the generator's markets as a
//! registry, and its updates one second apart, starting with full books.

use pqap::data::update::{FeedUpdate, Source};
use pqap::engine::Registry;
use pqap::execution::fees::FeeSchedule;
use pqap::model::MarketEvent;
use pqap::venue::MarketSpec;
use pqap::venue::sim::generator::Generator;

/// The generator's markets, with these fees.
pub fn registry(g: &Generator, fees: FeeSchedule) -> Registry {
    Registry::new(
        g.markets()
            .into_iter()
            .map(|m| MarketSpec {
                slug: m.slug,
                condition: m.condition,
                question: m.question,
                tokens: m.tokens,
                tick: m.tick,
                min_size: m.min_size,
                fees,
                neg_risk: false,
            })
            .collect(),
    )
}

/// Every book's snapshot, then `steps` generated updates, one second apart from
/// `start_ns`: (host time, update).
pub fn updates(g: &mut Generator, steps: usize, start_ns: u64) -> Vec<(u64, FeedUpdate)> {
    let snapshots: Vec<MarketEvent> = g.tokens().iter().filter_map(|t| g.book(t)).collect();
    std::iter::once(snapshots)
        .chain((0..steps).map(|_| g.step()))
        .enumerate()
        .map(|(i, events)| {
            let now = start_ns + i as u64 * 1_000_000_000;
            let update = FeedUpdate {
                received_ms: now / 1_000_000,
                source: Source::Ws { shard: 0 },
                raw: String::new(),
                events,
                errors: vec![],
            };
            (now, update)
        })
        .collect()
}
