//! Happens-before from an initialisation to whoever sees it done. A cell
//! seen initialised is read without its lock (the point of a `OnceLock`),
//! so the lock's own clocks do not reach the reader: the initialiser leaves
//! its clock here before the value becomes visible, and a reader that sees
//! the value takes it.

use std::sync::{Mutex, PoisonError};

use crate::runtime::hb::{self, HandOff};

/// The clocks of the initialisations done so far.
pub(crate) struct Published {
    // std's mutex, not a lockcheck lock: it is the checker's own state.
    clock: Mutex<HandOff>,
}

impl Published {
    /// Nothing published yet.
    pub(crate) const fn new() -> Self {
        Published {
            clock: Mutex::new(HandOff::new()),
        }
    }

    /// This thread's past happens before every later [`Self::observe`].
    /// Called by the initialiser, before its value becomes visible.
    pub(crate) fn publish(&self) {
        if cfg!(feature = "checks") && hb::active() {
            let mine = hb::release_clock();
            self.lock().join(&mine);
        }
    }

    /// What was published happens before this thread's future. Called by a
    /// thread that saw the value initialised.
    pub(crate) fn observe(&self) {
        if cfg!(feature = "checks") && hb::active() {
            hb::acquire_clock(&self.lock());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HandOff> {
        // Nothing panics while this lock is held; should it, the clock is
        // still whole.
        self.clock.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
