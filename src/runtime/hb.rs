//! Happens-before in the live runtime: each thread's vector clock, and the
//! clocks that synchronisation carries from one thread to another (lock
//! release → acquire, spawn, join, message, notify → wake).
//!
//! Race checking costs nothing until the first `Shared` is made: before
//! that, locks skip the clock work (one relaxed load). Spawn, join and
//! channels always carry clocks, since a thread's clock must be right by the
//! time a `Shared` appears.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::detect::vector_clock::VectorClock;
use crate::event::{AcquireMode, ThreadId};
use crate::runtime::config;
use crate::runtime::thread_state::with_thread;
use crate::sync::meta::LockMeta;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether race checking is live (a `Shared` exists or existed).
#[inline(always)]
pub(crate) fn active() -> bool {
    ACTIVE.load(Relaxed)
}

/// Turns race checking on; called when a `Shared` is made.
pub(crate) fn activate() {
    if !ACTIVE.load(Relaxed) {
        ACTIVE.store(true, Relaxed);
    }
}

/// A thread's own clocks. A thread that lockcheck did not spawn starts from
/// nothing: it is ordered after no other thread until it synchronises.
struct ThreadClock {
    id: u64,
    /// Happens-before from every synchronisation (races).
    clock: VectorClock,
    /// Happens-before from spawn, join, messages and notifications only,
    /// not locks: what orders every schedule, not just this one (tells a
    /// lock-order cycle whose halves could never overlap).
    structural: VectorClock,
    /// Counts the joins into `clock`. Between two joins only the thread's
    /// own entry changes, so a lock it released before needs just that
    /// entry updated, not a copy of the whole clock.
    generation: u64,
}

thread_local! {
    static CLOCK: RefCell<ThreadClock> = const {
        RefCell::new(ThreadClock {
            id: 0,
            clock: VectorClock::new(),
            structural: VectorClock::new(),
            generation: 0,
        })
    };
}

/// What one thread hands another through a spawn, a join, a message or a
/// notification: both of its clocks.
#[derive(Clone, Debug, Default)]
pub(crate) struct HandOff {
    full: VectorClock,
    structural: VectorClock,
}

impl HandOff {
    pub(crate) const fn new() -> Self {
        HandOff {
            full: VectorClock::new(),
            structural: VectorClock::new(),
        }
    }

    /// Everything `other` carries, this carries too.
    pub(crate) fn join(&mut self, other: &HandOff) {
        self.full.join(&other.full);
        self.structural.join(&other.structural);
    }
}

/// Runs `f` on this thread's clocks (with its id), starting them on first use.
/// Every `Shared` access comes through here: kept inline, its first-use
/// set-up out of line.
#[inline(always)]
fn with_clocks<R>(f: impl FnOnce(ThreadId, &mut ThreadClock) -> R) -> Option<R> {
    CLOCK
        .try_with(|cell| {
            let mut c = cell.try_borrow_mut().ok()?;
            if c.id == 0 {
                start_clocks(&mut c)?;
            }
            let id = ThreadId(c.id);
            Some(f(id, &mut c))
        })
        .ok()
        .flatten()
}

/// Gives this thread's clocks its id and first tick.
#[cold]
fn start_clocks(c: &mut ThreadClock) -> Option<()> {
    c.id = with_thread(|t| t.id())?.0;
    let id = c.id;
    if c.clock.get(id) == 0 {
        c.clock.set(id, 1);
        c.structural.set(id, 1);
    }
    Some(())
}

/// Runs `f` on this thread's clock (with its id), starting it on first use.
#[inline(always)]
pub(crate) fn with_clock<R>(f: impl FnOnce(ThreadId, &mut VectorClock) -> R) -> Option<R> {
    with_clocks(|id, c| f(id, &mut c.clock))
}

/// A copy of this thread's structural clock (for classifying cycles).
pub(crate) fn structural_clock() -> Option<VectorClock> {
    with_clocks(|_, c| c.structural.clone())
}

/// A copy of this thread's clocks to hand to another thread (spawn, send,
/// notify, the end of a thread); this thread then moves to a new epoch, so
/// that what it does next is not ordered before the receiver.
pub(crate) fn release_clock() -> HandOff {
    with_clocks(|id, c| {
        let out = HandOff {
            full: c.clock.clone(),
            structural: c.structural.clone(),
        };
        c.clock.tick(id.0);
        c.structural.tick(id.0);
        out
    })
    .unwrap_or_default()
}

/// Orders this thread after everything `other` carries.
pub(crate) fn acquire_clock(other: &HandOff) {
    with_clocks(|_, c| {
        c.generation += 1;
        c.clock.join(&other.full);
        c.structural.join(&other.structural);
    });
}

/// A thread spawned by lockcheck starts after its parent's spawn.
pub(crate) fn start_child(parent: &HandOff) {
    with_clocks(|id, c| {
        c.generation += 1;
        c.clock.join(&parent.full);
        c.clock.tick(id.0);
        c.structural.join(&parent.structural);
        c.structural.tick(id.0);
    });
}

/// The clocks a lock carries from its releases to its next acquisitions.
/// Readers of an `RwLock` do not order each other: their releases gather in
/// `read_release`, which only a writer (or upgradable reader) acquires.
#[derive(Default)]
pub(crate) struct LockClocks {
    release: VectorClock,
    read_release: VectorClock,
    /// The thread whose clock `release` is. Its clock only grows, so when it
    /// takes the lock again there is nothing to join: the common case of a
    /// lock used by one thread at a time costs no clock walk.
    releaser: u64,
    /// The releaser's join count when `release` was copied from its clock.
    generation: u64,
}

impl LockClocks {
    pub(crate) const fn new() -> Self {
        LockClocks {
            release: VectorClock::new(),
            read_release: VectorClock::new(),
            releaser: 0,
            generation: 0,
        }
    }
}

/// The lock was just acquired in `mode`.
pub(crate) fn acquired(meta: &LockMeta, mode: AcquireMode) {
    if !config::enabled() {
        return;
    }
    meta.with_clocks(|lock| {
        with_clocks(|id, c| {
            if lock.releaser != id.0 {
                c.generation += 1;
                c.clock.join(&lock.release);
            }
            if matches!(mode, AcquireMode::Exclusive | AcquireMode::Upgradable)
                && !lock.read_release.is_empty()
            {
                c.generation += 1;
                c.clock.join(&lock.read_release);
            }
        });
    });
}

/// The lock is about to be released from `mode`.
pub(crate) fn releasing(meta: &LockMeta, mode: AcquireMode) {
    if !config::enabled() {
        return;
    }
    meta.with_clocks(|lock| {
        with_clocks(|id, c| {
            match mode {
                AcquireMode::Exclusive => {
                    if lock.releaser == id.0 && lock.generation == c.generation {
                        // Its last release here copied this clock, which has
                        // changed in its own entry only since.
                        lock.release.set(id.0, c.clock.get(id.0));
                    } else {
                        lock.release.clone_from(&c.clock);
                        lock.releaser = id.0;
                        lock.generation = c.generation;
                    }
                    // The writer saw every earlier reader's release; its own
                    // release clock carries them on.
                    lock.read_release.clear();
                }
                AcquireMode::Read | AcquireMode::RecursiveRead | AcquireMode::Upgradable => {
                    lock.read_release.join(&c.clock)
                }
            }
            c.clock.tick(id.0);
        });
    });
}
