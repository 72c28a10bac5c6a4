//! `Mutex<T>` with std's API and poisoning, locked through lockcheck's
//! [`crate::Mutex`]: every acquisition is checked like any other.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LockResult, TryLockError, TryLockResult};

use crate::sync::fmt::guard_fmt;
use crate::sync::value_traits::value_traits;

use crate::stdsync::poison;

/// A mutual-exclusion lock with `std::sync::Mutex`'s API, poisoning
/// included, whose acquisitions are checked for self-deadlock, lock-order
/// cycles and deadlocks. std's locks have no names: reports name the lock
/// by its creation site.
///
/// ```
/// use lockcheck::stdsync::{Arc, Mutex};
/// let hits = Arc::new(Mutex::new(0));
/// let h = Arc::clone(&hits);
/// std::thread::spawn(move || *h.lock().unwrap() += 1)
///     .join()
///     .unwrap();
/// assert_eq!(*hits.lock().unwrap(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    poison: poison::Flag,
    pub(crate) inner: crate::Mutex<T>,
}

// As std's: a panic while the lock is held poisons it, so whoever observes
// the lock after a caught panic is told.
impl<T: ?Sized> UnwindSafe for Mutex<T> {}
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            poison: poison::Flag::new(),
            inner: crate::Mutex::new(value),
        }
    }

    /// Consumes the mutex, returning its value; `Err` (carrying the value)
    /// if it is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::Flag::wrap(poisoned, self.inner.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, blocking until the lock is free. `Err` (carrying the guard)
    /// if a thread panicked while holding it. Re-locking from the thread
    /// that holds it is reported as a self-deadlock at this call (and the
    /// thread panics) instead of hanging.
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        MutexGuard::new(self, self.inner.lock())
    }

    /// Locks if the lock is free now (a try: no lock-order edge).
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        poison::try_result(
            self.inner
                .try_lock()
                .map(|inner| MutexGuard::new(self, inner)),
        )
    }

    /// Whether a thread panicked while holding the lock (and no one has
    /// cleared it since).
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison: the lock is as if no panic had happened.
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

value_traits!(impl[] for Mutex<T>);

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(err)) => d.field("data", &&**err.get_ref()),
            // Quoted, as std prints it (its RwLock does not).
            Err(TryLockError::WouldBlock) => d.field("data", &"<locked>"),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

/// Holds a [`Mutex`] locked; unlocks when dropped, poisoning the mutex if
/// the thread started panicking while it held it. Derefs to the value.
///
/// As std's, the guard is `Sync` when `T` is, and not `Send`:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let m = lockcheck::stdsync::Mutex::new(0);
/// send(m.lock().unwrap());
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    /// First: it poisons before `inner` unlocks.
    poison: poison::Held<'a>,
    pub(crate) inner: crate::MutexGuard<'a, T>,
    /// std's guard's auto traits: not `Send` (whatever the inner guard is).
    _std: PhantomData<std::sync::MutexGuard<'a, T>>,
}

// SAFETY: as std's guard: a shared borrow of the guard reaches only `&T`
// (the mutex itself is not reachable through it), so sharing the guard
// between threads is sharing `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The guard for `inner`, a hold of `lock`'s lockcheck mutex; `Err`
    /// (carrying it) if `lock` is poisoned.
    fn new(lock: &'a Mutex<T>, inner: crate::MutexGuard<'a, T>) -> LockResult<Self> {
        poison::map_result(lock.poison.hold(), |poison| MutexGuard {
            poison,
            inner,
            _std: PhantomData,
        })
    }

    /// Whether the guard's mutex is poisoned (for a condition variable's
    /// wait, which reports it).
    pub(crate) fn lock_is_poisoned(&self) -> bool {
        self.poison.lock_is_poisoned()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

guard_fmt!(impl[] for MutexGuard<'_, T>);
