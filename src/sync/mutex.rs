//! `GenericMutex<R, T>`: parking_lot's mutex, with every acquisition
//! checked, over either raw mutex ([`MutexRaw`]); [`Mutex<T>`] and
//! [`FairMutex<T>`](crate::FairMutex) are its two instances, as
//! parking_lot's are `lock_api::Mutex<R, T>`'s.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::fast;
use crate::sync::mutex_raw::MutexRaw;
use crate::sync::raw::RawMutex;
use crate::sync::value_traits::value_traits;

pub use crate::sync::mutex_guard::{GenericMutexGuard, MutexGuard};

/// The raw mutex's lock_api guard, as the checked mutex locks through it.
type RawGuard<'a, R, T> = lock_api::MutexGuard<'a, <R as MutexRaw>::Lock, T>;

/// A mutual-exclusion lock with parking_lot's API over the raw mutex `R`,
/// whose acquisitions are checked for self-deadlock, lock-order cycles and
/// deadlocks. Used by its names: [`Mutex<T>`] (`R` = [`RawMutex`]) and
/// [`FairMutex<T>`](crate::FairMutex) (`R` =
/// [`RawFairMutex`](crate::RawFairMutex)); `R` tells only how an unlock
/// hands the lock on, and the detectors see both as mutexes.
// `repr(C)`: the meta's cold end next to the raw lock (see `LockMeta`).
#[repr(C)]
pub struct GenericMutex<R: MutexRaw, T: ?Sized> {
    pub(crate) meta: LockMeta,
    pub(crate) inner: lock_api::Mutex<R::Lock, T>,
}

/// A mutual-exclusion lock with parking_lot's API, whose acquisitions are
/// checked for self-deadlock, lock-order cycles and deadlocks.
///
/// ```
/// use lockcheck::Mutex;
/// let noodles = Mutex::named("noodles", 0);
/// *noodles.lock() += 1;
/// assert_eq!(noodles.into_inner(), 1);
/// ```
pub type Mutex<T> = GenericMutex<RawMutex, T>;

impl<R: MutexRaw, T> GenericMutex<R, T> {
    /// A new unlocked mutex; its creation site is its class.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Self::with_meta(None, Location::caller(), value)
    }

    /// A new unlocked mutex with a name for reports (and its class).
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::with_meta(Some(name), Location::caller(), value)
    }

    const fn with_meta(
        name: Option<&'static str>,
        site: &'static Location<'static>,
        value: T,
    ) -> Self {
        GenericMutex {
            meta: LockMeta::new(Self::KIND, name, site),
            inner: lock_api::Mutex::new(value),
        }
    }

    /// Names the lock with a name made at run time (names are interned:
    /// each distinct name is stored once, for the life of the process).
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.meta.set_name(name.into());
        self
    }

    /// Consumes the lock, returning its value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<R: MutexRaw, T: ?Sized> GenericMutex<R, T> {
    /// The kind, a constant: the fast path folds away what does not apply
    /// to it (re-entry counts, modes). Fair or not, a mutex.
    pub(crate) const KIND: LockKind = LockKind::Mutex;

    /// Locks, blocking until the lock is free. Re-locking from the thread that
    /// holds it is a self-deadlock: reported (and the thread panics) instead of
    /// hanging.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> GenericMutexGuard<'_, R, T> {
        let mode = AcquireMode::Exclusive;
        match fast::try_fast(
            &self.meta,
            Self::KIND,
            mode,
            &|| self.inner.try_lock(),
            || self.inner.lock(),
        ) {
            Some((inner, tracked)) => GenericMutexGuard::holding(self, inner, tracked),
            None => self.lock_slow(),
        }
    }

    /// [`Self::lock`] past its fast path.
    #[inline(never)]
    #[track_caller]
    fn lock_slow(&self) -> GenericMutexGuard<'_, R, T> {
        let (inner, tracked) = self.lock_at(Location::caller());
        GenericMutexGuard::holding(self, inner, tracked)
    }

    /// A checked blocking acquisition at `site`: the slow path, and the
    /// re-lock of a guard that let its mutex go (see
    /// [`GenericMutexGuard::unlocked`]).
    #[track_caller]
    pub(crate) fn lock_at(&self, site: &'static Location<'static>) -> (RawGuard<'_, R, T>, bool) {
        acquire::acquire(
            &self.meta,
            Self::KIND,
            AcquireMode::Exclusive,
            site,
            acquire::RawAcquire {
                try_now: || self.inner.try_lock(),
                try_for: |t| self.inner.try_lock_for(t),
                block: || self.inner.lock(),
            },
        )
    }

    /// Locks if the lock is free now. Adds no lock-order edge (it cannot wait).
    #[track_caller]
    pub fn try_lock(&self) -> Option<GenericMutexGuard<'_, R, T>> {
        self.try_with(|| self.inner.try_lock())
    }

    /// Locks if the lock becomes free within `timeout`. A timed wait cannot
    /// hang, so it counts as a try: no edge into this lock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<GenericMutexGuard<'_, R, T>> {
        self.try_with(|| self.inner.try_lock_for(timeout))
    }

    /// Locks if the lock becomes free before `deadline`; like [`Self::try_lock_for`].
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<GenericMutexGuard<'_, R, T>> {
        self.try_with(|| self.inner.try_lock_until(deadline))
    }

    #[track_caller]
    fn try_with<'a>(
        &'a self,
        attempt: impl FnOnce() -> Option<RawGuard<'a, R, T>>,
    ) -> Option<GenericMutexGuard<'a, R, T>> {
        acquire::try_acquire(
            &self.meta,
            AcquireMode::Exclusive,
            Location::caller(),
            attempt,
        )
        .map(|(inner, tracked)| GenericMutexGuard::holding(self, inner, tracked))
    }

    /// Releases a guard's hold (if tracked) and unlocks, fairly or not.
    pub(crate) fn release(&self, tracked: bool, fair: bool) {
        if tracked {
            acquire::release(&self.meta, Self::KIND, AcquireMode::Exclusive);
        }
        // SAFETY: called for a guard that held the mutex locked, whose
        // parking_lot guard was forgotten, and which is gone or re-locks
        // before it is used again.
        unsafe {
            if fair {
                self.inner.force_unlock_fair();
            } else {
                self.inner.force_unlock();
            }
        }
    }

    /// Whether some thread holds the lock now.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// The name given at creation, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }

    /// The value, through a unique borrow: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// A raw pointer to the value (see parking_lot's `data_ptr`).
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Unlocks without a guard, as parking_lot's `force_unlock`. Unlocking a
    /// mutex that this thread does not hold is reported as `lock-misuse`.
    ///
    /// # Safety
    /// As parking_lot: the mutex must be locked, and the guard that locked it
    /// must have been forgotten (`mem::forget`).
    #[track_caller]
    pub unsafe fn force_unlock(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock() }
    }

    /// As [`Self::force_unlock`], unlocking fairly: a waiting thread takes
    /// the mutex first (as every unlock of a fair mutex does).
    ///
    /// # Safety
    /// As [`Self::force_unlock`].
    #[track_caller]
    pub unsafe fn force_unlock_fair(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_fair() }
    }

    /// A guard for this thread's hold of the mutex, whose guard was
    /// forgotten, as lock_api's `make_guard_unchecked`: the new guard takes
    /// the hold over, and its drop releases it through the detectors.
    ///
    /// ```
    /// let m = lockcheck::Mutex::new(1);
    /// std::mem::forget(m.lock());
    /// // SAFETY: this thread holds `m`, through the forgotten guard.
    /// let g = unsafe { m.make_guard_unchecked() };
    /// assert_eq!(*g, 1);
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    ///
    /// # Safety
    /// As lock_api's: this thread holds the mutex, and nothing else will
    /// unlock that hold.
    pub unsafe fn make_guard_unchecked(&self) -> GenericMutexGuard<'_, R, T> {
        let tracked = crate::sync::unchecked::held_here(&self.meta, AcquireMode::Exclusive);
        // SAFETY: the caller's hold passes to the new guard.
        unsafe { GenericMutexGuard::from_parts(self, tracked) }
    }
}

/// A new unlocked [`Mutex`], as parking_lot's `const_mutex` (usable in a
/// `static`); its creation site is its class.
///
/// ```
/// static COUNT: lockcheck::Mutex<u32> = lockcheck::const_mutex(0);
/// *COUNT.lock() += 1;
/// assert_eq!(*COUNT.lock(), 1);
/// ```
#[track_caller]
pub const fn const_mutex<T>(value: T) -> Mutex<T> {
    Mutex::new(value)
}

value_traits!(impl[R: MutexRaw,] for GenericMutex<R, T>);

impl<R: MutexRaw, T: ?Sized + fmt::Debug> fmt::Debug for GenericMutex<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::sync::fmt::debug_lock(f, R::NAME, self.name(), self.inner.try_lock().as_deref())
    }
}
