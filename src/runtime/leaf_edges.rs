//! An order edge into a mutex that has never been the source of one, kept
//! aside ("parked") instead of entering the lock-order graph.
//!
//! An edge O → L can be part of a cycle only once some edge leaves L, that
//! is once L is held while another lock is taken. Until then it need not be
//! in the graph. A mutex made, taken once under an outer lock and dropped (a
//! per-request lock, a lock inside a short-lived value) would otherwise cost
//! a node, an edge and their removal, each under the graph's global mutex;
//! parked, it costs a few stores into the thread and the mutex.
//!
//! The protocol, and why it loses no cycle:
//! - A mutex's id is published with a *pending* mark (`LockMeta`), and while
//!   the mark is set every acquisition takes the slow path. The mark is
//!   cleared by the first holder after the one that assigned the id, once it
//!   has moved any parked edge into the graph ([`settle`]): before that
//!   holder can take anything under the mutex.
//! - Only the acquisition that assigned the id may park, only while holding
//!   the mutex, and only with exactly one other lock held (so the edge has no
//!   gate to record). Its edge waits in this thread ([`keep_own`]) while the
//!   mutex is held: a validation by this thread, which is where edges leave
//!   held locks, moves it into the graph first ([`unpark_own`]).
//! - Its release moves the edge into the mutex, still marked pending, for the
//!   next holder to settle; a mutex dropped first takes the edge with it.
//! - Whenever an edge is moved into the graph, the cycle check runs as for
//!   any new edge.
//! - "Into the graph" is, while the mutex leads nowhere, beside it: the
//!   graph keeps the settled edge in a table until an edge is about to
//!   leave the mutex (`detect::leaf_edges`), so that a mutex taken a few
//!   times under one outer lock and dropped costs no node (callgrind, 10,000
//!   mutexes taken twice under one lock: the second pass and the drops
//!   4,061 → 1,090 instructions a mutex).
//!
//! Linux lockdep has no such step (it keeps every class forever); the cost it
//! avoids here is the one tracing-mutex pays for every new lock.

use std::panic::Location;

use crate::detect::findings;
use crate::detect::lock_order::Cycle;
use crate::detect::vector_clock::Epoch;
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadId};
use crate::runtime::global::global;
use crate::runtime::held_stack::HeldEntry;
use crate::runtime::lock_desc::{self, DescId};
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::policy::{report, Severity};
use crate::runtime::thread_state::{self, with_thread, ThreadState};

/// One parked edge: the lock `from_*` was held when the mutex that keeps
/// the edge was taken. 48 bytes, inside every mutex.
pub(crate) struct ParkedEdge {
    /// The thread that took the edge.
    thread: ThreadId,
    from_id: LockId,
    from_site: &'static Location<'static>,
    /// Where the mutex was taken (always exclusively).
    to_site: &'static Location<'static>,
    from_desc: DescId,
    /// The taking thread's structural epoch (see `hb::structural_epoch`),
    /// slot and time; time 0 for none. A clock would cost two atomic
    /// reference counts, a third of the cost of parking.
    epoch_slot: u32,
    epoch_time: u32,
    from_mode: AcquireMode,
}

impl ParkedEdge {
    /// The edge from the lock of `from` taken by `thread`, where the new
    /// mutex was taken at `to_site`.
    pub(crate) fn new(
        thread: ThreadId,
        from: &HeldEntry,
        to_site: &'static Location<'static>,
        epoch: Option<Epoch>,
    ) -> Self {
        // A slot past u32 (four billion threads alive at once) would only
        // lose the edge's ordering, which makes a cycle count as unordered.
        let (epoch_slot, epoch_time) = epoch
            .and_then(|e| Some((u32::try_from(e.slot).ok()?, e.clock)))
            .unwrap_or((0, 0));
        ParkedEdge {
            thread,
            from_id: from.id,
            from_site: from.site,
            to_site,
            from_desc: from.desc,
            epoch_slot,
            epoch_time,
            from_mode: from.mode,
        }
    }

    /// Adds the edge into `to` to the lock-order graph and reports the
    /// cycles it closes (none, unless the rules above were broken; checked
    /// all the same).
    #[track_caller]
    fn unpark(self, to: LockInfo) {
        // Most often the thread that parked the edge settles it: its own
        // identity is at hand (the table of names is a lock and a lookup).
        let own = with_thread(|t| (t.id() == self.thread).then(|| t.info())).flatten();
        let thread = own.unwrap_or_else(|| thread_state::thread_info(self.thread));
        let from = HeldLock {
            lock: lock_desc::get(self.from_desc).info(self.from_id),
            mode: self.from_mode,
            site: Site::from(self.from_site),
        };
        let to = HeldLock {
            lock: to,
            mode: AcquireMode::Exclusive,
            site: Site::from(self.to_site),
        };
        let epoch = (self.epoch_time != 0).then_some(Epoch {
            slot: u64::from(self.epoch_slot),
            clock: self.epoch_time,
        });
        let cycles: Vec<Cycle> = global()
            .order
            .lock()
            .on_parked_edge(&thread, &from, &to, epoch);
        for cycle in cycles {
            report(findings::lock_order_cycle(&cycle), Severity::Hazard);
        }
    }
}

/// A parked edge a thread keeps while it holds the mutex `to` it goes into
/// (whose held entry describes it).
pub(crate) struct KeptEdge {
    to: LockId,
    edge: ParkedEdge,
}

/// Keeps `edge` into the mutex `to` in `thread` while it holds the mutex.
/// The thread keeps one at a time: the caller checks that it keeps none.
pub(crate) fn keep_own(thread: &mut ThreadState, to: LockId, edge: ParkedEdge) {
    debug_assert!(thread.kept.is_none());
    thread.kept = Some(KeptEdge { to, edge });
}

/// This thread is about to take an edge out of the locks it holds: the edge
/// it keeps, if any, goes into the graph first, and the held mutex is a
/// graph node from now on.
#[track_caller]
pub(crate) fn unpark_own() {
    let kept = with_thread(|t| {
        // Kept only while held (`on_release` sees to that): the entry is there.
        let entry = t.find_mut(t.kept.as_ref()?.to)?;
        entry.in_graph = true;
        let to = entry.held_lock().lock;
        Some((t.kept.take()?.edge, to))
    });
    if let Some((edge, to)) = kept.flatten() {
        edge.unpark(to);
    }
}

/// `meta`'s mutex (`id`), held by this thread, is being released (or waited
/// on by a condition variable). The edge this thread keeps for it moves into
/// the mutex, for the next holder to settle. (Without one, the mutex stays
/// pending too: a guard's drop must not report, and settling may.)
pub(crate) fn on_release(meta: &LockMeta, id: LockId) {
    if !meta.pending() {
        return;
    }
    let kept = with_thread(|t| match &t.kept {
        Some(kept) if kept.to == id => t.kept.take(),
        _ => None,
    })
    .flatten();
    if let Some(kept) = kept {
        // SAFETY: this thread holds the mutex (it is releasing it).
        unsafe { meta.put_parked(kept.edge) }
    }
}

/// Called by every holder of `meta`'s lock right after taking it by the slow
/// path: a parked edge goes into the graph, and the pending mark is cleared,
/// so that later acquisitions take the fast path. Only a mutex is ever
/// pending, so the holder holds it alone.
#[inline]
#[track_caller]
pub(crate) fn settle(meta: &LockMeta) {
    if meta.pending() {
        settle_pending(meta);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn settle_pending(meta: &LockMeta) {
    // SAFETY: the caller holds the mutex exclusively (see `settle`).
    if let Some(edge) = unsafe { meta.take_parked() } {
        edge.unpark(meta.info());
        // Its node must leave the graph when it is dropped.
        meta.mark_in_graph();
    }
    meta.clear_pending();
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::runtime::global::global;
    use crate::runtime::lock_meta::LockMeta;
    use crate::Mutex;

    /// How long a test waits for another thread before it fails instead of
    /// hanging the suite (a deadline, not a timing assertion).
    const DEADLINE: Duration = Duration::from_secs(20);

    /// Whether the live lock-order graph has the edge `from → to`.
    fn in_graph(from: &LockMeta, to: &LockMeta) -> bool {
        global()
            .order
            .lock()
            .edge(&from.info(), &to.info())
            .is_some()
    }

    /// Whether this thread keeps a parked edge.
    fn keeps_one() -> bool {
        crate::runtime::thread_state::with_thread(|t| t.kept.is_some()).unwrap()
    }

    #[test]
    fn a_new_mutex_under_one_lock_parks_its_edge_until_its_next_holder_settles_it() {
        crate::config::set_backtraces(false);
        let outer = Mutex::named("park.outer", ());
        let inner = Mutex::named("park.inner", ());
        {
            let _o = outer.lock();
            let _i = inner.lock();
            assert!(inner.meta.pending());
            assert!(keeps_one(), "the holder keeps the edge");
            assert!(!in_graph(&outer.meta, &inner.meta));
        }
        assert!(!keeps_one(), "the release leaves it in the mutex");
        assert!(inner.meta.pending());
        assert!(!in_graph(&outer.meta, &inner.meta));
        drop(inner.lock());
        assert!(!inner.meta.pending(), "the next holder settled it");
        assert!(in_graph(&outer.meta, &inner.meta));
    }

    #[test]
    fn a_settled_edge_waits_beside_the_graph_and_still_closes_a_cycle() {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        crate::config::set_backtraces(false);
        let a = Mutex::named("beside.a", ());
        let b = Mutex::named("beside.b", ());
        for _ in 0..2 {
            let _a = a.lock();
            let _b = b.lock();
        }
        assert!(!b.meta.pending(), "the second holder settled it");
        assert!(in_graph(&a.meta, &b.meta));
        assert!(
            !global().order.lock().contains(&b.meta.info()),
            "b leads nowhere: its edge waits beside the graph"
        );
        // The opposite order: a panic (policy `panic`) at the second lock.
        let _b = b.lock();
        let reported = catch_unwind(AssertUnwindSafe(|| drop(a.lock()))).is_err();
        assert!(reported, "the cycle a → b → a was missed");
    }

    #[test]
    fn a_settled_edge_beside_the_graph_taken_on_in_one_order_is_no_cycle() {
        crate::config::set_backtraces(false);
        let a = Mutex::named("beside-near.a", ());
        let b = Mutex::named("beside-near.b", ());
        let c = Mutex::named("beside-near.c", ());
        for _ in 0..2 {
            let _a = a.lock();
            let _b = b.lock();
        }
        // b now leads to c: a → b enters the graph, in the same order.
        let _a = a.lock();
        let _b = b.lock();
        let _c = c.lock();
        assert!(global().order.lock().contains(&b.meta.info()));
        assert!(in_graph(&a.meta, &b.meta) && in_graph(&b.meta, &c.meta));
    }

    #[test]
    fn a_parked_edge_enters_the_graph_before_its_mutex_leads_to_another() {
        crate::config::set_backtraces(false);
        let outer = Mutex::named("lead.outer", ());
        let inner = Mutex::named("lead.inner", ());
        let next = Mutex::named("lead.next", ());
        let o = outer.lock();
        let i = inner.lock();
        drop(o);
        // Holding only the parked mutex, which now leads to another lock.
        let n = next.lock();
        assert!(!keeps_one());
        assert!(in_graph(&outer.meta, &inner.meta));
        assert!(in_graph(&inner.meta, &next.meta));
        drop(n);
        drop(i);
    }

    #[test]
    fn a_thread_that_waited_for_a_pending_mutex_settles_it_before_leading_from_it() {
        use std::sync::{mpsc, Arc};
        crate::config::set_backtraces(false);
        let outer = Mutex::named("queued.outer", ());
        let inner = Arc::new(Mutex::named("queued.inner", ()));
        let next = Arc::new(Mutex::named("queued.next", ()));
        // Used before: taken under `inner`, its edge is validated, not parked.
        drop(next.lock());
        let o = outer.lock();
        let i = inner.lock();
        assert!(keeps_one());
        let (id_tx, id_rx) = mpsc::channel();
        let (inner2, next2) = (inner.clone(), next.clone());
        let waiter = std::thread::spawn(move || {
            id_tx
                .send(crate::runtime::thread_state::with_thread(|t| t.id()).unwrap())
                .unwrap();
            // Holding a lock of its own, it waits past the grace period
            // into the wait-for graph (a thread that holds nothing never
            // joins it: nothing can wait for it).
            let own = Mutex::named("queued.own", ());
            let _own = own.lock();
            let _i = inner2.lock();
            let _n = next2.lock();
        });
        let waiter_id = id_rx.recv_timeout(DEADLINE).expect("the waiter's id");
        // Released only once the other thread really waits for it. A
        // waiter that never joins the wait-for graph fails the test: the
        // assertion unwinds, dropping `i` and `o`, and the waiter goes on.
        let deadline = Instant::now() + DEADLINE;
        while !global().waits.lock().is_waiting(waiter_id) {
            assert!(
                Instant::now() < deadline,
                "a thread holding a lock waited outside the wait-for graph"
            );
            std::thread::yield_now();
        }
        drop(i);
        drop(o);
        waiter.join().unwrap();
        assert!(!inner.meta.pending());
        assert!(
            in_graph(&outer.meta, &inner.meta),
            "settled before it led to `next`"
        );
        assert!(in_graph(&inner.meta, &next.meta));
    }

    #[test]
    fn a_mutex_first_taken_with_nothing_held_is_settled_at_once() {
        let alone = Mutex::named("settled.alone", ());
        drop(alone.lock());
        assert!(!alone.meta.pending());
        let tried = Mutex::named("settled.tried", ());
        drop(tried.try_lock());
        assert!(!tried.meta.pending());
    }

    #[test]
    fn a_parked_edge_fits_in_48_bytes() {
        assert_eq!(std::mem::size_of::<Option<super::ParkedEdge>>(), 48);
    }

    #[test]
    fn only_mutexes_are_ever_pending() {
        let outer = Mutex::named("kinds.outer", ());
        let rw = crate::RwLock::named("kinds.rw", ());
        let _o = outer.lock();
        let _w = rw.write();
        assert!(!rw.meta.pending());
        assert!(!keeps_one());
        assert!(in_graph(&outer.meta, &rw.meta));
    }

    #[test]
    fn with_two_locks_held_the_edges_are_validated_at_once() {
        crate::config::set_backtraces(false);
        let a = Mutex::named("two.a", ());
        let b = Mutex::named("two.b", ());
        let c = Mutex::named("two.c", ());
        let _a = a.lock();
        let _b = b.lock();
        assert!(keeps_one(), "b parks its edge from a");
        let _c = c.lock();
        assert!(!keeps_one(), "taking c under b put a → b into the graph");
        assert!(in_graph(&a.meta, &b.meta));
        assert!(in_graph(&a.meta, &c.meta));
        assert!(in_graph(&b.meta, &c.meta));
    }

    /// The runtime against a model of live edges, on random runs of two
    /// threads taking turns (in lockstep, so every run is one schedule):
    /// new locks, locks taken under at most one other (so no edge has a
    /// gate), try-locks, releases in any order, dropped locks. Whatever is
    /// parked, a cycle must be reported exactly when the model has one, every
    /// edge into a lock that an edge leaves must be in the graph, a thread
    /// keeps a parked edge only for a lock it holds, and no dropped lock is
    /// left in the graph.
    mod model {
        use std::collections::BTreeSet;
        use std::panic::{catch_unwind, AssertUnwindSafe};
        use std::sync::mpsc::{channel, Receiver, Sender};

        use proptest::prelude::*;
        use proptest::test_runner::RngSeed;

        use super::{in_graph, DEADLINE};
        use crate::runtime::thread_state::with_thread;
        use crate::{Mutex, MutexGuard};

        #[derive(Clone, Debug)]
        enum Step {
            New,
            Lock(bool, usize),
            TryLock(bool, usize),
            Release(bool, usize),
            Drop(usize),
        }

        fn steps() -> impl Strategy<Value = Vec<Step>> {
            let step = prop_oneof![
                2 => Just(Step::New),
                4 => (any::<bool>(), any::<usize>()).prop_map(|(t, i)| Step::Lock(t, i)),
                1 => (any::<bool>(), any::<usize>()).prop_map(|(t, i)| Step::TryLock(t, i)),
                3 => (any::<bool>(), any::<usize>()).prop_map(|(t, k)| Step::Release(t, k)),
                1 => any::<usize>().prop_map(Step::Drop),
            ];
            prop::collection::vec(step, 1..80)
        }

        fn path(edges: &BTreeSet<(usize, usize)>, from: usize, to: usize) -> bool {
            let mut seen = BTreeSet::from([from]);
            let mut todo = vec![from];
            while let Some(a) = todo.pop() {
                if a == to {
                    return true;
                }
                for &(_, b) in edges.range((a, 0)..=(a, usize::MAX)) {
                    if seen.insert(b) {
                        todo.push(b);
                    }
                }
            }
            false
        }

        type Lock = &'static Mutex<()>;

        /// What a worker thread is asked to do; it answers with a bool.
        enum Job {
            /// Take the lock; answers whether a cycle was reported.
            Lock(Lock),
            TryLock(Lock),
            /// Release its `k`-th held lock.
            Release(usize),
            /// Answers whether the edge it keeps, if any, is into a lock it
            /// holds.
            KeepsOnlyHeld,
            Stop,
        }

        fn worker(jobs: Receiver<Job>, answers: Sender<bool>) {
            let mut held: Vec<MutexGuard<'static, ()>> = Vec::new();
            for job in jobs {
                let answer = match job {
                    Job::Lock(lock) => {
                        // A cycle panics in the acquiring thread (policy
                        // `panic`), having added its edge and taken nothing.
                        match catch_unwind(AssertUnwindSafe(|| lock.lock())) {
                            Ok(guard) => {
                                held.push(guard);
                                false
                            }
                            Err(_) => true,
                        }
                    }
                    Job::TryLock(lock) => {
                        held.push(lock.try_lock().expect("free"));
                        false
                    }
                    Job::Release(k) => {
                        drop(held.remove(k));
                        false
                    }
                    Job::KeepsOnlyHeld => with_thread(|t| {
                        t.kept
                            .as_ref()
                            .is_none_or(|k| t.held.iter().any(|e| e.id == k.to))
                    })
                    .unwrap_or(false),
                    Job::Stop => break,
                };
                if answers.send(answer).is_err() {
                    break;
                }
            }
        }

        /// A fixed seed, as in tests/lock_order_model.rs.
        fn config() -> ProptestConfig {
            let mut config = ProptestConfig::with_cases(64);
            if config.rng_seed == RngSeed::Random {
                config.rng_seed = RngSeed::Fixed(0x1eaf);
            }
            config
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn parked_edges_lose_no_cycle(steps in steps()) {
                crate::config::set_backtraces(false);
                let mut workers = Vec::new();
                for _ in 0..2 {
                    let (job_tx, job_rx) = channel();
                    let (answer_tx, answer_rx) = channel();
                    let handle = std::thread::spawn(move || worker(job_rx, answer_tx));
                    workers.push((job_tx, answer_rx, handle));
                }
                let ask = |t: usize, job: Job| -> bool {
                    workers[t].0.send(job).unwrap();
                    // A worker that blocks on a lock the model says is
                    // free (or that died) fails the case instead of
                    // hanging the suite.
                    workers[t].1.recv_timeout(DEADLINE).expect("the worker answered")
                };
                // Locks live until a step drops them; guards borrow them, so
                // they are leaked and freed by hand (never while held).
                let mut locks: Vec<Option<Lock>> = Vec::new();
                // What each thread holds, in its order.
                let mut held: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
                let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
                // Dropped locks, as the graph knew them.
                let mut gone = Vec::new();
                for step in steps {
                    let free: Vec<usize> = (0..locks.len())
                        .filter(|&i| locks[i].is_some() && !held.iter().flatten().any(|&h| h == i))
                        .collect();
                    match step {
                        Step::New => locks.push(Some(Box::leak(Box::new(Mutex::named("model", ()))))),
                        Step::Lock(t, i) if held[t as usize].len() <= 1 && !free.is_empty() => {
                            let t = t as usize;
                            let i = free[i % free.len()];
                            let new: Vec<(usize, usize)> =
                                held[t].iter().map(|&h| (h, i)).filter(|e| !edges.contains(e)).collect();
                            let closes = new.iter().any(|&(h, i)| path(&edges, i, h));
                            let reported = ask(t, Job::Lock(locks[i].unwrap()));
                            edges.extend(new);
                            prop_assert_eq!(reported, closes);
                            if !reported {
                                held[t].push(i);
                            }
                        }
                        Step::TryLock(t, i) if held[t as usize].len() <= 1 && !free.is_empty() => {
                            let i = free[i % free.len()];
                            ask(t as usize, Job::TryLock(locks[i].unwrap()));
                            held[t as usize].push(i);
                        }
                        Step::Release(t, k) if !held[t as usize].is_empty() => {
                            let t = t as usize;
                            let k = k % held[t].len();
                            ask(t, Job::Release(k));
                            held[t].remove(k);
                        }
                        Step::Drop(i) if !free.is_empty() => {
                            let i = free[i % free.len()];
                            let lock = locks[i].take().unwrap();
                            gone.push(lock.meta.info());
                            // SAFETY: leaked above, not held, and its only
                            // reference left the table.
                            drop(unsafe { Box::from_raw(lock as *const Mutex<()> as *mut Mutex<()>) });
                            edges.retain(|&(a, b)| a != i && b != i);
                        }
                        _ => {}
                    }
                    for &(a, b) in &edges {
                        if edges.iter().any(|&(x, _)| x == b) {
                            let (a, b) = (locks[a].unwrap(), locks[b].unwrap());
                            prop_assert!(in_graph(&a.meta, &b.meta), "an edge into a source is parked");
                        }
                    }
                    prop_assert!(
                        crate::runtime::global::global().order.lock().leaves_lead_nowhere(),
                        "an edge waits beside the graph into a lock an edge of the graph leaves"
                    );
                    for t in 0..2 {
                        prop_assert!(ask(t, Job::KeepsOnlyHeld), "thread {} keeps an edge for a lock it released", t);
                    }
                }
                for (t, held) in held.iter().enumerate() {
                    for _ in held {
                        ask(t, Job::Release(0));
                    }
                }
                for (jobs, _, handle) in workers {
                    jobs.send(Job::Stop).unwrap();
                    handle.join().unwrap();
                }
                for lock in locks.into_iter().flatten() {
                    gone.push(lock.meta.info());
                    // SAFETY: as above; no guard is left.
                    drop(unsafe { Box::from_raw(lock as *const Mutex<()> as *mut Mutex<()>) });
                }
                // Memory follows the live locks: none of these is left, not
                // even one that only a parked edge brought in after its drop.
                let graph = crate::runtime::global::global().order.lock();
                for lock in &gone {
                    prop_assert!(!graph.contains(lock), "{:?} is still a node", lock.id);
                }
                prop_assert_eq!(graph.leaf_count(), 0, "edges wait beside the graph for dropped locks");
            }
        }
    }
}
