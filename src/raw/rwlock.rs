//! `RawRwLock`: the reader-writer lock under lockcheck's `RwLock` and
//! `stdsync::RwLock`, with parking_lot's semantics and a simpler design.
//!
//! One state word:
//!
//! * `WRITER`: a writer owns the lock, or owns the right to it and waits
//!   for the readers still inside to leave ("draining");
//! * `UPGRADABLE`: an upgradable read is held (one at a time; it coexists
//!   with readers, not with a writer);
//! * the reader count, above the flag bits;
//! * `PARKED`: threads may be parked on the lock's address (the *main*
//!   queue: readers, upgradable readers and writers waiting to get in);
//! * `WRITER_PARKED`: the draining writer (or upgrading reader) is parked on
//!   the lock's address + 1 (the *drain* queue, of at most one thread).
//!
//! Rules, as parking_lot's: a writer takes `WRITER` as soon as neither
//! `WRITER` nor `UPGRADABLE` is held, then waits for the reader count to
//! drop to zero. A plain `read` is refused while `WRITER` is set, so a
//! waiting writer is not starved by new readers; `read_recursive` is let in
//! while readers are still inside (a thread that already reads can read
//! again without deadlocking behind the writer that waits for it). An
//! upgrade turns `UPGRADABLE` into `WRITER` and drains like a writer.
//!
//! What it costs: the uncontended paths are one atomic read-modify-write
//! each, as parking_lot's. A contended (non-fair) unlock, a downgrade or a
//! timed-out writer wakes *every* thread of the main queue (`unpark_all`),
//! and each re-checks the state and parks again if still blocked: simple
//! and free of lost wake-ups, at the price of a thundering herd when many
//! threads wait (parking_lot wakes a chosen subset instead). There is no
//! eventual fairness on the plain unlocks (parking_lot hands off about once
//! every 0.5 ms); the fair unlocks hand off, see `unlock_fair_slow`.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot_core::{FilterOp, ParkResult, ParkToken, SpinWait, UnparkResult, UnparkToken};

/// Threads may be parked on the main queue (the lock's address).
const PARKED: usize = 0b0001;
/// The draining writer may be parked on the drain queue (address + 1).
const WRITER_PARKED: usize = 0b0010;
/// An upgradable read is held.
const UPGRADABLE: usize = 0b0100;
/// A writer holds the lock, or holds the right to it while readers drain.
const WRITER: usize = 0b1000;
/// One reader in the count above the flags.
const ONE_READER: usize = 0b1_0000;
/// The reader count.
const READERS: usize = !(ONE_READER - 1);

/// What a parked thread wants, as the state it would add: read by the fair
/// unlock's filter to pick whom to hand the lock to.
const TOKEN_SHARED: ParkToken = ParkToken(ONE_READER);
/// An upgradable reader's park token (see [`TOKEN_SHARED`]).
const TOKEN_UPGRADABLE: ParkToken = ParkToken(UPGRADABLE);
/// A writer's park token (see [`TOKEN_SHARED`]).
const TOKEN_EXCLUSIVE: ParkToken = ParkToken(WRITER);

/// Woken to look at the state again.
const TOKEN_NORMAL: UnparkToken = UnparkToken(0);
/// Woken owning what the park token asked for (a fair unlock's hand-off).
const TOKEN_HANDOFF: UnparkToken = UnparkToken(1);

/// Whether a plain read is refused in `state`: a writer holds or drains.
#[inline]
fn shared_blocked(state: usize) -> bool {
    state & WRITER != 0
}

/// Whether a recursive read is refused: only by a writer that is inside
/// (it has no readers left to wait for).
#[inline]
fn recursive_blocked(state: usize) -> bool {
    state & WRITER != 0 && state & READERS == 0
}

/// Whether a write or an upgradable read is refused: by the other writer
/// or upgradable reader (readers are waited for afterwards, by a writer).
#[inline]
fn exclusive_blocked(state: usize) -> bool {
    state & (WRITER | UPGRADABLE) != 0
}

/// `state` with one more reader. A count that no longer fits is a bug in
/// the program (or a leak of billions of guards): panic rather than wrap.
#[inline]
fn plus_reader(state: usize) -> usize {
    state
        .checked_add(ONE_READER)
        .expect("RwLock reader count overflow")
}

/// A raw reader-writer lock implementing every `lock_api` rwlock trait
/// lockcheck's wrappers use (see the module doc for the design).
pub struct RawRwLock {
    /// Flags and reader count (see the module doc).
    state: AtomicUsize,
}

impl RawRwLock {
    /// Unlocked, nobody parked: what `lock_api::RawRwLock::INIT` is.
    pub(crate) const fn new() -> Self {
        RawRwLock {
            state: AtomicUsize::new(0),
        }
    }

    /// The main queue's key: the state's address.
    #[inline]
    fn main_key(&self) -> usize {
        &self.state as *const AtomicUsize as usize
    }

    /// The drain queue's key: one past the state's address, inside the lock
    /// (so no other lock can use it).
    #[inline]
    fn drain_key(&self) -> usize {
        self.main_key() + 1
    }

    /// Adds a reader unless `blocked`; whether it did. Never waits.
    #[inline]
    fn try_shared(&self, blocked: fn(usize) -> bool) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if blocked(state) {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                plus_reader(state),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// Sets `bit` (`WRITER` or `UPGRADABLE`) if neither is held and, for a
    /// writer, no reader is inside; whether it did. Never waits.
    #[inline]
    fn try_flag(&self, bit: usize, also_refused_by: usize) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if exclusive_blocked(state) || state & also_refused_by != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | bit,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// Waits in the main queue until `grant` (a reader, `UPGRADABLE` or
    /// `WRITER`) can be added to a state that is not `blocked`, adds it,
    /// and returns true; or false at `deadline`. A fair unlock may hand the
    /// grant over while the thread sleeps: it then returns owning it.
    #[cold]
    #[inline(never)]
    fn lock_common(
        &self,
        deadline: Option<Instant>,
        token: ParkToken,
        grant: usize,
        blocked: fn(usize) -> bool,
    ) -> bool {
        let mut spin = SpinWait::new();
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if !blocked(state) {
                let new = if grant == ONE_READER {
                    plus_reader(state)
                } else {
                    state | grant
                };
                match self.state.compare_exchange_weak(
                    state,
                    new,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(now) => state = now,
                }
                continue;
            }
            // Spin a little while nobody is parked: most holds are short.
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
            // Under the queue lock: sleep only if still blocked with
            // `PARKED` set. Whoever clears `PARKED` calls `unpark_all` (or
            // a fair unlock's filter) afterwards, taking the same queue
            // lock, so this thread is either refused here or woken there.
            let validate = || {
                let now = self.state.load(Ordering::Relaxed);
                now & PARKED != 0 && blocked(now)
            };
            let timed_out = |_key: usize, was_last: bool| {
                if was_last {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
            };
            // SAFETY: the key is this lock's own address, and the callbacks
            // neither panic nor call into parking_lot_core.
            let parked = unsafe {
                parking_lot_core::park(self.main_key(), validate, || {}, timed_out, token, deadline)
            };
            match parked {
                ParkResult::Unparked(TOKEN_HANDOFF) => return true,
                ParkResult::TimedOut => return false,
                ParkResult::Unparked(_) | ParkResult::Invalid => {}
            }
            spin.reset();
            state = self.state.load(Ordering::Relaxed);
        }
    }

    /// Holding `WRITER`, waits for the readers inside to leave: true once
    /// there are none (the lock is then exclusively ours), false at
    /// `deadline` (the caller still holds `WRITER` and must give it back).
    #[cold]
    #[inline(never)]
    fn drain_readers(&self, deadline: Option<Instant>) -> bool {
        let mut spin = SpinWait::new();
        loop {
            // Acquire: pairs with each leaving reader's Release.
            let state = self.state.load(Ordering::Acquire);
            if state & READERS == 0 {
                if state & WRITER_PARKED != 0 {
                    self.state.fetch_and(!WRITER_PARKED, Ordering::Relaxed);
                }
                return true;
            }
            if spin.spin() {
                continue;
            }
            // The last reader out wakes the drain queue if this bit is set
            // when it leaves; the bit is set before the validation below,
            // so it is seen, or the validation sees no reader.
            self.state.fetch_or(WRITER_PARKED, Ordering::Relaxed);
            let validate = || {
                let now = self.state.load(Ordering::Relaxed);
                now & READERS != 0 && now & WRITER_PARKED != 0
            };
            // SAFETY: the key is inside this lock, and the callbacks neither
            // panic nor call into parking_lot_core.
            let parked = unsafe {
                parking_lot_core::park(
                    self.drain_key(),
                    validate,
                    || {},
                    |_, _| {},
                    TOKEN_EXCLUSIVE,
                    deadline,
                )
            };
            if parked == ParkResult::TimedOut {
                self.state.fetch_and(!WRITER_PARKED, Ordering::Relaxed);
                // The last reader may have left as the time ran out.
                return self.state.load(Ordering::Acquire) & READERS == 0;
            }
        }
    }

    /// Wakes the writer parked in the drain queue: called by the last
    /// reader out while one waits.
    #[cold]
    #[inline(never)]
    fn wake_drainer(&self) {
        // SAFETY: the key is inside this lock, and the callback neither
        // panics nor calls into parking_lot_core.
        unsafe {
            parking_lot_core::unpark_one(self.drain_key(), |_| TOKEN_NORMAL);
        }
    }

    /// Clears `PARKED` and wakes the whole main queue, if `PARKED` was set:
    /// after any change that may let a parked thread in. Each woken thread
    /// re-checks the state (and parks again if it is still blocked).
    #[cold]
    #[inline(never)]
    fn wake_all(&self) {
        if self.state.fetch_and(!PARKED, Ordering::Relaxed) & PARKED != 0 {
            // SAFETY: the key is this lock's own address.
            unsafe {
                parking_lot_core::unpark_all(self.main_key(), TOKEN_NORMAL);
            }
        }
    }

    /// Releases `held` (`WRITER` or `UPGRADABLE`) with `PARKED` set,
    /// handing the lock to parked threads: in queue order, every reader and
    /// at most one upgradable reader, up to and including the first writer
    /// that can have it (the filter skips a second upgradable reader or a
    /// writer after one). A writer handed the lock while readers are inside
    /// (an upgradable unlock's) drains them itself. With nobody parked it
    /// is a plain release.
    #[cold]
    #[inline(never)]
    fn unlock_fair_slow(&self, held: usize) {
        // What the hand-off gives away so far; only the filter and the
        // callback below touch it, on this thread, under the queue lock.
        let granted = Cell::new(0usize);
        let filter = |ParkToken(wants): ParkToken| {
            let so_far = granted.get();
            if so_far & WRITER != 0 {
                return FilterOp::Stop;
            }
            if wants & (WRITER | UPGRADABLE) != 0 && so_far & UPGRADABLE != 0 {
                return FilterOp::Skip;
            }
            granted.set(so_far + wants);
            FilterOp::Unpark
        };
        let callback = |result: UnparkResult| {
            // The first parked thread is never skipped, so nobody unparked
            // means nobody parked: a plain release.
            let (add, parked, token) = if result.unparked_threads == 0 {
                (0, 0, TOKEN_NORMAL)
            } else {
                let parked = if result.have_more_threads { PARKED } else { 0 };
                (granted.get(), parked, TOKEN_HANDOFF)
            };
            // Readers may come and go meanwhile: update, don't overwrite.
            let _ = self
                .state
                .fetch_update(Ordering::Release, Ordering::Relaxed, |state| {
                    Some((state & !(held | PARKED)) + add + parked)
                });
            token
        };
        // SAFETY: the key is this lock's own address, and the callbacks
        // neither panic nor call into parking_lot_core.
        unsafe {
            parking_lot_core::unpark_filter(self.main_key(), filter, callback);
        }
    }

    /// [`lock_common`](Self::lock_common) for a writer, then the drain;
    /// gives `WRITER` back if the drain runs out of time.
    #[cold]
    #[inline(never)]
    fn lock_exclusive_slow(&self, deadline: Option<Instant>) -> bool {
        if !self.lock_common(deadline, TOKEN_EXCLUSIVE, WRITER, exclusive_blocked) {
            return false;
        }
        self.drain_or_give_back(deadline, 0)
    }

    /// Drains readers holding `WRITER`; at `deadline` turns `WRITER` back
    /// into `back` (0 for a writer, `UPGRADABLE` for an upgrade) and wakes
    /// the threads it kept out.
    #[inline]
    fn drain_or_give_back(&self, deadline: Option<Instant>, back: usize) -> bool {
        if self.drain_readers(deadline) {
            return true;
        }
        // `WRITER` is set and `back`'s bit clear: this subtracts the one
        // and adds the other.
        self.state.fetch_sub(WRITER - back, Ordering::Release);
        self.wake_all();
        false
    }

    /// Unlocks a write, wakes the main queue (not fair).
    #[cold]
    #[inline(never)]
    fn unlock_exclusive_slow(&self) {
        let before = self.state.fetch_and(!(WRITER | PARKED), Ordering::Release);
        if before & PARKED != 0 {
            // SAFETY: the key is this lock's own address.
            unsafe {
                parking_lot_core::unpark_all(self.main_key(), TOKEN_NORMAL);
            }
        }
    }

    /// Unlocks an upgradable read with `PARKED` set, waking the main queue
    /// (not fair).
    #[cold]
    #[inline(never)]
    fn unlock_upgradable_slow(&self) {
        let before = self
            .state
            .fetch_and(!(UPGRADABLE | PARKED), Ordering::Release);
        if before & PARKED != 0 {
            // SAFETY: the key is this lock's own address.
            unsafe {
                parking_lot_core::unpark_all(self.main_key(), TOKEN_NORMAL);
            }
        }
    }

    /// The main and drain queues' keys, for the unit tests to count the
    /// threads parked on each (through a filter that skips them all).
    #[cfg(test)]
    pub(crate) fn keys_for_test(&self) -> (usize, usize) {
        (self.main_key(), self.drain_key())
    }
}

impl Default for RawRwLock {
    fn default() -> Self {
        RawRwLock::new()
    }
}

/// The deadline `timeout` from now; `None` (wait forever) if it cannot be
/// represented.
#[inline]
fn deadline_in(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

// SAFETY: `WRITER` is set by one thread at a time (a compare-exchange from
// a state without `WRITER` or `UPGRADABLE`, or a hand-off of a lock already
// ours), and a write returns only once the reader count is zero, while
// `WRITER` keeps new plain readers out and recursive readers in only while
// others are inside. Every acquisition is Acquire, every release Release.
unsafe impl lock_api::RawRwLock for RawRwLock {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT is a constant by design"
    )]
    const INIT: RawRwLock = RawRwLock::new();

    // lockcheck's guards are never `Send`: the thread that locked releases.
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    fn lock_shared(&self) {
        let state = self.state.load(Ordering::Relaxed);
        if shared_blocked(state)
            || self
                .state
                .compare_exchange_weak(
                    state,
                    plus_reader(state),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            self.lock_common(None, TOKEN_SHARED, ONE_READER, shared_blocked);
        }
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        self.try_shared(shared_blocked)
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        let before = self.state.fetch_sub(ONE_READER, Ordering::Release);
        if before & (READERS | WRITER_PARKED) == ONE_READER | WRITER_PARKED {
            self.wake_drainer();
        }
    }

    #[inline]
    fn lock_exclusive(&self) {
        if self
            .state
            .compare_exchange_weak(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_exclusive_slow(None);
        }
    }

    #[inline]
    fn try_lock_exclusive(&self) -> bool {
        self.try_flag(WRITER, READERS)
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_exclusive_slow();
        }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & (READERS | WRITER | UPGRADABLE) != 0
    }

    /// True while a writer holds the lock *or waits for readers to leave*
    /// (as parking_lot's: the writer already owns the right to the lock).
    #[inline]
    fn is_locked_exclusive(&self) -> bool {
        self.state.load(Ordering::Relaxed) & WRITER != 0
    }
}

// SAFETY: the fair unlocks release as the plain ones do, or hand what they
// release to parked threads that asked for it (see `unlock_fair_slow`).
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    /// A reader's unlock has nothing to hand off: threads in the main
    /// queue wait for `WRITER` or `UPGRADABLE`, never for readers. The one
    /// thread that waits for readers, a draining writer, is woken by the
    /// last reader out as in [`lock_api::RawRwLock::unlock_shared`].
    #[inline]
    unsafe fn unlock_shared_fair(&self) {
        // SAFETY: the caller holds a read (the trait's contract).
        unsafe { lock_api::RawRwLock::unlock_shared(self) }
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self) {
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_fair_slow(WRITER);
        }
    }
}

// SAFETY: a downgrade turns `WRITER` into one reader in a single atomic
// step, so no writer can slip in between.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade(&self) {
        // `WRITER` is set: adding the difference clears it and adds a reader.
        let before = self.state.fetch_add(ONE_READER - WRITER, Ordering::Release);
        if before & PARKED != 0 {
            // Waiting readers can come in now.
            self.wake_all();
        }
    }
}

// SAFETY: as the untimed calls, with a deadline (see `drain_or_give_back`
// for a write that times out while readers drain).
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        self.try_shared(shared_blocked)
            || self.lock_common(
                deadline_in(timeout),
                TOKEN_SHARED,
                ONE_READER,
                shared_blocked,
            )
    }

    #[inline]
    fn try_lock_shared_until(&self, deadline: Instant) -> bool {
        self.try_shared(shared_blocked)
            || self.lock_common(Some(deadline), TOKEN_SHARED, ONE_READER, shared_blocked)
    }

    #[inline]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        self.try_flag(WRITER, READERS) || self.lock_exclusive_slow(deadline_in(timeout))
    }

    #[inline]
    fn try_lock_exclusive_until(&self, deadline: Instant) -> bool {
        self.try_flag(WRITER, READERS) || self.lock_exclusive_slow(Some(deadline))
    }
}

// SAFETY: a recursive read differs from a plain one only in being let in
// past a draining writer while other readers are inside.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    fn lock_shared_recursive(&self) {
        if !self.try_shared(recursive_blocked) {
            self.lock_common(None, TOKEN_SHARED, ONE_READER, recursive_blocked);
        }
    }

    #[inline]
    fn try_lock_shared_recursive(&self) -> bool {
        self.try_shared(recursive_blocked)
    }
}

// SAFETY: as the recursive and the timed reads.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[inline]
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        self.try_shared(recursive_blocked)
            || self.lock_common(
                deadline_in(timeout),
                TOKEN_SHARED,
                ONE_READER,
                recursive_blocked,
            )
    }

    #[inline]
    fn try_lock_shared_recursive_until(&self, deadline: Instant) -> bool {
        self.try_shared(recursive_blocked)
            || self.lock_common(Some(deadline), TOKEN_SHARED, ONE_READER, recursive_blocked)
    }
}

// SAFETY: `UPGRADABLE` is set by one thread at a time, never beside
// `WRITER`; an upgrade turns it into `WRITER` atomically and then drains
// readers as a writer does.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    fn lock_upgradable(&self) {
        if !self.try_flag(UPGRADABLE, 0) {
            self.lock_common(None, TOKEN_UPGRADABLE, UPGRADABLE, exclusive_blocked);
        }
    }

    #[inline]
    fn try_lock_upgradable(&self) -> bool {
        self.try_flag(UPGRADABLE, 0)
    }

    #[inline]
    unsafe fn unlock_upgradable(&self) {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & PARKED == 0 {
            match self.state.compare_exchange_weak(
                state,
                state & !UPGRADABLE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        self.unlock_upgradable_slow();
    }

    #[inline]
    unsafe fn upgrade(&self) {
        // `UPGRADABLE` is set and `WRITER` clear: this swaps them.
        let before = self.state.fetch_add(WRITER - UPGRADABLE, Ordering::Acquire);
        if before & READERS != 0 {
            self.drain_readers(None);
        }
    }

    #[inline]
    unsafe fn try_upgrade(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & READERS != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state - UPGRADABLE + WRITER,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }
}

// SAFETY: as the plain and the fair unlocks.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self) {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & PARKED == 0 {
            match self.state.compare_exchange_weak(
                state,
                state & !UPGRADABLE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        self.unlock_fair_slow(UPGRADABLE);
    }
}

// SAFETY: each downgrade swaps one held bit for another in one atomic step.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade_upgradable(&self) {
        // `UPGRADABLE` is set: adding the difference clears it and adds a
        // reader.
        let before = self
            .state
            .fetch_add(ONE_READER - UPGRADABLE, Ordering::Release);
        if before & PARKED != 0 {
            // A waiting writer or upgradable reader can come in now.
            self.wake_all();
        }
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self) {
        // `WRITER` is set and `UPGRADABLE` clear: this swaps them.
        let before = self.state.fetch_sub(WRITER - UPGRADABLE, Ordering::Release);
        if before & PARKED != 0 {
            // Waiting readers can come in now.
            self.wake_all();
        }
    }
}

// SAFETY: as the timed calls and the upgrade.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[inline]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        self.try_flag(UPGRADABLE, 0)
            || self.lock_common(
                deadline_in(timeout),
                TOKEN_UPGRADABLE,
                UPGRADABLE,
                exclusive_blocked,
            )
    }

    #[inline]
    fn try_lock_upgradable_until(&self, deadline: Instant) -> bool {
        self.try_flag(UPGRADABLE, 0)
            || self.lock_common(
                Some(deadline),
                TOKEN_UPGRADABLE,
                UPGRADABLE,
                exclusive_blocked,
            )
    }

    #[inline]
    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: the caller holds the upgradable read (the contract).
        unsafe { self.upgrade_until(deadline_in(timeout)) }
    }

    #[inline]
    unsafe fn try_upgrade_until(&self, deadline: Instant) -> bool {
        // SAFETY: the caller holds the upgradable read (the contract).
        unsafe { self.upgrade_until(Some(deadline)) }
    }
}

impl RawRwLock {
    /// Upgrades, waiting for readers until `deadline`; on time-out the
    /// upgradable read is held again, as before the call.
    ///
    /// # Safety
    /// The calling thread must hold the upgradable read.
    #[inline]
    unsafe fn upgrade_until(&self, deadline: Option<Instant>) -> bool {
        // `UPGRADABLE` is set and `WRITER` clear: this swaps them.
        let before = self.state.fetch_add(WRITER - UPGRADABLE, Ordering::Acquire);
        before & READERS == 0 || self.drain_or_give_back(deadline, UPGRADABLE)
    }
}
