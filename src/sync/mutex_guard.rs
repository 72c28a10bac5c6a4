//! `GenericMutexGuard<'a, R, T>`: the guard of either mutex
//! ([`MutexGuard`] and [`FairMutexGuard`](crate::FairMutexGuard) are its
//! names), with lock_api's guard methods, every release and re-lock
//! checked.

use std::marker::PhantomData;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use crate::event::AcquireMode;
use crate::runtime::acquire;
use crate::sync::mapped::GenericMappedMutexGuard;
use crate::sync::mutex::GenericMutex;
use crate::sync::mutex_raw::MutexRaw;
use crate::sync::not_send::NotSend;
use crate::sync::raw::RawMutex;
use crate::sync::relock;

/// The raw mutex's lock_api guard, which this guard stands in for.
type RawGuard<'a, R, T> = lock_api::MutexGuard<'a, <R as MutexRaw>::Lock, T>;

/// Holds a [`GenericMutex`] locked; unlocks when dropped (fairly, for a
/// fair mutex). Derefs to the value. Used by its names, [`MutexGuard`] and
/// [`FairMutexGuard`](crate::FairMutexGuard).
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
pub struct GenericMutexGuard<'a, R: MutexRaw, T: ?Sized> {
    pub(crate) mutex: &'a GenericMutex<R, T>,
    pub(crate) tracked: bool,
    /// parking_lot's guard's variance and unwind safety (its `Send` follows
    /// parking_lot's features, so `_not_send` overrides it; `Sync` is below).
    _raw: PhantomData<RawGuard<'a, R, T>>,
    _not_send: NotSend,
}

/// Holds a [`Mutex`](crate::Mutex) locked; unlocks when dropped. Derefs to
/// the value; see [`GenericMutexGuard`] for its methods.
///
/// ```
/// use lockcheck::{Mutex, MutexGuard};
/// let m = Mutex::new(1);
/// let g: MutexGuard<'_, i32> = m.lock();
/// assert_eq!(*g, 1);
/// ```
pub type MutexGuard<'a, T> = GenericMutexGuard<'a, RawMutex, T>;

// SAFETY: as parking_lot's guard, which is `Sync` where `T` is: a shared
// guard gives other threads `&T`, and through `mutex` the mutex, whose
// every safe way to the value locks it; and the guard, which holds it
// locked, outlives every borrow it is shared through (it is dropped where
// it is owned).
unsafe impl<R: MutexRaw, T: ?Sized + Sync> Sync for GenericMutexGuard<'_, R, T> {}

impl<'a, R: MutexRaw, T: ?Sized> GenericMutexGuard<'a, R, T> {
    /// The guard for a hold taken through `inner`, which this guard now
    /// releases in its place.
    #[inline(always)]
    pub(crate) fn holding(
        mutex: &'a GenericMutex<R, T>,
        inner: RawGuard<'a, R, T>,
        tracked: bool,
    ) -> Self {
        mem::forget(inner);
        // SAFETY: `inner`'s hold passes to the new guard.
        unsafe { Self::from_parts(mutex, tracked) }
    }

    /// The mutex this guard holds.
    pub fn mutex(guard: &Self) -> &'a GenericMutex<R, T> {
        guard.mutex
    }

    /// Narrows the guard to a part of the value (parking_lot's
    /// `MutexGuard::map`): the mutex stays locked, and its hold stays on
    /// this thread's held locks, until the mapped guard is dropped. If `f`
    /// panics, the guard is dropped: released and unlocked.
    ///
    /// ```
    /// use lockcheck::{Mutex, MutexGuard};
    /// let pair = Mutex::new((1, 2));
    /// let mut second = MutexGuard::map(pair.lock(), |p| &mut p.1);
    /// *second += 1;
    /// drop(second);
    /// assert_eq!(*pair.lock(), (1, 3));
    /// ```
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> GenericMappedMutexGuard<'a, R, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        match Self::try_map_or_err(s, |v| Ok::<_, std::convert::Infallible>(f(v))) {
            Ok(mapped) => mapped,
            Err((_, never)) => match never {},
        }
    }

    /// As [`Self::map`] where `f` may find no part: then the guard comes
    /// back unchanged.
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<GenericMappedMutexGuard<'a, R, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        Self::try_map_or_err(s, |v| f(v).ok_or(())).map_err(|(s, ())| s)
    }

    /// As [`Self::try_map`], where `f` gives an error instead of `None`:
    /// then the guard comes back unchanged, with the error.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        mut s: Self,
        f: F,
    ) -> Result<GenericMappedMutexGuard<'a, R, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let data = match f(&mut *s).map(|d| d as *mut U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (mutex, tracked) = s.into_parts();
        // SAFETY: the hold is passed from `s` to this raw guard, and `data`
        // points into the value it guards.
        let inner =
            lock_api::MutexGuard::map(unsafe { mutex.inner.make_guard_unchecked() }, |_| unsafe {
                &mut *data
            });
        Ok(GenericMappedMutexGuard::holding(
            &mutex.meta,
            GenericMutex::<R, T>::KIND,
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
    pub(crate) fn let_go<F: FnOnce() -> U, U>(
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
    #[inline(always)]
    pub(crate) unsafe fn from_parts(mutex: &'a GenericMutex<R, T>, tracked: bool) -> Self {
        GenericMutexGuard {
            mutex,
            tracked,
            _raw: PhantomData,
            _not_send: NotSend::default(),
        }
    }

    /// The mutex and whether the hold is tracked, with the guard gone
    /// without unlocking: the caller takes the hold over.
    pub(crate) fn into_parts(self) -> (&'a GenericMutex<R, T>, bool) {
        let this = mem::ManuallyDrop::new(self);
        (this.mutex, this.tracked)
    }

    /// parking_lot's guard for this hold, for a condition variable's wait.
    /// It must not be dropped: this guard still unlocks the mutex.
    pub(crate) fn raw(&mut self) -> mem::ManuallyDrop<RawGuard<'a, R, T>> {
        // SAFETY: this guard holds the mutex locked, and the guard made here
        // is never dropped, so the mutex is unlocked once, by `self`.
        mem::ManuallyDrop::new(unsafe { self.mutex.inner.make_guard_unchecked() })
    }
}

impl<R: MutexRaw, T: ?Sized> Drop for GenericMutexGuard<'_, R, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.tracked
            || acquire::release_fast(
                &self.mutex.meta,
                GenericMutex::<R, T>::KIND,
                AcquireMode::Exclusive,
            )
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
unsafe fn unlock_slow<R: MutexRaw, T: ?Sized>(mutex: &GenericMutex<R, T>) {
    // Unlocks even if the release below panics.
    struct Unlock<'m, R: MutexRaw, T: ?Sized>(&'m lock_api::Mutex<R::Lock, T>);
    impl<R: MutexRaw, T: ?Sized> Drop for Unlock<'_, R, T> {
        #[inline]
        fn drop(&mut self) {
            // SAFETY: `unlock_slow`'s caller promises the lock is held.
            unsafe { self.0.force_unlock() }
        }
    }
    let _unlock = Unlock::<R, T>(&mutex.inner);
    acquire::release(
        &mutex.meta,
        GenericMutex::<R, T>::KIND,
        AcquireMode::Exclusive,
    );
}

impl<R: MutexRaw, T: ?Sized> Deref for GenericMutexGuard<'_, R, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex, so no one else reaches the value.
        unsafe { &*self.mutex.inner.data_ptr() }
    }
}

impl<R: MutexRaw, T: ?Sized> DerefMut for GenericMutexGuard<'_, R, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`, and `&mut self` is unique.
        unsafe { &mut *self.mutex.inner.data_ptr() }
    }
}

crate::sync::fmt::guard_fmt!(impl[R: MutexRaw,] for GenericMutexGuard<'_, R, T>);

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
        let m = crate::Mutex::new(1u64);
        *m.lock() += 1;
        assert_eq!(*m.lock(), 2);
        assert!(!m.is_locked(), "dropping the guard unlocked the mutex");
    }
}
