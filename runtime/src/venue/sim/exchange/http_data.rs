//! `/data/orders`, `/data/order/{id}`, `/data/trades` (cursor paged, `MA==`
//! first, `LTE=` last) and `/balance-allowance`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::http::{error, l2, lock};
use crate::venue::polymarket::signing::{CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2};
use crate::venue::sim::rest::AppState;

/// Items per page.
pub const PAGE: usize = 100;
const END: &str = "LTE=";

fn offset_of(cursor: Option<&String>) -> Result<usize, Box<Response>> {
    let Some(c) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    base64::engine::general_purpose::STANDARD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "invalid next_cursor `{}`",
                    c.chars().take(40).collect::<String>()
                ),
            ))
        })
}

fn page(items: Vec<Value>, q: &HashMap<String, String>) -> Response {
    if q.get("next_cursor").is_some_and(|c| c == END) {
        return Json(json!({ "data": [], "next_cursor": END, "limit": PAGE, "count": 0 }))
            .into_response();
    }
    let from = match offset_of(q.get("next_cursor")) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let data: Vec<Value> = items.iter().skip(from).take(PAGE).cloned().collect();
    let next = from + data.len();
    let cursor = if next >= items.len() {
        END.to_string()
    } else {
        base64::engine::general_purpose::STANDARD.encode(next.to_string())
    };
    Json(json!({ "count": data.len(), "limit": PAGE, "next_cursor": cursor, "data": data }))
        .into_response()
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str).filter(|s| !s.is_empty())
}

/// `GET /data/orders`: the caller's open orders.
pub async fn orders(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sim = lock(&app);
    let caller = match l2(&sim, &headers, "GET", "/data/orders", b"") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let items = sim
        .exchange
        .orders
        .values()
        .filter(|o| o.is_open() && o.owner_address == caller.address)
        .filter(|o| param(&q, "id").is_none_or(|id| o.id.eq_ignore_ascii_case(id)))
        .filter(|o| param(&q, "market").is_none_or(|m| o.market.as_str().eq_ignore_ascii_case(m)))
        .filter(|o| param(&q, "asset_id").is_none_or(|a| o.asset_id.as_str() == a))
        .map(|o| o.to_json())
        .collect();
    page(items, &q)
}

/// `GET /_sim/orders`: every order the exchange took, of every account, open
/// or over, with its salt (not a venue route: for tests that check no order
/// reached the exchange twice).
pub async fn sim_orders(State(app): State<AppState>) -> Response {
    let sim = lock(&app);
    let items: Vec<Value> = sim
        .exchange
        .orders
        .values()
        .map(|o| {
            let mut v = o.to_json();
            if let Some(m) = v.as_object_mut() {
                m.insert("salt".into(), json!(o.salt.to_string()));
                m.insert(
                    "owner_address".into(),
                    json!(o.owner_address.to_checksum(None)),
                );
            }
            v
        })
        .collect();
    Json(items).into_response()
}

/// `GET /data/order/{id}`: any order of the caller.
pub async fn order(
    State(app): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let sim = lock(&app);
    let caller = match l2(&sim, &headers, "GET", uri.path(), b"") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match sim
        .exchange
        .orders
        .get(&id)
        .filter(|o| o.owner_address == caller.address)
    {
        Some(o) => Json(o.to_json()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!(
                "order {} not found",
                id.chars().take(80).collect::<String>()
            ),
        ),
    }
}

/// `GET /data/trades`: the caller's trades.
pub async fn trades(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sim = lock(&app);
    let caller = match l2(&sim, &headers, "GET", "/data/trades", b"") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let num = |n: &str| param(&q, n).and_then(|s| s.parse::<u64>().ok());
    let (after, before) = (num("after"), num("before"));
    let items = sim
        .exchange
        .trades
        .iter()
        .filter(|t| t.owner_address == caller.address)
        .filter(|t| param(&q, "id").is_none_or(|id| t.id == id))
        .filter(|t| param(&q, "market").is_none_or(|m| t.market.as_str().eq_ignore_ascii_case(m)))
        .filter(|t| param(&q, "asset_id").is_none_or(|a| t.asset_id.as_str() == a))
        .filter(|t| {
            param(&q, "maker_address")
                .is_none_or(|a| t.maker_address.to_string().eq_ignore_ascii_case(a))
        })
        .filter(|t| after.is_none_or(|a| t.match_time_s > a))
        .filter(|t| before.is_none_or(|b| t.match_time_s < b))
        .map(|t| t.to_json())
        .collect();
    page(items, &q)
}

const UNLIMITED: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// `GET /balance-allowance` (and `/balance-allowance/update`, which has
/// nothing to refresh in the sim and answers the same).
pub async fn balance_allowance(
    State(app): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sim = lock(&app);
    let caller = match l2(&sim, &headers, "GET", uri.path(), b"") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let ledger = sim
        .exchange
        .ledgers
        .get(&caller.address)
        .cloned()
        .unwrap_or_default();
    let balance = match param(&q, "asset_type")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("COLLATERAL") => ledger.collateral,
        Some("CONDITIONAL") | Some("CONDITIONAL-V2") => {
            let Some(token) = param(&q, "token_id") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "token_id is required for asset_type CONDITIONAL",
                );
            };
            ledger
                .positions
                .iter()
                .find(|(t, _)| t.as_str() == token)
                .map_or(0, |(_, u)| *u)
        }
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "invalid asset_type `{}`: expected COLLATERAL or CONDITIONAL",
                    other.unwrap_or("")
                ),
            );
        }
    };
    let allowance = ledger
        .allowance
        .map_or(UNLIMITED.to_string(), |a| a.to_string());
    Json(json!({
        "balance": balance.max(0).to_string(),
        "allowances": {
            CTF_EXCHANGE_V2.to_checksum(None): allowance,
            NEG_RISK_CTF_EXCHANGE_V2.to_checksum(None): allowance,
        }
    }))
    .into_response()
}
