//! Order edges into locks that no edge of the graph leaves yet, kept beside
//! the lock-order graph instead of in it.
//!
//! An edge O → L can be part of a cycle only once some edge leaves L. The
//! live runtime parks the edge of a mutex's first use under one other lock
//! (`runtime::leaf_edges`); when the mutex is taken again, the edge must be
//! where a later edge out of L will find it, but it need not be a petgraph
//! edge: entering the graph (a node, an edge, their index entries) and
//! leaving it when the mutex is dropped cost about 1,800 and 2,000
//! instructions (callgrind, 10,000 mutexes each taken twice under one outer
//! lock); with a table entry instead, the whole second pass and the drops
//! cost 1,090 instructions a mutex (4,061 before).
//!
//! Why the graph loses no cycle: every edge out of a lock enters the graph
//! through [`LockOrderGraph`](super::LockOrderGraph)'s one place for it,
//! which first moves the lock's leaf edge into the graph, then that edge's
//! source's, and so on ([`LeafEdges::take`] walks the chain). A leaf edge
//! into L waits here only while L leads nowhere in the graph, so a cycle
//! through it would have to go on through leaf edges alone; but a leaf edge
//! X → Y is the edge of Y's *first* use, made while X was held and so used
//! before Y, and first uses cannot be ordered around a cycle.
//!
//! A lock has at most one leaf edge (its first use made it), so the table
//! holds at most one entry per live lock and a chain is walked without a
//! stack.

use crate::detect::lock_order::CycleEdge;
use crate::detect::vector_clock::Epoch;
use crate::event::{HeldLock, ThreadInfo};
use crate::fx_hash::FxHashMap as HashMap;

/// One edge waiting beside the graph: `thread` took `to` while holding
/// `from`, at `epoch` of its clock (if happens-before was tracked).
pub(crate) struct LeafEdge {
    pub(crate) thread: ThreadInfo,
    pub(crate) from: HeldLock,
    pub(crate) to: HeldLock,
    pub(crate) epoch: Option<Epoch>,
}

impl LeafEdge {
    /// The edge as a cycle's edge shows it.
    pub(crate) fn cycle_edge(&self) -> CycleEdge {
        CycleEdge {
            from: self.from.lock.clone(),
            to: self.to.lock.clone(),
            from_site: self.from.site,
            to_site: self.to.site,
            held_mode: self.from.mode,
            acquire_mode: self.to.mode,
            thread: self.thread.clone(),
            backtrace: None,
            wait: None,
        }
    }
}

/// The leaf edges by the key of the lock they go into.
#[derive(Default)]
pub(crate) struct LeafEdges {
    by_target: HashMap<u64, LeafEdge>,
}

impl LeafEdges {
    /// Whether no edge waits here: what every acquisition asks first, so
    /// that a graph without leaf edges (the trace analysis's) pays one test.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_target.is_empty()
    }

    /// Keeps `edge` into the lock of key `target`, which has none yet (see
    /// [`Self::get`]).
    pub(crate) fn keep(&mut self, target: u64, edge: LeafEdge) {
        let before = self.by_target.insert(target, edge);
        debug_assert!(before.is_none(), "a lock with two leaf edges");
    }

    /// Takes the edge into the lock of key `target`, if one waits.
    #[inline]
    pub(crate) fn take(&mut self, target: u64) -> Option<LeafEdge> {
        if self.by_target.is_empty() {
            return None;
        }
        self.by_target.remove(&target)
    }

    /// The edge into the lock of key `target`, if one waits.
    pub(crate) fn get(&self, target: u64) -> Option<&LeafEdge> {
        self.by_target.get(&target)
    }

    /// How many edges wait.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_target.len()
    }

    /// The keys of the locks with an edge waiting.
    #[cfg(test)]
    pub(crate) fn targets(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_target.keys().copied()
    }

    /// The key of any lock with an edge waiting (to move them all).
    pub(crate) fn any_target(&self) -> Option<u64> {
        self.by_target.keys().next().copied()
    }
}
