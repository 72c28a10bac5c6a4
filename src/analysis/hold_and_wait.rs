//! Hold-and-wait in a trace: a thread that waits for a notification while
//! holding a lock its waker needs.
//!
//! A thread `W` waits on a condition while it holds `A` (other than the
//! lock the wait releases). The thread `N` whose notification ended the
//! wait had taken `X` before it notified. On a schedule where `W` takes `A`
//! and waits before `N` takes `X`, `N` needs `X` first: if `X` is `A`, or
//! the order graph has a path from `X` back to `A`, nobody notifies `W` and
//! the threads hang. So the wait is an order edge `A → X` (see
//! [`LockOrderGraph::on_wait_edge`]), and the cycles it closes are
//! lock-order cycles like any other: the 8 traces of
//! `tests/external-traces` in which SUnhang finds a cycle through a Java
//! `wait` all get theirs this way.
//!
//! What `N` "had taken before it notified" is what it acquired by blocking
//! since its previous notification (or its start), and what it held at the
//! notification; a try cannot hang, so it does not count. A notification
//! makes the edges of every thread waiting on its condition then (any of
//! them may be the one woken on some schedule), while what the notifier
//! took is surely alive; a wait no notification ended (a timeout, a
//! spurious wake-up) adds nothing. Receives, joins, barrier rounds and
//! sends to a full bounded channel (`room-wait`, ended by the receive that
//! makes `room`) are waits too (see their functions below).
//!
//! Memory is bounded by the live threads and the messages in flight: each
//! thread keeps at most [`TAKEN_PER_THREAD`] distinct locks since its last
//! notification (a thread that takes more between two notifications has its
//! oldest forgotten: edges missed, never invented), and each message what
//! its sender had taken. Both keep lock ids, not names: a lock's name is
//! looked up among the analysis's live locks when an edge is made, so it
//! still leaves with the lock.

use crate::detect::lock_order::{Cycle, LockOrderGraph, WaitEdge};
use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, Site, ThreadId, ThreadInfo, WokenBy};
use crate::fx_hash::FxHashMap;

/// Most distinct locks a thread remembers having taken since its last
/// notification.
pub const TAKEN_PER_THREAD: usize = 256;

/// A lock a waker took: which, how and where (its name is the live lock's).
#[derive(Copy, Clone)]
struct TakenLock {
    id: LockId,
    mode: AcquireMode,
    site: Site,
}

/// What one thread took since its last notification: each lock once, at
/// the first site it was taken, with when it was last taken (to forget the
/// oldest past the cap). A map, so that recording an acquisition costs one
/// lookup.
#[derive(Default)]
struct Taken {
    stamp: u64,
    locks: FxHashMap<LockId, (TakenLock, u64)>,
}

/// A message sent: its sender, and what it had taken when it sent.
struct Sent {
    waker: ThreadInfo,
    /// What the sender had taken (or held) when it sent, in order.
    taken: Vec<TakenLock>,
    site: Site,
}

/// A thread waiting on a condition.
struct Waiting {
    thread: ThreadInfo,
    condition: LockId,
    released: LockInfo,
    /// What it holds across the wait (the released lock excepted).
    held: Vec<HeldLock>,
    site: Site,
}

/// A sender waiting for room in a full bounded channel.
struct RoomWaiting {
    thread: ThreadInfo,
    channel: LockId,
    /// What it holds across the wait.
    held: Vec<HeldLock>,
    site: Site,
}

/// A thread's arrival at a barrier.
struct Arrival {
    thread: ThreadInfo,
    held: Vec<HeldLock>,
    taken: Vec<TakenLock>,
    site: Site,
}

/// The hold-and-wait state of one trace's analysis.
#[derive(Default)]
pub(super) struct HoldAndWait {
    /// By thread: the locks it took since its last notification.
    taken: FxHashMap<ThreadId, Taken>,
    /// By thread: the wait it is in.
    waiting: FxHashMap<ThreadId, Waiting>,
    /// By message sent and not received yet: what its sender had taken.
    sent: FxHashMap<u64, Sent>,
    /// By barrier: each thread of the round under way, with what it held on
    /// arriving and what it took on its way there.
    arrivals: FxHashMap<LockId, Vec<Arrival>>,
    /// By thread that ended and was not joined yet: what it took since its
    /// last notification, which a join waits for it to have done.
    ended: FxHashMap<ThreadId, Vec<TakenLock>>,
    /// By thread: the full bounded channel it waits to send on, holding
    /// locks, until its next send.
    room_waiting: FxHashMap<ThreadId, RoomWaiting>,
}

impl HoldAndWait {
    /// `thread` took `lock` by a blocking acquisition.
    pub(super) fn took(&mut self, thread: ThreadId, lock: &HeldLock) {
        let taken = self.taken.entry(thread).or_default();
        taken.stamp += 1;
        let stamp = taken.stamp;
        if let Some(known) = taken.locks.get_mut(&lock.lock.id) {
            known.1 = stamp;
            return;
        }
        if taken.locks.len() >= TAKEN_PER_THREAD {
            // Rare (past the cap): a scan for the oldest.
            let oldest = taken
                .locks
                .iter()
                .min_by_key(|(_, (_, s))| *s)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                taken.locks.remove(&id);
            }
        }
        let entry = TakenLock {
            id: lock.lock.id,
            mode: lock.mode,
            site: lock.site,
        };
        taken.locks.insert(lock.lock.id, (entry, stamp));
    }

    /// `waker`, holding `held`, notified `condition` at `site`: every
    /// thread waiting on it then while holding locks could be the one woken
    /// on some schedule, so what each holds is ordered before what the
    /// waker took. Made at the notification, while what it took is surely
    /// alive (a waiter may take its lock back only after the waker ended
    /// and dropped its locks). Returns the cycles the edges close.
    pub(super) fn notify(
        &mut self,
        waker: &ThreadInfo,
        held: &[HeldLock],
        condition: LockId,
        site: Site,
        order: &mut LockOrderGraph,
        live: impl Fn(LockId) -> Option<LockInfo>,
    ) -> Vec<Cycle> {
        let taken = self.since_last(waker, held);
        let mut cycles = Vec::new();
        for w in self
            .waiting
            .values()
            .filter(|w| w.condition == condition && w.thread.id != waker.id)
        {
            let released = w.released.id;
            let taken: Vec<TakenLock> =
                taken.iter().filter(|t| t.id != released).copied().collect();
            let edge = WaitEdge {
                by: WokenBy::Notify,
                on: condition.0,
                released: Some(w.released.clone()),
                wait_site: w.site,
                waker: waker.clone(),
                wake_site: site,
            };
            cycles.extend(edges(order, &w.thread, &w.held, &taken, &edge, &live));
        }
        cycles
    }

    /// `sender`, holding `held`, sent `message` at `site`: what it took
    /// since its last notification or send goes with the message.
    pub(super) fn send(
        &mut self,
        sender: &ThreadInfo,
        held: &[HeldLock],
        message: u64,
        site: Site,
    ) {
        self.room_waiting.remove(&sender.id);
        let taken = self.since_last(sender, held);
        let n = Sent {
            waker: sender.clone(),
            taken,
            site,
        };
        self.sent.insert(message, n);
    }

    /// `receiver`, holding `held`, received `message` at `site`. A receive
    /// that could wait (`blocking`) waits for the send: what the receiver
    /// holds is ordered before what the sender took. Returns the cycles the
    /// edges close.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive(
        &mut self,
        receiver: &ThreadInfo,
        held: &[HeldLock],
        message: u64,
        site: Site,
        blocking: bool,
        order: &mut LockOrderGraph,
        live: impl Fn(LockId) -> Option<LockInfo>,
    ) -> Vec<Cycle> {
        let Some(n) = self.sent.remove(&message) else {
            return Vec::new();
        };
        if !blocking || held.is_empty() || n.waker.id == receiver.id {
            return Vec::new();
        }
        let edge = WaitEdge {
            by: WokenBy::Message,
            on: message,
            released: None,
            wait_site: site,
            waker: n.waker.clone(),
            wake_site: n.site,
        };
        edges(order, receiver, held, &n.taken, &edge, &live)
    }

    /// `thread`, holding `held`, arrived at `barrier` at `site`.
    pub(super) fn arrive(
        &mut self,
        thread: &ThreadInfo,
        held: &[HeldLock],
        barrier: LockId,
        site: Site,
    ) {
        let taken = self.since_last(thread, held);
        let round = self.arrivals.entry(barrier).or_default();
        round.retain(|a| a.thread.id != thread.id);
        round.push(Arrival {
            thread: thread.clone(),
            held: held.to_vec(),
            taken,
            site,
        });
    }

    /// `barrier`'s round ended with the arrival of the last of `arrived`.
    /// Every thread but the last waited for the others' arrivals, and on
    /// another schedule any of them is the last: what each held on
    /// arriving is ordered before what every other took on its way there.
    /// Returns the cycles the edges close.
    pub(super) fn round_ends(
        &mut self,
        barrier: LockId,
        arrived: &[ThreadId],
        order: &mut LockOrderGraph,
        live: impl Fn(LockId) -> Option<LockInfo>,
    ) -> Vec<Cycle> {
        let Some(round) = self.arrivals.remove(&barrier) else {
            return Vec::new();
        };
        let mut cycles = Vec::new();
        for waiter in round.iter().filter(|a| !a.held.is_empty()) {
            for other in round.iter().filter(|o| o.thread.id != waiter.thread.id) {
                if !arrived.contains(&other.thread.id) {
                    continue;
                }
                let edge = WaitEdge {
                    by: WokenBy::Arrival,
                    on: barrier.0,
                    released: None,
                    wait_site: waiter.site,
                    waker: other.thread.clone(),
                    wake_site: other.site,
                };
                cycles.extend(edges(
                    order,
                    &waiter.thread,
                    &waiter.held,
                    &other.taken,
                    &edge,
                    &live,
                ));
            }
        }
        cycles
    }

    /// What `thread` took since its last notification or send, then what it
    /// holds (the list starts again).
    fn since_last(&mut self, thread: &ThreadInfo, held: &[HeldLock]) -> Vec<TakenLock> {
        let mut taken = self
            .taken
            .remove(&thread.id)
            .map(in_order)
            .unwrap_or_default();
        for h in held {
            if !taken.iter().any(|t| t.id == h.lock.id) {
                taken.push(TakenLock {
                    id: h.lock.id,
                    mode: h.mode,
                    site: h.site,
                });
            }
        }
        taken
    }

    /// `thread` waits on `condition` at `site`, releasing `released` and
    /// holding `held` meanwhile.
    pub(super) fn wait(
        &mut self,
        thread: &ThreadInfo,
        condition: LockId,
        released: &LockInfo,
        held: &[HeldLock],
        site: Site,
    ) {
        if held.is_empty() {
            // Nothing held across the wait: no hold-and-wait.
            self.waiting.remove(&thread.id);
            return;
        }
        self.waiting.insert(
            thread.id,
            Waiting {
                thread: thread.clone(),
                condition,
                released: released.clone(),
                held: held.to_vec(),
                site,
            },
        );
    }

    /// `sender`, holding `held`, found `channel` full at `site`: it waits
    /// for a receive to make room, until its next send.
    pub(super) fn room_wait(
        &mut self,
        sender: &ThreadInfo,
        held: &[HeldLock],
        channel: LockId,
        site: Site,
    ) {
        if held.is_empty() {
            self.room_waiting.remove(&sender.id);
            return;
        }
        let waiting = RoomWaiting {
            thread: sender.clone(),
            channel,
            held: held.to_vec(),
            site,
        };
        self.room_waiting.insert(sender.id, waiting);
    }

    /// `receiver`, holding `held`, made room in `channel` at `site`: as a
    /// notification of the senders waiting for it, what each holds is
    /// ordered before what the receiver took since its last notification,
    /// send or room made. Returns the cycles the edges close.
    pub(super) fn room_made(
        &mut self,
        receiver: &ThreadInfo,
        held: &[HeldLock],
        channel: LockId,
        site: Site,
        order: &mut LockOrderGraph,
        live: impl Fn(LockId) -> Option<LockInfo>,
    ) -> Vec<Cycle> {
        let taken = self.since_last(receiver, held);
        let mut cycles = Vec::new();
        for w in self
            .room_waiting
            .values()
            .filter(|w| w.channel == channel && w.thread.id != receiver.id)
        {
            let edge = WaitEdge {
                by: WokenBy::Room,
                on: channel.0,
                released: None,
                wait_site: w.site,
                waker: receiver.clone(),
                wake_site: site,
            };
            cycles.extend(edges(order, &w.thread, &w.held, &taken, &edge, &live));
        }
        cycles
    }

    /// `waiter` holds its lock again after a wait: it waits no more.
    pub(super) fn woken(&mut self, waiter: ThreadId) {
        self.waiting.remove(&waiter);
    }

    /// `thread` ended: it takes, waits and notifies no more (a condition's
    /// last notification stays, for a waiter not yet woken); what it took
    /// since its last notification waits for its join.
    pub(super) fn end(&mut self, thread: ThreadId) {
        self.waiting.remove(&thread);
        self.room_waiting.remove(&thread);
        if let Some(taken) = self.taken.remove(&thread) {
            self.ended.insert(thread, in_order(taken));
        }
    }

    /// `parent`, holding `held`, joined `child` at `site`: a join waits for
    /// the child's end, so what the parent holds is ordered before what the
    /// child took (on a schedule where the parent takes it and joins first,
    /// the child blocks on it and never ends). Returns the cycles the
    /// edges close.
    pub(super) fn joined(
        &mut self,
        parent: &ThreadInfo,
        held: &[HeldLock],
        child: &ThreadInfo,
        site: Site,
        order: &mut LockOrderGraph,
        live: impl Fn(LockId) -> Option<LockInfo>,
    ) -> Vec<Cycle> {
        // A trace without thread ends (STD) has the child's locks still
        // under its own id.
        let taken = match self.ended.remove(&child.id) {
            Some(taken) => taken,
            None => match self.taken.remove(&child.id) {
                Some(taken) => in_order(taken),
                None => return Vec::new(),
            },
        };
        if held.is_empty() || parent.id == child.id {
            return Vec::new();
        }
        let edge = WaitEdge {
            by: WokenBy::End,
            on: child.id.0,
            released: None,
            wait_site: site,
            waker: child.clone(),
            wake_site: site,
        };
        edges(order, parent, held, &taken, &edge, &live)
    }

    /// `lock` was dropped: a thread waiting with it as its monitor (a
    /// broken trace) waits on it no more. (A thread's locks taken name it by
    /// id only, and the edges pass over the dead.)
    pub(super) fn forget(&mut self, lock: LockId) {
        self.waiting.retain(|_, w| w.released.id != lock);
    }
}

/// A thread's locks taken, in the order it took them.
fn in_order(taken: Taken) -> Vec<TakenLock> {
    let mut stamped: Vec<(TakenLock, u64)> = taken.locks.into_values().collect();
    stamped.sort_unstable_by_key(|(_, stamp)| *stamp);
    stamped.into_iter().map(|(t, _)| t).collect()
}

/// The edges of one hold-and-wait, from each lock `waiter` held across the
/// wait to each lock its waker had taken that is still `live`, added to
/// `order`; the cycles they close.
fn edges(
    order: &mut LockOrderGraph,
    waiter: &ThreadInfo,
    held: &[HeldLock],
    taken: &[TakenLock],
    edge: &WaitEdge,
    live: &impl Fn(LockId) -> Option<LockInfo>,
) -> Vec<Cycle> {
    let wakers_locks: Vec<HeldLock> = taken
        .iter()
        .filter_map(|t| {
            live(t.id).map(|lock| HeldLock {
                lock,
                mode: t.mode,
                site: t.site,
            })
        })
        .collect();
    let mut cycles = Vec::new();
    for h in held {
        for t in &wakers_locks {
            cycles.extend(order.on_wait_edge(waiter, h, t, edge.clone()));
        }
    }
    cycles
}
