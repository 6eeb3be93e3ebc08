//! A fill's history read back from the journal itself, for fills older than
//! what the projections keep: the fill, the submission of its order and the
//! strategy's command, found through the entry-kind index.

use sqlx::Row;

use super::{Journal, StoreError, Stored};
use crate::model::{OrderEvent, OrderKey};
use crate::store::{CommandAction, Entry, Projections};

/// Entries read per step of the backwards search.
const STEP: i64 = 1_000;

impl Journal {
    /// Projections of just fill `seq`, its order and its command (as
    /// [`crate::report::views::explain`] reads them); `None` when entry
    /// `seq` is not a fill.
    pub async fn fill_history(&self, seq: i64) -> Result<Option<Projections>, StoreError> {
        let Some(fill) = self.read_range(seq, seq).await?.into_iter().next() else {
            return Ok(None);
        };
        let Entry::Order {
            event: OrderEvent::Filled(f),
        } = &fill.entry
        else {
            return Ok(None);
        };
        let key = f.key;
        let submitted = self
            .latest_before(
                "order_submitted",
                seq,
                |e| matches!(e, Entry::OrderSubmitted { order } if order.key == key),
            )
            .await?;
        let command = match &submitted {
            Some(s) => {
                self.latest_before("command", s.seq, |e| is_place_of(e, key))
                    .await?
            }
            None => None,
        };
        let mut p = Projections::default();
        for e in [command, submitted, Some(fill)].into_iter().flatten() {
            p.apply(&e);
        }
        Ok(Some(p))
    }

    /// The newest entry of `kind` before `before` that `wanted` accepts.
    async fn latest_before(
        &self,
        kind: &str,
        before: i64,
        wanted: impl Fn(&Entry) -> bool,
    ) -> Result<Option<Stored>, StoreError> {
        let mut below = before;
        loop {
            let rows = sqlx::query(
                "SELECT seq, ts_ns, strategy, body, hash FROM journal WHERE kind = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            )
            .bind(kind)
            .bind(below)
            .bind(STEP)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(None);
            };
            below = last.try_get("seq")?;
            for r in &rows {
                let seq: i64 = r.try_get("seq")?;
                let body: String = r.try_get("body")?;
                let Ok(entry) = serde_json::from_str::<Entry>(&body) else {
                    continue;
                };
                if wanted(&entry) {
                    return Ok(Some(Stored {
                        seq,
                        ts_ns: r.try_get("ts_ns")?,
                        strategy: r.try_get("strategy")?,
                        entry,
                        hash: r.try_get("hash")?,
                    }));
                }
            }
        }
    }
}

fn is_place_of(e: &Entry, key: OrderKey) -> bool {
    matches!(e, Entry::Command { command: CommandAction::Place { order }, .. } if order.key == key)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::model::{
        Fill, FillCause, Liquidity, Order, Price, Side, Size, TimeInForce, TokenId,
    };
    use crate::report::views;
    use crate::store::projection::KEPT_FILLS;

    fn order(id: u64) -> Order {
        Order {
            key: OrderKey {
                strategy: 1,
                client_id: id,
            },
            token: TokenId::parse("7").unwrap(),
            side: Side::Buy,
            price: Price::new(300_000).unwrap(),
            size: Size::from_micros(1_000_000),
            tif: TimeInForce::Gtc,
            post_only: false,
            created_ns: 0,
            venue_ref: None,
        }
    }

    fn append_filled(j: &mut Journal, id: u64, ts: u64, reason: &str) -> i64 {
        let o = order(id);
        let place = Entry::Command {
            strategy: 1,
            reason: reason.into(),
            cause: None,
            command: CommandAction::Place { order: o.clone() },
        };
        j.append(ts, Some(1), &place).unwrap();
        j.append(ts, Some(1), &Entry::OrderSubmitted { order: o.clone() })
            .unwrap();
        let fill = Fill {
            key: o.key,
            token: o.token.clone(),
            side: o.side,
            price: o.price,
            size: o.size,
            fee: Decimal::ZERO,
            fee_shares: Size::ZERO,
            liquidity: Liquidity::Taker,
            remaining: Size::ZERO,
            ts_ns: ts,
            trade_id: None,
            cause: FillCause::Reported,
        };
        j.append(
            ts,
            Some(1),
            &Entry::Order {
                event: OrderEvent::Filled(fill),
            },
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_fill_the_projections_no_longer_keep_is_still_explained() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open_with(&dir.path().join("j.db"), false)
            .await
            .unwrap();
        let first = append_filled(&mut j, 0, 1, "the first quote");
        let later = 3 * 3_600_000_000_000;
        for id in 1..=(5 * KEPT_FILLS as u64 / 2) {
            append_filled(&mut j, id, later + id, "later");
        }
        j.finish().await.unwrap();
        let kept = j.projections().await.unwrap();
        assert!(views::explain_sources(&kept, first).is_none(), "trimmed");
        let h = j.fill_history(first).await.unwrap().unwrap();
        let (command, _) = views::explain_sources(&h, first).unwrap();
        assert_eq!(command, Some(first - 2));
        let doc = views::explain(&h, first, None, None).unwrap();
        assert_eq!(doc["fill"]["seq"], first);
        assert_eq!(h.orders[&order(0).key].reason, "the first quote");
        // Not a fill: nothing.
        assert!(j.fill_history(first - 1).await.unwrap().is_none());
    }
}
