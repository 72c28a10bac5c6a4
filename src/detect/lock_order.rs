//! The lock-order graph: an edge A → B for every lock B acquired while A was
//! held, and a cycle check whenever an edge (or a new kind of edge) appears.
//!
//! Edges carry lockdep's typing: whether the held lock was held shared (S) or
//! exclusive (E), and whether the new lock was taken as a recursive read (R) or
//! not (N). A cycle is reported only when it is a *strong* cycle in lockdep's
//! sense: no edge into a lock by recursive read is followed by an edge out of
//! that lock held shared, because a recursive reader never waits for a reader.
//! So `read_recursive` inside a held `read` of another lock is not a deadlock,
//! while the same shape with writers is.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::fx_hash::FxHashMap as HashMap;

use crate::stack::CallStack;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::detect::leaf_edges::{LeafEdge, LeafEdges};
use crate::detect::vector_clock::{Epoch, VectorClock};
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadId, ThreadInfo, WokenBy};

pub use crate::event::OrderGranularity;

fn key_of(granularity: OrderGranularity, lock: &LockInfo) -> u64 {
    match granularity {
        OrderGranularity::Instance => lock.id.0,
        OrderGranularity::Class => lock.class_key(),
    }
}

/// The lockdep type of an edge: held shared? acquired as recursive read?
fn type_bit(held: AcquireMode, acquired: AcquireMode) -> u8 {
    1 << (((held.is_shared() as u8) << 1) | acquired.is_recursive_read() as u8)
}

fn bit_held_shared(bit: u8) -> bool {
    bit >= 4
}

fn bit_acquired_recursive(bit: u8) -> bool {
    bit == 2 || bit == 8
}

/// A lock (or class) of the graph.
pub(crate) struct Node {
    pub(crate) lock: LockInfo,
    pub(crate) alive: bool,
    /// The lock took part in an acquisition seen here, so its drop removes
    /// it. A node made only as the source of an edge that waited aside
    /// (`runtime::leaf_edges`) may stand for a lock already dropped: it
    /// leaves with its last edge instead.
    owned: bool,
}

/// What is known of one edge: where it was first seen, and what held at
/// every occurrence (to decide whether a cycle is guarded).
pub(crate) struct EdgeData {
    types: u8,
    from_site: Site,
    pub(crate) to_site: Site,
    held_mode: AcquireMode,
    acquire_mode: AcquireMode,
    thread: ThreadInfo,
    backtrace: Option<CallStack>,
    /// Locks held exclusively at *every* occurrence of this edge, besides its
    /// own endpoints: candidates for a gate lock.
    gates: Vec<LockInfo>,
    other_thread: Option<ThreadId>,
    /// The taking thread's time when the edge was first taken, when
    /// happens-before is tracked.
    clock: EdgeClock,
    /// The wait behind a hold-and-wait edge (boxed: most edges have none).
    wait: Option<Box<WaitEdge>>,
}

/// When an edge was first taken, to decide whether a cycle's edges were
/// ordered by happens-before.
#[derive(Clone)]
enum EdgeClock {
    /// Not tracked.
    None,
    /// The taking thread's whole clock, shared by the edges it stamps.
    Shared(Arc<VectorClock>),
    /// The taking thread's own component: it stands for the whole clock
    /// when compared with a later one (FastTrack's argument), and costs no
    /// allocation (an edge that waited aside, `runtime::leaf_edges`).
    Epoch(Epoch),
}

impl EdgeClock {
    /// Whether `now` knows this time.
    fn leq(&self, now: &VectorClock) -> bool {
        match self {
            EdgeClock::None => false,
            EdgeClock::Shared(clock) => clock.leq(now),
            EdgeClock::Epoch(epoch) => epoch.leq(now),
        }
    }
}

/// One edge of a detected cycle, with where it was first seen.
#[derive(Clone, Debug)]
pub struct CycleEdge {
    /// Held lock.
    pub from: LockInfo,
    /// Lock acquired while `from` was held.
    pub to: LockInfo,
    /// Where `from` was acquired.
    pub from_site: Site,
    /// Where `to` was acquired.
    pub to_site: Site,
    /// Mode `from` was held in.
    pub held_mode: AcquireMode,
    /// Mode `to` was acquired in.
    pub acquire_mode: AcquireMode,
    /// Thread that first took the edge.
    pub thread: ThreadInfo,
    /// Unresolved backtrace of the first acquisition, if captured.
    pub backtrace: Option<CallStack>,
    /// When the edge is a hold-and-wait, not an acquisition under `from`:
    /// the wait and its waker (`thread` is the waiter; `to_site` is where
    /// the waker took `to`).
    pub wait: Option<WaitEdge>,
}

/// The wait behind an edge its thread did not take by locking (a
/// hold-and-wait): the thread held `from` while it waited — for a
/// notification of a condition (releasing its mutex or Java monitor), a
/// message, or another thread's end — and `waker`, the thread whose
/// notification, send or end ended the wait, had taken `to` before it. On
/// a schedule where the waiter takes `from` before the waker takes `to`,
/// the waker blocks on `to` and never wakes it: `from → to` is an order
/// edge like one taken by locking.
#[derive(Clone, Debug)]
pub struct WaitEdge {
    /// What ended the wait.
    pub by: WokenBy,
    /// What was waited on: the condition's id (a `Condvar`'s; in Java, the
    /// monitor's), the message's, or the joined thread's.
    pub on: u64,
    /// The lock the wait released meanwhile (a condition's mutex; never
    /// `from`), if any.
    pub released: Option<LockInfo>,
    /// Where the waiter waited.
    pub wait_site: Site,
    /// The thread whose notification ended the wait.
    pub waker: ThreadInfo,
    /// Where it notified.
    pub wake_site: Site,
}

/// How an edge came to the graph.
enum Origin {
    /// Its thread took `to` while holding `from`.
    Taken,
    /// The same, earlier, and it waited aside (`runtime::leaf_edges`).
    Parked,
    /// A parked edge that waited beside the graph (`detect::leaf_edges`),
    /// moved in because an edge is about to leave its lock. The one origin
    /// that does not move its source's own leaf edge in first: its caller
    /// walks the chain in a loop (a recursion could be as deep as the
    /// chain is long).
    Leaf,
    /// A hold-and-wait.
    Wait(WaitEdge),
}

/// A strong cycle in the lock-order graph.
#[derive(Clone, Debug)]
pub struct Cycle {
    /// Edges in order; the last edge's `to` is the first edge's `from`.
    pub edges: Vec<CycleEdge>,
    /// A lock held exclusively at every occurrence of every edge.
    pub guard: Option<LockInfo>,
    /// All edges were only ever taken by one thread.
    pub single_thread: bool,
    /// Every other edge happened before the edge that closed the cycle
    /// (spawn, join, a message…): this run's halves could not overlap.
    pub ordered: bool,
}

/// The lock-order graph. A pure state machine: acquisitions in, cycles out.
///
/// ```
/// use lockcheck::detect::lock_order::LockOrderGraph;
/// use lockcheck::event::*;
/// let lock = |id| LockInfo { id: LockId(id), kind: LockKind::Mutex, name: None, created: Site::caller() };
/// let held = |id| HeldLock { lock: lock(id), mode: AcquireMode::Exclusive, site: Site::caller() };
/// let t = ThreadInfo { id: ThreadId(1), name: None, task: false };
/// let mut g = LockOrderGraph::default();
/// assert!(g.on_acquire(&t, &[held(1)], &held(2), &mut || None).is_empty());
/// let cycles = g.on_acquire(&t, &[held(2)], &held(1), &mut || None);
/// assert_eq!(cycles[0].edges.len(), 2);
/// ```
pub struct LockOrderGraph {
    granularity: OrderGranularity,
    graph: StableDiGraph<Node, EdgeData>,
    index: HashMap<u64, NodeIndex>,
    /// Every edge by its two ends: the question asked for each held lock
    /// on every acquisition. Walking both ends' edge lists side by side
    /// cost about 400 instructions an acquisition made holding locks, among
    /// 64 locks nested in many orders (callgrind, a 200k-event `mixed`
    /// trace of the analyze bench's generator: this function's total from
    /// 98.6 M to 88.2 M instructions; the rest is the cycle search for new
    /// edges). Kept exact: an edge enters with `add_edge`, and leaves when
    /// its node is removed or the graph compacted.
    edges: HashMap<(NodeIndex, NodeIndex), EdgeIndex>,
    /// Edges into locks that no edge leaves yet, kept beside the graph
    /// (see [`crate::detect::leaf_edges`]).
    leaves: LeafEdges,
    /// Dropped locks still in the graph, marked dead.
    dead: usize,
    /// How many dead nodes may wait before a compaction.
    compact_after: usize,
}

/// Dead nodes tolerated before a compaction, unless set otherwise.
const COMPACT_AFTER: usize = 1024;

impl Default for LockOrderGraph {
    fn default() -> Self {
        LockOrderGraph {
            granularity: OrderGranularity::default(),
            graph: StableDiGraph::default(),
            index: HashMap::default(),
            edges: HashMap::default(),
            leaves: LeafEdges::default(),
            dead: 0,
            compact_after: COMPACT_AFTER,
        }
    }
}

impl EdgeData {
    /// Taking the edge again with `bit` by `thread` teaches nothing new.
    /// Whether the edge is a hold-and-wait (see [`WaitEdge`]).
    pub(crate) fn is_wait(&self) -> bool {
        self.wait.is_some()
    }

    fn knows(&self, bit: u8, thread: ThreadId) -> bool {
        self.types & bit != 0
            && self.gates.is_empty()
            && (self.other_thread.is_some() || self.thread.id == thread)
    }
}

impl LockOrderGraph {
    /// An empty graph over instances or classes.
    pub fn new(granularity: OrderGranularity) -> Self {
        LockOrderGraph {
            granularity,
            ..Default::default()
        }
    }

    /// Compacts the graph once more than `dead` dropped locks wait in it
    /// (and they outnumber the live ones); 1,024 unless set. Lower keeps
    /// less memory and spends more time rebuilding.
    pub fn compacting_after(mut self, dead: usize) -> Self {
        self.compact_after = dead;
        self
    }

    /// Which granularity this graph checks.
    pub fn granularity(&self) -> OrderGranularity {
        self.granularity
    }

    /// The node key of a lock under this graph's granularity.
    pub fn key(&self, lock: &LockInfo) -> u64 {
        key_of(self.granularity, lock)
    }

    /// Number of live locks (or classes) in the graph.
    pub fn node_count(&self) -> usize {
        self.graph.node_count() - self.dead
    }

    /// Number of edges, including those of dropped locks not yet compacted.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Records that `thread`, holding `held`, acquires `new` by a blocking
    /// acquire. Returns every strong cycle that an edge new in this call (or an
    /// edge whose classification changed) closes. `backtrace` is called at most
    /// once, and only when something new is learned.
    pub fn on_acquire(
        &mut self,
        thread: &ThreadInfo,
        held: &[HeldLock],
        new: &HeldLock,
        backtrace: &mut dyn FnMut() -> Option<CallStack>,
    ) -> Vec<Cycle> {
        self.on_acquire_at(thread, held, new, None, backtrace)
    }

    /// [`Self::on_acquire`] with the acquiring thread's vector clock, so that
    /// a cycle whose edges happened one after the other is classified as
    /// ordered by happens-before. The clock is shared, not copied, by every
    /// edge it stamps: a thread's clock changes far less often than it takes
    /// new edges.
    pub fn on_acquire_at(
        &mut self,
        thread: &ThreadInfo,
        held: &[HeldLock],
        new: &HeldLock,
        clock: Option<&Arc<VectorClock>>,
        backtrace: &mut dyn FnMut() -> Option<CallStack>,
    ) -> Vec<Cycle> {
        let now = clock.map(|c| &**c);
        let clock = clock.map_or(EdgeClock::None, |c| EdgeClock::Shared(c.clone()));
        self.acquire(thread, held, new, clock, now, backtrace, Origin::Taken)
    }

    /// Whether [`Self::on_acquire_at`] of `new` by `thread` holding `held`
    /// would change nothing and find no cycle: both ends of every edge it
    /// would take are nodes a lock owns, and each edge already knows this
    /// kind of taking by this thread. What the graph knows of an edge only
    /// grows until a lock leaves it, so an offline analysis may remember
    /// the answer until then (`analysis::known`).
    pub fn knows_acquire(&self, thread: ThreadId, held: &[HeldLock], new: &HeldLock) -> bool {
        let owned = |key: u64| {
            self.index
                .get(&key)
                .filter(|ix| self.graph[**ix].owned)
                .copied()
        };
        let Some(to) = owned(self.key(&new.lock)) else {
            return false;
        };
        held.iter().enumerate().all(|(i, h)| {
            // An edge waiting beside the graph would move in (see
            // `detect::leaf_edges`; never in an offline analysis).
            if !self.leaves.is_empty() && self.leaves.get(self.key(&h.lock)).is_some() {
                return false;
            }
            // The held locks `acquire` skips.
            let from_key = self.key(&h.lock);
            if h.lock.id == new.lock.id || held[..i].iter().any(|p| self.key(&p.lock) == from_key) {
                return true;
            }
            owned(from_key)
                .and_then(|from| self.find_edge(from, to))
                .is_some_and(|e| self.graph[e].knows(type_bit(h.mode, new.mode), thread))
        })
    }

    /// The lockdep type of the edge from a lock held in `held` mode to one
    /// taken in `acquired` mode, as one bit.
    pub fn edge_type(held: AcquireMode, acquired: AcquireMode) -> u8 {
        type_bit(held, acquired)
    }

    /// Records a hold-and-wait: `waiter` held `held` while it waited as
    /// `wait` says, and `wait.waker` had taken `taken` before it ended the
    /// wait (see [`WaitEdge`]). Adds the edge `held → taken` (`held` and
    /// `taken` may be one lock: the waker needed the lock the waiter kept)
    /// and returns the cycles it closes. Its thread is the waiter; the
    /// waker counts as a second thread, so such a cycle is never
    /// single-threaded, and it carries no clock, so it is never classified
    /// as ordered by happens-before.
    ///
    /// ```
    /// use lockcheck::detect::lock_order::{LockOrderGraph, WaitEdge};
    /// use lockcheck::event::*;
    /// let lock = |id| LockInfo { id: LockId(id), kind: LockKind::Mutex, name: None, created: Site::caller() };
    /// let held = |id| HeldLock { lock: lock(id), mode: AcquireMode::Exclusive, site: Site::caller() };
    /// let waiter = ThreadInfo { id: ThreadId(1), name: None, task: false };
    /// let waker = ThreadInfo { id: ThreadId(2), name: None, task: false };
    /// let mut g = LockOrderGraph::default();
    /// let wait = WaitEdge {
    ///     by: WokenBy::Notify,
    ///     on: 9,
    ///     released: Some(lock(9)),
    ///     wait_site: Site::caller(),
    ///     waker,
    ///     wake_site: Site::caller(),
    /// };
    /// // The waiter kept lock 1 across the wait; its waker had taken lock 1.
    /// let cycles = g.on_wait_edge(&waiter, &held(1), &held(1), wait);
    /// assert_eq!(cycles[0].edges.len(), 1);
    /// assert!(!cycles[0].single_thread);
    /// ```
    pub fn on_wait_edge(
        &mut self,
        waiter: &ThreadInfo,
        held: &HeldLock,
        taken: &HeldLock,
        wait: WaitEdge,
    ) -> Vec<Cycle> {
        self.acquire(
            waiter,
            std::slice::from_ref(held),
            taken,
            EdgeClock::None,
            None,
            &mut || None,
            Origin::Wait(wait),
        )
    }

    /// Adds the edge `from → to` that `thread` took earlier and that waited
    /// aside until now (see `runtime::leaf_edges`), at `epoch` of the
    /// thread's clock; returns the cycles it closes. `from` may have been
    /// dropped meanwhile: unless it is in the graph already, its node leaves
    /// with its last edge. While no edge leaves `to`, the edge waits beside
    /// the graph instead (see [`crate::detect::leaf_edges`]), until one is
    /// about to.
    pub(crate) fn on_parked_edge(
        &mut self,
        thread: &ThreadInfo,
        from: &HeldLock,
        to: &HeldLock,
        epoch: Option<Epoch>,
    ) -> Vec<Cycle> {
        let target = self.key(&to.lock);
        // A lock's first use makes its one leaf edge; a second would break
        // the runtime's protocol and goes into the graph.
        let beside = !self.leads(target)
            && self.granularity == OrderGranularity::Instance
            && self.leaves.get(target).is_none();
        if beside {
            let leaf = LeafEdge {
                thread: thread.clone(),
                from: from.clone(),
                to: to.clone(),
                epoch,
            };
            self.leaves.keep(target, leaf);
            return Vec::new();
        }
        let clock = epoch.map_or(EdgeClock::None, EdgeClock::Epoch);
        self.acquire(
            thread,
            std::slice::from_ref(from),
            to,
            clock,
            None,
            &mut || None,
            Origin::Parked,
        )
    }

    /// An edge is about to leave the lock of key `source`: its leaf edge,
    /// if one waits, goes into the graph first, then the leaf edge of that
    /// edge's source, and so on. The cycles they close (none: see
    /// [`crate::detect::leaf_edges`]; checked all the same) go to `cycles`.
    fn settle_leaf_chain(&mut self, mut source: u64, cycles: &mut Vec<Cycle>) {
        while let Some(leaf) = self.leaves.take(source) {
            source = self.key(&leaf.from.lock);
            let clock = leaf.epoch.map_or(EdgeClock::None, EdgeClock::Epoch);
            cycles.extend(self.acquire(
                &leaf.thread,
                std::slice::from_ref(&leaf.from),
                &leaf.to,
                clock,
                None,
                &mut || None,
                Origin::Leaf,
            ));
        }
    }

    /// Moves every edge that waits beside the graph into it, so that the
    /// graph is whole for those who render it; returns the cycles they
    /// close (none, see [`crate::detect::leaf_edges`]).
    pub(crate) fn settle_leaves(&mut self) -> Vec<Cycle> {
        let mut cycles = Vec::new();
        while let Some(target) = self.leaves.any_target() {
            self.settle_leaf_chain(target, &mut cycles);
        }
        cycles
    }

    /// How many edges wait beside the graph.
    #[cfg(test)]
    pub(crate) fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// Whether every edge beside the graph goes into a lock that no graph
    /// edge leaves: what makes keeping it there safe.
    #[cfg(test)]
    pub(crate) fn leaves_lead_nowhere(&self) -> bool {
        self.leaves.targets().all(|target| !self.leads(target))
    }

    /// Whether an edge of the graph leaves the lock of key `key`.
    fn leads(&self, key: u64) -> bool {
        self.index.get(&key).is_some_and(|&ix| {
            self.graph
                .edges_directed(ix, Direction::Outgoing)
                .next()
                .is_some()
        })
    }

    /// The one place where edges enter the graph: `thread`, holding `held`,
    /// took `new` at `clock` (`now`: the same as a whole clock, if the
    /// caller has one, to classify the cycles found).
    #[allow(clippy::too_many_arguments)]
    fn acquire(
        &mut self,
        thread: &ThreadInfo,
        held: &[HeldLock],
        new: &HeldLock,
        clock: EdgeClock,
        now: Option<&VectorClock>,
        backtrace: &mut dyn FnMut() -> Option<CallStack>,
        origin: Origin,
    ) -> Vec<Cycle> {
        // Only an edge that waited aside may start at a lock already gone.
        let held_owned = !matches!(origin, Origin::Parked | Origin::Leaf);
        let settles_leaves = !matches!(origin, Origin::Leaf);
        let wait = match origin {
            Origin::Wait(w) => Some(w),
            _ => None,
        };
        let new_key = self.key(&new.lock);
        let to = self.node(&new.lock, true);
        let mut cycles = Vec::new();
        let mut captured: Option<Option<CallStack>> = None;
        for (i, h) in held.iter().enumerate() {
            if h.lock.id == new.lock.id && wait.is_none() {
                // Re-acquiring the same instance is a self-deadlock question,
                // answered before the order graph is asked. (A waker that
                // took the lock its waiter kept is a hold-and-wait edge.)
                continue;
            }
            let from_key = self.key(&h.lock);
            if held[..i].iter().any(|p| self.key(&p.lock) == from_key) {
                continue;
            }
            // A gate candidate: another lock held in a mode that excludes
            // itself (a lock held for reading serialises nothing).
            let granularity = self.granularity;
            let is_gate = |g: &HeldLock| {
                let k = key_of(granularity, &g.lock);
                k != from_key && k != new_key && g.mode.blocked_by(g.mode)
            };
            // An edge leaves `h`: any edge into it must be in the graph
            // before this one is checked.
            if settles_leaves && !self.leaves.is_empty() {
                self.settle_leaf_chain(from_key, &mut cycles);
            }
            let from = self.node(&h.lock, held_owned);
            let bit = type_bit(h.mode, new.mode);
            let recheck = match self.find_edge(from, to) {
                Some(e) if self.graph[e].knows(bit, thread.id) => None,
                Some(e) => {
                    let data = &mut self.graph[e];
                    let mut changed = data.types & bit == 0;
                    data.types |= bit;
                    let before = data.gates.len();
                    data.gates
                        .retain(|g| held.iter().any(|n| n.lock.id == g.id && is_gate(n)));
                    changed |= data.gates.len() != before;
                    if data.thread.id != thread.id && data.other_thread.is_none() {
                        data.other_thread = Some(thread.id);
                        changed = true;
                    }
                    changed.then_some(e)
                }
                None => {
                    let bt = captured.get_or_insert_with(&mut *backtrace).clone();
                    let e = self.add_edge(
                        from,
                        to,
                        EdgeData {
                            types: bit,
                            from_site: h.site,
                            to_site: new.site,
                            held_mode: h.mode,
                            acquire_mode: new.mode,
                            thread: thread.clone(),
                            backtrace: bt,
                            // A gate is a third lock: with one held, none.
                            gates: if held.len() > 1 {
                                held.iter()
                                    .filter(|g| is_gate(g))
                                    .map(|g| g.lock.clone())
                                    .collect()
                            } else {
                                Vec::new()
                            },
                            // The waker is the edge's second thread.
                            other_thread: wait.as_ref().map(|w| w.waker.id),
                            clock: clock.clone(),
                            wait: wait.clone().map(Box::new),
                        },
                    );
                    Some(e)
                }
            };
            if let Some(e) = recheck {
                if let Some(cycle) = self.cycle_through(e, bit, now) {
                    cycles.push(cycle);
                }
            }
        }
        cycles
    }

    /// The petgraph graph itself, for rendering (dead nodes included).
    pub(crate) fn petgraph(&self) -> &StableDiGraph<Node, EdgeData> {
        &self.graph
    }

    /// The edge `from → to` as a cycle edge, if the graph has it (or keeps
    /// it beside, see [`crate::detect::leaf_edges`]). Used to show the order
    /// behind a deadlock.
    pub fn edge(&self, from: &LockInfo, to: &LockInfo) -> Option<CycleEdge> {
        let (from_key, to_key) = (self.key(from), self.key(to));
        if let Some(leaf) = self.leaves.get(to_key) {
            if self.key(&leaf.from.lock) == from_key {
                return Some(leaf.cycle_edge());
            }
        }
        let a = *self.index.get(&from_key)?;
        let b = *self.index.get(&to_key)?;
        self.find_edge(a, b).map(|e| self.cycle_edge(e))
    }

    /// The order edges behind a deadlock: waiter `i` waits for a lock that
    /// waiter `i + 1` holds while it waits for the next one, so each waiter
    /// took the edge "lock it holds that the previous waits for → lock it
    /// waits for". `None` when the graph lacks one of them.
    pub fn order_behind(&self, waiters: &[crate::detect::wait_for::Waiter]) -> Option<Cycle> {
        let n = waiters.len();
        let mut edges = Vec::with_capacity(n);
        for i in 0..n {
            let prev = &waiters[(i + n - 1) % n];
            let w = &waiters[i];
            let held = w.held.iter().find(|h| h.lock.id == prev.lock.id)?;
            edges.push(self.edge(&held.lock, &w.lock)?);
        }
        Some(Cycle {
            edges,
            guard: None,
            single_thread: false,
            ordered: false,
        })
    }

    /// Forgets a dropped lock. Under class granularity the class stays (other
    /// instances of it may come). Memory follows the live locks: a node whose
    /// edges are cheap to unlink leaves at once; others are marked dead and
    /// compacted away once they outnumber the live ones.
    pub fn remove_lock(&mut self, id: LockId) {
        if self.granularity == OrderGranularity::Class {
            return;
        }
        // Its leaf edge, if any, goes with it (the edge's source may have
        // no node: nothing else to clean).
        self.leaves.take(id.0);
        if let Some(ix) = self.index.remove(&id.0) {
            // A source that only a parked edge brought in may be a lock
            // dropped before it: it must not outstay this one.
            let unowned: smallvec::SmallVec<[NodeIndex; 4]> = self
                .graph
                .neighbors_directed(ix, Direction::Incoming)
                .filter(|&n| !self.graph[n].owned)
                .collect();
            if self.cheap_to_unlink(ix) {
                // petgraph unlinks its edges from the neighbours' lists.
                self.remove_node(ix);
            } else if let Some(node) = self.graph.node_weight_mut(ix) {
                node.alive = false;
                self.dead += 1;
            }
            for source in unowned {
                self.remove_if_orphan(source);
            }
        }
        if self.dead > self.compact_after && self.dead > self.graph.node_count() / 2 {
            self.compact();
        }
    }

    /// Removing a petgraph edge walks its endpoints' edge lists to unlink
    /// it: cheap for a lock with few edges whose neighbours have few too (a
    /// short-lived lock taken under a long-lived one: its edge sits at the
    /// head of the outer lock's list, however long that list is).
    fn cheap_to_unlink(&self, ix: NodeIndex) -> bool {
        const MOST_EDGES: usize = 4;
        const MOST_WALKED: usize = 16;
        let mut edges = 0;
        for dir in [Direction::Outgoing, Direction::Incoming] {
            for e in self.graph.edges_directed(ix, dir) {
                edges += 1;
                if edges > MOST_EDGES {
                    return false;
                }
                // The neighbour's list in the opposite direction holds `e`;
                // the walk to it is what removal costs.
                let other = if dir == Direction::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                let walked = self
                    .graph
                    .edges_directed(other, dir.opposite())
                    .take(MOST_WALKED)
                    .position(|n| n.id() == e.id());
                if walked.is_none() {
                    return false;
                }
            }
        }
        true
    }

    /// The edge `a → b`.
    fn find_edge(&self, a: NodeIndex, b: NodeIndex) -> Option<EdgeIndex> {
        self.edges.get(&(a, b)).copied()
    }

    /// Adds the edge `a → b` (which the graph does not have).
    fn add_edge(&mut self, a: NodeIndex, b: NodeIndex, data: EdgeData) -> EdgeIndex {
        let e = self.graph.add_edge(a, b, data);
        self.edges.insert((a, b), e);
        e
    }

    /// Removes node `ix` and its edges (petgraph may give their indices to
    /// edges added later: none may stay in `edges`).
    fn remove_node(&mut self, ix: NodeIndex) {
        for dir in [Direction::Outgoing, Direction::Incoming] {
            for e in self.graph.edges_directed(ix, dir) {
                self.edges.remove(&(e.source(), e.target()));
            }
        }
        self.graph.remove_node(ix);
    }

    /// The node of `lock`, made if needed; `owned` when the lock itself
    /// took part in the acquisition (see [`Node`]).
    fn node(&mut self, lock: &LockInfo, owned: bool) -> NodeIndex {
        let key = self.key(lock);
        if let Some(&ix) = self.index.get(&key) {
            self.graph[ix].owned |= owned;
            return ix;
        }
        let ix = self.graph.add_node(Node {
            lock: lock.clone(),
            alive: true,
            owned,
        });
        self.index.insert(key, ix);
        ix
    }

    /// Removes a node that no lock owns once no live lock is linked to it
    /// (its edges, few, go with it).
    fn remove_if_orphan(&mut self, ix: NodeIndex) {
        let Some(node) = self.graph.node_weight(ix) else {
            return;
        };
        if node.owned || !node.alive {
            return;
        }
        if self
            .graph
            .neighbors_undirected(ix)
            .any(|n| self.graph[n].alive)
        {
            return;
        }
        let key = self.key(&node.lock);
        self.index.remove(&key);
        self.remove_node(ix);
    }

    /// Whether `lock` (or its class) is a node of the graph.
    pub fn contains(&self, lock: &LockInfo) -> bool {
        self.index.contains_key(&self.key(lock))
    }

    /// Rebuilds the graph without dead nodes. Removing nodes one by one from a
    /// petgraph graph costs the degree of every neighbour (an outer lock with
    /// 10,000 edges makes that quadratic); a rebuild is linear.
    fn compact(&mut self) {
        // Keep the capacity: a long run that creates and drops locks would
        // otherwise regrow the graph from nothing after every compaction.
        let capacity = (self.graph.node_count(), self.graph.edge_count());
        let old = std::mem::replace(
            &mut self.graph,
            StableDiGraph::with_capacity(capacity.0, capacity.1),
        );
        let mut map = HashMap::default();
        self.edges.clear();
        // Through a plain `Graph`, which hands its nodes and edges over by
        // value (dense indices: the conversion drops the holes) — linear,
        // and no weight is cloned.
        let (nodes, edges) = petgraph::graph::Graph::from(old).into_nodes_edges();
        for (at, node) in nodes.into_iter().enumerate() {
            if node.weight.alive {
                let key = self.key(&node.weight.lock);
                let ix = self.graph.add_node(node.weight);
                self.index.insert(key, ix);
                map.insert(at, ix);
            }
        }
        for edge in edges {
            let ends = (
                map.get(&edge.source().index()),
                map.get(&edge.target().index()),
            );
            if let (Some(a), Some(b)) = ends {
                self.add_edge(*a, *b, edge.weight);
            }
        }
        self.dead = 0;
    }

    fn cycle_edge(&self, e: EdgeIndex) -> CycleEdge {
        let (a, b) = self.graph.edge_endpoints(e).expect("edge index is live");
        let d = &self.graph[e];
        CycleEdge {
            from: self.graph[a].lock.clone(),
            to: self.graph[b].lock.clone(),
            from_site: d.from_site,
            to_site: d.to_site,
            held_mode: d.held_mode,
            acquire_mode: d.acquire_mode,
            thread: d.thread.clone(),
            backtrace: d.backtrace.clone(),
            wait: d.wait.as_deref().cloned(),
        }
    }

    /// The shortest strong cycle through edge `e` taken with type `bit`.
    fn cycle_through(&self, e: EdgeIndex, bit: u8, now: Option<&VectorClock>) -> Option<Cycle> {
        let (u, v) = self.graph.edge_endpoints(e)?;
        let path = if u == v {
            // A class nested in itself (two instances of one class).
            if bit_acquired_recursive(bit) && bit_held_shared(bit) {
                return None;
            }
            Vec::new()
        } else {
            self.strong_path(v, u, bit_acquired_recursive(bit), bit_held_shared(bit))?
        };
        let mut edges = vec![e];
        edges.extend(path);
        Some(self.classify(&edges, now))
    }

    /// Breadth-first search for a strong path `from ⇝ to`. The state is the
    /// node and whether it was entered by a recursive read, since that decides
    /// which edges may leave it.
    fn strong_path(
        &self,
        from: NodeIndex,
        to: NodeIndex,
        entered_recursive: bool,
        closing_edge_held_shared: bool,
    ) -> Option<Vec<EdgeIndex>> {
        // A lock that was never held while taking another has no way back:
        // the common case of a fresh lock, answered without a search.
        self.graph
            .edges_directed(from, Direction::Outgoing)
            .next()?;
        type State = (NodeIndex, bool);
        let mut parent: HashMap<State, (State, EdgeIndex)> = HashMap::default();
        let start = (from, entered_recursive);
        let mut queue = VecDeque::from([start]);
        parent.insert(start, (start, e_none()));
        while let Some(state @ (node, recursive)) = queue.pop_front() {
            for edge in self.graph.edges_directed(node, Direction::Outgoing) {
                let target = edge.target();
                if !self.graph[target].alive {
                    continue;
                }
                for b in (0..4).map(|i| 1u8 << i) {
                    if edge.weight().types & b == 0 || (recursive && bit_held_shared(b)) {
                        continue;
                    }
                    let next = (target, bit_acquired_recursive(b));
                    if target == to {
                        if next.1 && closing_edge_held_shared {
                            continue;
                        }
                        let mut path = vec![edge.id()];
                        let mut s = state;
                        while s != start {
                            let (prev, e) = parent[&s];
                            path.push(e);
                            s = prev;
                        }
                        path.reverse();
                        return Some(path);
                    }
                    if let std::collections::hash_map::Entry::Vacant(slot) = parent.entry(next) {
                        slot.insert((state, edge.id()));
                        queue.push_back(next);
                    }
                }
            }
        }
        None
    }

    fn classify(&self, edges: &[EdgeIndex], now: Option<&VectorClock>) -> Cycle {
        let cycle_edges: Vec<CycleEdge> = edges.iter().map(|e| self.cycle_edge(*e)).collect();
        let in_cycle = |l: &LockInfo| {
            cycle_edges
                .iter()
                .any(|c| self.key(&c.from) == self.key(l) || self.key(&c.to) == self.key(l))
        };
        let first = &self.graph[edges[0]];
        let guard = first
            .gates
            .iter()
            .find(|g| {
                !in_cycle(g)
                    && edges
                        .iter()
                        .all(|e| self.graph[*e].gates.iter().any(|h| h.id == g.id))
            })
            .cloned();
        let thread = first.thread.id;
        let single_thread = edges.iter().all(|e| {
            let d = &self.graph[*e];
            d.thread.id == thread && d.other_thread.is_none()
        });
        // Ordered: the closing acquisition knows every other edge's time.
        let ordered = !single_thread
            && now.is_some_and(|now| edges[1..].iter().all(|e| self.graph[*e].clock.leq(now)));
        Cycle {
            edges: cycle_edges,
            guard,
            single_thread,
            ordered,
        }
    }
}

fn e_none() -> EdgeIndex {
    EdgeIndex::end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Attempt, LockKind, ThreadId};

    fn lock(id: u64) -> LockInfo {
        LockInfo {
            id: LockId(id),
            kind: LockKind::RwLock,
            name: None,
            created: Site {
                file: "t.rs",
                line: id as u32,
                column: 1,
            },
        }
    }
    fn held(id: u64, mode: AcquireMode) -> HeldLock {
        HeldLock {
            lock: lock(id),
            mode,
            site: Site {
                file: "t.rs",
                line: 100 + id as u32,
                column: 1,
            },
        }
    }
    fn ex(id: u64) -> HeldLock {
        held(id, AcquireMode::Exclusive)
    }
    fn thread(id: u64) -> ThreadInfo {
        ThreadInfo {
            id: ThreadId(id),
            name: None,
            task: false,
        }
    }
    fn acquire(g: &mut LockOrderGraph, t: u64, held: &[HeldLock], new: HeldLock) -> Vec<Cycle> {
        g.on_acquire(&thread(t), held, &new, &mut || None)
    }

    #[test]
    fn a_parked_edges_source_leaves_with_its_last_edge_unless_a_lock_owns_it() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        // 1 → 2 parked while 1 lived; 1 was dropped before it was unparked,
        // into a lock that leads somewhere (so into the graph).
        acquire(&mut g, 1, &[held(2, X)], held(9, X));
        g.on_parked_edge(&thread(1), &held(1, X), &held(2, X), None);
        assert!(g.contains(&lock(1)) && g.contains(&lock(2)));
        assert_eq!(g.leaf_count(), 0);
        g.remove_lock(LockId(2));
        assert!(!g.contains(&lock(1)), "nothing else keeps the source");
        g.remove_lock(LockId(9));
        assert_eq!(g.node_count(), 0);

        // The same, but the source also took part in an acquisition: it
        // stays until its own drop.
        acquire(&mut g, 1, &[held(4, X)], held(8, X));
        g.on_parked_edge(&thread(1), &held(3, X), &held(4, X), None);
        acquire(&mut g, 1, &[held(3, X)], held(5, X));
        g.remove_lock(LockId(4));
        assert!(g.contains(&lock(3)));
        g.remove_lock(LockId(3));
        assert!(!g.contains(&lock(3)));

        // A target with many edges is marked dead, not unlinked: the source
        // leaves all the same.
        let mut g = LockOrderGraph::default();
        acquire(&mut g, 1, &[held(7, X)], held(30, X));
        g.on_parked_edge(&thread(1), &held(6, X), &held(7, X), None);
        for other in 10..20 {
            acquire(&mut g, 1, &[held(7, X)], held(other, X));
        }
        g.remove_lock(LockId(7));
        assert!(!g.contains(&lock(6)));
    }

    #[test]
    fn a_parked_edge_into_a_lock_that_leads_nowhere_waits_beside_the_graph() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        assert!(g
            .on_parked_edge(&thread(1), &held(1, X), &held(2, X), None)
            .is_empty());
        assert_eq!((g.node_count(), g.edge_count(), g.leaf_count()), (0, 0, 1));
        let e = g.edge(&lock(1), &lock(2)).expect("known, beside the graph");
        assert_eq!(
            (e.from.id, e.to.id, e.to_site.line),
            (LockId(1), LockId(2), 102)
        );
        assert!(g.edge(&lock(2), &lock(1)).is_none());
        assert!(g.leaves_lead_nowhere());
        // Its lock dropped, it goes too.
        g.remove_lock(LockId(2));
        assert_eq!(g.leaf_count(), 0);
        // The source's drop leaves it where it waits (it has no node).
        g.on_parked_edge(&thread(1), &held(3, X), &held(4, X), None);
        g.remove_lock(LockId(3));
        assert_eq!(g.leaf_count(), 1);
    }

    #[test]
    fn an_edge_out_of_a_lock_moves_the_chain_of_edges_waiting_into_it_first() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        // 2 first used under 1, 3 first used under 2, each settled later.
        g.on_parked_edge(&thread(1), &held(1, X), &held(2, X), None);
        g.on_parked_edge(&thread(2), &held(2, X), &held(3, X), None);
        assert_eq!((g.edge_count(), g.leaf_count()), (0, 2));
        // Then 1 under 3: the cycle 1 → 2 → 3 → 1 is found.
        let cycles = acquire(&mut g, 3, &[held(3, X)], held(1, X));
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].edges.len(), 3);
        assert_eq!((g.edge_count(), g.leaf_count()), (3, 0));
        assert!(g.leaves_lead_nowhere());
    }

    #[test]
    fn an_edge_out_of_a_lock_with_a_waiting_edge_closes_no_cycle_in_one_order() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        g.on_parked_edge(&thread(1), &held(1, X), &held(2, X), None);
        g.on_parked_edge(&thread(2), &held(2, X), &held(3, X), None);
        // 4 under 3: the same order all along.
        assert!(acquire(&mut g, 3, &[held(3, X)], held(4, X)).is_empty());
        assert_eq!((g.edge_count(), g.leaf_count()), (3, 0));
        // A parked edge into a lock that leads somewhere enters the graph.
        assert!(g
            .on_parked_edge(&thread(1), &held(5, X), &held(3, X), None)
            .is_empty());
        assert_eq!((g.edge_count(), g.leaf_count()), (4, 0));
    }

    #[test]
    fn a_hold_and_wait_out_of_a_lock_moves_its_waiting_edge_in_first() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        g.on_parked_edge(&thread(1), &held(1, X), &held(2, X), None);
        let wait = WaitEdge {
            by: WokenBy::Notify,
            on: 9,
            released: None,
            wait_site: Site::caller(),
            waker: thread(2),
            wake_site: Site::caller(),
        };
        // Holding 2 across a wait that a holder of 1 ended: 2 → 1 closes
        // 1 → 2 → 1.
        let cycles = g.on_wait_edge(&thread(1), &held(2, X), &held(1, X), wait);
        assert_eq!(cycles.len(), 1);
        assert_eq!(g.leaf_count(), 0);
    }

    #[test]
    fn a_hold_and_wait_out_of_a_lock_with_a_waiting_edge_in_one_order_is_no_cycle() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        g.on_parked_edge(&thread(1), &held(1, X), &held(2, X), None);
        let wait = WaitEdge {
            by: WokenBy::Notify,
            on: 9,
            released: None,
            wait_site: Site::caller(),
            waker: thread(2),
            wake_site: Site::caller(),
        };
        // Holding 2 across a wait that a holder of 3 ended: 1 → 2 → 3.
        let cycles = g.on_wait_edge(&thread(1), &held(2, X), &held(3, X), wait);
        assert!(cycles.is_empty());
        assert_eq!((g.edge_count(), g.leaf_count()), (2, 0));
    }

    #[test]
    fn settling_every_waiting_edge_makes_the_graph_whole() {
        use AcquireMode::Exclusive as X;
        let mut g = LockOrderGraph::default();
        for i in 0..10 {
            g.on_parked_edge(&thread(1), &held(100, X), &held(i, X), None);
        }
        assert!(g.settle_leaves().is_empty());
        assert_eq!((g.edge_count(), g.leaf_count()), (10, 0));
    }

    #[test]
    fn same_order_nesting_is_not_a_cycle() {
        let mut g = LockOrderGraph::default();
        for t in 0..3 {
            assert!(acquire(&mut g, t, &[ex(1)], ex(2)).is_empty());
            assert!(acquire(&mut g, t, &[ex(1), ex(2)], ex(3)).is_empty());
        }
        assert_eq!(g.edge_count(), 3);
    }

    #[test]
    fn opposite_orders_in_two_threads_form_a_cycle() {
        let mut g = LockOrderGraph::default();
        assert!(acquire(&mut g, 1, &[ex(1)], ex(2)).is_empty());
        let cycles = acquire(&mut g, 2, &[ex(2)], ex(1));
        assert_eq!(cycles.len(), 1);
        let c = &cycles[0];
        assert_eq!(c.edges.len(), 2);
        assert_eq!(c.edges[0].from.id, LockId(2));
        assert_eq!(c.edges[1].from.id, LockId(1));
        assert!(!c.single_thread);
        assert!(c.guard.is_none());
    }

    #[test]
    fn long_cycle_is_found_with_every_edge() {
        let mut g = LockOrderGraph::default();
        for i in 0..4 {
            assert!(acquire(&mut g, i, &[ex(i)], ex(i + 1)).is_empty());
        }
        let cycles = acquire(&mut g, 9, &[ex(4)], ex(0));
        assert_eq!(cycles[0].edges.len(), 5);
    }

    #[test]
    fn a_cycle_whose_halves_happened_one_after_the_other_is_ordered() {
        let clock = |parts: &[(u64, u32)]| -> Arc<VectorClock> {
            let mut c = VectorClock::new();
            for (t, v) in parts {
                c.set(*t, *v);
            }
            Arc::new(c)
        };
        let mut g = LockOrderGraph::default();
        let t1 = thread(1);
        let t2 = thread(2);
        g.on_acquire_at(&t1, &[ex(1)], &ex(2), Some(&clock(&[(1, 1)])), &mut || None);
        // Thread 2 was joined after thread 1's edge: it knows thread 1's time.
        let ordered = g.on_acquire_at(
            &t2,
            &[ex(2)],
            &ex(1),
            Some(&clock(&[(1, 2), (2, 1)])),
            &mut || None,
        );
        assert!(ordered[0].ordered);
        // Near miss: a thread that never synchronised with thread 1.
        let mut g = LockOrderGraph::default();
        g.on_acquire_at(&t1, &[ex(1)], &ex(2), Some(&clock(&[(1, 1)])), &mut || None);
        let racing = g.on_acquire_at(&t2, &[ex(2)], &ex(1), Some(&clock(&[(2, 1)])), &mut || None);
        assert!(!racing[0].ordered);
    }

    #[test]
    fn one_thread_cycle_is_flagged_single_thread() {
        let mut g = LockOrderGraph::default();
        acquire(&mut g, 1, &[ex(1)], ex(2));
        let cycles = acquire(&mut g, 1, &[ex(2)], ex(1));
        assert!(cycles[0].single_thread);
    }

    #[test]
    fn gate_lock_guards_the_cycle_until_an_edge_is_seen_without_it() {
        let mut g = LockOrderGraph::default();
        acquire(&mut g, 1, &[ex(9)], ex(1));
        acquire(&mut g, 1, &[ex(9), ex(1)], ex(2));
        acquire(&mut g, 2, &[ex(9)], ex(2));
        let cycles = acquire(&mut g, 2, &[ex(9), ex(2)], ex(1));
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].guard.as_ref().map(|l| l.id), Some(LockId(9)));
        // The same edge without the gate: the cycle is now a real hazard.
        let cycles = acquire(&mut g, 3, &[ex(2)], ex(1));
        assert_eq!(cycles.len(), 1);
        assert!(cycles[0].guard.is_none());
    }

    #[test]
    fn a_gate_held_for_reading_guards_nothing() {
        let mut g = LockOrderGraph::default();
        let r9 = held(9, AcquireMode::Read);
        acquire(&mut g, 1, &[r9.clone(), ex(1)], ex(2));
        let cycles = acquire(&mut g, 2, &[r9, ex(2)], ex(1));
        assert!(cycles[0].guard.is_none());
    }

    #[test]
    fn recursive_read_under_read_is_not_a_strong_cycle() {
        // T1: read(A) then read_recursive(B); T2: read(B) then read_recursive(A).
        // Recursive readers never wait for readers: no deadlock (lockdep agrees).
        let mut g = LockOrderGraph::default();
        let ra = held(1, AcquireMode::Read);
        let rb = held(2, AcquireMode::Read);
        acquire(&mut g, 1, &[ra], held(2, AcquireMode::RecursiveRead));
        let cycles = acquire(&mut g, 2, &[rb], held(1, AcquireMode::RecursiveRead));
        assert!(cycles.is_empty());
    }

    #[test]
    fn writers_on_both_sides_of_recursive_reads_still_deadlock() {
        // T1: write(A) then read_recursive(B); T2: write(B) then write(A).
        let mut g = LockOrderGraph::default();
        acquire(&mut g, 1, &[ex(1)], held(2, AcquireMode::RecursiveRead));
        let cycles = acquire(&mut g, 2, &[ex(2)], ex(1));
        assert_eq!(cycles.len(), 1);
    }

    #[test]
    fn plain_reads_in_opposite_orders_with_a_writer_are_a_cycle() {
        // T1: read(A) then write(B); T2: write(B)... read(B) then read(A) is
        // non-recursive, so it can queue behind a writer: strong.
        let mut g = LockOrderGraph::default();
        acquire(&mut g, 1, &[held(1, AcquireMode::Read)], ex(2));
        let cycles = acquire(&mut g, 2, &[ex(2)], held(1, AcquireMode::Read));
        assert_eq!(cycles.len(), 1);
    }

    #[test]
    fn dropped_locks_leave_the_graph() {
        let mut g = LockOrderGraph::default();
        for i in 10..5000 {
            acquire(&mut g, 1, &[ex(1)], ex(i));
            g.remove_lock(LockId(i));
        }
        assert!(g.node_count() <= 2);
        // Dead nodes are compacted once they outnumber live ones (and 1024).
        assert!(g.edge_count() <= 1100, "edges: {}", g.edge_count());
        // A dead lock cannot close a cycle.
        acquire(&mut g, 1, &[ex(2)], ex(3));
        g.remove_lock(LockId(3));
        assert!(acquire(&mut g, 1, &[ex(4)], ex(2)).is_empty());
    }

    #[test]
    fn edges_are_found_from_either_end() {
        let mut g = LockOrderGraph::default();
        // Lock 1 is held around 2..50; 60..110 are each held around 200.
        for i in 2..50 {
            acquire(&mut g, 1, &[ex(1)], ex(i));
        }
        for i in 60..110 {
            acquire(&mut g, 1, &[ex(i)], ex(200));
        }
        acquire(&mut g, 1, &[ex(1)], ex(200));
        for (a, b) in [(1, 2), (1, 49), (1, 200), (60, 200), (109, 200)] {
            let e = g.edge(&lock(a), &lock(b)).expect("edge taken");
            assert_eq!((e.from.id.0, e.to.id.0), (a, b));
        }
        for (a, b) in [(2, 1), (200, 1), (200, 60), (2, 200), (1, 60), (49, 2)] {
            assert!(g.edge(&lock(a), &lock(b)).is_none(), "{a} -> {b}");
        }
    }

    #[test]
    fn a_short_lived_lock_leaves_the_graph_at_once() {
        let mut g = LockOrderGraph::default();
        for i in 2..100 {
            acquire(&mut g, 1, &[ex(1)], ex(i));
        }
        for i in 1000..1010 {
            acquire(&mut g, 1, &[ex(1)], ex(i));
            assert_eq!(g.edge_count(), 99);
            g.remove_lock(LockId(i));
            assert_eq!(g.edge_count(), 98, "its edge left with it");
            assert_eq!(g.node_count(), 99);
        }
        // The edges left behind still close cycles; the removed ones do not.
        assert!(acquire(&mut g, 1, &[ex(1000)], ex(1)).is_empty());
        let cycles = acquire(&mut g, 2, &[ex(50)], ex(1));
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].edges.len(), 2);
    }

    #[test]
    fn a_lock_with_many_edges_is_marked_dead_not_unlinked() {
        let mut g = LockOrderGraph::default();
        for i in 2..10 {
            acquire(&mut g, 1, &[ex(1)], ex(i));
        }
        let edges = g.edge_count();
        g.remove_lock(LockId(1));
        assert_eq!(g.node_count(), 8);
        assert_eq!(g.edge_count(), edges, "left for compaction");
        // A dead lock closes no cycle: lock 1 is gone, a new lock is not it.
        assert!(acquire(&mut g, 2, &[ex(5)], ex(1)).is_empty());
    }

    #[test]
    fn classes_join_instances_made_at_one_site() {
        let mut g = LockOrderGraph::new(OrderGranularity::Class);
        let fork = |id: u64| HeldLock {
            lock: LockInfo {
                name: Some("fork".into()),
                ..lock(id)
            },
            mode: AcquireMode::Exclusive,
            site: Site::caller(),
        };
        let cycles = acquire(&mut g, 1, &[fork(1)], fork(2));
        assert_eq!(cycles.len(), 1, "a class nested in itself");
        assert_eq!(cycles[0].edges.len(), 1);
    }

    /// The offline pipeline on one thread: `first` taken (blocking or by
    /// a try), then `second` under it, both released; then the opposite
    /// order, blocking. Returns the edges after the first half and the
    /// findings.
    fn try_then_opposite(first: Attempt, second: Attempt) -> (usize, Vec<crate::Finding>) {
        use crate::analysis::Analyzer;
        use crate::event::Event;
        let t = ThreadId(1);
        let acq = |id, attempt| Event::Acquire {
            thread: t,
            lock: lock(id),
            mode: AcquireMode::Exclusive,
            attempt,
            site: held(id, AcquireMode::Exclusive).site,
        };
        let rel = |id| Event::Release {
            thread: t,
            lock: lock(id),
            site: held(id, AcquireMode::Exclusive).site,
        };
        let mut a = Analyzer::default();
        for e in [acq(1, first), acq(2, second), rel(2), rel(1)] {
            a.event(&e);
        }
        let edges = a.order_graph().edge_count();
        for e in [
            acq(2, Attempt::Blocking),
            acq(1, Attempt::Blocking),
            rel(1),
            rel(2),
        ] {
            a.event(&e);
        }
        (edges, a.finish())
    }

    #[test]
    fn try_locks_held_are_sources_of_edges() {
        // 1 taken by a try, 2 under it: the edge 1 -> 2 leaves the tried
        // lock, and 2 then 1 closes the cycle.
        let (edges, found) = try_then_opposite(Attempt::Try, Attempt::Blocking);
        assert_eq!(edges, 1, "the held try-lock is a source");
        let kinds: Vec<_> = found.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [crate::FindingKind::LockOrderCycle], "{found:#?}");
    }

    #[test]
    fn a_try_lock_adds_no_edge_into_the_tried_lock() {
        // The near miss: 2 is the one tried, under 1. A try cannot wait
        // forever, so 1 -> 2 is no edge, and 2 then 1 closes nothing.
        let (edges, found) = try_then_opposite(Attempt::Blocking, Attempt::Try);
        assert_eq!(edges, 0, "no edge into the tried lock");
        assert!(found.is_empty(), "{found:#?}");
    }
}
