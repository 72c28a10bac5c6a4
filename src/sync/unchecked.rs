//! lock_api's `make_*_guard_unchecked`: a guard for a hold the thread has
//! without one, because its guard was forgotten (`mem::forget`). lockcheck
//! keeps a forgotten guard's hold on the thread's held locks (the lock is
//! still locked), so the new guard takes that hold over: it is tracked if
//! the thread's held locks have it, and its drop releases it through the
//! detectors like any guard's.

use crate::event::AcquireMode;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::thread_state::with_thread;
use crate::sync::{ReentrantMutex, ReentrantMutexGuard};
use crate::sync::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};

/// Whether this thread's held locks have a hold of `meta` in `mode`.
pub(crate) fn held_here(meta: &LockMeta, mode: AcquireMode) -> bool {
    let Some(id) = meta.assigned_id() else {
        // Never used (or pending: then it is checked the slow way below).
        return meta.pending() && holds(meta, |m| m == mode);
    };
    with_thread(|t| t.held.iter().any(|e| e.id == id && e.mode == mode)).unwrap_or(false)
}

/// This thread's read hold of `meta`: its mode (a plain or a recursive
/// read) and whether it is tracked.
pub(crate) fn read_hold(meta: &LockMeta) -> (AcquireMode, bool) {
    let id = meta.release_id();
    let mode = with_thread(|t| {
        t.held
            .iter()
            .rev()
            .find(|e| {
                e.id == id && matches!(e.mode, AcquireMode::Read | AcquireMode::RecursiveRead)
            })
            .map(|e| e.mode)
    })
    .flatten();
    match mode {
        Some(mode) => (mode, true),
        None => (AcquireMode::Read, false),
    }
}

fn holds(meta: &LockMeta, mode: impl Fn(AcquireMode) -> bool) -> bool {
    let id = meta.id();
    with_thread(|t| t.held.iter().any(|e| e.id == id && mode(e.mode))).unwrap_or(false)
}

impl<T: ?Sized> RwLock<T> {
    /// A read guard for this thread's read hold, whose guard was forgotten
    /// (lock_api's `make_read_guard_unchecked`): the new guard takes the
    /// hold over, in the mode it was taken in (`read` or `read_recursive`).
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for reading, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_read_guard_unchecked(&self) -> RwLockReadGuard<'_, T> {
        let (mode, tracked) = read_hold(&self.meta);
        // SAFETY: the caller's hold passes to the new guard.
        unsafe { self.read_from_hold(mode, tracked) }
    }

    /// As [`Self::make_read_guard_unchecked`], for a write hold.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for writing, and nothing
    /// else will unlock that hold.
    pub unsafe fn make_write_guard_unchecked(&self) -> RwLockWriteGuard<'_, T> {
        let tracked = held_here(&self.meta, AcquireMode::Exclusive);
        // SAFETY: the caller's hold passes to the new guard.
        unsafe { self.write_from_hold(tracked) }
    }

    /// As [`Self::make_read_guard_unchecked`], for an upgradable read hold.
    ///
    /// # Safety
    /// As lock_api's: this thread holds the lock for upgradable reading,
    /// and nothing else will unlock that hold.
    pub unsafe fn make_upgradable_guard_unchecked(&self) -> RwLockUpgradableReadGuard<'_, T> {
        let tracked = held_here(&self.meta, AcquireMode::Upgradable);
        // SAFETY: the caller's hold passes to the new guard.
        unsafe { self.upgradable_from_hold(tracked) }
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// A guard for a level of the mutex this thread holds without one (its
    /// guard was forgotten), as lock_api's `make_guard_unchecked`: the new
    /// guard takes the level over, and its drop releases it through the
    /// detectors.
    ///
    /// # Safety
    /// As lock_api's: this thread holds a level of the mutex, and nothing
    /// else will unlock that level.
    pub unsafe fn make_guard_unchecked(&self) -> ReentrantMutexGuard<'_, T> {
        let tracked = held_here(&self.meta, AcquireMode::Exclusive);
        // SAFETY: the caller's level passes to the new guard.
        unsafe { self.guard_from_hold(tracked) }
    }
}
