//! `GET /events`: the engine's live status pushed to a logged-in browser once a
//! second as Server-Sent Events (`event: status`), so pages update without
//! reloading.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::Viewer;
use crate::web::api::ServerState;

pub(super) async fn stream(
    State(s): State<ServerState>,
    _: Viewer,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = stream::unfold((s, true), |(s, first)| async move {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let mut status = s.live.read().map(|l| l.clone()).unwrap_or_default();
        // Shown as the pages show them: dollars to 4 decimals.
        status.equity = status.equity.round_dp(4);
        for st in &mut status.strategies {
            for d in [
                &mut st.realized,
                &mut st.unrealized,
                &mut st.fees,
                &mut st.cash,
                &mut st.equity,
            ] {
                *d = d.round_dp(4);
            }
        }
        let event = Event::default()
            .event("status")
            .json_data(&status)
            .unwrap_or_else(|_| Event::default().comment("status unavailable"));
        Some((Ok(event), (s, false)))
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
