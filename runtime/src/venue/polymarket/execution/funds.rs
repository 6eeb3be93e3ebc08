//! What the account can still pay for: the venue's collateral, allowances and
//! share balances as last asked, moved by the fills since, less what working
//! orders hold back. An order the venue would refuse for funds is refused
//! here, before it is sent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::types::BalanceAllowance;
use crate::model::{Fill, Order, Side, TokenId};

/// The venue's refusal text for the same condition, so a local refusal and a
/// venue refusal read (and classify) alike.
pub const NOT_ENOUGH: &str = "not enough balance / allowance";

/// One balance the venue reported: units of 10⁻⁶ and the allowance per
/// spender (exchange contract, lower-case address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Holding {
    balance: i128,
    /// Empty when the venue reports no allowances (nothing to check).
    allowances: BTreeMap<String, i128>,
}

impl Holding {
    /// What an exchange may take: the balance, capped by its allowance.
    fn usable_by(&self, exchange: &str) -> i128 {
        if self.allowances.is_empty() {
            return self.balance;
        }
        let allowance = self
            .allowances
            .get(&exchange.to_ascii_lowercase())
            .copied()
            .unwrap_or(0);
        self.balance.min(allowance)
    }
}

/// What working orders hold back: collateral for buys, shares per token for
/// sells (units of 10⁻⁶).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub collateral: i128,
    pub shares: HashMap<TokenId, i128>,
}

/// The account's funds as the adapter believes them.
#[derive(Debug, Clone, Default)]
pub struct Funds {
    collateral: Option<Holding>,
    shares: HashMap<TokenId, Holding>,
    /// Tokens sold before their balance was known: asked at the next refresh.
    wanted: BTreeSet<TokenId>,
}

/// A venue amount (`"1500000"`, 6 decimals) as units; garbage is an error
/// naming it.
fn units(s: &str) -> Result<i128, String> {
    s.trim()
        .parse::<i128>()
        .map_err(|_| format!("the venue's amount `{s}` is not an integer"))
}

fn holding(b: &BalanceAllowance) -> Result<Holding, String> {
    let mut allowances = BTreeMap::new();
    for (spender, amount) in &b.allowances {
        // Allowances are often "unlimited" (2²⁵⁶−1): more than any balance.
        let a = units(amount).unwrap_or(i128::MAX);
        allowances.insert(spender.to_ascii_lowercase(), a);
    }
    Ok(Holding {
        balance: units(&b.balance)?,
        allowances,
    })
}

fn micros(d: Decimal) -> i128 {
    (d * Decimal::from(1_000_000))
        .round()
        .to_i128()
        .unwrap_or(0)
}

fn dollars(units: i128) -> Decimal {
    Decimal::from_i128_with_scale(units, 6).normalize()
}

impl Funds {
    /// The collateral (pUSD) balance and allowances the venue reports.
    pub fn set_collateral(&mut self, b: &BalanceAllowance) -> Result<(), String> {
        self.collateral = Some(holding(b)?);
        Ok(())
    }

    /// A token's balance and allowances the venue reports.
    pub fn set_shares(&mut self, token: &TokenId, b: &BalanceAllowance) -> Result<(), String> {
        self.shares.insert(token.clone(), holding(b)?);
        self.wanted.remove(token);
        Ok(())
    }

    /// Tokens whose balance the next refresh should ask: every one known or
    /// wanted.
    pub fn tokens(&self) -> Vec<TokenId> {
        let mut all: BTreeSet<TokenId> = self.shares.keys().cloned().collect();
        all.extend(self.wanted.iter().cloned());
        all.into_iter().collect()
    }

    /// A fill moves cash and shares the way the venue's settlement does.
    pub fn apply_fill(&mut self, fill: &Fill) {
        let notional = i128::from(fill.size.notional_micros(fill.price));
        let fee = micros(fill.fee);
        let (cash, shares) = match fill.side {
            Side::Buy => (-notional - fee, i128::from(fill.received().micros())),
            Side::Sell => (notional - fee, -i128::from(fill.size.micros())),
        };
        if let Some(c) = self.collateral.as_mut() {
            c.balance += cash;
        }
        if let Some(h) = self.shares.get_mut(&fill.token) {
            h.balance += shares;
        } else if fill.side == Side::Buy {
            self.wanted.insert(fill.token.clone());
        }
    }

    /// Whether the account can pay for `order` on `exchange` beside what
    /// `held` (the other working orders) holds back; the refusal explains.
    /// A balance never asked is not checked (the venue decides) and is asked
    /// at the next refresh.
    pub fn check(&mut self, order: &Order, exchange: &str, held: &Held) -> Result<(), String> {
        match order.side {
            Side::Buy => {
                let Some(c) = &self.collateral else {
                    return Ok(());
                };
                let need = i128::from(order.size.notional_micros(order.price));
                let usable = c.usable_by(exchange);
                let free = usable - held.collateral;
                if need <= free {
                    return Ok(());
                }
                let why = if usable < c.balance {
                    format!(
                        "the allowance for exchange {exchange} is ${} of a ${} balance: approve it",
                        dollars(usable),
                        dollars(c.balance)
                    )
                } else {
                    format!(
                        "balance ${}, ${} held by working buys",
                        dollars(c.balance),
                        dollars(held.collateral)
                    )
                };
                Err(format!(
                    "{NOT_ENOUGH}: buying {} at {} needs ${}, ${} free ({why})",
                    order.size,
                    order.price,
                    dollars(need),
                    dollars(free.max(0))
                ))
            }
            Side::Sell => {
                let Some(h) = self.shares.get(&order.token) else {
                    self.wanted.insert(order.token.clone());
                    return Ok(());
                };
                let need = i128::from(order.size.micros());
                let usable = h.usable_by(exchange);
                let held_here = held.shares.get(&order.token).copied().unwrap_or(0);
                let free = usable - held_here;
                if need <= free {
                    return Ok(());
                }
                let why = if usable < h.balance {
                    format!("exchange {exchange} is not approved for the outcome tokens")
                } else {
                    format!(
                        "{} held, {} held by working sells",
                        dollars(h.balance),
                        dollars(held_here)
                    )
                };
                Err(format!(
                    "{NOT_ENOUGH}: selling {} shares of {} needs them, {} free ({why})",
                    order.size,
                    order.token,
                    dollars(free.max(0))
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FillCause, Liquidity, OrderKey, Price, Size, TimeInForce};

    fn tok() -> TokenId {
        TokenId::parse("7").unwrap()
    }

    const EXCHANGE: &str = "0xE111180000d2663C0091e4f400237545B87B996B";

    fn order(side: Side, price: u32, shares: u64) -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id: 1,
            },
            token: tok(),
            side,
            price: Price::new(price).unwrap(),
            size: Size::from_micros(shares * 1_000_000),
            tif: TimeInForce::Gtc,
            post_only: false,
            created_ns: 0,
            venue_ref: None,
        }
    }

    fn balance(units: &str, allowance: Option<&str>) -> BalanceAllowance {
        BalanceAllowance {
            balance: units.into(),
            allowances: allowance
                .map(|a| [(EXCHANGE.to_string(), a.to_string())].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn a_buy_needs_its_notional_beside_what_working_buys_hold() {
        let mut f = Funds::default();
        f.set_collateral(&balance("10000000", None)).unwrap();
        // 10 shares at 0.60 = $6 of a $10 balance.
        assert!(
            f.check(&order(Side::Buy, 600_000, 10), EXCHANGE, &Held::default())
                .is_ok()
        );
        let held = Held {
            collateral: 5_000_000,
            ..Held::default()
        };
        let e = f
            .check(&order(Side::Buy, 600_000, 10), EXCHANGE, &held)
            .unwrap_err();
        assert!(e.starts_with(NOT_ENOUGH), "{e}");
        assert!(e.contains("needs $6, $5 free"), "{e}");
    }

    #[test]
    fn the_allowance_caps_the_balance_and_the_refusal_says_approve() {
        let mut f = Funds::default();
        f.set_collateral(&balance("10000000", Some("1000000")))
            .unwrap();
        let e = f
            .check(&order(Side::Buy, 500_000, 4), EXCHANGE, &Held::default())
            .unwrap_err();
        assert!(e.contains("approve"), "{e}");
        // Another exchange the venue lists no allowance for may take nothing.
        let e = f
            .check(
                &order(Side::Buy, 500_000, 1),
                "0xe2222d279d744050d28e00520010520000310F59",
                &Held::default(),
            )
            .unwrap_err();
        assert!(e.contains("approve"), "{e}");
        // Unlimited allowances are larger than any balance.
        f.set_collateral(&balance(
            "10000000",
            Some("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
        ))
        .unwrap();
        assert!(
            f.check(&order(Side::Buy, 500_000, 4), EXCHANGE, &Held::default())
                .is_ok()
        );
    }

    #[test]
    fn an_unknown_balance_is_left_to_the_venue_and_asked_next() {
        let mut f = Funds::default();
        assert!(
            f.check(
                &order(Side::Buy, 500_000, 1_000),
                EXCHANGE,
                &Held::default()
            )
            .is_ok()
        );
        assert!(
            f.check(
                &order(Side::Sell, 500_000, 1_000),
                EXCHANGE,
                &Held::default()
            )
            .is_ok()
        );
        assert_eq!(f.tokens(), vec![tok()]);
        f.set_shares(&tok(), &balance("3000000", None)).unwrap();
        let e = f
            .check(&order(Side::Sell, 500_000, 4), EXCHANGE, &Held::default())
            .unwrap_err();
        assert!(e.contains("3 held"), "{e}");
    }

    #[test]
    fn fills_move_cash_and_shares_like_settlement() {
        let mut f = Funds::default();
        f.set_collateral(&balance("10000000", None)).unwrap();
        f.set_shares(&tok(), &balance("0", None)).unwrap();
        let fill = |side, fee: &str, fee_shares: u64| Fill {
            key: order(side, 500_000, 4).key,
            token: tok(),
            side,
            price: Price::new(500_000).unwrap(),
            size: Size::from_micros(4_000_000),
            fee: fee.parse().unwrap(),
            fee_shares: Size::from_micros(fee_shares),
            liquidity: Liquidity::Taker,
            remaining: Size::ZERO,
            ts_ns: 0,
            trade_id: None,
            cause: FillCause::Reported,
        };
        // Bought 4 at 0.50, 0.1 share kept as the fee: $8 left, 3.9 shares.
        f.apply_fill(&fill(Side::Buy, "0", 100_000));
        assert!(
            f.check(&order(Side::Buy, 500_000, 16), EXCHANGE, &Held::default())
                .is_ok()
        );
        assert!(
            f.check(&order(Side::Buy, 500_000, 17), EXCHANGE, &Held::default())
                .is_err()
        );
        assert!(
            f.check(&order(Side::Sell, 500_000, 4), EXCHANGE, &Held::default())
                .is_err()
        );
        // Sold 4 at 0.50 paying $0.02: $9.98.
        f.apply_fill(&fill(Side::Sell, "0.02", 0));
        assert_eq!(f.collateral.as_ref().unwrap().balance, 9_980_000);
    }

    #[test]
    fn a_garbage_balance_is_an_error_naming_it() {
        let mut f = Funds::default();
        let e = f.set_collateral(&balance("lots", None)).unwrap_err();
        assert!(e.contains("`lots`"), "{e}");
    }
}
