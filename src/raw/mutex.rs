//! `RawMutex`: the word-sized mutex every lockcheck mutex is built on (the
//! plain, fair and reentrant ones, and `stdsync::Mutex` through them).
//!
//! One state byte with two bits: `LOCKED` (some thread holds it) and
//! `PARKED` (some thread may be parked on the mutex's address in
//! parking_lot_core's table). The fast paths are one `compare_exchange_weak`
//! (Acquire) to lock and one `compare_exchange` (Release) to unlock, inlined;
//! everything else (spinning, parking, waking, timeouts) is out of line and
//! `#[cold]`, so the inlined code stays as small as parking_lot's.
//!
//! A contended unlock wakes one parked thread. Normally it clears `LOCKED`
//! first and the woken thread competes for the lock again (a running thread
//! may take it first: cheaper, not fair). A fair unlock, or one the
//! parking_lot_core table marks `be_fair` (about once every 0.5 ms per
//! lock, so that no waiter starves), hands the lock over instead: `LOCKED`
//! stays set and the woken thread returns owning it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use parking_lot_core::{ParkResult, SpinWait, UnparkResult, UnparkToken, DEFAULT_PARK_TOKEN};

/// Some thread holds the mutex.
const LOCKED: u8 = 1;
/// Some thread may be parked on the mutex's address: an unlock must look.
const PARKED: u8 = 2;

/// The unpark token of a plain wake-up: the lock was released, try again.
const TOKEN_NORMAL: UnparkToken = UnparkToken(0);
/// The unpark token of a hand-off: the woken thread owns the lock already.
pub(crate) const TOKEN_HANDOFF: UnparkToken = UnparkToken(1);

/// A raw mutual-exclusion lock: `lock_api::RawMutex`, `RawMutexFair` and
/// `RawMutexTimed` over one state byte, parking on its own address.
pub struct RawMutex {
    /// `LOCKED` and `PARKED` bits.
    state: AtomicU8,
}

impl RawMutex {
    /// Unlocked, no thread parked: what `lock_api::RawMutex::INIT` is.
    pub(crate) const fn new() -> Self {
        RawMutex {
            state: AtomicU8::new(0),
        }
    }

    /// The parking key: the state's address, unique to this mutex while it
    /// lives (a mutex is never moved while locked or waited on).
    #[inline]
    fn key(&self) -> usize {
        &self.state as *const AtomicU8 as usize
    }

    /// Takes the lock, spinning then parking, until `deadline` if there is
    /// one; whether it was taken. Past the inlined try of the fast path.
    #[cold]
    #[inline(never)]
    fn lock_slow(&self, deadline: Option<Instant>) -> bool {
        let mut spin = SpinWait::new();
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                match self.state.compare_exchange_weak(
                    state,
                    state | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(now) => state = now,
                }
                continue;
            }
            // Spin a little while nobody is parked: a short critical
            // section ends sooner than a park and wake-up round trip.
            if state & PARKED == 0 && spin.spin() {
                state = self.state.load(Ordering::Relaxed);
                continue;
            }
            if state & PARKED == 0 {
                if let Err(now) = self.state.compare_exchange_weak(
                    state,
                    state | PARKED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    state = now;
                    continue;
                }
            }
            let validate = || self.state.load(Ordering::Relaxed) == LOCKED | PARKED;
            let before_sleep = || {};
            let timed_out = |_key: usize, was_last: bool| {
                // Nobody left parked: unlocks can take their fast path
                // again. A thread about to park re-sets the bit and
                // re-validates under the queue lock.
                if was_last {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
            };
            // SAFETY: the key is this mutex's own address, and the
            // callbacks neither panic nor call into parking_lot_core.
            let parked = unsafe {
                parking_lot_core::park(
                    self.key(),
                    validate,
                    before_sleep,
                    timed_out,
                    DEFAULT_PARK_TOKEN,
                    deadline,
                )
            };
            match parked {
                ParkResult::Unparked(TOKEN_HANDOFF) => return true,
                ParkResult::TimedOut => return false,
                // Woken to compete again, or the state changed before we
                // slept: start over with a fresh spin.
                ParkResult::Unparked(_) | ParkResult::Invalid => {}
            }
            spin.reset();
            state = self.state.load(Ordering::Relaxed);
        }
    }

    /// Unlocks with `PARKED` set: wakes one parked thread, handing it the
    /// lock if `fair` (or if the table says it is time to be fair).
    #[cold]
    #[inline(never)]
    fn unlock_slow(&self, fair: bool) {
        let callback = |result: UnparkResult| {
            // Called with the queue locked: no thread can park or leave
            // meanwhile, so `have_more_threads` is exact for the new state.
            if result.unparked_threads != 0 && (fair || result.be_fair) {
                // Hand off: stay locked, for the woken thread.
                if !result.have_more_threads {
                    self.state.store(LOCKED, Ordering::Relaxed);
                }
                return TOKEN_HANDOFF;
            }
            let rest = if result.have_more_threads { PARKED } else { 0 };
            self.state.store(rest, Ordering::Release);
            TOKEN_NORMAL
        };
        // SAFETY: the key is this mutex's own address, and the callback
        // neither panics nor calls into parking_lot_core.
        unsafe {
            parking_lot_core::unpark_one(self.key(), callback);
        }
    }

    /// Unlocks, handing the lock to a parked thread if there is one.
    ///
    /// # Safety
    /// The calling context must hold the lock.
    #[inline]
    unsafe fn unlock_fair_inner(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.unlock_slow(true);
    }

    /// The parking key, for the unit tests to count the threads parked on
    /// it (through a filter that skips them all).
    #[cfg(test)]
    pub(crate) fn key_for_test(&self) -> usize {
        self.key()
    }

    /// Sets `PARKED` if the mutex is locked; whether it did. A condition
    /// variable calls it, under the queue lock of its own key, before it
    /// moves a notified waiter onto this mutex's queue instead of waking
    /// it: the holder's unlock then wakes the waiter.
    pub(crate) fn mark_parked_if_locked(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | PARKED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// Sets `PARKED`: a condition variable moved waiters onto this
    /// mutex's queue (under its queue lock).
    pub(crate) fn mark_parked(&self) {
        self.state.fetch_or(PARKED, Ordering::Relaxed);
    }

    /// Whether a thread is parked (or about to park) waiting for the lock.
    #[inline]
    fn has_parked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & PARKED != 0
    }
}

impl Default for RawMutex {
    fn default() -> Self {
        RawMutex::new()
    }
}

// SAFETY: `LOCKED` is set by exactly one thread at a time (every set is a
// compare-exchange from a state without it, or a hand-off that never clears
// it), with Acquire on taking and Release on giving up, so the lock gives
// mutual exclusion and publishes what the holder wrote.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT is a constant by design"
    )]
    const INIT: RawMutex = RawMutex::new();

    // lockcheck's guards are never `Send`: the thread that locked releases.
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    fn lock(&self) {
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(None);
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    #[inline]
    unsafe fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.unlock_slow(false);
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }
}

// SAFETY: `unlock_fair` releases exactly like `unlock`, except that with a
// parked thread the lock goes to it instead of being released.
unsafe impl lock_api::RawMutexFair for RawMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { self.unlock_fair_inner() }
    }

    #[inline]
    unsafe fn bump(&self) {
        if self.has_parked() {
            // SAFETY: the caller holds the lock; it is handed to the parked
            // thread and then taken back.
            unsafe { self.unlock_fair_inner() };
            lock_api::RawMutex::lock(self);
        }
    }
}

// SAFETY: a timed try takes the lock exactly as `lock` does, or gives up
// having changed nothing but the `PARKED` hint.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        if lock_api::RawMutex::try_lock(self) {
            return true;
        }
        // A timeout too large to add to now waits forever.
        self.lock_slow(Instant::now().checked_add(timeout))
    }

    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        if lock_api::RawMutex::try_lock(self) {
            return true;
        }
        self.lock_slow(Some(deadline))
    }
}
