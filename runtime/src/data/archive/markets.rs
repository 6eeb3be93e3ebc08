//! Market metadata kept beside the recorded data: what the venue listed for each
//! market when it was recorded (the feed itself does not carry fees or sizes).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Archive, ArchiveError, io_err, sql_err};
use crate::execution::fees::{FeeSchedule, millionths};
use crate::model::units_serde::{price, size};
use crate::model::{ConditionId, Price, Size, TokenId};
use crate::venue::polymarket::http::markets::DiscoveredMarket;

/// One market as listed by the venue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketMeta {
    pub condition: ConditionId,
    pub question: String,
    pub slug: String,
    /// (token, outcome), YES first.
    pub tokens: [(TokenId, String); 2],
    #[serde(with = "price")]
    pub tick: Price,
    #[serde(with = "size")]
    pub min_size: Size,
    /// The fee schedule as listed: rate and rebate share as decimals, plus the
    /// curve's exponent and whether only takers pay (archives recorded before
    /// those two were kept hold the usual 1 and `true`).
    pub taker_fee_rate: Decimal,
    pub maker_rebate_share: Decimal,
    #[serde(default = "usual_exponent")]
    pub fee_exponent: u32,
    #[serde(default = "usual_taker_only")]
    pub fee_taker_only: bool,
    /// Traded on the neg-risk exchange.
    #[serde(default)]
    pub neg_risk: bool,
}

fn usual_exponent() -> u32 {
    1
}

fn usual_taker_only() -> bool {
    true
}

impl MarketMeta {
    /// The fee schedule in the units fees are computed in; a rate or share
    /// with more than six decimals (never listed by the venue) rounds to the
    /// nearest millionth.
    pub fn fees(&self) -> FeeSchedule {
        let m = |d: Decimal| {
            millionths(d).unwrap_or_else(|| {
                rust_decimal::prelude::ToPrimitive::to_u32(
                    &(d.clamp(Decimal::ZERO, Decimal::ONE) * Decimal::from(1_000_000)).round(),
                )
                .unwrap_or(0)
            })
        };
        FeeSchedule {
            rate_millionths: m(self.taker_fee_rate),
            exponent: self.fee_exponent,
            taker_only: self.fee_taker_only,
            rebate_millionths: m(self.maker_rebate_share),
        }
    }
}

impl From<&DiscoveredMarket> for MarketMeta {
    fn from(m: &DiscoveredMarket) -> MarketMeta {
        MarketMeta {
            condition: m.condition.clone(),
            question: m.question.clone(),
            slug: m.slug.clone(),
            tokens: m.tokens.clone(),
            tick: m.tick,
            min_size: m.min_size,
            taker_fee_rate: Decimal::new(i64::from(m.fees.rate_millionths), 6).normalize(),
            maker_rebate_share: Decimal::new(i64::from(m.fees.rebate_millionths), 6).normalize(),
            fee_exponent: m.fees.exponent,
            fee_taker_only: m.fees.taker_only,
            neg_risk: m.neg_risk,
        }
    }
}

impl Archive {
    /// Stores (or replaces) the metadata of `markets`, in listing order.
    pub async fn save_markets(
        &self,
        markets: &[MarketMeta],
        now_ms: u64,
    ) -> Result<(), ArchiveError> {
        let path = self.dir().join("index.sqlite");
        let mut tx = self.index().begin().await.map_err(sql_err(&path))?;
        for (ord, m) in markets.iter().enumerate() {
            let body = serde_json::to_string(m).map_err(|e| io_err(&path, e))?;
            sqlx::query(
                "INSERT INTO markets (condition, ord, body, saved_ms) VALUES (?, ?, ?, ?) \
                 ON CONFLICT(condition) DO UPDATE SET ord = excluded.ord, body = excluded.body, \
                 saved_ms = excluded.saved_ms",
            )
            .bind(m.condition.as_str())
            .bind(i64::try_from(ord).unwrap_or(i64::MAX))
            .bind(body)
            .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(sql_err(&path))?;
        }
        tx.commit().await.map_err(sql_err(&path))
    }

    /// Every stored market, in the order of the latest listing.
    pub async fn markets(&self) -> Result<Vec<MarketMeta>, ArchiveError> {
        let path = self.dir().join("index.sqlite");
        let rows = sqlx::query("SELECT condition, body FROM markets ORDER BY ord, condition")
            .fetch_all(self.index())
            .await
            .map_err(sql_err(&path))?;
        rows.iter()
            .map(|r| {
                let condition: String = r.try_get("condition").map_err(sql_err(&path))?;
                let body: String = r.try_get("body").map_err(sql_err(&path))?;
                serde_json::from_str(&body).map_err(|e| {
                    io_err(
                        &path,
                        format!("market {condition}: unreadable metadata: {e}"),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metadata_round_trips_and_updates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path()).await.unwrap();
        let mut m = MarketMeta {
            condition: ConditionId::parse(&format!("0x{}", "ab".repeat(32))).unwrap(),
            question: "Will it?".into(),
            slug: "will-it".into(),
            tokens: [
                (TokenId::parse("2").unwrap(), "Yes".into()),
                (TokenId::parse("1").unwrap(), "No".into()),
            ],
            tick: Price::new(10_000).unwrap(),
            min_size: Size::from_micros(5_000_000),
            taker_fee_rate: Decimal::new(2, 2),
            maker_rebate_share: Decimal::new(2, 1),
            fee_exponent: 2,
            fee_taker_only: false,
            neg_risk: true,
        };
        // Metadata recorded before exponents were kept reads as the usual curve.
        let old = r#"{"condition":"0xabab","question":"q","slug":"s","tokens":[["2","Yes"],["1","No"]],
            "tick":"0.01","min_size":"5","taker_fee_rate":"0.02","maker_rebate_share":"0.2"}"#;
        if let Ok(old) = serde_json::from_str::<MarketMeta>(old) {
            assert_eq!((old.fee_exponent, old.fee_taker_only), (1, true));
            assert_eq!(old.fees().rate_millionths, 20_000);
        }
        assert_eq!(m.fees().exponent, 2);
        archive.save_markets(&[m.clone()], 1).await.unwrap();
        assert_eq!(archive.markets().await.unwrap(), vec![m.clone()]);
        m.tick = Price::new(1_000).unwrap();
        archive.save_markets(&[m.clone()], 2).await.unwrap();
        assert_eq!(archive.markets().await.unwrap(), vec![m]);
    }
}
