//! `RawFairMutex`: a [`RawMutex`] whose every unlock is fair, for
//! lockcheck's `FairMutex` (parking_lot's `FairMutex` is the same idea).
//! Fairness costs only when a thread is parked: an uncontended unlock is the
//! same single `compare_exchange` as the plain mutex's.

use std::time::{Duration, Instant};

use lock_api::RawMutexFair as _;

use crate::raw::mutex::RawMutex;

/// A raw mutex that hands the lock to a parked thread on every unlock,
/// instead of letting a running thread barge in first.
pub struct RawFairMutex(RawMutex);

// SAFETY: all locking is the inner `RawMutex`'s; only which unlock is used
// differs, and a fair unlock is a correct unlock.
unsafe impl lock_api::RawMutex for RawFairMutex {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT is a constant by design"
    )]
    const INIT: RawFairMutex = RawFairMutex(RawMutex::new());

    // lockcheck's guards are never `Send`: the thread that locked releases.
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    fn lock(&self) {
        self.0.lock();
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.0.try_lock()
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { self.0.unlock_fair() }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

// SAFETY: as the inner `RawMutex`'s.
unsafe impl lock_api::RawMutexFair for RawFairMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { self.0.unlock_fair() }
    }

    #[inline]
    unsafe fn bump(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { self.0.bump() }
    }
}

// SAFETY: as the inner `RawMutex`'s.
unsafe impl lock_api::RawMutexTimed for RawFairMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        self.0.try_lock_for(timeout)
    }

    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        self.0.try_lock_until(deadline)
    }
}
