//! `FairMutex<T>`: parking_lot's fair mutex (every unlock hands the lock
//! to a waiting thread, if any), with every acquisition checked as a
//! [`crate::Mutex`]'s: the same detectors, the same reports.

use std::fmt;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::mapped::MappedFairMutexGuard;
use crate::sync::not_send::NotSend;
use crate::sync::relock;

/// A fair mutual-exclusion lock with parking_lot's API: an unlock lets the
/// longest waiter in. To the detectors it is a mutex like
/// [`crate::Mutex`].
///
/// ```
/// use lockcheck::FairMutex;
/// let queue = FairMutex::named("queue", Vec::new());
/// queue.lock().push(1);
/// assert_eq!(queue.into_inner(), [1]);
/// ```
// `repr(C)`: the meta's cold end next to the raw lock (see `LockMeta`).
#[repr(C)]
pub struct FairMutex<T: ?Sized> {
    pub(crate) meta: LockMeta,
    inner: crate::raw::FairMutex<T>,
}

lock_basics!(FairMutex, FairMutex, LockKind::Mutex, "fair mutex");

/// A new unlocked [`FairMutex`], as parking_lot's `const_fair_mutex`
/// (usable in a `static`); its creation site is its class.
#[track_caller]
pub const fn const_fair_mutex<T>(value: T) -> FairMutex<T> {
    FairMutex::new(value)
}

impl<T> From<T> for FairMutex<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        FairMutex::new(value)
    }
}

impl<T: ?Sized> FairMutex<T> {
    /// Locks, blocking until the lock is free. Re-locking from the thread
    /// that holds it is a self-deadlock: reported instead of hanging.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> FairMutexGuard<'_, T> {
        fast_or!(
            self,
            AcquireMode::Exclusive,
            try_lock,
            lock,
            lock_slow,
            |inner, tracked| { self.guard(inner, tracked) }
        )
    }

    /// [`Self::lock`] past its fast path.
    #[inline(never)]
    #[track_caller]
    fn lock_slow(&self) -> FairMutexGuard<'_, T> {
        self.lock_at(Location::caller())
    }

    /// A checked blocking acquisition at `site`.
    #[track_caller]
    fn lock_at(&self, site: &'static Location<'static>) -> FairMutexGuard<'_, T> {
        let (inner, tracked) = acquire::acquire(
            &self.meta,
            Self::KIND,
            AcquireMode::Exclusive,
            site,
            acquire::RawAcquire {
                try_now: || self.inner.try_lock(),
                try_for: |t| self.inner.try_lock_for(t),
                block: || self.inner.lock(),
            },
        );
        self.guard(inner, tracked)
    }

    /// Locks if the lock is free now (no order edge).
    #[track_caller]
    pub fn try_lock(&self) -> Option<FairMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock())
    }

    /// Locks if the lock becomes free within `timeout` (a try: no order
    /// edge).
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<FairMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_for(timeout))
    }

    /// Locks if the lock becomes free before `deadline` (a try: no order
    /// edge).
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<FairMutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_until(deadline))
    }

    #[track_caller]
    fn try_with<'a>(
        &'a self,
        attempt: impl FnOnce() -> Option<crate::raw::FairMutexGuard<'a, T>>,
    ) -> Option<FairMutexGuard<'a, T>> {
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
        inner: crate::raw::FairMutexGuard<'a, T>,
        tracked: bool,
    ) -> FairMutexGuard<'a, T> {
        FairMutexGuard {
            mutex: self,
            inner,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// A raw pointer to the value (see parking_lot's `data_ptr`).
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Unlocks without a guard, as parking_lot's `force_unlock`; unlocking
    /// a mutex that this thread does not hold is reported as `lock-misuse`.
    ///
    /// # Safety
    /// As parking_lot: the mutex must be locked through a forgotten guard.
    #[track_caller]
    pub unsafe fn force_unlock(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock() }
    }

    /// As [`Self::force_unlock`] (every unlock of a fair mutex is fair).
    ///
    /// # Safety
    /// As [`Self::force_unlock`].
    #[track_caller]
    pub unsafe fn force_unlock_fair(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_fair() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for FairMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("FairMutex");
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        match self.inner.try_lock() {
            Some(v) => d.field("data", &&*v),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Holds a [`FairMutex`] locked; unlocks (fairly) when dropped. Not `Send`,
/// whatever features parking_lot has on (the thread that locked must
/// release); `Sync` where `T` is, as parking_lot's.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let m = lockcheck::FairMutex::new(0);
/// send(m.lock());
/// ```
#[must_use = "if unused the FairMutex will immediately unlock"]
pub struct FairMutexGuard<'a, T: ?Sized> {
    mutex: &'a FairMutex<T>,
    inner: crate::raw::FairMutexGuard<'a, T>,
    tracked: bool,
    _not_send: NotSend,
}

// SAFETY: as parking_lot's guard, which is `Sync` where `T` is: a shared
// guard gives other threads `&T` and nothing else (its mutex is reached
// only through `mutex()`, whose every safe way to the value locks it; every
// method that changes the hold takes the guard by value or `&mut`).
unsafe impl<T: ?Sized + Sync> Sync for FairMutexGuard<'_, T> {}

impl<'a, T: ?Sized> FairMutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub fn mutex(s: &Self) -> &'a FairMutex<T> {
        s.mutex
    }

    /// Narrows the guard to a part of the value: the mutex stays locked
    /// (and tracked) until the mapped guard is dropped. If `f` panics, the
    /// guard is dropped: released and unlocked.
    pub fn map<U: ?Sized, F>(mut s: Self, f: F) -> MappedFairMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *s);
        let (mutex, inner, tracked) = s.into_parts();
        // SAFETY: `data` points into the value the mutex still guards.
        let inner = crate::raw::FairMutexGuard::map(inner, |_| unsafe { &mut *data });
        MappedFairMutexGuard::holding(
            &mutex.meta,
            FairMutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        )
    }

    /// As [`Self::map`] where `f` may find no part: then the guard comes
    /// back unchanged.
    pub fn try_map<U: ?Sized, F>(mut s: Self, f: F) -> Result<MappedFairMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *s).map(|d| d as *mut U) else {
            return Err(s);
        };
        let (mutex, inner, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::FairMutexGuard::map(inner, |_| unsafe { &mut *data });
        Ok(MappedFairMutexGuard::holding(
            &mutex.meta,
            FairMutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        ))
    }

    /// As [`Self::try_map`], where `f` gives an error instead of `None`:
    /// then the guard comes back unchanged, with the error.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        mut s: Self,
        f: F,
    ) -> Result<MappedFairMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let data = match f(&mut *s).map(|d| d as *mut U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (mutex, inner, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::FairMutexGuard::map(inner, |_| unsafe { &mut *data });
        Ok(MappedFairMutexGuard::holding(
            &mutex.meta,
            FairMutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        ))
    }

    /// Unlocks the mutex, runs `f`, and locks it again: nothing `f` locks
    /// is ordered after this mutex, and the re-lock is a checked
    /// acquisition at this call. It runs even if `f` panics.
    #[track_caller]
    pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(Location::caller(), f)
    }

    /// As [`Self::unlocked`] (every unlock of a fair mutex is fair).
    #[track_caller]
    pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(Location::caller(), f)
    }

    /// Lets a waiting thread have the mutex, then takes it back: checked as
    /// an unlock and a re-lock at this call.
    #[track_caller]
    pub fn bump(s: &mut Self) {
        s.let_go(Location::caller(), || ())
    }

    /// Unlocks fairly, as a drop does.
    pub fn unlock_fair(s: Self) {
        drop(s);
    }

    /// Leaves the mutex locked for ever and returns the value; the hold
    /// stays on this thread's held locks, as [`crate::MutexGuard::leak`]
    /// describes.
    pub fn leak(s: Self) -> &'a mut T {
        let (mutex, inner, _tracked) = s.into_parts();
        mem::forget(inner);
        // SAFETY: the mutex stays locked for ever, and this is the only
        // way to its value left.
        unsafe { &mut *mutex.inner.data_ptr() }
    }

    /// Releases the hold, unlocks, runs `f` and re-locks at `site`.
    fn let_go<F: FnOnce() -> U, U>(&mut self, site: &'static Location<'static>, f: F) -> U {
        let mutex = self.mutex;
        acquire::release_guard(
            &mutex.meta,
            FairMutex::<T>::KIND,
            AcquireMode::Exclusive,
            self.tracked,
        );
        // SAFETY: the raw guard is moved out here and a new one written
        // back by `_relock` before the guard is used or dropped again
        // (`relock::relock` returns one or aborts).
        drop(unsafe { std::ptr::read(&self.inner) });
        let _relock = relock::OnDrop::new(|| {
            let (again, stopped) = relock::relock(
                site,
                || mutex.lock_at(site),
                || (mutex.inner.try_lock_for(relock::RETAKE)).map(|g| mutex.guard(g, false)),
            )
            .into_parts();
            let (_, inner, tracked) = again.into_parts();
            // SAFETY: the field was moved out above.
            unsafe { std::ptr::write(&mut self.inner, inner) };
            self.tracked = tracked;
            relock::resume(stopped);
        });
        f()
    }

    fn into_parts(self) -> (&'a FairMutex<T>, crate::raw::FairMutexGuard<'a, T>, bool) {
        let this = mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out once.
        unsafe { (this.mutex, std::ptr::read(&this.inner), this.tracked) }
    }
}

impl<T: ?Sized> Drop for FairMutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Then the raw guard, a field, unlocks.
        acquire::release_guard(
            &self.mutex.meta,
            FairMutex::<T>::KIND,
            AcquireMode::Exclusive,
            self.tracked,
        );
    }
}

impl<T: ?Sized> Deref for FairMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for FairMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for FairMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for FairMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> FairMutex<T> {
    /// A guard for a hold this thread has without one (its guard was
    /// forgotten), as lock_api's `make_guard_unchecked`: the guard takes
    /// the hold over, and its drop releases it through the detectors.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the mutex, and nothing else will
    /// unlock that hold.
    pub unsafe fn make_guard_unchecked(&self) -> FairMutexGuard<'_, T> {
        FairMutexGuard {
            mutex: self,
            // SAFETY: the caller's hold passes to the new guard.
            inner: unsafe { self.inner.make_guard_unchecked() },
            tracked: crate::sync::unchecked::held_here(&self.meta, AcquireMode::Exclusive),
            _not_send: NotSend::default(),
        }
    }
}

impl<'a, T: ?Sized> FairMutexGuard<'a, T> {
    /// The guard of a hold whose guard was taken apart by
    /// [`Self::into_hold`] (for the `Arc` guard, which keeps the hold).
    ///
    /// # Safety
    /// `mutex` is locked by that hold, and `tracked` is what it returned.
    pub(crate) unsafe fn from_hold(mutex: &'a FairMutex<T>, tracked: bool) -> Self {
        FairMutexGuard {
            mutex,
            // SAFETY: the caller's hold passes to the new guard.
            inner: unsafe { mutex.inner.make_guard_unchecked() },
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// The guard gone without unlocking; whether its hold is tracked. The
    /// caller takes the hold over.
    pub(crate) fn into_hold(self) -> bool {
        let (_, inner, tracked) = self.into_parts();
        mem::forget(inner);
        tracked
    }

    /// Whether the hold is tracked (a re-lock by `unlocked` may change it).
    pub(crate) fn is_tracked(&self) -> bool {
        self.tracked
    }
}
