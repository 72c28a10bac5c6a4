//! Happens-before in the live runtime: each thread's vector clock, and the
//! clocks that synchronisation carries from one thread to another (lock
//! release → acquire, spawn, join, message, notify → wake).
//!
//! Race checking costs nothing until the first `Shared` is made: before
//! that, locks skip the clock work (one relaxed load). Spawn, join and
//! channels always carry clocks, since a thread's clock must be right by the
//! time a `Shared` appears.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::detect::vector_clock::{Epoch, VectorClock};
use crate::event::{AcquireMode, ThreadId};
use crate::runtime::config;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::thread_state::with_thread;

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
        // Locks must now carry clocks: close their fast path.
        super::fast_path::refresh();
    }
}

/// A thread's own clocks. A thread that lockcheck did not spawn starts from
/// nothing: it is ordered after no other thread until it synchronises.
///
/// A thread's component of every clock sits at its *slot*, not its id: a
/// thread that joins another keeps the joined thread's slot and gives it to
/// the next thread it spawns. That child starts from the joiner's clock,
/// which holds the joined thread's last time, so its own times go on above
/// it, and everything the joined thread did happens before the child: no
/// race hides behind the shared slot. Clocks then stay as long as the
/// threads alive at once, not every thread ever spawned (TSan reuses its
/// slots too, without the guarantee).
struct ThreadClock {
    /// This thread's id, 0 until its clocks start.
    id: u64,
    /// Its component index.
    slot: u64,
    /// Slots of threads this one joined, for the threads it spawns next.
    free_slots: Vec<u64>,
    /// Happens-before from every synchronisation (races).
    clock: VectorClock,
    /// Happens-before from spawn, join, messages and notifications only,
    /// not locks: what orders every schedule, not just this one (tells a
    /// lock-order cycle whose halves could never overlap).
    structural: VectorClock,
    /// `structural` as last handed to the lock-order graph, shared by the
    /// edges it stamps; dropped whenever `structural` changes.
    structural_shared: Option<Arc<VectorClock>>,
    /// Counts the joins into `clock`. Between two joins only the thread's
    /// own entry changes, so a lock it released before needs just that
    /// entry updated, not a copy of the whole clock.
    generation: u64,
}

impl ThreadClock {
    /// Clocks not started yet (id 0, no slot).
    const fn unstarted() -> Self {
        ThreadClock {
            id: 0,
            slot: 0,
            free_slots: Vec::new(),
            clock: VectorClock::new(),
            structural: VectorClock::new(),
            structural_shared: None,
            generation: 0,
        }
    }
}

thread_local! {
    static CLOCK: RefCell<ThreadClock> = const { RefCell::new(ThreadClock::unstarted()) };
}

/// What one thread hands another through a spawn, a join, a message or a
/// notification: both of its clocks (and, at a thread's end, its slot).
#[derive(Clone, Debug, Default)]
pub(crate) struct HandOff {
    full: VectorClock,
    structural: VectorClock,
    /// The slot of the thread that handed this off.
    slot: u64,
}

impl HandOff {
    pub(crate) const fn new() -> Self {
        HandOff {
            full: VectorClock::new(),
            structural: VectorClock::new(),
            slot: 0,
        }
    }

    /// A thread's last hand-off, kept for whoever joins it: its clocks and
    /// its slot.
    pub(crate) fn end_with(&mut self, last: &HandOff) {
        self.join(last);
        self.slot = last.slot;
    }

    /// Everything `other` carries, this carries too.
    pub(crate) fn join(&mut self, other: &HandOff) {
        self.full.join(&other.full);
        self.structural.join(&other.structural);
    }
}

/// Runs `f` on this thread's clocks, starting them on first use. Every
/// `Shared` access comes through here: kept inline, its first-use set-up
/// out of line.
#[inline(always)]
fn with_clocks<R>(f: impl FnOnce(&mut ThreadClock) -> R) -> Option<R> {
    with_clocks_of(None, f)
}

/// [`with_clocks`] for a caller that knows this thread's id already (and
/// may be inside `with_thread`, where the id cannot be asked for).
#[inline(always)]
fn with_clocks_of<R>(thread: Option<ThreadId>, f: impl FnOnce(&mut ThreadClock) -> R) -> Option<R> {
    CLOCK
        .try_with(|cell| {
            let mut c = cell.try_borrow_mut().ok()?;
            if c.id == 0 {
                start_clocks(&mut c, thread)?;
            }
            Some(f(&mut c))
        })
        .ok()
        .flatten()
}

static NEXT_SLOT: AtomicU64 = AtomicU64::new(1);

/// Gives this thread's clocks its id, a slot (the one its parent handed
/// down, or a new one) and a first tick.
#[cold]
fn start_clocks(c: &mut ThreadClock, thread: Option<ThreadId>) -> Option<()> {
    c.id = match thread {
        Some(id) => id,
        None => with_thread(|t| t.id())?,
    }
    .0;
    if c.slot == 0 {
        c.slot = NEXT_SLOT.fetch_add(1, Relaxed);
    }
    let slot = c.slot;
    if c.clock.get(slot) == 0 {
        c.clock.set(slot, 1);
        c.structural.set(slot, 1);
        c.structural_shared = None;
    }
    Some(())
}

/// Runs `f` on this thread's clock, with the thread's id and slot,
/// starting it on first use.
#[inline(always)]
pub(crate) fn with_clock<R>(f: impl FnOnce(ThreadId, u64, &mut VectorClock) -> R) -> Option<R> {
    with_clocks(|c| f(ThreadId(c.id), c.slot, &mut c.clock))
}

/// A slot for a thread about to be spawned by this one: one of the threads
/// it joined, or 0 (the child takes a new one).
pub(crate) fn slot_for_child() -> u64 {
    with_clocks(|c| c.free_slots.pop()).flatten().unwrap_or(0)
}

/// A new thread takes the slot its parent handed down (before its clocks
/// start).
pub(crate) fn take_slot(slot: u64) {
    if slot == 0 {
        return;
    }
    let _ = CLOCK.try_with(|cell| {
        if let Ok(mut c) = cell.try_borrow_mut() {
            if c.id == 0 {
                c.slot = slot;
            }
        }
    });
}

/// How many components this thread's clock holds.
#[cfg(test)]
pub(crate) fn clock_width() -> usize {
    with_clocks(|c| c.clock.width()).unwrap_or(0)
}

/// This thread's structural clock (for classifying cycles), shared: it
/// changes only at spawns, joins, messages and notifications, while each new
/// order edge keeps a copy of it.
pub(crate) fn structural_clock() -> Option<Arc<VectorClock>> {
    with_clocks(|c| {
        let structural = &c.structural;
        c.structural_shared
            .get_or_insert_with(|| Arc::new(structural.clone()))
            .clone()
    })
}

/// This thread's epoch in its structural clock: its own component, which
/// stands for the whole clock when compared with a later one (FastTrack's
/// argument: whoever knows this thread at this time knows all it knew).
/// `thread` is this thread's id.
#[inline]
pub(crate) fn structural_epoch(thread: ThreadId) -> Option<Epoch> {
    with_clocks_of(Some(thread), |c| Epoch::of(c.slot, &c.structural))
}

/// A copy of this thread's clocks to hand to another thread (spawn, send,
/// notify, the end of a thread); this thread then moves to a new epoch, so
/// that what it does next is not ordered before the receiver.
pub(crate) fn release_clock() -> HandOff {
    with_clocks(|c| {
        let out = HandOff {
            full: c.clock.clone(),
            structural: c.structural.clone(),
            slot: c.slot,
        };
        c.next_epoch();
        out
    })
    .unwrap_or_default()
}

impl ThreadClock {
    /// Moves both clocks to this thread's next epoch (after a hand-off).
    fn next_epoch(&mut self) {
        self.clock.tick(self.slot);
        self.structural.tick(self.slot);
        self.structural_shared = None;
    }

    /// Orders this thread after everything `other` carries.
    fn receive(&mut self, other: &HandOff) {
        self.generation += 1;
        self.clock.join(&other.full);
        self.structural.join(&other.structural);
        self.structural_shared = None;
    }
}

/// Orders this thread after everything `other` carries.
pub(crate) fn acquire_clock(other: &HandOff) {
    with_clocks(|c| c.receive(other));
}

/// Orders this thread after the whole run of a thread it joined, and keeps
/// that thread's slot for the next thread it spawns. Only for a join that
/// waited for the thread's very end (its thread-local destructors too): a
/// slot must not change hands while its thread can still access anything.
pub(crate) fn acquire_end(end: &mut HandOff) {
    let slot = std::mem::take(&mut end.slot);
    with_clocks(|c| {
        c.receive(end);
        if slot != 0 {
            c.free_slots.push(slot);
        }
    });
}

/// A thread spawned by lockcheck starts after its parent's spawn.
pub(crate) fn start_child(parent: &HandOff) {
    with_clocks(|c| {
        c.receive(parent);
        c.next_epoch();
    });
}

/// The clocks a lock carries from its releases to its next acquisitions.
/// Readers of an `RwLock` do not order each other: their releases gather in
/// `read_release`, which only a writer (or upgradable reader) acquires.
#[derive(Default)]
pub(crate) struct LockClocks {
    release: VectorClock,
    read_release: VectorClock,
    /// The thread (by id, which is never reused) whose clock `release` is.
    /// Its clock only grows, so when it takes the lock again there is
    /// nothing to join: the common case of a lock used by one thread at a
    /// time costs no clock walk.
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
        with_clocks(|c| {
            if lock.releaser != c.id {
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
        with_clocks(|c| {
            match mode {
                AcquireMode::Exclusive => {
                    if lock.releaser == c.id && lock.generation == c.generation {
                        // Its last release here copied this clock, which has
                        // changed in its own entry only since.
                        lock.release.set(c.slot, c.clock.get(c.slot));
                    } else {
                        lock.release.clone_from(&c.clock);
                        lock.releaser = c.id;
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
            c.clock.tick(c.slot);
        });
    });
}

/// An async task's own clocks (`lockcheck::tokio`): a task is a thread of
/// its own for happens-before, whichever worker polls it. Swapped into the
/// polling thread's clocks for each poll ([`TaskClock::swap`]), as the
/// task's held locks are into its state: a task resumed on another worker
/// is ordered after its own earlier polls, and its worker's other tasks are
/// not ordered with it by merely sharing a thread.
///
/// A task takes a slot as a spawned thread does (one its spawner joined,
/// else a new one), and gives it up only to whoever awaits its end: a task
/// nobody awaits keeps its slot, so clocks widen with such tasks while
/// race checking is live.
pub(crate) struct TaskClock(ThreadClock);

impl TaskClock {
    /// The clocks of a task spawned now by this thread (or task), as task
    /// `id`. With race checking live it starts after its spawner (a
    /// hand-off, as a thread's spawn); before that nothing has been
    /// accessed, so it starts from nothing when first used.
    pub(crate) fn spawned(id: ThreadId) -> TaskClock {
        let mut c = ThreadClock::unstarted();
        if active() {
            // As a spawned thread: the slot handed down (or a new one),
            // a first tick, then after the spawner's hand-off.
            c.slot = slot_for_child();
            let spawner = release_clock();
            if start_clocks(&mut c, Some(id)).is_some() {
                c.receive(&spawner);
                c.next_epoch();
            }
        }
        TaskClock(c)
    }

    /// Exchanges these clocks with this thread's: false (and nothing done)
    /// if the thread's clocks are busy further up or gone.
    pub(crate) fn swap(&mut self) -> bool {
        CLOCK
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut c) => {
                    std::mem::swap(&mut *c, &mut self.0);
                    true
                }
                Err(_) => false,
            })
            .unwrap_or(false)
    }
}
