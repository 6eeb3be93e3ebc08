//! The arbitrage arithmetic: when YES + NO at the asks plus taker fees pays back less
//! than $1, how big the trade may be, and what a missing leg may still cost. Pure
//! functions of book tops, instrument rules and configuration, tested by hand.

use pqap_strategy_sdk::types::Level;
use pqap_strategy_sdk::{Price, Size, taker_fee_micros};

/// Micro-dollars in $1: what one YES plus one NO share pays at resolution.
const ONE: u64 = 1_000_000;

/// Opportunity thresholds and limits (from the strategy's `init` parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArbConfig {
    /// Least profit per pair of shares, after fees, worth taking.
    pub min_edge: Price,
    /// Most pairs bought in one attempt.
    pub max_size: Size,
    /// Most shares held per outcome token.
    pub max_position: Size,
}

/// One outcome token as the calculation sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegBook {
    /// Best ask, if any.
    pub ask: Option<Level>,
    pub tick: Price,
    pub min_size: Size,
    /// Taker fee rate in millionths.
    pub fee_rate: u32,
    /// Shares already held.
    pub held: Size,
}

/// A pair of marketable buys worth sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opportunity {
    pub yes_price: Price,
    pub no_price: Price,
    /// Both asks plus both taker fees, micro-dollars per pair.
    pub cost_per_share: u64,
    /// $1 − `cost_per_share`: what each pair earns at resolution.
    pub edge_per_share: u64,
    pub size: Size,
}

/// Taker fee for one share at `price`, in micro-dollars, rounded up. Rounding each
/// share up can only overstate the fee on a larger order, never understate it.
pub fn fee_per_share(price: Price, rate_millionths: u32) -> u64 {
    let one_share = Size::from_micros(ONE);
    taker_fee_micros(price, one_share, rate_millionths)
}

/// What one share costs to take at `price`, fee included, in micro-dollars.
pub fn all_in_price(price: Price, rate_millionths: u32) -> u64 {
    u64::from(price.micros()) + fee_per_share(price, rate_millionths)
}

/// The best ask as an order price, if it is one the venue would accept.
fn order_ask(leg: &LegBook) -> Option<(Price, Size)> {
    let ask = leg.ask?;
    let price = Price::new(ask.price).filter(|p| p.is_valid_order_price(leg.tick))?;
    Some((price, Size::from_micros(ask.size)))
}

/// Whether buying YES and NO together at their asks pays at least `min_edge` per
/// pair after taker fees, and if so at which prices and size.
///
/// The size is the least of both top-of-book sizes (deeper levels would cost more
/// and erode the edge), `max_size`, and the room under `max_position` on each leg;
/// it must reach both instruments' minimum order size.
pub fn find_opportunity(config: &ArbConfig, yes: &LegBook, no: &LegBook) -> Option<Opportunity> {
    let (yes_price, yes_depth) = order_ask(yes)?;
    let (no_price, no_depth) = order_ask(no)?;
    let cost = all_in_price(yes_price, yes.fee_rate) + all_in_price(no_price, no.fee_rate);
    // Inclusive: an edge of exactly `min_edge` is the minimum the operator asked for.
    let limit = ONE - u64::from(config.min_edge.micros());
    if cost > limit {
        return None;
    }
    let size = yes_depth
        .min(no_depth)
        .min(config.max_size)
        .min(config.max_position.saturating_sub(yes.held))
        .min(config.max_position.saturating_sub(no.held));
    if size.is_zero() || size < yes.min_size || size < no.min_size {
        return None;
    }
    Some(Opportunity {
        yes_price,
        no_price,
        cost_per_share: cost,
        edge_per_share: ONE - cost,
        size,
    })
}

/// The most one share of the missing leg may cost, fee included, for a pair with
/// the filled leg to still pay back its $1: `$1 − (paid / bought)`, where `paid` is
/// everything spent on the filled leg's buys (notional plus fees) and `bought` its
/// shares. The average is rounded up so the budget errs on the side of unwinding.
pub fn completion_budget(paid_micros: i128, bought: Size) -> u64 {
    if bought.is_zero() {
        return 0;
    }
    // Rebates can make `paid` negative; then any price under $1 breaks even.
    let Ok(paid) = u128::try_from(paid_micros) else {
        return ONE;
    };
    let per_share = (paid * u128::from(ONE)).div_ceil(u128::from(bought.micros()));
    u64::try_from(u128::from(ONE).saturating_sub(per_share)).unwrap_or(0)
}

/// What `size` shares at `price` cost, rounded up (the conservative side for a buyer).
pub fn notional_ceil(price: Price, size: Size) -> u64 {
    let exact = (u128::from(price.micros()) * u128::from(size.micros())).div_ceil(u128::from(ONE));
    u64::try_from(exact).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(micros: u32) -> Price {
        Price::new(micros).expect("test price")
    }

    fn shares(n: u64) -> Size {
        Size::from_shares(n).expect("test size")
    }

    fn leg(ask: u32, depth: u64, fee_rate: u32) -> LegBook {
        LegBook {
            ask: Some(Level {
                price: ask,
                size: shares(depth).micros(),
            }),
            tick: price(10_000),
            min_size: shares(5),
            fee_rate,
            held: Size::ZERO,
        }
    }

    fn cfg(min_edge: u32) -> ArbConfig {
        ArbConfig {
            min_edge: price(min_edge),
            max_size: shares(50),
            max_position: shares(500),
        }
    }

    #[test]
    fn fee_per_share_hand_computed() {
        // 0.02 × 0.45 × 0.55 = 0.00495.
        assert_eq!(fee_per_share(price(450_000), 20_000), 4_950);
        // 0.02 × 0.5 × 0.5 = 0.005.
        assert_eq!(fee_per_share(price(500_000), 20_000), 5_000);
        // 0.07 × 0.33 × 0.67 = 0.015477.
        assert_eq!(fee_per_share(price(330_000), 70_000), 15_477);
        // 0.000005 × 0.25 = 0.00000125 dollars = 1.25 micros, rounded up to 2.
        assert_eq!(fee_per_share(price(500_000), 5), 2);
        assert_eq!(fee_per_share(price(500_000), 0), 0);
        assert_eq!(all_in_price(price(620_000), 70_000), 620_000 + 16_492);
    }

    #[test]
    fn trades_when_fees_leave_enough_edge() {
        // 0.45 + 0.50 + 0.00495 + 0.005 = 0.95995: edge 0.04005.
        let yes = leg(450_000, 100, 20_000);
        let no = leg(500_000, 100, 20_000);
        let opp = find_opportunity(&cfg(10_000), &yes, &no).expect("opportunity");
        assert_eq!(opp.cost_per_share, 959_950);
        assert_eq!(opp.edge_per_share, 40_050);
        assert_eq!(
            (opp.yes_price, opp.no_price),
            (price(450_000), price(500_000))
        );
        assert_eq!(opp.size, shares(50));
        // Exactly the minimum edge still trades; a micro-dollar more does not.
        assert!(find_opportunity(&cfg(40_050), &yes, &no).is_some());
        assert!(find_opportunity(&cfg(40_051), &yes, &no).is_none());
    }

    #[test]
    fn fees_can_erase_the_edge() {
        // 0.33 + 0.62 = 0.95 before fees; fees 0.015477 + 0.016492 leave 0.018031.
        let yes = leg(330_000, 100, 70_000);
        let no = leg(620_000, 100, 70_000);
        let opp = find_opportunity(&cfg(10_000), &yes, &no).expect("opportunity");
        assert_eq!(opp.cost_per_share, 981_969);
        assert!(find_opportunity(&cfg(20_000), &yes, &no).is_none());
        // Without fees the same asks clear 0.02 easily.
        assert!(
            find_opportunity(&cfg(20_000), &leg(330_000, 100, 0), &leg(620_000, 100, 0)).is_some()
        );
    }

    #[test]
    fn nothing_at_or_above_one_dollar() {
        let c = cfg(0);
        assert!(find_opportunity(&c, &leg(500_000, 100, 0), &leg(510_000, 100, 0)).is_none());
        let at_one = find_opportunity(&c, &leg(500_000, 100, 0), &leg(500_000, 100, 0));
        assert_eq!(at_one.map(|o| o.edge_per_share), Some(0));
        assert!(
            find_opportunity(&cfg(10_000), &leg(500_000, 100, 0), &leg(500_000, 100, 0)).is_none()
        );
    }

    #[test]
    fn size_is_the_least_of_depth_limits_and_room() {
        let c = cfg(10_000);
        let opp = find_opportunity(&c, &leg(450_000, 30, 0), &leg(500_000, 80, 0));
        assert_eq!(opp.map(|o| o.size), Some(shares(30)));
        let mut yes = leg(450_000, 100, 0);
        yes.held = shares(480);
        let opp = find_opportunity(&c, &yes, &leg(500_000, 100, 0));
        assert_eq!(opp.map(|o| o.size), Some(shares(20)));
        let mut no = leg(500_000, 100, 0);
        no.held = shares(500);
        assert!(find_opportunity(&c, &leg(450_000, 100, 0), &no).is_none());
        // Below either instrument's minimum order size: skip.
        assert!(find_opportunity(&c, &leg(450_000, 4, 0), &leg(500_000, 100, 0)).is_none());
        let mut no = leg(500_000, 100, 0);
        no.min_size = shares(60);
        assert!(find_opportunity(&c, &leg(450_000, 100, 0), &no).is_none());
    }

    #[test]
    fn needs_valid_asks_on_both_sides() {
        let c = cfg(10_000);
        let mut empty = leg(450_000, 100, 0);
        empty.ask = None;
        assert!(find_opportunity(&c, &empty, &leg(500_000, 100, 0)).is_none());
        // Off-tick and out-of-range asks are not order prices.
        assert!(find_opportunity(&c, &leg(455_000, 100, 0), &leg(500_000, 100, 0)).is_none());
        assert!(find_opportunity(&c, &leg(0, 100, 0), &leg(500_000, 100, 0)).is_none());
        assert!(find_opportunity(&c, &leg(1_200_000, 100, 0), &leg(0, 100, 0)).is_none());
    }

    #[test]
    fn completion_budget_hand_computed() {
        // 10 YES at 0.45 with 0.00495 fee each: paid 4.5495, 0.45495 a share.
        let paid = i128::from(notional_ceil(price(450_000), shares(10))) + 49_500;
        let budget = completion_budget(paid, shares(10));
        assert_eq!(budget, 545_050);
        // NO at 0.54 costs 0.544968 all-in: still pays back; 0.55 costs 0.55495: not.
        assert!(all_in_price(price(540_000), 20_000) <= budget);
        assert!(all_in_price(price(550_000), 20_000) > budget);
        // The average rounds up: 3 micro-shares for 1 micro-dollar is 333_333.3…
        assert_eq!(
            completion_budget(1, Size::from_micros(3)),
            1_000_000 - 333_334
        );
        assert_eq!(completion_budget(-5, shares(1)), 1_000_000);
        assert_eq!(completion_budget(2_000_000, shares(1)), 0);
        assert_eq!(completion_budget(1, Size::ZERO), 0);
    }

    #[test]
    fn notional_rounds_up() {
        assert_eq!(notional_ceil(price(500_000), Size::from_micros(3)), 2);
        assert_eq!(notional_ceil(price(450_000), shares(10)), 4_500_000);
    }
}
