//! `ReentrantMutex<T>`: a lock its owner may take again. Re-entry is not a
//! self-deadlock, but two reentrant mutexes taken in opposite orders still
//! form a lock-order cycle like any two locks.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::fmt::guard_fmt;
use crate::sync::mapped::MappedReentrantMutexGuard;
use crate::sync::not_send::NotSend;
use crate::sync::relock;
use crate::sync::value_traits::value_traits;

/// A reentrant mutex with parking_lot's API. Guards give shared access only
/// (several guards of one thread may be alive at once).
///
/// ```
/// use lockcheck::ReentrantMutex;
/// let log = ReentrantMutex::named("log", ());
/// let outer = log.lock();
/// let inner = log.lock(); // same thread: fine
/// drop(inner);
/// drop(outer);
/// ```
// `repr(C)`: the meta's cold end next to the raw lock (see `LockMeta`).
#[repr(C)]
pub struct ReentrantMutex<T: ?Sized> {
    pub(crate) meta: LockMeta,
    inner: crate::raw::ReentrantMutex<T>,
}

impl<T> ReentrantMutex<T> {
    /// A new unlocked reentrant mutex; its creation site is its class.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Self::with_meta(None, Location::caller(), value)
    }

    /// A new unlocked reentrant mutex with a name for reports (and its class).
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::with_meta(Some(name), Location::caller(), value)
    }

    const fn with_meta(
        name: Option<&'static str>,
        site: &'static Location<'static>,
        value: T,
    ) -> Self {
        ReentrantMutex {
            meta: LockMeta::new(Self::KIND, name, site),
            inner: lock_api::ReentrantMutex::new(value),
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

impl<T: ?Sized> ReentrantMutex<T> {
    /// The kind, a constant: the fast path folds away what does not apply
    /// to it (modes).
    pub(crate) const KIND: LockKind = LockKind::ReentrantMutex;

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
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Locks, blocking until free; returns at once if this thread owns it.
    /// No fast path of its own: a re-entry must be counted, which the
    /// runtime's fast path leaves to its checked one.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        let (inner, tracked) = self.lock_at(Location::caller());
        self.guard(inner, tracked)
    }

    /// Locks if free now or owned by this thread (no order edge).
    #[track_caller]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock())
    }

    /// Locks if free within `timeout` (a try: no order edge).
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_for(timeout))
    }

    /// Locks if free before `deadline` or owned by this thread (a try: no
    /// order edge).
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_until(deadline))
    }

    #[track_caller]
    fn try_with<'a>(
        &'a self,
        attempt: impl FnOnce() -> Option<crate::raw::ReentrantMutexGuard<'a, T>>,
    ) -> Option<ReentrantMutexGuard<'a, T>> {
        acquire::try_acquire(
            &self.meta,
            AcquireMode::Exclusive,
            Location::caller(),
            attempt,
        )
        .map(|(inner, tracked)| self.guard(inner, tracked))
    }

    fn guard<'a>(
        &'a self,
        inner: crate::raw::ReentrantMutexGuard<'a, T>,
        tracked: bool,
    ) -> ReentrantMutexGuard<'a, T> {
        ReentrantMutexGuard {
            lock: self,
            inner,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// A raw pointer to the value (see parking_lot's `data_ptr`).
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Releases one level without a guard, as parking_lot's `force_unlock`.
    /// Releasing a mutex that this thread does not hold is reported as
    /// `lock-misuse`.
    ///
    /// # Safety
    /// As parking_lot: this thread must hold a level of the mutex through a
    /// forgotten guard.
    #[track_caller]
    pub unsafe fn force_unlock(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock() }
    }

    /// As [`Self::force_unlock`], unlocking fairly.
    ///
    /// # Safety
    /// As [`Self::force_unlock`].
    #[track_caller]
    pub unsafe fn force_unlock_fair(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_fair() }
    }

    /// A checked blocking acquisition at `site`, for a guard that takes its
    /// level again (see [`ReentrantMutexGuard::unlocked`]).
    #[track_caller]
    fn lock_at(
        &self,
        site: &'static Location<'static>,
    ) -> (crate::raw::ReentrantMutexGuard<'_, T>, bool) {
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

    /// Releases a guard's hold of one level, if tracked (the raw guard
    /// unlocks after).
    fn release(&self, tracked: bool) {
        if tracked {
            acquire::release(&self.meta, Self::KIND, AcquireMode::Exclusive);
        }
    }

    /// The guard of a level whose guard was taken apart
    /// ([`ReentrantMutexGuard::into_hold`]).
    ///
    /// # Safety
    /// This thread holds that level, and `tracked` is its own.
    pub(crate) unsafe fn guard_from_hold(&self, tracked: bool) -> ReentrantMutexGuard<'_, T> {
        // SAFETY: the caller's level is passed to the new guard.
        self.guard(unsafe { self.inner.make_guard_unchecked() }, tracked)
    }

    /// Whether this thread holds the lock.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.inner.is_owned_by_current_thread()
    }
}

/// A new unlocked [`ReentrantMutex`], as parking_lot's
/// `const_reentrant_mutex` (usable in a `static`); its creation site is its
/// class.
///
/// ```
/// static LOG: lockcheck::ReentrantMutex<()> = lockcheck::const_reentrant_mutex(());
/// let _outer = LOG.lock();
/// let _inner = LOG.lock();
/// ```
#[track_caller]
pub const fn const_reentrant_mutex<T>(value: T) -> ReentrantMutex<T> {
    ReentrantMutex::new(value)
}

value_traits!(impl[] for ReentrantMutex<T>);

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Through the raw lock, as parking_lot shows it: the owner
        // re-enters it and anyone else finds it taken (no hold to check).
        let data = self.inner.try_lock();
        crate::sync::fmt::debug_lock(f, "ReentrantMutex", self.name(), data.as_deref())
    }
}

/// Holds a [`ReentrantMutex`]; releases one level of it when dropped. Not
/// `Send`, whatever features parking_lot has on (the thread that locked
/// must release); `Sync` where `T` is, as parking_lot's.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ReentrantMutexGuard<'a, T: ?Sized> {
    lock: &'a ReentrantMutex<T>,
    inner: crate::raw::ReentrantMutexGuard<'a, T>,
    pub(crate) tracked: bool,
    _not_send: NotSend,
}

// SAFETY: as parking_lot's guard, which is `Sync` where `T` is: a shared
// guard gives other threads `&T` and nothing else (its lock is private, and
// its `Drop` runs where it is owned).
unsafe impl<T: ?Sized + Sync> Sync for ReentrantMutexGuard<'_, T> {}

impl<'a, T: ?Sized> ReentrantMutexGuard<'a, T> {
    /// Narrows the guard to a part of the value: its level of the mutex
    /// stays held (and tracked) until the mapped guard is dropped. If `f`
    /// panics, the guard is dropped: released and unlocked.
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> MappedReentrantMutexGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        match Self::try_map_or_err(s, |v| Ok::<_, std::convert::Infallible>(f(v))) {
            Ok(mapped) => mapped,
            Err((_, never)) => match never {},
        }
    }

    /// As [`Self::map`] where `f` may find no part: then the guard comes
    /// back unchanged.
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<MappedReentrantMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        Self::try_map_or_err(s, |v| f(v).ok_or(())).map_err(|(s, ())| s)
    }

    /// As [`Self::try_map`], where `f` gives an error instead of `None`:
    /// then the guard comes back unchanged, with the error.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedReentrantMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let data = match f(&*s).map(|d| d as *const U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (lock, inner, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::ReentrantMutexGuard::map(inner, |_| unsafe { &*data });
        Ok(MappedReentrantMutexGuard::holding(
            &lock.meta,
            ReentrantMutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        ))
    }

    /// Releases this level of the mutex, runs `f`, and takes it again
    /// (parking_lot's `ReentrantMutexGuard::unlocked`): nothing `f` locks
    /// is ordered after this level (another level this thread holds still
    /// is), and the re-lock is a checked acquisition at this call. It runs
    /// even if `f` panics.
    #[track_caller]
    pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(false, Location::caller(), f)
    }

    /// As [`Self::unlocked`], unlocking fairly.
    #[track_caller]
    pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(true, Location::caller(), f)
    }

    /// Lets a waiting thread have the mutex, then takes it back: checked as
    /// a fair unlock and a re-lock at this call.
    #[track_caller]
    pub fn bump(s: &mut Self) {
        s.let_go(true, Location::caller(), || ())
    }

    /// Unlocks this level fairly; released through the detectors like a
    /// drop.
    pub fn unlock_fair(s: Self) {
        let (lock, inner, tracked) = s.into_parts();
        lock.release(tracked);
        crate::raw::ReentrantMutexGuard::unlock_fair(inner);
    }

    /// Releases the hold, unlocks, runs `f` and re-locks at `site`.
    fn let_go<F: FnOnce() -> U, U>(
        &mut self,
        fair: bool,
        site: &'static Location<'static>,
        f: F,
    ) -> U {
        let lock = self.lock;
        lock.release(self.tracked);
        // SAFETY: the raw guard is moved out here and a new one written
        // back by `_relock` before the guard is used or dropped again
        // (`relock::relock` returns one or aborts).
        let raw = unsafe { std::ptr::read(&self.inner) };
        if fair {
            crate::raw::ReentrantMutexGuard::unlock_fair(raw);
        } else {
            drop(raw);
        }
        let _relock = relock::OnDrop::new(|| {
            let (again, stopped) = relock::relock(
                site,
                || lock.lock_at(site),
                || lock.inner.try_lock_for(relock::RETAKE).map(|g| (g, false)),
            )
            .into_parts();
            let (raw, tracked) = again;
            // SAFETY: the field was moved out above.
            unsafe { std::ptr::write(&mut self.inner, raw) };
            self.tracked = tracked;
            relock::resume(stopped);
        });
        f()
    }

    /// Whether the hold is tracked, with the guard gone without unlocking:
    /// the caller takes the level over.
    pub(crate) fn into_hold(self) -> bool {
        let (_, inner, tracked) = self.into_parts();
        std::mem::forget(inner);
        tracked
    }

    /// The mutex this guard holds.
    pub fn remutex(s: &Self) -> &'a ReentrantMutex<T> {
        s.lock
    }

    fn into_parts(
        self,
    ) -> (
        &'a ReentrantMutex<T>,
        crate::raw::ReentrantMutexGuard<'a, T>,
        bool,
    ) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out once.
        unsafe { (this.lock, std::ptr::read(&this.inner), this.tracked) }
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.tracked {
            acquire::release(
                &self.lock.meta,
                ReentrantMutex::<T>::KIND,
                AcquireMode::Exclusive,
            );
        }
    }
}

impl<T: ?Sized> Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

guard_fmt!(impl[] for ReentrantMutexGuard<'_, T>);
