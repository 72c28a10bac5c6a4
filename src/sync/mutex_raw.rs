//! The raw-lock trait of lockcheck's one mutex type: [`GenericMutex<R,
//! T>`](crate::sync::GenericMutex) is `Mutex<T>` with `R` =
//! [`RawMutex`] and `FairMutex<T>` with `R` = [`RawFairMutex`], as
//! parking_lot's two are `lock_api::Mutex<R, T>` over its two raw mutexes.
//!
//! `R` names the raw lock by its public, checked type (the one
//! `lock_api::Mutex<lockcheck::RawMutex, T>` takes), so that the same `R`
//! names the guards (`ArcMutexGuard<RawMutex, T>`, as parking_lot's). The
//! checked mutex does not lock through that type: the checks are its own
//! (`#[track_caller]`, with the fast path inline), so underneath it locks
//! the unchecked raw lock of `src/raw/` that `R` stands for.

use std::time::{Duration, Instant};

use crate::sync::raw::{RawFairMutex, RawMutex};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::sync::RawMutex {}
    impl Sealed for crate::sync::RawFairMutex {}
}

/// The raw mutexes lockcheck's mutex is generic over: [`RawMutex`] (for
/// [`Mutex`](crate::Mutex)) and [`RawFairMutex`] (for
/// [`FairMutex`](crate::FairMutex)). Sealed: lockcheck's checks need
/// lockcheck's raw locks.
///
/// Code generic over both mutexes names the trait as a bound:
///
/// ```
/// use lockcheck::sync::{GenericMutex, MutexRaw};
/// fn bump<R: MutexRaw>(m: &GenericMutex<R, u32>) {
///     *m.lock() += 1;
/// }
/// let (plain, fair) = (lockcheck::Mutex::new(0), lockcheck::FairMutex::new(0));
/// bump(&plain);
/// bump(&fair);
/// assert_eq!(*plain.lock() + *fair.lock(), 2);
/// ```
pub trait MutexRaw: sealed::Sealed + 'static {
    /// The unchecked raw lock underneath (from `src/raw/`): its unlock is
    /// the fair one for [`RawFairMutex`].
    #[doc(hidden)]
    type Lock: lock_api::RawMutex
        + lock_api::RawMutexFair
        + lock_api::RawMutexTimed<Duration = Duration, Instant = Instant>;

    /// The mutex's name in its `Debug` output, as parking_lot's.
    #[doc(hidden)]
    const NAME: &'static str;
}

impl MutexRaw for RawMutex {
    type Lock = crate::raw::RawMutex;
    const NAME: &'static str = "Mutex";
}

impl MutexRaw for RawFairMutex {
    type Lock = crate::raw::RawFairMutex;
    const NAME: &'static str = "FairMutex";
}
