//! L1 (wallet signature) and L2 (HMAC) checks of request headers, answering
//! with the venue's 401 texts.

use alloy_primitives::Address;
use axum::http::HeaderMap;

use super::engine::ExchangeState;
use super::place::Caller;
use crate::venue::polymarket::signing::{recover_l1_signer, verify_l2_signature};

pub const L1_INVALID: &str = "Invalid L1 Request headers";
pub const L2_INVALID: &str = "Unauthorized/Invalid api key";

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn fresh(timestamp: &str, now_s: u64, window_s: u64) -> bool {
    timestamp
        .parse::<u64>()
        .is_ok_and(|t| t.abs_diff(now_s) <= window_s)
}

/// The address and nonce of a valid L1 request.
pub fn check_l1(
    ex: &ExchangeState,
    h: &HeaderMap,
    now_s: u64,
) -> Result<(Address, String), &'static str> {
    let get = |n| header(h, n).ok_or(L1_INVALID);
    let (address, signature, timestamp) = (
        get("POLY_ADDRESS")?,
        get("POLY_SIGNATURE")?,
        get("POLY_TIMESTAMP")?,
    );
    let nonce = header(h, "POLY_NONCE").unwrap_or("0");
    if !fresh(timestamp, now_s, ex.config.auth_window_s) {
        tracing::debug!(timestamp, now_s, "L1 timestamp outside the window");
        return Err(L1_INVALID);
    }
    let signer = recover_l1_signer(ex.config.chain_id, address, signature, timestamp, nonce)
        .map_err(|e| {
            tracing::debug!(error = %e, "L1 headers refused");
            L1_INVALID
        })?;
    Ok((signer, nonce.to_string()))
}

/// The caller of a valid L2 request over `body` (the exact bytes received).
pub fn check_l2(
    ex: &ExchangeState,
    h: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
    now_s: u64,
) -> Result<Caller, &'static str> {
    let get = |n| header(h, n).ok_or(L2_INVALID);
    let (address, signature, timestamp, api_key, passphrase) = (
        get("POLY_ADDRESS")?,
        get("POLY_SIGNATURE")?,
        get("POLY_TIMESTAMP")?,
        get("POLY_API_KEY")?,
        get("POLY_PASSPHRASE")?,
    );
    let key = ex.keys.get(api_key).ok_or(L2_INVALID)?;
    let claimed: Address = address.parse().map_err(|_| L2_INVALID)?;
    // Constant-time enough for a simulator: the passphrase is compared whole.
    if claimed != key.address || passphrase != key.passphrase {
        return Err(L2_INVALID);
    }
    if !fresh(timestamp, now_s, ex.config.auth_window_s) {
        return Err(L2_INVALID);
    }
    verify_l2_signature(&key.credentials, timestamp, method, path, body, signature).map_err(
        |e| {
            tracing::debug!(error = %e, api_key, "L2 signature refused");
            L2_INVALID
        },
    )?;
    Ok(Caller {
        api_key: key.key.clone(),
        address: key.address,
    })
}
