//! Turning the host's orders into signed CLOB V2 requests: amounts at the
//! market's tick, a fresh salt, the exchange the market settles on, the
//! order type, and the venue's order id (the EIP-712 hash) the host journals
//! before anything is sent.

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::hex;

use crate::execution::fees::FeeSchedule;
use crate::model::{Order, Price, TimeInForce, TokenId, VenueRef};
use crate::venue::MarketSpec;
use crate::venue::polymarket::signing::{
    Account, Exchange, OrderRequest, OrderType, PrivateKey, Salt, TickSize, limit_amounts_units,
    sign_order,
};

/// What signing needs to know of a market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTerms {
    pub tick: Price,
    pub neg_risk: bool,
    pub fees: FeeSchedule,
}

/// Signs orders for one account.
pub struct OrderSigner {
    key: Arc<PrivateKey>,
    account: Account,
    chain_id: u64,
    /// The API key that owns the orders (`owner` in the body).
    owner: String,
    markets: HashMap<TokenId, MarketTerms>,
}

/// An order ready to send, and how the venue will know it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub request: OrderRequest,
    pub venue_ref: VenueRef,
    pub terms: MarketTerms,
}

impl OrderSigner {
    pub fn new(key: Arc<PrivateKey>, account: Account, chain_id: u64, owner: &str) -> OrderSigner {
        OrderSigner {
            key,
            account,
            chain_id,
            owner: owner.to_string(),
            markets: HashMap::new(),
        }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Learns a market's tokens (tick, exchange, fees).
    pub fn add_market(&mut self, spec: &MarketSpec) {
        for (token, _) in &spec.tokens {
            self.markets.insert(
                token.clone(),
                MarketTerms {
                    tick: spec.tick,
                    neg_risk: spec.neg_risk,
                    fees: spec.fees,
                },
            );
        }
    }

    pub fn terms(&self, token: &TokenId) -> Option<MarketTerms> {
        self.markets.get(token).copied()
    }

    /// Signs `order`; the error names what the venue would refuse.
    pub fn prepare(&self, order: &Order) -> Result<Prepared, String> {
        let terms = self
            .terms(&order.token)
            .ok_or_else(|| format!("token {} is not a market this session trades", order.token))?;
        let tick = TickSize::from_price(terms.tick).map_err(|e| e.to_string())?;
        let amounts = limit_amounts_units(order.side, order.price, order.size, tick)
            .map_err(|e| e.to_string())?;
        let salt = Salt::random().map_err(|e| e.to_string())?;
        let signed_order = crate::venue::polymarket::signing::Order::new(
            &self.account,
            &order.token,
            order.side,
            amounts,
            salt,
            order.created_ns / 1_000_000,
        )
        .map_err(|e| e.to_string())?;
        let exchange = Exchange::for_market(self.chain_id, terms.neg_risk);
        let mut signed =
            sign_order(&self.key, &signed_order, &exchange).map_err(|e| e.to_string())?;
        let order_type = match order.tif {
            TimeInForce::Gtc => OrderType::Gtc,
            TimeInForce::Gtd { until_ns } => {
                // The venue refuses an expiry inside its one-minute security
                // threshold; the order is meant to live until `until_ns`.
                signed.expiration = until_ns / 1_000_000_000 + 60;
                OrderType::Gtd
            }
            TimeInForce::Fok => OrderType::Fok,
            TimeInForce::Fak => OrderType::Fak,
        };
        let id = hex::encode_prefixed(signed.id(&exchange));
        Ok(Prepared {
            venue_ref: VenueRef {
                salt: salt.get(),
                id,
            },
            request: OrderRequest {
                order: signed,
                owner: self.owner.clone(),
                order_type,
                defer_exec: false,
                post_only: order.post_only,
            },
            terms,
        })
    }
}
