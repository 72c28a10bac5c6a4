//! parking_lot's `arc_lock` API: guards that own an `Arc` of their lock
//! instead of borrowing it, so that they need no lifetime. Each is the
//! borrowed guard's hold kept beside the `Arc`: every acquisition is made
//! by the borrowed guard's own method, and every release and re-lock is
//! made by a borrowed guard rebuilt from the hold, so both go through the
//! same detector paths. Like every guard they are not `Send`: an `Arc`
//! guard is released by the thread that locked, wherever in it it is
//! dropped.
//!
//! Their type parameters are parking_lot's (lock_api's):
//! `ArcMutexGuard<RawMutex, T>`, `ArcRwLockReadGuard<RawRwLock, T>`,
//! `ArcReentrantMutexGuard<RawMutex, RawThreadId, T>`, so that code naming
//! them compiles against lockcheck. The raw types there are only names
//! (lockcheck's [`RawMutex`] and the rest): the guard holds an `Arc` of
//! lockcheck's own lock whatever they are.

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::AcquireMode;
use crate::sync::fmt::guard_fmt;
use crate::sync::mutex::{GenericMutex, GenericMutexGuard};
use crate::sync::mutex_raw::MutexRaw;
use crate::sync::not_send::NotSend;
#[cfg(doc)]
use crate::sync::raw::RawFairMutex;
use crate::sync::raw::{RawMutex, RawRwLock, RawThreadId};
use crate::sync::reentrant::{ReentrantMutex, ReentrantMutexGuard};
use crate::sync::rwlock::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};

impl<R: MutexRaw, T: ?Sized> GenericMutex<R, T> {
    /// Locks as [`GenericMutex::lock`] does, returning a guard that owns an
    /// `Arc` of the mutex (parking_lot's `lock_arc`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(lockcheck::Mutex::new(1));
    /// let mut g = m.lock_arc();
    /// *g += 1;
    /// drop(g);
    /// assert_eq!(*m.lock(), 2);
    ///
    /// let f = Arc::new(lockcheck::FairMutex::new(1));
    /// let g: lockcheck::ArcMutexGuard<lockcheck::RawFairMutex, i32> = f.lock_arc();
    /// assert_eq!(*g, 1);
    /// ```
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcMutexGuard<R, T> {
        ArcMutexGuard::holding(Arc::clone(self), self.lock())
    }

    /// As [`GenericMutex::try_lock`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<ArcMutexGuard<R, T>> {
        let g = self.try_lock()?;
        Some(ArcMutexGuard::holding(Arc::clone(self), g))
    }

    /// As [`GenericMutex::try_lock_for`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc_for(self: &Arc<Self>, timeout: Duration) -> Option<ArcMutexGuard<R, T>> {
        let g = self.try_lock_for(timeout)?;
        Some(ArcMutexGuard::holding(Arc::clone(self), g))
    }

    /// As [`GenericMutex::try_lock_until`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc_until(self: &Arc<Self>, deadline: Instant) -> Option<ArcMutexGuard<R, T>> {
        let g = self.try_lock_until(deadline)?;
        Some(ArcMutexGuard::holding(Arc::clone(self), g))
    }
}

/// Holds a [`Mutex`](crate::Mutex) (or, as `ArcMutexGuard<RawFairMutex, T>`, a
/// [`FairMutex`](crate::FairMutex)) locked through an `Arc` of it; unlocks
/// when dropped. `R` is the mutex's raw lock, as in parking_lot's guard:
/// [`RawMutex`] for a `Mutex`, [`RawFairMutex`] for a `FairMutex`. Not
/// `Send` (the thread that locked must release); `Sync` where `T` is.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct ArcMutexGuard<R: MutexRaw, T: ?Sized> {
    mutex: Arc<GenericMutex<R, T>>,
    tracked: bool,
    _not_send: NotSend,
}

// SAFETY: as `MutexGuard`'s: a shared guard gives other threads `&T`, and
// through `mutex()` the mutex, whose every safe way to the value locks it.
unsafe impl<R: MutexRaw, T: ?Sized + Sync> Sync for ArcMutexGuard<R, T> {}

/// The raw lock types an [`ArcMutexGuard`] is named by ([`RawMutex`],
/// [`RawFairMutex`]): the mutex's own raw-lock trait, [`MutexRaw`], under
/// the name lockcheck's `Arc` guard has always given it.
pub use crate::sync::mutex_raw::MutexRaw as ArcMutexRaw;

impl<R: MutexRaw, T: ?Sized> ArcMutexGuard<R, T> {
    /// The guard of the hold `guard` had, now kept beside `mutex`.
    fn holding(mutex: Arc<GenericMutex<R, T>>, guard: GenericMutexGuard<'_, R, T>) -> Self {
        let (_, tracked) = guard.into_parts();
        ArcMutexGuard {
            mutex,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// The borrowed guard of this hold, which must not be dropped unless
    /// the hold ends with it.
    fn borrowed(&self) -> ManuallyDrop<GenericMutexGuard<'_, R, T>> {
        // SAFETY: this guard holds the mutex locked, with this `tracked`.
        ManuallyDrop::new(unsafe { GenericMutexGuard::from_parts(&self.mutex, self.tracked) })
    }

    /// Runs `f` on the borrowed guard of this hold, and keeps the hold as
    /// `f` leaves it (a re-lock may change whether it is tracked).
    fn with_borrowed<U>(s: &mut Self, f: impl FnOnce(&mut GenericMutexGuard<'_, R, T>) -> U) -> U {
        let mut g = s.borrowed();
        let ret = f(&mut g);
        s.tracked = g.tracked;
        ret
    }

    /// The mutex this guard holds.
    pub fn mutex(s: &Self) -> &Arc<GenericMutex<R, T>> {
        &s.mutex
    }

    /// Unlocks and returns the `Arc` of the mutex.
    pub fn into_arc(s: Self) -> Arc<GenericMutex<R, T>> {
        Self::into_arc_by(s, |g| drop(g))
    }

    /// Unlocks fairly and returns the `Arc` of the mutex.
    pub fn into_arc_fair(s: Self) -> Arc<GenericMutex<R, T>> {
        Self::into_arc_by(s, |g| GenericMutexGuard::unlock_fair(g))
    }

    /// Unlocks fairly, as [`GenericMutexGuard::unlock_fair`].
    pub fn unlock_fair(s: Self) {
        drop(Self::into_arc_fair(s));
    }

    fn into_arc_by(
        s: Self,
        unlock: impl FnOnce(GenericMutexGuard<'_, R, T>),
    ) -> Arc<GenericMutex<R, T>> {
        let s = ManuallyDrop::new(s);
        unlock(ManuallyDrop::into_inner(s.borrowed()));
        // SAFETY: `s` is never dropped, so the `Arc` is moved out once.
        unsafe { std::ptr::read(&s.mutex) }
    }

    /// As [`GenericMutexGuard::unlocked`]: the release and the re-lock (at
    /// this call) go through the detectors.
    #[track_caller]
    pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        let site = Location::caller();
        Self::with_borrowed(s, |g| g.let_go(false, site, f))
    }

    /// As [`GenericMutexGuard::unlocked_fair`].
    #[track_caller]
    pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        let site = Location::caller();
        Self::with_borrowed(s, |g| g.let_go(true, site, f))
    }

    /// As [`GenericMutexGuard::bump`].
    #[track_caller]
    pub fn bump(s: &mut Self) {
        let site = Location::caller();
        Self::with_borrowed(s, |g| g.let_go(true, site, || ()))
    }
}

impl<R: MutexRaw, T: ?Sized> Drop for ArcMutexGuard<R, T> {
    #[inline]
    fn drop(&mut self) {
        // Released and unlocked by the borrowed guard's drop; then the
        // `Arc` goes.
        drop(ManuallyDrop::into_inner(self.borrowed()));
    }
}

impl<R: MutexRaw, T: ?Sized> Deref for ArcMutexGuard<R, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex, so no one else reaches the value.
        unsafe { &*self.mutex.data_ptr() }
    }
}

impl<R: MutexRaw, T: ?Sized> DerefMut for ArcMutexGuard<R, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`, and `&mut self` is unique.
        unsafe { &mut *self.mutex.data_ptr() }
    }
}

guard_fmt!(impl[R: MutexRaw,] for ArcMutexGuard<R, T>);

/// Defines an `Arc` guard of an [`RwLock`]: `$name` keeps the hold of a
/// `$borrowed` guard, rebuilt by `$rebuild` (which is given the lock and
/// the guard) for every release.
macro_rules! arc_rwlock_guard {
    ($(#[$doc:meta])* $name:ident, $borrowed:ident, |$lock:ident, $g:ident| $rebuild:expr) => {
        $(#[$doc])*
        #[must_use = "if unused the RwLock will immediately unlock"]
        pub struct $name<R, T: ?Sized> {
            lock: Arc<RwLock<T>>,
            /// The raw lock type, as in parking_lot's guard: only ever
            /// [`RawRwLock`], a name for the lock kind.
            _raw: PhantomData<fn() -> R>,
            mode: AcquireMode,
            tracked: bool,
            _not_send: NotSend,
        }

        // SAFETY: as the borrowed guards': a shared guard gives other
        // threads `&T`, and through `rwlock()` the lock, whose every safe
        // way to the value locks it.
        unsafe impl<R, T: ?Sized + Sync> Sync for $name<R, T> {}

        impl<R, T: ?Sized> $name<R, T> {
            fn holding(lock: Arc<RwLock<T>>, mode: AcquireMode, tracked: bool) -> Self {
                $name { lock, mode, tracked, _raw: PhantomData, _not_send: NotSend::default() }
            }

            /// The same hold under another raw-lock name (`R` is only a
            /// name: `RecursiveRwLock`'s guards are `RawRwLockRecursive`'s).
            #[cfg(feature = "parking_lot_013")]
            pub(crate) fn renamed<R2>(s: Self) -> $name<R2, T> {
                let (lock, mode, tracked) = Self::into_hold(s);
                $name::holding(lock, mode, tracked)
            }

            /// The borrowed guard of this hold, which must not be dropped
            /// unless the hold ends with it.
            fn borrowed(&self) -> ManuallyDrop<$borrowed<'_, T>> {
                let ($lock, $g) = (&*self.lock, self);
                ManuallyDrop::new($rebuild)
            }

            /// The lock, the mode and whether the hold is tracked, with
            /// this guard gone without unlocking: the caller takes the
            /// hold over.
            #[cfg_attr(not(feature = "parking_lot_013"), allow(dead_code))]
            fn into_hold(s: Self) -> (Arc<RwLock<T>>, AcquireMode, bool) {
                let s = ManuallyDrop::new(s);
                // SAFETY: `s` is never dropped, so the `Arc` is moved out once.
                (unsafe { std::ptr::read(&s.lock) }, s.mode, s.tracked)
            }

            /// The lock this guard holds.
            pub fn rwlock(s: &Self) -> &Arc<RwLock<T>> {
                &s.lock
            }

            /// Unlocks and returns the `Arc` of the lock.
            pub fn into_arc(s: Self) -> Arc<RwLock<T>> {
                let arc = Arc::clone(&s.lock);
                drop(s);
                arc
            }

            /// As the borrowed guard's `unlocked`: the release and the
            /// re-lock (at this call) go through the detectors.
            #[track_caller]
            pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
            where
                F: FnOnce() -> U,
            {
                let mut g = s.borrowed();
                let ret = $borrowed::unlocked(&mut g, f);
                s.tracked = g.tracked;
                ret
            }

            /// As the borrowed guard's `unlocked_fair`.
            #[track_caller]
            pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
            where
                F: FnOnce() -> U,
            {
                let mut g = s.borrowed();
                let ret = $borrowed::unlocked_fair(&mut g, f);
                s.tracked = g.tracked;
                ret
            }

            /// As the borrowed guard's `bump`.
            #[track_caller]
            pub fn bump(s: &mut Self) {
                let mut g = s.borrowed();
                $borrowed::bump(&mut g);
                s.tracked = g.tracked;
            }

            /// Unlocks fairly; released through the detectors like a drop.
            pub fn unlock_fair(s: Self) {
                let s = ManuallyDrop::new(s);
                $borrowed::unlock_fair(ManuallyDrop::into_inner(s.borrowed()));
                // SAFETY: `s` is never dropped, so the `Arc` is moved out once.
                drop(unsafe { std::ptr::read(&s.lock) });
            }

            /// Unlocks fairly and returns the `Arc` of the lock.
            pub fn into_arc_fair(s: Self) -> Arc<RwLock<T>> {
                let arc = Arc::clone(&s.lock);
                Self::unlock_fair(s);
                arc
            }
        }

        impl<R, T: ?Sized> Drop for $name<R, T> {
            #[inline]
            fn drop(&mut self) {
                // Released and unlocked by the borrowed guard's drop.
                drop(ManuallyDrop::into_inner(self.borrowed()));
            }
        }

        impl<R, T: ?Sized> Deref for $name<R, T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock at least for reading.
                unsafe { &*self.lock.data_ptr() }
            }
        }

        impl<R, T: ?Sized + fmt::Debug> fmt::Debug for $name<R, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<R, T: ?Sized + fmt::Display> fmt::Display for $name<R, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    };
}

arc_rwlock_guard!(
    /// Holds an [`RwLock`] for reading through an `Arc` of it. Not `Send`;
    /// `Sync` where `T` is.
    ArcRwLockReadGuard,
    RwLockReadGuard,
    // SAFETY: the guard holds the read in this mode, with this `tracked`.
    |lock, g| unsafe { lock.read_from_hold(g.mode, g.tracked) }
);

arc_rwlock_guard!(
    /// Holds an [`RwLock`] for writing through an `Arc` of it. Not `Send`;
    /// `Sync` where `T` is.
    ArcRwLockWriteGuard,
    RwLockWriteGuard,
    // SAFETY: the guard holds the write, with this `tracked`.
    |lock, g| unsafe { lock.write_from_hold(g.tracked) }
);

arc_rwlock_guard!(
    /// Holds an [`RwLock`] for upgradable reading through an `Arc` of it.
    /// Not `Send`; `Sync` where `T` is.
    ArcRwLockUpgradableReadGuard,
    RwLockUpgradableReadGuard,
    // SAFETY: the guard holds the upgradable read, with this `tracked`.
    |lock, g| unsafe { lock.upgradable_from_hold(g.tracked) }
);

impl<R, T: ?Sized> DerefMut for ArcRwLockWriteGuard<R, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock, and `&mut self` is unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<R, T: ?Sized> ArcRwLockWriteGuard<R, T> {
    /// As [`RwLockWriteGuard::downgrade`].
    pub fn downgrade(s: Self) -> ArcRwLockReadGuard<R, T> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the write hold was just taken over from `s`.
        let g = unsafe { lock.write_from_hold(tracked) };
        let (mode, tracked) = RwLockWriteGuard::downgrade(g).into_hold();
        ArcRwLockReadGuard::holding(lock, mode, tracked)
    }

    /// As [`RwLockWriteGuard::downgrade_to_upgradable`].
    pub fn downgrade_to_upgradable(s: Self) -> ArcRwLockUpgradableReadGuard<R, T> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the write hold was just taken over from `s`.
        let g = unsafe { lock.write_from_hold(tracked) };
        let tracked = RwLockWriteGuard::downgrade_to_upgradable(g).into_hold();
        ArcRwLockUpgradableReadGuard::holding(lock, AcquireMode::Upgradable, tracked)
    }
}

impl<R, T: ?Sized> ArcRwLockUpgradableReadGuard<R, T> {
    /// As [`RwLockUpgradableReadGuard::upgrade`]: checked at this call.
    #[track_caller]
    pub fn upgrade(s: Self) -> ArcRwLockWriteGuard<R, T> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the upgradable hold was just taken over from `s`; if the
        // upgrade panics, it drops (releases) that guard itself.
        let g = unsafe { lock.upgradable_from_hold(tracked) };
        let tracked = RwLockUpgradableReadGuard::upgrade(g).into_hold();
        ArcRwLockWriteGuard::holding(lock, AcquireMode::Exclusive, tracked)
    }

    /// As [`RwLockUpgradableReadGuard::try_upgrade`].
    pub fn try_upgrade(s: Self) -> Result<ArcRwLockWriteGuard<R, T>, Self> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the upgradable hold was just taken over from `s`.
        let g = unsafe { lock.upgradable_from_hold(tracked) };
        let upgraded = match RwLockUpgradableReadGuard::try_upgrade(g) {
            Ok(w) => Ok(w.into_hold()),
            Err(g) => Err(g.into_hold()),
        };
        match upgraded {
            Ok(tracked) => Ok(ArcRwLockWriteGuard::holding(
                lock,
                AcquireMode::Exclusive,
                tracked,
            )),
            Err(tracked) => Err(Self::holding(lock, AcquireMode::Upgradable, tracked)),
        }
    }

    /// As [`RwLockUpgradableReadGuard::downgrade`].
    pub fn downgrade(s: Self) -> ArcRwLockReadGuard<R, T> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the upgradable hold was just taken over from `s`.
        let g = unsafe { lock.upgradable_from_hold(tracked) };
        let (mode, tracked) = RwLockUpgradableReadGuard::downgrade(g).into_hold();
        ArcRwLockReadGuard::holding(lock, mode, tracked)
    }
}

/// `Arc` forms of the RwLock's acquisitions: `$name` acquires by the
/// borrowed `$by` (with `$arg`s), a `blocking` call or a `try` one, and
/// keeps the hold (taken over by `$hold`) in a `$guard`.
macro_rules! arc_acquisitions {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $guard:ident by $by:ident, $hold:ident, $shape:ident;)*) => {
        impl<T: ?Sized> RwLock<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(self: &Arc<Self>, $($arg: $ty),*) -> arc_acquisitions!(@ty $shape, $guard<RawRwLock, T>) {
                    let taken = self.$by($($arg),*);
                    arc_acquisitions!(@make $shape, taken, |g| {
                        let (mode, tracked) = $hold(g);
                        $guard::holding(Arc::clone(self), mode, tracked)
                    })
                }
            )*
        }
    };
    (@ty blocking, $g:ty) => { $g };
    (@ty try, $g:ty) => { Option<$g> };
    (@make blocking, $v:ident, $f:expr) => { ($f)($v) };
    (@make try, $v:ident, $f:expr) => { $v.map($f) };
}

/// The hold of a read guard, for an `Arc` guard.
fn read_hold<T: ?Sized>(g: RwLockReadGuard<'_, T>) -> (AcquireMode, bool) {
    g.into_hold()
}

/// The hold of a write guard, for an `Arc` guard.
fn write_hold<T: ?Sized>(g: RwLockWriteGuard<'_, T>) -> (AcquireMode, bool) {
    (AcquireMode::Exclusive, g.into_hold())
}

/// The hold of an upgradable read guard, for an `Arc` guard.
fn upgradable_hold<T: ?Sized>(g: RwLockUpgradableReadGuard<'_, T>) -> (AcquireMode, bool) {
    (AcquireMode::Upgradable, g.into_hold())
}

arc_acquisitions! {
    /// As [`RwLock::read`], with a guard that owns an `Arc` of the lock.
    read_arc() -> ArcRwLockReadGuard by read, read_hold, blocking;
    /// As [`RwLock::read_recursive`], with an `Arc` guard.
    read_arc_recursive() -> ArcRwLockReadGuard by read_recursive, read_hold, blocking;
    /// As [`RwLock::try_read`], with an `Arc` guard.
    try_read_arc() -> ArcRwLockReadGuard by try_read, read_hold, try;
    /// As [`RwLock::try_read_for`], with an `Arc` guard.
    try_read_arc_for(timeout: Duration) -> ArcRwLockReadGuard by try_read_for, read_hold, try;
    /// As [`RwLock::try_read_until`], with an `Arc` guard.
    try_read_arc_until(deadline: Instant) -> ArcRwLockReadGuard by try_read_until, read_hold, try;
    /// As [`RwLock::try_read_recursive`], with an `Arc` guard.
    try_read_recursive_arc() -> ArcRwLockReadGuard by try_read_recursive, read_hold, try;
    /// As [`RwLock::try_read_recursive_for`], with an `Arc` guard.
    try_read_arc_recursive_for(timeout: Duration) -> ArcRwLockReadGuard by try_read_recursive_for, read_hold, try;
    /// As [`RwLock::try_read_recursive_until`], with an `Arc` guard.
    try_read_arc_recursive_until(deadline: Instant) -> ArcRwLockReadGuard by try_read_recursive_until, read_hold, try;
    /// As [`RwLock::write`], with an `Arc` guard.
    write_arc() -> ArcRwLockWriteGuard by write, write_hold, blocking;
    /// As [`RwLock::try_write`], with an `Arc` guard.
    try_write_arc() -> ArcRwLockWriteGuard by try_write, write_hold, try;
    /// As [`RwLock::try_write_for`], with an `Arc` guard.
    try_write_arc_for(timeout: Duration) -> ArcRwLockWriteGuard by try_write_for, write_hold, try;
    /// As [`RwLock::try_write_until`], with an `Arc` guard.
    try_write_arc_until(deadline: Instant) -> ArcRwLockWriteGuard by try_write_until, write_hold, try;
    /// As [`RwLock::upgradable_read`], with an `Arc` guard.
    upgradable_read_arc() -> ArcRwLockUpgradableReadGuard by upgradable_read, upgradable_hold, blocking;
    /// As [`RwLock::try_upgradable_read`], with an `Arc` guard.
    try_upgradable_read_arc() -> ArcRwLockUpgradableReadGuard by try_upgradable_read, upgradable_hold, try;
    /// As [`RwLock::try_upgradable_read_for`], with an `Arc` guard.
    try_upgradable_read_arc_for(timeout: Duration) -> ArcRwLockUpgradableReadGuard by try_upgradable_read_for, upgradable_hold, try;
    /// As [`RwLock::try_upgradable_read_until`], with an `Arc` guard.
    try_upgradable_read_arc_until(deadline: Instant) -> ArcRwLockUpgradableReadGuard by try_upgradable_read_until, upgradable_hold, try;
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Locks as [`ReentrantMutex::lock`] does, returning a guard that owns
    /// an `Arc` of the mutex.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcReentrantMutexGuard<RawMutex, RawThreadId, T> {
        let tracked = self.lock().into_hold();
        ArcReentrantMutexGuard::holding(Arc::clone(self), tracked)
    }

    /// As [`ReentrantMutex::try_lock`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc(
        self: &Arc<Self>,
    ) -> Option<ArcReentrantMutexGuard<RawMutex, RawThreadId, T>> {
        let tracked = self.try_lock()?.into_hold();
        Some(ArcReentrantMutexGuard::holding(Arc::clone(self), tracked))
    }

    /// As [`ReentrantMutex::try_lock_for`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcReentrantMutexGuard<RawMutex, RawThreadId, T>> {
        let tracked = self.try_lock_for(timeout)?.into_hold();
        Some(ArcReentrantMutexGuard::holding(Arc::clone(self), tracked))
    }

    /// As [`ReentrantMutex::try_lock_until`], with an `Arc` guard.
    #[track_caller]
    pub fn try_lock_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcReentrantMutexGuard<RawMutex, RawThreadId, T>> {
        let tracked = self.try_lock_until(deadline)?.into_hold();
        Some(ArcReentrantMutexGuard::holding(Arc::clone(self), tracked))
    }
}

/// Holds a level of a [`ReentrantMutex`] through an `Arc` of it; releases
/// it when dropped. Not `Send`; `Sync` where `T` is.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ArcReentrantMutexGuard<R, G, T: ?Sized> {
    lock: Arc<ReentrantMutex<T>>,
    /// The raw lock and thread-id types, as in parking_lot's guard: only
    /// ever [`RawMutex`] and [`RawThreadId`], names for the lock kind.
    _raw: PhantomData<fn() -> (R, G)>,
    tracked: bool,
    _not_send: NotSend,
}

// SAFETY: as `ReentrantMutexGuard`'s: a shared guard gives other threads
// `&T`, and through `remutex()` the mutex, whose every safe way to the
// value locks it.
unsafe impl<R, G, T: ?Sized + Sync> Sync for ArcReentrantMutexGuard<R, G, T> {}

impl<R, G, T: ?Sized> ArcReentrantMutexGuard<R, G, T> {
    fn holding(lock: Arc<ReentrantMutex<T>>, tracked: bool) -> Self {
        ArcReentrantMutexGuard {
            lock,
            tracked,
            _raw: PhantomData,
            _not_send: NotSend::default(),
        }
    }

    /// The borrowed guard of this level, which must not be dropped unless
    /// the level ends with it.
    fn borrowed(&self) -> ManuallyDrop<ReentrantMutexGuard<'_, T>> {
        // SAFETY: this guard holds the level, with this `tracked`.
        ManuallyDrop::new(unsafe { self.lock.guard_from_hold(self.tracked) })
    }

    /// The mutex this guard holds.
    pub fn remutex(s: &Self) -> &Arc<ReentrantMutex<T>> {
        &s.lock
    }

    /// Releases the level and returns the `Arc` of the mutex.
    pub fn into_arc(s: Self) -> Arc<ReentrantMutex<T>> {
        let arc = Arc::clone(&s.lock);
        drop(s);
        arc
    }

    /// Releases the level fairly, as [`ReentrantMutexGuard::unlock_fair`].
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        ReentrantMutexGuard::unlock_fair(ManuallyDrop::into_inner(s.borrowed()));
        // SAFETY: `s` is never dropped, so the `Arc` is moved out once.
        drop(unsafe { std::ptr::read(&s.lock) });
    }

    /// As [`ReentrantMutexGuard::unlocked`]: the release and the re-lock
    /// (at this call) go through the detectors.
    #[track_caller]
    pub fn unlocked<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        let mut g = s.borrowed();
        let ret = ReentrantMutexGuard::unlocked(&mut g, f);
        s.tracked = g.tracked;
        ret
    }

    /// As [`ReentrantMutexGuard::bump`].
    #[track_caller]
    pub fn bump(s: &mut Self) {
        let mut g = s.borrowed();
        ReentrantMutexGuard::bump(&mut g);
        s.tracked = g.tracked;
    }
}

impl<R, G, T: ?Sized> Drop for ArcReentrantMutexGuard<R, G, T> {
    #[inline]
    fn drop(&mut self) {
        // Released and unlocked by the borrowed guard's drop.
        drop(ManuallyDrop::into_inner(self.borrowed()));
    }
}

impl<R, G, T: ?Sized> Deref for ArcReentrantMutexGuard<R, G, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a level of the mutex: this thread owns it.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl<R, G, T: ?Sized + fmt::Debug> fmt::Debug for ArcReentrantMutexGuard<R, G, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// What lock_api 0.4.14 has on the upgradable Arc guard beyond the above:
/// each goes through the borrowed guard's method of the same name, and so
/// through the same checks.
impl<R, T: ?Sized> ArcRwLockUpgradableReadGuard<R, T> {
    /// As [`RwLockUpgradableReadGuard::try_upgrade_for`]: a timed try.
    pub fn try_upgrade_for(s: Self, timeout: Duration) -> Result<ArcRwLockWriteGuard<R, T>, Self> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the upgradable hold was just taken over from `s`.
        let g = unsafe { lock.upgradable_from_hold(tracked) };
        let upgraded = match RwLockUpgradableReadGuard::try_upgrade_for(g, timeout) {
            Ok(w) => Ok(w.into_hold()),
            Err(g) => Err(g.into_hold()),
        };
        match upgraded {
            Ok(tracked) => Ok(ArcRwLockWriteGuard::holding(
                lock,
                AcquireMode::Exclusive,
                tracked,
            )),
            Err(tracked) => Err(Self::holding(lock, AcquireMode::Upgradable, tracked)),
        }
    }

    /// As [`RwLockUpgradableReadGuard::try_upgrade_until`]: a timed try.
    pub fn try_upgrade_until(
        s: Self,
        deadline: Instant,
    ) -> Result<ArcRwLockWriteGuard<R, T>, Self> {
        let (lock, _, tracked) = Self::into_hold(s);
        // SAFETY: the upgradable hold was just taken over from `s`.
        let g = unsafe { lock.upgradable_from_hold(tracked) };
        let upgraded = match RwLockUpgradableReadGuard::try_upgrade_until(g, deadline) {
            Ok(w) => Ok(w.into_hold()),
            Err(g) => Err(g.into_hold()),
        };
        match upgraded {
            Ok(tracked) => Ok(ArcRwLockWriteGuard::holding(
                lock,
                AcquireMode::Exclusive,
                tracked,
            )),
            Err(tracked) => Err(Self::holding(lock, AcquireMode::Upgradable, tracked)),
        }
    }

    /// As [`RwLockUpgradableReadGuard::with_upgraded`]: runs `f` as a
    /// writer, checked at this call, and is an upgradable read again after.
    #[track_caller]
    pub fn with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Ret {
        self.borrowed().with_upgraded(f)
    }

    /// As [`RwLockUpgradableReadGuard::try_with_upgraded`].
    pub fn try_with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Option<Ret> {
        self.borrowed().try_with_upgraded(f)
    }

    /// As [`RwLockUpgradableReadGuard::try_with_upgraded_for`].
    pub fn try_with_upgraded_for<Ret, F: FnOnce(&mut T) -> Ret>(
        &mut self,
        timeout: Duration,
        f: F,
    ) -> Option<Ret> {
        self.borrowed().try_with_upgraded_for(timeout, f)
    }

    /// As [`RwLockUpgradableReadGuard::try_with_upgraded_until`].
    pub fn try_with_upgraded_until<Ret, F: FnOnce(&mut T) -> Ret>(
        &mut self,
        deadline: Instant,
        f: F,
    ) -> Option<Ret> {
        self.borrowed().try_with_upgraded_until(deadline, f)
    }
}

impl<R, G, T: ?Sized> ArcReentrantMutexGuard<R, G, T> {
    /// As [`ReentrantMutexGuard::unlocked_fair`]: the fair release and the
    /// re-lock (at this call) go through the detectors.
    #[track_caller]
    pub fn unlocked_fair<F, U>(s: &mut Self, f: F) -> U
    where
        F: FnOnce() -> U,
    {
        let mut g = s.borrowed();
        let ret = ReentrantMutexGuard::unlocked_fair(&mut g, f);
        s.tracked = g.tracked;
        ret
    }

    /// Releases the level fairly and returns the `Arc` of the mutex.
    pub fn into_arc_fair(s: Self) -> Arc<ReentrantMutex<T>> {
        let arc = Arc::clone(&s.lock);
        Self::unlock_fair(s);
        arc
    }
}

/// lock_api's `make_*_unchecked` of the Arc guards: a guard for a hold
/// this thread has without one (its guard was forgotten). The guard takes
/// the hold over; its drop releases it through the detectors.
impl<T: ?Sized> RwLock<T> {
    /// An [`ArcRwLockReadGuard`] for this thread's read hold.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for reading, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_arc_read_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockReadGuard<RawRwLock, T> {
        let (mode, tracked) = crate::sync::unchecked::read_hold(&self.meta);
        ArcRwLockReadGuard::holding(Arc::clone(self), mode, tracked)
    }

    /// An [`ArcRwLockWriteGuard`] for this thread's write hold.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for writing, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_arc_write_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockWriteGuard<RawRwLock, T> {
        let tracked = crate::sync::unchecked::held_here(&self.meta, AcquireMode::Exclusive);
        ArcRwLockWriteGuard::holding(Arc::clone(self), AcquireMode::Exclusive, tracked)
    }

    /// An [`ArcRwLockUpgradableReadGuard`] for this thread's upgradable
    /// read hold.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for upgradable reading,
    /// and nothing else will unlock that hold.
    pub unsafe fn make_upgradable_arc_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcRwLockUpgradableReadGuard<RawRwLock, T> {
        let tracked = crate::sync::unchecked::held_here(&self.meta, AcquireMode::Upgradable);
        ArcRwLockUpgradableReadGuard::holding(Arc::clone(self), AcquireMode::Upgradable, tracked)
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// An [`ArcReentrantMutexGuard`] for a level this thread holds.
    ///
    /// # Safety
    /// As lock_api's: this thread holds a level of the mutex, and nothing
    /// else will unlock that level.
    pub unsafe fn make_arc_guard_unchecked(
        self: &Arc<Self>,
    ) -> ArcReentrantMutexGuard<RawMutex, RawThreadId, T> {
        let tracked = crate::sync::unchecked::held_here(&self.meta, AcquireMode::Exclusive);
        ArcReentrantMutexGuard::holding(Arc::clone(self), tracked)
    }
}
