//! Exact conversions from micro-units to dollars and shares (`Decimal`).

use rust_decimal::Decimal;

use super::{Price, Size};

/// Dollars for micro-dollars.
pub fn dollars(micros: i64) -> Decimal {
    Decimal::new(micros, 6)
}

/// A size in shares.
pub fn shares(size: Size) -> Decimal {
    // Sizes above i64::MAX micro-shares (9.2 trillion shares) do not occur.
    Decimal::new(i64::try_from(size.micros()).unwrap_or(i64::MAX), 6)
}

/// A price in dollars per share.
pub fn price_dollars(price: Price) -> Decimal {
    Decimal::new(i64::from(price.micros()), 6)
}

/// Price × size in dollars, exactly.
pub fn notional(price: Price, size: Size) -> Decimal {
    price_dollars(price) * shares(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact() {
        let p = Price::new(514_000).unwrap();
        let s = Size::from_micros(21_574_080_000);
        assert_eq!(notional(p, s).to_string(), "11089.077120000000");
        assert_eq!(dollars(-1_750_000).to_string(), "-1.750000");
    }
}
