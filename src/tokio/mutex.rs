//! `lockcheck::tokio::Mutex`: tokio's async mutex, checked.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

use super::hold::{Held, LockRef, RawLock, Request};
use crate::event::{AcquireMode, LockKind};

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
    raw: RawLock,
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

    /// A new, unlocked mutex in a `const` context (a `static`), as tokio's
    /// `const_new`.
    ///
    /// ```
    /// static JOBS: lockcheck::tokio::Mutex<Vec<u32>> = lockcheck::tokio::Mutex::const_new(Vec::new());
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// JOBS.lock().await.push(1);
    /// assert_eq!(*JOBS.lock().await, [1]);
    /// # }
    /// ```
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        Self::make(None, value)
    }

    /// A new mutex with a name for reports.
    #[track_caller]
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::make(Some(name), value)
    }

    #[track_caller]
    const fn make(name: Option<&'static str>, value: T) -> Self {
        Mutex {
            raw: RawLock::new(KIND, name, Location::caller(), 1),
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
        self.raw.meta.set_name(name.into());
        self
    }

    fn request(&self, site: &'static Location<'static>) -> Request<'_> {
        Request {
            raw: &self.raw,
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
        self.request(site).acquire().guard(move |hold| MutexGuard {
            held: Held::new(self, hold),
        })
    }

    /// Locks the mutex from blocking code (outside the runtime's worker
    /// threads: a thread of its own, `spawn_blocking`).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        let hold = self.request(site).blocking_acquire();
        MutexGuard {
            held: Held::new(self, hold),
        }
    }

    /// [`Self::blocking_lock`] for a guard that owns a handle to the mutex.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let site = Location::caller();
        let hold = self.request(site).blocking_acquire();
        OwnedMutexGuard::new(Held::new(self, hold))
    }

    /// Locks the mutex if it is free now.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        self.request(site)
            .try_acquire()
            .map(|hold| MutexGuard {
                held: Held::new(self, hold),
            })
            .ok_or(would_block())
    }

    /// Locks the mutex for a guard that owns a handle to it (`'static`, so
    /// that it can move into a spawned task).
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl std::future::Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            let hold = self.request(site).acquire().await;
            OwnedMutexGuard::new(Held::new(self, hold))
        }
    }

    /// [`Self::lock_owned`] if the mutex is free now.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let site = Location::caller();
        match self.request(site).try_acquire() {
            Some(hold) => Ok(OwnedMutexGuard::new(Held::new(self, hold))),
            None => Err(would_block()),
        }
    }

    /// The value, through a unique borrow (no lock needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized> LockRef for &Mutex<T> {
    #[inline(always)]
    fn raw(&self) -> &RawLock {
        &self.raw
    }
}

impl<T: ?Sized> LockRef for Arc<Mutex<T>> {
    #[inline(always)]
    fn raw(&self) -> &RawLock {
        &self.raw
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
        match self.raw.sem.try_acquire() {
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
    held: Held<&'a Mutex<T>>,
}

// SAFETY: the guard gives `&T` wherever it is shared, as tokio's.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// A guard for a part of the locked value; the lock stays held.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let lock = this.held.lock;
        // SAFETY: the guard holds the lock, and its hold moves to the
        // mapped guard.
        let data = f(unsafe { &mut *lock.data.get() }) as *mut U;
        MappedMutexGuard::new(this.held.rebind(|lock| &lock.raw), data)
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
        let lock = this.held.lock;
        // SAFETY: the guard holds the lock.
        match f(unsafe { &mut *lock.data.get() }) {
            Some(part) => {
                let data = part as *mut U;
                Ok(MappedMutexGuard::new(
                    this.held.rebind(|lock| &lock.raw),
                    data,
                ))
            }
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.held.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.held.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.held.lock.data.get() }
    }
}

/// A lock of a [`Mutex`] through an `Arc` (`lock_owned`): `'static`, so
/// it can move into another task; unlocks when dropped. An owned mapped
/// guard of the whole value.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    inner: OwnedMappedMutexGuard<T>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    fn new(held: Held<Arc<Mutex<T>>>) -> Self {
        let data = held.lock.data.get();
        OwnedMutexGuard {
            inner: OwnedMappedMutexGuard { held, data },
        }
    }

    /// A guard for a part of the locked value that keeps the `Arc`; the
    /// lock stays held (tokio's `OwnedMutexGuard::map`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// use lockcheck::tokio::{Mutex, OwnedMutexGuard};
    /// let m = Arc::new(Mutex::new((1, 2)));
    /// let mut second = OwnedMutexGuard::map(m.clone().lock_owned().await, |pair| &mut pair.1);
    /// *second += 1;
    /// drop(second);
    /// assert_eq!(*m.lock().await, (1, 3));
    /// # }
    /// ```
    pub fn map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedMappedMutexGuard<T, U> {
        OwnedMappedMutexGuard::map(this.inner, f)
    }

    /// A guard for a part of the locked value if `f` finds one; else the
    /// guard back, still holding the lock.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<OwnedMappedMutexGuard<T, U>, Self> {
        OwnedMappedMutexGuard::try_map(this.inner, f).map_err(|inner| OwnedMutexGuard { inner })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.inner.held.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

/// A lock of a part of a [`Mutex`]'s value (`MutexGuard::map`).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    held: Held<&'a RawLock>,
    data: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: the guard is a unique borrow of the part, as tokio's.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    fn new(held: Held<&'a RawLock>, data: *mut T) -> Self {
        MappedMutexGuard {
            held,
            data,
            _borrow: PhantomData,
        }
    }

    /// A guard for a part of this part; the lock stays held.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        // SAFETY: the guard holds the lock, and its hold moves on.
        let data = f(unsafe { &mut *this.data }) as *mut U;
        MappedMutexGuard::new(this.held, data)
    }

    /// A guard for a part of this part if `f` finds one; else this guard
    /// back, still holding the lock.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        // SAFETY: the guard holds the lock.
        match f(unsafe { &mut *this.data }) {
            Some(part) => {
                let data = part as *mut U;
                Ok(MappedMutexGuard::new(this.held, data))
            }
            None => Err(this),
        }
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

/// A lock of a part of a [`Mutex`]'s value through its `Arc`
/// (`OwnedMutexGuard::map`); unlocks when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    held: Held<Arc<Mutex<T>>>,
    data: *mut U,
}

// SAFETY: as tokio's: the guard may drop the lock's last `Arc` (and so
// `T`) wherever it goes, and gives `&mut U`.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: as above; shared, it gives `&U`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// A guard for a part of this part; the lock stays held.
    pub fn map<V: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut U) -> &mut V,
    ) -> OwnedMappedMutexGuard<T, V> {
        // SAFETY: the guard holds the lock, and its hold moves on.
        let data = f(unsafe { &mut *this.data }) as *mut V;
        OwnedMappedMutexGuard {
            held: this.held,
            data,
        }
    }

    /// A guard for a part of this part if `f` finds one; else this guard
    /// back, still holding the lock.
    pub fn try_map<V: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<OwnedMappedMutexGuard<T, V>, Self> {
        // SAFETY: the guard holds the lock.
        match f(unsafe { &mut *this.data }) {
            Some(part) => {
                let data = part as *mut V;
                Ok(OwnedMappedMutexGuard {
                    held: this.held,
                    data,
                })
            }
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.held.lock
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.data }
    }
}

guard_formatting!(
    [T] MutexGuard<'_, T> => T,
    [T] OwnedMutexGuard<T> => T,
    [T] MappedMutexGuard<'_, T> => T,
    [T, U] OwnedMappedMutexGuard<T, U> => U,
);
