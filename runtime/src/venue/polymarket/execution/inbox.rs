//! What the adapter's tasks (sender, user channel, heartbeats) share with the
//! engine's side of the venue: the order tracker, the wake-up the engine
//! listens to, and why new orders must stop, if they must.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::tracker::Tracker;

#[derive(Debug, Default)]
pub struct Inbox {
    tracker: Mutex<Tracker>,
    notify: Arc<Notify>,
    trouble: Mutex<Option<String>>,
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

    pub fn trouble(&self) -> Option<String> {
        lock(&self.trouble).clone()
    }
}
