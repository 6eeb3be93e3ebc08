//! Order salts: random below 2^53 (the CLOB reads the JSON number as a double) or chosen by the caller.

use std::fmt;

/// Largest salt a JSON double carries exactly.
pub const MAX_SALT: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum SaltError {
    #[error("salt {0} exceeds 2^53-1, the largest integer the CLOB parses exactly")]
    TooLarge(u64),
    #[error("the operating system's random source failed: {0}")]
    Random(getrandom::Error),
}

/// A salt known to fit the CLOB's number parsing. Journals record it before the
/// order is sent, so a re-sent order hashes identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Salt(u64);

impl Salt {
    /// A chosen salt.
    pub const fn new(value: u64) -> Result<Salt, SaltError> {
        if value > MAX_SALT {
            Err(SaltError::TooLarge(value))
        } else {
            Ok(Salt(value))
        }
    }

    /// A fresh uniformly random salt in `0..=MAX_SALT`.
    pub fn random() -> Result<Salt, SaltError> {
        let bits = getrandom::u64().map_err(SaltError::Random)?;
        Ok(Salt(bits & MAX_SALT))
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_salts_stay_below_2_pow_53_and_differ() {
        let a = Salt::random().unwrap();
        let b = Salt::random().unwrap();
        assert!(a.get() <= MAX_SALT && b.get() <= MAX_SALT);
        // Equal 53-bit draws have probability 2^-53.
        assert_ne!(a, b);
    }

    #[test]
    fn chosen_salts_are_checked() {
        assert_eq!(Salt::new(MAX_SALT).unwrap().get(), MAX_SALT);
        let err = Salt::new(MAX_SALT + 1).unwrap_err();
        assert!(err.to_string().contains("9007199254740992"), "{err}");
    }
}
