//! `Condvar`: a condition variable for guards of [`Mutex`](super::Mutex)
//! (`lock_api::MutexGuard<'_, RawMutex, T>`), with parking_lot's API.
//!
//! A wait parks on the condition variable's address and unlocks the mutex
//! in `before_sleep`, which parking_lot_core runs after the thread is in
//! the queue: a notification made after the unlock finds it there, so none
//! is lost. The mutex is locked again after the wake-up.
//!
//! Simpler than parking_lot's, at a cost: `notify_all` wakes every waiter
//! at once and they all compete for the mutex (parking_lot moves all but
//! one straight onto the mutex's queue). A count of waiters lets a notify
//! with nobody waiting return after one atomic load.

use std::ops::DerefMut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lock_api::RawMutex as _;
use parking_lot_core::{ParkResult, UnparkResult, DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};

use crate::raw::mutex::RawMutex;
use crate::raw::MutexGuard;

/// Whether a timed wait returned because its time ran out (parking_lot's
/// `WaitTimeoutResult`, which lockcheck's public API keeps).
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended at its timeout rather than by a notification.
    #[must_use]
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable over [`RawMutex`] guards.
#[derive(Default)]
pub struct Condvar {
    /// Threads counted into a wait and not yet counted out: at least the
    /// number parked (a waiter counts itself in before it unlocks the
    /// mutex, and is counted out only after it left the queue).
    waiters: AtomicUsize,
}

impl Condvar {
    /// A new condition variable with nobody waiting.
    pub const fn new() -> Self {
        Condvar {
            waiters: AtomicUsize::new(0),
        }
    }

    /// The parking key: the waiter count's address, unique to this
    /// condition variable while it lives.
    #[inline]
    fn key(&self) -> usize {
        &self.waiters as *const AtomicUsize as usize
    }

    /// The parking key, for the unit tests to count the waiters parked.
    #[cfg(test)]
    pub(crate) fn key_for_test(&self) -> usize {
        self.key()
    }

    /// Wakes one waiting thread; whether one was woken.
    #[inline]
    pub fn notify_one(&self) -> bool {
        // SeqCst, with the waiter's increment: a waiter counted in before
        // the notifier's change to the shared state is seen here.
        if self.waiters.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.notify_one_slow()
    }

    /// [`Self::notify_one`] with a waiter counted in.
    #[cold]
    #[inline(never)]
    fn notify_one_slow(&self) -> bool {
        let callback = |result: UnparkResult| {
            // Under the queue lock: the woken thread is out of the queue.
            self.waiters
                .fetch_sub(result.unparked_threads, Ordering::Relaxed);
            DEFAULT_UNPARK_TOKEN
        };
        // SAFETY: the key is this condition variable's own address, and the
        // callback neither panics nor calls into parking_lot_core.
        let result = unsafe { parking_lot_core::unpark_one(self.key(), callback) };
        result.unparked_threads != 0
    }

    /// Wakes every waiting thread; how many were woken.
    #[inline]
    pub fn notify_all(&self) -> usize {
        if self.waiters.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        self.notify_all_slow()
    }

    /// [`Self::notify_all`] with a waiter counted in.
    #[cold]
    #[inline(never)]
    fn notify_all_slow(&self) -> usize {
        // SAFETY: the key is this condition variable's own address.
        let woken = unsafe { parking_lot_core::unpark_all(self.key(), DEFAULT_UNPARK_TOKEN) };
        // Counted out after leaving the queue: the count never drops below
        // the number parked.
        self.waiters.fetch_sub(woken, Ordering::Relaxed);
        woken
    }

    /// Unlocks the guard's mutex, waits for a notification (or `deadline`)
    /// and locks the mutex again.
    #[cold]
    #[inline(never)]
    fn wait_raw(
        &self,
        mutex: &RawMutex,
        deadline: Option<Instant>,
        stale: &dyn Fn() -> bool,
    ) -> WaitTimeoutResult {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller holds `mutex`; it is unlocked once, here, after
        // this thread is queued, and locked again below before returning.
        let before_sleep = || unsafe { mutex.unlock() };
        // SAFETY: the key is this condition variable's own address; the
        // validate and timed-out callbacks neither panic nor call into
        // parking_lot_core, and `before_sleep` only unparks (a contended
        // unlock), which is allowed there.
        let result = unsafe {
            parking_lot_core::park(
                self.key(),
                || !stale(),
                before_sleep,
                |_, _| {},
                DEFAULT_PARK_TOKEN,
                deadline,
            )
        };
        let timed_out = match result {
            ParkResult::Unparked(_) => false,
            ParkResult::TimedOut => {
                // Left the queue on its own: count itself out.
                self.waiters.fetch_sub(1, Ordering::Relaxed);
                true
            }
            ParkResult::Invalid => {
                // The caller's `stale` said the wait is over before it
                // began; the mutex was never unlocked: count out, keep the
                // lock, return as woken.
                self.waiters.fetch_sub(1, Ordering::Relaxed);
                return WaitTimeoutResult(false);
            }
        };
        mutex.lock();
        WaitTimeoutResult(timed_out)
    }

    /// The raw mutex a guard holds.
    #[inline]
    fn raw_of<'g, T: ?Sized>(guard: &'g MutexGuard<'_, T>) -> &'g RawMutex {
        // SAFETY: only the raw mutex's lock and unlock are used, paired, by
        // the thread whose guard holds it.
        unsafe { MutexGuard::mutex(guard).raw() }
    }

    /// Unlocks the mutex, waits for a notification (spurious wake-ups are
    /// possible: re-check the condition) or `timeout`, locks it again.
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.wait_raw(
            Self::raw_of(guard),
            Instant::now().checked_add(timeout),
            &|| false,
        )
    }

    /// As [`Self::wait_for`], giving up at `deadline`.
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait_raw(Self::raw_of(guard), Some(deadline), &|| false)
    }

    /// As [`Self::wait_for`] (or untimed, with no `timeout`), but returns at
    /// once, as woken, if `stale` says so when the thread is already queued
    /// (under parking_lot_core's queue lock). A notifier that changes what
    /// `stale` reads before it notifies is then never missed, even one that
    /// notifies between two such waits without holding the mutex.
    pub fn wait_unless<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<Duration>,
        stale: &dyn Fn() -> bool,
    ) -> WaitTimeoutResult {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        self.wait_raw(Self::raw_of(guard), deadline, stale)
    }

    /// Waits while `condition` holds for the guarded value (the wrappers
    /// wait through [`Self::wait_unless`]; kept for the tests).
    #[cfg(test)]
    pub fn wait_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) {
        self.wait_while_deadline(guard, condition, None);
    }

    /// Waits while `condition` holds, giving up after `timeout`; timed out
    /// if the time ran out (even if the condition then no longer holds).
    pub fn wait_while_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.wait_while_deadline(guard, condition, Instant::now().checked_add(timeout))
    }

    /// As [`Self::wait_while_for`], giving up at `deadline`.
    pub fn wait_while_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait_while_deadline(guard, condition, Some(deadline))
    }

    /// The `wait_while` family: waits while `condition` holds, until
    /// `deadline` if there is one.
    fn wait_while_deadline<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: impl FnMut(&mut T) -> bool,
        deadline: Option<Instant>,
    ) -> WaitTimeoutResult {
        let mut result = WaitTimeoutResult(false);
        while !result.timed_out() && condition(guard.deref_mut()) {
            result = self.wait_raw(Self::raw_of(guard), deadline, &|| false);
        }
        result
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condvar { .. }")
    }
}
