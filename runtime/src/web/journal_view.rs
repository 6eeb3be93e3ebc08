//! The server's read model of the journal: its projections kept in memory and
//! brought up to date with only the entries appended since the last read, so a
//! page or an API call costs the same after a month of trading as after a
//! minute. Only the engine writes the journal; this only reads it.

use tokio::sync::{Mutex, MutexGuard};

use crate::report::views;
use crate::store::{Journal, Projections, StoreError};

/// Projections of the environment's journal, refreshed on read.
#[derive(Default)]
pub struct JournalView(Mutex<Projections>);

impl JournalView {
    /// The projections as of now. Readers take turns; each read applies only
    /// what was committed since the previous one.
    pub async fn current(
        &self,
        journal: &Journal,
    ) -> Result<MutexGuard<'_, Projections>, StoreError> {
        let mut p = self.0.lock().await;
        if p.entries == 0 {
            // The first read starts from the newest checkpoint.
            *p = journal.projections().await?;
        } else {
            let from = p.last_seq + 1;
            journal
                .for_each_from(from, |stored| p.apply(stored))
                .await?;
        }
        Ok(p)
    }

    /// Fill `seq` explained back to its cause (`None` if it is no fill); the
    /// two entries it names are read from the journal.
    pub async fn explain(
        &self,
        journal: &Journal,
        seq: i64,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let kept = self.current(journal).await?;
        // A fill older than what the projections keep is read back from the journal.
        let older;
        let p: &Projections = if views::explain_sources(&kept, seq).is_some() {
            &kept
        } else {
            match journal.fill_history(seq).await? {
                Some(h) => {
                    older = h;
                    &older
                }
                None => return Ok(None),
            }
        };
        let Some((command, cause)) = views::explain_sources(p, seq) else {
            return Ok(None);
        };
        let one = |s: Option<i64>| async move {
            match s {
                Some(s) => Ok(journal.read_range(s, s).await?.into_iter().next()),
                None => Ok::<_, StoreError>(None),
            }
        };
        let command = one(command).await?;
        let cause = one(cause).await?;
        Ok(views::explain(p, seq, command.as_ref(), cause.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::TradingState;
    use crate::store::Entry;

    #[tokio::test]
    async fn reads_apply_only_what_was_appended_since() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        let view = JournalView::default();
        j.append(
            1,
            None,
            &Entry::RunStarted {
                run_id: "r".into(),
                mode: "paper".into(),
                seed: 1,
            },
        )
        .unwrap();
        j.commit().await.unwrap();
        assert_eq!(view.current(&j).await.unwrap().entries, 1);
        j.append(
            2,
            None,
            &Entry::TradingState {
                state: TradingState::Halted,
                actor: "ops".into(),
            },
        )
        .unwrap();
        j.commit().await.unwrap();
        let p = view.current(&j).await.unwrap();
        assert_eq!(p.entries, 2, "each entry applied once");
        assert_eq!(p.trading_state, TradingState::Halted);
        assert_eq!(p.last_run.as_ref().map(|r| r.0.as_str()), Some("r"));
        // The same as replaying the whole journal.
        let whole = Projections::replay(&j.read_from(1).await.unwrap());
        assert_eq!(whole.entries, p.entries);
        assert_eq!(whole.last_seq, p.last_seq);
        drop(p);
        assert!(view.explain(&j, 1).await.unwrap().is_none(), "not a fill");
    }
}
