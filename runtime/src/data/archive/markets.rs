//! Market metadata kept beside the recorded data: what the venue listed for each
//! market when it was recorded (the feed itself does not carry fees or sizes).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Archive, ArchiveError, io_err, sql_err};
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
    pub taker_fee_rate: Decimal,
    pub maker_rebate_share: Decimal,
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
            taker_fee_rate: m.taker_fee_rate,
            maker_rebate_share: m.maker_rebate_share,
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
        };
        archive.save_markets(&[m.clone()], 1).await.unwrap();
        assert_eq!(archive.markets().await.unwrap(), vec![m.clone()]);
        m.tick = Price::new(1_000).unwrap();
        archive.save_markets(&[m.clone()], 2).await.unwrap();
        assert_eq!(archive.markets().await.unwrap(), vec![m]);
    }
}
