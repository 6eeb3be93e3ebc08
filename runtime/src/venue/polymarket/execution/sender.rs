//! The sender task of the live venue: posts what the engine released, in
//! order (runs of submits batched up to 15, cancels one by one), waits out
//! the venue's 425/429/503 with its Retry-After, re-checks the order version
//! on a mismatch, and never sends again a request whose answer was lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::client::ClobClient;
use super::error::{ClobError, reject_of};
use super::from_venue::{price_of, size_of};
use super::inbox::Inbox;
use crate::model::time::wall_ns;
use crate::model::{CancelCause, Liquidity, OrderKey, TimeInForce, VenueReject};
use crate::venue::polymarket::signing::{MAX_BATCH, OrderRequest};

/// Times a refused-for-now request (425, 429, 503, no connection) is tried.
const MAX_ATTEMPTS: u32 = 6;

/// A request waiting for the engine's release, or for the sender.
#[derive(Debug)]
pub(super) enum Request {
    Submit(OrderKey, Box<OrderRequest>, TimeInForce),
    Cancel(OrderKey, String),
}

/// Sends what the engine released, in order: runs of submits go in batches
/// of up to 15; cancels one by one.
pub(super) async fn send_loop(
    client: Arc<ClobClient>,
    shared: Arc<Inbox>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut next: Option<Request> = None;
    loop {
        let first = match next.take() {
            Some(r) => r,
            None => match requests.recv().await {
                Some(r) => r,
                None => return,
            },
        };
        match first {
            Request::Cancel(key, id) => cancel(&client, &shared, key, &id).await,
            Request::Submit(key, request, tif) => {
                let mut batch = vec![(key, request, tif)];
                while batch.len() < MAX_BATCH {
                    match requests.try_recv() {
                        Ok(Request::Submit(k, r, t)) => batch.push((k, r, t)),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                post(&client, &shared, batch).await;
            }
        }
        shared.wake();
    }
}

type Batch = Vec<(OrderKey, Box<OrderRequest>, TimeInForce)>;

/// What the venue says when an order is signed for another version than the
/// one it expects.
const VERSION_MISMATCH: &str = "order_version_mismatch";

/// Posts a batch. Orders refused for their version are sent once more when
/// the venue still says version 2 (the refusal was stale); if it now expects
/// another version this build cannot sign, they are rejected and trading
/// stops until an operator upgrades.
async fn post(client: &ClobClient, shared: &Inbox, batch: Batch) {
    let refused = post_once(client, shared, batch).await;
    if refused.is_empty() {
        return;
    }
    let still = match client.version().await {
        Ok(2) => {
            tracing::warn!(
                orders = refused.len(),
                "order_version_mismatch while the venue says version 2: sending once more"
            );
            post_once(client, shared, refused).await
        }
        Ok(v) => {
            shared.set_trouble(Some(format!(
                "the venue now expects order version {v}; this build signs version 2: not trading"
            )));
            refused
        }
        Err(e) => {
            tracing::warn!(error = %e, "asking the venue's order version failed");
            refused
        }
    };
    let now = wall_ns();
    for (key, _, _) in &still {
        shared.with(|t| {
            t.rejected(
                *key,
                VenueReject::Other {
                    message: VERSION_MISMATCH.into(),
                },
                VERSION_MISMATCH.into(),
                now,
            )
        });
    }
}

/// Posts a batch once (with the retries of refusals that had no effect) and
/// books the answers; returns the orders refused for their version.
async fn post_once(client: &ClobClient, shared: &Inbox, batch: Batch) -> Batch {
    let requests: Vec<OrderRequest> = batch.iter().map(|(_, r, _)| (**r).clone()).collect();
    let mut attempt = 0;
    let answers = loop {
        attempt += 1;
        let result = if requests.len() == 1 {
            client.post_order(&requests[0]).await.map(|a| vec![a])
        } else {
            client.post_orders(&requests).await
        };
        match result {
            Err(e) if attempt < MAX_ATTEMPTS && e.retry_in().is_some() => {
                let wait = e.retry_in().unwrap_or(Duration::from_millis(500));
                tracing::warn!(error = %e, ?wait, "the venue refused for now; sending again");
                tokio::time::sleep(wait).await;
            }
            other => break other,
        }
    };
    let now = wall_ns();
    let mut refused = Vec::new();
    match answers {
        Ok(answers) => {
            for (i, (key, request, tif)) in batch.into_iter().enumerate() {
                let Some(a) = answers.get(i) else {
                    // An answer missing from the batch is an answer lost.
                    shared.with(|t| {
                        t.unknown(
                            key,
                            "the venue's batch answer had no entry for it".into(),
                            now,
                        )
                    });
                    continue;
                };
                if a.success {
                    shared.with(|t| t.accepted(key, now));
                    // An order that does not rest ends once its trades are in.
                    if matches!(tif, TimeInForce::Fak | TimeInForce::Fok) || a.status == "unmatched"
                    {
                        settle_immediate(client, shared, key, &a.order_id).await;
                    }
                } else if a.error_msg.contains(VERSION_MISMATCH) {
                    refused.push((key, request, tif));
                } else {
                    let reject = reject_of(&a.error_msg);
                    shared.with(|t| t.rejected(key, reject, a.error_msg.clone(), now));
                }
            }
        }
        Err(e) if e.outcome_unknown() => {
            for (key, _, _) in &batch {
                shared.with(|t| t.unknown(*key, e.to_string(), now));
            }
        }
        Err(ClobError::Status {
            status: 400,
            ref message,
            ..
        }) if message.contains(VERSION_MISMATCH) => refused = batch,
        Err(e) => {
            let (reject, message) = e.reject();
            for (key, _, _) in &batch {
                shared.with(|t| t.rejected(*key, reject.clone(), message.clone(), now));
            }
        }
    }
    refused
}

/// A FAK/FOK order (or one the venue left unmatched) is done at once: its
/// trades are booked and the rest cancelled as unfilled. If the venue cannot
/// be asked now, reconciliation finishes the job.
async fn settle_immediate(client: &ClobClient, shared: &Inbox, key: OrderKey, id: &str) {
    let order = match client.order(id).await {
        Ok(Some(o)) => o,
        Ok(None) | Err(_) => return,
    };
    if order.is_live() {
        return;
    }
    let trades = client.trades(None).await.unwrap_or_default();
    let now = wall_ns();
    shared.with(|t| {
        for tr in trades
            .iter()
            .filter(|tr| tr.taker_order_id.eq_ignore_ascii_case(id))
        {
            if tr.status.eq_ignore_ascii_case("failed") {
                continue;
            }
            if let Some(price) = price_of(tr.price) {
                t.fill(id, &tr.id, price, size_of(tr.size), Liquidity::Taker, now);
            }
        }
        t.ended(key, CancelCause::Unfilled, now);
    });
}

async fn cancel(client: &ClobClient, shared: &Inbox, key: OrderKey, id: &str) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.cancel(id).await {
            Ok(answer) => {
                let done = answer
                    .canceled
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(id));
                if done {
                    // The answer does not say what had matched; fills made
                    // before the cancel may still be on their way on the
                    // user channel, and must not be booked as unfilled (a
                    // kill before they arrive would lose them: a restart
                    // reconciles only orders left open). The order's record
                    // says; if it cannot be read, reconciliation will tell.
                    match client.order(id).await {
                        Ok(Some(o)) => {
                            let now = wall_ns();
                            let matched = size_of(o.size_matched);
                            shared
                                .with(|t| t.ended_after(key, CancelCause::Requested, matched, now));
                        }
                        Ok(None) | Err(_) => {
                            tracing::warn!(order = %id, "cancelled, but what matched cannot be read; reconciliation will tell");
                        }
                    }
                } else {
                    tracing::info!(order = %id, reason = ?answer.not_canceled, "the venue did not cancel (filled or gone); reconciliation will tell");
                }
                return;
            }
            Err(e) if attempt < MAX_ATTEMPTS && e.retry_in().is_some() => {
                tokio::time::sleep(e.retry_in().unwrap_or(Duration::from_millis(500))).await;
            }
            Err(e) => {
                tracing::warn!(order = %id, error = %e, "cancel failed; reconciliation will tell");
                return;
            }
        }
    }
}
