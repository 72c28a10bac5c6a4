//! Offline analysis: a stream of [`Event`]s (from a trace file) through the
//! same detectors the live runtime uses — lock order, self-deadlock, wait-for
//! (threads still waiting when the trace ends), hold-and-wait (a lock held
//! across a wait its waker needed, as a lock-order edge; see
//! `hold_and_wait`), and races under happens-before. Memory grows with the number of threads, locks and
//! variables, never with the length of the stream.

use std::sync::Arc;

use crate::fx_hash::FxHashMap;

use crate::detect::findings;
use crate::detect::lock_order::{Cycle, LockOrderGraph, OrderGranularity};
use crate::detect::lockset::LocksetShadow;
use crate::detect::race::{Access, VarShadow};
use crate::detect::self_deadlock;
use crate::detect::vector_clock::VectorClock;
use crate::detect::wait_for::{WaitForGraph, Waiter};
use crate::event::{
    AccessKind, AcquireMode, Attempt, Event, HeldLock, LockId, LockInfo, LockKind, Site, ThreadId,
    VarId, VarInfo,
};
use crate::finding::{Finding, FindingSet, ThreadRef};

mod hold_and_wait;
mod known;
mod threads;
use hold_and_wait::HoldAndWait;
use threads::{HandOff, ThreadTable, ThreadTrack};

/// A barrier's round under way: the threads that arrived, and what their
/// arrivals carry to every thread of the round once the last arrives.
#[derive(Default)]
struct BarrierRound {
    arrived: Vec<ThreadId>,
    clock: HandOff,
}

/// Happens-before a lock carries, and who holds it.
struct LockTrack {
    release: VectorClock,
    read_release: VectorClock,
    /// The thread holding it in a mode that excludes its own kind (a
    /// write, or an upgradable read), and that mode.
    owner: Option<(ThreadId, AcquireMode)>,
    /// Read holds of it, by every thread (a writer waits for all of them).
    shared: u32,
    /// Whose clock `release` is: that thread's own clock already knows it.
    releaser: ThreadId,
    /// The lock, from its first acquisition (for edges made later in its
    /// name, by `hold_and_wait`).
    info: Option<LockInfo>,
}

impl Default for LockTrack {
    fn default() -> Self {
        LockTrack {
            release: VectorClock::new(),
            read_release: VectorClock::new(),
            owner: None,
            shared: 0,
            releaser: ThreadId(0),
            info: None,
        }
    }
}

impl LockTrack {
    /// Whether `thread`, asking for the lock in `mode`, must wait for
    /// another thread: an owner in a conflicting mode, or (for a writer)
    /// readers other than itself (`own_reads` of the read holds are its own).
    fn excludes(&self, thread: ThreadId, mode: AcquireMode, own_reads: u32) -> bool {
        let by_owner = self
            .owner
            .is_some_and(|(o, held)| o != thread && mode.blocked_by(held));
        let by_readers = self.shared > own_reads && mode.blocked_by(AcquireMode::Read);
        by_owner || by_readers
    }
}

/// What the detectors keep of one shared variable.
/// The rarely used parts are boxed: every access looks its variable up, and
/// a small entry keeps more variables in cache.
struct VarTrack {
    info: VarInfo,
    shadow: VarShadow,
    guard: Option<Box<LockInfo>>,
    /// Made on the first access when the lockset check is on.
    lockset: Option<Box<LocksetShadow>>,
}

impl VarTrack {
    fn new(info: VarInfo) -> Self {
        VarTrack {
            info,
            shadow: VarShadow::default(),
            guard: None,
            lockset: None,
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
    threads: ThreadTable,
    locks: FxHashMap<LockId, LockTrack>,
    vars: FxHashMap<VarId, VarTrack>,
    /// Clocks of notifications, by the condition.
    notified: FxHashMap<LockId, VectorClock>,
    /// Clocks of messages sent and not yet received.
    messages: FxHashMap<u64, HandOff>,
    /// Barrier rounds under way, by barrier.
    barriers: FxHashMap<LockId, BarrierRound>,
    /// Run the lockset check (Eraser) too.
    lockset: bool,
    /// Keep dropped locks in the order graph (to draw the whole run's graph).
    keep_dropped: bool,
    /// Threads that asked for a lock another thread holds, until they get it.
    waits: WaitForGraph,
    /// Waits, notifications and what the notifiers took before them.
    hold_and_wait: HoldAndWait,
    findings: FindingSet,
    /// Data-race findings by their two sites (in a fixed order): where a
    /// race between them already is in `findings`.
    race_findings: FxHashMap<(Site, Site), usize>,
    events: u64,
    /// The trace is of a recording cut short ([`Event::Incomplete`]).
    incomplete: bool,
    /// Locks dropped so far: the order graph may have lost what the
    /// threads' [`known::KnownEdges`] say it knows.
    drops: u64,
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
            threads: ThreadTable::default(),
            locks: FxHashMap::default(),
            vars: FxHashMap::default(),
            notified: FxHashMap::default(),
            messages: FxHashMap::default(),
            barriers: FxHashMap::default(),
            lockset: false,
            keep_dropped: false,
            waits: WaitForGraph::default(),
            hold_and_wait: HoldAndWait::default(),
            findings: FindingSet::new(),
            race_findings: FxHashMap::default(),
            incomplete: false,
            events: 0,
            drops: 0,
        }
    }

    /// Also runs the lockset check (Eraser), as `--lockset` does live: its
    /// findings are labelled as predicted races.
    pub fn with_lockset(mut self, on: bool) -> Self {
        self.lockset = on;
        self
    }

    /// Keeps every lock in the order graph after its drop event, so that
    /// [`Self::order_graph`] shows the whole run (`lockcheck graph`) rather
    /// than the locks still alive at the trace's end.
    pub fn keeping_dropped_locks(mut self) -> Self {
        self.keep_dropped = true;
        self
    }

    /// Events seen so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether the trace said it is an incomplete recording
    /// ([`Event::Incomplete`]): its findings are those of what reached it,
    /// and a run with none was not checked whole.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }

    fn thread(&mut self, id: ThreadId) -> &mut ThreadTrack {
        self.threads.get_mut(id)
    }

    /// Feeds one event to the detectors.
    pub fn event(&mut self, event: &Event) {
        self.events = self.events.saturating_add(1);
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
            Event::Incomplete => self.incomplete = true,
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
            Event::Read {
                thread,
                var,
                site,
                update,
            } => self.access(*thread, var, AccessKind::Read, *site, *update),
            Event::Write {
                thread,
                var,
                site,
                update,
            } => self.access(*thread, var, AccessKind::Write, *site, *update),
            Event::GuardedBy { var, lock } => {
                self.vars
                    .entry(var.id)
                    .or_insert_with(|| VarTrack::new(var.clone()))
                    .guard = Some(Box::new(lock.clone()));
            }
            Event::ChangeMode {
                thread,
                lock,
                from,
                to,
                ..
            } => self.change_mode(*thread, lock, *from, *to),
            Event::Send {
                thread,
                message,
                site,
            } => {
                let t = self.threads.get_mut(*thread);
                self.hold_and_wait.send(&t.info, &t.held, *message, *site);
                let sent = t.hand_off();
                self.messages.insert(*message, sent);
            }
            Event::Receive {
                thread,
                message,
                site,
                blocking,
            } => {
                if let Some(sent) = self.messages.remove(message) {
                    self.thread(*thread).receive(&sent);
                }
                let t = self.threads.get_mut(*thread);
                let locks = &self.locks;
                let cycles = self.hold_and_wait.receive(
                    &t.info,
                    &t.held,
                    *message,
                    *site,
                    *blocking,
                    &mut self.order,
                    live_lock(locks),
                );
                add_cycles(&mut self.findings, cycles);
            }
            Event::End { thread } => self.end(*thread),
            Event::LockDropped { lock, .. } => {
                self.drops += 1;
                self.locks.remove(&lock.id);
                self.hold_and_wait.forget(lock.id);
                if !self.keep_dropped {
                    self.order.remove_lock(lock.id);
                }
            }
            Event::VarDropped { var, .. } => {
                self.vars.remove(&var.id);
            }
            Event::Spawn { parent, child, .. } => self.threads.spawn(*parent, *child),
            Event::Join {
                parent,
                child,
                site,
            } => {
                self.join_order(*parent, *child, *site);
                self.threads.join(*parent, *child);
            }
            Event::Arrive {
                thread,
                barrier,
                parties,
                site,
            } => self.arrive(*thread, *barrier, *parties, *site),
            Event::RoomWait {
                thread,
                channel,
                site,
            } => {
                let t = self.threads.get_mut(*thread);
                self.hold_and_wait
                    .room_wait(&t.info, &t.held, *channel, *site);
            }
            Event::Yield { thread, site } => {
                let t = self.threads.get_mut(*thread);
                for held in t.held.iter().filter(|h| !h.lock.kind.is_async()) {
                    self.findings
                        .add(findings::held_across_await(&t.info, held, *site));
                }
            }
            Event::RoomMade {
                thread,
                channel,
                site,
            } => {
                let t = self.threads.get_mut(*thread);
                let locks = &self.locks;
                let cycles = self.hold_and_wait.room_made(
                    &t.info,
                    &t.held,
                    *channel,
                    *site,
                    &mut self.order,
                    live_lock(locks),
                );
                add_cycles(&mut self.findings, cycles);
            }
            Event::Notify {
                thread,
                condition,
                site,
            } => {
                let t = self.threads.get_mut(*thread);
                let locks = &self.locks;
                let cycles = self.hold_and_wait.notify(
                    &t.info,
                    &t.held,
                    *condition,
                    *site,
                    &mut self.order,
                    live_lock(locks),
                );
                let now = t.clock.clone();
                t.clock.tick(t.slot);
                self.notified.entry(*condition).or_default().join(&now);
                add_cycles(&mut self.findings, cycles);
            }
            Event::Wait {
                thread,
                lock,
                condition,
                site,
                timed,
            } => self.wait(*thread, lock, *condition, *site, *timed),
        }
    }

    /// A thread asks for a lock. When another thread holds it, the asker
    /// waits: if that closes a cycle of waiting threads, the trace shows a
    /// deadlock right here.
    fn request(&mut self, thread: ThreadId, lock: &LockInfo, mode: AcquireMode, site: Site) {
        self.validate(thread, lock, mode, site);
        let t = self.threads.get_mut(thread);
        t.pending = Some((lock.clone(), mode, site));
        let own_reads = t
            .held
            .iter()
            .filter(|h| h.lock.id == lock.id && h.mode.is_shared())
            .count() as u32;
        let waits = self
            .locks
            .get(&lock.id)
            .is_some_and(|l| l.excludes(thread, mode, own_reads));
        if !waits {
            return;
        }
        let waiter = Waiter {
            thread: t.info.clone(),
            lock: lock.clone(),
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
    fn wait(
        &mut self,
        thread: ThreadId,
        lock: &LockInfo,
        condition: LockId,
        site: Site,
        timed: bool,
    ) {
        let t = self.thread(thread);
        let before_rel = match t.last_release {
            Some((id, count)) if id == lock.id => Some(count),
            _ => None,
        };
        let now = t.held.iter().position(|h| h.lock.id == lock.id);
        let holds_now = now.map_or(0, |i| t.depth[i].saturating_add(1));
        let total = before_rel.unwrap_or(holds_now).max(holds_now);
        let held = match now {
            Some(i) => {
                t.depth.remove(i);
                t.summary = None;
                t.held.remove(i)
            }
            None => HeldLock {
                lock: lock.clone(),
                mode: AcquireMode::Exclusive,
                site,
            },
        };
        if now.is_some() {
            let clock = t.clock.clone();
            t.clock.tick(t.slot);
            let track = self.locks.entry(lock.id).or_default();
            track.owner = None;
            track.release = clock;
        }
        if total > 0 {
            let t = self.threads.get_mut(thread);
            if !timed {
                // A timed wait ends by itself: no hold-and-wait.
                self.hold_and_wait
                    .wait(&t.info, condition, &held.lock, &t.held, site);
            }
            t.rewait = Some((held, total, condition));
        }
    }

    /// A thread that waited holds its monitor again at its next event: its
    /// own acquire of it (which restores every hold) or anything else.
    /// Returns true when `event` is that acquire, consumed here.
    fn settle_wait(&mut self, thread: ThreadId, event: &Event) -> bool {
        let Some((held, count, condition)) =
            self.threads.get(thread).and_then(|t| t.rewait.clone())
        else {
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
        self.take_back(thread, held, count, condition);
        is_acquire
    }

    /// Holds `held` again, `count` times, ordered after the notifications
    /// and the monitor's holders in between.
    fn take_back(&mut self, thread: ThreadId, held: HeldLock, count: u32, condition: LockId) {
        let notified = self.notified.get(&condition).cloned().unwrap_or_default();
        let track = self.locks.entry(held.lock.id).or_default();
        track.owner = Some((thread, held.mode));
        let release = track.release.clone();
        let t = self.threads.get_mut(thread);
        t.clock.join(&notified);
        t.clock.join(&release);
        t.held.push(held);
        t.summary = None;
        t.depth.push(count.saturating_sub(1));
        self.hold_and_wait.woken(thread);
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
        let t = self.threads.get_mut(thread);
        let requested = t.pending.take().is_some_and(|(p, _, _)| p.id == lock.id);
        if lock.kind == LockKind::ReentrantMutex {
            if let Some(i) = t.held.iter().position(|h| h.lock.id == lock.id) {
                // Counts from a trace saturate: 2^32 re-entries are a
                // hostile trace, not a reason to panic.
                t.depth[i] = t.depth[i].saturating_add(1);
                return;
            }
        }
        if attempt == Attempt::Blocking && !requested {
            self.validate(thread, lock, mode, site);
        }
        // The maps are borrowed field by field: one lookup of the lock.
        let lock_track = self.locks.entry(lock.id).or_default();
        if let Some((other, _)) = lock_track
            .owner
            .filter(|(o, held)| *o != thread && mode.blocked_by(*held) && !self.incomplete)
        {
            // Another thread's exclusive hold: the trace is inconsistent.
            // (In an incomplete recording it is what a holder whose release
            // was lost looks like, and is no finding.)
            let what = format!(
                "acquired (trace says) while {} holds",
                self.threads.name(other)
            );
            let info = &self.threads.get_mut(thread).info;
            self.findings.add(findings::lock_misuse(
                info,
                lock,
                &what,
                &[("acquired here", site)],
            ));
        }
        let t = self.threads.get_mut(thread);
        let new = HeldLock {
            lock: lock.clone(),
            mode,
            site,
        };
        if lock_track.info.is_none() {
            lock_track.info = Some(lock.clone());
        }
        if mode.blocked_by(mode) {
            lock_track.owner = Some((thread, mode));
        }
        if mode.is_shared() {
            lock_track.shared = lock_track.shared.saturating_add(1);
        }
        if lock_track.releaser != thread {
            t.clock.join(&lock_track.release);
        }
        // Most locks are never read-held: their read releases are empty,
        // and a join with them a call that changes nothing.
        if matches!(mode, AcquireMode::Exclusive | AcquireMode::Upgradable)
            && !lock_track.read_release.is_empty()
        {
            t.clock.join(&lock_track.read_release);
        }
        if attempt == Attempt::Blocking {
            self.hold_and_wait.took(thread, &new);
        }
        t.held.push(new);
        t.summary = None;
        t.depth.push(0);
    }

    /// What lockdep checks before a blocking acquisition: a lock this
    /// thread already holds in a conflicting mode (a self-deadlock), else the
    /// order edges from every held lock, and the cycles they close.
    fn validate(&mut self, thread: ThreadId, lock: &LockInfo, mode: AcquireMode, site: Site) {
        // Borrow the maps field by field: the thread's record, the graph and
        // the findings are disjoint, so nothing is copied.
        let t = self.threads.get_mut(thread);
        if t.held.is_empty() {
            return;
        }
        let upgrade = mode == AcquireMode::Exclusive
            && t.held
                .iter()
                .any(|h| h.lock.id == lock.id && h.mode == AcquireMode::Upgradable);
        if upgrade {
            // An upgrade waits for the other readers; it adds no order edge.
            if self_deadlock::check_upgrade(&t.held, lock).is_some() {
                let conflict = self_deadlock::SelfConflict::Certain;
                self.findings.add(findings::self_deadlock(
                    &t.info, &t.held, lock, mode, site, conflict, &None,
                ));
            }
            return;
        }
        if let Some((conflict, _)) = self_deadlock::check(&t.held, lock, mode) {
            self.findings.add(findings::self_deadlock(
                &t.info, &t.held, lock, mode, site, conflict, &None,
            ));
            return;
        }
        // Edges this thread took before, which the graph knew then, are not
        // asked of it again (see `known`): callgrind, the analyze bench's
        // locks trace of 200k events, 1,159 -> 1,121 instructions an event
        // (most of the rest there the cycle searches of the edges new in
        // it); of 2M events, with the STD reader's line memo too, 1,202 ->
        // 701; criterion, the events analysed from memory (no parsing),
        // 8.6 -> 15.2 M events/s.
        let remember = self.order.granularity() == OrderGranularity::Instance;
        if remember && t.known.knows(&t.held, lock, mode, self.drops) {
            return;
        }
        let new = HeldLock {
            lock: lock.clone(),
            mode,
            site,
        };
        let cycles =
            self.order
                .on_acquire_at(&t.info, &t.held, &new, Some(&t.structural), &mut || None);
        if remember && self.order.knows_acquire(t.info.id, &t.held, &new) {
            t.known.insert(&t.held, lock, mode);
        }
        add_cycles(&mut self.findings, cycles);
    }

    /// An upgrade or downgrade of a held lock: a downgrade from a write
    /// releases what the writer did to the readers it lets in; an upgrade
    /// waited for every reader, so it acquires their releases.
    fn change_mode(
        &mut self,
        thread: ThreadId,
        lock: &LockInfo,
        from: AcquireMode,
        to: AcquireMode,
    ) {
        let t = self.threads.get_mut(thread);
        let Some(i) = t
            .held
            .iter()
            .rposition(|h| h.lock.id == lock.id && h.mode == from)
        else {
            return;
        };
        t.held[i].mode = to;
        t.summary = None;
        let lock_track = self.locks.entry(lock.id).or_default();
        lock_track.owner = to.blocked_by(to).then_some((thread, to));
        if from.is_shared() {
            lock_track.shared = lock_track.shared.saturating_sub(1);
        }
        if to.is_shared() {
            lock_track.shared = lock_track.shared.saturating_add(1);
        }
        if from == AcquireMode::Exclusive {
            lock_track.release.clone_from(&t.clock);
            lock_track.releaser = thread;
            lock_track.read_release.clear();
            t.clock.tick(t.slot);
        } else if to == AcquireMode::Exclusive {
            t.clock.join(&lock_track.read_release);
        }
    }

    /// A thread ended: what it still holds was leaked and stays locked.
    /// A thread arrives at a barrier of `parties`: its clocks join the
    /// round's; the last arrival lets the round go, every thread of it
    /// ordered after every arrival, and each lock one of them held on
    /// arriving ordered before what the others took on their way there
    /// (see `hold_and_wait`). A thread that arrives twice in one round (a
    /// broken trace) counts once, so a round never holds more entries
    /// than there are threads.
    fn arrive(&mut self, thread: ThreadId, barrier: LockId, parties: u64, site: Site) {
        let t = self.threads.get_mut(thread);
        let mine = t.hand_off();
        let info = t.info.clone();
        self.hold_and_wait.arrive(&info, &t.held, barrier, site);
        let round = self.barriers.entry(barrier).or_default();
        round.clock.join(&mine);
        if !round.arrived.contains(&thread) {
            round.arrived.push(thread);
        }
        if (round.arrived.len() as u64) < parties {
            return;
        }
        let Some(round) = self.barriers.remove(&barrier) else {
            return;
        };
        for id in &round.arrived {
            self.threads.get_mut(*id).receive(&round.clock);
        }
        let locks = &self.locks;
        let cycles = self.hold_and_wait.round_ends(
            barrier,
            &round.arrived,
            &mut self.order,
            live_lock(locks),
        );
        add_cycles(&mut self.findings, cycles);
    }

    /// A join while holding locks: ordered before what the joined thread
    /// took (see `hold_and_wait`).
    fn join_order(&mut self, parent: ThreadId, child: ThreadId, site: Site) {
        let child_info = self.threads.get_mut(child).info.clone();
        let t = self.threads.get_mut(parent);
        let locks = &self.locks;
        let cycles = self.hold_and_wait.joined(
            &t.info,
            &t.held,
            &child_info,
            site,
            &mut self.order,
            live_lock(locks),
        );
        add_cycles(&mut self.findings, cycles);
    }

    fn end(&mut self, thread: ThreadId) {
        // An ended thread waits for nothing (one broken out of a deadlock
        // asked for a lock it never got).
        self.waits.unblock(thread);
        self.hold_and_wait.end(thread);
        let t = self.threads.get_mut(thread);
        t.pending = None;
        let held = std::mem::take(&mut t.held);
        t.summary = None;
        t.depth.clear();
        let info = t.info.clone();
        for h in &held {
            self.findings.add(findings::exited_holding(&info, h));
            if let Some(l) = self.locks.get_mut(&h.lock.id) {
                if l.owner.is_some_and(|(o, _)| o == thread) {
                    l.owner = None;
                }
            }
        }
    }

    fn release(&mut self, thread: ThreadId, lock: &LockInfo, site: Site) {
        let t = self.threads.get_mut(thread);
        let Some(i) = t.held.iter().rposition(|h| h.lock.id == lock.id) else {
            let info = t.info.clone();
            self.findings
                .add(findings::released_not_held(&info, lock, site));
            return;
        };
        t.last_release = Some((lock.id, t.depth[i].saturating_add(1)));
        if t.depth[i] > 0 {
            t.depth[i] -= 1;
            return;
        }
        // Most releases are of the innermost lock: a pop, not a call that
        // moves nothing.
        let held = if i + 1 == t.held.len() {
            t.depth.pop();
            t.held.pop().expect("i is in range")
        } else {
            t.depth.remove(i);
            t.held.remove(i)
        };
        t.summary = None;
        let lock_track = self.locks.entry(lock.id).or_default();
        if lock_track.owner.is_some_and(|(o, _)| o == thread) {
            lock_track.owner = None;
        }
        if held.mode.is_shared() {
            lock_track.shared = lock_track.shared.saturating_sub(1);
        }
        match held.mode {
            AcquireMode::Exclusive => {
                lock_track.release.clone_from(&t.clock);
                lock_track.releaser = thread;
                lock_track.read_release.clear();
            }
            _ => lock_track.read_release.join(&t.clock),
        }
        t.clock.tick(t.slot);
    }

    fn access(
        &mut self,
        thread: ThreadId,
        var: &VarInfo,
        kind: AccessKind,
        site: Site,
        update: bool,
    ) {
        let t = self.threads.get_mut(thread);
        let v = self
            .vars
            .entry(var.id)
            .or_insert_with(|| VarTrack::new(var.clone()));
        let record = |t: &mut ThreadTrack| Access {
            thread,
            // Its slot in the thread table, not its id (a name, of any size).
            slot: t.slot,
            kind,
            site,
            held: t.held_summary(),
            in_update: update,
        };
        if let Some(guard) = &v.guard {
            if !t.held.iter().any(|h| h.lock.id == guard.id) {
                let finding = findings::unguarded_access(
                    &v.info,
                    guard,
                    &record(t),
                    ThreadRef::from(&t.info),
                    &None,
                );
                self.findings.add(finding);
            }
        }
        let now = crate::detect::vector_clock::Epoch::of(t.slot, &t.clock);
        let race = if v.shadow.unchanged(kind, now) {
            None
        } else {
            let access = record(t);
            match kind {
                AccessKind::Read => v.shadow.read(&t.clock, access),
                AccessKind::Write => v.shadow.write(&t.clock, access),
            }
        };
        if self.lockset {
            // A write is protected only by locks that exclude other writers.
            let held: Vec<LockId> = t
                .held
                .iter()
                .filter(|h| kind == AccessKind::Read || h.mode.blocked_by(h.mode))
                .map(|h| h.lock.id)
                .collect();
            let lockset = v.lockset.get_or_insert_with(Box::default);
            if lockset.access(thread, kind, &held) {
                let finding =
                    findings::predicted_race(&v.info, &record(t), ThreadRef::from(&t.info), &None);
                self.findings.add(finding);
            }
        }
        if let Some(race) = race {
            // A race between two sites already reported only counts again
            // (what `FindingSet::add` would do with it): one lookup instead
            // of a finding built, its text and key formatted, to be merged
            // away. On issue 16's trace (8 threads, 100 variables) most
            // accesses race with a pair of sites seen before.
            let pair = site_pair(race.current.site, race.previous.site);
            if let Some(&at) = self.race_findings.get(&pair) {
                if self.findings.repeat(at) {
                    return;
                }
            }
            let name = |id: ThreadId| self.threads.name(id);
            let finding = findings::data_race(var, &race, &name, &None);
            let key = finding.key.clone();
            self.findings.add(finding);
            if let Some(at) = self.findings.position(&key) {
                self.race_findings.insert(pair, at);
            }
        }
    }

    /// Ends the stream: threads still waiting for a lock are checked for a
    /// deadlock, then every finding is returned. (In an incomplete
    /// recording too: a program is most often killed because it hung, and
    /// threads waiting in a cycle at the end are what it hung on.)
    pub fn finish(mut self) -> Vec<Finding> {
        // Threads still asking at the end that were not waiting on a holder
        // when they asked (the holder came later): they wait now.
        let mut graph = std::mem::take(&mut self.waits);
        let mut waiting: Vec<&ThreadTrack> = self
            .threads
            .iter()
            .filter(|t| t.pending.is_some() && !graph.is_waiting(t.info.id))
            .collect();
        waiting.sort_by_key(|t| t.info.id);
        let mut deadlocks = Vec::new();
        for t in waiting {
            let Some((lock, mode, site)) = t.pending.clone() else {
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

    /// How much merging the findings took so far ([`FindingSet::work`]).
    pub fn finding_work(&self) -> u64 {
        self.findings.work()
    }

    /// Findings so far, repeats merged.
    pub fn finding_count(&self) -> usize {
        self.findings.findings().count()
    }
}

/// A live lock's description by its id, from the analysis's table of locks
/// (none for a lock dropped since): for edges made in its name later.
fn live_lock(locks: &FxHashMap<LockId, LockTrack>) -> impl Fn(LockId) -> Option<LockInfo> + '_ {
    |id| locks.get(&id).and_then(|l| l.info.clone())
}

/// Two sites in a fixed order: a data race's key does not depend on which
/// access came first.
fn site_pair(a: Site, b: Site) -> (Site, Site) {
    if (a.file, a.line, a.column) <= (b.file, b.line, b.column) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Each of `cycles` as a lock-order-cycle finding. Inline, for the check
/// of the empty list every blocking acquisition makes (a call cost about 9
/// instructions an event, callgrind, the analyze bench's locks trace).
#[inline]
fn add_cycles(findings: &mut FindingSet, cycles: Vec<Cycle>) {
    if !cycles.is_empty() {
        add_each_cycle(findings, cycles);
    }
}

/// [`add_cycles`] of a list that has some.
#[inline(never)]
fn add_each_cycle(findings: &mut FindingSet, cycles: Vec<Cycle>) {
    for cycle in cycles {
        findings.add(findings::lock_order_cycle(&cycle));
    }
}

/// The thread an event is about (the acting thread).
fn event_thread(event: &Event) -> Option<ThreadId> {
    match event {
        Event::ThreadName { .. } | Event::GuardedBy { .. } | Event::Incomplete => None,
        Event::Request { thread, .. }
        | Event::ChangeMode { thread, .. }
        | Event::Send { thread, .. }
        | Event::Receive { thread, .. }
        | Event::End { thread }
        | Event::LockDropped { thread, .. }
        | Event::VarDropped { thread, .. }
        | Event::Acquire { thread, .. }
        | Event::Release { thread, .. }
        | Event::Read { thread, .. }
        | Event::Write { thread, .. }
        | Event::Wait { thread, .. }
        | Event::Notify { thread, .. }
        | Event::Arrive { thread, .. }
        | Event::RoomWait { thread, .. }
        | Event::RoomMade { thread, .. }
        | Event::Yield { thread, .. } => Some(*thread),
        Event::Spawn { parent, .. } | Event::Join { parent, .. } => Some(*parent),
    }
}
