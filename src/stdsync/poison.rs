//! Poisoning, std's rule: a guard notes at acquisition whether its thread
//! was already panicking, and poisons the lock when it is dropped during a
//! panic that started since. A lock taken while unwinding (in a `Drop`)
//! does not poison on its way out of that same unwinding.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};
use std::thread;

/// A lock's poison flag.
pub(crate) struct Flag {
    failed: AtomicBool,
}

/// What a guard remembers for its release: whether its thread was already
/// panicking when the lock was taken.
pub(crate) struct Guard {
    panicking: bool,
}

impl Flag {
    /// An unpoisoned flag.
    pub(crate) const fn new() -> Self {
        Flag {
            failed: AtomicBool::new(false),
        }
    }

    /// The record for a guard taken now: `Err` (carrying it) when the lock
    /// is poisoned. Relaxed, as std: the lock itself orders what the flag
    /// reports.
    pub(crate) fn guard(&self) -> LockResult<Guard> {
        let guard = Guard {
            panicking: thread::panicking(),
        };
        if self.get() {
            Err(PoisonError::new(guard))
        } else {
            Ok(guard)
        }
    }

    /// A guard is released: poisons the lock if a panic started while it
    /// was held.
    pub(crate) fn done(&self, guard: &Guard) {
        if !guard.panicking && thread::panicking() {
            self.failed.store(true, Relaxed);
        }
    }

    /// Whether the lock is poisoned.
    pub(crate) fn get(&self) -> bool {
        self.failed.load(Relaxed)
    }

    /// Clears the poison.
    pub(crate) fn clear(&self) {
        self.failed.store(false, Relaxed);
    }

    /// `value` (the lock's value, or a borrow of it), as `Err` when the
    /// lock is poisoned: what `into_inner` and `get_mut` return.
    pub(crate) fn wrap<V>(poisoned: bool, value: V) -> LockResult<V> {
        if poisoned {
            Err(PoisonError::new(value))
        } else {
            Ok(value)
        }
    }

    /// The poisoning part of a guard taken now (see [`Held`]): `Err`
    /// (carrying it) when the lock is poisoned.
    pub(crate) fn hold(&self) -> LockResult<Held<'_>> {
        map_result(self.guard(), |guard| Held { flag: self, guard })
    }
}

/// The poisoning part of a write guard (std's `MutexGuard` and
/// `RwLockWriteGuard`), as a field: when dropped, it poisons the lock if a
/// panic started while the guard held it. Declared before the guard's
/// lockcheck guard, so that it runs first: the lock is poisoned before
/// anyone else can take it.
pub(crate) struct Held<'a> {
    flag: &'a Flag,
    guard: Guard,
}

impl Held<'_> {
    /// Whether the lock is poisoned.
    pub(crate) fn lock_is_poisoned(&self) -> bool {
        self.flag.get()
    }
}

impl Drop for Held<'_> {
    #[inline]
    fn drop(&mut self) {
        self.flag.done(&self.guard);
    }
}

/// A `try_*` result: `WouldBlock` when nothing was taken, `Poisoned`
/// (carrying the guard) when the lock is poisoned.
pub(crate) fn try_result<G>(taken: Option<LockResult<G>>) -> TryLockResult<G> {
    match taken {
        Some(guard) => Ok(guard?),
        None => Err(TryLockError::WouldBlock),
    }
}

/// `result` with its value (or the value its error carries) mapped by `f`.
pub(crate) fn map_result<T, U>(result: LockResult<T>, f: impl FnOnce(T) -> U) -> LockResult<U> {
    match result {
        Ok(t) => Ok(f(t)),
        Err(e) => Err(PoisonError::new(f(e.into_inner()))),
    }
}
