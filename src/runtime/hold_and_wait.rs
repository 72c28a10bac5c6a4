//! Hold-and-wait, live: a thread that waits (untimed) while holding lock
//! `A` — on a condition variable, for a message, for room in a bounded
//! channel, at a barrier, for a thread to end — ended by a thread that
//! took `A` before it ended the wait, deadlocks on the schedule where the
//! waiter takes `A` first. Each such wait adds an order edge through the
//! wait (`LockOrderGraph::on_wait_edge`); a cycle it closes is a
//! `lock-order-cycle` "through a wait", predicted though this run did not
//! hang.
//!
//! What the waker took before it woke the waiter, live, is two things:
//! - the locks it holds *at* its wake-up (the notification, the send, the
//!   receive that makes room, the arrival): edges `A → X` to each, which
//!   close a cycle with an order `X → A` taken elsewhere;
//! - the locks it took and released before: the held stack keeps the
//!   locks its releases popped (id, mode, site), eight of them
//!   direct-mapped by lock id,
//!   and above its live entries the last one released at each depth (see
//!   `HeldStack::released`). An `A` found there is the edge `A → A`, a
//!   cycle of one edge. It is a record of recent locks, not of every lock:
//!   a lock whose slot a later one took is missed (a missed prediction,
//!   never a false one: every entry there is a lock this thread did take).
//!   Remembering every lock taken, as the trace analysis does
//!   (`analysis::hold_and_wait`), would cost every acquisition a search;
//!   this costs a release two stores (see `HeldStack::recent`).
//!
//! Only locks the waiter holds are matched against the waker's released
//! entries: those are certainly alive (and so graph nodes that leave with
//! their lock); a released entry of another lock may name a lock dropped
//! since.
//!
//! The edges are made by the waker, at its wake-up, for every waiter then
//! waiting with locks (any of them may be the one a `notify_one` wakes on
//! another schedule). A barrier's arrivals each wake the others, so each
//! arrival is matched both ways against those already waiting; a join is
//! matched at whichever comes second, the joined thread's end or the join.
//! A waker pays one atomic load when nobody waits holding locks; a waiter
//! that holds nothing but the condition's mutex pays one look at its held
//! stack.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use crate::detect::findings;
use crate::detect::lock_order::{Cycle, WaitEdge};
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadInfo, WokenBy};
use crate::runtime::config;
use crate::runtime::global::global;
use crate::runtime::held_stack::HeldEntry;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::policy::{report, Severity};
use crate::runtime::thread_state::{with_thread, ThreadState};

/// One thread's side of a wait: who, what it holds, and what it took and
/// released before.
#[derive(Clone)]
struct Side {
    thread: ThreadInfo,
    /// Held now (the waiter: across the wait; the waker: at its wake-up).
    held: Vec<HeldLock>,
    /// Taken and released earlier (see the module's docs).
    released: Vec<Earlier>,
}

/// A lock a thread took and released earlier: which, how and where (its
/// name is the waiter's, which holds it).
#[derive(Copy, Clone)]
struct Earlier {
    id: LockId,
    mode: AcquireMode,
    site: Site,
}

impl Side {
    /// This thread's side, if it can be read (not while a report is being
    /// made further up this thread's stack). `except` is a lock the wait
    /// releases (a condition's mutex), left out of what is held.
    fn here(except: Option<LockId>) -> Option<Side> {
        with_thread(|t| {
            let keep = |e: &&HeldEntry| Some(e.id) != except;
            let held = t
                .held
                .iter()
                .filter(keep)
                .map(HeldEntry::held_lock)
                .collect();
            let mut released: Vec<Earlier> = Vec::new();
            for r in t.held.released() {
                if !released.iter().any(|e| e.id == r.id()) {
                    released.push(Earlier {
                        id: r.id(),
                        mode: r.mode(),
                        site: r.site(),
                    });
                }
            }
            // Every lock held is a possible node of the order graph: a wait
            // edge may start or end at it, and the mark (passed to the
            // lock at its release) makes its drop take it out of the
            // graph, as an edge taken by locking does.
            for e in t.held.iter_mut() {
                e.in_graph = true;
            }
            Side {
                thread: t.info(),
                held,
                released,
            }
        })
    }
}

/// The edges one wait makes: `waiter` held its locks across a wait that
/// `waker` ended, as `edge` says; the cycles they close.
fn edges(waiter: &Side, waker: &Side, edge: &WaitEdge) -> Vec<Cycle> {
    if waiter.thread.id == waker.thread.id || waiter.held.is_empty() {
        return Vec::new();
    }
    let mut order = global().order.lock();
    let mut cycles = Vec::new();
    for h in &waiter.held {
        for x in waker.held.iter().filter(|x| x.lock.id != h.lock.id) {
            cycles.extend(order.on_wait_edge(&waiter.thread, h, x, edge.clone()));
        }
        // The waker took this very lock before; a shared hold it could
        // share with the waiter's is no hazard.
        let earlier = waker.released.iter().find(|r| r.id == h.lock.id);
        if let Some(r) = earlier.filter(|r| r.mode.blocked_by(h.mode)) {
            let taken = HeldLock {
                lock: h.lock.clone(),
                mode: r.mode,
                site: r.site,
            };
            cycles.extend(order.on_wait_edge(&waiter.thread, h, &taken, edge.clone()));
        }
    }
    cycles
}

/// Cycles a wait's edges closed, to report once the operation that found
/// them is done: a report may panic (policy `panic`), and a panic before
/// the notification, the send, the receive or the arrival went through
/// would leave the waiter waiting forever.
#[must_use = "report the hazards once the wake-up is done"]
#[derive(Default)]
pub(crate) struct Hazards(Vec<Cycle>);

impl Hazards {
    pub(crate) const NONE: Hazards = Hazards(Vec::new());

    /// Reports each cycle, as a hazard, in this thread. Inline down to
    /// the emptiness check: every send and receive calls it, and out of
    /// line, building and dropping the empty vector's iterator, it was 54
    /// instructions a call (callgrind, the channel stream of
    /// benches/waits.rs: a sixth of lockcheck's cost per message).
    #[inline]
    pub(crate) fn report(self) {
        if !self.0.is_empty() {
            self.report_found();
        }
    }

    #[cold]
    #[inline(never)]
    fn report_found(self) {
        for cycle in self.0 {
            report(findings::lock_order_cycle(&cycle), Severity::Hazard);
        }
    }
}

/// One waiter holding locks across its wait.
#[derive(Clone)]
struct Waiter {
    side: Side,
    /// The lock the wait releases (a condition's mutex), if any.
    released: Option<LockInfo>,
    site: Site,
    /// A barrier's round (0 for other waits): a waiter of a round already
    /// let through may still be listed while the next one starts.
    round: usize,
}

impl Waiter {
    /// The edge a wake-up by `waker` at `site` makes for this waiter.
    fn edge(&self, by: WokenBy, on: u64, waker: &Side, site: Site) -> WaitEdge {
        WaitEdge {
            by,
            on,
            released: self.released.clone(),
            wait_site: self.site,
            waker: waker.thread.clone(),
            wake_site: site,
        }
    }
}

/// The threads waiting on one primitive (a condition variable, a
/// channel's messages or room, a barrier) while holding locks.
pub(crate) struct Waiters {
    /// How many are listed: a waker reads this alone when it is 0.
    count: AtomicUsize,
    list: crate::raw::Mutex<Vec<Waiter>>,
}

/// A registered waiter: it leaves the list when this drops.
pub(crate) struct Ticket<'a> {
    waiters: &'a Waiters,
    thread: crate::event::ThreadId,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut list = self.waiters.list.lock();
        if let Some(i) = list.iter().position(|w| w.side.thread.id == self.thread) {
            list.swap_remove(i);
            self.waiters.count.fetch_sub(1, SeqCst);
        }
    }
}

/// Whether this thread holds a lock other than `except`: one look at its
/// held stack.
fn holds_other_than(except: Option<LockId>) -> bool {
    let others = |t: &mut ThreadState| t.held.iter().any(|e| Some(e.id) != except);
    config::enabled() && with_thread(others).unwrap_or(false)
}

impl Waiters {
    pub(crate) const fn new() -> Self {
        Waiters {
            count: AtomicUsize::new(0),
            list: crate::raw::Mutex::new(Vec::new()),
        }
    }

    /// Before an untimed wait at `site` (releasing `mutex`, for a
    /// condition): registers this thread if it holds other locks. `None`
    /// when it holds nothing else (or checking is off): one look at its
    /// held stack, and the mutex is described only for a thread that
    /// registers.
    pub(crate) fn waiting(&self, mutex: Option<&LockMeta>, site: Site) -> Option<Ticket<'_>> {
        let except = mutex.map(LockMeta::id);
        if !holds_other_than(except) {
            return None;
        }
        let side = Side::here(except)?;
        let ticket = Ticket {
            waiters: self,
            thread: side.thread.id,
        };
        let released = mutex.map(LockMeta::info);
        self.list.lock().push(Waiter {
            side,
            released,
            site,
            round: 0,
        });
        self.count.fetch_add(1, SeqCst);
        Some(ticket)
    }

    /// Whether nobody waits holding locks now: one atomic load, as
    /// [`Self::woken`]'s first, for a waker that keeps its matching out of
    /// line.
    #[inline]
    pub(crate) fn none(&self) -> bool {
        self.count.load(SeqCst) == 0
    }

    /// A wake-up (`by`) of the primitive with id `on()` at `site`, made
    /// before the wake-up itself (while the waiters still wait): when
    /// threads wait holding locks, the edges from what each holds to what
    /// this thread took before go into the order graph; the cycles they
    /// close are to be reported once the wake-up is done. One atomic load
    /// when nobody waits holding locks (the id is asked for only past it).
    #[inline]
    pub(crate) fn woken(&self, by: WokenBy, on: impl FnOnce() -> u64, site: Site) -> Hazards {
        if self.none() {
            return Hazards::NONE;
        }
        self.woken_by_this_thread(by, on(), site)
    }

    #[cold]
    fn woken_by_this_thread(&self, by: WokenBy, on: u64, site: Site) -> Hazards {
        if !config::enabled() {
            return Hazards::NONE;
        }
        let waiters: Vec<Waiter> = self.list.lock().clone();
        let Some(waker) = Side::here(None) else {
            return Hazards::NONE;
        };
        let mut cycles = Vec::new();
        for w in &waiters {
            cycles.extend(edges(&w.side, &waker, &w.edge(by, on, &waker, site)));
        }
        Hazards(cycles)
    }

    /// An arrival at barrier `on`, in its round `round`, at `site`, which does not let the round
    /// through (`waits`) or does: matched both ways against the arrivals
    /// waiting now (each one's wait needs this arrival, and on another
    /// schedule this one's would need theirs); registered until the ticket
    /// drops if it waits. The cycles found are to be reported once this
    /// thread's wait is over.
    pub(crate) fn arriving(
        &self,
        on: u64,
        round: usize,
        site: Site,
        waits: bool,
    ) -> (Option<Ticket<'_>>, Hazards) {
        if !config::enabled() {
            return (None, Hazards::NONE);
        }
        // Every arrival that waits is listed, holding locks or not: what it
        // took before it arrived is what a later arrival holding one of
        // those locks is matched against.
        if !waits && self.count.load(SeqCst) == 0 {
            return (None, Hazards::NONE);
        }
        let Some(me) = Side::here(None) else {
            return (None, Hazards::NONE);
        };
        let waiters: Vec<Waiter> = self.list.lock().clone();
        let mine = Waiter {
            side: me.clone(),
            released: None,
            site,
            round,
        };
        let mut cycles = Vec::new();
        for w in waiters.iter().filter(|w| w.round == round) {
            let by = WokenBy::Arrival;
            cycles.extend(edges(&w.side, &me, &w.edge(by, on, &me, site)));
            cycles.extend(edges(&me, &w.side, &mine.edge(by, on, &w.side, w.site)));
        }
        if !waits {
            return (None, Hazards(cycles));
        }
        let ticket = Ticket {
            waiters: self,
            thread: me.thread.id,
        };
        self.list.lock().push(mine);
        self.count.fetch_add(1, SeqCst);
        (Some(ticket), Hazards(cycles))
    }
}

/// A thread's end as its joiners see it: what it took, once it has ended,
/// and the joiners waiting with locks before that.
pub(crate) struct JoinWaits(crate::raw::Mutex<JoinState>);

#[derive(Default)]
struct JoinState {
    /// The ended thread's side, and where it was spawned.
    ended: Option<(Side, Site)>,
    joiners: Vec<Waiter>,
    /// Cycles the thread's end closed, by joiner: reported by the joiner
    /// once its join returns (a panic at a thread's end, which may be
    /// unwinding already, would abort the process).
    found: Vec<(crate::event::ThreadId, Vec<Cycle>)>,
}

impl Default for JoinWaits {
    fn default() -> Self {
        JoinWaits(crate::raw::Mutex::new(JoinState::default()))
    }
}

/// A joiner holding locks, registered until [`JoinTicket::joined`].
pub(crate) struct JoinTicket<'a> {
    waits: &'a JoinWaits,
    thread: crate::event::ThreadId,
    /// Cycles found at the join (the thread had ended already).
    found: Vec<Cycle>,
}

impl JoinTicket<'_> {
    /// The join returned: the joiner leaves the list (as the ticket
    /// drops), with the cycles its wait closed, to report.
    pub(crate) fn joined(mut self) -> Hazards {
        let mut found = std::mem::take(&mut self.found);
        found.append(&mut self.leave());
        Hazards(found)
    }

    /// Leaves the list; the cycles the thread's end found for this joiner.
    fn leave(&mut self) -> Vec<Cycle> {
        let mut st = self.waits.0.lock();
        let thread = self.thread;
        st.joiners.retain(|w| w.side.thread.id != thread);
        let mut found = Vec::new();
        st.found.retain_mut(|(t, cycles)| {
            if *t == thread {
                found.append(cycles);
            }
            *t != thread
        });
        found
    }
}

/// A join given up (broken by a panic) leaves the list unreported.
impl Drop for JoinTicket<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl JoinWaits {
    /// The joined thread `child` at `site`: if this thread holds locks,
    /// matched against what the child took, now if it has ended, else at
    /// its end; registered until [`JoinTicket::joined`].
    pub(crate) fn joining(&self, child: u64, site: Site) -> Option<JoinTicket<'_>> {
        if !holds_other_than(None) {
            return None;
        }
        let me = Side::here(None)?;
        let waiter = Waiter {
            side: me,
            released: None,
            site,
            round: 0,
        };
        let thread = waiter.side.thread.id;
        let mut st = self.0.lock();
        let mut found = Vec::new();
        if let Some((ended, spawned)) = &st.ended {
            let edge = waiter.edge(WokenBy::End, child, ended, *spawned);
            found = edges(&waiter.side, &ended_side(ended), &edge);
        } else {
            st.joiners.push(waiter);
        }
        Some(JoinTicket {
            waits: self,
            thread,
            found,
        })
    }

    /// This thread, spawned at `spawned`, ends: its side is kept for later
    /// joiners, and matched against the joiners waiting now (who report
    /// what it closes).
    pub(crate) fn ending(&self, child: u64, spawned: Site) {
        if !config::enabled() {
            return;
        }
        let Some(me) = Side::here(None) else { return };
        let joiners = {
            let mut st = self.0.lock();
            st.ended = Some((me.clone(), spawned));
            st.joiners.clone()
        };
        let found: Vec<_> = joiners
            .iter()
            .map(|w| {
                let edge = w.edge(WokenBy::End, child, &me, spawned);
                (w.side.thread.id, edges(&w.side, &ended_side(&me), &edge))
            })
            .filter(|(_, cycles)| !cycles.is_empty())
            .collect();
        self.0.lock().found.extend(found);
    }
}

/// What an ended thread counts as having taken: everything, held or
/// released, matched as released locks only (a lock it still held at its
/// end may be gone by the join, so it is no edge to a lock of its own).
fn ended_side(side: &Side) -> Side {
    let mut released = side.released.clone();
    released.extend(side.held.iter().map(|h| Earlier {
        id: h.lock.id,
        mode: h.mode,
        site: h.site,
    }));
    Side {
        thread: side.thread.clone(),
        held: Vec::new(),
        released,
    }
}

#[cfg(test)]
#[path = "hold_and_wait_tests.rs"]
mod tests;
