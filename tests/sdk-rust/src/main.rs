//! Drives Polymarket's official Rust SDK (`polymarket_client_sdk_v2`, CLOB
//! feature) against a CLOB V2 endpoint — in this repository, `pqap sim` — the
//! way a trading program would: public reads, L1 key creation, a resting limit
//! order that is listed and cancelled, a marketable order that fills, trades and
//! balances.
//!
//! Usage: `pqap-sdk-rust-client <CLOB_URL>`, with the account's private key in
//! `POLYMARKET_PRIVATE_KEY` (the SDK's own variable, so the key stays out of the
//! process list). On success it prints one JSON summary on stdout and exits 0;
//! on the first failing call it prints `{"ok":false,"step":..,"error":..}` (the
//! SDK's error text) and exits 1. tests/sim_rustsdk.rs judges the summary.

use std::future::Future;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::time::Duration;

use polymarket_client_sdk_v2::auth::{LocalSigner, Signer as _};
use polymarket_client_sdk_v2::clob::types::request::{
    BalanceAllowanceRequest, LastTradePriceRequest, MidpointRequest, OrderBookSummaryRequest,
    OrdersRequest, PriceRequest, SpreadRequest, TradesRequest,
};
use polymarket_client_sdk_v2::clob::types::{Amount, AssetType, OrderType, Side};
use polymarket_client_sdk_v2::clob::{Client, Config};
use polymarket_client_sdk_v2::types::Decimal;
use polymarket_client_sdk_v2::{POLYGON, PRIVATE_KEY_VAR};
use serde_json::{Value, json};

/// One call may take this long. `post_order` of a matched order polls the
/// trades until they settle (the SDK gives that 30 s), so this leaves room for
/// that but still ends a hung connection.
const CALL_TIMEOUT: Duration = Duration::from_secs(45);

/// A failed step: which call, and the SDK's error (or ours) as text.
struct Failure {
    step: &'static str,
    error: String,
}

/// Awaits `call` within [`CALL_TIMEOUT`], naming the step on failure.
async fn step<T, E: std::fmt::Display>(
    name: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure {
            step: name,
            error: e.to_string(),
        }),
        Err(_) => Err(Failure {
            step: name,
            error: format!("no answer within {CALL_TIMEOUT:?}"),
        }),
    }
}

/// A check of the client's own (not the SDK's) expectations.
fn ensure(name: &'static str, cond: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure {
            step: name,
            error: what(),
        })
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(f) => {
            let out = json!({ "ok": false, "step": f.step, "error": f.error });
            println!("{out}");
            eprintln!("step {} failed: {}", f.step, f.error);
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Value, Failure> {
    let host = std::env::args().nth(1).ok_or_else(|| Failure {
        step: "args",
        error: "usage: pqap-sdk-rust-client <CLOB_URL>".into(),
    })?;
    let key = std::env::var(PRIVATE_KEY_VAR).map_err(|_| Failure {
        step: "args",
        error: format!("{PRIVATE_KEY_VAR} is not set"),
    })?;
    let signer = LocalSigner::from_str(&key)
        .map_err(|e| Failure {
            step: "signer",
            error: e.to_string(),
        })?
        .with_chain_id(Some(POLYGON));

    // Public data, unauthenticated.
    let public = step("client", async { Client::new(&host, Config::default()) }).await?;
    let ok = step("ok", public.ok()).await?;
    ensure("ok", ok == "OK", || format!("GET / answered {ok:?}"))?;
    let server_time = step("server_time", public.server_time()).await?;
    let version = step("version", public.version()).await?;

    // The first market with a two-sided book and no fee, so that the fill's
    // cost is exactly price × size and the caller can check the balance to the
    // unit.
    let markets = step("markets", public.markets(None)).await?;
    let mut chosen = None;
    for m in &markets.data {
        let Some(token) = m.tokens.first() else {
            continue;
        };
        let fee = step("fee_rate_bps", public.fee_rate_bps(token.token_id)).await?;
        let book = step(
            "order_book",
            public.order_book(
                &OrderBookSummaryRequest::builder()
                    .token_id(token.token_id)
                    .build(),
            ),
        )
        .await?;
        if fee.base_fee == 0 && !book.bids.is_empty() && !book.asks.is_empty() {
            chosen = Some((m.clone(), token.token_id, fee.base_fee, book));
            break;
        }
    }
    let Some((market, token, fee_bps, book)) = chosen else {
        return Err(Failure {
            step: "markets",
            error: format!(
                "no fee-free market with a two-sided book among {}",
                markets.data.len()
            ),
        });
    };
    let condition_id = market
        .condition_id
        .map(|c| c.to_string())
        .unwrap_or_default();
    let single = step("market", public.market(&condition_id)).await?;
    ensure("market", single.condition_id == market.condition_id, || {
        "GET /markets/{id} returned another market".into()
    })?;
    let info = step("clob_market_info", public.clob_market_info(&condition_id)).await?;
    let by_token = step("market_by_token", public.market_by_token(token)).await?;
    let midpoint = step(
        "midpoint",
        public.midpoint(&MidpointRequest::builder().token_id(token).build()),
    )
    .await?;
    let price_buy = step(
        "price_buy",
        public.price(
            &PriceRequest::builder()
                .token_id(token)
                .side(Side::Buy)
                .build(),
        ),
    )
    .await?;
    let price_sell = step(
        "price_sell",
        public.price(
            &PriceRequest::builder()
                .token_id(token)
                .side(Side::Sell)
                .build(),
        ),
    )
    .await?;
    let spread = step(
        "spread",
        public.spread(&SpreadRequest::builder().token_id(token).build()),
    )
    .await?;
    let tick = step("tick_size", public.tick_size(token)).await?;
    let neg_risk = step("neg_risk", public.neg_risk(token)).await?;
    let last_trade = step(
        "last_trade_price",
        public.last_trade_price(&LastTradePriceRequest::builder().token_id(token).build()),
    )
    .await?;
    // L1: create (or, when it exists, derive) the API key; asking again must
    // give the same key.
    let creds = step(
        "create_or_derive_api_key",
        public.create_or_derive_api_key(&signer, None),
    )
    .await?;
    let again = step(
        "create_or_derive_api_key_again",
        public.create_or_derive_api_key(&signer, None),
    )
    .await?;
    let api_key = creds.key();
    // A fresh client: authenticating consumes the unauthenticated one.
    let unauthenticated = step("client", async { Client::new(&host, Config::default()) }).await?;
    let client = step(
        "authenticate",
        unauthenticated
            .authentication_builder(&signer)
            .credentials(creds)
            .authenticate(),
    )
    .await?;
    let api_keys = step("api_keys", client.api_keys()).await?;
    let closed_only = step("closed_only_mode", client.closed_only_mode()).await?;

    let collateral = || {
        BalanceAllowanceRequest::builder()
            .asset_type(AssetType::Collateral)
            .build()
    };
    let balance_before = step("balance_before", client.balance_allowance(collateral())).await?;

    // L2: a limit BUY at the lowest price the tick allows, far below the bids,
    // so it rests.
    let tick_size = tick.minimum_tick_size.as_decimal();
    let rest_size = book.min_order_size.max(Decimal::from(10));
    let rest = step(
        "post_limit_order",
        client
            .limit_order()
            .token_id(token)
            .side(Side::Buy)
            .price(tick_size)
            .size(rest_size)
            .order_type(OrderType::GTC)
            .build_sign_and_post(&signer),
    )
    .await?;
    ensure("post_limit_order", rest.success, || {
        format!("not accepted: {:?}", rest.error_msg)
    })?;
    let balance_resting = step("balance_resting", client.balance_allowance(collateral())).await?;
    let open = step(
        "open_orders",
        client.orders(&OrdersRequest::builder().asset_id(token).build(), None),
    )
    .await?;
    let rest_order = step("order", client.order(&rest.order_id)).await?;
    let cancel = step("cancel_order", client.cancel_order(&rest.order_id)).await?;
    let open_after = step(
        "open_orders_after_cancel",
        client.orders(&OrdersRequest::default(), None),
    )
    .await?;
    let balance_after_cancel = step(
        "balance_after_cancel",
        client.balance_allowance(collateral()),
    )
    .await?;

    // A marketable FOK buy the exchange must fill whole: the SDK prices it by
    // walking the asks it reads from the book. The venue wants at least the
    // market's minimum size and at least $1 of notional, so: the larger of the
    // minimum and $2 worth at the best ask, in whole shares.
    let best_ask = book
        .asks
        .iter()
        .map(|l| l.price)
        .min()
        .unwrap_or(Decimal::ONE);
    let fill_size = book
        .min_order_size
        .max((Decimal::from(2) / best_ask.max(tick_size)).ceil());
    let fill_amount = Amount::shares(fill_size).map_err(|e| Failure {
        step: "post_market_order",
        error: e.to_string(),
    })?;
    let fill = step(
        "post_market_order",
        client
            .market_order()
            .token_id(token)
            .side(Side::Buy)
            .amount(fill_amount)
            .order_type(OrderType::FOK)
            .build_sign_and_post(&signer),
    )
    .await?;
    ensure("post_market_order", fill.success, || {
        format!("not accepted: {:?}", fill.error_msg)
    })?;
    let trades = step("trades", client.trades(&TradesRequest::default(), None)).await?;
    let balance_after_fill =
        step("balance_after_fill", client.balance_allowance(collateral())).await?;
    let position = step(
        "position_after_fill",
        client.balance_allowance(
            BalanceAllowanceRequest::builder()
                .asset_type(AssetType::Conditional)
                .token_id(token)
                .build(),
        ),
    )
    .await?;

    let levels = |l: &[polymarket_client_sdk_v2::clob::types::response::OrderSummary]| -> Value {
        l.iter()
            .map(|s| json!([s.price.to_string(), s.size.to_string()]))
            .collect()
    };
    Ok(json!({
        "ok": true,
        "health": ok,
        "server_time": server_time,
        "version": version,
        "market": {
            "condition_id": condition_id,
            "token_id": token.to_string(),
            "markets_listed": markets.data.len(),
            "clob_info_condition": info.condition_id.to_string(),
            "by_token_condition": by_token.condition_id.to_string(),
            "by_token_primary": by_token.primary_token_id.to_string(),
            "min_order_size": book.min_order_size.to_string(),
        },
        "tick_size": tick_size.to_string(),
        "neg_risk": neg_risk.neg_risk,
        "fee_rate_bps": fee_bps,
        "book": {
            "asset_id": book.asset_id.to_string(),
            "bids": levels(&book.bids),
            "asks": levels(&book.asks),
            "hash": book.hash,
        },
        "midpoint": midpoint.mid.to_string(),
        "price_buy": price_buy.price.to_string(),
        "price_sell": price_sell.price.to_string(),
        "spread": spread.spread.to_string(),
        "last_trade_price": last_trade.price.to_string(),
        "api_key": api_key.to_string(),
        "api_key_again": again.key().to_string(),
        // The SDK keeps the listed keys private; its Debug form is the one view.
        "api_keys_listed": format!("{api_keys:?}").contains(&api_key.to_string()),
        "closed_only": closed_only.closed_only,
        "rest": {
            "order_id": rest.order_id,
            "status": rest.status.to_string(),
            "success": rest.success,
            "price": tick_size.to_string(),
            "size": rest_size.to_string(),
            "listed_status": rest_order.status.to_string(),
            "listed_original_size": rest_order.original_size.to_string(),
        },
        "open_orders": open.data.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        "cancel": {
            "canceled": cancel.canceled,
            "not_canceled": cancel.not_canceled,
        },
        "open_after_cancel": open_after.data.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        "fill": {
            "order_id": fill.order_id,
            "size": fill_size.to_string(),
            "status": fill.status.to_string(),
            "success": fill.success,
            "making_amount": fill.making_amount.to_string(),
            "taking_amount": fill.taking_amount.to_string(),
            "trade_ids": fill.trade_ids,
            "transaction_hashes": fill.transaction_hashes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
        "trades": trades.data.iter().map(|t| json!({
            "id": t.id,
            "taker_order_id": t.taker_order_id,
            "asset_id": t.asset_id.to_string(),
            "side": t.side.to_string(),
            "size": t.size.to_string(),
            "price": t.price.to_string(),
            "fee_rate_bps": t.fee_rate_bps.to_string(),
            "status": t.status.to_string(),
            "trader_side": format!("{:?}", t.trader_side),
            "maker_orders": t.maker_orders.len(),
        })).collect::<Vec<_>>(),
        "balance_before": balance_before.balance.to_string(),
        "balance_resting": balance_resting.balance.to_string(),
        "balance_after_cancel": balance_after_cancel.balance.to_string(),
        "balance_after_fill": balance_after_fill.balance.to_string(),
        "position_after_fill": position.balance.to_string(),
    }))
}
