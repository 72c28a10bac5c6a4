//! `Condvar`: parking_lot's condition variable, for [`crate::Mutex`] guards.
//! A wait releases the mutex, so the mutex leaves the thread's held locks for
//! the wait and comes back when the wait returns.
//!
//! An untimed wait (`wait`, `wait_while`) that has not been notified within
//! a lock's grace period is a wait in the wait-for graph, for a
//! notification: if every thread of the process ends up blocked (a lost
//! wakeup: the notify came before the wait), the deadlock is reported and
//! broken (see `runtime::nobody_left`). Such a wait wakes now and then to
//! check; a notification counter, read when the waiter is already queued,
//! makes sure no notification is lost in between. Timed waits never
//! register.

use std::borrow::Cow;
use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use crate::event::WaitKind;
use crate::event::{AcquireMode, Event, LockId, Site, WokenBy};
use crate::runtime::acquire;
use crate::runtime::hb::{self, HandOff};
use crate::runtime::hold_and_wait::{self, Waiters};
use crate::runtime::nobody_left::{self, Stuck};
use crate::runtime::recorder;
use crate::runtime::waits::{self, WaitMeta};
use crate::sync::mutex::MutexGuard;

pub use crate::raw::condvar::WaitTimeoutResult;

/// A condition variable with parking_lot's API.
///
/// ```
/// use std::sync::Arc;
/// use lockcheck::{Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::named("ready")));
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
pub struct Condvar {
    inner: crate::raw::Condvar,
    /// Everything notifiers knew when they notified (race checking).
    clock: crate::raw::Mutex<HandOff>,
    /// Its id, name and creation site, for reports and traces.
    meta: WaitMeta,
    /// Counts notifications: a waiter that sees it change has been
    /// notified (or spuriously woken, which a condition variable allows).
    notifies: AtomicU64,
    /// The threads waiting while they hold locks, for hold-and-wait.
    hold_waiters: Waiters,
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl Condvar {
    /// A new condition variable; reports name it by where it was created.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar::with_meta(None, Location::caller())
    }

    /// A new condition variable with a name for reports.
    ///
    /// ```
    /// static READY: lockcheck::Condvar = lockcheck::Condvar::named("ready");
    /// assert_eq!(READY.name(), Some("ready"));
    /// ```
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Condvar::with_meta(Some(name), Location::caller())
    }

    const fn with_meta(name: Option<&'static str>, created: &'static Location<'static>) -> Self {
        Condvar {
            inner: crate::raw::Condvar::new(),
            clock: crate::raw::Mutex::new(HandOff::new()),
            meta: WaitMeta::new(name, created),
            notifies: AtomicU64::new(0),
            hold_waiters: Waiters::new(),
        }
    }

    /// Names the condition variable with a name made at run time (interned);
    /// a name given at creation is kept.
    pub fn with_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.meta.set_name(name.into());
        self
    }

    /// The name given to it, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }

    /// This condition variable's id in a recorded trace.
    fn id(&self) -> LockId {
        self.meta.id()
    }

    /// Wakes one waiting thread; returns whether one was woken. What the
    /// notifier did happens before the woken wait returns.
    #[track_caller]
    pub fn notify_one(&self) -> bool {
        let hazards = self.publish();
        let woken = self.inner.notify_one();
        hazards.report();
        woken
    }

    /// Wakes every waiting thread; returns how many were woken.
    #[track_caller]
    pub fn notify_all(&self) -> usize {
        let hazards = self.publish();
        let woken = self.inner.notify_all();
        hazards.report();
        woken
    }

    /// Everything a notification hands over, before the raw notify; the
    /// hold-and-wait hazards it found, to report after it.
    #[track_caller]
    fn publish(&self) -> hold_and_wait::Hazards {
        // Everything a woken waiter must find is done before the count
        // moves, since a waiter between two slices of its wait wakes on
        // the count alone: the notification in the trace (before the
        // waiter's wake-up there), the hand-off of happens-before, and the
        // hold-and-wait edges (made while the waiters are still waiting:
        // each one holding locks leaves the list only once its wait has
        // returned).
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
        let hazards = self
            .hold_waiters
            .woken(WokenBy::Notify, || self.id().0, Site::caller());
        // Before the raw notify reads its waiter count (both SeqCst): a
        // waiter queued before this sees the notify's wake-up, or, between
        // two slices of its wait, this count.
        self.notifies.fetch_add(1, SeqCst);
        hazards
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

    /// One untimed wait on the raw guard: the grace period, then a wait
    /// in the wait-for graph, in slices, each of which checks the second
    /// deadlock rule. `Some` when this thread is to break a deadlock: the
    /// caller does so once the guard holds its mutex again.
    fn wait_untimed<T: ?Sized>(
        &self,
        raw: &mut crate::raw::MutexGuard<'_, T>,
        site: Site,
    ) -> Option<Stuck> {
        // The count as the wait starts, read once this thread is queued: a
        // notification before that is missed as by any condition variable
        // (and `notify_one` says it woke nobody); one after it wakes this
        // thread, whether parked or between two slices.
        let seen = Cell::new(0);
        let start = || {
            seen.set(self.notifies.load(SeqCst));
            false
        };
        let first = self.inner.wait_unless(raw, Some(acquire::GRACE), &start);
        if !first.timed_out() {
            return None;
        }
        let stale = || self.notifies.load(SeqCst) != seen.get();
        let Some(waiting) = waits::block_on(&self.meta, WaitKind::Condvar, site) else {
            self.inner.wait_unless(raw, None, &stale);
            return None;
        };
        loop {
            let slice = self
                .inner
                .wait_unless(raw, Some(nobody_left::SLICE), &stale);
            if !slice.timed_out() {
                return None;
            }
            if let Some(stuck) = waiting.stuck() {
                return Some(stuck);
            }
        }
    }

    /// Releases the mutex, waits for a notification, re-acquires the mutex.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        let site = Site::caller();
        // Registered until the wait is over (to the end of this call).
        let _registered = self.hold_ticket(guard, site);
        if let Some(stuck) = self.around(guard, false, |g| self.wait_untimed(g, site)) {
            stuck.break_here();
        }
    }

    /// Registers this thread, for an untimed wait at `site`, among the
    /// waiters that hold locks besides `guard`'s mutex, if it is one (see
    /// `runtime::hold_and_wait`); it leaves when the ticket drops.
    fn hold_ticket<T: ?Sized>(
        &self,
        guard: &MutexGuard<'_, T>,
        site: Site,
    ) -> Option<hold_and_wait::Ticket<'_>> {
        if !guard.tracked {
            return None;
        }
        self.hold_waiters.waiting(Some(&guard.mutex.meta), site)
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
        mut condition: impl FnMut(&mut T) -> bool,
    ) {
        let site = Site::caller();
        // Registered until the wait is over (to the end of this call).
        let _registered = self.hold_ticket(guard, site);
        let stuck = self.around(guard, false, |g| {
            while condition(&mut **g) {
                if let Some(stuck) = self.wait_untimed(g, site) {
                    return Some(stuck);
                }
            }
            None
        });
        if let Some(stuck) = stuck {
            stuck.break_here();
        }
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
