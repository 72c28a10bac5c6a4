//! `lockcheck::tokio::Mutex`: tokio's async mutex, checked.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::hold::{Hold, Request};
use crate::event::{AcquireMode, LockKind};
use crate::runtime::lock_meta::LockMeta;

const KIND: LockKind = LockKind::AsyncMutex;
const MODE: AcquireMode = AcquireMode::Exclusive;

/// tokio's `Mutex` with lockcheck's checks: `lock().await` validates the
/// lock order of the task (or thread) that awaits it, a task that awaits a
/// mutex it already holds is a reported (and broken) self-deadlock, and
/// an await that outlasts the grace period is a wait in the wait-for graph.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// let jobs = Arc::new(lockcheck::tokio::Mutex::named("jobs", Vec::new()));
/// let j = jobs.clone();
/// lockcheck::tokio::spawn(async move { j.lock().await.push(1) })
///     .await
///     .unwrap();
/// assert_eq!(*jobs.lock().await, [1]);
/// # }
/// ```
pub struct Mutex<T: ?Sized> {
    meta: LockMeta,
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: as tokio's: the semaphore's single permit gives one guard at a
// time access to `data`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex, named in reports by where it was created.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::make(None, value)
    }

    /// A new mutex with a name for reports.
    #[track_caller]
    pub fn named(name: &'static str, value: T) -> Self {
        Self::make(Some(name), value)
    }

    #[track_caller]
    fn make(name: Option<&'static str>, value: T) -> Self {
        Mutex {
            meta: LockMeta::new(KIND, name, Location::caller()),
            sem: Semaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Names the mutex with a name made at run time (interned).
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self
    where
        T: Sized,
    {
        self.meta.set_name(name.into());
        self
    }

    fn request(&self, site: &'static Location<'static>) -> Request<'_> {
        Request {
            meta: &self.meta,
            sem: &self.sem,
            permits: 1,
            kind: KIND,
            mode: MODE,
            site,
        }
    }

    /// Locks the mutex, waiting (asynchronously) while another holds it.
    #[track_caller]
    pub fn lock(&self) -> impl std::future::Future<Output = MutexGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            let hold = self.request(site).acquire().await;
            MutexGuard::new(self, hold)
        }
    }

    /// Locks the mutex from blocking code (outside the runtime's worker
    /// threads: a thread of its own, `spawn_blocking`).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(site).blocking_acquire();
        MutexGuard::new(self, hold)
    }

    /// Locks the mutex if it is free now.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        self.request(site)
            .try_acquire()
            .map(|hold| MutexGuard::new(self, hold))
            .ok_or(would_block())
    }

    /// Locks the mutex for a guard that owns a handle to it (`'static`, so
    /// that it can move into a spawned task).
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl std::future::Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.request(site).acquire().await;
            OwnedMutexGuard::new(self, hold)
        }
    }

    /// [`Self::lock_owned`] if the mutex is free now.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let site = Location::caller();
        match self.request(site).try_acquire() {
            Some(hold) => Ok(OwnedMutexGuard::new(self, hold)),
            None => Err(would_block()),
        }
    }

    /// The value, through a unique borrow (no lock needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
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
        match self.sem.try_acquire() {
            Ok(_permit) => {
                // SAFETY: the permit excludes every guard while it lives.
                d.field("data", &unsafe { &*self.data.get() });
            }
            Err(_) => {
                d.field("data", &format_args!("<locked>"));
            }
        }
        d.finish()
    }
}

/// The mutex was locked (from `try_lock`), as tokio's `TryLockError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

/// The error of a try that found the lock taken.
pub(super) fn would_block() -> TryLockError {
    TryLockError(())
}

/// A lock of a [`Mutex`]; unlocks when dropped. `Send` as tokio's guard is.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    hold: Hold,
}

// SAFETY: the guard gives `&T` wherever it is shared, as tokio's.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(lock: &'a Mutex<T>, hold: Hold) -> Self {
        MutexGuard { lock, hold }
    }

    /// A guard for a part of the locked value; the lock stays held.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let this = ManuallyDrop::new(this);
        // SAFETY: the guard holds the lock, and is not dropped: its hold
        // moves to the mapped guard.
        let data = f(unsafe { &mut *this.lock.data.get() }) as *mut U;
        MappedMutexGuard {
            meta: &this.lock.meta,
            sem: &this.lock.sem,
            // SAFETY: read once out of a guard that is never dropped.
            hold: unsafe { std::ptr::read(&this.hold) },
            data,
            _borrow: PhantomData,
        }
    }

    /// A guard for a part of the locked value if `f` finds one; else the
    /// guard back, still holding the lock (tokio's `MutexGuard::try_map`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use lockcheck::tokio::{MutexGuard, Mutex};
    /// let m = Mutex::new(vec![1, 2]);
    /// let first = MutexGuard::try_map(m.lock().await, |v| v.first_mut());
    /// assert_eq!(*first.ok().unwrap(), 1);
    /// # }
    /// ```
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        // SAFETY: the guard holds the lock.
        let Some(data) = f(unsafe { &mut *this.lock.data.get() }).map(|u| u as *mut U) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(MappedMutexGuard {
            meta: &this.lock.meta,
            sem: &this.lock.sem,
            // SAFETY: read once out of a guard that is never dropped: its
            // hold moves to the mapped guard.
            hold: unsafe { std::ptr::read(&this.hold) },
            data,
            _borrow: PhantomData,
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.hold.release(&self.lock.meta);
        self.lock.sem.add_permits(1);
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

/// A lock of a [`Mutex`] through an `Arc` (`lock_owned`): `'static`, so
/// it can move into another task; unlocks when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    hold: Hold,
    lock: Arc<Mutex<T>>,
}

// SAFETY: as `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    fn new(lock: Arc<Mutex<T>>, hold: Hold) -> Self {
        OwnedMutexGuard { hold, lock }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.hold.release(&self.lock.meta);
        self.lock.sem.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A lock of a part of a [`Mutex`]'s value (`MutexGuard::map`).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    meta: &'a LockMeta,
    sem: &'a Semaphore,
    hold: Hold,
    data: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a unique borrow of the part, as tokio's.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// A guard for a part of this part; the lock stays held.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let this = ManuallyDrop::new(this);
        // SAFETY: the guard holds the lock and is not dropped.
        let part = this.data;
        let data = f(unsafe { &mut *part }) as *mut U;
        MappedMutexGuard {
            meta: this.meta,
            sem: this.sem,
            // SAFETY: read once out of a guard that is never dropped.
            hold: unsafe { std::ptr::read(&this.hold) },
            data,
            _borrow: PhantomData,
        }
    }

    /// A guard for a part of this part if `f` finds one; else this guard
    /// back, still holding the lock.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        // SAFETY: the guard holds the lock.
        let Some(data) = f(unsafe { &mut *this.data }).map(|u| u as *mut U) else {
            return Err(this);
        };
        let this = ManuallyDrop::new(this);
        Ok(MappedMutexGuard {
            meta: this.meta,
            sem: this.sem,
            // SAFETY: read once out of a guard that is never dropped.
            hold: unsafe { std::ptr::read(&this.hold) },
            data,
            _borrow: PhantomData,
        })
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.hold.release(self.meta);
        self.sem.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
