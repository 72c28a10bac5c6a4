//! The analyzer's record of every thread, reached by id: a dense table with
//! a one-entry cache in front of its index, since consecutive events mostly
//! come from the same thread and each event looks its thread up several
//! times.
//!
//! A thread id is a name, not an index: a trace may call its threads
//! `T18446744073709551615`. Each thread's component in the vector clocks is
//! a slot this table gives it, dense from 0, so that clocks grow with the
//! threads whatever their ids, and any source of events (a trace reader, a
//! test, a library user) is safe.
//!
//! As in the live runtime, a joined thread's slot is reused: the joiner
//! knows the joined thread's whole run, so a thread it spawns after the
//! join may take the slot over, its epochs starting past every epoch of the
//! slot's last owner, and every access of that owner stays ordered before
//! whatever is ordered after the new thread. Clocks then grow with the
//! threads that run at once, not with every thread a trace ever had.

use std::cell::Cell;
use std::sync::Arc;

use crate::fx_hash::FxHashMap;

use super::known::KnownEdges;
use crate::detect::race::HeldSummary;
use crate::detect::vector_clock::VectorClock;
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadId, ThreadInfo};
use crate::finding::ThreadRef;

/// What one thread is doing, as far as the detectors need it.
pub(super) struct ThreadTrack {
    pub(super) info: ThreadInfo,
    /// This thread's component in every vector clock: a slot of the table
    /// (dense, from 0), never its id.
    pub(super) slot: u64,
    /// Joined: its slot went to the joiner, for a thread it spawns. Seen
    /// again (a trace that goes on after the join), it takes a fresh one.
    released: bool,
    /// Slots of threads this one joined (directly or through the threads it
    /// joined), free for the threads it spawns: it knows their owners' whole
    /// runs.
    reusable: Vec<u64>,
    pub(super) held: Vec<HeldLock>,
    /// `held` as an access records it, made on the first access after
    /// `held` changed (whoever changes `held` clears it): accesses under
    /// the same locks share one summary instead of allocating one each.
    pub(super) summary: Option<HeldSummary>,
    /// Re-entries of reentrant locks held, parallel to `held`.
    pub(super) depth: Vec<u32>,
    pub(super) clock: VectorClock,
    /// Happens-before from spawn, join and notify only, not from locks: a
    /// lock's release→acquire order is this schedule's accident, while a
    /// join orders every schedule. Tells whether a cycle's halves could
    /// overlap on another schedule. Shared with the order edges it stamps
    /// until it changes.
    pub(super) structural: Arc<VectorClock>,
    /// A lock asked for and not yet acquired; its request was checked for
    /// self-deadlock and order, so its acquisition is not checked again.
    pub(super) pending: Option<(LockInfo, AcquireMode, Site)>,
    /// The thread's last event released this lock, which it held this many
    /// times before (a Java `wait` may follow: it releases every hold).
    pub(super) last_release: Option<(LockId, u32)>,
    /// A monitor released by `wait` (with the condition waited on), to be
    /// held again (as many times as before) when the thread next acquires it
    /// or does anything else.
    pub(super) rewait: Option<(HeldLock, u32, LockId)>,
    /// Lock-order edges the graph knew, not asked of it again.
    pub(super) known: KnownEdges,
}

impl ThreadTrack {
    fn new(id: ThreadId, slot: u64) -> Self {
        let mut clock = VectorClock::new();
        clock.set(slot, 1);
        ThreadTrack {
            info: ThreadInfo {
                id,
                name: None,
                task: false,
            },
            slot,
            released: false,
            reusable: Vec::new(),
            held: Vec::new(),
            summary: None,
            depth: Vec::new(),
            structural: Arc::new(clock.clone()),
            clock,
            pending: None,
            last_release: None,
            rewait: None,
            known: KnownEdges::default(),
        }
    }

    /// Both clocks, to hand to another thread (a spawn, the end of a thread,
    /// a message); this thread then moves to a new epoch, so that what it
    /// does next is not ordered before the receiver.
    pub(super) fn hand_off(&mut self) -> HandOff {
        let out = HandOff {
            full: self.clock.clone(),
            structural: (*self.structural).clone(),
        };
        self.clock.tick(self.slot);
        Arc::make_mut(&mut self.structural).tick(self.slot);
        out
    }

    /// Moves to `slot`, a component of its own from now on. Its old one
    /// stays in its clocks as what it knows of its own past, which its
    /// joiner knows too.
    fn take_slot(&mut self, slot: u64) {
        self.slot = slot;
        self.released = false;
        self.clock.set(slot, 1);
        Arc::make_mut(&mut self.structural).set(slot, 1);
    }

    /// The locks held, as an access records them.
    pub(super) fn held_summary(&mut self) -> HeldSummary {
        self.summary
            .get_or_insert_with(|| HeldSummary::of(&self.held))
            .clone()
    }

    /// Starts a new epoch of this thread in both clocks.
    pub(super) fn tick(&mut self) {
        self.clock.tick(self.slot);
        Arc::make_mut(&mut self.structural).tick(self.slot);
    }

    /// Orders this thread after everything `from` carries.
    pub(super) fn receive(&mut self, from: &HandOff) {
        self.clock.join(&from.full);
        Arc::make_mut(&mut self.structural).join(&from.structural);
    }
}

/// What one thread hands another: both of its clocks.
#[derive(Default)]
pub(super) struct HandOff {
    full: VectorClock,
    structural: VectorClock,
}

impl HandOff {
    /// Carries what `other` carries too (a barrier's round gathers every
    /// arrival's).
    pub(super) fn join(&mut self, other: &HandOff) {
        self.full.join(&other.full);
        self.structural.join(&other.structural);
    }
}

/// Every thread seen, in order of first sight.
#[derive(Default)]
pub(super) struct ThreadTable {
    tracks: Vec<ThreadTrack>,
    index: FxHashMap<ThreadId, usize>,
    /// The thread looked up last, and its place in `tracks`.
    last: Cell<Option<(ThreadId, usize)>>,
    /// Slots given out so far: no clock is wider.
    slots: u64,
}

impl ThreadTable {
    #[inline]
    fn position(&self, id: ThreadId) -> Option<usize> {
        if let Some((last, at)) = self.last.get() {
            if last == id {
                return Some(at);
            }
        }
        let at = *self.index.get(&id)?;
        self.last.set(Some((id, at)));
        Some(at)
    }

    fn fresh_slot(&mut self) -> u64 {
        let slot = self.slots;
        self.slots += 1;
        slot
    }

    /// Starts thread `id`'s track, in `slot` or a fresh one.
    fn start(&mut self, id: ThreadId, slot: Option<u64>) -> usize {
        let slot = slot.unwrap_or_else(|| self.fresh_slot());
        let at = self.tracks.len();
        self.tracks.push(ThreadTrack::new(id, slot));
        self.index.insert(id, at);
        self.last.set(Some((id, at)));
        at
    }

    /// Thread `id`'s track, started on first sight (a thread seen again
    /// after its slot went to its joiner takes a fresh slot).
    ///
    /// Called three or four times an event: the thread looked up last,
    /// holding its slot, is answered inline (one comparison), and the rest
    /// out of line, so that the call sites stay small. As one function it
    /// was not inlined, and cost about 72 instructions an event (callgrind,
    /// the analyze bench's mixed trace of 2M events).
    #[inline]
    pub(super) fn get_mut(&mut self, id: ThreadId) -> &mut ThreadTrack {
        if let Some((last, at)) = self.last.get() {
            if last == id && !self.tracks[at].released {
                return &mut self.tracks[at];
            }
        }
        self.get_mut_slow(id)
    }

    /// [`Self::get_mut`] for any other thread than the last one looked up.
    #[inline(never)]
    fn get_mut_slow(&mut self, id: ThreadId) -> &mut ThreadTrack {
        let at = match self.position(id) {
            Some(at) => at,
            None => self.start(id, None),
        };
        if self.tracks[at].released {
            let slot = self.fresh_slot();
            self.tracks[at].take_slot(slot);
        }
        &mut self.tracks[at]
    }

    /// `parent` starts `child`: the child is ordered after the parent's past.
    /// A child seen here first takes a slot the parent freed by a join, if
    /// it has one.
    pub(super) fn spawn(&mut self, parent: ThreadId, child: ThreadId) {
        let start = self.get_mut(parent).hand_off();
        if self.position(child).is_none() {
            let slot = self.get_mut(parent).reusable.pop();
            self.start(child, slot);
        }
        let c = self.get_mut(child);
        c.receive(&start);
        c.tick();
    }

    /// `parent` waits for the end of `child`: the parent is ordered after
    /// the child's whole run, and the child's slot (with those it freed)
    /// goes to the parent. The child's clocks are handed over without a new
    /// epoch: no epoch of that slot beyond those the parent now knows may
    /// exist until a thread the parent spawns takes it.
    pub(super) fn join(&mut self, parent: ThreadId, child: ThreadId) {
        if parent == child {
            // A thread that joins itself (a broken trace): nothing to free.
            let t = self.get_mut(child);
            let end = t.hand_off();
            t.receive(&end);
            return;
        }
        let c = self.get_mut(child);
        let end = HandOff {
            full: c.clock.clone(),
            structural: (*c.structural).clone(),
        };
        c.released = true;
        let mut freed = std::mem::take(&mut c.reusable);
        freed.push(c.slot);
        let p = self.get_mut(parent);
        p.receive(&end);
        p.reusable.append(&mut freed);
    }

    /// Thread `id`'s track, if it was seen.
    pub(super) fn get(&self, id: ThreadId) -> Option<&ThreadTrack> {
        self.position(id).map(|at| &self.tracks[at])
    }

    /// Thread `id` as a report names it.
    pub(super) fn name(&self, id: ThreadId) -> ThreadRef {
        match self.get(id) {
            Some(t) => ThreadRef::from(&t.info),
            None => ThreadRef {
                id: id.0,
                name: None,
                task: false,
            },
        }
    }

    /// Every thread seen.
    pub(super) fn iter(&self) -> impl Iterator<Item = &ThreadTrack> {
        self.tracks.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_are_indexed_by_slot_whatever_the_thread_ids() {
        let mut table = ThreadTable::default();
        // Ids that, used as indices, would overflow or take gigabytes.
        let ids = [u64::MAX, 1 << 63, 4_294_967_296, 888_888_881, 1];
        for id in ids {
            table.get_mut(ThreadId(id)).tick();
        }
        for (slot, id) in ids.into_iter().enumerate() {
            let t = table.get(ThreadId(id)).expect("seen");
            assert_eq!(t.slot, slot as u64);
            assert_eq!(
                t.clock.width(),
                slot + 1,
                "T{id}: one component per thread seen"
            );
            assert_eq!(t.clock.get(t.slot), 2);
            assert_eq!(t.info.id, ThreadId(id), "reports keep the trace's id");
        }
    }

    #[test]
    fn threads_spawned_after_a_join_reuse_the_joined_slot() {
        let mut table = ThreadTable::default();
        let main = ThreadId(1);
        for child in 2..10_002 {
            table.spawn(main, ThreadId(child));
            table.join(main, ThreadId(child));
        }
        assert_eq!(
            table.slots, 2,
            "one slot for main, one reused by every child"
        );
        let widest = table.iter().map(|t| t.clock.width()).max();
        assert_eq!(widest, Some(2));
        // Each child starts past every epoch of the slot's last owner.
        let (first, last) = (table.get(ThreadId(2)), table.get(ThreadId(10_001)));
        let (first, last) = (first.expect("seen"), last.expect("seen"));
        assert_eq!(first.slot, last.slot);
        assert!(last.clock.get(last.slot) > first.clock.get(first.slot));
        // Near miss: children spawned before any join each take a slot.
        let mut table = ThreadTable::default();
        for child in 2..12 {
            table.spawn(main, ThreadId(child));
        }
        assert_eq!(table.slots, 11);
    }

    #[test]
    fn a_thread_seen_after_its_join_takes_a_fresh_slot() {
        let mut table = ThreadTable::default();
        let (main, worker, next) = (ThreadId(1), ThreadId(2), ThreadId(3));
        table.spawn(main, worker);
        table.join(main, worker);
        table.spawn(main, next);
        let taken = table.get(next).expect("seen").slot;
        assert_eq!(taken, table.get(worker).expect("seen").slot, "reused");
        // The worker acts again: it must not share the slot with `next`.
        let again = table.get_mut(worker).slot;
        assert_ne!(again, taken);
        assert_eq!(table.slots, 3);
    }
}
