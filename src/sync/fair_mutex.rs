//! `FairMutex<T>`: parking_lot's fair mutex (every unlock hands the lock
//! to a waiting thread, if any), with every acquisition checked as a
//! [`crate::Mutex`]'s: the same detectors, the same reports. It is the one
//! mutex type over the other raw mutex, as parking_lot's is.

use crate::sync::mapped::GenericMappedMutexGuard;
use crate::sync::mutex::{GenericMutex, GenericMutexGuard};
use crate::sync::raw::RawFairMutex;

/// A fair mutual-exclusion lock with parking_lot's API: an unlock lets the
/// longest waiter in. To the detectors it is a mutex like
/// [`crate::Mutex`]; its methods are [`GenericMutex`]'s.
///
/// ```
/// use lockcheck::FairMutex;
/// let queue = FairMutex::named("queue", Vec::new());
/// queue.lock().push(1);
/// assert_eq!(queue.into_inner(), [1]);
/// ```
pub type FairMutex<T> = GenericMutex<RawFairMutex, T>;

/// Holds a [`FairMutex`] locked; unlocks (fairly) when dropped. Not `Send`,
/// whatever features parking_lot has on (the thread that locked must
/// release); `Sync` where `T` is, as parking_lot's.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// let m = lockcheck::FairMutex::new(0);
/// send(m.lock());
/// ```
pub type FairMutexGuard<'a, T> = GenericMutexGuard<'a, RawFairMutex, T>;

/// A [`FairMutexGuard`] narrowed by `map`: holds the fair mutex until
/// dropped. Not `Send`; `Sync` where `T` is.
pub type MappedFairMutexGuard<'a, T> = GenericMappedMutexGuard<'a, RawFairMutex, T>;

/// A new unlocked [`FairMutex`], as parking_lot's `const_fair_mutex`
/// (usable in a `static`); its creation site is its class.
///
/// ```
/// static QUEUE: lockcheck::FairMutex<u32> = lockcheck::const_fair_mutex(0);
/// *QUEUE.lock() += 1;
/// assert_eq!(*QUEUE.lock(), 1);
/// ```
#[track_caller]
pub const fn const_fair_mutex<T>(value: T) -> FairMutex<T> {
    FairMutex::new(value)
}
