//! Offline analysis: a stream of [`Event`]s (from a trace file) through the
//! same detectors the live runtime uses — lock order, self-deadlock, wait-for
//! (threads still waiting when the trace ends), and races under
//! happens-before. Memory grows with the number of threads, locks and
//! variables, never with the length of the stream.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::detect::findings;
use crate::detect::lock_order::{LockOrderGraph, OrderGranularity};
use crate::detect::race::{Access, HeldSummary, VarShadow};
use crate::detect::self_deadlock;
use crate::detect::vector_clock::VectorClock;
use crate::detect::wait_for::{WaitForGraph, Waiter};
use crate::event::{
    AccessKind, AcquireMode, Attempt, Event, HeldLock, LockId, LockInfo, LockKind, Site, ThreadId,
    ThreadInfo, VarId, VarInfo,
};
use crate::finding::{Finding, FindingSet, ThreadRef};

/// What one thread is doing, as far as the detectors need it.
struct ThreadTrack {
    info: ThreadInfo,
    held: Vec<HeldLock>,
    /// Re-entries of reentrant locks held, parallel to `held`.
    depth: Vec<u32>,
    clock: VectorClock,
    /// Happens-before from spawn, join and notify only, not from locks: a
    /// lock's release→acquire order is this schedule's accident, while a
    /// join orders every schedule. Tells whether a cycle's halves could
    /// overlap on another schedule.
    structural: VectorClock,
    /// A lock asked for and not yet acquired.
    pending: Option<(LockInfo, AcquireMode, Site)>,
    /// The thread's last event released this lock, which it held this many
    /// times before (a Java `wait` may follow: it releases every hold).
    last_release: Option<(LockId, u32)>,
    /// A monitor released by `wait`, to be held again (as many times as
    /// before) when the thread next acquires it or does anything else.
    rewait: Option<(HeldLock, u32)>,
}

/// Happens-before a lock carries, and who holds it.
struct LockTrack {
    release: VectorClock,
    read_release: VectorClock,
    /// Thread holding it exclusively, if any.
    owner: Option<ThreadId>,
    /// Whose clock `release` is: that thread's own clock already knows it.
    releaser: ThreadId,
}

impl Default for LockTrack {
    fn default() -> Self {
        LockTrack {
            release: VectorClock::new(),
            read_release: VectorClock::new(),
            owner: None,
            releaser: ThreadId(0),
        }
    }
}

/// Streams events through every detector and gathers the findings.
///
/// ```
/// use lockcheck::analysis::Analyzer;
/// use lockcheck::event::*;
/// let lock = |id| LockInfo { id: LockId(id), kind: LockKind::Mutex, name: None, created: Site::caller() };
/// let acq = |t, l| Event::Acquire { thread: ThreadId(t), lock: lock(l), mode: AcquireMode::Exclusive,
///     attempt: Attempt::Blocking, site: Site::caller() };
/// let rel = |t, l| Event::Release { thread: ThreadId(t), lock: lock(l), site: Site::caller() };
/// let mut a = Analyzer::default();
/// for e in [acq(1, 1), acq(1, 2), rel(1, 2), rel(1, 1), acq(2, 2), acq(2, 1), rel(2, 1), rel(2, 2)] {
///     a.event(&e);
/// }
/// let found = a.finish();
/// assert_eq!(found[0].kind, lockcheck::FindingKind::LockOrderCycle);
/// ```
pub struct Analyzer {
    order: LockOrderGraph,
    threads: FxHashMap<ThreadId, ThreadTrack>,
    locks: FxHashMap<LockId, LockTrack>,
    vars: FxHashMap<VarId, (VarInfo, VarShadow)>,
    /// Clocks of notifications, by the condition's lock.
    notified: FxHashMap<LockId, VectorClock>,
    /// Threads that asked for a lock another thread holds, until they get it.
    waits: WaitForGraph,
    findings: FindingSet,
    events: u64,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new(OrderGranularity::Instance)
    }
}

impl Analyzer {
    /// An analyzer checking lock order on instances or classes.
    pub fn new(granularity: OrderGranularity) -> Self {
        Analyzer {
            order: LockOrderGraph::new(granularity),
            threads: FxHashMap::default(),
            locks: FxHashMap::default(),
            vars: FxHashMap::default(),
            notified: FxHashMap::default(),
            waits: WaitForGraph::default(),
            findings: FindingSet::new(),
            events: 0,
        }
    }

    /// Events seen so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    fn thread(&mut self, id: ThreadId) -> &mut ThreadTrack {
        track(&mut self.threads, id)
    }

    /// Feeds one event to the detectors.
    pub fn event(&mut self, event: &Event) {
        self.events += 1;
        if let Some(thread) = event_thread(event) {
            if self.settle_wait(thread, event) {
                // This acquire was the waiting thread taking its monitor back.
                return;
            }
            if !matches!(event, Event::Release { .. } | Event::Wait { .. }) {
                self.thread(thread).last_release = None;
            }
        }
        match event {
            Event::ThreadName { thread, name } => {
                self.thread(*thread).info.name = Some(Arc::clone(name));
            }
            Event::Request {
                thread,
                lock,
                mode,
                site,
            } => self.request(*thread, lock, *mode, *site),
            Event::Acquire {
                thread,
                lock,
                mode,
                attempt,
                site,
            } => self.acquire(*thread, lock, *mode, *attempt, *site),
            Event::Release { thread, lock, site } => self.release(*thread, lock, *site),
            Event::Read { thread, var, site } => self.access(*thread, var, AccessKind::Read, *site),
            Event::Write { thread, var, site } => {
                self.access(*thread, var, AccessKind::Write, *site)
            }
            Event::Spawn { parent, child, .. } => {
                let p = self.thread(*parent);
                let start = (p.clock.clone(), p.structural.clone());
                p.clock.tick(parent.0);
                p.structural.tick(parent.0);
                let c = self.thread(*child);
                c.clock.join(&start.0);
                c.clock.tick(child.0);
                c.structural.join(&start.1);
                c.structural.tick(child.0);
            }
            Event::Join { parent, child, .. } => {
                let end = {
                    let c = self.thread(*child);
                    let end = (c.clock.clone(), c.structural.clone());
                    c.clock.tick(child.0);
                    c.structural.tick(child.0);
                    end
                };
                let p = self.thread(*parent);
                p.clock.join(&end.0);
                p.structural.join(&end.1);
            }
            Event::Notify { thread, lock, .. } => {
                let t = self.thread(*thread);
                let now = t.clock.clone();
                t.clock.tick(thread.0);
                self.notified.entry(lock.id).or_default().join(&now);
            }
            Event::Wait { thread, lock, site } => self.wait(*thread, lock, *site),
        }
    }

    /// A thread asks for a lock. When another thread holds it, the asker
    /// waits: if that closes a cycle of waiting threads, the trace shows a
    /// deadlock right here.
    fn request(&mut self, thread: ThreadId, lock: &LockInfo, mode: AcquireMode, site: Site) {
        let owner = self.locks.get(&lock.id).and_then(|l| l.owner);
        let t = track(&mut self.threads, thread);
        t.pending = Some((*lock, mode, site));
        if owner.is_none_or(|o| o == thread) {
            return;
        }
        let waiter = Waiter {
            thread: t.info.clone(),
            lock: *lock,
            mode,
            site,
            held: t.held.clone(),
            backtrace: None,
        };
        if let Some(cycle) = self.waits.block(waiter) {
            let order = self.order.order_behind(&cycle);
            self.findings.add(findings::deadlock(
                &cycle,
                order.as_ref(),
                findings::DeadlockSeen::InTrace,
            ));
        }
    }

    /// A Java `wait(l)`: releases every hold of `l` (some dialects log a
    /// `rel(l)` just before it, for the monitor exit) until the thread holds
    /// it again.
    fn wait(&mut self, thread: ThreadId, lock: &LockInfo, site: Site) {
        let t = self.thread(thread);
        let before_rel = match t.last_release {
            Some((id, count)) if id == lock.id => Some(count),
            _ => None,
        };
        let now = t.held.iter().position(|h| h.lock.id == lock.id);
        let holds_now = now.map_or(0, |i| t.depth[i] + 1);
        let total = before_rel.unwrap_or(holds_now).max(holds_now);
        let held = match now {
            Some(i) => {
                t.depth.remove(i);
                t.held.remove(i)
            }
            None => HeldLock {
                lock: *lock,
                mode: AcquireMode::Exclusive,
                site,
            },
        };
        if now.is_some() {
            let clock = t.clock.clone();
            t.clock.tick(thread.0);
            let track = self.locks.entry(lock.id).or_default();
            track.owner = None;
            track.release = clock;
        }
        if total > 0 {
            self.thread(thread).rewait = Some((held, total));
        }
    }

    /// A thread that waited holds its monitor again at its next event: its
    /// own acquire of it (which restores every hold) or anything else.
    /// Returns true when `event` is that acquire, consumed here.
    fn settle_wait(&mut self, thread: ThreadId, event: &Event) -> bool {
        let Some((held, count)) = self.threads.get(&thread).and_then(|t| t.rewait) else {
            return false;
        };
        let is_acquire = match event {
            Event::Request { lock, .. } if lock.id == held.lock.id => return false,
            Event::Acquire { lock, .. } => lock.id == held.lock.id,
            _ => false,
        };
        let t = self.thread(thread);
        t.rewait = None;
        t.pending = None;
        self.take_back(thread, held, count);
        is_acquire
    }

    /// Holds `held` again, `count` times, ordered after the notifications
    /// and the monitor's holders in between.
    fn take_back(&mut self, thread: ThreadId, held: HeldLock, count: u32) {
        let notified = self
            .notified
            .get(&held.lock.id)
            .cloned()
            .unwrap_or_default();
        let track = self.locks.entry(held.lock.id).or_default();
        track.owner = Some(thread);
        let release = track.release.clone();
        let t = self.thread(thread);
        t.clock.join(&notified);
        t.clock.join(&release);
        t.held.push(held);
        t.depth.push(count.saturating_sub(1));
    }

    fn acquire(
        &mut self,
        thread: ThreadId,
        lock: &LockInfo,
        mode: AcquireMode,
        attempt: Attempt,
        site: Site,
    ) {
        self.waits.unblock(thread);
        let t = track(&mut self.threads, thread);
        t.pending = None;
        if lock.kind == LockKind::ReentrantMutex {
            if let Some(i) = t.held.iter().position(|h| h.lock.id == lock.id) {
                t.depth[i] += 1;
                return;
            }
        }
        let owner = self.locks.get(&lock.id).and_then(|l| l.owner);
        if let Some(other) = owner.filter(|o| *o != thread) {
            // Another thread's exclusive hold: the trace is inconsistent.
            let what = format!(
                "acquired (trace says) while {} holds",
                thread_ref(&self.threads, other)
            );
            let info = track(&mut self.threads, thread).info.clone();
            self.findings.add(findings::lock_misuse(
                &info,
                lock,
                &what,
                &[("acquired here", site)],
            ));
        }
        // Borrow the maps field by field: the thread's record, the lock's,
        // the graph and the findings are disjoint, so nothing is copied.
        let t = track(&mut self.threads, thread);
        let new = HeldLock {
            lock: *lock,
            mode,
            site,
        };
        if attempt == Attempt::Blocking && !t.held.is_empty() {
            if let Some((conflict, _)) = self_deadlock::check(&t.held, lock, mode) {
                self.findings.add(findings::self_deadlock(
                    &t.info, &t.held, lock, mode, site, conflict, &None,
                ));
            } else {
                let cycles = self.order.on_acquire_at(
                    &t.info,
                    &t.held,
                    &new,
                    Some(&t.structural),
                    &mut || None,
                );
                for cycle in cycles {
                    self.findings.add(findings::lock_order_cycle(&cycle));
                }
            }
        }
        let lock_track = self.locks.entry(lock.id).or_default();
        if mode.blocked_by(mode) {
            lock_track.owner = Some(thread);
        }
        if lock_track.releaser != thread {
            t.clock.join(&lock_track.release);
        }
        if matches!(mode, AcquireMode::Exclusive | AcquireMode::Upgradable) {
            t.clock.join(&lock_track.read_release);
        }
        t.held.push(new);
        t.depth.push(0);
    }

    fn release(&mut self, thread: ThreadId, lock: &LockInfo, site: Site) {
        let t = track(&mut self.threads, thread);
        let Some(i) = t.held.iter().rposition(|h| h.lock.id == lock.id) else {
            let info = t.info.clone();
            self.findings.add(findings::lock_misuse(
                &info,
                lock,
                "released a lock it does not hold:",
                &[("released here", site)],
            ));
            return;
        };
        t.last_release = Some((lock.id, t.depth[i] + 1));
        if t.depth[i] > 0 {
            t.depth[i] -= 1;
            return;
        }
        let held = t.held.remove(i);
        t.depth.remove(i);
        let lock_track = self.locks.entry(lock.id).or_default();
        if lock_track.owner == Some(thread) {
            lock_track.owner = None;
        }
        match held.mode {
            AcquireMode::Exclusive => {
                lock_track.release.clone_from(&t.clock);
                lock_track.releaser = thread;
                lock_track.read_release.clear();
            }
            _ => lock_track.read_release.join(&t.clock),
        }
        t.clock.tick(thread.0);
    }

    fn access(&mut self, thread: ThreadId, var: &VarInfo, kind: AccessKind, site: Site) {
        let t = track(&mut self.threads, thread);
        let (_, shadow) = self
            .vars
            .entry(var.id)
            .or_insert_with(|| (*var, VarShadow::default()));
        let now = crate::detect::vector_clock::Epoch::of(thread, &t.clock);
        if shadow.unchanged(kind, now) {
            return;
        }
        let access = Access {
            thread,
            kind,
            site,
            held: HeldSummary::new(t.held.iter().copied()),
            in_update: false,
        };
        let race = match kind {
            AccessKind::Read => shadow.read(&t.clock, access),
            AccessKind::Write => shadow.write(&t.clock, access),
        };
        if let Some(race) = race {
            let name = |id: ThreadId| thread_ref(&self.threads, id);
            let finding = findings::data_race(var, &race, &name, &None);
            self.findings.add(finding);
        }
    }

    /// Ends the stream: threads still waiting for a lock are checked for a
    /// deadlock, then every finding is returned.
    pub fn finish(mut self) -> Vec<Finding> {
        // Threads still asking at the end that were not waiting on a holder
        // when they asked (the holder came later): they wait now.
        let mut graph = std::mem::take(&mut self.waits);
        let mut waiting: Vec<&ThreadTrack> = self
            .threads
            .values()
            .filter(|t| t.pending.is_some() && !graph.is_waiting(t.info.id))
            .collect();
        waiting.sort_by_key(|t| t.info.id);
        let mut deadlocks = Vec::new();
        for t in waiting {
            let Some((lock, mode, site)) = t.pending else {
                continue;
            };
            let waiter = Waiter {
                thread: t.info.clone(),
                lock,
                mode,
                site,
                held: t.held.clone(),
                backtrace: None,
            };
            if let Some(cycle) = graph.block(waiter) {
                deadlocks.push(cycle);
            }
        }
        for cycle in deadlocks {
            let order = self.order.order_behind(&cycle);
            self.findings.add(findings::deadlock(
                &cycle,
                order.as_ref(),
                findings::DeadlockSeen::AtTraceEnd,
            ));
        }
        self.findings.into_vec()
    }

    /// The lock-order graph built so far (for `lockcheck graph`).
    pub fn order_graph(&self) -> &LockOrderGraph {
        &self.order
    }
}

/// The track of thread `id`, started on first sight.
fn track(threads: &mut FxHashMap<ThreadId, ThreadTrack>, id: ThreadId) -> &mut ThreadTrack {
    threads.entry(id).or_insert_with(|| {
        let mut clock = VectorClock::new();
        clock.set(id.0, 1);
        ThreadTrack {
            info: ThreadInfo { id, name: None },
            held: Vec::new(),
            depth: Vec::new(),
            structural: clock.clone(),
            clock,
            pending: None,
            last_release: None,
            rewait: None,
        }
    })
}

/// Thread `id` as a report names it.
fn thread_ref(threads: &FxHashMap<ThreadId, ThreadTrack>, id: ThreadId) -> ThreadRef {
    match threads.get(&id) {
        Some(t) => ThreadRef::from(&t.info),
        None => ThreadRef {
            id: id.0,
            name: None,
        },
    }
}

/// The thread an event is about (the acting thread).
fn event_thread(event: &Event) -> Option<ThreadId> {
    match event {
        Event::ThreadName { .. } => None,
        Event::Request { thread, .. }
        | Event::Acquire { thread, .. }
        | Event::Release { thread, .. }
        | Event::Read { thread, .. }
        | Event::Write { thread, .. }
        | Event::Wait { thread, .. }
        | Event::Notify { thread, .. } => Some(*thread),
        Event::Spawn { parent, .. } | Event::Join { parent, .. } => Some(*parent),
    }
}
