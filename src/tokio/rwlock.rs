//! `lockcheck::tokio::RwLock`: tokio's async reader-writer lock, checked.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use super::hold::{Held, Hold, LockRef, RawLock, Request};
use crate::event::{AcquireMode, LockKind};

const KIND: LockKind = LockKind::AsyncRwLock;

/// Readers at once (unless `with_max_readers` says fewer): a writer takes
/// them all, as tokio's `RwLock` does. Its semaphore queues requests in
/// order, so a read waits behind a writer that waits (a read taken while
/// holding a read can then deadlock, which the self-deadlock check
/// reports).
const MAX_READS: u32 = u32::MAX >> 3;

/// tokio's `RwLock` with lockcheck's checks (see [`super::Mutex`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = lockcheck::tokio::RwLock::named("config", 1);
/// assert_eq!(*config.read().await, 1);
/// *config.write().await = 2;
/// assert_eq!(*config.read().await, 2);
/// # }
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawLock,
    /// The permits a writer takes: the readers there may be at once.
    max_reads: u32,
    data: UnsafeCell<T>,
}

// SAFETY: as tokio's: readers share `&T`, a writer has the whole.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock, named in reports by where it was created.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::make(None, MAX_READS, value)
    }

    /// A new, unlocked lock in a `const` context (a `static`), as tokio's
    /// `const_new`.
    ///
    /// ```
    /// static LIMIT: lockcheck::tokio::RwLock<u32> = lockcheck::tokio::RwLock::const_new(8);
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// *LIMIT.write().await += 1;
    /// assert_eq!(*LIMIT.read().await, 9);
    /// # }
    /// ```
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        Self::make(None, MAX_READS, value)
    }

    /// A new lock that lets at most `max_reads` readers in at once, as
    /// tokio's. Panics if `max_reads` is 0 or more than `u32::MAX >> 3`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> Self {
        Self::make(None, max_reads, value)
    }

    /// [`Self::with_max_readers`] in a `const` context.
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> Self {
        Self::make(None, max_reads, value)
    }

    /// A new lock with a name for reports.
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::make(Some(name), MAX_READS, value)
    }

    #[track_caller]
    const fn make(name: Option<&'static str>, max_reads: u32, value: T) -> Self {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than 536870911 readers"
        );
        RwLock {
            raw: RawLock::new(KIND, name, Location::caller(), max_reads as usize),
            max_reads,
            data: UnsafeCell::new(value),
        }
    }

    /// Names the lock with a name made at run time (interned).
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.raw.meta.set_name(name.into());
        self
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

/// What a lock is asked for.
#[derive(Copy, Clone)]
enum Access {
    Read,
    Write,
}

impl<T: ?Sized> RwLock<T> {
    /// The request for `access` at `site`: one permit to read, all of them
    /// to write.
    fn request(&self, access: Access, site: &'static Location<'static>) -> Request<'_> {
        let (permits, mode) = match access {
            Access::Read => (1, AcquireMode::Read),
            Access::Write => (self.max_reads, AcquireMode::Exclusive),
        };
        Request {
            raw: &self.raw,
            permits,
            kind: KIND,
            mode,
            site,
        }
    }

    fn try_acquire(&self, access: Access, site: &'static Location<'static>) -> Option<Hold> {
        self.request(access, site).try_acquire()
    }

    fn read_guard(&self, hold: Hold) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard::new(Held::new(&self.raw, hold), self.data.get())
    }

    fn write_guard(&self, hold: Hold) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard::new(Held::new(&self.raw, hold), self.data.get())
    }

    /// Locks for reading, waiting while a writer holds the lock or waits
    /// for it.
    #[track_caller]
    pub fn read(&self) -> impl std::future::Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let site = Location::caller();
        self.request(Access::Read, site)
            .acquire()
            .guard(move |hold| self.read_guard(hold))
    }

    /// Locks for writing, waiting while anyone holds the lock.
    #[track_caller]
    pub fn write(&self) -> impl std::future::Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let site = Location::caller();
        self.request(Access::Write, site)
            .acquire()
            .guard(move |hold| self.write_guard(hold))
    }

    /// Locks for reading if no writer holds or awaits the lock now.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, super::TryLockError> {
        let site = Location::caller();
        self.try_acquire(Access::Read, site)
            .map(|hold| self.read_guard(hold))
            .ok_or(super::mutex::would_block())
    }

    /// Locks for writing if nobody holds the lock now.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, super::TryLockError> {
        let site = Location::caller();
        self.try_acquire(Access::Write, site)
            .map(|hold| self.write_guard(hold))
            .ok_or(super::mutex::would_block())
    }

    /// Locks for reading from blocking code.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(Access::Read, site).blocking_acquire();
        self.read_guard(hold)
    }

    /// Locks for writing from blocking code.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(Access::Write, site).blocking_acquire();
        self.write_guard(hold)
    }

    /// [`Self::read`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn read_owned(
        self: Arc<Self>,
    ) -> impl std::future::Future<Output = OwnedRwLockReadGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.request(Access::Read, site).acquire().await;
            OwnedRwLockReadGuard::whole(Held::new(self, hold))
        }
    }

    /// [`Self::write`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn write_owned(
        self: Arc<Self>,
    ) -> impl std::future::Future<Output = OwnedRwLockWriteGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.request(Access::Write, site).acquire().await;
            OwnedRwLockWriteGuard::new(Held::new(self, hold))
        }
    }

    /// [`Self::try_read`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, super::TryLockError> {
        let site = Location::caller();
        match self.try_acquire(Access::Read, site) {
            Some(hold) => Ok(OwnedRwLockReadGuard::whole(Held::new(self, hold))),
            None => Err(super::mutex::would_block()),
        }
    }

    /// [`Self::try_write`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn try_write_owned(
        self: Arc<Self>,
    ) -> Result<OwnedRwLockWriteGuard<T>, super::TryLockError> {
        let site = Location::caller();
        match self.try_acquire(Access::Write, site) {
            Some(hold) => Ok(OwnedRwLockWriteGuard::new(Held::new(self, hold))),
            None => Err(super::mutex::would_block()),
        }
    }

    /// The value, through a unique borrow (no lock needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized> LockRef for Arc<RwLock<T>> {
    #[inline(always)]
    fn raw(&self) -> &RawLock {
        &self.raw
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

/// A read lock of a [`RwLock`] (or of a part of its value, mapped);
/// unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    held: Held<&'a RawLock>,
    data: *const T,
    _borrow: PhantomData<&'a T>,
}

// SAFETY: as tokio's: the guard is a shared borrow of `T`.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn new(held: Held<&'a RawLock>, data: *const T) -> Self {
        RwLockReadGuard {
            held,
            data,
            _borrow: PhantomData,
        }
    }

    /// A read guard for a part of the value; the lock stays held.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        // SAFETY: the guard holds the lock for reading.
        let data = f(unsafe { &*this.data }) as *const U;
        RwLockReadGuard::new(this.held, data)
    }

    /// A read guard for a part of the value if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        // SAFETY: the guard holds the lock for reading.
        match f(unsafe { &*this.data }) {
            Some(part) => {
                let data = part as *const U;
                Ok(RwLockReadGuard::new(this.held, data))
            }
            None => Err(this),
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock for reading.
        unsafe { &*self.data }
    }
}

/// A write lock of a [`RwLock`]; unlocks when dropped. A mapped write
/// guard of the whole value that may still be downgraded.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    inner: RwLockMappedWriteGuard<'a, T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(held: Held<&'a RawLock>, data: *mut T) -> Self {
        RwLockWriteGuard {
            inner: RwLockMappedWriteGuard::new(held, data),
        }
    }

    /// A write guard for a part of the value; the lock stays held (and
    /// cannot be downgraded any more, as tokio's).
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        RwLockMappedWriteGuard::map(this.inner, f)
    }

    /// A write guard for a part of the value if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        RwLockMappedWriteGuard::try_map(this.inner, f).map_err(|inner| RwLockWriteGuard { inner })
    }

    /// This guard as a mapped write guard of the whole value.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        this.inner
    }

    /// The write lock becomes a read lock of a part of the value, without
    /// letting a writer in between.
    #[track_caller]
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = f(&*this) as *const U;
        let mut held = this.inner.held;
        held.downgrade(Location::caller());
        RwLockReadGuard::new(held, data)
    }

    /// [`Self::downgrade_map`] if `f` finds a part; else this guard back,
    /// still holding the lock for writing.
    #[track_caller]
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(|part| part as *const U) else {
            return Err(this);
        };
        let mut held = this.inner.held;
        held.downgrade(Location::caller());
        Ok(RwLockReadGuard::new(held, data))
    }

    /// The write lock becomes a read lock, without letting a writer in
    /// between: for lockcheck the hold changes mode (what the writer did
    /// happens before the readers that come in now).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lock = lockcheck::tokio::RwLock::new(1);
    /// let mut w = lock.write().await;
    /// *w += 1;
    /// let r = w.downgrade();
    /// assert_eq!(*r, 2);
    /// assert!(lock.try_read().is_ok());
    /// assert!(lock.try_write().is_err());
    /// # }
    /// ```
    #[track_caller]
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let RwLockMappedWriteGuard { mut held, data, .. } = self.inner;
        held.downgrade(Location::caller());
        RwLockReadGuard::new(held, data)
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

/// A write lock of a part of a [`RwLock`]'s value
/// (`RwLockWriteGuard::map`); unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    held: Held<&'a RawLock>,
    data: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: as `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    fn new(held: Held<&'a RawLock>, data: *mut T) -> Self {
        RwLockMappedWriteGuard {
            held,
            data,
            _borrow: PhantomData,
        }
    }

    /// A write guard for a part of this part; the lock stays held.
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        // SAFETY: the guard holds the lock for writing.
        let data = f(unsafe { &mut *this.data }) as *mut U;
        RwLockMappedWriteGuard::new(this.held, data)
    }

    /// A write guard for a part of this part if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard holds the lock for writing.
        match f(unsafe { &mut *this.data }) {
            Some(part) => {
                let data = part as *mut U;
                Ok(RwLockMappedWriteGuard::new(this.held, data))
            }
            None => Err(this),
        }
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &mut *self.data }
    }
}

/// A read lock through an `Arc` (`read_owned`), of the value or of a part
/// of it (mapped); unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    held: Held<Arc<RwLock<T>>>,
    data: *const U,
}

// SAFETY: as tokio's: the guard may drop the lock's last `Arc` (and so
// `T`) wherever it goes, and shares `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// The guard of the whole value.
    fn whole(held: Held<Arc<RwLock<T>>>) -> Self {
        let data = held.lock.data.get() as *const T;
        OwnedRwLockReadGuard { held, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// A read guard for a part of the value; the lock stays held.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        // SAFETY: the guard holds the lock for reading.
        let data = f(unsafe { &*this.data }) as *const V;
        OwnedRwLockReadGuard {
            held: this.held,
            data,
        }
    }

    /// A read guard for a part of the value if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        // SAFETY: the guard holds the lock for reading.
        match f(unsafe { &*this.data }) {
            Some(part) => {
                let data = part as *const V;
                Ok(OwnedRwLockReadGuard {
                    held: this.held,
                    data,
                })
            }
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds the lock for reading.
        unsafe { &*self.data }
    }
}

/// A write lock through an `Arc` (`write_owned`); unlocks when dropped. A
/// mapped write guard of the whole value that may still be downgraded.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    inner: OwnedRwLockMappedWriteGuard<T>,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    fn new(held: Held<Arc<RwLock<T>>>) -> Self {
        let data = held.lock.data.get();
        OwnedRwLockWriteGuard {
            inner: OwnedRwLockMappedWriteGuard { held, data },
        }
    }

    /// A write guard for a part of the value; the lock stays held (and
    /// cannot be downgraded any more, as tokio's).
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        OwnedRwLockMappedWriteGuard::map(this.inner, f)
    }

    /// A write guard for a part of the value if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        OwnedRwLockMappedWriteGuard::try_map(this.inner, f)
            .map_err(|inner| OwnedRwLockWriteGuard { inner })
    }

    /// This guard as a mapped write guard of the whole value.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        this.inner
    }

    /// The write lock becomes a read lock of a part of the value, without
    /// letting a writer in between.
    #[track_caller]
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = f(&*this) as *const U;
        let mut held = this.inner.held;
        held.downgrade(Location::caller());
        OwnedRwLockReadGuard { held, data }
    }

    /// [`Self::downgrade_map`] if `f` finds a part; else this guard back,
    /// still holding the lock for writing.
    #[track_caller]
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let Some(data) = f(&*this).map(|part| part as *const U) else {
            return Err(this);
        };
        let mut held = this.inner.held;
        held.downgrade(Location::caller());
        Ok(OwnedRwLockReadGuard { held, data })
    }

    /// The write lock becomes a read lock, without letting a writer in
    /// between (see [`RwLockWriteGuard::downgrade`]).
    #[track_caller]
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let mut held = self.inner.held;
        held.downgrade(Location::caller());
        OwnedRwLockReadGuard::whole(held)
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.inner.held.lock
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

/// A write lock of a part of a [`RwLock`]'s value through its `Arc`
/// (`OwnedRwLockWriteGuard::map`); unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    held: Held<Arc<RwLock<T>>>,
    data: *mut U,
}

// SAFETY: as `OwnedRwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// A write guard for a part of this part; the lock stays held.
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        // SAFETY: the guard holds the lock for writing.
        let data = f(unsafe { &mut *this.data }) as *mut V;
        OwnedRwLockMappedWriteGuard {
            held: this.held,
            data,
        }
    }

    /// A write guard for a part of this part if `f` finds one; else this
    /// guard back, still holding the lock.
    pub fn try_map<F, V: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        // SAFETY: the guard holds the lock for writing.
        match f(unsafe { &mut *this.data }) {
            Some(part) => {
                let data = part as *mut V;
                Ok(OwnedRwLockMappedWriteGuard {
                    held: this.held,
                    data,
                })
            }
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &mut *self.data }
    }
}

guard_formatting!(
    [T] RwLockReadGuard<'_, T> => T,
    [T] RwLockWriteGuard<'_, T> => T,
    [T] RwLockMappedWriteGuard<'_, T> => T,
    [T, U] OwnedRwLockReadGuard<T, U> => U,
    [T] OwnedRwLockWriteGuard<T> => T,
    [T, U] OwnedRwLockMappedWriteGuard<T, U> => U,
);
