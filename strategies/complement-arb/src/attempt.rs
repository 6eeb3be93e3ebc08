//! One arbitrage attempt on one market: its leg and repair orders, what each leg
//! bought and sold according to order events, and its snapshot encoding.

use pqap_strategy_sdk::state::{StateReader, StateWriter};
use pqap_strategy_sdk::types::{Fill, Side};
use pqap_strategy_sdk::{Price, Size};

use crate::edge::notional_ceil;

/// Which outcome of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Yes,
    No,
}

impl Outcome {
    pub fn other(self) -> Outcome {
        match self {
            Outcome::Yes => Outcome::No,
            Outcome::No => Outcome::Yes,
        }
    }
}

/// One leg: the order that opened it and what all our orders on it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    pub instrument: u32,
    pub order: u64,
    pub accepted: bool,
    /// The opening order is final (filled, cancelled or rejected).
    pub done: bool,
    pub bought: Size,
    /// Notional of the buys in micro-dollars, each fill rounded up.
    pub cost: u64,
    /// Fees on the buys in micro-dollars (negative for rebates).
    pub fees: i64,
    pub sold: Size,
}

impl Leg {
    pub fn new(instrument: u32, order: u64) -> Leg {
        Leg {
            instrument,
            order,
            accepted: false,
            done: false,
            bought: Size::ZERO,
            cost: 0,
            fees: 0,
            sold: Size::ZERO,
        }
    }

    /// Shares of this leg the attempt still holds.
    pub fn net(&self) -> Size {
        self.bought.saturating_sub(self.sold)
    }

    /// Everything spent on this leg's buys, fees included.
    pub fn paid(&self) -> i128 {
        i128::from(self.cost) + i128::from(self.fees)
    }

    fn write(&self, w: &mut StateWriter) {
        w.u32(self.instrument)
            .u64(self.order)
            .bool(self.accepted)
            .bool(self.done)
            .u64(self.bought.micros())
            .u64(self.cost)
            .i64(self.fees)
            .u64(self.sold.micros());
    }

    fn read(r: &mut StateReader) -> Result<Leg, String> {
        Ok(Leg {
            instrument: r.u32()?,
            order: r.u64()?,
            accepted: r.bool()?,
            done: r.bool()?,
            bought: Size::from_micros(r.u64()?),
            cost: r.u64()?,
            fees: r.i64()?,
            sold: Size::from_micros(r.u64()?),
        })
    }
}

/// Both legs of an attempt plus the repair order fixing an imbalance, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub yes: Leg,
    pub no: Leg,
    /// The working repair order (`complete_leg` or `unwind_leg`).
    pub repair: Option<u64>,
    pub repairs_sent: u8,
    /// Host time the last order of the attempt was sent, for the event timeout.
    pub last_order_at: u64,
}

impl Attempt {
    pub fn new(yes: Leg, no: Leg, now: u64) -> Attempt {
        Attempt {
            yes,
            no,
            repair: None,
            repairs_sent: 0,
            last_order_at: now,
        }
    }

    pub fn leg(&self, outcome: Outcome) -> &Leg {
        match outcome {
            Outcome::Yes => &self.yes,
            Outcome::No => &self.no,
        }
    }

    pub fn owns(&self, order: u64) -> bool {
        self.yes.order == order || self.no.order == order || self.repair == Some(order)
    }

    pub fn on_accepted(&mut self, order: u64) {
        for leg in [&mut self.yes, &mut self.no] {
            if leg.order == order {
                leg.accepted = true;
            }
        }
    }

    /// The order will not trade any more: a cancel, a reject or a last fill.
    pub fn on_final(&mut self, order: u64) {
        for leg in [&mut self.yes, &mut self.no] {
            if leg.order == order {
                leg.done = true;
            }
        }
        if self.repair == Some(order) {
            self.repair = None;
        }
    }

    /// Books a fill of any of the attempt's orders on the leg it traded.
    pub fn on_fill(&mut self, fill: &Fill) {
        let leg = if fill.instrument == self.yes.instrument {
            &mut self.yes
        } else if fill.instrument == self.no.instrument {
            &mut self.no
        } else {
            return;
        };
        let size = Size::from_micros(fill.size);
        match fill.side {
            Side::Buy => {
                leg.bought = leg.bought.checked_add(size).unwrap_or(leg.bought);
                // A price above $1 is a host bug; counting it as $1 keeps the
                // leg's cost an upper bound.
                let price = Price::new(fill.price).unwrap_or(Price::ONE);
                leg.cost = leg.cost.saturating_add(notional_ceil(price, size));
                leg.fees = leg.fees.saturating_add(fill.fee);
            }
            Side::Sell => leg.sold = leg.sold.checked_add(size).unwrap_or(leg.sold),
        }
        if fill.remaining == 0 {
            self.on_final(fill.order);
        }
    }

    /// Every order of the attempt is final, so leg sizes will not change.
    pub fn settled(&self) -> bool {
        self.yes.done && self.no.done && self.repair.is_none()
    }

    /// The orders still awaiting a final event.
    pub fn unsettled_orders(&self) -> Vec<u64> {
        let legs = [&self.yes, &self.no];
        let open_legs = legs.iter().filter(|l| !l.done).map(|l| l.order);
        open_legs.chain(self.repair).collect()
    }

    /// Treats every order as final (their events were lost, e.g. across a restart).
    pub fn force_settle(&mut self) {
        self.yes.done = true;
        self.no.done = true;
        self.repair = None;
    }

    /// The leg holding more shares and by how much, or `None` when balanced.
    pub fn imbalance(&self) -> Option<(Outcome, Size)> {
        let (yes, no) = (self.yes.net(), self.no.net());
        if yes > no {
            Some((Outcome::Yes, yes.saturating_sub(no)))
        } else if no > yes {
            Some((Outcome::No, no.saturating_sub(yes)))
        } else {
            None
        }
    }

    pub fn write(&self, w: &mut StateWriter) {
        self.yes.write(w);
        self.no.write(w);
        w.bool(self.repair.is_some())
            .u64(self.repair.unwrap_or(0))
            .u8(self.repairs_sent)
            .u64(self.last_order_at);
    }

    pub fn read(r: &mut StateReader) -> Result<Attempt, String> {
        let yes = Leg::read(r)?;
        let no = Leg::read(r)?;
        let has_repair = r.bool()?;
        let repair = r.u64()?;
        Ok(Attempt {
            yes,
            no,
            repair: has_repair.then_some(repair),
            repairs_sent: r.u8()?,
            last_order_at: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pqap_strategy_sdk::types::Liquidity;

    fn fill(order: u64, instrument: u32, side: Side, size: u64, remaining: u64) -> Fill {
        Fill {
            order,
            instrument,
            side,
            price: 400_000,
            size,
            fee: 7,
            liquidity: Liquidity::Taker,
            remaining,
        }
    }

    #[test]
    fn fills_and_finals_drive_the_legs() {
        let mut a = Attempt::new(Leg::new(0, 11), Leg::new(1, 12), 5);
        a.on_accepted(11);
        assert!(a.yes.accepted && !a.no.accepted);
        a.on_fill(&fill(11, 0, Side::Buy, 3_000_000, 2_000_000));
        assert!(!a.yes.done, "still 2 shares open");
        a.on_fill(&fill(11, 0, Side::Buy, 2_000_000, 0));
        assert!(a.yes.done);
        assert_eq!(a.yes.bought, Size::from_micros(5_000_000));
        assert_eq!((a.yes.cost, a.yes.fees), (2_000_000, 14));
        assert!(!a.settled());
        a.on_final(12);
        assert!(a.settled());
        assert_eq!(
            a.imbalance(),
            Some((Outcome::Yes, Size::from_micros(5_000_000)))
        );
        a.repair = Some(13);
        a.on_fill(&fill(13, 0, Side::Sell, 5_000_000, 0));
        assert!(a.settled());
        assert_eq!(a.imbalance(), None);
        // Fills of a foreign instrument are not ours to book.
        a.on_fill(&fill(11, 9, Side::Buy, 1, 0));
        assert_eq!(a.imbalance(), None);
    }

    #[test]
    fn encodes_and_decodes() {
        let mut a = Attempt::new(Leg::new(0, 11), Leg::new(1, 12), 5);
        a.on_fill(&fill(11, 0, Side::Buy, 3_000_000, 0));
        a.repair = Some(99);
        a.repairs_sent = 2;
        let mut w = StateWriter::new(1);
        a.write(&mut w);
        let bytes = w.finish();
        let mut r = StateReader::new(&bytes, 1).expect("version");
        assert_eq!(Attempt::read(&mut r), Ok(a));
        r.finish().expect("no trailing bytes");
    }
}
