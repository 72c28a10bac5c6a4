//! Hold-and-wait, live, for condition variables: a thread that waits
//! (untimed) while holding lock `A`, notified by a thread that holds `X`
//! as it notifies, adds the order edge `A → X` through the wait
//! (`LockOrderGraph::on_wait_edge`); a cycle it closes is a
//! `lock-order-cycle` "through a wait", predicted though this run did not
//! hang. The edges are made by the notifier, at the notification, for
//! every waiter then waiting with locks (any of them may be the one a
//! `notify_one` wakes on another schedule): then `X` is certainly alive,
//! where a waiter that woke later could find it dropped and its edges gone
//! from the graph.
//!
//! Live, a notifier's locks are those it holds *at* the notification:
//! remembering what every thread took since its last notification, as the
//! trace analysis does (`analysis::hold_and_wait`), would cost every
//! acquisition, and the lock fast path must not pay for waits. A notifier
//! that holds nothing pays one check of its held stack; a waiter that
//! holds nothing but the condition's mutex pays one too.

use crate::detect::findings;
use crate::detect::lock_order::WaitEdge;
use crate::event::{HeldLock, LockInfo, Site, ThreadInfo, WokenBy};
use crate::runtime::acquire::thread_and_held;
use crate::runtime::config;
use crate::runtime::global::global;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::policy::{report, Severity};
use crate::runtime::thread_state::{with_thread, ThreadState};

/// A condition variable's waiters that hold locks across their wait.
pub(crate) struct Waiters(crate::raw::Mutex<Vec<Waiter>>);

/// One waiter holding locks besides the condition's mutex.
#[derive(Clone)]
struct Waiter {
    thread: ThreadInfo,
    held: Vec<HeldLock>,
    released: LockInfo,
    site: Site,
}

/// A registered waiter: it leaves the list when this drops.
pub(crate) struct Ticket<'a> {
    waiters: &'a Waiters,
    thread: crate::event::ThreadId,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut list = self.waiters.0.lock();
        if let Some(i) = list.iter().position(|w| w.thread.id == self.thread) {
            list.swap_remove(i);
        }
    }
}

impl Waiters {
    pub(crate) const fn new() -> Self {
        Waiters(crate::raw::Mutex::new(Vec::new()))
    }

    /// Before an untimed wait releasing `mutex` at `site`: registers this
    /// thread if it holds other locks. `None` when it holds nothing else
    /// (or checking is off): one look at its held stack, and the mutex is
    /// described only for a thread that registers.
    pub(crate) fn waiting(&self, mutex: &LockMeta, site: Site) -> Option<Ticket<'_>> {
        let id = mutex.id();
        let others = |t: &mut ThreadState| t.held.iter().any(|e| e.id != id);
        if !config::enabled() || !with_thread(others).unwrap_or(false) {
            return None;
        }
        let released = mutex.info();
        let (thread, mut held) = thread_and_held();
        held.retain(|h| h.lock.id != id);
        let ticket = Ticket {
            waiters: self,
            thread: thread.id,
        };
        mark_held_as_nodes();
        self.0.lock().push(Waiter {
            thread,
            held,
            released,
            site,
        });
        Some(ticket)
    }

    /// A notification of condition `condition` at `site`: when the
    /// notifier holds locks and threads wait holding others, the edges from
    /// what each waiter holds to what the notifier holds go into the order
    /// graph, and each cycle they close is reported (in the notifier, at
    /// its call). One look at the held stack for a notifier holding
    /// nothing.
    #[track_caller]
    pub(crate) fn notified(&self, condition: u64, site: Site) {
        if !config::enabled() || !with_thread(|t| t.held.iter().next().is_some()).unwrap_or(false) {
            return;
        }
        let waiters: Vec<Waiter> = self.0.lock().clone();
        if waiters.is_empty() {
            return;
        }
        let (waker, held) = thread_and_held();
        mark_held_as_nodes();
        let cycles = {
            let mut order = global().order.lock();
            let mut cycles = Vec::new();
            for w in waiters.iter().filter(|w| w.thread.id != waker.id) {
                let edge = WaitEdge {
                    by: WokenBy::Notify,
                    on: condition,
                    released: Some(w.released.clone()),
                    wait_site: w.site,
                    waker: waker.clone(),
                    wake_site: site,
                };
                for h in &w.held {
                    for x in held.iter().filter(|x| x.lock.id != w.released.id) {
                        cycles.extend(order.on_wait_edge(&w.thread, h, x, edge.clone()));
                    }
                }
            }
            cycles
        };
        for cycle in cycles {
            report(findings::lock_order_cycle(&cycle), Severity::Hazard);
        }
    }
}

/// Marks every lock this thread holds as a possible node of the order
/// graph: a wait edge may start or end at it, and the mark (passed to the
/// lock at its release) makes its drop take it out of the graph, as an
/// edge taken by locking does.
fn mark_held_as_nodes() {
    with_thread(|t| {
        for e in t.held.iter_mut() {
            e.in_graph = true;
        }
    });
}
