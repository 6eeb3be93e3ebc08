//! Journal batches written behind the engine, on a thread of their own, for
//! runs that can simply be rerun (backtests): the engine hands a batch over and
//! goes on deciding while SQLite writes it. Readers of the journal first wait
//! until everything handed over is written, so they never see less than
//! before. The thread also chains the entries' hashes.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sqlx::SqlitePool;

use super::{Pending, StoreError};

/// Batches that may wait for the thread: bounds the memory a slow disk costs.
const QUEUE: usize = 4;

enum Job {
    Write {
        entries: Vec<Pending>,
        blobs: Vec<(String, Vec<u8>)>,
    },
    /// Answered once every batch sent before it is written.
    Sync(SyncSender<()>),
}

/// The thread and the way to it.
pub(super) struct Writer {
    jobs: Option<SyncSender<Job>>,
    /// Answers with the chain's head hash once every batch is written.
    thread: Option<JoinHandle<Result<String, StoreError>>>,
}

impl Writer {
    /// `head`: the hash of the last entry already written.
    pub(super) fn start(pool: SqlitePool, head: String) -> Result<Writer, StoreError> {
        let (jobs, rx) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("pqap-journal".into())
            .spawn(move || run(pool, head, rx))
            .map_err(|e| StoreError::Encode(format!("journal writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Hands a batch over; fails with the thread's error if it stopped.
    pub(super) fn write(
        &mut self,
        entries: Vec<Pending>,
        blobs: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|j| j.send(Job::Write { entries, blobs }).is_ok());
        if sent { Ok(()) } else { Err(self.failure()) }
    }

    /// Waits until every batch handed over is written.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        let (ack, done) = sync_channel(1);
        let asked = self
            .jobs
            .as_ref()
            .is_some_and(|j| j.send(Job::Sync(ack)).is_ok());
        if asked && done.recv().is_ok() {
            return Ok(());
        }
        Err(StoreError::Encode(
            "the journal writer stopped; its error is reported when the journal is finished".into(),
        ))
    }

    /// Writes what is left and stops the thread: the chain's head hash, or
    /// the thread's error.
    pub(super) fn finish(&mut self) -> Result<String, StoreError> {
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StoreError::Encode("the journal writer panicked".into())),
            None => Err(StoreError::Encode(
                "the journal writer was already finished".into(),
            )),
        }
    }

    /// Why the thread stopped (it only stops early on an error).
    fn failure(&mut self) -> StoreError {
        match self.finish() {
            Err(e) => e,
            Ok(_) => StoreError::Encode("the journal writer has stopped".into()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // What was handed over is still written: a dropped journal loses
        // nothing it accepted.
        let _ = self.finish();
    }
}

fn run(pool: SqlitePool, mut head: String, jobs: Receiver<Job>) -> Result<String, StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Encode(format!("journal writer runtime: {e}")))?;
    rt.block_on(async {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Write { mut entries, blobs } => {
                    for p in &mut entries {
                        p.hash =
                            super::chain_hash(&head, p.seq, p.ts_ns, p.kind, p.strategy, &p.body);
                        p.prev = std::mem::replace(&mut head, p.hash.clone());
                    }
                    super::write(&pool, &entries, &blobs, None).await?;
                }
                Job::Sync(ack) => {
                    let _ = ack.send(());
                }
            }
        }
        Ok(head)
    })
}
