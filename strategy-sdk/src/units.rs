//! Exact price and size newtypes over the boundary's integer micro-units.

use std::fmt;
use std::str::FromStr;

/// Micro-units per whole unit (dollar or share).
const MICROS: u64 = 1_000_000;

/// Why a price or size could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitError {
    /// The text is not a plain non-negative decimal number.
    Syntax(String),
    /// The number has more than six decimal places.
    TooPrecise(String),
    /// The value is outside the type's range.
    OutOfRange(String),
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitError::Syntax(s) => write!(f, "`{s}` is not a non-negative decimal number"),
            UnitError::TooPrecise(s) => write!(f, "`{s}` has more than 6 decimal places"),
            UnitError::OutOfRange(s) => write!(f, "`{s}` is out of range"),
        }
    }
}

impl std::error::Error for UnitError {}

/// Parses a non-negative decimal with at most six decimals into micro-units.
fn parse_micros(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(UnitError::Syntax(text.to_string()));
    }
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > 6 {
        return Err(UnitError::TooPrecise(text.to_string()));
    }
    let whole: u64 = if int_part.is_empty() {
        0
    } else {
        int_part
            .parse()
            .map_err(|_| UnitError::OutOfRange(text.to_string()))?
    };
    let mut frac: u64 = 0;
    for (i, b) in frac_trimmed.bytes().enumerate() {
        frac += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
    }
    whole
        .checked_mul(MICROS)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| UnitError::OutOfRange(text.to_string()))
}

/// Writes micro-units as a decimal with trailing zeros trimmed (`520000` → `0.52`).
fn fmt_micros(micros: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let whole = micros / MICROS;
    let frac = micros % MICROS;
    if frac == 0 {
        return write!(f, "{whole}");
    }
    let digits = format!("{frac:06}");
    write!(f, "{whole}.{}", digits.trim_end_matches('0'))
}

/// A price in micro-dollars per share, always within `0..=1_000_000` ($0 to $1).
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(u32);

impl Price {
    pub const ZERO: Price = Price(0);
    /// $1: what a winning share pays.
    pub const ONE: Price = Price(1_000_000);

    /// A price from micro-dollars, or `None` above $1.
    pub const fn new(micros: u32) -> Option<Price> {
        if micros <= 1_000_000 {
            Some(Price(micros))
        } else {
            None
        }
    }

    /// The price in micro-dollars.
    pub const fn micros(self) -> u32 {
        self.0
    }

    /// `self + other`, or `None` above $1.
    pub fn checked_add(self, other: Price) -> Option<Price> {
        self.0.checked_add(other.0).and_then(Price::new)
    }

    /// `self - other`, or `None` below $0.
    pub fn checked_sub(self, other: Price) -> Option<Price> {
        self.0.checked_sub(other.0).map(Price)
    }

    /// `self + n × tick`, or `None` outside $0..=$1.
    pub fn checked_add_ticks(self, tick: Price, n: i64) -> Option<Price> {
        let moved = i64::from(self.0).checked_add(i64::from(tick.0).checked_mul(n)?)?;
        u32::try_from(moved).ok().and_then(Price::new)
    }

    /// $1 − self: the price of the other outcome of a binary market.
    pub const fn complement(self) -> Price {
        Price(1_000_000 - self.0)
    }

    /// Largest multiple of `tick` not above `self` (`self` if `tick` is zero).
    pub const fn floor_to_tick(self, tick: Price) -> Price {
        if tick.0 == 0 {
            return self;
        }
        Price(self.0 - self.0 % tick.0)
    }

    /// Smallest multiple of `tick` not below `self`, or `None` above $1.
    pub fn ceil_to_tick(self, tick: Price) -> Option<Price> {
        if tick.0 == 0 {
            return Some(self);
        }
        let rem = self.0 % tick.0;
        if rem == 0 {
            Some(self)
        } else {
            Price::new(self.0 - rem + tick.0)
        }
    }

    /// Whether the price sits on the tick grid.
    pub const fn is_on_tick(self, tick: Price) -> bool {
        tick.0 == 0 || self.0.is_multiple_of(tick.0)
    }

    /// Whether an order may use this price: strictly between $0 and $1 on the tick grid.
    pub fn is_valid_order_price(self, tick: Price) -> bool {
        self.0 > 0 && self.0 < 1_000_000 && self.is_on_tick(tick) && self.0 >= tick.0
    }
}

impl FromStr for Price {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Price, UnitError> {
        let micros = parse_micros(s)?;
        u32::try_from(micros)
            .ok()
            .and_then(Price::new)
            .ok_or_else(|| UnitError::OutOfRange(s.to_string()))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_micros(u64::from(self.0), f)
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price(")?;
        fmt_micros(u64::from(self.0), f)?;
        write!(f, ")")
    }
}

/// A size in micro-shares.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(u64);

impl Size {
    pub const ZERO: Size = Size(0);
    /// One whole share.
    pub const ONE_SHARE: Size = Size(MICROS);

    /// A size from micro-shares.
    pub const fn from_micros(micros: u64) -> Size {
        Size(micros)
    }

    /// A size of whole shares, or `None` on overflow.
    pub const fn from_shares(shares: u64) -> Option<Size> {
        match shares.checked_mul(MICROS) {
            Some(m) => Some(Size(m)),
            None => None,
        }
    }

    /// The size in micro-shares.
    pub const fn micros(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Size) -> Option<Size> {
        self.0.checked_add(other.0).map(Size)
    }

    pub fn checked_sub(self, other: Size) -> Option<Size> {
        self.0.checked_sub(other.0).map(Size)
    }

    /// `self - other`, stopping at zero.
    pub const fn saturating_sub(self, other: Size) -> Size {
        Size(self.0.saturating_sub(other.0))
    }

    /// Cost of this many shares at `price`, in micro-dollars, rounded down.
    pub fn notional_micros(self, price: Price) -> u64 {
        // price ≤ 1e6 so the product fits in u128 and the quotient in u64.
        (u128::from(self.0) * u128::from(price.0) / u128::from(MICROS)) as u64
    }
}

impl FromStr for Size {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Size, UnitError> {
        parse_micros(s).map(Size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_micros(self.0, f)
    }
}

impl fmt::Debug for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Size(")?;
        fmt_micros(self.0, f)?;
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_prices() {
        assert_eq!("0.52".parse::<Price>().unwrap().micros(), 520_000);
        assert_eq!(".5".parse::<Price>().unwrap().micros(), 500_000);
        assert_eq!("1".parse::<Price>().unwrap(), Price::ONE);
        assert_eq!("0.000001".parse::<Price>().unwrap().micros(), 1);
        assert_eq!("0.5200000".parse::<Price>().unwrap().micros(), 520_000);
        assert_eq!(Price::new(520_000).unwrap().to_string(), "0.52");
        assert_eq!(Price::ONE.to_string(), "1");
        assert!(matches!(
            "1.01".parse::<Price>(),
            Err(UnitError::OutOfRange(_))
        ));
        assert!(matches!(
            "0.0000001".parse::<Price>(),
            Err(UnitError::TooPrecise(_))
        ));
        assert!(matches!("-0.1".parse::<Price>(), Err(UnitError::Syntax(_))));
        assert!(matches!("".parse::<Price>(), Err(UnitError::Syntax(_))));
        assert!(matches!(".".parse::<Price>(), Err(UnitError::Syntax(_))));
        assert!(matches!("1e3".parse::<Price>(), Err(UnitError::Syntax(_))));
    }

    #[test]
    fn tick_rounding() {
        let tick = Price::new(10_000).unwrap();
        let p = Price::new(523_456).unwrap();
        assert_eq!(p.floor_to_tick(tick).micros(), 520_000);
        assert_eq!(p.ceil_to_tick(tick).unwrap().micros(), 530_000);
        assert_eq!(
            Price::new(999_999).unwrap().ceil_to_tick(tick),
            Some(Price::ONE)
        );
        assert!(!Price::ZERO.is_valid_order_price(tick));
        assert!(!Price::ONE.is_valid_order_price(tick));
        assert!(Price::new(10_000).unwrap().is_valid_order_price(tick));
        assert!(!Price::new(10_001).unwrap().is_valid_order_price(tick));
    }

    #[test]
    fn notional_rounds_down() {
        let size = Size::from_micros(3);
        assert_eq!(size.notional_micros(Price::new(500_000).unwrap()), 1);
        let size = Size::from_shares(10).unwrap();
        assert_eq!(
            size.notional_micros(Price::new(520_000).unwrap()),
            5_200_000
        );
    }

    proptest! {
        #[test]
        fn price_display_roundtrips(micros in 0u32..=1_000_000) {
            let p = Price::new(micros).unwrap();
            prop_assert_eq!(p.to_string().parse::<Price>().unwrap(), p);
        }

        #[test]
        fn size_display_roundtrips(micros in any::<u64>()) {
            let s = Size::from_micros(micros);
            prop_assert_eq!(s.to_string().parse::<Size>().unwrap(), s);
        }

        #[test]
        fn complement_is_involution(micros in 0u32..=1_000_000) {
            let p = Price::new(micros).unwrap();
            prop_assert_eq!(p.complement().complement(), p);
            prop_assert_eq!(p.micros() + p.complement().micros(), 1_000_000);
        }

        #[test]
        fn tick_rounding_brackets(micros in 0u32..=1_000_000, tick in 1u32..=100_000) {
            let p = Price::new(micros).unwrap();
            let t = Price::new(tick).unwrap();
            let lo = p.floor_to_tick(t);
            prop_assert!(lo <= p && lo.is_on_tick(t) && p.micros() - lo.micros() < tick);
            if let Some(hi) = p.ceil_to_tick(t) {
                prop_assert!(hi >= p && hi.is_on_tick(t) && hi.micros() - p.micros() < tick);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Price>();
            let _ = s.parse::<Size>();
        }
    }
}
