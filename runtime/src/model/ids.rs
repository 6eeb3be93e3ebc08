//! Polymarket identifiers, validated once at the edge.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("token id `{0}` is not a decimal uint256")]
    Token(String),
    #[error("condition id `{0}` is not 0x followed by 64 hex digits")]
    Condition(String),
}

/// An outcome token (ERC-1155 position id): a uint256 as decimal text.
/// Ordered and compared as its text; the engine looks tokens up on every
/// event, so equality first asks whether both share one allocation (ids are
/// interned per run), and ordering first compares eight leading bytes at once.
#[derive(Clone)]
pub struct TokenId(Arc<str>);

impl std::hash::Hash for TokenId {
    // As the text, like equality.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl TokenId {
    /// The first eight bytes, big-endian, zero-padded: ordered as the text's
    /// first eight bytes are (digits are never zero bytes).
    #[inline]
    fn head(&self) -> u64 {
        let b = self.0.as_bytes();
        if let Some(first) = b.first_chunk::<8>() {
            return u64::from_be_bytes(*first);
        }
        let mut head = [0u8; 8];
        for (h, c) in head.iter_mut().zip(b) {
            *h = *c;
        }
        u64::from_be_bytes(head)
    }
}

impl PartialEq for TokenId {
    #[inline]
    fn eq(&self, other: &TokenId) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.head() == other.head() && self.0 == other.0)
    }
}

impl Eq for TokenId {}

impl Ord for TokenId {
    #[inline]
    fn cmp(&self, other: &TokenId) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        self.head()
            .cmp(&other.head())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for TokenId {
    #[inline]
    fn partial_cmp(&self, other: &TokenId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl TokenId {
    pub fn parse(text: &str) -> Result<TokenId, IdError> {
        let ok = !text.is_empty()
            && text.len() <= 78
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        if ok {
            Ok(TokenId(Arc::from(text)))
        } else {
            Err(IdError::Token(text.chars().take(100).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Token ids are 77 digits; the ends are enough to tell them apart in logs.
        let s = &*self.0;
        if s.len() > 16 {
            write!(f, "TokenId({}…{})", &s[..6], &s[s.len() - 6..])
        } else {
            write!(f, "TokenId({s})")
        }
    }
}

/// A CTF condition id (Polymarket's "market" in CLOB terms).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConditionId(Arc<str>);

impl ConditionId {
    pub fn parse(text: &str) -> Result<ConditionId, IdError> {
        let ok = text.len() == 66
            && text.starts_with("0x")
            && text[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            Err(IdError::Condition(text.chars().take(100).collect()))
        } else if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Ok(ConditionId(Arc::from(text.to_ascii_lowercase().as_str())))
        } else {
            Ok(ConditionId(Arc::from(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConditionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TokenId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TokenId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for ConditionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ConditionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ConditionId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids() {
        let real = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
        assert_eq!(TokenId::parse(real).unwrap().as_str(), real);
        assert!(TokenId::parse("").is_err());
        assert!(TokenId::parse("0x12").is_err());
        assert!(TokenId::parse("0123").is_err());
        assert!(TokenId::parse(&"9".repeat(79)).is_err());
        assert!(format!("{:?}", TokenId::parse(real).unwrap()).contains('…'));
    }

    proptest::proptest! {
        // Tokens are ordered and compared as their text, shared or not, of
        // any length (the fast paths must never change an order).
        #[test]
        fn token_ids_order_as_their_text(
            a in "[1-9][0-9]{0,77}",
            b in "[1-9][0-9]{0,77}",
            common in 0usize..12,
        ) {
            let b = format!("{}{}", &a[..common.min(a.len())], b);
            let b = &b[..b.len().min(78)];
            let (x, y) = (TokenId::parse(&a).unwrap(), TokenId::parse(b).unwrap());
            proptest::prop_assert_eq!(x.cmp(&y), a.as_str().cmp(b));
            proptest::prop_assert_eq!(x == y, a == b);
            proptest::prop_assert_eq!(y.cmp(&x), b.cmp(a.as_str()));
            let shared = x.clone();
            proptest::prop_assert_eq!(shared.cmp(&x), std::cmp::Ordering::Equal);
            proptest::prop_assert!(shared == x);
            proptest::prop_assert!(TokenId::parse(&a).unwrap() == x);
        }
    }

    #[test]
    fn condition_ids() {
        let c = "0xDD22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";
        assert_eq!(
            ConditionId::parse(c).unwrap().as_str(),
            c.to_ascii_lowercase()
        );
        assert!(ConditionId::parse("0x1234").is_err());
        assert!(ConditionId::parse(&c.replace('D', "g")).is_err());
    }
}
