//! The stack of locks one thread holds, in a fixed-size array: no heap, no
//! destructor, so the thread-local that holds it is reached without the
//! registration checks a destructor needs. Linux lockdep bounds the depth the
//! same way (MAX_LOCK_DEPTH, 48).

use std::ops::{Deref, DerefMut};
use std::panic::Location;

use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site};
use crate::runtime::lock_desc::{self, DescId};

/// Most locks one thread can hold at once and still be tracked. Deeper
/// acquisitions still lock; they are not checked (and a warning says so).
pub(crate) const MAX_HELD: usize = 48;

/// One lock this thread holds: 40 bytes, pushed by every acquisition. Free
/// of pointers into the lock itself (a lock may be dropped while a forgotten
/// guard still names it): the lock's description is an index into the
/// interned table, the site a pointer to a static.
#[derive(Copy, Clone, Debug)]
pub(crate) struct HeldEntry {
    pub(crate) id: LockId,
    /// Chain key of the stack up to and including this entry.
    pub(crate) chain: u64,
    /// Where it was acquired.
    pub(crate) site: &'static Location<'static>,
    /// Kind, name and creation site.
    pub(crate) desc: DescId,
    /// Re-entries of a reentrant mutex beyond the first.
    pub(crate) reentries: u32,
    pub(crate) mode: AcquireMode,
    /// An order edge left this lock while it was held: it is a graph node.
    pub(crate) in_graph: bool,
    /// The chain was built with the lock's class key, not its id.
    pub(crate) by_class: bool,
}

impl HeldEntry {
    /// The held lock as the detectors see it.
    pub(crate) fn held_lock(&self) -> HeldLock {
        HeldLock {
            lock: self.lock_info(),
            mode: self.mode,
            site: Site::from(self.site),
        }
    }

    /// The kind of lock held.
    pub(crate) fn kind(&self) -> crate::event::LockKind {
        lock_desc::get(self.desc).kind
    }

    /// The lock itself: its id and its interned description.
    fn lock_info(&self) -> LockInfo {
        lock_desc::get(self.desc).info(self.id)
    }

    /// The order key (instance id or class key) the chain was built with.
    pub(crate) fn order_key(&self) -> u64 {
        if self.by_class {
            self.lock_info().class_key()
        } else {
            self.id.0
        }
    }

    /// Filler for unused slots.
    #[track_caller]
    const fn unused() -> Self {
        HeldEntry {
            id: LockId(0),
            chain: 0,
            site: Location::caller(),
            desc: DescId(0),
            reentries: 0,
            mode: AcquireMode::Exclusive,
            in_graph: false,
            by_class: false,
        }
    }
}

/// How many released entries a thread keeps, direct-mapped by lock id
/// (a thread's locks take ids in sequence, so locks made together take
/// distinct slots; and threads' blocks of ids start at different slots,
/// see `lock_meta::fresh_id`).
pub(crate) const RECENT_SLOTS: usize = 8;

/// Tasks' stacks a thread keeps for the next tasks made there (see
/// [`HeldStack::boxed`]): a worker that spawns and ends tasks in a loop
/// reuses a few.
const SPARE_STACKS_KEPT: usize = 16;

thread_local! {
    // Boxes, so that a stack moves between a task's slot and here without
    // its 2 KiB being copied.
    #[allow(clippy::vec_box)]
    static SPARE_STACKS: std::cell::RefCell<Vec<Box<HeldStack>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Held locks, innermost last. Derefs to the slice of live entries.
pub(crate) struct HeldStack {
    entries: [HeldEntry; MAX_HELD],
    len: usize,
    /// Locks released lately, one per slot of `id % RECENT_SLOTS`: what
    /// this thread took before, for the live hold-and-wait
    /// (`runtime::hold_and_wait`). Kept by the release that pops the entry:
    /// two stores of words just read, into memory of this thread's own. (A
    /// copy of the whole 40-byte entry cost a lock and unlock 11 more
    /// instructions, callgrind; these two words, a mutex's mode a constant,
    /// cost 5: 86 to 91 a pair.)
    recent: [Released; RECENT_SLOTS],
}

/// A lock released: its id with the mode it was held in, packed in one
/// word (ids are counted from 1 and never reach 2^62), and where it was
/// taken.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Released {
    id_and_mode: u64,
    site: &'static Location<'static>,
}

impl Released {
    const MODE_SHIFT: u32 = 62;

    #[track_caller]
    const fn none() -> Self {
        Released {
            id_and_mode: 0,
            site: Location::caller(),
        }
    }

    #[inline(always)]
    fn of(entry: &HeldEntry) -> Self {
        Released::new(entry.id, entry.mode, entry.site)
    }

    #[inline(always)]
    fn new(id: LockId, mode: AcquireMode, site: &'static Location<'static>) -> Self {
        Released {
            id_and_mode: id.0 | (mode as u64) << Self::MODE_SHIFT,
            site,
        }
    }

    /// The lock.
    pub(crate) fn id(&self) -> LockId {
        LockId(self.id_and_mode & ((1 << Self::MODE_SHIFT) - 1))
    }

    /// The mode it was held in.
    pub(crate) fn mode(&self) -> AcquireMode {
        match self.id_and_mode >> Self::MODE_SHIFT {
            0 => AcquireMode::Exclusive,
            1 => AcquireMode::Read,
            2 => AcquireMode::RecursiveRead,
            _ => AcquireMode::Upgradable,
        }
    }

    /// Where it was taken.
    pub(crate) fn site(&self) -> Site {
        Site::from(self.site)
    }
}

impl HeldStack {
    pub(crate) const fn new() -> Self {
        HeldStack {
            entries: [HeldEntry::unused(); MAX_HELD],
            len: 0,
            recent: [Released::none(); RECENT_SLOTS],
        }
    }

    /// Pushes an entry; false when the stack is full.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: HeldEntry) -> bool {
        match self.entries.get_mut(self.len) {
            Some(slot) => {
                *slot = entry;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Pushes an entry onto a stack known to have room: the fast path asked
    /// before it took the raw lock, so it skips asking again.
    ///
    /// # Safety
    /// `self.len() < MAX_HELD`.
    #[inline(always)]
    pub(crate) unsafe fn push_unchecked(&mut self, entry: HeldEntry) {
        debug_assert!(self.len < MAX_HELD);
        // SAFETY: the caller promises `len < MAX_HELD`, the array's length.
        unsafe { *self.entries.get_unchecked_mut(self.len) = entry };
        self.len += 1;
    }

    /// Drops the innermost entry, which the caller read: lock `id`, held in
    /// `mode` since `site` (a constant mode, as a mutex's, folds away).
    /// It is kept among the recent ones.
    #[inline(always)]
    pub(crate) fn pop_released(
        &mut self,
        id: LockId,
        mode: AcquireMode,
        site: &'static Location<'static>,
    ) {
        self.keep_recent(id, mode, site);
        self.len = self.len.saturating_sub(1);
    }

    /// Drops the innermost entry, keeping it among the recent ones.
    #[cfg(test)]
    fn pop(&mut self) {
        if let Some(&top) = self.last() {
            self.pop_released(top.id, top.mode, top.site);
        }
    }

    /// Keeps lock `id`, released, among the recent ones.
    #[inline(always)]
    fn keep_recent(&mut self, id: LockId, mode: AcquireMode, site: &'static Location<'static>) {
        self.recent[id.0 as usize % RECENT_SLOTS] = Released::new(id, mode, site);
    }

    /// Removes entry `i`, shifting the ones above it down; the removed
    /// entry is kept just above the live ones, as a popped one is.
    pub(crate) fn remove(&mut self, i: usize) -> HeldEntry {
        let removed = self.entries[i];
        self.entries.copy_within(i + 1..self.len, i);
        self.len -= 1;
        self.entries[self.len] = removed;
        self.keep_recent(removed.id, removed.mode, removed.site);
        removed
    }

    /// Entries released and not overwritten since: the recent ones, and
    /// above the live ones the last lock released at each depth (a pop
    /// only lowers the length). The live-side hold-and-wait reads them as
    /// what this thread took before (`runtime::hold_and_wait`); a lock may
    /// appear twice.
    pub(crate) fn released(&self) -> impl Iterator<Item = Released> + '_ {
        let above = self.entries[self.len..].iter().map(Released::of);
        self.recent
            .iter()
            .copied()
            .chain(above)
            .filter(|r| r.id().0 != 0)
    }

    /// Exchanges this stack with `other` (a task's, swapped in and out of
    /// its thread's state at each poll): the live entries and the recent
    /// ones, not the whole array. The stale entries above the live ones
    /// (the last lock released at each depth) are emptied on both sides,
    /// so that neither holder seems to have released a lock the other took
    /// (a missed prediction at worst: the recent ones still go with their
    /// holder). Swapping the whole 2 KiB array twice a poll was most of
    /// what an instrumented task's spawn and await cost.
    pub(crate) fn swap_live(&mut self, other: &mut HeldStack) {
        let top = self.stale_end().max(other.stale_end());
        let n = self.len.max(other.len);
        self.entries[..n].swap_with_slice(&mut other.entries[..n]);
        std::mem::swap(&mut self.len, &mut other.len);
        std::mem::swap(&mut self.recent, &mut other.recent);
        for side in [&mut *self, other] {
            let len = side.len;
            side.entries[len..top].fill(HeldEntry::unused());
        }
    }

    /// Where the stale entries above the live ones end: pushes fill the
    /// array in order and pops only lower the length, so they are one run.
    fn stale_end(&self) -> usize {
        let mut end = self.len;
        while end < MAX_HELD && self.entries[end].id.0 != 0 {
            end += 1;
        }
        end
    }

    /// A stack on the heap for a task's slot: one this thread's tasks left
    /// behind if there is one, else a new one. A new one is 2 KiB
    /// written and then moved into its box, with its allocation and, at
    /// the task's end, its free: of the 6,932 instructions an instrumented
    /// `spawn` and its await cost against tokio's 2,242 (callgrind), some
    /// 1,500.
    pub(crate) fn boxed() -> Box<HeldStack> {
        SPARE_STACKS
            .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| Box::new(HeldStack::new()))
    }

    /// A task's stack, no longer needed, kept for [`Self::boxed`] (at most
    /// [`SPARE_STACKS_KEPT`] a thread), emptied first: nothing it held or
    /// released goes on to the next task.
    pub(crate) fn recycle(mut stack: Box<HeldStack>) {
        let end = stack.stale_end();
        stack.entries[..end].fill(HeldEntry::unused());
        stack.len = 0;
        stack.recent = [Released::none(); RECENT_SLOTS];
        let _ = SPARE_STACKS.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.len() < SPARE_STACKS_KEPT {
                    spare.push(stack);
                }
            }
        });
    }

    /// Empties the stack, returning what it held.
    pub(crate) fn take_all(&mut self) -> Vec<HeldEntry> {
        let all = self.to_vec();
        self.len = 0;
        all
    }
}

// Every lock and unlock reads the stack through these; `len` never exceeds
// `MAX_HELD` (`push` checks before raising it, and `push_unchecked`'s caller
// promises room), so the slicing needs no bounds check, which would
// otherwise cost each of them a compare and branch.
impl Deref for HeldStack {
    type Target = [HeldEntry];
    #[inline(always)]
    fn deref(&self) -> &[HeldEntry] {
        debug_assert!(self.len <= MAX_HELD);
        // SAFETY: `len <= MAX_HELD`, the array's length (see above).
        unsafe { self.entries.get_unchecked(..self.len) }
    }
}

impl DerefMut for HeldStack {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [HeldEntry] {
        debug_assert!(self.len <= MAX_HELD);
        // SAFETY: as for `deref`.
        unsafe { self.entries.get_unchecked_mut(..self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64) -> HeldEntry {
        HeldEntry {
            id: LockId(id),
            ..HeldEntry::unused()
        }
    }

    #[test]
    fn push_pop_remove_keep_order() {
        let mut s = HeldStack::new();
        for i in 1..=4 {
            assert!(s.push(entry(i)));
        }
        assert_eq!(s.remove(1).id, LockId(2));
        let ids: Vec<u64> = s.iter().map(|e| e.id.0).collect();
        assert_eq!(ids, [1, 3, 4]);
        s.pop();
        assert_eq!(s.len(), 2);
        assert_eq!(s.take_all().len(), 2);
        assert!(s.is_empty());
    }

    #[test]
    fn a_swap_exchanges_the_live_entries_and_leaks_none_as_released() {
        // A thread that held 1, 2, 3 and released 3; a task that holds 7.
        let mut thread = HeldStack::new();
        for i in 1..=3 {
            assert!(thread.push(entry(i)));
        }
        thread.pop();
        let mut task = HeldStack::new();
        assert!(task.push(entry(7)));
        thread.swap_live(&mut task);
        let ids = |s: &HeldStack| s.iter().map(|e| e.id.0).collect::<Vec<_>>();
        assert_eq!(ids(&thread), [7]);
        assert_eq!(ids(&task), [1, 2]);
        let released = |s: &HeldStack| {
            let mut r: Vec<u64> = s.released().map(|r| r.id().0).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        // The thread's 3 went with its recent ones; the task's side shows
        // nothing of the thread's.
        assert_eq!(released(&task), [3]);
        assert!(released(&thread).is_empty(), "{:?}", released(&thread));
        thread.swap_live(&mut task);
        assert_eq!(ids(&thread), [1, 2]);
        assert_eq!(ids(&task), [7]);
    }

    #[test]
    fn an_entry_is_40_bytes() {
        // Every acquisition writes one and every release reads it back.
        assert_eq!(std::mem::size_of::<HeldEntry>(), 40);
    }

    #[test]
    fn a_full_stack_refuses_more() {
        let mut s = HeldStack::new();
        for i in 0..MAX_HELD as u64 {
            assert!(s.push(entry(i)));
        }
        assert!(!s.push(entry(99)));
        assert_eq!(s.len(), MAX_HELD);
    }

    #[test]
    fn a_recycled_stack_comes_back_empty_of_what_it_held_and_released() {
        let mut used = HeldStack::boxed();
        for i in 1..=3 {
            assert!(used.push(entry(100 + i)));
        }
        used.pop(); // 103 released: a stale entry and a recent one
        let address = std::ptr::from_ref(&*used) as usize;
        HeldStack::recycle(used);
        let again = HeldStack::boxed();
        // This thread's spare: the same box, with nothing of the last task.
        assert_eq!(std::ptr::from_ref(&*again) as usize, address);
        assert!(again.is_empty());
        assert_eq!(again.released().count(), 0);
        assert_eq!(again.stale_end(), 0);
    }
}
