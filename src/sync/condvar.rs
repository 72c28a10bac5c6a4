//! `Condvar`: parking_lot's condition variable, for [`crate::Mutex`] guards.
//! A wait releases the mutex, so the mutex leaves the thread's held locks for
//! the wait and comes back when the wait returns.

use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, Event, LockId, Site};
use crate::runtime::acquire;
use crate::runtime::hb::{self, HandOff};
use crate::runtime::lock_meta::lazy_id;
use crate::runtime::recorder;
use crate::sync::mutex::MutexGuard;

pub use crate::raw::condvar::WaitTimeoutResult;

/// A condition variable with parking_lot's API.
///
/// ```
/// use std::sync::Arc;
/// use lockcheck::{Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = Arc::clone(&pair);
/// let t = std::thread::spawn(move || {
///     *pair2.0.lock() = true;
///     pair2.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// pair.1.wait_while(&mut ready, |r| !*r);
/// drop(ready);
/// t.join().unwrap();
/// ```
#[derive(Default)]
pub struct Condvar {
    inner: crate::raw::Condvar,
    /// Everything notifiers knew when they notified (race checking).
    clock: crate::raw::Mutex<HandOff>,
    /// 0 until a recorded trace needs to name this condition variable.
    id: AtomicU64,
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Condvar {
            inner: crate::raw::Condvar::new(),
            clock: crate::raw::Mutex::new(HandOff::new()),
            id: AtomicU64::new(0),
        }
    }

    /// This condition variable's id in a recorded trace.
    fn id(&self) -> LockId {
        lazy_id(&self.id)
    }

    /// Wakes one waiting thread; returns whether one was woken. What the
    /// notifier did happens before the woken wait returns.
    #[track_caller]
    pub fn notify_one(&self) -> bool {
        self.publish();
        self.inner.notify_one()
    }

    /// Wakes every waiting thread; returns how many were woken.
    #[track_caller]
    pub fn notify_all(&self) -> usize {
        self.publish();
        self.inner.notify_all()
    }

    #[track_caller]
    fn publish(&self) {
        if recorder::on() {
            let site = Site::caller();
            recorder::record_here(|thread| Event::Notify {
                thread,
                condition: self.id(),
                site,
            });
        }
        if hb::active() {
            let mine = hb::release_clock();
            self.clock.lock().join(&mine);
        }
    }

    #[track_caller]
    fn around<T: ?Sized, R>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timed: bool,
        wait: impl FnOnce(&mut crate::raw::MutexGuard<'_, T>) -> R,
    ) -> R {
        let entry = if guard.tracked {
            acquire::suspend(
                &guard.mutex.meta,
                AcquireMode::Exclusive,
                self.id(),
                timed,
                Location::caller(),
            )
        } else {
            None
        };
        let mut raw = guard.raw();
        let result = wait(&mut raw);
        acquire::resume(&guard.mutex.meta, entry, Location::caller());
        if hb::active() {
            hb::acquire_clock(&self.clock.lock());
        }
        result
    }

    /// Releases the mutex, waits for a notification, re-acquires the mutex.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.around(guard, false, |g| self.inner.wait(g))
    }

    /// As [`Self::wait`], giving up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.around(guard, true, |g| self.inner.wait_for(g, timeout))
    }

    /// As [`Self::wait`], giving up at `deadline`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.around(guard, true, |g| self.inner.wait_until(g, deadline))
    }

    /// Waits while `condition` holds.
    #[track_caller]
    pub fn wait_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) {
        self.around(guard, false, |g| self.inner.wait_while(g, condition))
    }

    /// Waits while `condition` holds, giving up after `timeout`.
    #[track_caller]
    pub fn wait_while_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.around(guard, true, |g| {
            self.inner.wait_while_for(g, condition, timeout)
        })
    }

    /// Waits while `condition` holds, giving up at `deadline`.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.around(guard, true, |g| {
            self.inner.wait_while_until(g, condition, deadline)
        })
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condvar { .. }")
    }
}
