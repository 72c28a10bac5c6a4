//! The wait-for graph: which blocked thread waits for which other thread.
//!
//! Only blocked threads are in it. A thread that holds a lock but is running
//! will release it eventually, so a path through it is no deadlock; a cycle of
//! blocked threads is one. Each waiter brings a snapshot of the locks it holds,
//! taken when it blocked (a blocked thread's held locks cannot change), so the
//! graph needs no view into running threads and readers of an `RwLock` count as
//! holders like any owner.
//!
//! Two kinds of wait have a known owner: a lock wait (the lock's holders) and
//! a join (the joined thread, until it ends). A joining thread that holds a
//! lock is a holder like any other. The other waits — a condition variable,
//! a channel, a barrier — have no owner: any thread may notify, send,
//! receive or arrive. They end every path (no cycle passes through them),
//! but they count for the second rule, "nobody left to wake anyone"
//! ([`WaitForGraph::nobody_left`]): when every thread of the process is
//! blocked in a registered wait, no one can end any of them.

use crate::fx_hash::FxHashMap as HashMap;

use crate::stack::CallStack;

use crate::event::{AcquireMode, HeldLock, LockInfo, Name, Site, ThreadId, ThreadInfo};

/// A blocked thread: what it waits for, and what it holds meanwhile.
#[derive(Clone, Debug)]
pub struct Waiter {
    /// The thread.
    pub thread: ThreadInfo,
    /// The lock it waits for.
    pub lock: LockInfo,
    /// The mode it asks for.
    pub mode: AcquireMode,
    /// Where it waits.
    pub site: Site,
    /// What it holds.
    pub held: Vec<HeldLock>,
    /// Unresolved backtrace at the wait, if captured.
    pub backtrace: Option<CallStack>,
}

/// A thread blocked in a join: it waits for the end of another thread.
#[derive(Clone, Debug)]
pub struct JoinWaiter {
    /// The joining thread.
    pub thread: ThreadInfo,
    /// The thread it waits to end.
    pub joins: ThreadInfo,
    /// Where it joins.
    pub site: Site,
    /// What it holds.
    pub held: Vec<HeldLock>,
    /// Unresolved backtrace at the join, if captured.
    pub backtrace: Option<CallStack>,
}

pub use crate::event::WaitKind;

/// The primitive a thread waits on: its kind, its identity, and how a
/// person knows it (the name given with `named`/`with_name`, else where it
/// was created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitTarget {
    /// What kind of wait.
    pub kind: WaitKind,
    /// Process-unique id of the primitive (0 when it has none).
    pub id: u64,
    /// The name given in the program, if any.
    pub name: Option<Name>,
    /// Where the primitive was created.
    pub created: Site,
}

/// A thread blocked on a primitive without an owner: a condition variable,
/// a channel, a barrier.
#[derive(Clone, Debug)]
pub struct PrimitiveWaiter {
    /// The waiting thread.
    pub thread: ThreadInfo,
    /// What it waits on.
    pub target: WaitTarget,
    /// Where it waits.
    pub site: Site,
    /// What it holds (a condition variable's mutex, which the wait
    /// releases, is not held).
    pub held: Vec<HeldLock>,
    /// Unresolved backtrace at the wait, if captured.
    pub backtrace: Option<CallStack>,
}

/// A blocked thread of any kind.
#[derive(Clone, Debug)]
pub enum Blocked {
    /// Waits for a lock.
    Lock(Waiter),
    /// Waits for another thread to end.
    Join(JoinWaiter),
    /// Waits on a condition variable, a channel or a barrier.
    Primitive(PrimitiveWaiter),
}

impl Blocked {
    /// The blocked thread.
    pub fn thread(&self) -> &ThreadInfo {
        match self {
            Blocked::Lock(w) => &w.thread,
            Blocked::Join(j) => &j.thread,
            Blocked::Primitive(p) => &p.thread,
        }
    }

    /// What it holds while it waits.
    pub fn held(&self) -> &[HeldLock] {
        match self {
            Blocked::Lock(w) => &w.held,
            Blocked::Join(j) => &j.held,
            Blocked::Primitive(p) => &p.held,
        }
    }

    /// Where it waits.
    pub fn site(&self) -> Site {
        match self {
            Blocked::Lock(w) => w.site,
            Blocked::Join(j) => j.site,
            Blocked::Primitive(p) => p.site,
        }
    }

    /// The unresolved backtrace it brought, if captured.
    pub fn backtrace(&self) -> &Option<CallStack> {
        match self {
            Blocked::Lock(w) => &w.backtrace,
            Blocked::Join(j) => &j.backtrace,
            Blocked::Primitive(p) => &p.backtrace,
        }
    }

    /// The same wait with `backtrace` in place of its own.
    pub fn with_backtrace(mut self, backtrace: Option<CallStack>) -> Blocked {
        match &mut self {
            Blocked::Lock(w) => w.backtrace = backtrace,
            Blocked::Join(j) => j.backtrace = backtrace,
            Blocked::Primitive(p) => p.backtrace = backtrace,
        }
        self
    }

    /// Whether this thread holds the lock `w` waits for in a mode that
    /// keeps `w` out.
    fn holds_against(&self, w: &Waiter) -> bool {
        self.held()
            .iter()
            .any(|h| h.lock.id == w.lock.id && w.mode.blocked_by(h.mode))
    }
}

impl Waiter {
    /// A plain reader (or upgradable reader) queues behind a writer that waits
    /// for the lock, even while other readers hold it: parking_lot is fair to
    /// writers.
    fn queues_behind(&self, other: &Waiter) -> bool {
        matches!(self.mode, AcquireMode::Read | AcquireMode::Upgradable)
            && other.lock.id == self.lock.id
            && other.mode == AcquireMode::Exclusive
    }
}

/// The wait-for graph. A pure state machine: blocks and unblocks in, deadlock
/// cycles out.
///
/// A join is a wait too (see [`WaitForGraph::block_wait`]): the joiner
/// waits for the joined thread, which may itself wait for a lock the
/// joiner holds.
///
/// ```
/// use lockcheck::detect::wait_for::{WaitForGraph, Waiter};
/// use lockcheck::event::*;
/// let lock = |id| LockInfo { id: LockId(id), kind: LockKind::Mutex, name: None, created: Site::caller() };
/// let held = |id| HeldLock { lock: lock(id), mode: AcquireMode::Exclusive, site: Site::caller() };
/// let waiter = |t, holds, wants| Waiter {
///     thread: ThreadInfo { id: ThreadId(t), name: None, task: false }, lock: lock(wants),
///     mode: AcquireMode::Exclusive, site: Site::caller(), held: vec![held(holds)], backtrace: None };
/// let mut g = WaitForGraph::default();
/// assert!(g.block(waiter(1, 1, 2)).is_none());
/// let cycle = g.block(waiter(2, 2, 1)).unwrap();
/// assert_eq!(cycle.len(), 2);
/// ```
#[derive(Default)]
pub struct WaitForGraph {
    waiting: HashMap<ThreadId, Entry>,
    /// Counts every block and unblock: two looks at the graph that see the
    /// same generation saw no thread come or go in between.
    generation: u64,
    /// Registrations so far, to order the blocked threads by when they
    /// blocked.
    registered: u64,
    /// How many of the waiting are parked tasks (see
    /// [`WaitForGraph::block_parked`]).
    parked: usize,
}

/// A blocked thread and when it blocked.
struct Entry {
    /// Its registration's number: later blocks have higher numbers.
    order: u64,
    blocked: Blocked,
    /// A task awaiting an async lock: it blocks no thread.
    parked: bool,
}

impl WaitForGraph {
    /// Registers a thread blocked on a lock. When its wait closes a cycle of
    /// blocked threads, returns the cycle (starting with this waiter, each
    /// waiting for the next) and leaves the waiter unregistered: the caller
    /// breaks the deadlock instead of blocking. For a graph of lock waits
    /// alone (a trace's); a cycle through a join is given whole only by
    /// [`WaitForGraph::block_wait`], and here without its joins.
    pub fn block(&mut self, waiter: Waiter) -> Option<Vec<Waiter>> {
        let cycle = self.block_wait(Blocked::Lock(waiter))?;
        Some(
            cycle
                .into_iter()
                .filter_map(|b| match b {
                    Blocked::Lock(w) => Some(w),
                    Blocked::Join(_) | Blocked::Primitive(_) => None,
                })
                .collect(),
        )
    }

    /// Registers a blocked thread of either kind; as [`WaitForGraph::block`],
    /// returns the cycle it closes (this waiter first) and then leaves it
    /// unregistered.
    pub fn block_wait(&mut self, waiter: Blocked) -> Option<Vec<Blocked>> {
        self.register(waiter, false)
    }

    /// Registers a task that awaits an async lock, as
    /// [`WaitForGraph::block_wait`] does a thread: it is part of wait
    /// cycles like any waiter, but it blocks no thread (its worker runs
    /// other tasks), so [`WaitForGraph::nobody_left`] does not count it.
    pub fn block_parked(&mut self, waiter: Blocked) -> Option<Vec<Blocked>> {
        self.register(waiter, true)
    }

    fn register(&mut self, waiter: Blocked, parked: bool) -> Option<Vec<Blocked>> {
        let id = waiter.thread().id;
        self.registered += 1;
        self.generation += 1;
        let entry = Entry {
            order: self.registered,
            blocked: waiter,
            parked,
        };
        if let Some(old) = self.waiting.insert(id, entry) {
            self.parked -= usize::from(old.parked);
        }
        self.parked += usize::from(parked);
        let path = self.cycle_from(id)?;
        let cycle = path
            .iter()
            .filter_map(|t| self.waiting.get(t).map(|e| e.blocked.clone()))
            .collect();
        self.unblock(id);
        Some(cycle)
    }

    /// The thread got its lock (or gave up).
    pub fn unblock(&mut self, thread: ThreadId) {
        // Called for every acquisition of a trace; mostly nobody waits.
        if self.waiting.is_empty() {
            return;
        }
        if let Some(old) = self.waiting.remove(&thread) {
            self.parked -= usize::from(old.parked);
            self.generation += 1;
        }
    }

    /// Changes with every block and unblock: equal generations mean the
    /// same blocked threads.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Rule 2, "nobody left to wake anyone": when the blocked threads are
    /// all the `live` threads there are, none of them can be notified, sent
    /// to, received from, joined or let through by anyone, so every one
    /// waits forever. Returns them, the latest to block first; `None` while
    /// some thread is not blocked here (it runs, sleeps, does I/O, or waits
    /// somewhere lockcheck does not see: it may still be the one that ends
    /// the others' waits).
    ///
    /// ```
    /// use lockcheck::detect::wait_for::*;
    /// use lockcheck::event::*;
    /// let waiter = |t| Blocked::Primitive(PrimitiveWaiter {
    ///     thread: ThreadInfo { id: ThreadId(t), name: None, task: false },
    ///     target: WaitTarget { kind: WaitKind::Barrier, id: 1, name: None, created: Site::caller() },
    ///     site: Site::caller(), held: vec![], backtrace: None });
    /// let mut g = WaitForGraph::default();
    /// assert!(g.block_wait(waiter(1)).is_none());
    /// assert!(g.nobody_left(2).is_none(), "a thread is still running");
    /// assert!(g.block_wait(waiter(2)).is_none());
    /// assert_eq!(g.nobody_left(2).unwrap().len(), 2);
    /// ```
    pub fn nobody_left(&self, live: usize) -> Option<Vec<Blocked>> {
        let threads = self.waiting.len() - self.parked;
        if threads == 0 || threads < live {
            return None;
        }
        let mut entries: Vec<&Entry> = self.waiting.values().filter(|e| !e.parked).collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.order));
        Some(entries.into_iter().map(|e| e.blocked.clone()).collect())
    }

    /// Every blocked thread, the earliest to block first (a snapshot of
    /// what each waits for).
    pub fn blocked(&self) -> Vec<Blocked> {
        let mut entries: Vec<&Entry> = self.waiting.values().collect();
        entries.sort_by_key(|e| e.order);
        entries.into_iter().map(|e| e.blocked.clone()).collect()
    }

    /// Whether `thread` is registered as blocked.
    pub fn is_waiting(&self, thread: ThreadId) -> bool {
        self.waiting.contains_key(&thread)
    }

    /// Number of blocked threads.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// No thread is blocked.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The blocked threads that `b` waits for: a lock's blocked holders (and
    /// the writers a reader queues behind), or a joined thread that is
    /// blocked itself. A thread that is not in the graph runs, and ends the
    /// path.
    fn blockers(&self, b: &Blocked) -> Vec<ThreadId> {
        match b {
            Blocked::Lock(w) => self
                .waiting
                .values()
                .map(|e| &e.blocked)
                .filter(|o| o.thread().id != w.thread.id)
                .filter(|o| {
                    o.holds_against(w) || matches!(o, Blocked::Lock(o) if w.queues_behind(o))
                })
                .map(|o| o.thread().id)
                .collect(),
            Blocked::Join(j) => self
                .waiting
                .contains_key(&j.joins.id)
                .then_some(j.joins.id)
                .into_iter()
                .collect(),
            // Nobody in particular can end it: no path goes on from here.
            Blocked::Primitive(_) => Vec::new(),
        }
    }

    /// Depth-first search for a path of waits from `start` back to itself.
    fn cycle_from(&self, start: ThreadId) -> Option<Vec<ThreadId>> {
        let mut stack: Vec<(ThreadId, Vec<ThreadId>)> = Vec::new();
        let mut seen = vec![start];
        let first = self.waiting.get(&start)?;
        stack.push((start, self.blockers(&first.blocked)));
        while let Some((_, next)) = stack.last_mut() {
            let Some(t) = next.pop() else {
                stack.pop();
                continue;
            };
            if t == start {
                return Some(stack.iter().map(|(t, _)| *t).collect());
            }
            if seen.contains(&t) {
                continue;
            }
            seen.push(t);
            if let Some(w) = self.waiting.get(&t) {
                stack.push((t, self.blockers(&w.blocked)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::test_locks::lock;
    fn waiter(t: u64, holds: &[(u64, AcquireMode)], wants: u64, mode: AcquireMode) -> Waiter {
        Waiter {
            thread: ThreadInfo {
                id: ThreadId(t),
                name: None,
                task: false,
            },
            lock: lock(wants),
            mode,
            site: Site::caller(),
            held: holds
                .iter()
                .map(|(id, m)| HeldLock {
                    lock: lock(*id),
                    mode: *m,
                    site: Site::caller(),
                })
                .collect(),
            backtrace: None,
        }
    }
    use AcquireMode::*;

    #[test]
    fn two_threads_in_opposite_waits_deadlock() {
        let mut g = WaitForGraph::default();
        assert!(g
            .block(waiter(1, &[(1, Exclusive)], 2, Exclusive))
            .is_none());
        let cycle = g.block(waiter(2, &[(2, Exclusive)], 1, Exclusive)).unwrap();
        assert_eq!(cycle[0].thread.id, ThreadId(2));
        assert_eq!(cycle[1].thread.id, ThreadId(1));
        assert_eq!(g.len(), 1, "the closer is not left registered");
    }

    #[test]
    fn a_chain_that_ends_in_a_running_thread_is_no_deadlock() {
        let mut g = WaitForGraph::default();
        // Thread 3 holds lock 3 and is running: not in the graph.
        assert!(g
            .block(waiter(1, &[(1, Exclusive)], 2, Exclusive))
            .is_none());
        assert!(g
            .block(waiter(2, &[(2, Exclusive)], 3, Exclusive))
            .is_none());
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn unblocked_threads_leave_the_graph() {
        let mut g = WaitForGraph::default();
        g.block(waiter(1, &[(1, Exclusive)], 2, Exclusive));
        g.unblock(ThreadId(1));
        assert!(g
            .block(waiter(2, &[(2, Exclusive)], 1, Exclusive))
            .is_none());
    }

    #[test]
    fn readers_hold_against_a_writer() {
        let mut g = WaitForGraph::default();
        g.block(waiter(1, &[(1, Read)], 2, Exclusive));
        assert!(g
            .block(waiter(2, &[(2, Exclusive)], 1, Exclusive))
            .is_some());
    }

    #[test]
    fn readers_do_not_block_readers() {
        let mut g = WaitForGraph::default();
        g.block(waiter(1, &[(1, Read)], 2, RecursiveRead));
        assert!(g.block(waiter(2, &[(2, Read)], 1, RecursiveRead)).is_none());
    }

    #[test]
    fn a_plain_reader_queues_behind_a_waiting_writer() {
        // 1 holds read(A) and waits to write B; 2 holds read(B)... 3 waits to
        // write A (queued behind reader 1); 2 asks read(A): queued behind 3.
        let mut g = WaitForGraph::default();
        g.block(waiter(1, &[(1, Read)], 2, Exclusive));
        g.block(waiter(3, &[], 1, Exclusive));
        assert!(g.block(waiter(2, &[(2, Read)], 1, Read)).is_some());
        // The same with read_recursive does not queue: no cycle.
        let mut g = WaitForGraph::default();
        g.block(waiter(1, &[(1, Read)], 2, Exclusive));
        g.block(waiter(3, &[], 1, Exclusive));
        assert!(g.block(waiter(2, &[(2, Read)], 1, RecursiveRead)).is_none());
    }

    fn joiner(t: u64, holds: &[u64], joins: u64) -> Blocked {
        Blocked::Join(JoinWaiter {
            thread: ThreadInfo {
                id: ThreadId(t),
                name: None,
                task: false,
            },
            joins: ThreadInfo {
                id: ThreadId(joins),
                name: None,
                task: false,
            },
            site: Site::caller(),
            held: holds
                .iter()
                .map(|id| HeldLock {
                    lock: lock(*id),
                    mode: Exclusive,
                    site: Site::caller(),
                })
                .collect(),
            backtrace: None,
        })
    }

    #[test]
    fn a_join_of_a_thread_that_waits_for_the_joiners_lock_is_a_cycle() {
        // Either thread may be the one that closes it.
        let mut g = WaitForGraph::default();
        assert!(g.block_wait(joiner(1, &[1], 2)).is_none());
        let cycle = g
            .block_wait(Blocked::Lock(waiter(2, &[], 1, Exclusive)))
            .unwrap();
        assert_eq!(cycle.len(), 2);
        assert_eq!(cycle[0].thread().id, ThreadId(2));
        assert!(matches!(cycle[1], Blocked::Join(_)));

        let mut g = WaitForGraph::default();
        assert!(g
            .block_wait(Blocked::Lock(waiter(2, &[], 1, Exclusive)))
            .is_none());
        let cycle = g.block_wait(joiner(1, &[1], 2)).unwrap();
        assert_eq!(cycle[0].thread().id, ThreadId(1));
        assert_eq!(cycle[1].thread().id, ThreadId(2));
    }

    #[test]
    fn a_join_of_a_running_thread_or_one_waiting_elsewhere_is_no_cycle() {
        let mut g = WaitForGraph::default();
        // Thread 2 runs (not in the graph).
        assert!(g.block_wait(joiner(1, &[1], 2)).is_none());
        // Thread 3 waits for lock 3, which nobody blocked holds.
        assert!(g
            .block_wait(Blocked::Lock(waiter(3, &[], 3, Exclusive)))
            .is_none());
        assert!(g.block_wait(joiner(4, &[4], 3)).is_none());
        assert_eq!(g.len(), 3);
    }

    #[test]
    fn joins_chain_into_a_cycle() {
        // 1 holds lock 1 and joins 2; 2 holds nothing and joins 3; 3 waits
        // for lock 1.
        let mut g = WaitForGraph::default();
        assert!(g.block_wait(joiner(1, &[1], 2)).is_none());
        assert!(g.block_wait(joiner(2, &[], 3)).is_none());
        let cycle = g
            .block_wait(Blocked::Lock(waiter(3, &[], 1, Exclusive)))
            .unwrap();
        assert_eq!(cycle.len(), 3);
    }

    fn primitive(t: u64, holds: &[u64], kind: WaitKind) -> Blocked {
        Blocked::Primitive(PrimitiveWaiter {
            thread: ThreadInfo {
                id: ThreadId(t),
                name: None,
                task: false,
            },
            target: WaitTarget {
                kind,
                id: 7,
                name: None,
                created: Site::caller(),
            },
            site: Site::caller(),
            held: holds
                .iter()
                .map(|id| HeldLock {
                    lock: lock(*id),
                    mode: Exclusive,
                    site: Site::caller(),
                })
                .collect(),
            backtrace: None,
        })
    }

    #[test]
    fn a_wait_without_an_owner_ends_every_path() {
        // 1 holds lock 1 and waits for a message; 2 waits for lock 1. No
        // cycle: any thread may send.
        let mut g = WaitForGraph::default();
        assert!(g
            .block_wait(primitive(1, &[1], WaitKind::Receive))
            .is_none());
        assert!(g
            .block_wait(Blocked::Lock(waiter(2, &[], 1, Exclusive)))
            .is_none());
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn nobody_left_only_when_every_live_thread_is_blocked() {
        let mut g = WaitForGraph::default();
        assert!(g.nobody_left(0).is_none(), "an empty graph is no deadlock");
        g.block_wait(primitive(1, &[], WaitKind::Condvar));
        assert!(g.nobody_left(2).is_none());
        g.block_wait(Blocked::Lock(waiter(2, &[], 1, Exclusive)));
        let all = g.nobody_left(2).expect("both threads blocked");
        assert_eq!(all[0].thread().id, ThreadId(2), "the latest first");
        assert_eq!(all[1].thread().id, ThreadId(1));
        // A third thread lockcheck does not see may still notify.
        assert!(g.nobody_left(3).is_none());
        g.unblock(ThreadId(2));
        assert!(g.nobody_left(2).is_none());
    }

    #[test]
    fn the_generation_counts_blocks_and_unblocks() {
        let mut g = WaitForGraph::default();
        let g0 = g.generation();
        g.block_wait(primitive(1, &[], WaitKind::Barrier));
        let g1 = g.generation();
        assert_ne!(g0, g1);
        g.unblock(ThreadId(9));
        assert_eq!(g.generation(), g1, "a thread that was not blocked");
        g.unblock(ThreadId(1));
        assert_ne!(g.generation(), g1);
    }
}
