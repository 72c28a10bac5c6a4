//! Re-acquisition after a guard let its lock go for a while (`unlocked`,
//! `unlocked_fair`, `bump`, `with_upgraded`): a real acquisition through
//! the detectors, at the user's call, run when the closure returns or
//! unwinds.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe, Location};
use std::time::Duration;

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

/// How long a re-lock that a detector stopped waits for the raw lock
/// before it gives up (see [`relock`]). The lock is free or about to be
/// for a report made after the acquisition (a lock-order cycle, which does
/// not hang); a self-deadlock or a deadlock would never let it go.
pub(crate) const RETAKE: Duration = Duration::from_secs(2);

/// A guard's lock taken again, and the panic that stopped its checked
/// re-acquisition, if one did (to [`resume`] once the guard is whole).
pub(crate) struct Relocked<G> {
    /// What the re-acquisition took.
    pub(crate) taken: G,
    stopped: Option<Box<dyn Any + Send>>,
}

/// Resumes the panic that stopped a checked re-acquisition, once the
/// guard is whole again, unless the thread is already unwinding (from the
/// user's closure: the finding was reported, and that panic goes on).
pub(crate) fn resume(stopped: Option<Box<dyn Any + Send>>) {
    if let Some(payload) = stopped {
        if !std::thread::panicking() {
            panic::resume_unwind(payload);
        }
    }
}

impl<G> Relocked<G> {
    /// What was taken, and the panic to [`resume`] afterwards.
    pub(crate) fn into_parts(self) -> (G, Option<Box<dyn Any + Send>>) {
        (self.taken, self.stopped)
    }
}

/// Takes a guard's lock again by `checked`, the checked re-acquisition.
/// The guard is still alive and will unlock when dropped, so the lock must
/// be held when this returns. If a detector panics out of `checked` (a
/// finding under the `panic` policy: then the raw lock is not held),
/// `retake` takes the raw lock within [`RETAKE`], untracked, and the panic
/// is handed back to be resumed once the guard is whole; if even that
/// fails (a self-deadlock, a deadlock broken at the re-lock), unwinding on
/// would unlock a lock nobody holds, so the process aborts, once the
/// finding's report is out.
pub(crate) fn relock<G>(
    site: &'static Location<'static>,
    checked: impl FnOnce() -> G,
    retake: impl FnOnce() -> Option<G>,
) -> Relocked<G> {
    match panic::catch_unwind(AssertUnwindSafe(checked)) {
        Ok(taken) => Relocked {
            taken,
            stopped: None,
        },
        Err(payload) => match retake() {
            Some(taken) => Relocked {
                taken,
                stopped: Some(payload),
            },
            None => {
                late_report::flush();
                eprintln!(
                    "lockcheck: the re-lock at {site} (after the guard let its lock go) was \
                     stopped by the finding above and the lock stayed taken; its guard cannot \
                     be left without the lock: aborting"
                );
                std::process::abort()
            }
        },
    }
}
