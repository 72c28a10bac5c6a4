//! `RwLock<T>`: parking_lot's reader-writer lock, with every acquisition
//! checked in its mode (lockdep's exclusive / shared / recursive-read typing).

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::fast;
use crate::sync::fmt::guard_fmt;
use crate::sync::mapped::{MappedRwLockReadGuard, MappedRwLockWriteGuard};
use crate::sync::not_send::NotSend;
use crate::sync::relock;
use crate::sync::value_traits::value_traits;

/// A reader-writer lock with parking_lot's API. Writers are preferred: a plain
/// `read` queues behind a waiting writer, so a thread that takes `read` twice
/// can deadlock with a writer; `read_recursive` does not queue and is the
/// right call for a nested read.
///
/// ```
/// use lockcheck::RwLock;
/// let config = RwLock::named("config", 1);
/// {
///     let a = config.read();
///     let b = config.read_recursive(); // nested read: fine
///     assert_eq!(*a + *b, 2);
/// }
/// *config.write() = 2;
/// ```
// `repr(C)`: the meta's cold end next to the raw lock (see `LockMeta`).
#[repr(C)]
pub struct RwLock<T: ?Sized> {
    pub(crate) meta: LockMeta,
    inner: crate::raw::RwLock<T>,
}

impl<T> RwLock<T> {
    /// A new unlocked reader-writer lock; its creation site is its class.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Self::with_meta(None, Location::caller(), value)
    }

    /// A new unlocked reader-writer lock with a name for reports (and its class).
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::with_meta(Some(name), Location::caller(), value)
    }

    const fn with_meta(
        name: Option<&'static str>,
        site: &'static Location<'static>,
        value: T,
    ) -> Self {
        RwLock {
            meta: LockMeta::new(Self::KIND, name, site),
            inner: lock_api::RwLock::new(value),
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

impl<T: ?Sized> RwLock<T> {
    /// The kind, a constant: the fast path folds away what does not apply
    /// to it (re-entry counts).
    pub(crate) const KIND: LockKind = LockKind::RwLock;

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

impl<T: ?Sized> RwLock<T> {
    /// Shared read access, queued behind waiting writers. Taking it while this
    /// thread already reads the lock is reported as `self-deadlock` (it hangs
    /// the moment a writer arrives in between); use [`Self::read_recursive`].
    #[inline]
    #[track_caller]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let mode = AcquireMode::Read;
        match fast::try_fast(
            &self.meta,
            Self::KIND,
            mode,
            &|| self.inner.try_read(),
            || self.inner.read(),
        ) {
            Some((inner, tracked)) => self.read_guard(inner, mode, tracked),
            None => self.read_slow(mode),
        }
    }

    /// [`Self::read`] and [`Self::read_recursive`] past their fast path.
    #[inline(never)]
    #[track_caller]
    fn read_slow(&self, mode: AcquireMode) -> RwLockReadGuard<'_, T> {
        let (inner, tracked) = self.read_at(mode, Location::caller());
        self.read_guard(inner, mode, tracked)
    }

    /// Shared read access that does not queue behind writers while readers
    /// hold the lock: safe to nest inside another read of the same lock.
    #[inline]
    #[track_caller]
    pub fn read_recursive(&self) -> RwLockReadGuard<'_, T> {
        let mode = AcquireMode::RecursiveRead;
        match fast::try_fast(
            &self.meta,
            Self::KIND,
            mode,
            &|| self.inner.try_read_recursive(),
            || self.inner.read_recursive(),
        ) {
            Some((inner, tracked)) => self.read_guard(inner, mode, tracked),
            None => self.read_slow(mode),
        }
    }

    /// Exclusive write access.
    #[inline]
    #[track_caller]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        match fast::try_fast(
            &self.meta,
            Self::KIND,
            AcquireMode::Exclusive,
            &|| self.inner.try_write(),
            || self.inner.write(),
        ) {
            Some((inner, tracked)) => self.write_guard(inner, tracked),
            None => self.write_slow(),
        }
    }

    /// [`Self::write`] past its fast path.
    #[inline(never)]
    #[track_caller]
    fn write_slow(&self) -> RwLockWriteGuard<'_, T> {
        let (inner, tracked) = self.write_at(Location::caller());
        self.write_guard(inner, tracked)
    }

    /// Upgradable read access: shared with readers, exclusive with writers
    /// and other upgradable readers; can be upgraded to a write.
    #[inline]
    #[track_caller]
    pub fn upgradable_read(&self) -> RwLockUpgradableReadGuard<'_, T> {
        match fast::try_fast(
            &self.meta,
            Self::KIND,
            AcquireMode::Upgradable,
            &|| self.inner.try_upgradable_read(),
            || self.inner.upgradable_read(),
        ) {
            Some((inner, tracked)) => self.upgradable_guard(inner, tracked),
            None => self.upgradable_read_slow(),
        }
    }

    /// [`Self::upgradable_read`] past its fast path.
    #[inline(never)]
    #[track_caller]
    fn upgradable_read_slow(&self) -> RwLockUpgradableReadGuard<'_, T> {
        let (inner, tracked) = self.upgradable_read_at(Location::caller());
        self.upgradable_guard(inner, tracked)
    }

    /// Read access if available now (no order edge).
    #[track_caller]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_with(AcquireMode::Read, || self.inner.try_read())
    }

    /// Read access if available within `timeout` (a try: no order edge).
    #[track_caller]
    pub fn try_read_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_with(AcquireMode::Read, || self.inner.try_read_for(timeout))
    }

    /// Read access if available before `deadline` (a try: no order edge).
    #[track_caller]
    pub fn try_read_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_with(AcquireMode::Read, || self.inner.try_read_until(deadline))
    }

    /// Recursive read access if available now (no order edge).
    #[track_caller]
    pub fn try_read_recursive(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mode = AcquireMode::RecursiveRead;
        self.try_read_with(mode, || self.inner.try_read_recursive())
    }

    /// Recursive read access if available within `timeout` (a try: no
    /// order edge).
    #[track_caller]
    pub fn try_read_recursive_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        let mode = AcquireMode::RecursiveRead;
        self.try_read_with(mode, || self.inner.try_read_recursive_for(timeout))
    }

    /// Recursive read access if available before `deadline` (a try: no
    /// order edge).
    #[track_caller]
    pub fn try_read_recursive_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, T>> {
        let mode = AcquireMode::RecursiveRead;
        self.try_read_with(mode, || self.inner.try_read_recursive_until(deadline))
    }

    /// Write access if available now (no order edge).
    #[track_caller]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.try_with(AcquireMode::Exclusive, || self.inner.try_write())
            .map(|(inner, tracked)| self.write_guard(inner, tracked))
    }

    /// Write access if available within `timeout` (a try: no order edge).
    #[track_caller]
    pub fn try_write_for(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        self.try_with(AcquireMode::Exclusive, || self.inner.try_write_for(timeout))
            .map(|(inner, tracked)| self.write_guard(inner, tracked))
    }

    /// Write access if available before `deadline` (a try: no order edge).
    #[track_caller]
    pub fn try_write_until(&self, deadline: Instant) -> Option<RwLockWriteGuard<'_, T>> {
        self.try_with(AcquireMode::Exclusive, || {
            self.inner.try_write_until(deadline)
        })
        .map(|(inner, tracked)| self.write_guard(inner, tracked))
    }

    /// Upgradable read access if available now (no order edge).
    #[track_caller]
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.try_with(AcquireMode::Upgradable, || self.inner.try_upgradable_read())
            .map(|(inner, tracked)| self.upgradable_guard(inner, tracked))
    }

    /// Upgradable read access if available within `timeout` (a try: no
    /// order edge).
    #[track_caller]
    pub fn try_upgradable_read_for(
        &self,
        timeout: Duration,
    ) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        let attempt = || self.inner.try_upgradable_read_for(timeout);
        self.try_with(AcquireMode::Upgradable, attempt)
            .map(|(inner, tracked)| self.upgradable_guard(inner, tracked))
    }

    /// Upgradable read access if available before `deadline` (a try: no
    /// order edge).
    #[track_caller]
    pub fn try_upgradable_read_until(
        &self,
        deadline: Instant,
    ) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        let attempt = || self.inner.try_upgradable_read_until(deadline);
        self.try_with(AcquireMode::Upgradable, attempt)
            .map(|(inner, tracked)| self.upgradable_guard(inner, tracked))
    }

    /// A checked try in `mode` by `attempt`: the raw guard and whether the
    /// hold is tracked.
    #[track_caller]
    fn try_with<G>(
        &self,
        mode: AcquireMode,
        attempt: impl FnOnce() -> Option<G>,
    ) -> Option<(G, bool)> {
        acquire::try_acquire(&self.meta, mode, Location::caller(), attempt)
    }

    /// A checked read try in `mode` (`Read` or `RecursiveRead`).
    #[track_caller]
    fn try_read_with<'a>(
        &'a self,
        mode: AcquireMode,
        attempt: impl FnOnce() -> Option<crate::raw::RwLockReadGuard<'a, T>>,
    ) -> Option<RwLockReadGuard<'a, T>> {
        self.try_with(mode, attempt)
            .map(|(inner, tracked)| self.read_guard(inner, mode, tracked))
    }

    fn read_guard<'a>(
        &'a self,
        inner: crate::raw::RwLockReadGuard<'a, T>,
        mode: AcquireMode,
        tracked: bool,
    ) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            lock: self,
            inner,
            mode,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    fn write_guard<'a>(
        &'a self,
        inner: crate::raw::RwLockWriteGuard<'a, T>,
        tracked: bool,
    ) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            lock: self,
            inner,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    fn upgradable_guard<'a>(
        &'a self,
        inner: crate::raw::RwLockUpgradableReadGuard<'a, T>,
        tracked: bool,
    ) -> RwLockUpgradableReadGuard<'a, T> {
        RwLockUpgradableReadGuard {
            lock: self,
            inner,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// A checked blocking read at `site` in `mode` (`Read` or
    /// `RecursiveRead`), for a guard that takes its lock again (see
    /// [`RwLockReadGuard::unlocked`]).
    #[track_caller]
    fn read_at(
        &self,
        mode: AcquireMode,
        site: &'static Location<'static>,
    ) -> (crate::raw::RwLockReadGuard<'_, T>, bool) {
        let recursive = mode == AcquireMode::RecursiveRead;
        acquire::acquire(
            &self.meta,
            Self::KIND,
            mode,
            site,
            acquire::RawAcquire {
                try_now: || {
                    if recursive {
                        self.inner.try_read_recursive()
                    } else {
                        self.inner.try_read()
                    }
                },
                try_for: |t| {
                    if recursive {
                        self.inner.try_read_recursive_for(t)
                    } else {
                        self.inner.try_read_for(t)
                    }
                },
                block: || {
                    if recursive {
                        self.inner.read_recursive()
                    } else {
                        self.inner.read()
                    }
                },
            },
        )
    }

    /// A checked blocking write at `site` (see [`Self::read_at`]).
    #[track_caller]
    fn write_at(
        &self,
        site: &'static Location<'static>,
    ) -> (crate::raw::RwLockWriteGuard<'_, T>, bool) {
        acquire::acquire(
            &self.meta,
            Self::KIND,
            AcquireMode::Exclusive,
            site,
            acquire::RawAcquire {
                try_now: || self.inner.try_write(),
                try_for: |t| self.inner.try_write_for(t),
                block: || self.inner.write(),
            },
        )
    }

    /// A checked blocking upgradable read at `site` (see [`Self::read_at`]).
    #[track_caller]
    fn upgradable_read_at(
        &self,
        site: &'static Location<'static>,
    ) -> (crate::raw::RwLockUpgradableReadGuard<'_, T>, bool) {
        acquire::acquire(
            &self.meta,
            Self::KIND,
            AcquireMode::Upgradable,
            site,
            acquire::RawAcquire {
                try_now: || self.inner.try_upgradable_read(),
                try_for: |t| self.inner.try_upgradable_read_for(t),
                block: || self.inner.upgradable_read(),
            },
        )
    }

    /// The read guard of a hold in `mode` whose guard was taken apart
    /// (`into_hold`).
    ///
    /// # Safety
    /// The lock is read-locked by that hold, and `tracked` is its own.
    pub(crate) unsafe fn read_from_hold(
        &self,
        mode: AcquireMode,
        tracked: bool,
    ) -> RwLockReadGuard<'_, T> {
        // SAFETY: the caller's hold is passed to the new guard.
        self.read_guard(
            unsafe { self.inner.make_read_guard_unchecked() },
            mode,
            tracked,
        )
    }

    /// As [`Self::read_from_hold`], for a write hold.
    ///
    /// # Safety
    /// The lock is write-locked by that hold, and `tracked` is its own.
    pub(crate) unsafe fn write_from_hold(&self, tracked: bool) -> RwLockWriteGuard<'_, T> {
        // SAFETY: the caller's hold is passed to the new guard.
        self.write_guard(unsafe { self.inner.make_write_guard_unchecked() }, tracked)
    }

    /// As [`Self::read_from_hold`], for an upgradable read hold.
    ///
    /// # Safety
    /// The lock is held for upgradable reading by that hold, and `tracked`
    /// is its own.
    pub(crate) unsafe fn upgradable_from_hold(
        &self,
        tracked: bool,
    ) -> RwLockUpgradableReadGuard<'_, T> {
        // SAFETY: the caller's hold is passed to the new guard.
        self.upgradable_guard(
            unsafe { self.inner.make_upgradable_guard_unchecked() },
            tracked,
        )
    }

    /// Whether some thread holds the lock for writing.
    pub fn is_locked_exclusive(&self) -> bool {
        self.inner.is_locked_exclusive()
    }

    /// A raw pointer to the value.
    pub fn data_ptr(&self) -> *mut T {
        self.inner.data_ptr()
    }

    /// Releases a read lock without a guard; releasing one this thread does
    /// not hold is reported as `lock-misuse`.
    ///
    /// # Safety
    /// As parking_lot: a read lock must be held through a forgotten guard.
    #[track_caller]
    pub unsafe fn force_unlock_read(&self) {
        acquire::force_release(&self.meta, AcquireMode::Read, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_read() }
    }

    /// As [`Self::force_unlock_read`], unlocking fairly.
    ///
    /// # Safety
    /// As [`Self::force_unlock_read`].
    #[track_caller]
    pub unsafe fn force_unlock_read_fair(&self) {
        acquire::force_release(&self.meta, AcquireMode::Read, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_read_fair() }
    }

    /// As [`Self::force_unlock_write`], unlocking fairly.
    ///
    /// # Safety
    /// As [`Self::force_unlock_write`].
    #[track_caller]
    pub unsafe fn force_unlock_write_fair(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_write_fair() }
    }

    /// Releases the write lock without a guard; releasing one this thread
    /// does not hold is reported as `lock-misuse`.
    ///
    /// # Safety
    /// As parking_lot: the write lock must be held through a forgotten guard.
    #[track_caller]
    pub unsafe fn force_unlock_write(&self) {
        acquire::force_release(&self.meta, AcquireMode::Exclusive, Location::caller());
        // SAFETY: the caller upholds parking_lot's contract.
        unsafe { self.inner.force_unlock_write() }
    }
}

/// A new unlocked [`RwLock`], as parking_lot's `const_rwlock` (usable in a
/// `static`); its creation site is its class.
///
/// ```
/// static TABLE: lockcheck::RwLock<u32> = lockcheck::const_rwlock(1);
/// assert_eq!(*TABLE.read(), 1);
/// ```
#[track_caller]
pub const fn const_rwlock<T>(value: T) -> RwLock<T> {
    RwLock::new(value)
}

value_traits!(impl[] for RwLock<T>);

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.inner.try_read_recursive();
        crate::sync::fmt::debug_lock(f, "RwLock", self.name(), data.as_deref())
    }
}

/// Holds an [`RwLock`] for reading; releases it when dropped. Like every
/// lockcheck guard it is not `Send`, whatever features parking_lot has on
/// (it must be released by the thread that locked); it is `Sync` where `T`
/// is, as parking_lot's.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let l = lockcheck::RwLock::new(0);
/// send(l.read());
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: crate::raw::RwLockReadGuard<'a, T>,
    mode: AcquireMode,
    pub(crate) tracked: bool,
    _not_send: NotSend,
}

/// Holds an [`RwLock`] for writing; releases it when dropped. Not `Send`;
/// `Sync` where `T` is (see [`RwLockReadGuard`]).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: crate::raw::RwLockWriteGuard<'a, T>,
    pub(crate) tracked: bool,
    _not_send: NotSend,
}

/// Holds an [`RwLock`] for upgradable reading; releases it when dropped.
/// Not `Send`; `Sync` where `T` is (see [`RwLockReadGuard`]).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockUpgradableReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: crate::raw::RwLockUpgradableReadGuard<'a, T>,
    pub(crate) tracked: bool,
    _not_send: NotSend,
}

// SAFETY (all three): as parking_lot's guards, which are `Sync` where `T`
// is: a guard shared between threads gives them `&T` and nothing else (its
// lock is private; every method that changes the hold takes the guard by
// value, and its `Drop` runs where it is owned).
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockUpgradableReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// The hold's mode and whether it is tracked, with the guard gone
    /// without unlocking: the caller takes the hold over.
    pub(crate) fn into_hold(self) -> (AcquireMode, bool) {
        let (_, inner, mode, tracked) = self.into_parts();
        std::mem::forget(inner);
        (mode, tracked)
    }

    /// The lock this guard reads.
    pub fn rwlock(s: &Self) -> &'a RwLock<T> {
        s.lock
    }

    /// Narrows the guard to a part of the value: the read stays held (and
    /// tracked) until the mapped guard is dropped. If `f` panics, the guard
    /// is dropped: released and unlocked.
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> MappedRwLockReadGuard<'a, U>
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
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<MappedRwLockReadGuard<'a, U>, Self>
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
    ) -> Result<MappedRwLockReadGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let data = match f(&*s).map(|d| d as *const U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (lock, inner, mode, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::RwLockReadGuard::map(inner, |_| unsafe { &*data });
        Ok(MappedRwLockReadGuard::holding(
            &lock.meta,
            RwLock::<T>::KIND,
            mode,
            tracked,
            inner,
        ))
    }

    fn into_parts(
        self,
    ) -> (
        &'a RwLock<T>,
        crate::raw::RwLockReadGuard<'a, T>,
        AcquireMode,
        bool,
    ) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out once.
        unsafe {
            (
                this.lock,
                std::ptr::read(&this.inner),
                this.mode,
                this.tracked,
            )
        }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Whether the hold is tracked, with the guard gone without unlocking:
    /// the caller takes the hold over.
    pub(crate) fn into_hold(self) -> bool {
        let (_, inner, tracked) = self.into_parts();
        std::mem::forget(inner);
        tracked
    }

    /// The lock this guard writes.
    pub fn rwlock(s: &Self) -> &'a RwLock<T> {
        s.lock
    }

    /// Narrows the guard to a part of the value: the write stays held (and
    /// tracked) until the mapped guard is dropped. If `f` panics, the guard
    /// is dropped: released and unlocked.
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> MappedRwLockWriteGuard<'a, U>
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
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<MappedRwLockWriteGuard<'a, U>, Self>
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
    ) -> Result<MappedRwLockWriteGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let data = match f(&mut *s).map(|d| d as *mut U) {
            Ok(data) => data,
            Err(e) => return Err((s, e)),
        };
        let (lock, inner, tracked) = s.into_parts();
        // SAFETY: as in `map`.
        let inner = crate::raw::RwLockWriteGuard::map(inner, |_| unsafe { &mut *data });
        Ok(MappedRwLockWriteGuard::holding(
            &lock.meta,
            RwLock::<T>::KIND,
            AcquireMode::Exclusive,
            tracked,
            inner,
        ))
    }

    /// Turns the write lock into a read lock without letting a writer in.
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let (lock, inner, tracked) = guard.into_parts();
        if tracked {
            acquire::change_mode(&lock.meta, AcquireMode::Exclusive, AcquireMode::Read);
        }
        RwLockReadGuard {
            lock,
            inner: crate::raw::RwLockWriteGuard::downgrade(inner),
            mode: AcquireMode::Read,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// Turns the write lock into an upgradable read without letting a
    /// writer in.
    pub fn downgrade_to_upgradable(guard: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let (lock, inner, tracked) = guard.into_parts();
        if tracked {
            acquire::change_mode(&lock.meta, AcquireMode::Exclusive, AcquireMode::Upgradable);
        }
        RwLockUpgradableReadGuard {
            lock,
            inner: crate::raw::RwLockWriteGuard::downgrade_to_upgradable(inner),
            tracked,
            _not_send: NotSend::default(),
        }
    }

    fn into_parts(self) -> (&'a RwLock<T>, crate::raw::RwLockWriteGuard<'a, T>, bool) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out once.
        unsafe { (this.lock, std::ptr::read(&this.inner), this.tracked) }
    }
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// Whether the hold is tracked, with the guard gone without unlocking:
    /// the caller takes the hold over.
    pub(crate) fn into_hold(self) -> bool {
        let (_, inner, tracked) = self.into_parts();
        std::mem::forget(inner);
        tracked
    }

    /// The lock this guard reads.
    pub fn rwlock(s: &Self) -> &'a RwLock<T> {
        s.lock
    }

    /// Upgrades to a write lock, waiting for the readers to leave. If this
    /// thread itself still reads the lock through another guard, it would
    /// wait for itself: reported as `self-deadlock` instead.
    #[track_caller]
    pub fn upgrade(guard: Self) -> RwLockWriteGuard<'a, T> {
        Self::upgrade_at(guard, Location::caller())
    }

    /// [`Self::upgrade`], checked and located at `site`.
    fn upgrade_at(guard: Self, site: &'static Location<'static>) -> RwLockWriteGuard<'a, T> {
        // Checked while the guard is whole, so that the panic that breaks the
        // hang releases the upgradable read like any unwinding guard.
        if guard.tracked {
            acquire::check_upgrade(&guard.lock.meta, site);
        }
        let (lock, inner, tracked) = guard.into_parts();
        let inner = if tracked {
            match crate::raw::RwLockUpgradableReadGuard::try_upgrade_for(inner, acquire::GRACE) {
                Ok(inner) => inner,
                Err(inner) => {
                    // Whole again while waiting, so that the panic that
                    // breaks a deadlock releases the upgradable read.
                    let guard = RwLockUpgradableReadGuard {
                        lock,
                        inner,
                        tracked,
                        _not_send: NotSend::default(),
                    };
                    let _waiting = acquire::wait_for_upgrade(&lock.meta, site);
                    let (_, inner, _) = guard.into_parts();
                    crate::raw::RwLockUpgradableReadGuard::upgrade(inner)
                }
            }
        } else {
            crate::raw::RwLockUpgradableReadGuard::upgrade(inner)
        };
        if tracked {
            acquire::change_mode(&lock.meta, AcquireMode::Upgradable, AcquireMode::Exclusive);
        }
        RwLockWriteGuard {
            lock,
            inner,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    /// Upgrades if no reader holds the lock now.
    pub fn try_upgrade(guard: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let (lock, inner, tracked) = guard.into_parts();
        match crate::raw::RwLockUpgradableReadGuard::try_upgrade(inner) {
            Ok(inner) => {
                if tracked {
                    acquire::change_mode(
                        &lock.meta,
                        AcquireMode::Upgradable,
                        AcquireMode::Exclusive,
                    );
                }
                Ok(RwLockWriteGuard {
                    lock,
                    inner,
                    tracked,
                    _not_send: NotSend::default(),
                })
            }
            Err(inner) => Err(RwLockUpgradableReadGuard {
                lock,
                inner,
                tracked,
                _not_send: NotSend::default(),
            }),
        }
    }

    /// Upgrades if the readers leave within `timeout`. A timed wait cannot
    /// hang, so it is a try: no wait-for edge, no self-deadlock check.
    pub fn try_upgrade_for(
        guard: Self,
        timeout: Duration,
    ) -> Result<RwLockWriteGuard<'a, T>, Self> {
        Self::try_upgrade_with(guard, |inner| {
            crate::raw::RwLockUpgradableReadGuard::try_upgrade_for(inner, timeout)
        })
    }

    /// Upgrades if the readers leave before `deadline` (a try, as
    /// [`Self::try_upgrade_for`]).
    pub fn try_upgrade_until(
        guard: Self,
        deadline: Instant,
    ) -> Result<RwLockWriteGuard<'a, T>, Self> {
        Self::try_upgrade_with(guard, |inner| {
            crate::raw::RwLockUpgradableReadGuard::try_upgrade_until(inner, deadline)
        })
    }

    /// Upgrades by `attempt`, which gives the raw guard back if it failed.
    fn try_upgrade_with(
        guard: Self,
        attempt: impl FnOnce(
            crate::raw::RwLockUpgradableReadGuard<'a, T>,
        ) -> Result<
            crate::raw::RwLockWriteGuard<'a, T>,
            crate::raw::RwLockUpgradableReadGuard<'a, T>,
        >,
    ) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let (lock, inner, tracked) = guard.into_parts();
        match attempt(inner) {
            Ok(inner) => {
                if tracked {
                    acquire::change_mode(
                        &lock.meta,
                        AcquireMode::Upgradable,
                        AcquireMode::Exclusive,
                    );
                }
                Ok(RwLockWriteGuard {
                    lock,
                    inner,
                    tracked,
                    _not_send: NotSend::default(),
                })
            }
            Err(inner) => Err(RwLockUpgradableReadGuard {
                lock,
                inner,
                tracked,
                _not_send: NotSend::default(),
            }),
        }
    }

    /// Upgrades, runs `f` on the value, and turns the write back into this
    /// upgradable read (parking_lot's `with_upgraded`). The upgrade is
    /// checked as [`Self::upgrade`] is, at this call: a self-deadlock if
    /// this thread also reads the lock, a wait in the wait-for graph once
    /// it waits for readers.
    ///
    /// ```
    /// use lockcheck::RwLock;
    /// let l = RwLock::new(1);
    /// let mut u = l.upgradable_read();
    /// u.with_upgraded(|v| *v += 1);
    /// assert_eq!(*u, 2);
    /// ```
    #[track_caller]
    pub fn with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Ret {
        let site = Location::caller();
        let (meta, tracked) = (&self.lock.meta, self.tracked);
        // Checked and waited for while the guard is whole, so that a panic
        // that breaks the hang unwinds through it like any guard.
        if tracked {
            acquire::check_upgrade(meta, site);
        }
        let mut f = Some(f);
        let mut run = |data: &mut T| f.take().map(|f| as_writer(meta, tracked, || f(data)));
        let ran = if tracked {
            match self.inner.try_with_upgraded_for(acquire::GRACE, &mut run) {
                Some(ran) => ran,
                None => {
                    let _waiting = acquire::wait_for_upgrade(meta, site);
                    self.inner.with_upgraded(&mut run)
                }
            }
        } else {
            self.inner.with_upgraded(&mut run)
        };
        match ran {
            Some(ret) => ret,
            None => unreachable!("parking_lot's with_upgraded runs its closure"),
        }
    }

    /// Upgrades if no reader holds the lock now, and then as
    /// [`Self::with_upgraded`]; `None`, having run nothing, otherwise.
    pub fn try_with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Option<Ret> {
        let (meta, tracked) = (&self.lock.meta, self.tracked);
        self.inner
            .try_with_upgraded(|data| as_writer(meta, tracked, || f(data)))
    }

    /// As [`Self::try_with_upgraded`], waiting up to `timeout` for the
    /// readers to leave (a try, as [`Self::try_upgrade_for`]).
    pub fn try_with_upgraded_for<Ret, F: FnOnce(&mut T) -> Ret>(
        &mut self,
        timeout: Duration,
        f: F,
    ) -> Option<Ret> {
        let (meta, tracked) = (&self.lock.meta, self.tracked);
        self.inner
            .try_with_upgraded_for(timeout, |data| as_writer(meta, tracked, || f(data)))
    }

    /// As [`Self::try_with_upgraded`], waiting until `deadline` at most.
    pub fn try_with_upgraded_until<Ret, F: FnOnce(&mut T) -> Ret>(
        &mut self,
        deadline: Instant,
        f: F,
    ) -> Option<Ret> {
        let (meta, tracked) = (&self.lock.meta, self.tracked);
        self.inner
            .try_with_upgraded_until(deadline, |data| as_writer(meta, tracked, || f(data)))
    }

    /// Turns the upgradable read into a plain read.
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let (lock, inner, tracked) = guard.into_parts();
        if tracked {
            acquire::change_mode(&lock.meta, AcquireMode::Upgradable, AcquireMode::Read);
        }
        RwLockReadGuard {
            lock,
            inner: crate::raw::RwLockUpgradableReadGuard::downgrade(inner),
            mode: AcquireMode::Read,
            tracked,
            _not_send: NotSend::default(),
        }
    }

    fn into_parts(
        self,
    ) -> (
        &'a RwLock<T>,
        crate::raw::RwLockUpgradableReadGuard<'a, T>,
        bool,
    ) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so each field is moved out once.
        unsafe { (this.lock, std::ptr::read(&this.inner), this.tracked) }
    }
}

/// `unlocked`, `unlocked_fair`, `bump` and `unlock_fair` for an RwLock
/// guard `$guard` over parking_lot's `$raw`: the hold is released through
/// the detectors and the raw guard unlocks; the re-lock is a checked
/// acquisition in the guard's mode (`$mode`), by `$relock`.
macro_rules! let_go_methods {
    ($guard:ident, $raw:ident, $what:literal, |$s:pat_param| $mode:expr, |$lock:ident, $mode_in:pat_param, $site:ident| $relock:expr, $retake:expr) => {
        impl<T: ?Sized> $guard<'_, T> {
            #[doc = concat!("Releases the ", $what, ", runs `f`, and takes it again (parking_lot's")]
            #[doc = concat!("`", stringify!($raw), "::unlocked`): nothing `f` locks is ordered")]
            /// after this lock, and the re-lock is a checked acquisition at
            /// this call, in the same mode. It runs even if `f` panics.
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

            /// Lets a waiting thread have the lock, then takes it back:
            /// checked as a fair unlock and a re-lock at this call.
            #[track_caller]
            pub fn bump(s: &mut Self) {
                s.let_go(true, Location::caller(), || ())
            }

            /// Unlocks fairly; released through the detectors like a drop.
            pub fn unlock_fair(s: Self) {
                let mode = { let $s = &s; $mode };
                let this = std::mem::ManuallyDrop::new(s);
                acquire::release_guard(&this.lock.meta, RwLock::<T>::KIND, mode, this.tracked);
                // SAFETY: `this` is never dropped, so the raw guard is
                // moved out once.
                crate::raw::$raw::unlock_fair(unsafe { std::ptr::read(&this.inner) });
            }

            /// Releases the hold, unlocks, runs `f` and re-locks at `site`.
            fn let_go<F: FnOnce() -> U, U>(
                &mut self,
                fair: bool,
                site: &'static Location<'static>,
                f: F,
            ) -> U {
                let mode = { let $s = &*self; $mode };
                let lock = self.lock;
                acquire::release_guard(&lock.meta, RwLock::<T>::KIND, mode, self.tracked);
                // SAFETY: the raw guard is moved out here and a new one
                // written back by `_relock` before the guard is used or
                // dropped again (`relock::relock` returns one or aborts).
                let raw = unsafe { std::ptr::read(&self.inner) };
                if fair {
                    crate::raw::$raw::unlock_fair(raw);
                } else {
                    drop(raw);
                }
                let _relock = relock::OnDrop::new(|| {
                    let ($lock, $mode_in, $site) = (lock, mode, site);
                    let (again, stopped) = relock::relock(site, || $relock, || {
                        let ($lock, $mode_in) = (lock, mode);
                        ($retake).map(|g| (g, false))
                    })
                    .into_parts();
                    let (raw, tracked) = again;
                    // SAFETY: the field was moved out above.
                    unsafe { std::ptr::write(&mut self.inner, raw) };
                    self.tracked = tracked;
                    relock::resume(stopped);
                });
                f()
            }
        }
    };
}

let_go_methods!(
    RwLockReadGuard,
    RwLockReadGuard,
    "read",
    |s| s.mode,
    |lock, mode, site| lock.read_at(mode, site),
    if mode == AcquireMode::RecursiveRead {
        lock.inner.try_read_recursive_for(relock::RETAKE)
    } else {
        lock.inner.try_read_for(relock::RETAKE)
    }
);
let_go_methods!(
    RwLockWriteGuard,
    RwLockWriteGuard,
    "write",
    |_| AcquireMode::Exclusive,
    |lock, _mode, site| lock.write_at(site),
    lock.inner.try_write_for(relock::RETAKE)
);
let_go_methods!(
    RwLockUpgradableReadGuard,
    RwLockUpgradableReadGuard,
    "upgradable read",
    |_| AcquireMode::Upgradable,
    |lock, _mode, site| lock.upgradable_read_at(site),
    lock.inner.try_upgradable_read_for(relock::RETAKE)
);

/// Runs `f` with the hold in write mode, for an upgradable read upgraded
/// in place: what `f` does is ordered and checked as a writer's, and the
/// hold is an upgradable read again when `f` returns or unwinds.
fn as_writer<R>(meta: &LockMeta, tracked: bool, f: impl FnOnce() -> R) -> R {
    if !tracked {
        return f();
    }
    acquire::change_mode(meta, AcquireMode::Upgradable, AcquireMode::Exclusive);
    let _back = relock::OnDrop::new(|| {
        acquire::change_mode(meta, AcquireMode::Exclusive, AcquireMode::Upgradable)
    });
    f()
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Then the raw guard, a field, unlocks.
        acquire::release_guard(&self.lock.meta, RwLock::<T>::KIND, self.mode, self.tracked);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Then the raw guard, a field, unlocks.
        acquire::release_guard(
            &self.lock.meta,
            RwLock::<T>::KIND,
            AcquireMode::Exclusive,
            self.tracked,
        );
    }
}

impl<T: ?Sized> Drop for RwLockUpgradableReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Then the raw guard, a field, unlocks.
        acquire::release_guard(
            &self.lock.meta,
            RwLock::<T>::KIND,
            AcquireMode::Upgradable,
            self.tracked,
        );
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> Deref for RwLockUpgradableReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

guard_fmt!(impl[] for RwLockReadGuard<'_, T>);
guard_fmt!(impl[] for RwLockWriteGuard<'_, T>);
guard_fmt!(impl[] for RwLockUpgradableReadGuard<'_, T>);
