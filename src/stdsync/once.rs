//! `Once` with std's API. The initialisation runs under a lockcheck mutex
//! of the `Once`'s own: a thread that waits for another's initialisation
//! waits on that mutex, in the wait-for graph, and an initialisation that
//! re-enters its own `Once` re-locks it, a self-deadlock reported at the
//! call. std's `Once` underneath keeps the state (and poisoning) exactly
//! as std's.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::OnceState;

use crate::stdsync::handoff::Published;

/// A one-time initialisation with `std::sync::Once`'s API. The closure's
/// effects happen before every call that finds the `Once` complete.
///
/// ```
/// use lockcheck::stdsync::Once;
/// static INIT: Once = Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    state: std::sync::Once,
    /// Held by the thread running the initialisation.
    running: crate::Mutex<()>,
    done: Published,
}

// As std's: a panicking initialisation poisons the `Once`.
impl UnwindSafe for Once {}
impl RefUnwindSafe for Once {}

impl Once {
    /// A new `Once`. Its lock, which reports name by where it was created,
    /// is created here: at the caller's line.
    #[track_caller]
    #[allow(clippy::new_without_default)] // std's `Once` has no `Default`
    pub const fn new() -> Self {
        Once {
            state: std::sync::Once::new(),
            running: crate::Mutex::new(()),
            done: Published::new(),
        }
    }

    /// Runs `f` if no call has completed yet, waiting for one running on
    /// another thread. Panics, as std's, if an earlier initialisation
    /// panicked (the `Once` is poisoned). Called from within its own
    /// initialisation, it is reported as a self-deadlock at this call.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let _running = self.running.lock();
        self.state.call_once(|| {
            f();
            self.done.publish();
        });
    }

    /// As [`Self::call_once`], but runs `f` on a poisoned `Once` too; `f`
    /// is told whether it is.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let _running = self.running.lock();
        self.state.call_once_force(|state| {
            f(state);
            self.done.publish();
        });
    }

    /// Whether a call has completed (not counting a panicked one).
    pub fn is_completed(&self) -> bool {
        let done = self.state.is_completed();
        if done {
            self.done.observe();
        }
        done
    }

    /// Blocks until a call completes; panics if the `Once` is poisoned.
    /// An initialisation running on another thread is waited for as a lock
    /// (in the wait-for graph); one that has not started yet is waited for
    /// by std's `Once`, out of lockcheck's sight.
    #[track_caller]
    pub fn wait(&self) {
        if !self.is_completed() {
            self.wait_for_runner();
            self.state.wait();
            self.done.observe();
        }
    }

    /// As [`Self::wait`], but returns on a poisoned `Once` too.
    #[track_caller]
    pub fn wait_force(&self) {
        if !self.is_completed() {
            self.wait_for_runner();
            self.state.wait_force();
            self.done.observe();
        }
    }

    /// Waits for an initialisation in progress, as for a lock.
    #[track_caller]
    fn wait_for_runner(&self) {
        drop(self.running.lock());
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}
