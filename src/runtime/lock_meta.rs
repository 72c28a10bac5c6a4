//! What every wrapper lock carries beside its raw lock: identity, name,
//! creation site, and the runtime's per-lock state (parked edge, clocks).
//! It is the runtime's data, kept here so that the runtime never imports
//! from the wrappers (they call into the runtime, not the other way round).
//! Kept small and lazily initialised, so that creating and dropping a lock
//! that is never contended costs next to nothing.

use std::borrow::Cow;
use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed,
    Ordering::Release,
};

use crate::event::{LockId, LockInfo, LockKind};
use crate::runtime::hb::LockClocks;
use crate::runtime::leaf_edges::ParkedEdge;
use crate::runtime::lock_desc::{self, DescId, LockDesc};

static NEXT_LOCK: AtomicU64 = AtomicU64::new(1);

/// The id kept in `slot`, given on first need from the counter lock ids
/// come from (condition variables take theirs here too, so that a trace can
/// name either). A race between two first uses keeps one id.
#[inline(always)]
pub(crate) fn lazy_id(slot: &AtomicU64) -> LockId {
    let id = slot.load(Relaxed);
    if id != 0 {
        return LockId(id);
    }
    assign_lazy_id(slot)
}

/// [`lazy_id`]'s first need, out of line.
#[cold]
#[inline(never)]
fn assign_lazy_id(slot: &AtomicU64) -> LockId {
    assign_id(slot, 0).0
}

/// How many ids a thread takes from [`NEXT_LOCK`] at a time.
const ID_BLOCK: u64 = 64;

thread_local! {
    /// This thread's block of lock ids: the next one and the block's end.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A process-unique id, from this thread's block: the shared counter is
/// touched once every [`ID_BLOCK`] locks (a read-modify-write of a line
/// that every thread making locks writes: a new edge 80 → 73 ns in one
/// comparison on 2026-12-08's host; with the inline checks of a first use,
/// 67.9 → 62.6 ns, medians of 20 paired runs). A thread's consecutive locks still
/// have consecutive ids, so they take distinct slots among its recent
/// releases (`held_stack`, by id modulo 8); each block starts at a slot of
/// its own ([`block_start`]), so the first locks of threads that took
/// blocks one after another do not meet in one slot either (when they did,
/// a live hold-and-wait between them was lost).
#[inline]
fn fresh_id() -> u64 {
    IDS.try_with(|ids| {
        let (next, end) = ids.get();
        if next < end {
            ids.set((next + 1, end));
            return next;
        }
        let block = NEXT_LOCK.fetch_add(ID_BLOCK, Relaxed);
        let first = block_start(block);
        ids.set((first + 1, block + ID_BLOCK));
        first
    })
    // A thread's last moments (its thread-locals gone): one id at a time.
    .unwrap_or_else(|_| NEXT_LOCK.fetch_add(1, Relaxed))
}

/// The first id handed out of the block that starts at `block`: a few ids
/// in, by the block's number, so that consecutive blocks start at
/// consecutive slots of the recent releases (the ids skipped are never
/// used).
fn block_start(block: u64) -> u64 {
    block + (block / ID_BLOCK) % crate::runtime::held_stack::RECENT_SLOTS as u64
}

/// Takes a fresh id for `slot`, publishing it (Release) with the bits of
/// `marks` so that whoever reads it with Acquire sees what was stored before
/// it. Returns the id, and whether this call gave it (a race between two
/// first uses keeps one id; the other's is not used). Inline in its
/// callers, which are out of line themselves.
#[inline(always)]
fn assign_id(slot: &AtomicU64, marks: u64) -> (LockId, bool) {
    crate::runtime::announce::once();
    let fresh = fresh_id();
    match slot.compare_exchange(0, fresh | marks, Release, Acquire) {
        Ok(_) => (LockId(fresh), true),
        Err(other) => (LockId(other & !PENDING), false),
    }
}

/// Bit of a lock's id word: an order edge into the lock may be parked
/// aside (see `runtime::leaf_edges`), so every acquisition takes the slow
/// path until one settles it. Only a mutex is ever pending: it is held by
/// one thread at a time, which is what makes its parked edge safe to hand
/// from holder to holder.
const PENDING: u64 = 1 << 63;

/// Identity and description of one wrapper lock.
///
/// `repr(C)`, in this order: what every acquisition reads comes first, and
/// what only race checking and parked edges touch comes last, next to the
/// wrapper's raw lock (which follows the meta, see the wrappers). Left to
/// the compiler, the description, kind and graph flag shared a cache line
/// with the raw lock, which contending threads pass back and forth.
#[repr(C)]
pub(crate) struct LockMeta {
    /// 0 until first tracked use; then a process-unique id.
    id: AtomicU64,
    /// Chain key (salted with the thread) of the last held stack this lock
    /// was validated under: a one-entry cache beside the thread's own.
    validated: AtomicU64,
    name: Option<&'static str>,
    created: &'static Location<'static>,
    /// The interned description, stored before the id is: whoever sees the
    /// id (with acquire ordering) sees this too.
    desc: AtomicU32,
    kind: LockKind,
    /// The lock is a node of the lock-order graph, so dropping it must
    /// remove it there.
    in_graph: AtomicBool,
    /// Happens-before carried from releases to acquisitions (race checking),
    /// allocated the first time race checking needs it: 8 bytes instead of
    /// 72 in every lock of a program that never checks races.
    clocks: AtomicPtr<crate::raw::Mutex<LockClocks>>,
    /// The order edge parked into this mutex, while its id is pending.
    parked: UnsafeCell<Option<ParkedEdge>>,
}

// SAFETY: `parked`, the only field without its own synchronisation, is
// reached only by the thread that holds the mutex (the raw lock hands it
// from holder to holder, with the ordering that implies) or through `&mut`.
// `clocks` points to a box owned by this meta.
unsafe impl Sync for LockMeta {}

impl LockMeta {
    pub(crate) const fn new(
        kind: LockKind,
        name: Option<&'static str>,
        created: &'static Location<'static>,
    ) -> Self {
        LockMeta {
            id: AtomicU64::new(0),
            desc: AtomicU32::new(0),
            kind,
            name,
            created,
            in_graph: AtomicBool::new(false),
            validated: AtomicU64::new(0),
            clocks: AtomicPtr::new(std::ptr::null_mut()),
            parked: UnsafeCell::new(None),
        }
    }

    /// Gives the lock a name (interned: names live as long as the process,
    /// and each distinct name is stored once).
    pub(crate) fn set_name(&mut self, name: Cow<'static, str>) {
        self.name = Some(intern(name));
        // A lock used before it was named keeps its id; its held entries
        // from now on must carry the new name.
        if *self.id.get_mut() != 0 {
            *self.desc.get_mut() = lock_desc::intern(self.describe()).0;
        }
    }

    /// The lock's kind, name and creation site.
    fn describe(&self) -> LockDesc {
        LockDesc {
            kind: self.kind,
            name: self.name,
            created: self.created,
        }
    }

    /// The lock's id, assigned on first use.
    #[inline(always)]
    pub(crate) fn id(&self) -> LockId {
        self.id_first_use().0
    }

    /// The lock's id, and whether this call assigned it (this is the lock's
    /// first use).
    #[inline(always)]
    pub(crate) fn id_first_use(&self) -> (LockId, bool) {
        match self.id.load(Acquire) & !PENDING {
            0 => self.assign_first_id(),
            id => (LockId(id), false),
        }
    }

    /// The lock's id if it may take the fast path: it has been used before
    /// (its [`desc`](Self::desc) is then set too) and is not
    /// [`pending`](Self::pending). One signed comparison asks both.
    #[inline(always)]
    pub(crate) fn assigned_id(&self) -> Option<LockId> {
        let word = self.id.load(Acquire);
        ((word as i64) > 0).then_some(LockId(word))
    }

    /// The lock's id as its held entries carry it, for a release to look
    /// for: 0 before its first use and, while the lock is pending, a value
    /// with the pending bit, which no entry carries (that release then takes
    /// the slow path, as it must). One load, no test.
    #[inline(always)]
    pub(crate) fn release_id(&self) -> LockId {
        LockId(self.id.load(Acquire))
    }

    /// Gives the lock its description row and then its id (a mutex's id
    /// marked pending). A race between two first uses keeps one id; both
    /// store the same row.
    #[cold]
    #[inline(never)]
    fn assign_first_id(&self) -> (LockId, bool) {
        let desc = lock_desc::intern(self.describe());
        self.desc.store(desc.0, Relaxed);
        let marks = if self.kind == LockKind::Mutex {
            PENDING
        } else {
            0
        };
        assign_id(&self.id, marks)
    }

    /// An order edge into this mutex may be parked: acquisitions must
    /// settle it (see `runtime::leaf_edges`).
    #[inline(always)]
    pub(crate) fn pending(&self) -> bool {
        self.id.load(Acquire) & PENDING != 0
    }

    /// Ends the pending state (its parked edge, if any, is in the graph).
    /// Release: whoever sees the id without the mark sees the graph as the
    /// settling thread left it.
    pub(crate) fn clear_pending(&self) {
        self.id.fetch_and(!PENDING, Release);
    }

    /// Parks `edge` into the mutex for its next holder.
    ///
    /// # Safety
    /// The caller holds the mutex (and it is pending).
    pub(crate) unsafe fn put_parked(&self, edge: ParkedEdge) {
        debug_assert!(self.kind == LockKind::Mutex && self.pending());
        *self.parked.get() = Some(edge);
    }

    /// Takes the edge parked into the mutex, if any.
    ///
    /// # Safety
    /// The caller holds the mutex.
    pub(crate) unsafe fn take_parked(&self) -> Option<ParkedEdge> {
        (*self.parked.get()).take()
    }

    /// The lock's interned description. Only meaningful once the lock has
    /// an id (see [`assigned_id`](Self::assigned_id)).
    #[inline(always)]
    pub(crate) fn desc(&self) -> DescId {
        DescId(self.desc.load(Relaxed))
    }

    /// Mutex, rwlock or reentrant mutex.
    #[inline]
    pub(crate) fn kind(&self) -> LockKind {
        self.kind
    }

    /// Where the lock was created.
    #[inline]
    pub(crate) fn created(&self) -> &'static Location<'static> {
        self.created
    }

    /// The name given at creation, if any.
    pub(crate) fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The lock as the detectors see it: its interned description (which
    /// [`name_at_first_use`](Self::name_at_first_use) may have given a name).
    #[inline]
    pub(crate) fn info(&self) -> LockInfo {
        let id = self.id();
        lock_desc::get(self.desc()).info(id)
    }

    /// Names a lock that has neither a name nor a creation site of its own
    /// — a raw lock lock_api made from `INIT`, whose `created` is
    /// lockcheck's constant — by where it was first locked, so that a
    /// report can tell it from the others. Called by the thread whose use
    /// gave the lock its id, before it records that use.
    pub(crate) fn name_at_first_use(&self, name: String) {
        let desc = LockDesc {
            kind: self.kind,
            name: Some(intern(Cow::Owned(name))),
            created: self.created,
        };
        self.desc.store(lock_desc::intern(desc).0, Relaxed);
    }

    /// Runs `f` on the lock's clocks. Must be called only by a thread that
    /// holds the lock (just acquired, or about to release). An `RwLock`'s
    /// readers hold it together, so they take the clocks' own mutex; any
    /// other lock is held by one thread at a time, which is then the only one
    /// here, so the clocks need no locking of their own.
    #[inline]
    pub(crate) fn with_clocks<R>(&self, f: impl FnOnce(&mut LockClocks) -> R) -> R {
        let clocks = match self.clocks.load(Acquire) {
            ptr if ptr.is_null() => self.new_clocks(),
            // SAFETY: a non-null pointer came from `new_clocks`'s box, which
            // lives until this meta is dropped.
            ptr => unsafe { &*ptr },
        };
        // Readers of an async RwLock, and a semaphore's holders, are many
        // at once too.
        if matches!(self.kind, LockKind::RwLock | LockKind::AsyncRwLock) {
            f(&mut clocks.lock())
        } else {
            // SAFETY: the caller holds this exclusive lock, so no other
            // thread is in this function for it; and only RwLocks ever lock
            // `clocks`, so no guard of it exists either.
            f(unsafe { &mut *clocks.data_ptr() })
        }
    }

    /// Allocates the lock's clocks. Readers of an `RwLock` may race here:
    /// one box is kept.
    #[cold]
    fn new_clocks(&self) -> &crate::raw::Mutex<LockClocks> {
        let fresh = Box::into_raw(Box::new(crate::raw::Mutex::new(LockClocks::new())));
        let kept = match self
            .clocks
            .compare_exchange(std::ptr::null_mut(), fresh, Release, Acquire)
        {
            Ok(_) => fresh,
            Err(other) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                other
            }
        };
        // SAFETY: as in `with_clocks`.
        unsafe { &*kept }
    }

    /// What the lock remembers of its last validation.
    #[inline]
    pub(crate) fn validated(&self) -> u64 {
        self.validated.load(Relaxed)
    }

    /// Remembers a validation.
    #[inline]
    pub(crate) fn set_validated(&self, token: u64) {
        self.validated.store(token, Relaxed);
    }

    /// Notes that the lock-order graph has a node for this lock.
    #[inline]
    pub(crate) fn mark_in_graph(&self) {
        if !self.in_graph.load(Relaxed) {
            self.in_graph.store(true, Relaxed);
        }
    }
}

impl Drop for LockMeta {
    fn drop(&mut self) {
        let clocks = *self.clocks.get_mut();
        if !clocks.is_null() {
            // SAFETY: allocated by `new_clocks`, and no reference to it
            // outlives a `with_clocks` call, which needs `&self`.
            drop(unsafe { Box::from_raw(clocks) });
        }
        let id = *self.id.get_mut() & !PENDING;
        if *self.in_graph.get_mut() {
            crate::runtime::forget_lock(LockId(id));
        }
        // A lock that never had an id was never used, so never recorded.
        if id != 0 && crate::runtime::recorder::on() {
            let lock = self.info();
            crate::runtime::recorder::record_here(|thread| crate::event::Event::LockDropped {
                thread,
                lock,
            });
        }
    }
}

fn intern(name: Cow<'static, str>) -> &'static str {
    match name {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => crate::trace::intern::intern(&s),
    }
}

#[cfg(test)]
mod tests {
    use super::{block_start, ID_BLOCK};
    use crate::runtime::held_stack::RECENT_SLOTS;

    #[test]
    fn consecutive_blocks_start_at_distinct_recent_slots_and_inside_the_block() {
        let slots = RECENT_SLOTS as u64;
        for first_block in [0u64, 5, 1 << 30] {
            let starts: Vec<u64> = (first_block..first_block + slots)
                .map(|b| block_start(1 + b * ID_BLOCK))
                .collect();
            let mut seen: Vec<u64> = starts.iter().map(|s| s % slots).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), RECENT_SLOTS, "{starts:?}");
            for (b, s) in (first_block..).zip(&starts) {
                let block = 1 + b * ID_BLOCK;
                assert!((block..block + ID_BLOCK).contains(s));
            }
        }
    }
}
