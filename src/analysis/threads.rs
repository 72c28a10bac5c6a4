//! The analyzer's record of every thread, reached by id: a dense table with
//! a one-entry cache in front of its index, since consecutive events mostly
//! come from the same thread and each event looks its thread up several
//! times.
//!
//! A thread id is a name, not an index: a trace may call its threads
//! `T18446744073709551615`. Each thread's component in the vector clocks is
//! its slot in this table, given in order of first sight, so that clocks
//! grow with the threads seen whatever their ids, and any source of events
//! (a trace reader, a test, a library user) is safe.

use std::cell::Cell;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::detect::vector_clock::VectorClock;
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadId, ThreadInfo};
use crate::finding::ThreadRef;

/// What one thread is doing, as far as the detectors need it.
pub(super) struct ThreadTrack {
    pub(super) info: ThreadInfo,
    /// This thread's component in every vector clock: its slot in the
    /// table (dense, from 0), never its id.
    pub(super) slot: u64,
    pub(super) held: Vec<HeldLock>,
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
}

impl ThreadTrack {
    fn new(id: ThreadId, slot: u64) -> Self {
        let mut clock = VectorClock::new();
        clock.set(slot, 1);
        ThreadTrack {
            info: ThreadInfo { id, name: None },
            slot,
            held: Vec::new(),
            depth: Vec::new(),
            structural: Arc::new(clock.clone()),
            clock,
            pending: None,
            last_release: None,
            rewait: None,
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
pub(super) struct HandOff {
    full: VectorClock,
    structural: VectorClock,
}

/// Every thread seen, in order of first sight.
#[derive(Default)]
pub(super) struct ThreadTable {
    tracks: Vec<ThreadTrack>,
    index: FxHashMap<ThreadId, usize>,
    /// The thread looked up last, and its slot.
    last: Cell<Option<(ThreadId, usize)>>,
}

impl ThreadTable {
    fn slot(&self, id: ThreadId) -> Option<usize> {
        if let Some((last, slot)) = self.last.get() {
            if last == id {
                return Some(slot);
            }
        }
        let slot = *self.index.get(&id)?;
        self.last.set(Some((id, slot)));
        Some(slot)
    }

    /// Thread `id`'s track, started on first sight.
    pub(super) fn get_mut(&mut self, id: ThreadId) -> &mut ThreadTrack {
        let slot = match self.slot(id) {
            Some(slot) => slot,
            None => {
                let slot = self.tracks.len();
                self.tracks.push(ThreadTrack::new(id, slot as u64));
                self.index.insert(id, slot);
                self.last.set(Some((id, slot)));
                slot
            }
        };
        &mut self.tracks[slot]
    }

    /// Thread `id`'s track, if it was seen.
    pub(super) fn get(&self, id: ThreadId) -> Option<&ThreadTrack> {
        self.slot(id).map(|slot| &self.tracks[slot])
    }

    /// Thread `id` as a report names it.
    pub(super) fn name(&self, id: ThreadId) -> ThreadRef {
        match self.get(id) {
            Some(t) => ThreadRef::from(&t.info),
            None => ThreadRef {
                id: id.0,
                name: None,
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
}
