//! What the adapter's tasks (sender, user channel, heartbeats) share with the
//! engine's side of the venue: the order tracker, the wake-up the engine
//! listens to, and why new orders must stop, if they must (heartbeats
//! failing; the user channel down, or back but not yet reconciled).

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::tracker::Tracker;

#[derive(Debug, Default)]
pub struct Inbox {
    tracker: Mutex<Tracker>,
    notify: Arc<Notify>,
    trouble: Mutex<Option<String>>,
    gap: Mutex<Gap>,
}

/// The user channel's gaps: reports it may have missed while down.
#[derive(Debug, Default)]
struct Gap {
    /// Why reports may be missing, until a reconciliation after the
    /// channel came back.
    open: Option<String>,
    /// The channel is connected (a reconciliation now closes the gap).
    up: bool,
    /// Drops so far: a reconciliation closes only the gap it began after.
    drops: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A task that panicked mid-update leaves the tracker as consistent as
    // its last completed call; carrying on beats losing every later report.
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Inbox {
    /// Works on the tracker; the engine is woken when `f` says it changed.
    pub fn with<T>(&self, f: impl FnOnce(&mut Tracker) -> T) -> T {
        f(&mut lock(&self.tracker))
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub fn notify(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    pub fn set_trouble(&self, trouble: Option<String>) {
        *lock(&self.trouble) = trouble;
        self.wake();
    }

    /// Why new orders must stop: heartbeats failing, or a gap in the user
    /// channel not yet reconciled.
    pub fn trouble(&self) -> Option<String> {
        lock(&self.trouble)
            .clone()
            .or_else(|| lock(&self.gap).open.clone())
    }

    /// The user channel dropped: its reports since may be lost.
    pub fn channel_down(&self, why: String) {
        let mut g = lock(&self.gap);
        g.open = Some(why);
        g.up = false;
        g.drops += 1;
        drop(g);
        self.wake();
    }

    /// The user channel is subscribed again: a reconciliation is due now.
    pub fn channel_up(&self) {
        let mut g = lock(&self.gap);
        g.up = true;
        let due = g.open.is_some();
        drop(g);
        if due {
            tracing::info!("user channel back; reconciling what it may have missed");
            self.wake();
        }
    }

    /// Whether a gap is waiting for a reconciliation the channel being back
    /// makes worthwhile.
    pub fn reconcile_due(&self) -> bool {
        let g = lock(&self.gap);
        g.open.is_some() && g.up
    }

    /// Where the gaps stand before a reconciliation asks the venue: pass it
    /// to [`Inbox::reconciled`] once that succeeded. `None`: no gap to close.
    pub fn gap_mark(&self) -> Option<u64> {
        let g = lock(&self.gap);
        (g.open.is_some() && g.up).then_some(g.drops)
    }

    /// A reconciliation that began at `mark` succeeded: its gap is closed,
    /// unless the channel dropped again meanwhile.
    pub fn reconciled(&self, mark: u64) {
        let mut g = lock(&self.gap);
        if g.drops == mark && g.up {
            g.open = None;
        }
    }
}
