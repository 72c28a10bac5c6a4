//! `lockcheck::tokio::RwLock`: tokio's async reader-writer lock, checked.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::hold::{Hold, Request};
use crate::event::{AcquireMode, LockKind};
use crate::runtime::lock_meta::LockMeta;

const KIND: LockKind = LockKind::AsyncRwLock;

/// Readers at once: a writer takes them all, as tokio's `RwLock` does.
/// Its semaphore queues requests in order, so a read waits behind a
/// writer that waits (a read taken while holding a read can then
/// deadlock, which the self-deadlock check reports).
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
    meta: LockMeta,
    sem: Semaphore,
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
        Self::make(None, value)
    }

    /// A new lock with a name for reports.
    #[track_caller]
    pub fn named(name: &'static str, value: T) -> Self {
        Self::make(Some(name), value)
    }

    #[track_caller]
    fn make(name: Option<&'static str>, value: T) -> Self {
        RwLock {
            meta: LockMeta::new(KIND, name, Location::caller()),
            sem: Semaphore::new(MAX_READS as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// Names the lock with a name made at run time (interned).
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.meta.set_name(name.into());
        self
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

/// The requests a lock serves: how many permits, in which mode.
const READ: (u32, AcquireMode) = (1, AcquireMode::Read);
const WRITE: (u32, AcquireMode) = (MAX_READS, AcquireMode::Exclusive);

impl<T: ?Sized> RwLock<T> {
    /// The request for `permits` in `mode` (one of [`READ`], [`WRITE`]).
    fn request(
        &self,
        (permits, mode): (u32, AcquireMode),
        site: &'static Location<'static>,
    ) -> Request<'_> {
        Request {
            meta: &self.meta,
            sem: &self.sem,
            permits,
            kind: KIND,
            mode,
            site,
        }
    }

    async fn acquire(&self, how: (u32, AcquireMode), site: &'static Location<'static>) -> Hold {
        self.request(how, site).acquire().await
    }

    fn try_acquire(
        &self,
        how: (u32, AcquireMode),
        site: &'static Location<'static>,
    ) -> Option<Hold> {
        self.request(how, site).try_acquire()
    }

    /// Locks for reading, waiting while a writer holds the lock or waits
    /// for it.
    #[track_caller]
    pub fn read(&self) -> impl std::future::Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let hold = self.acquire(READ, site).await;
            RwLockReadGuard { lock: self, hold }
        }
    }

    /// Locks for writing, waiting while anyone holds the lock.
    #[track_caller]
    pub fn write(&self) -> impl std::future::Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let hold = self.acquire(WRITE, site).await;
            RwLockWriteGuard { lock: self, hold }
        }
    }

    /// Locks for reading if no writer holds or awaits the lock now.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, super::TryLockError> {
        let site = Location::caller();
        self.try_acquire(READ, site)
            .map(|hold| RwLockReadGuard { lock: self, hold })
            .ok_or(super::mutex::would_block())
    }

    /// Locks for writing if nobody holds the lock now.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, super::TryLockError> {
        let site = Location::caller();
        self.try_acquire(WRITE, site)
            .map(|hold| RwLockWriteGuard { lock: self, hold })
            .ok_or(super::mutex::would_block())
    }

    /// Locks for reading from blocking code.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(READ, site).blocking_acquire();
        RwLockReadGuard { lock: self, hold }
    }

    /// Locks for writing from blocking code.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(WRITE, site).blocking_acquire();
        RwLockWriteGuard { lock: self, hold }
    }

    /// [`Self::read`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn read_owned(
        self: Arc<Self>,
    ) -> impl std::future::Future<Output = OwnedRwLockReadGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.acquire(READ, site).await;
            OwnedRwLockReadGuard { hold, lock: self }
        }
    }

    /// [`Self::write`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn write_owned(
        self: Arc<Self>,
    ) -> impl std::future::Future<Output = OwnedRwLockWriteGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.acquire(WRITE, site).await;
            OwnedRwLockWriteGuard { hold, lock: self }
        }
    }

    /// [`Self::try_read`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, super::TryLockError> {
        let site = Location::caller();
        match self.try_acquire(READ, site) {
            Some(hold) => Ok(OwnedRwLockReadGuard { hold, lock: self }),
            None => Err(super::mutex::would_block()),
        }
    }

    /// [`Self::try_write`] for a guard that owns a handle to the lock.
    #[track_caller]
    pub fn try_write_owned(
        self: Arc<Self>,
    ) -> Result<OwnedRwLockWriteGuard<T>, super::TryLockError> {
        let site = Location::caller();
        match self.try_acquire(WRITE, site) {
            Some(hold) => Ok(OwnedRwLockWriteGuard { hold, lock: self }),
            None => Err(super::mutex::would_block()),
        }
    }

    /// The value, through a unique borrow (no lock needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

/// Guard types: what each derefs to and how many permits it gives back.
macro_rules! guard {
    ($(#[$doc:meta])* $name:ident, [$($life:lifetime)?], $lock:ty, $permits:expr) => {
        $(#[$doc])*
        #[must_use = "if unused the RwLock will immediately unlock"]
        pub struct $name<$($life,)? T: ?Sized> {
            lock: $lock,
            hold: Hold,
        }

        impl<$($life,)? T: ?Sized> Deref for $name<$($life,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<$($life,)? T: ?Sized> Drop for $name<$($life,)? T> {
            fn drop(&mut self) {
                self.hold.release(&self.lock.meta);
                self.lock.sem.add_permits($permits as usize);
            }
        }

        impl<$($life,)? T: ?Sized + fmt::Debug> fmt::Debug for $name<$($life,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    };
}

guard!(
    /// A read lock of a [`RwLock`]; unlocks when dropped.
    RwLockReadGuard, ['a], &'a RwLock<T>, READ.0
);
guard!(
    /// A write lock of a [`RwLock`]; unlocks when dropped.
    RwLockWriteGuard, ['a], &'a RwLock<T>, WRITE.0
);
guard!(
    /// A read lock through an `Arc` (`read_owned`); unlocks when dropped.
    OwnedRwLockReadGuard, [], Arc<RwLock<T>>, READ.0
);
guard!(
    /// A write lock through an `Arc` (`write_owned`); unlocks when dropped.
    OwnedRwLockWriteGuard, [], Arc<RwLock<T>>, WRITE.0
);

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock for writing.
        unsafe { &mut *self.lock.data.get() }
    }
}
