//! parking_lot 0.13's shape, for a shim crate of it:
//!
//! ```toml
//! # Cargo.toml of a crate named `parking_lot`, version 0.13, patched in
//! # with [patch.crates-io] (the repository's shims/parking_lot-0.13 is one)
//! [dependencies]
//! lockcheck = { version = "0.1", features = ["parking_lot_013"] }
//! ```
//! ```ignore
//! // its src/lib.rs
//! pub use lockcheck::parking_lot_013::*;
//! ```
//!
//! What 0.13 changed from 0.12, and what this module does about it:
//! - recursive reads moved from `RwLock` to a type of their own,
//!   [`RecursiveRwLock`], whose `read` is recursive (never queued behind a
//!   waiting writer): here, a lockcheck [`RwLock`] whose
//!   reads are its `read_recursive`, checked as such;
//! - `const_mutex`, `const_fair_mutex`, `const_rwlock` and
//!   `const_reentrant_mutex` are gone (`new` is `const`): not re-exported
//!   here;
//! - `Once` gained `new_completed`, `is_completed`, `wait` and
//!   `wait_force`, `OnceState` gained `is_poisoned` and `is_completed`:
//!   [`crate::Once`] has them;
//! - `Condvar` became lock_api 0.5's `Condvar<RawCondvar>`; its methods are
//!   those of [`crate::Condvar`], taking lockcheck's guards;
//! - lock_api moved to 0.5, whose raw-lock traits hand out guard tokens:
//!   the `lock_api` re-exported here is 0.5, and lockcheck's raw types
//!   implement its traits (with a stateless token) as well as 0.4's, so
//!   `lock_api::Mutex<RawMutex, T>` and the rest are checked; lock_api 0.5's
//!   methods are `#[track_caller]`, so their sites are the caller's lines.
//!   [`RawCondvar`] serves lock_api 0.5's `Condvar<RawCondvar>` over
//!   `lock_api::Mutex<RawMutex, T>`; [`Condvar`] is lockcheck's own, on
//!   lockcheck's guards. Not offered: 0.13's token-taking
//!   `force_unlock`/`make_*_guard_unchecked` on lockcheck's own locks,
//!   which keep 0.12's token-less shape, and `Condvar::raw`.
//!
//! Everything else is the same item as at lockcheck's root, checked the
//! same way.
//!
//! ```
//! use lockcheck::parking_lot_013 as parking_lot;
//! let table = parking_lot::RecursiveRwLock::new(vec![1]);
//! let outer = table.read();
//! let inner = table.read(); // recursive: no self-deadlock hazard
//! assert_eq!(outer.len() + inner.len(), 2);
//! ```

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::sync::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard, Condvar, FairMutex, FairMutexGuard, MappedFairMutexGuard,
    MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard, MappedRwLockWriteGuard,
    Mutex, MutexGuard, Once, OnceState, RawFairMutex, RawMutex, RawRwLock, RawThreadId,
    ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard, WaitTimeoutResult,
};
/// lock_api 0.5, as parking_lot 0.13 re-exports it: its generic types take
/// lockcheck's raw locks, which implement its traits (and lock_api 0.4's).
pub use ::lock_api_05 as lock_api;

/// A reader-writer lock whose reads are recursive, as parking_lot 0.13's
/// `RecursiveRwLock`: a thread may read it again while it reads it, even
/// with a writer waiting (a plain `RwLock`'s second read would queue
/// behind that writer and deadlock). Checked as lockcheck's
/// [`RwLock`] with every read its `read_recursive`: a write
/// under the thread's own read is still a `self-deadlock`, and orders with
/// other locks are still checked for cycles.
///
/// Everything not named here (writes, upgradable reads, `force_unlock_*`,
/// `data_ptr`, `is_locked`, …) is the inner `RwLock`'s, reached through
/// `Deref`.
///
/// ```
/// use lockcheck::parking_lot_013::RecursiveRwLock;
/// let lock = RecursiveRwLock::new(1);
/// *lock.write() += 1;
/// let a = lock.read();
/// let b = lock.read();
/// assert_eq!(*a + *b, 4);
/// ```
#[repr(transparent)]
pub struct RecursiveRwLock<T: ?Sized> {
    inner: RwLock<T>,
}

/// A read of a [`RecursiveRwLock`] (a recursive one): lockcheck's read guard.
pub type RecursiveRwLockReadGuard<'a, T> = RwLockReadGuard<'a, T>;
/// A write of a [`RecursiveRwLock`]: lockcheck's write guard.
pub type RecursiveRwLockWriteGuard<'a, T> = RwLockWriteGuard<'a, T>;
/// An upgradable read of a [`RecursiveRwLock`]: lockcheck's upgradable guard.
pub type RecursiveRwLockUpgradableReadGuard<'a, T> = RwLockUpgradableReadGuard<'a, T>;
/// A mapped read of a [`RecursiveRwLock`]: lockcheck's mapped read guard.
pub type MappedRecursiveRwLockReadGuard<'a, T> = MappedRwLockReadGuard<'a, T>;
/// A mapped write of a [`RecursiveRwLock`]: lockcheck's mapped write guard.
pub type MappedRecursiveRwLockWriteGuard<'a, T> = MappedRwLockWriteGuard<'a, T>;

impl<T> RecursiveRwLock<T> {
    /// A new unlocked lock; its creation site is its class.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RecursiveRwLock {
            inner: RwLock::new(value),
        }
    }

    /// A new unlocked lock with a name for reports (and its class).
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        RecursiveRwLock {
            inner: RwLock::named(name, value),
        }
    }

    /// Consumes the lock, returning its value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RecursiveRwLock<T> {
    /// Reads, recursively: never queued behind a waiting writer, so a
    /// thread that reads already may read again. Checked as
    /// [`RwLock::read_recursive`](crate::RwLock::read_recursive).
    #[inline]
    #[track_caller]
    pub fn read(&self) -> RecursiveRwLockReadGuard<'_, T> {
        self.inner.read_recursive()
    }

    /// Reads if no writer holds the lock now (a try: no order edge).
    #[track_caller]
    pub fn try_read(&self) -> Option<RecursiveRwLockReadGuard<'_, T>> {
        self.inner.try_read_recursive()
    }

    /// Reads if no writer holds the lock within `timeout` (a try).
    #[track_caller]
    pub fn try_read_for(&self, timeout: Duration) -> Option<RecursiveRwLockReadGuard<'_, T>> {
        self.inner.try_read_recursive_for(timeout)
    }

    /// Reads if no writer holds the lock before `deadline` (a try).
    #[track_caller]
    pub fn try_read_until(&self, deadline: Instant) -> Option<RecursiveRwLockReadGuard<'_, T>> {
        self.inner.try_read_recursive_until(deadline)
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// The inner lock as an `Arc`, for the `Arc` guards (which hold an
    /// `Arc<RwLock<T>>`).
    fn arc_inner(self: &Arc<Self>) -> Arc<RwLock<T>> {
        let raw = Arc::into_raw(Arc::clone(self)) as *const RwLock<T>;
        // SAFETY: `RecursiveRwLock` is a transparent wrapper of its
        // `RwLock`, so the allocation is an `Arc<RwLock<T>>`'s too; the
        // strong count taken by the clone passes to the new `Arc`.
        unsafe { Arc::from_raw(raw) }
    }

    /// As [`Self::read`], for an `Arc` of the lock.
    #[track_caller]
    pub fn read_arc(self: &Arc<Self>) -> ArcRwLockReadGuard<RawRwLockRecursive, T> {
        ArcRwLockReadGuard::renamed(self.arc_inner().read_arc_recursive())
    }

    /// As [`Self::try_read`], for an `Arc` of the lock.
    #[track_caller]
    pub fn try_read_arc(self: &Arc<Self>) -> Option<ArcRwLockReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_read_recursive_arc()
            .map(ArcRwLockReadGuard::renamed)
    }

    /// As [`Self::try_read_for`], for an `Arc` of the lock.
    #[track_caller]
    pub fn try_read_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_read_arc_recursive_for(timeout)
            .map(ArcRwLockReadGuard::renamed)
    }

    /// As [`Self::try_read_until`], for an `Arc` of the lock.
    #[track_caller]
    pub fn try_read_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_read_arc_recursive_until(deadline)
            .map(ArcRwLockReadGuard::renamed)
    }

    /// Writes, through an `Arc` of the lock.
    #[track_caller]
    pub fn write_arc(self: &Arc<Self>) -> ArcRwLockWriteGuard<RawRwLockRecursive, T> {
        ArcRwLockWriteGuard::renamed(self.arc_inner().write_arc())
    }

    /// Writes if the lock is free now, through an `Arc` of it.
    #[track_caller]
    pub fn try_write_arc(self: &Arc<Self>) -> Option<ArcRwLockWriteGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_write_arc()
            .map(ArcRwLockWriteGuard::renamed)
    }

    /// Writes if the lock is free within `timeout`, through an `Arc` of it.
    #[track_caller]
    pub fn try_write_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockWriteGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_write_arc_for(timeout)
            .map(ArcRwLockWriteGuard::renamed)
    }

    /// Writes if the lock is free before `deadline`, through an `Arc` of it.
    #[track_caller]
    pub fn try_write_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockWriteGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_write_arc_until(deadline)
            .map(ArcRwLockWriteGuard::renamed)
    }

    /// An upgradable read, through an `Arc` of the lock.
    #[track_caller]
    pub fn upgradable_read_arc(
        self: &Arc<Self>,
    ) -> ArcRwLockUpgradableReadGuard<RawRwLockRecursive, T> {
        ArcRwLockUpgradableReadGuard::renamed(self.arc_inner().upgradable_read_arc())
    }

    /// An upgradable read if one is free now, through an `Arc` of the lock.
    #[track_caller]
    pub fn try_upgradable_read_arc(
        self: &Arc<Self>,
    ) -> Option<ArcRwLockUpgradableReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_upgradable_read_arc()
            .map(ArcRwLockUpgradableReadGuard::renamed)
    }

    /// An upgradable read within `timeout`, through an `Arc` of the lock.
    #[track_caller]
    pub fn try_upgradable_read_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockUpgradableReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_upgradable_read_arc_for(timeout)
            .map(ArcRwLockUpgradableReadGuard::renamed)
    }

    /// An upgradable read before `deadline`, through an `Arc` of the lock.
    #[track_caller]
    pub fn try_upgradable_read_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockUpgradableReadGuard<RawRwLockRecursive, T>> {
        self.arc_inner()
            .try_upgradable_read_arc_until(deadline)
            .map(ArcRwLockUpgradableReadGuard::renamed)
    }

    /// An `Arc` read guard for this thread's read hold, whose guard was
    /// forgotten.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for reading, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_arc_read_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockReadGuard<RawRwLockRecursive, T> {
        // SAFETY: the caller's contract.
        ArcRwLockReadGuard::renamed(unsafe { self.arc_inner().make_arc_read_guard_unchecked() })
    }

    /// An `Arc` write guard for this thread's write hold, whose guard was
    /// forgotten.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for writing, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_arc_write_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockWriteGuard<RawRwLockRecursive, T> {
        // SAFETY: the caller's contract.
        ArcRwLockWriteGuard::renamed(unsafe { self.arc_inner().make_arc_write_guard_unchecked() })
    }

    /// An `Arc` upgradable guard for this thread's upgradable read hold,
    /// whose guard was forgotten.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for upgradable reading,
    /// and nothing else will unlock that hold.
    pub unsafe fn make_upgradable_arc_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockUpgradableReadGuard<RawRwLockRecursive, T> {
        // SAFETY: the caller's contract.
        ArcRwLockUpgradableReadGuard::renamed(unsafe {
            self.arc_inner().make_upgradable_arc_guard_unchecked()
        })
    }
}

/// The inner lock's API: writes, upgradable reads, `force_unlock_*`,
/// `data_ptr`, `is_locked`, `make_*_guard_unchecked`.
impl<T: ?Sized> Deref for RecursiveRwLock<T> {
    type Target = RwLock<T>;
    fn deref(&self) -> &RwLock<T> {
        &self.inner
    }
}

impl<T> From<T> for RecursiveRwLock<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        RecursiveRwLock::new(value)
    }
}

impl<T: Default> Default for RecursiveRwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RecursiveRwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RecursiveRwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RecursiveRwLock");
        if let Some(name) = self.inner.name() {
            d.field("name", &name);
        }
        match self.inner.try_read_recursive() {
            Some(v) => d.field("data", &&*v),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// parking_lot 0.13's raw lock of [`RecursiveRwLock`], for lock_api's
/// generic `RwLock<RawRwLockRecursive, T>` (lock_api 0.5's, and 0.4's): a
/// [`RawRwLock`] whose shared locks are all recursive ones. Checked and
/// priced as `RawRwLock`.
///
/// ```
/// use lockcheck::parking_lot_013::{lock_api, RawRwLockRecursive};
/// let lock: lock_api::RwLock<RawRwLockRecursive, u32> = lock_api::RwLock::new(1);
/// let a = lock.read();
/// let b = lock.read(); // recursive: no hazard
/// assert_eq!(*a + *b, 2);
/// ```
#[derive(Debug)]
pub struct RawRwLockRecursive(RawRwLock);

// (The traits this file implements are in scope in their impls; these two
// are only called.)
use ::lock_api::{RawRwLockRecursive as _, RawRwLockRecursiveTimed as _};

// SAFETY: every method is `RawRwLock`'s (a recursive shared lock is a
// shared lock), whose guarantees it passes on.
unsafe impl ::lock_api::RawRwLock for RawRwLockRecursive {
    const INIT: Self = RawRwLockRecursive(<RawRwLock as ::lock_api::RawRwLock>::INIT);
    type GuardMarker = ::lock_api::GuardNoSend;

    #[track_caller]
    fn lock_shared(&self) {
        self.0.lock_shared_recursive()
    }

    #[track_caller]
    fn try_lock_shared(&self) -> bool {
        self.0.try_lock_shared_recursive()
    }

    unsafe fn unlock_shared(&self) {
        // SAFETY: the caller holds a shared lock.
        unsafe { self.0.unlock_shared() }
    }

    #[track_caller]
    fn lock_exclusive(&self) {
        self.0.lock_exclusive()
    }

    #[track_caller]
    fn try_lock_exclusive(&self) -> bool {
        self.0.try_lock_exclusive()
    }

    unsafe fn unlock_exclusive(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { self.0.unlock_exclusive() }
    }

    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }

    fn is_locked_exclusive(&self) -> bool {
        self.0.is_locked_exclusive()
    }
}

// SAFETY (each below): as above, method for method.
unsafe impl ::lock_api::RawRwLockFair for RawRwLockRecursive {
    unsafe fn unlock_shared_fair(&self) {
        // SAFETY: the caller holds a shared lock.
        unsafe { self.0.unlock_shared_fair() }
    }

    unsafe fn unlock_exclusive_fair(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { self.0.unlock_exclusive_fair() }
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockDowngrade for RawRwLockRecursive {
    unsafe fn downgrade(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { self.0.downgrade() }
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockTimed for RawRwLockRecursive {
    type Duration = Duration;
    type Instant = Instant;

    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        self.0.try_lock_shared_recursive_for(timeout)
    }

    #[track_caller]
    fn try_lock_shared_until(&self, deadline: Instant) -> bool {
        self.0.try_lock_shared_recursive_until(deadline)
    }

    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        self.0.try_lock_exclusive_for(timeout)
    }

    #[track_caller]
    fn try_lock_exclusive_until(&self, deadline: Instant) -> bool {
        self.0.try_lock_exclusive_until(deadline)
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockUpgrade for RawRwLockRecursive {
    #[track_caller]
    fn lock_upgradable(&self) {
        self.0.lock_upgradable()
    }

    #[track_caller]
    fn try_lock_upgradable(&self) -> bool {
        self.0.try_lock_upgradable()
    }

    unsafe fn unlock_upgradable(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.unlock_upgradable() }
    }

    #[track_caller]
    unsafe fn upgrade(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.upgrade() }
    }

    unsafe fn try_upgrade(&self) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.try_upgrade() }
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockUpgradeFair for RawRwLockRecursive {
    unsafe fn unlock_upgradable_fair(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.unlock_upgradable_fair() }
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockUpgradeDowngrade for RawRwLockRecursive {
    unsafe fn downgrade_upgradable(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.downgrade_upgradable() }
    }

    unsafe fn downgrade_to_upgradable(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { self.0.downgrade_to_upgradable() }
    }
}

// SAFETY: as above.
unsafe impl ::lock_api::RawRwLockUpgradeTimed for RawRwLockRecursive {
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        self.0.try_lock_upgradable_for(timeout)
    }

    #[track_caller]
    fn try_lock_upgradable_until(&self, deadline: Instant) -> bool {
        self.0.try_lock_upgradable_until(deadline)
    }

    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.try_upgrade_for(timeout) }
    }

    unsafe fn try_upgrade_until(&self, deadline: Instant) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { self.0.try_upgrade_until(deadline) }
    }
}

// lock_api 0.5's traits, through the lock_api 0.4 ones above, whose
// shared locks are recursive ones.
crate::sync::raw_05::raw_rwlock_05!(
    RawRwLockRecursive,
    ::lock_api::RawRwLock::lock_shared,
    ::lock_api::RawRwLock::try_lock_shared,
    ::lock_api::RawRwLockTimed::try_lock_shared_for,
    ::lock_api::RawRwLockTimed::try_lock_shared_until
);

/// parking_lot 0.13's raw condition variable, for lock_api 0.5's generic
/// `Condvar<RawCondvar>` over `lock_api::Mutex<RawMutex, T>` (lockcheck's
/// [`Condvar`] is the one for lockcheck's own `Mutex`). A wait releases the
/// mutex through the detectors, as its guard's drop would, and re-locks it
/// by a checked acquisition at the caller's line when it wakes, so what the
/// thread holds while it waits, and the order it re-takes the mutex in,
/// are checked as for any lock.
///
/// ```
/// use lockcheck::parking_lot_013::{lock_api, RawCondvar, RawMutex};
/// use std::sync::Arc;
/// let pair = Arc::new((
///     lock_api::Mutex::<RawMutex, bool>::new(false),
///     lock_api::Condvar::<RawCondvar>::new(),
/// ));
/// let other = Arc::clone(&pair);
/// let t = std::thread::spawn(move || {
///     *other.0.lock() = true;
///     other.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     pair.1.wait(&mut ready);
/// }
/// t.join().unwrap();
/// ```
///
/// Waiters sleep on a std condition variable of this one's, which counts
/// notifications: a notification sent after a waiter released the mutex
/// is never lost; like every condition variable's, a wait may also end
/// without one.
pub struct RawCondvar {
    /// Notifications sent, and threads waiting: changed under this lock,
    /// which a waiter takes before it releases the mutex.
    state: std::sync::Mutex<CondvarState>,
    woken: std::sync::Condvar,
}

struct CondvarState {
    sent: u64,
    waiting: usize,
}

impl RawCondvar {
    fn state(&self) -> std::sync::MutexGuard<'_, CondvarState> {
        // Every change is one statement: a panic elsewhere leaves it whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Releases `mutex`, sleeps until a notification (or `deadline`), and
    /// re-locks `mutex` at the caller's line. Whether it timed out.
    ///
    /// # Safety
    /// The caller holds `mutex`, with `guard` its token.
    #[track_caller]
    unsafe fn wait_until_internal(
        &self,
        mutex: &RawMutex,
        guard: &mut lock_api::GuardNoSend,
        deadline: Option<Instant>,
    ) -> bool {
        use lock_api::RawMutex as _;
        let mut state = self.state();
        let seen = state.sent;
        state.waiting += 1;
        // SAFETY: the caller holds `mutex` with this token; a fresh token
        // stands in for it until the re-lock below gives one back.
        unsafe { mutex.unlock(std::mem::replace(guard, lock_api::GuardNoSend::new())) };
        let mut timed_out = false;
        while state.sent == seen {
            match deadline {
                None => state = self.woken.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        timed_out = true;
                        break;
                    };
                    state = self
                        .woken
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        state.waiting -= 1;
        drop(state);
        *guard = mutex.lock();
        timed_out
    }
}

// SAFETY: a wait releases and re-takes the mutex, and a notification sent
// after the waiter released it wakes it (the count is read and the wait
// begun under `state`, which a notifier takes to count).
unsafe impl lock_api::RawCondvar for RawCondvar {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawCondvar {
        state: std::sync::Mutex::new(CondvarState {
            sent: 0,
            waiting: 0,
        }),
        woken: std::sync::Condvar::new(),
    };
    type RawMutex = RawMutex;

    #[track_caller]
    unsafe fn wait(&self, mutex: &RawMutex, guard: &mut lock_api::GuardNoSend) {
        // SAFETY: the caller's contract.
        unsafe { self.wait_until_internal(mutex, guard, None) };
    }

    fn notify_one(&self) -> bool {
        let mut state = self.state();
        if state.waiting == 0 {
            return false;
        }
        state.sent += 1;
        self.woken.notify_one();
        true
    }

    fn notify_all(&self) -> usize {
        let mut state = self.state();
        state.sent += 1;
        self.woken.notify_all();
        state.waiting
    }
}

// SAFETY: as above; a timed wait ends at its deadline at the earliest.
unsafe impl lock_api::RawCondvarTimed for RawCondvar {
    fn checked_duration_to_instant(timeout: &Duration) -> Option<Instant> {
        Instant::now().checked_add(*timeout)
    }

    // Not the trait's default: this one is `#[track_caller]`, so that the
    // re-lock is located at the caller's line.
    #[track_caller]
    unsafe fn wait_for(
        &self,
        mutex: &RawMutex,
        guard: &mut lock_api::GuardNoSend,
        timeout: &Duration,
    ) -> bool {
        // A timeout too far to represent is no deadline.
        let deadline = Instant::now().checked_add(*timeout);
        // SAFETY: the caller's contract.
        unsafe { self.wait_until_internal(mutex, guard, deadline) }
    }

    #[track_caller]
    unsafe fn wait_until(
        &self,
        mutex: &RawMutex,
        guard: &mut lock_api::GuardNoSend,
        timeout: &Instant,
    ) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.wait_until_internal(mutex, guard, Some(*timeout)) }
    }
}

impl fmt::Debug for RawCondvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawCondvar").finish_non_exhaustive()
    }
}
