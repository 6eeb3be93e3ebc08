//! Settling markets that resolved while nobody was listening: Gamma is asked
//! about every token held or traded and not yet settled.

use crate::data::archive::Recorder;
use crate::data::update::{FeedUpdate, Source};
use crate::engine::Engine;
use crate::venue::Venue;
use crate::venue::polymarket::http::client::PolymarketHttp;
use crate::venue::polymarket::http::markets::resolutions;

use super::RunError;

/// Settles the markets of unsettled tokens that closed with a final result.
/// A venue that cannot be asked now is asked again at the next watch (a
/// warning, not an error: a Gamma outage must not stop trading).
pub async fn watch_resolutions<V: Venue>(
    http: &PolymarketHttp,
    engine: &mut Engine<V>,
    now_ns: u64,
    recorder: Option<&mut Recorder>,
) -> Result<usize, RunError> {
    let tokens = engine.unsettled_tokens();
    if tokens.is_empty() {
        return Ok(0);
    }
    let events = match resolutions(http, &tokens, now_ns / 1_000_000).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "resolution watch: Gamma did not answer; asking again later");
            return Ok(0);
        }
    };
    if events.is_empty() {
        return Ok(0);
    }
    let settled = events.len();
    tracing::info!(
        markets = settled,
        "resolution watch: settling markets that resolved"
    );
    let update = FeedUpdate {
        received_ms: now_ns / 1_000_000,
        source: Source::Rest,
        raw: String::new(),
        events,
        errors: Vec::new(),
    };
    engine.on_update(&update, now_ns).await?;
    if let Some(r) = recorder {
        r.record(&update).await?;
    }
    Ok(settled)
}
