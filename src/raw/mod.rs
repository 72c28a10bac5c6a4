//! lockcheck's own raw locks, on `lock_api` 0.4 and `parking_lot_core` 0.9
//! (the crates parking_lot 0.12 is built on), so that the library does not
//! depend on the registry's `parking_lot`: a user can then patch
//! `parking_lot` with a shim that re-exports lockcheck's checked locks
//! without making a dependency cycle.
//!
//! One file per raw lock ([`mutex`], [`fair_mutex`], [`rwlock`],
//! [`thread_id`] for the reentrant mutex, [`condvar`]); here, the
//! `lock_api` types over them under the names parking_lot gives its own,
//! so that the wrappers read as they did over parking_lot.

pub(crate) mod condvar;
pub(crate) mod fair_mutex;
pub(crate) mod mutex;
pub(crate) mod rwlock;
pub(crate) mod thread_id;

#[cfg(test)]
mod tests;

pub(crate) use condvar::Condvar;
pub(crate) use fair_mutex::RawFairMutex;
pub(crate) use mutex::RawMutex;
pub(crate) use rwlock::RawRwLock;
pub(crate) use thread_id::RawThreadId;

/// A mutex over [`RawMutex`] (parking_lot's `Mutex`).
pub(crate) type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// A guard of [`Mutex`].
pub(crate) type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// Rounds of spinning before a contended wait (a lock's, a receive's)
/// starts its timed wait.
const SPIN_ROUNDS: u32 = 4;

/// Tries `try_now` a few times, pausing twice as long between tries each
/// round (some thirty pauses in all), as parking_lot spins before it parks.
/// Most contention ends that soon, and the timed wait that follows starts
/// by reading the clock.
pub(crate) fn spin_briefly<G>(try_now: &impl Fn() -> Option<G>) -> Option<G> {
    for round in 1..=SPIN_ROUNDS {
        for _ in 0..1u32 << round {
            std::hint::spin_loop();
        }
        if let Some(g) = try_now() {
            return Some(g);
        }
    }
    None
}

// The fair mutex and the mapped guards are lock_api's own types over these
// raw locks, named where the checked mutex is generic over them
// (`sync::mutex_raw`).

/// A reentrant mutex over [`RawMutex`] and [`RawThreadId`].
pub(crate) type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;
/// A guard of [`ReentrantMutex`].
pub(crate) type ReentrantMutexGuard<'a, T> =
    lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A [`ReentrantMutexGuard`] narrowed by `map`.
pub(crate) type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// A reader-writer lock over [`RawRwLock`] (parking_lot's `RwLock`).
pub(crate) type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
/// A read guard of [`RwLock`].
pub(crate) type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// A write guard of [`RwLock`].
pub(crate) type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;
/// An upgradable read guard of [`RwLock`].
pub(crate) type RwLockUpgradableReadGuard<'a, T> =
    lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;
/// An [`RwLockReadGuard`] narrowed by `map`.
pub(crate) type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;
/// An [`RwLockWriteGuard`] narrowed by `map`.
pub(crate) type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;

/// A new unlocked [`Mutex`] in a constant context (parking_lot's
/// `const_mutex`), for the runtime's own statics.
#[cfg(feature = "checks")]
pub(crate) const fn const_mutex<T>(value: T) -> Mutex<T> {
    Mutex::const_new(RawMutex::new(), value)
}

/// A new unlocked [`RwLock`] in a constant context (parking_lot's
/// `const_rwlock`), for the runtime's own statics.
#[cfg(feature = "checks")]
pub(crate) const fn const_rwlock<T>(value: T) -> RwLock<T> {
    RwLock::const_new(RawRwLock::new(), value)
}
