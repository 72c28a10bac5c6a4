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

/// Held locks, innermost last. Derefs to the slice of live entries.
pub(crate) struct HeldStack {
    entries: [HeldEntry; MAX_HELD],
    len: usize,
}

impl HeldStack {
    pub(crate) const fn new() -> Self {
        HeldStack {
            entries: [HeldEntry::unused(); MAX_HELD],
            len: 0,
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

    /// Drops the innermost entry.
    #[inline(always)]
    pub(crate) fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// Removes entry `i`, shifting the ones above it down.
    pub(crate) fn remove(&mut self, i: usize) -> HeldEntry {
        let removed = self.entries[i];
        self.entries.copy_within(i + 1..self.len, i);
        self.len -= 1;
        removed
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
}
