//! `RwLock<T>` with std's API and poisoning, locked through lockcheck's
//! [`crate::RwLock`]: every acquisition is checked in its mode.

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LockResult, TryLockResult};

use crate::sync::fmt::guard_fmt;
use crate::sync::value_traits::value_traits;

use crate::stdsync::poison;

/// A reader-writer lock with `std::sync::RwLock`'s API, poisoning included
/// (a panic while writing poisons it; a panic while reading does not).
/// Checked like lockcheck's [`crate::RwLock`]: a thread that takes `read`
/// while it already reads the lock is reported as a self-deadlock (std
/// documents that this may deadlock or panic), as is a `write` under its
/// own `read`.
///
/// ```
/// use lockcheck::stdsync::RwLock;
/// let config = RwLock::new(String::from("v1"));
/// assert_eq!(*config.read().unwrap(), "v1");
/// config.write().unwrap().push_str(".1");
/// assert_eq!(config.into_inner().unwrap(), "v1.1");
/// ```
pub struct RwLock<T: ?Sized> {
    poison: poison::Flag,
    inner: crate::RwLock<T>,
}

// As std's: a panic while writing poisons the lock.
impl<T: ?Sized> UnwindSafe for RwLock<T> {}
impl<T: ?Sized> RefUnwindSafe for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked reader-writer lock.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RwLock {
            poison: poison::Flag::new(),
            inner: crate::RwLock::new(value),
        }
    }

    /// Consumes the lock, returning its value; `Err` (carrying the value)
    /// if it is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::Flag::wrap(poisoned, self.inner.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared read access, blocking while a writer holds the lock. `Err`
    /// (carrying the guard) if the lock is poisoned.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        RwLockReadGuard::new(self, self.inner.read())
    }

    /// Read access if available now (a try: no lock-order edge).
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        poison::try_result(
            self.inner
                .try_read()
                .map(|inner| RwLockReadGuard::new(self, inner)),
        )
    }

    /// Exclusive write access. `Err` (carrying the guard) if the lock is
    /// poisoned.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        RwLockWriteGuard::new(self, self.inner.write())
    }

    /// Write access if available now (a try: no lock-order edge).
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        poison::try_result(
            self.inner
                .try_write()
                .map(|inner| RwLockWriteGuard::new(self, inner)),
        )
    }

    /// Whether a thread panicked while writing (and no one has cleared it).
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The value, through a unique borrow: no locking needed. `Err`
    /// (carrying the borrow) if the lock is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::Flag::wrap(poisoned, self.inner.get_mut())
    }
}

value_traits!(impl[] for RwLock<T>);

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        // A recursive read: it does not queue behind a writer, and is no
        // self-deadlock when this thread already reads the lock.
        match self.inner.try_read_recursive() {
            Some(guard) => d.field("data", &&*guard),
            // Unquoted, as std prints it (its Mutex quotes it).
            None => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

/// Holds an [`RwLock`] for reading; releases it when dropped. As std's:
/// `Sync` when `T` is, not `Send`.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    inner: crate::RwLockReadGuard<'a, T>,
    /// std's guard's auto traits: not `Send`.
    _std: PhantomData<std::sync::RwLockReadGuard<'a, T>>,
}

// SAFETY: as std's guard: a shared borrow of the guard reaches only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, inner: crate::RwLockReadGuard<'a, T>) -> LockResult<Self> {
        let guard = RwLockReadGuard {
            inner,
            _std: PhantomData,
        };
        // A read does not poison, but is told when a writer did.
        poison::Flag::wrap(lock.poison.get(), guard)
    }
}

/// Holds an [`RwLock`] for writing; releases it when dropped, poisoning
/// the lock if the thread started panicking while it held it. As std's:
/// `Sync` when `T` is, not `Send`:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let l = lockcheck::stdsync::RwLock::new(0);
/// send(l.write().unwrap());
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    /// First: it poisons before `inner` unlocks.
    poison: poison::Held<'a>,
    inner: crate::RwLockWriteGuard<'a, T>,
    /// std's guard's auto traits: not `Send`.
    _std: PhantomData<std::sync::RwLockWriteGuard<'a, T>>,
}

// SAFETY: as std's guard: a shared borrow of the guard reaches only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    fn new(lock: &'a RwLock<T>, inner: crate::RwLockWriteGuard<'a, T>) -> LockResult<Self> {
        poison::map_result(lock.poison.hold(), |poison| RwLockWriteGuard {
            poison,
            inner,
            _std: PhantomData,
        })
    }

    /// Turns the write lock into a read lock without letting a writer in,
    /// as std's.
    ///
    /// ```
    /// use lockcheck::stdsync::{RwLock, RwLockWriteGuard};
    /// let l = RwLock::new(1);
    /// let mut w = l.write().unwrap();
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// ```
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let s = ManuallyDrop::new(s);
        // SAFETY: `s` is never dropped, so each field is moved out once.
        let (poison, inner) = unsafe { (std::ptr::read(&s.poison), std::ptr::read(&s.inner)) };
        // Released as a write hold: poisons as the write guard's drop would.
        drop(poison);
        RwLockReadGuard {
            inner: crate::RwLockWriteGuard::downgrade(inner),
            _std: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

guard_fmt!(impl[] for RwLockReadGuard<'_, T>);
guard_fmt!(impl[] for RwLockWriteGuard<'_, T>);
