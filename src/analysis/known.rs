//! Each thread's lock-order edges that the graph already knows: a thread
//! takes the same locks under the same locks again and again, and once the
//! graph knows every edge an acquisition takes (and that this thread takes
//! it so), asking the graph again changes nothing and finds no cycle.
//! Remembered by the two locks and the edge's type, an edge costs one
//! lookup in a small set, where the graph looked up each end's node and
//! the edge (callgrind: see `Analyzer::validate`).
//!
//! What the graph knows of an edge only grows (its kinds and threads are
//! added, its gate candidates only shrink) until a lock leaves it: the
//! analyzer counts the locks dropped, and a set remembered before the last
//! drop is forgotten. Only with the graph on lock instances: a class is a
//! lock's name or site, which a lock id does not fix.

use crate::detect::lock_order::LockOrderGraph;
use crate::event::{AcquireMode, HeldLock, LockInfo};
use crate::fx_hash::FxHashSet;

/// Edges remembered per thread before the set starts over: memory stays
/// bounded by the threads, whatever orders a trace takes its locks in.
const REMEMBERED: usize = 4096;

/// An edge: the held lock's id, the taken lock's, the edge's type bit.
type Edge = (u64, u64, u8);

/// One thread's edges the graph knew.
#[derive(Default)]
pub(super) struct KnownEdges {
    known: FxHashSet<Edge>,
    /// Locks dropped when `known` was filled.
    drops: u64,
}

/// The edges taking `lock` in `mode` holding `held` would take, without
/// the one held lock the graph always skips, the lock itself. A lock held
/// twice gives two: the graph makes an edge of its first hold only, so an
/// edge of a second hold is never remembered ([`KnownEdges::insert`]), and
/// asking for it only ever sends the question to the graph.
#[inline]
fn edges<'a>(
    held: &'a [HeldLock],
    lock: &'a LockInfo,
    mode: AcquireMode,
) -> impl Iterator<Item = Edge> + 'a {
    held.iter()
        .filter(move |h| h.lock.id != lock.id)
        .map(move |h| {
            (
                h.lock.id.0,
                lock.id.0,
                LockOrderGraph::edge_type(h.mode, mode),
            )
        })
}

impl KnownEdges {
    /// Whether every edge of taking `lock` in `mode` holding `held` (at
    /// least one) was known to the graph, which `drops` locks left so far.
    #[inline]
    pub(super) fn knows(
        &mut self,
        held: &[HeldLock],
        lock: &LockInfo,
        mode: AcquireMode,
        drops: u64,
    ) -> bool {
        if self.drops != drops {
            self.known.clear();
            self.drops = drops;
            return false;
        }
        let mut any = false;
        for edge in edges(held, lock, mode) {
            if !self.known.contains(&edge) {
                return false;
            }
            any = true;
        }
        any
    }

    /// Remembers that the graph knew every edge of taking `lock` in `mode`
    /// holding `held`.
    pub(super) fn insert(&mut self, held: &[HeldLock], lock: &LockInfo, mode: AcquireMode) {
        if self.known.len() + held.len() > REMEMBERED {
            self.known.clear();
        }
        for (i, h) in held.iter().enumerate() {
            // A second hold of a lock makes no edge (see `edges`).
            if h.lock.id != lock.id && !held[..i].iter().any(|p| p.lock.id == h.lock.id) {
                let edge = LockOrderGraph::edge_type(h.mode, mode);
                self.known.insert((h.lock.id.0, lock.id.0, edge));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_locks::{held, lock};

    #[test]
    fn every_edge_must_be_known_and_a_drop_forgets() {
        use AcquireMode::*;
        let mut known = KnownEdges::default();
        let (a, b) = (held(1, Exclusive), held(2, Exclusive));
        let one = std::slice::from_ref(&a);
        assert!(!known.knows(one, &lock(3), Exclusive, 0));
        known.insert(one, &lock(3), Exclusive);
        assert!(known.knows(one, &lock(3), Exclusive, 0));
        // Near misses: another edge too, another type, another lock.
        assert!(!known.knows(&[a.clone(), b.clone()], &lock(3), Exclusive, 0));
        assert!(!known.knows(&[held(1, Read)], &lock(3), Exclusive, 0));
        assert!(!known.knows(one, &lock(4), Exclusive, 0));
        // A lock held again in another mode makes no edge of that type.
        known.insert(&[a.clone(), held(1, Read)], &lock(5), Exclusive);
        assert!(!known.knows(&[held(1, Read)], &lock(5), Exclusive, 0));
        // No edge at all (only the lock itself held): asked of the graph.
        known.insert(&[held(3, Read)], &lock(3), Read);
        assert!(!known.knows(&[held(3, Read)], &lock(3), Read, 0));
        assert!(!known.knows(one, &lock(3), Exclusive, 1), "a lock left");
        assert!(!known.knows(one, &lock(3), Exclusive, 1));
    }

    #[test]
    fn the_set_stays_bounded() {
        let mut known = KnownEdges::default();
        for id in 0..(REMEMBERED as u64 * 3) {
            known.insert(
                &[held(id, AcquireMode::Exclusive)],
                &lock(u64::MAX),
                AcquireMode::Exclusive,
            );
            assert!(known.known.len() <= REMEMBERED);
        }
    }
}
