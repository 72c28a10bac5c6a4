//! Re-acquisition after a guard let its lock go for a while (`unlocked`,
//! `unlocked_fair`, `bump`, `with_upgraded`): a real acquisition through
//! the detectors, at the user's call, run when the closure returns or
//! unwinds.

use std::panic::{self, AssertUnwindSafe, Location};

use crate::runtime::late_report;

/// Runs `f` when dropped: the re-acquisition that must happen whether the
/// user's closure returns or panics.
pub(crate) struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    /// Runs `f` when the value is dropped.
    pub(crate) fn new(f: F) -> Self {
        OnDrop(Some(f))
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Runs `relock`, the checked re-acquisition of a guard's lock, and
/// returns what it took. The guard it relocks is still alive and will
/// unlock when dropped, so the lock must be held again when this returns:
/// if a detector panics out of the re-acquisition (a self-deadlock, or a
/// deadlock broken at it, under the `panic` policy), the lock is not held,
/// and unwinding on would unlock a lock nobody holds. The process aborts
/// instead, once the finding's report is out (a panic during an unwind
/// would abort it as well).
pub(crate) fn relock_or_abort<G>(
    site: &'static Location<'static>,
    relock: impl FnOnce() -> G,
) -> G {
    match panic::catch_unwind(AssertUnwindSafe(relock)) {
        Ok(taken) => taken,
        Err(_) => {
            late_report::flush();
            eprintln!(
                "lockcheck: the re-lock at {site} (after the guard let its lock go) was \
                 stopped by the finding above; its guard cannot be left without the lock: aborting"
            );
            std::process::abort()
        }
    }
}
