//! `Mutex<T>`: parking_lot's mutex, with every acquisition checked.

use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::mapped::MappedMutexGuard;
use crate::sync::not_send::NotSend;
use crate::sync::relock;

/// A mutual-exclusion lock with parking_lot's API, whose acquisitions are
/// checked for self-deadlock, lock-order cycles and deadlocks.
///
/// ```
/// use lockcheck::Mutex;
/// let noodles = Mutex::named("noodles", 0);
/// *noodles.lock() += 1;
/// assert_eq!(noodles.into_inner(), 1);
/// ```
// `repr(C)`: the meta's cold end next to the raw lock (see `LockMeta`).
#[repr(C)]
pub struct Mutex<T: ?Sized> {
    pub(crate) meta: LockMeta,
    pub(crate) inner: crate::raw::Mutex<T>,
}

lock_basics!(Mutex, Mutex, LockKind::Mutex, "mutex");

impl<T: ?Sized> Mutex<T> {
    /// Locks, blocking until the lock is free. Re-locking from the thread that
    /// holds it is a self-deadlock: reported (and the thread panics) instead of
    /// hanging.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        fast_or!(
            self,
            AcquireMode::Exclusive,
            try_lock,
            lock,
            lock_slow,
            |inner, tracked| { MutexGuard::holding(self, inner, tracked) }
        )
    }

    /// [`Self::lock`] past its fast path.
    #[inline(never)]
    #[track_caller]
    fn lock_slow(&self) -> MutexGuard<'_, T> {
        let (inner, tracked) =
            blocking!(self, AcquireMode::Exclusive, try_lock, try_lock_for, lock);
        MutexGuard::holding(self, inner, tracked)
    }

    /// Locks if the lock is free now. Adds no lock-order edge (it cannot wait).
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock())
    }

    /// Locks if the lock becomes free within `timeout`. A timed wait cannot
    /// hang, so it counts as a try: no edge into this lock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_for(timeout))
    }

    /// Locks if the lock becomes free before `deadline`; like [`Self::try_lock_for`].
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        self.try_with(|| self.inner.try_lock_until(deadline))
    }

    #[track_caller]
    fn try_with<'a>(
        &'a self,
        attempt: impl FnOnce() -> Option<crate::raw::MutexGuard<'a, T>>,
    ) -> Option<MutexGuard<'a, T>> {
        acquire::try_acquire(
            &self.meta,
            AcquireMode::Exclusive,
            Location::caller(),
            attempt,
        )
        .map(|(inner, tracked)| MutexGuard::holding(self, inner, tracked))
    }

    /// A checked blocking acquisition at `site`, for a guard that takes its
    /// mutex again (see [`MutexGuard::unlocked`]).
    #[track_caller]
    fn lock_at(&self, site: &'static Location<'static>) -> (crate::raw::MutexGuard<'_, T>, bool) {
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

    /// Releases a guard's hold (if tracked) and unlocks, fairly or not.
    fn release(&self, tracked: bool, fair: bool) {
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

impl<T: ?Sized> Mutex<T> {
    /// As [`Self::force_unlock`], unlocking fairly: a waiting thread takes
    /// the mutex first.
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

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
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

/// Holds a [`Mutex`] locked; unlocks when dropped. Derefs to the value.
///
/// Two words: the mutex and whether the hold is tracked. parking_lot's own
/// guard would repeat the mutex's address; it is rebuilt only for a
/// condition variable's wait. Like parking_lot's without its `send_guard`
/// feature, and whatever features are on, the guard is not `Send` (the
/// thread that locked must release), and it is `Sync` where `T` is:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let m = lockcheck::Mutex::new(0);
/// send(m.lock());
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
    pub(crate) tracked: bool,
    /// parking_lot's guard's variance and unwind safety (its `Send` follows
    /// parking_lot's features, so `_not_send` overrides it; `Sync` is below).
    _raw: PhantomData<crate::raw::MutexGuard<'a, T>>,
    _not_send: NotSend,
}

// SAFETY: as parking_lot's guard, which is `Sync` where `T` is: a shared
// guard gives other threads `&T`, and through `mutex` the mutex, whose
// every safe way to the value locks it; and the guard, which holds it
// locked, outlives every borrow it is shared through (it is dropped where
// it is owned).
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The guard for a hold taken through `inner`, which this guard now
    /// releases in its place.
    #[inline(always)]
    fn holding(mutex: &'a Mutex<T>, inner: crate::raw::MutexGuard<'a, T>, tracked: bool) -> Self {
        mem::forget(inner);
        MutexGuard {
            mutex,
            tracked,
            _raw: PhantomData,
            _not_send: NotSend::default(),
        }
    }

    /// The mutex this guard holds.
    pub fn mutex(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }

    /// Narrows the guard to a part of the value (parking_lot's
    /// `MutexGuard::map`): the mutex stays locked, and its hold stays on
    /// this thread's held locks, until the mapped guard is dropped. If `f`
    /// panics, the guard is dropped: released and unlocked.
    pub fn map<U: ?Sized, F>(mut s: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *s);
        let (mutex, tracked) = s.into_parts();
        // SAFETY: the hold is passed from `s` to this raw guard, and `data`
        // points into the value it guards.
        let inner = crate::raw::MutexGuard::map(
            unsafe { mutex.inner.make_guard_unchecked() },
            |_| unsafe { &mut *data },
        );
        MappedMutexGuard::holding(
            &mutex.meta,
            Mutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        )
    }

    /// As [`Self::map`] where `f` may find no part: then the guard comes
    /// back unchanged.
    pub fn try_map<U: ?Sized, F>(mut s: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let Some(data) = f(&mut *s).map(|d| d as *mut U) else {
            return Err(s);
        };
        let (mutex, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::MutexGuard::map(
            unsafe { mutex.inner.make_guard_unchecked() },
            |_| unsafe { &mut *data },
        );
        Ok(MappedMutexGuard::holding(
            &mutex.meta,
            Mutex::<T>::KIND,
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
    ) -> Result<MappedMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let data = match f(&mut *s).map(|d| d as *mut U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (mutex, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::MutexGuard::map(
            unsafe { mutex.inner.make_guard_unchecked() },
            |_| unsafe { &mut *data },
        );
        Ok(MappedMutexGuard::holding(
            &mutex.meta,
            Mutex::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        ))
    }

    /// Unlocks the mutex, runs `f`, and locks it again (parking_lot's
    /// `MutexGuard::unlocked`). The hold is released through the detectors
    /// before `f` runs, so nothing `f` locks is ordered after this mutex;
    /// the re-lock is a checked acquisition at this call, ordered after
    /// what the thread holds then. It runs even if `f` panics.
    ///
    /// ```
    /// use lockcheck::{Mutex, MutexGuard};
    /// let m = Mutex::new(1);
    /// let mut g = m.lock();
    /// MutexGuard::unlocked(&mut g, || *m.lock() += 1); // m is free meanwhile
    /// assert_eq!(*g, 2);
    /// ```
    #[track_caller]
    pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(false, Location::caller(), f)
    }

    /// As [`Self::unlocked`], unlocking fairly: a waiting thread takes the
    /// mutex first.
    #[track_caller]
    pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        s.let_go(true, Location::caller(), f)
    }

    /// Lets a waiting thread have the mutex, then takes it back (parking_lot's
    /// `MutexGuard::bump`). Checked as a fair unlock and a re-lock at this
    /// call, whether or not a thread was waiting.
    #[track_caller]
    pub fn bump(s: &mut Self) {
        s.let_go(true, Location::caller(), || ())
    }

    /// Unlocks fairly: a waiting thread takes the mutex first (parking_lot's
    /// `MutexGuard::unlock_fair`). Released through the detectors like a drop.
    pub fn unlock_fair(s: Self) {
        let (mutex, tracked) = s.into_parts();
        mutex.release(tracked, true);
    }

    /// Leaves the mutex locked for ever and returns the value for the rest
    /// of the program (parking_lot's `MutexGuard::leak`).
    ///
    /// The hold stays on this thread's held locks, as it stays locked: what
    /// the thread locks from now on is ordered after this mutex, and a
    /// second `lock` of it on this thread is a `self-deadlock`, as it would
    /// hang. A thread that ends with a leaked guard is reported like one
    /// that forgot a guard (`lock-misuse`, "exited while holding"), as
    /// lockdep reports a lock held at task exit: the mutex can never be
    /// taken again, and any thread that tries will hang. Leak on a thread
    /// that lives as long as the program, or suppress the finding, where
    /// that is the intent.
    pub fn leak(s: Self) -> &'a mut T {
        let (mutex, _tracked) = s.into_parts();
        // SAFETY: the mutex stays locked for ever, and this is the only
        // way to its value left.
        unsafe { &mut *mutex.inner.data_ptr() }
    }

    /// Releases the hold, unlocks, runs `f` and re-locks at `site`.
    fn let_go<F: FnOnce() -> U, U>(
        &mut self,
        fair: bool,
        site: &'static Location<'static>,
        f: F,
    ) -> U {
        let mutex = self.mutex;
        mutex.release(self.tracked, fair);
        let _relock = relock::OnDrop::new(|| {
            let (again, stopped) = relock::relock(
                site,
                || mutex.lock_at(site),
                || mutex.inner.try_lock_for(relock::RETAKE).map(|g| (g, false)),
            )
            .into_parts();
            let (raw, tracked) = again;
            mem::forget(raw);
            self.tracked = tracked;
            relock::resume(stopped);
        });
        f()
    }

    /// The guard for a hold of `mutex` whose guard was taken apart by
    /// [`Self::into_parts`].
    ///
    /// # Safety
    /// `mutex` is locked by that hold, and `tracked` is what it returned.
    pub(crate) unsafe fn from_parts(mutex: &'a Mutex<T>, tracked: bool) -> Self {
        MutexGuard {
            mutex,
            tracked,
            _raw: PhantomData,
            _not_send: NotSend::default(),
        }
    }

    /// The mutex and whether the hold is tracked, with the guard gone
    /// without unlocking: the caller takes the hold over.
    pub(crate) fn into_parts(self) -> (&'a Mutex<T>, bool) {
        let this = mem::ManuallyDrop::new(self);
        (this.mutex, this.tracked)
    }

    /// parking_lot's guard for this hold, for a condition variable's wait.
    /// It must not be dropped: this guard still unlocks the mutex.
    pub(crate) fn raw(&mut self) -> mem::ManuallyDrop<crate::raw::MutexGuard<'a, T>> {
        // SAFETY: this guard holds the mutex locked, and the guard made here
        // is never dropped, so the mutex is unlocked once, by `self`.
        mem::ManuallyDrop::new(unsafe { self.mutex.inner.make_guard_unchecked() })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.tracked
            || acquire::release_fast(&self.mutex.meta, Mutex::<T>::KIND, AcquireMode::Exclusive)
        {
            // SAFETY: the guard holds the mutex locked, and its parking_lot
            // guard was forgotten when it was made.
            unsafe { self.mutex.inner.force_unlock() };
            return;
        }
        // SAFETY: as above.
        unsafe { unlock_slow(self.mutex) };
    }
}

/// Releases and unlocks a tracked hold whose release the fast path
/// declined. Takes the mutex, not the guard, so that the fast path never
/// stores the guard to memory.
///
/// # Safety
/// The caller is a tracked guard's `Drop`: the mutex is locked by this
/// hold, and its parking_lot guard was forgotten.
#[inline(never)]
unsafe fn unlock_slow<T: ?Sized>(mutex: &Mutex<T>) {
    // Unlocks even if the release below panics.
    struct Unlock<'m, T: ?Sized>(&'m crate::raw::Mutex<T>);
    impl<T: ?Sized> Drop for Unlock<'_, T> {
        #[inline]
        fn drop(&mut self) {
            // SAFETY: `unlock_slow`'s caller promises the lock is held.
            unsafe { self.0.force_unlock() }
        }
    }
    let _unlock = Unlock(&mutex.inner);
    acquire::release(&mutex.meta, Mutex::<T>::KIND, AcquireMode::Exclusive);
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex, so no one else reaches the value.
        unsafe { &*self.mutex.inner.data_ptr() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`, and `&mut self` is unique.
        unsafe { &mut *self.mutex.inner.data_ptr() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_is_two_words_and_reaches_the_value() {
        // Two words come back from `lock` in registers, not through memory.
        assert_eq!(
            std::mem::size_of::<MutexGuard<'_, u64>>(),
            2 * std::mem::size_of::<usize>()
        );
        let m = Mutex::new(1u64);
        *m.lock() += 1;
        assert_eq!(*m.lock(), 2);
        assert!(!m.is_locked(), "dropping the guard unlocked the mutex");
    }
}
