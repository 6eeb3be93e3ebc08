//! The exchange's routes on the sim's router.

use axum::Router;
use axum::routing::{delete, get, post};

use super::{http_data, http_keys, http_orders, user_ws};
use crate::venue::sim::rest::AppState;

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route(
            "/auth/api-key",
            post(http_keys::create).delete(http_keys::delete),
        )
        .route("/auth/derive-api-key", get(http_keys::derive))
        .route("/auth/api-keys", get(http_keys::list))
        .route("/auth/ban-status/closed-only", get(http_keys::closed_only))
        .route(
            "/order",
            post(http_orders::post_order).delete(http_orders::cancel_order),
        )
        .route(
            "/orders",
            post(http_orders::post_orders).delete(http_orders::cancel_orders),
        )
        .route("/cancel-all", delete(http_orders::cancel_all))
        .route("/cancel-market-orders", delete(http_orders::cancel_market))
        .route("/v1/heartbeats", post(http_orders::heartbeat))
        .route("/data/orders", get(http_data::orders))
        .route("/data/order/{id}", get(http_data::order))
        .route("/data/trades", get(http_data::trades))
        .route("/balance-allowance", get(http_data::balance_allowance))
        .route(
            "/balance-allowance/update",
            get(http_data::balance_allowance),
        )
        .route("/ws/user", get(user_ws::upgrade))
        .route("/_sim/orders", get(http_data::sim_orders))
}
