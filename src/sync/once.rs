//! `Once` with parking_lot's API (and the additions of parking_lot 0.13).
//! As for `lockcheck::stdsync::Once`, the initialisation runs under a
//! lockcheck mutex of the `Once`'s own: a thread that waits for another
//! thread's `call_once` waits on that mutex, in the wait-for graph, and a
//! `call_once` that re-enters its own `Once` re-locks it, a `self-deadlock`
//! reported at the call (parking_lot's would hang).

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::stdsync::handoff::Published;

const NEW: u8 = 0;
const POISONED: u8 = 1;
const IN_PROGRESS: u8 = 2;
const DONE: u8 = 3;

/// Where a [`Once`] stands, as parking_lot's `OnceState`.
///
/// ```
/// let once = lockcheck::Once::new();
/// assert_eq!(once.state(), lockcheck::OnceState::New);
/// once.call_once(|| ());
/// assert!(once.state().done());
/// ```
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum OnceState {
    /// No initialisation has run yet.
    New,
    /// An initialisation panicked.
    Poisoned,
    /// A thread is running the initialisation.
    InProgress,
    /// An initialisation completed.
    Done,
}

impl OnceState {
    /// Whether an initialisation panicked (parking_lot 0.12's name).
    pub const fn poisoned(self) -> bool {
        matches!(self, OnceState::Poisoned)
    }

    /// Whether an initialisation completed (parking_lot 0.12's name).
    pub const fn done(self) -> bool {
        matches!(self, OnceState::Done)
    }

    /// Whether an initialisation panicked (parking_lot 0.13's name).
    pub const fn is_poisoned(self) -> bool {
        self.poisoned()
    }

    /// Whether an initialisation completed (parking_lot 0.13's name).
    pub const fn is_completed(self) -> bool {
        self.done()
    }
}

/// A one-time initialisation with parking_lot's API. What the closure did
/// happens before every call that finds the `Once` done.
///
/// ```
/// static INIT: lockcheck::Once = lockcheck::Once::new();
/// let mut runs = 0;
/// INIT.call_once(|| runs += 1);
/// INIT.call_once(|| runs += 1);
/// assert_eq!(runs, 1);
/// ```
///
/// A `call_once` from within its own closure would wait for itself for
/// ever; lockcheck reports it as a `self-deadlock` at that call.
pub struct Once {
    state: AtomicU8,
    /// Held by the thread running the initialisation.
    running: crate::Mutex<()>,
    /// For `wait` on a `Once` whose initialisation has not started: told
    /// of every end of an initialisation. Out of lockcheck's sight, as
    /// that wait is for a thread not known yet.
    ended: std::sync::Condvar,
    gate: std::sync::Mutex<()>,
    done: Published,
}

// As parking_lot's: a panicking initialisation poisons the `Once`, which
// every later call sees.
impl std::panic::UnwindSafe for Once {}
impl std::panic::RefUnwindSafe for Once {}

impl Once {
    /// A new `Once`. Its lock, which reports name by where it was created,
    /// is created here: at the caller's line.
    #[track_caller]
    pub const fn new() -> Once {
        Once::with_state(NEW)
    }

    /// A `Once` that is done already (parking_lot 0.13's `new_completed`):
    /// no `call_once` of it runs its closure.
    ///
    /// ```
    /// let once = lockcheck::Once::new_completed();
    /// once.call_once(|| unreachable!());
    /// assert!(once.is_completed());
    /// ```
    #[track_caller]
    pub const fn new_completed() -> Once {
        Once::with_state(DONE)
    }

    #[track_caller]
    const fn with_state(state: u8) -> Once {
        Once {
            state: AtomicU8::new(state),
            running: crate::Mutex::new(()),
            ended: std::sync::Condvar::new(),
            gate: std::sync::Mutex::new(()),
            done: Published::new(),
        }
    }

    /// Where the `Once` stands now.
    pub fn state(&self) -> OnceState {
        match self.state.load(Ordering::Acquire) {
            NEW => OnceState::New,
            POISONED => OnceState::Poisoned,
            IN_PROGRESS => OnceState::InProgress,
            _ => {
                self.done.observe();
                OnceState::Done
            }
        }
    }

    /// Whether an initialisation completed (parking_lot 0.13).
    pub fn is_completed(&self) -> bool {
        self.state().done()
    }

    /// Runs `f` if no call has completed yet, waiting for one running on
    /// another thread (a wait in the wait-for graph). Panics if an earlier
    /// initialisation panicked (the `Once` is poisoned), as parking_lot's.
    /// Called from within its own initialisation, it is reported as a
    /// self-deadlock at this call.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        self.run(false, |_| f());
    }

    /// As [`Self::call_once`], but runs `f` on a poisoned `Once` too; `f`
    /// is told the state it found (`New` or `Poisoned`).
    #[track_caller]
    pub fn call_once_force<F: FnOnce(OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        self.run(true, f);
    }

    #[track_caller]
    fn run(&self, force: bool, f: impl FnOnce(OnceState)) {
        let _running = self.running.lock();
        let found = self.state();
        match found {
            OnceState::Done => return,
            OnceState::Poisoned if !force => {
                panic!("Once instance has previously been poisoned")
            }
            _ => {}
        }
        self.state.store(IN_PROGRESS, Ordering::Relaxed);
        // Poisons the `Once` if `f` unwinds.
        struct Poison<'a>(&'a Once);
        impl Drop for Poison<'_> {
            fn drop(&mut self) {
                self.0.end(POISONED);
            }
        }
        let poison = Poison(self);
        f(found);
        std::mem::forget(poison);
        self.done.publish();
        self.end(DONE);
    }

    /// Ends an initialisation in `state`, waking every `wait` for one.
    fn end(&self, state: u8) {
        self.state.store(state, Ordering::Release);
        // Taken after the store: a waiter that read the old state under
        // `gate` is in its wait before this notifies.
        let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.ended.notify_all();
    }

    /// Blocks until an initialisation completes (parking_lot 0.13); panics
    /// if the `Once` is poisoned. An initialisation running on another
    /// thread is waited for as a lock (in the wait-for graph); one that has
    /// not started yet is waited for out of lockcheck's sight.
    #[track_caller]
    pub fn wait(&self) {
        self.wait_until_done(false);
    }

    /// As [`Self::wait`], but a poisoned `Once` is waited on until an
    /// initialisation completes (parking_lot 0.13).
    #[track_caller]
    pub fn wait_force(&self) {
        self.wait_until_done(true);
    }

    #[track_caller]
    fn wait_until_done(&self, force: bool) {
        loop {
            if self.is_completed() {
                return;
            }
            // A runner in progress, waited for as a lock.
            drop(self.running.lock());
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            match self.state() {
                OnceState::Done => return,
                OnceState::Poisoned if !force => {
                    panic!("Once instance has previously been poisoned")
                }
                _ => {}
            }
            // Not started (or poisoned, and forced): until one ends, or
            // starts (then it is waited for as a lock, above).
            drop(
                self.ended
                    .wait_while(gate, |_| {
                        matches!(self.state.load(Ordering::Acquire), NEW | POISONED)
                            && (force || self.state.load(Ordering::Acquire) == NEW)
                    })
                    .unwrap_or_else(|e| e.into_inner()),
            );
        }
    }
}

impl Default for Once {
    #[track_caller]
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("state", &self.state())
            .finish()
    }
}
