//! `POST /order`: checks a signed order the way the venue does (owner, signer,
//! signature, duplicates, account flags, expiration, tick, size, balance) and
//! hands it to the funder's fill simulator.

use alloy_primitives::Address;

use super::engine::{Clock, ExchangeState};
use super::ledger::{reserved_collateral, reserved_shares};
use super::records::{ExOrder, OrderStatus};
use crate::execution::fees::FeeSchedule;
use crate::execution::simulator::MarketRules;
use crate::model::{
    self, ConditionId, OrderEvent, OrderKey, Price, Side, Size, TimeInForce, TokenId,
};
use crate::venue::Venue;
use crate::venue::polymarket::signing::{
    Exchange, OrderRequest, OrderType, SignatureType, recover_order_signer,
};

/// What the exchange knows about the market an order is for.
#[derive(Debug, Clone)]
pub struct MarketRef {
    pub condition: ConditionId,
    pub outcome: String,
    pub tick: Price,
    pub min_size: Size,
    pub fees: FeeSchedule,
    pub fee_rate_bps: u32,
    pub closed: bool,
}

/// The API key (and its address) a request was authenticated with.
#[derive(Debug, Clone)]
pub struct Caller {
    pub api_key: String,
    pub address: Address,
}

/// An accepted order.
#[derive(Debug, Clone)]
pub struct Placed {
    pub order_id: String,
    pub status: &'static str,
    pub making: String,
    pub taking: String,
    pub trade_ids: Vec<String>,
    pub tx_hashes: Vec<String>,
}

pub const NOT_ENOUGH: &str = "not enough balance / allowance";

/// Shares per collateral unit arithmetic: `num / den` as a price in micros, if exact.
fn ratio_price(num: u64, den: u64) -> Option<u32> {
    if den == 0 {
        return None;
    }
    let p = u128::from(num) * 1_000_000;
    if p % u128::from(den) != 0 {
        return None;
    }
    u32::try_from(p / u128::from(den)).ok()
}

impl ExchangeState {
    /// Checks and places one order; `Err` carries the venue's message.
    pub fn place(
        &mut self,
        caller: &Caller,
        req: &OrderRequest,
        market: Option<MarketRef>,
        books: &crate::data::books::Books,
        clock: Clock,
    ) -> Result<Placed, String> {
        if req.owner != caller.api_key {
            return Err("the order owner has to be the owner of the API KEY".into());
        }
        let o = &req.order.order;
        let exchange = Exchange::for_market(self.config.chain_id, false);
        let id = o.signing_hash(&exchange).to_string();
        if o.signature_type != SignatureType::Poly1271 && o.signer != caller.address {
            return Err("the order signer address has to be the address of the API KEY".into());
        }
        let recovered = recover_order_signer(o, &req.order.signature, &exchange)
            .map_err(|e| format!("invalid signature: {e}"))?;
        let expected = match o.signature_type {
            SignatureType::Poly1271 => caller.address,
            _ => o.signer,
        };
        if recovered != expected || (o.signature_type == SignatureType::Eoa && o.maker != o.signer)
        {
            return Err("invalid signature".into());
        }
        if self.orders.contains_key(&id) {
            return Err("Duplicated".into());
        }
        let token = TokenId::parse(&o.token_id.to_string())
            .map_err(|e| format!("Invalid order payload: tokenId: {e}"))?;
        let market = market
            .filter(|m| !m.closed)
            .ok_or_else(|| "the market is not yet ready to process new orders".to_string())?;
        let flags = self
            .ledgers
            .get(&o.maker)
            .map(|l| (l.banned, l.closed_only));
        let (banned, closed_only) = flags.unwrap_or((false, false));
        let key_banned = self.ledgers.get(&caller.address).is_some_and(|l| l.banned);
        if banned || key_banned {
            return Err("address banned".into());
        }
        // Amounts → price and size.
        let (shares, collateral) = match o.side {
            Side::Buy => (o.taker_amount, o.maker_amount),
            Side::Sell => (o.maker_amount, o.taker_amount),
        };
        let market_order = matches!(req.order_type, OrderType::Fok | OrderType::Fak);
        let price = match ratio_price(collateral, shares) {
            Some(p) => p,
            // Market orders' amounts need not give an exact price: the worst
            // price on the tick at or better than what they imply.
            None if market_order && shares > 0 => {
                let raw = (u128::from(collateral) * 1_000_000 / u128::from(shares)) as u32;
                let t = market.tick.micros().max(1);
                match o.side {
                    Side::Buy => raw / t * t,
                    Side::Sell => raw.div_ceil(t) * t,
                }
            }
            None => 0,
        };
        let price = Price::new(price).unwrap_or(Price::ZERO);
        if !price.is_valid_order_price(market.tick) {
            return Err(format!(
                "order {id} is invalid. Price ({price}) breaks minimum tick size rule: {}",
                market.tick
            ));
        }
        let size = Size::from_micros(if market_order {
            shares / 10_000 * 10_000
        } else {
            shares
        });
        if size < market.min_size || size.is_zero() {
            return Err(format!(
                "order {id} is invalid. Size ({size}) lower than the minimum: {}",
                market.min_size
            ));
        }
        let tif = match req.order_type {
            OrderType::Gtd => {
                if req.order.expiration < clock.venue_ms / 1_000 + 60 {
                    return Err("invalid expiration".into());
                }
                TimeInForce::Gtd {
                    until_ns: req.order.expiration.saturating_mul(1_000_000_000),
                }
            }
            _ if req.order.expiration != 0 => return Err("invalid expiration".into()),
            OrderType::Gtc => TimeInForce::Gtc,
            OrderType::Fok => TimeInForce::Fok,
            OrderType::Fak => TimeInForce::Fak,
        };
        let ledger = self.ledgers.get(&o.maker).cloned().unwrap_or_default();
        match o.side {
            Side::Buy => {
                if closed_only {
                    return Err("address is in closed-only mode: only orders that reduce a position are accepted".into());
                }
                let cap = ledger
                    .allowance
                    .map_or(ledger.collateral, |a| ledger.collateral.min(i128::from(a)));
                let need = i128::from(if market_order {
                    collateral
                } else {
                    size.notional_micros(price)
                });
                if need > cap - reserved_collateral(self.orders.values(), o.maker) {
                    return Err(NOT_ENOUGH.into());
                }
            }
            Side::Sell => {
                let have = ledger.position(&token)
                    - reserved_shares(self.orders.values(), o.maker, &token);
                if i128::from(size.micros()) > have {
                    return Err(NOT_ENOUGH.into());
                }
            }
        }
        // The venue's book decides the rest (post-only, FOK/FAK, $1 minimum).
        let client_id = self.next_client;
        self.next_client += 1;
        let key = OrderKey {
            strategy: 0,
            client_id,
        };
        let order = model::Order {
            key,
            token: token.clone(),
            side: o.side,
            price,
            size,
            tif,
            post_only: req.post_only,
            created_ns: clock.venue_ns(),
            venue_ref: None,
        };
        let sim = self.sim_of(o.maker);
        sim.set_market(
            token.clone(),
            MarketRules {
                tick: market.tick,
                min_size: market.min_size,
                fees: market.fees,
            },
        );
        let events = sim.submit(order, clock.venue_ns(), books);
        if let Some(OrderEvent::Rejected { message, .. }) = events.first() {
            return Err(message.clone());
        }
        self.by_client.insert(client_id, id.clone());
        let record = ExOrder {
            id: id.clone(),
            salt: o.salt.get(),
            key,
            owner: caller.api_key.clone(),
            owner_address: caller.address,
            maker: o.maker,
            market: market.condition.clone(),
            asset_id: token,
            outcome: market.outcome.clone(),
            side: o.side,
            price,
            original_size: size,
            size_matched: Size::ZERO,
            status: OrderStatus::Live,
            order_type: req.order_type,
            expiration: req.order.expiration,
            created_at_s: clock.venue_ms / 1_000,
            associate_trades: Vec::new(),
            fee_rate_bps: market.fee_rate_bps,
        };
        self.publish(
            caller.address,
            &record.event("PLACEMENT", clock.wall_ms),
            None,
        );
        self.orders.insert(id.clone(), record);
        let trade_ids = self.apply(events, clock);
        let trades: Vec<&super::records::Trade> =
            self.trades.iter().rev().take(trade_ids.len()).collect();
        let (mut paid, mut got) = (0u64, 0u64);
        for t in &trades {
            let n = t.size.notional_micros(t.price);
            match o.side {
                Side::Buy => {
                    paid += n;
                    got += t.size.micros();
                }
                Side::Sell => {
                    paid += t.size.micros();
                    got += n;
                }
            }
        }
        let tx_hashes = trades
            .iter()
            .rev()
            .map(|t| t.transaction_hash.clone())
            .collect();
        let dec = |u: u64| {
            rust_decimal::Decimal::new(u as i64, 6)
                .normalize()
                .to_string()
        };
        let matched = !trade_ids.is_empty();
        Ok(Placed {
            order_id: id,
            status: if matched { "matched" } else { "live" },
            making: if matched { dec(paid) } else { String::new() },
            taking: if matched { dec(got) } else { String::new() },
            trade_ids,
            tx_hashes,
        })
    }
}
