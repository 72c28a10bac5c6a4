//! `Condvar`: a condition variable for guards of [`Mutex`](super::Mutex)
//! (`lock_api::MutexGuard<'_, RawMutex, T>`), with parking_lot's API.
//!
//! A wait parks on the condition variable's address and unlocks the mutex
//! in `before_sleep`, which parking_lot_core runs after the thread is in
//! the queue: a notification made after the unlock finds it there, so none
//! is lost. The mutex is locked again after the wake-up.
//!
//! A notify made while the mutex is locked (the usual case: the notifier
//! changed the state under it) does not wake the waiter but moves it onto
//! the mutex's queue, as parking_lot's does: the notifier's unlock wakes
//! it, once, with the mutex free (or handed to it). Woken at the notify, a
//! waiter finds the mutex still held and blocks on it again (on one core
//! it spins and yields back): a ping-pong of two threads through one
//! condition variable, notifying under the lock, took 3.3× parking_lot's
//! round trip (11.3 against 3.45 µs, both threads on one core,
//! 2026-12-04), most of it `sched_yield` and a second wake-up by `perf`.
//! `notify_all` likewise wakes one waiter and moves the rest.
//!
//! To know where to move a waiter, the condition variable keeps the mutex
//! of the threads in its queue (set by the first to queue, cleared when the
//! last leaves, both under the queue lock). A condition variable used with
//! two mutexes at once still works, without the move: the mark `MIXED`
//! stands in for the mutex until its queue is empty.
//!
//! A count of waiters lets a notify with nobody waiting return after one
//! atomic load.

use std::cell::Cell;
use std::ops::DerefMut;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lock_api::RawMutex as _;
use parking_lot_core::{
    ParkResult, RequeueOp, UnparkResult, DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN,
};

use crate::raw::mutex::{RawMutex, TOKEN_HANDOFF};
use crate::raw::MutexGuard;

/// The mark of a queue whose threads wait with more than one mutex: never
/// dereferenced (no mutex lives at address 1), and no waiter is moved.
const MIXED: *mut RawMutex = ptr::dangling_mut::<RawMutex>();

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
    /// The mutex of the threads queued on this condition variable: null
    /// when none is queued, `MIXED` when they wait with different ones.
    /// Written only under the queue lock of this condition variable's key;
    /// while it is a mutex, a queued thread holds a borrow of it, so it
    /// lives.
    mutex: AtomicPtr<RawMutex>,
}

impl Condvar {
    /// A new condition variable with nobody waiting.
    pub const fn new() -> Self {
        Condvar {
            waiters: AtomicUsize::new(0),
            mutex: AtomicPtr::new(ptr::null_mut()),
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

    /// [`Self::notify_one`] with a waiter counted in: wakes the first
    /// waiter, or moves it onto its mutex's queue if that mutex is locked.
    #[cold]
    #[inline(never)]
    fn notify_one_slow(&self) -> bool {
        // A hint for where to move the waiter, read again under the queue
        // lock, where only a match lets the waiter be moved.
        let hint = self.mutex.load(Ordering::Relaxed);
        let movable = !hint.is_null() && hint != MIXED;
        let to = if movable { hint as usize } else { self.key() };
        let validate = || {
            if !movable || self.mutex.load(Ordering::Relaxed) != hint {
                return RequeueOp::UnparkOne;
            }
            // SAFETY: under the queue lock the recorded mutex is that of
            // the threads queued here, which hold it borrowed: it lives.
            if unsafe { (*hint).mark_parked_if_locked() } {
                RequeueOp::RequeueOne
            } else {
                RequeueOp::UnparkOne
            }
        };
        let callback = |_: RequeueOp, result: UnparkResult| {
            // Under the queue lock: the thread woken or moved is out of
            // this queue.
            let out = result.unparked_threads + result.requeued_threads;
            self.waiters.fetch_sub(out, Ordering::Relaxed);
            if !result.have_more_threads {
                self.mutex.store(ptr::null_mut(), Ordering::Relaxed);
            }
            DEFAULT_UNPARK_TOKEN
        };
        // SAFETY: the keys are this condition variable's own address and a
        // mutex's (or this one's again, with nothing to move); the closures
        // neither panic nor call into parking_lot_core.
        let result =
            unsafe { parking_lot_core::unpark_requeue(self.key(), to, validate, callback) };
        result.unparked_threads + result.requeued_threads != 0
    }

    /// Wakes every waiting thread; how many were woken.
    #[inline]
    pub fn notify_all(&self) -> usize {
        if self.waiters.load(Ordering::SeqCst) == 0 {
            return 0;
        }
        self.notify_all_slow()
    }

    /// [`Self::notify_all`] with a waiter counted in: wakes one waiter and
    /// moves the rest onto their mutex's queue (all of them if the mutex
    /// is locked), so that they take it one after the other instead of all
    /// waking to compete for it; the waiters of a `MIXED` queue are all
    /// woken.
    #[cold]
    #[inline(never)]
    fn notify_all_slow(&self) -> usize {
        loop {
            let hint = self.mutex.load(Ordering::Relaxed);
            if hint == MIXED {
                // SAFETY: the key is this condition variable's own address.
                let woken =
                    unsafe { parking_lot_core::unpark_all(self.key(), DEFAULT_UNPARK_TOKEN) };
                // Counted out after leaving the queue: the count never
                // drops below the number parked. The mark stays until the
                // queue is found empty under its lock (by a later notify
                // or timeout), which costs later waits their move only.
                self.waiters.fetch_sub(woken, Ordering::Relaxed);
                return woken;
            }
            let to = if hint.is_null() {
                self.key()
            } else {
                hint as usize
            };
            let changed = Cell::new(false);
            let validate = || {
                let mutex = self.mutex.load(Ordering::Relaxed);
                if mutex.is_null() && hint.is_null() {
                    // Nobody queued.
                    return RequeueOp::Abort;
                }
                if mutex != hint {
                    changed.set(true);
                    return RequeueOp::Abort;
                }
                // Every thread leaves the queue.
                self.mutex.store(ptr::null_mut(), Ordering::Relaxed);
                // SAFETY: under the queue lock the recorded mutex is that
                // of the threads queued here, which hold it borrowed.
                if unsafe { (*mutex).mark_parked_if_locked() } {
                    RequeueOp::RequeueAll
                } else {
                    RequeueOp::UnparkOneRequeueRest
                }
            };
            let callback = |op: RequeueOp, result: UnparkResult| {
                self.waiters.fetch_sub(
                    result.unparked_threads + result.requeued_threads,
                    Ordering::Relaxed,
                );
                if op == RequeueOp::UnparkOneRequeueRest && result.requeued_threads != 0 {
                    // SAFETY: as in `validate`; the moved threads still
                    // hold the mutex borrowed.
                    unsafe { (*hint).mark_parked() };
                }
                DEFAULT_UNPARK_TOKEN
            };
            // SAFETY: the keys are this condition variable's own address
            // and its waiters' mutex's; the closures neither panic nor
            // call into parking_lot_core.
            let result =
                unsafe { parking_lot_core::unpark_requeue(self.key(), to, validate, callback) };
            if !changed.get() {
                return result.unparked_threads + result.requeued_threads;
            }
            // The queue changed hands since the hint was read (emptied and
            // refilled, or another mutex joined it): again with what it
            // records now.
        }
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
        let mine = mutex as *const RawMutex as *mut RawMutex;
        let validate = || {
            if stale() {
                return false;
            }
            // Under the queue lock, as this thread is queued: record its
            // mutex, or `MIXED` if others wait here with another one.
            let recorded = self.mutex.load(Ordering::Relaxed);
            if recorded.is_null() {
                self.mutex.store(mine, Ordering::Relaxed);
            } else if recorded != mine {
                self.mutex.store(MIXED, Ordering::Relaxed);
            }
            true
        };
        // SAFETY: the caller holds `mutex`; it is unlocked once, here, after
        // this thread is queued, and locked again below before returning
        // (or handed to this thread by its unlocker).
        let before_sleep = || unsafe { mutex.unlock() };
        // Whether a notify had moved this thread onto the mutex's queue
        // when its time ran out: then it was notified, and counted out.
        let moved = Cell::new(false);
        let timed_out = |key: usize, was_last: bool| {
            moved.set(key != self.key());
            if !moved.get() && was_last {
                self.mutex.store(ptr::null_mut(), Ordering::Relaxed);
            }
        };
        // SAFETY: the key is this condition variable's own address; the
        // validate and timed-out callbacks neither panic nor call into
        // parking_lot_core, and `before_sleep` only unparks (a contended
        // unlock), which is allowed there.
        let result = unsafe {
            parking_lot_core::park(
                self.key(),
                validate,
                before_sleep,
                timed_out,
                DEFAULT_PARK_TOKEN,
                deadline,
            )
        };
        let timed_out = match result {
            // Moved onto the mutex's queue, then handed the lock by its
            // unlocker: this thread holds the mutex already.
            ParkResult::Unparked(TOKEN_HANDOFF) => return WaitTimeoutResult(false),
            ParkResult::Unparked(_) => false,
            // Moved, and counted out by the notifier: notified.
            ParkResult::TimedOut if moved.get() => false,
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
