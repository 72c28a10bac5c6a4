//! Checked raw locks for lock_api's generic types: `lockcheck::RawMutex`,
//! `RawFairMutex`, `RawRwLock` and `RawThreadId`, with the lock_api 0.4
//! traits parking_lot's raw types implement. Code written against
//! `lock_api::Mutex<R, T>` (or `RwLock<R, T>`, `ReentrantMutex<R, G, T>`)
//! gets lockcheck's checks by naming these as `R` and `G`.
//!
//! Each raw lock is a lockcheck lock description ([`LockMeta`]) beside
//! parking_lot's raw lock, and each trait method goes through the same
//! acquisition protocol as lockcheck's own locks: same fast path, same
//! detectors, one lock graph shared with `lockcheck::Mutex` and the rest.
//!
//! What lock_api does not give, and how it is made up for:
//! - a creation site: `INIT` is a constant, so every raw lock has the same
//!   one (this module's line); the lock's identity is taken at its first
//!   use, as for `const_mutex`. Reports tell raw locks apart by id, not by
//!   name, and ordering by class (`LOCKCHECK_ORDER=class`) makes them one
//!   class.
//! - the caller: lock_api's methods are not `#[track_caller]`, so the site
//!   these methods see is inside lock_api. Where a finding is made (a new
//!   lock-order edge, a self-deadlock, a wait that joins the wait-for
//!   graph) the site is replaced by the first frame of a short stack walk
//!   outside lockcheck and lock_api (`runtime::user_site`); the fast path
//!   never walks. Sites kept without a walk (where a held lock was taken,
//!   in a cycle's other edges) stay lock_api's line. The walk symbolises
//!   (the first in a process loads the debug information), and for a wait
//!   it runs before the thread joins the wait-for graph: a deadlock of raw
//!   locks is found that much later than one of lockcheck's own.
//! - which shared mode a shared unlock ends: `unlock_shared` does not say
//!   whether the hold was a `read` or a `read_recursive`; a hold on top of
//!   the thread's held stack is released at once, any other one is looked
//!   up first.

use std::num::NonZeroUsize;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::thread_state::with_thread;
use crate::runtime::user_site;

/// lockcheck's own raw locks (`src/raw/`), which do the locking underneath
/// (named here once each).
type InnerMutex = crate::raw::RawMutex;
type InnerRwLock = crate::raw::RawRwLock;

/// Gives the lock its identity at its first use, and settles its state so
/// that no order edge into it is ever parked aside (see `leaf_edges`): a
/// parked edge keeps its sites as they are, and a raw lock's are lock_api's
/// lines, which a report must not name where a walk can name the user's.
#[inline(always)]
#[track_caller]
fn registered(meta: &LockMeta) -> &LockMeta {
    if meta.assigned_id().is_none() {
        register(meta);
    }
    meta
}

#[cold]
#[inline(never)]
#[track_caller]
fn register(meta: &LockMeta) {
    let (_, first) = meta.id_first_use();
    if first {
        // Nothing was parked: the id was given here, not by an acquisition.
        meta.clear_pending();
        // lock_api made the lock from `INIT`: its creation site is the
        // constant's line in this file, which tells the user nothing. Its
        // first locker's line does (the caller's, past lock_api's frames).
        let first_use = user_site::site(Location::caller());
        meta.name_at_first_use(format!(
            "{} first locked at {first_use}",
            meta.kind().as_str()
        ));
    }
}

/// A checked blocking acquisition of `meta` in `mode`.
#[inline(always)]
#[track_caller]
fn lock_checked(
    meta: &LockMeta,
    kind: LockKind,
    mode: AcquireMode,
    try_now: impl Fn() -> bool,
    try_for: impl FnOnce(Duration) -> bool,
    block: impl Fn(),
) {
    // With the `checks` feature off, the raw lock alone, as every wrapper.
    if !cfg!(feature = "checks") {
        return block();
    }
    let meta = registered(meta);
    let ((), _tracked) = acquire::acquire(
        meta,
        kind,
        mode,
        Location::caller(),
        acquire::RawAcquire {
            try_now: || try_now().then_some(()),
            try_for: |t| try_for(t).then_some(()),
            block,
        },
    );
}

/// A checked try (a timed one too): no edge into the lock.
#[inline]
#[track_caller]
fn try_checked(meta: &LockMeta, mode: AcquireMode, attempt: impl FnOnce() -> bool) -> bool {
    if !cfg!(feature = "checks") {
        return attempt();
    }
    let meta = registered(meta);
    acquire::try_acquire(meta, mode, Location::caller(), || attempt().then_some(())).is_some()
}

/// Releases this thread's hold of `meta` in `mode`, before the raw unlock.
/// A hold that was not tracked (checking off, a thread being torn down) is
/// not on the held stack, and then there is nothing to release.
#[inline(always)]
fn release(meta: &LockMeta, kind: LockKind, mode: AcquireMode) {
    if cfg!(feature = "checks") {
        acquire::release_guard(meta, kind, mode, true);
    }
}

/// Releases a shared hold, whichever shared mode it was taken in.
#[inline]
fn release_shared(meta: &LockMeta) {
    if !cfg!(feature = "checks") {
        return;
    }
    let kind = LockKind::RwLock;
    if acquire::release_fast(meta, kind, AcquireMode::Read)
        || acquire::release_fast(meta, kind, AcquireMode::RecursiveRead)
    {
        return;
    }
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
    .flatten()
    .unwrap_or(AcquireMode::Read);
    release(meta, kind, mode);
}

/// A mutex's raw lock for `lock_api::Mutex<lockcheck::RawMutex, T>` (and
/// `lock_api::ReentrantMutex<lockcheck::RawMutex, lockcheck::RawThreadId,
/// T>`), checked like [`crate::Mutex`]: a re-lock by the holder is a
/// `self-deadlock`, locks taken in opposite orders a `lock-order-cycle`,
/// against lockcheck's own locks as well as other raw ones.
///
/// ```
/// use lockcheck::lock_api;
/// type Mutex<T> = lock_api::Mutex<lockcheck::RawMutex, T>;
/// static TOTAL: Mutex<u32> = Mutex::new(0);
/// *TOTAL.lock() += 1;
/// assert_eq!(*TOTAL.lock(), 1);
/// ```
///
/// Cost, against `lockcheck::Mutex`: the same fast path (one thread-local
/// push per acquisition, one pop per release), through lock_api's guard
/// instead of lockcheck's. A new held-lock stack, a self-deadlock or a
/// wait long enough to join the wait-for graph also walks the stack and
/// symbolises its innermost frames to find the caller's line, once per
/// call path (remembered after); the first in a process loads the debug
/// information. A `lockcheck::Mutex` needs none of that: its methods are
/// `#[track_caller]`. The lock is
/// as large as a `lockcheck::Mutex<()>` (112 bytes on 64-bit targets,
/// against parking_lot's 1: the rest is its description). See the module
/// documentation for what reports can and cannot say about it.
pub struct RawMutex {
    meta: LockMeta,
    raw: InnerMutex,
}

// SAFETY: the lock is parking_lot's raw mutex, whose guarantees these
// methods pass on; what they add is bookkeeping on the calling thread.
unsafe impl lock_api::RawMutex for RawMutex {
    const INIT: RawMutex = RawMutex {
        meta: LockMeta::new(LockKind::Mutex, None, Location::caller()),
        raw: <InnerMutex as lock_api::RawMutex>::INIT,
    };

    // The thread that locked must unlock: lockcheck's held stacks are per
    // thread (as lockcheck's own guards, never `Send`).
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    #[track_caller]
    fn lock(&self) {
        use lock_api::RawMutexTimed as _;
        lock_checked(
            &self.meta,
            LockKind::Mutex,
            AcquireMode::Exclusive,
            || self.raw.try_lock(),
            |t| self.raw.try_lock_for(t),
            || self.raw.lock(),
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock(&self) -> bool {
        try_checked(&self.meta, AcquireMode::Exclusive, || self.raw.try_lock())
    }

    #[inline]
    unsafe fn unlock(&self) {
        release(&self.meta, LockKind::Mutex, AcquireMode::Exclusive);
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { lock_api::RawMutex::unlock(&self.raw) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        lock_api::RawMutex::is_locked(&self.raw)
    }
}

// SAFETY: as for `RawMutex` above.
unsafe impl lock_api::RawMutexFair for RawMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        release(&self.meta, LockKind::Mutex, AcquireMode::Exclusive);
        // SAFETY: the caller holds the lock (the trait's contract).
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.raw) }
    }
    // `bump` keeps the trait's default, a fair unlock and a lock: both go
    // through the detectors, as `MutexGuard::bump` does.
}

// SAFETY: as for `RawMutex` above.
unsafe impl lock_api::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        try_checked(&self.meta, AcquireMode::Exclusive, || {
            lock_api::RawMutexTimed::try_lock_for(&self.raw, timeout)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        try_checked(&self.meta, AcquireMode::Exclusive, || {
            lock_api::RawMutexTimed::try_lock_until(&self.raw, deadline)
        })
    }
}

impl std::fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMutex")
            .field("locked", &lock_api::RawMutex::is_locked(&self.raw))
            .finish()
    }
}

/// A fair mutex's raw lock for `lock_api::Mutex<lockcheck::RawFairMutex,
/// T>`: every unlock is fair (a waiting thread takes the lock first), as
/// parking_lot's `RawFairMutex`. Checked as [`RawMutex`] is, at the same
/// cost.
///
/// ```
/// use lockcheck::lock_api;
/// let fair: lock_api::Mutex<lockcheck::RawFairMutex, u32> = lock_api::Mutex::new(1);
/// assert_eq!(*fair.lock(), 1);
/// ```
pub struct RawFairMutex(RawMutex);

// SAFETY: as for `RawMutex`; every unlock is the fair one.
unsafe impl lock_api::RawMutex for RawFairMutex {
    const INIT: RawFairMutex = RawFairMutex(<RawMutex as lock_api::RawMutex>::INIT);
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    #[track_caller]
    fn lock(&self) {
        lock_api::RawMutex::lock(&self.0)
    }

    #[inline]
    #[track_caller]
    fn try_lock(&self) -> bool {
        lock_api::RawMutex::try_lock(&self.0)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.0) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        lock_api::RawMutex::is_locked(&self.0)
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexFair for RawFairMutex {
    #[inline]
    unsafe fn unlock_fair(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { lock_api::RawMutexFair::unlock_fair(&self.0) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawMutexTimed for RawFairMutex {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_for(&self, timeout: Duration) -> bool {
        lock_api::RawMutexTimed::try_lock_for(&self.0, timeout)
    }

    #[inline]
    #[track_caller]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        lock_api::RawMutexTimed::try_lock_until(&self.0, deadline)
    }
}

impl std::fmt::Debug for RawFairMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawFairMutex").field(&self.0).finish()
    }
}

/// A reader-writer lock's raw lock for `lock_api::RwLock<lockcheck::RawRwLock,
/// T>`, with every lock_api 0.4 trait parking_lot's `RawRwLock` has
/// (fair, timed, recursive, upgradable, downgrade), checked as
/// [`crate::RwLock`] is: a `write` under the thread's own `read`, an
/// `upgrade` while the thread still reads, a `read` queued behind a writer
/// that waits for this thread's read are `self-deadlock`s; orders between
/// it and every other lock are checked for cycles.
///
/// ```
/// use lockcheck::lock_api;
/// let table: lock_api::RwLock<lockcheck::RawRwLock, Vec<u32>> = lock_api::RwLock::new(vec![]);
/// table.write().push(1);
/// assert_eq!(table.read().len(), 1);
/// ```
///
/// Costs as [`RawMutex`]; a shared unlock whose hold is not the innermost
/// one of the thread also looks its mode up (see the module
/// documentation).
pub struct RawRwLock {
    meta: LockMeta,
    raw: InnerRwLock,
}

impl RawRwLock {
    /// A checked blocking acquisition in `mode` through the raw lock's
    /// `try_now`, timed `try_for` and blocking `block`.
    #[inline(always)]
    #[track_caller]
    fn lock_in(
        &self,
        mode: AcquireMode,
        try_now: impl Fn(&InnerRwLock) -> bool,
        try_for: impl FnOnce(&InnerRwLock, Duration) -> bool,
        block: impl Fn(&InnerRwLock),
    ) {
        lock_checked(
            &self.meta,
            LockKind::RwLock,
            mode,
            || try_now(&self.raw),
            |t| try_for(&self.raw, t),
            || block(&self.raw),
        );
    }

    /// A checked try in `mode`.
    #[inline]
    #[track_caller]
    fn try_in(&self, mode: AcquireMode, attempt: impl FnOnce(&InnerRwLock) -> bool) -> bool {
        try_checked(&self.meta, mode, || attempt(&self.raw))
    }

    /// The thread's hold changed mode in place (a downgrade).
    #[inline]
    fn changed(&self, from: AcquireMode, to: AcquireMode) {
        if cfg!(feature = "checks") {
            acquire::change_mode(&self.meta, from, to);
        }
    }

    /// An upgrade that succeeded: the hold is a writer's now.
    #[inline]
    fn upgraded(&self, done: bool) -> bool {
        if done && cfg!(feature = "checks") {
            acquire::change_mode(&self.meta, AcquireMode::Upgradable, AcquireMode::Exclusive);
        }
        done
    }
}

// SAFETY: the lock is parking_lot's raw rwlock, whose guarantees these
// methods pass on; what they add is bookkeeping on the calling thread.
unsafe impl lock_api::RawRwLock for RawRwLock {
    const INIT: RawRwLock = RawRwLock {
        meta: LockMeta::new(LockKind::RwLock, None, Location::caller()),
        raw: <InnerRwLock as lock_api::RawRwLock>::INIT,
    };
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    #[track_caller]
    fn lock_shared(&self) {
        use lock_api::RawRwLockTimed as _;
        self.lock_in(
            AcquireMode::Read,
            |r| r.try_lock_shared(),
            |r, t| r.try_lock_shared_for(t),
            |r| r.lock_shared(),
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared(&self) -> bool {
        self.try_in(AcquireMode::Read, lock_api::RawRwLock::try_lock_shared)
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        release_shared(&self.meta);
        // SAFETY: the caller holds a shared lock.
        unsafe { lock_api::RawRwLock::unlock_shared(&self.raw) }
    }

    #[inline]
    #[track_caller]
    fn lock_exclusive(&self) {
        use lock_api::RawRwLockTimed as _;
        self.lock_in(
            AcquireMode::Exclusive,
            |r| r.try_lock_exclusive(),
            |r, t| r.try_lock_exclusive_for(t),
            |r| r.lock_exclusive(),
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive(&self) -> bool {
        self.try_in(
            AcquireMode::Exclusive,
            lock_api::RawRwLock::try_lock_exclusive,
        )
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        release(&self.meta, LockKind::RwLock, AcquireMode::Exclusive);
        // SAFETY: the caller holds the exclusive lock.
        unsafe { lock_api::RawRwLock::unlock_exclusive(&self.raw) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        lock_api::RawRwLock::is_locked(&self.raw)
    }

    #[inline]
    fn is_locked_exclusive(&self) -> bool {
        lock_api::RawRwLock::is_locked_exclusive(&self.raw)
    }
}

// SAFETY: as above. The bumps keep the traits' defaults: a fair unlock
// and a lock, both through the detectors.
unsafe impl lock_api::RawRwLockFair for RawRwLock {
    #[inline]
    unsafe fn unlock_shared_fair(&self) {
        release_shared(&self.meta);
        // SAFETY: the caller holds a shared lock.
        unsafe { lock_api::RawRwLockFair::unlock_shared_fair(&self.raw) }
    }

    #[inline]
    unsafe fn unlock_exclusive_fair(&self) {
        release(&self.meta, LockKind::RwLock, AcquireMode::Exclusive);
        // SAFETY: the caller holds the exclusive lock.
        unsafe { lock_api::RawRwLockFair::unlock_exclusive_fair(&self.raw) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { lock_api::RawRwLockDowngrade::downgrade(&self.raw) };
        self.changed(AcquireMode::Exclusive, AcquireMode::Read);
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    #[inline]
    #[track_caller]
    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        self.try_in(AcquireMode::Read, |r| {
            lock_api::RawRwLockTimed::try_lock_shared_for(r, timeout)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_until(&self, deadline: Instant) -> bool {
        self.try_in(AcquireMode::Read, |r| {
            lock_api::RawRwLockTimed::try_lock_shared_until(r, deadline)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        self.try_in(AcquireMode::Exclusive, |r| {
            lock_api::RawRwLockTimed::try_lock_exclusive_for(r, timeout)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_exclusive_until(&self, deadline: Instant) -> bool {
        self.try_in(AcquireMode::Exclusive, |r| {
            lock_api::RawRwLockTimed::try_lock_exclusive_until(r, deadline)
        })
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockRecursive for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_shared_recursive(&self) {
        use lock_api::RawRwLockRecursiveTimed as _;
        self.lock_in(
            AcquireMode::RecursiveRead,
            |r| r.try_lock_shared_recursive(),
            |r, t| r.try_lock_shared_recursive_for(t),
            |r| r.lock_shared_recursive(),
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive(&self) -> bool {
        self.try_in(
            AcquireMode::RecursiveRead,
            lock_api::RawRwLockRecursive::try_lock_shared_recursive,
        )
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockRecursiveTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        self.try_in(AcquireMode::RecursiveRead, |r| {
            lock_api::RawRwLockRecursiveTimed::try_lock_shared_recursive_for(r, timeout)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_shared_recursive_until(&self, deadline: Instant) -> bool {
        self.try_in(AcquireMode::RecursiveRead, |r| {
            lock_api::RawRwLockRecursiveTimed::try_lock_shared_recursive_until(r, deadline)
        })
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgrade for RawRwLock {
    #[inline]
    #[track_caller]
    fn lock_upgradable(&self) {
        use lock_api::RawRwLockUpgradeTimed as _;
        self.lock_in(
            AcquireMode::Upgradable,
            |r| r.try_lock_upgradable(),
            |r, t| r.try_lock_upgradable_for(t),
            |r| r.lock_upgradable(),
        );
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable(&self) -> bool {
        self.try_in(
            AcquireMode::Upgradable,
            lock_api::RawRwLockUpgrade::try_lock_upgradable,
        )
    }

    #[inline]
    unsafe fn unlock_upgradable(&self) {
        release(&self.meta, LockKind::RwLock, AcquireMode::Upgradable);
        // SAFETY: the caller holds the upgradable lock.
        unsafe { lock_api::RawRwLockUpgrade::unlock_upgradable(&self.raw) }
    }

    /// Waits for the readers to leave, as `RwLockUpgradableReadGuard::upgrade`:
    /// a thread that still reads the lock itself is a self-deadlock; a
    /// wait past the grace period is in the wait-for graph.
    #[track_caller]
    unsafe fn upgrade(&self) {
        use lock_api::RawRwLockUpgradeTimed as _;
        if !cfg!(feature = "checks") {
            // SAFETY: the caller holds the upgradable lock.
            return unsafe { lock_api::RawRwLockUpgrade::upgrade(&self.raw) };
        }
        let site = Location::caller();
        acquire::check_upgrade(registered(&self.meta), site);
        // SAFETY (both): the caller holds the upgradable lock.
        if !unsafe { self.raw.try_upgrade_for(acquire::GRACE) } {
            let _waiting = acquire::wait_for_upgrade(&self.meta, site);
            unsafe { lock_api::RawRwLockUpgrade::upgrade(&self.raw) };
        }
        self.upgraded(true);
    }

    #[inline]
    unsafe fn try_upgrade(&self) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        self.upgraded(unsafe { lock_api::RawRwLockUpgrade::try_upgrade(&self.raw) })
    }
}

// SAFETY: as above. `bump_upgradable` keeps the trait's default.
unsafe impl lock_api::RawRwLockUpgradeFair for RawRwLock {
    #[inline]
    unsafe fn unlock_upgradable_fair(&self) {
        release(&self.meta, LockKind::RwLock, AcquireMode::Upgradable);
        // SAFETY: the caller holds the upgradable lock.
        unsafe { lock_api::RawRwLockUpgradeFair::unlock_upgradable_fair(&self.raw) }
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeDowngrade for RawRwLock {
    #[inline]
    unsafe fn downgrade_upgradable(&self) {
        // SAFETY: the caller holds the upgradable lock.
        unsafe { lock_api::RawRwLockUpgradeDowngrade::downgrade_upgradable(&self.raw) };
        self.changed(AcquireMode::Upgradable, AcquireMode::Read);
    }

    #[inline]
    unsafe fn downgrade_to_upgradable(&self) {
        // SAFETY: the caller holds the exclusive lock.
        unsafe { lock_api::RawRwLockUpgradeDowngrade::downgrade_to_upgradable(&self.raw) };
        self.changed(AcquireMode::Exclusive, AcquireMode::Upgradable);
    }
}

// SAFETY: as above.
unsafe impl lock_api::RawRwLockUpgradeTimed for RawRwLock {
    #[inline]
    #[track_caller]
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        self.try_in(AcquireMode::Upgradable, |r| {
            lock_api::RawRwLockUpgradeTimed::try_lock_upgradable_for(r, timeout)
        })
    }

    #[inline]
    #[track_caller]
    fn try_lock_upgradable_until(&self, deadline: Instant) -> bool {
        self.try_in(AcquireMode::Upgradable, |r| {
            lock_api::RawRwLockUpgradeTimed::try_lock_upgradable_until(r, deadline)
        })
    }

    // A timed upgrade gives up rather than hang: a try, unchecked until it
    // succeeds.
    #[inline]
    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        self.upgraded(unsafe {
            lock_api::RawRwLockUpgradeTimed::try_upgrade_for(&self.raw, timeout)
        })
    }

    #[inline]
    unsafe fn try_upgrade_until(&self, deadline: Instant) -> bool {
        // SAFETY: the caller holds the upgradable lock.
        self.upgraded(unsafe {
            lock_api::RawRwLockUpgradeTimed::try_upgrade_until(&self.raw, deadline)
        })
    }
}

impl std::fmt::Debug for RawRwLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRwLock")
            .field("locked", &lock_api::RawRwLock::is_locked(&self.raw))
            .finish()
    }
}

/// The current thread's id for `lock_api::ReentrantMutex<lockcheck::RawMutex,
/// lockcheck::RawThreadId, T>`, as parking_lot's `RawThreadId`: lock_api
/// counts re-entries itself and locks the [`RawMutex`] once per outermost
/// hold, so the checks are a mutex's (a re-entry by the owner is no
/// finding; any other thread's lock waits and is checked).
///
/// ```
/// use lockcheck::lock_api;
/// type ReentrantMutex<T> = lock_api::ReentrantMutex<lockcheck::RawMutex, lockcheck::RawThreadId, T>;
/// let m = ReentrantMutex::new(1);
/// let a = m.lock();
/// let b = m.lock(); // the owner again: no self-deadlock
/// assert_eq!(*a + *b, 2);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RawThreadId;

// SAFETY: the address of a thread-local is unique among live threads and
// never zero, and it stays the same for the life of its thread.
unsafe impl lock_api::GetThreadId for RawThreadId {
    const INIT: RawThreadId = RawThreadId;

    fn nonzero_thread_id(&self) -> NonZeroUsize {
        thread_local!(static KEY: u8 = const { 0 });
        KEY.with(|key| {
            NonZeroUsize::new(key as *const u8 as usize).expect("a thread-local is not at 0")
        })
    }
}
