//! Where the market maker wants its quotes: a pure function of book, inventory and
//! configuration, so it can be tested exhaustively.

use pqap_strategy_sdk::types::BookTop;
use pqap_strategy_sdk::{Price, Size};

/// Quoting parameters (from the strategy's `init` parameters).
#[derive(Clone, Copy, Debug)]
pub struct QuoteConfig {
    pub half_spread: Price,
    pub quote_size: Size,
    pub max_inventory: Size,
    /// Fair-price shift per share held, in micro-dollars.
    pub skew_per_share: Price,
    pub min_market_spread: Price,
    pub requote_ticks: u32,
}

/// Wanted (price, size) per side; `None` means no quote on that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub bid: Option<(Price, Size)>,
    pub ask: Option<(Price, Size)>,
}

const NONE: Wanted = Wanted {
    bid: None,
    ask: None,
};

/// Computes the wanted quotes.
///
/// `pending_buys`/`pending_sells` are sizes of orders being cancelled that could
/// still fill; they count against inventory limits so a replace never lets the
/// position run past `max_inventory` or sell shares twice.
pub fn wanted_quotes(
    config: &QuoteConfig,
    tick: Price,
    min_size: Size,
    top: BookTop,
    inventory: Size,
    pending_buys: Size,
    pending_sells: Size,
) -> Wanted {
    let (Some(best_bid), Some(best_ask)) = (top.bid, top.ask) else {
        return NONE;
    };
    let (bid, ask) = (i64::from(best_bid.price), i64::from(best_ask.price));
    let tick_i = i64::from(tick.micros());
    if tick_i <= 0 || ask <= bid || ask - bid < i64::from(config.min_market_spread.micros()) {
        return NONE;
    }
    // Fair price = mid − skew × inventory, in micro-dollars; all integer.
    let skew =
        i128::from(config.skew_per_share.micros()) * i128::from(inventory.micros()) / 1_000_000;
    let skew = i64::try_from(skew).unwrap_or(i64::MAX / 4);
    let fair_x2 = (bid + ask).saturating_sub(skew.saturating_mul(2));
    let half = i64::from(config.half_spread.micros());

    // Bid: at or below fair − half spread, on tick, strictly below the best ask.
    let raw_bid = fair_x2.div_euclid(2) - half;
    let bid_px = raw_bid.div_euclid(tick_i) * tick_i;
    let bid_px = bid_px.min(ask - tick_i);
    // Ask: at or above fair + half spread, on tick, strictly above the best bid.
    let raw_ask = (fair_x2 + 1).div_euclid(2) + half;
    let ask_px = (raw_ask + tick_i - 1).div_euclid(tick_i) * tick_i;
    let ask_px = ask_px.max(bid + tick_i);

    let on_grid = |p: i64| -> Option<Price> {
        if p >= tick_i && p <= 1_000_000 - tick_i {
            u32::try_from(p).ok().and_then(Price::new)
        } else {
            None
        }
    };

    let room = config
        .max_inventory
        .saturating_sub(inventory)
        .saturating_sub(pending_buys);
    let bid_size = config.quote_size.min(room);
    let sellable = inventory.saturating_sub(pending_sells);
    let ask_size = config.quote_size.min(sellable);
    let big_enough = |s: Size| !s.is_zero() && s >= min_size;

    Wanted {
        bid: on_grid(bid_px)
            .filter(|_| big_enough(bid_size))
            .map(|p| (p, bid_size)),
        ask: on_grid(ask_px)
            .filter(|_| big_enough(ask_size))
            .map(|p| (p, ask_size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pqap_strategy_sdk::types::Level;

    fn cfg() -> QuoteConfig {
        QuoteConfig {
            half_spread: Price::new(20_000).unwrap(),
            quote_size: Size::from_shares(10).unwrap(),
            max_inventory: Size::from_shares(100).unwrap(),
            skew_per_share: Price::new(500).unwrap(),
            min_market_spread: Price::new(20_000).unwrap(),
            requote_ticks: 1,
        }
    }

    fn top(bid: u32, ask: u32) -> BookTop {
        BookTop {
            bid: Some(Level {
                price: bid,
                size: 1_000_000_000,
            }),
            ask: Some(Level {
                price: ask,
                size: 1_000_000_000,
            }),
        }
    }

    const TICK: Price = match Price::new(10_000) {
        Some(p) => p,
        None => Price::ZERO,
    };

    fn shares(n: u64) -> Size {
        Size::from_shares(n).unwrap()
    }

    #[test]
    fn flat_inventory_bids_only() {
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(450_000, 550_000),
            Size::ZERO,
            Size::ZERO,
            Size::ZERO,
        );
        assert_eq!(w.bid, Some((Price::new(480_000).unwrap(), shares(10))));
        assert_eq!(w.ask, None, "nothing to sell");
    }

    #[test]
    fn inventory_skews_both_quotes_down() {
        // 10 shares × 0.0005 = 0.005 skew: fair 0.495 → bid 0.47, ask 0.52.
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(450_000, 550_000),
            shares(10),
            Size::ZERO,
            Size::ZERO,
        );
        assert_eq!(w.bid, Some((Price::new(470_000).unwrap(), shares(10))));
        assert_eq!(w.ask, Some((Price::new(520_000).unwrap(), shares(10))));
    }

    #[test]
    fn inventory_limits_sizes() {
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(450_000, 550_000),
            shares(93),
            Size::ZERO,
            Size::ZERO,
        );
        assert_eq!(w.bid.map(|b| b.1), Some(shares(7)));
        // Pending buys count against the limit: 93 + 3 leaves 4 < min size 5.
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(450_000, 550_000),
            shares(93),
            shares(3),
            Size::ZERO,
        );
        assert_eq!(w.bid, None);
        // Shares being sold by a cancelling ask are not offered twice.
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(450_000, 550_000),
            shares(12),
            Size::ZERO,
            shares(8),
        );
        assert_eq!(w.ask, None, "4 sellable < min size");
    }

    #[test]
    fn never_crosses_and_pulls_on_tight_or_bad_books() {
        let mut c = cfg();
        c.half_spread = Price::ZERO;
        let w = wanted_quotes(
            &c,
            TICK,
            shares(5),
            top(480_000, 500_000),
            shares(10),
            Size::ZERO,
            Size::ZERO,
        );
        let (bid, _) = w.bid.unwrap();
        let (ask, _) = w.ask.unwrap();
        assert!(bid.micros() < 500_000 && ask.micros() > 480_000);
        let tight = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(490_000, 500_000),
            Size::ZERO,
            Size::ZERO,
            Size::ZERO,
        );
        assert_eq!(tight, NONE);
        let crossed = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(520_000, 500_000),
            Size::ZERO,
            Size::ZERO,
            Size::ZERO,
        );
        assert_eq!(crossed, NONE);
        let one_sided = BookTop {
            bid: None,
            ask: top(0, 500_000).ask,
        };
        assert_eq!(
            wanted_quotes(
                &cfg(),
                TICK,
                shares(5),
                one_sided,
                Size::ZERO,
                Size::ZERO,
                Size::ZERO
            ),
            NONE
        );
    }

    #[test]
    fn quotes_stay_inside_the_price_range_near_the_edges() {
        let w = wanted_quotes(
            &cfg(),
            TICK,
            shares(5),
            top(10_000, 40_000),
            shares(10),
            Size::ZERO,
            Size::ZERO,
        );
        // fair 0.02 → raw bid ≤ 0 → no bid; ask at least 0.04 above best bid.
        assert_eq!(w.bid, None);
        assert!(w.ask.unwrap().0.micros() >= 20_000);
    }
}
