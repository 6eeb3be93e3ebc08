//! Serde for exact units: prices and sizes as integer micro-units.

pub mod price {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Price;

    pub fn serialize<S: Serializer>(p: &Price, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(p.micros())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        let m = u32::deserialize(d)?;
        Price::new(m).ok_or_else(|| serde::de::Error::custom(format!("price {m} is above 1000000")))
    }
}

pub mod opt_price {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Price;

    pub fn serialize<S: Serializer>(p: &Option<Price>, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Some(p) => s.serialize_some(&p.micros()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Price>, D::Error> {
        match Option::<u32>::deserialize(d)? {
            None => Ok(None),
            Some(m) => Price::new(m)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("price {m} is above 1000000"))),
        }
    }
}

pub mod size {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Size;

    pub fn serialize<S: Serializer>(v: &Size, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.micros())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        u64::deserialize(d).map(Size::from_micros)
    }
}
