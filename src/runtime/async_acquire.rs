//! The acquisition protocol of an async lock (`lockcheck::tokio`): the
//! checks of [`acquire`](super::acquire) split around the `.await`.
//!
//! A blocking acquisition validates, then waits in the raw lock, then
//! pushes its entry, all in one call. An async one validates when its
//! future is first polled ([`before`]: self-deadlock, new order edges and
//! their cycles, on the holder's stack — the task's when it is
//! instrumented), awaits the lock (a wait that outlasts the grace period
//! joins the wait-for graph as a parked task: [`contended`], [`wait`]),
//! and pushes its entry once it has the lock ([`acquired`]). The holder is
//! whoever is polled then: the task for an instrumented future, else the
//! thread.

use std::panic::Location;

use crate::detect::wait_for::{Blocked, Waiter};
use crate::event::{AcquireMode, Attempt, Event, LockId, LockKind, Site, ThreadId};
use crate::runtime::acquire::{
    self, break_if_waiting_for_itself, emit, entry, order_key, plan, push, register_parked_wait,
    register_wait, synchronised, thread_and_held, trace_acquire, trace_request, validate, OnCycle,
    OrderKey, Pending, Plan, Waiting,
};
use crate::runtime::fast_path;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::thread_state::{chain_mix, with_thread, with_thread_unmarked};
use crate::runtime::{capture, config, hb, recorder, task, user_site};

/// What [`before`] found, for [`acquired`] to finish.
pub(crate) struct Planned {
    id: LockId,
    key: OrderKey,
    mode: AcquireMode,
    site: &'static Location<'static>,
    /// The chain key the entry was validated (or known) under.
    chain: u64,
    /// Validated now: the entry's chain is to be remembered.
    validated: bool,
}

/// The fast path's plan: the holder's stack is validated (or empty) with
/// this lock on it, as the blocking locks' fast path asks, so the
/// acquisition adds no edge; only its entry is left to push once the lock
/// is taken ([`acquired_fast`]).
pub(crate) struct FastPlan {
    id: LockId,
    /// The holder's chain key before the push, and with the lock on it.
    below: u64,
    chain: u64,
}

impl FastPlan {
    /// The plan of the slow path, for an acquisition whose holder's stack
    /// changed across the await.
    pub(crate) fn into_planned(
        self,
        mode: AcquireMode,
        site: &'static Location<'static>,
    ) -> Planned {
        Planned {
            id: self.id,
            key: OrderKey::instance(self.id),
            mode,
            site,
            chain: self.chain,
            validated: false,
        }
    }
}

/// [`before`]'s fast path: `None`, having done nothing, when there is
/// anything to check (a first use, a new stack, a recorded run, race
/// checking, class order), which [`before`] then does. One visit to the
/// thread's state without marking it, as a blocking lock's fast path.
#[inline(always)]
pub(crate) fn plan_fast(meta: &LockMeta, mode: AcquireMode) -> Option<FastPlan> {
    if !fast_path::fast_only() {
        return None;
    }
    let id = meta.assigned_id()?;
    // SAFETY: the closure reads the state and calls nothing.
    let (plan, thread) = unsafe {
        with_thread_unmarked(
            #[inline(always)]
            |t| {
                // Room on the stack means the holder has its id (the
                // thread's is given with its room; a task's at its poll).
                if !t.ready_for_fast_push() {
                    return None;
                }
                let below = t.chain();
                let chain = chain_mix(below, id.0, mode);
                let known = t.held.is_empty()
                    || t.knows(chain)
                    || meta.validated() == chain ^ t.ready_salt();
                known.then_some((FastPlan { id, below, chain }, t.task.is_null()))
            },
        )
    }
    .flatten()?;
    // A thread is the holder only outside any tokio task: in one that
    // lockcheck does not see, the checked path says it is not checked.
    // One thread-local read of tokio's: with it the `block_on` body (a
    // `#[tokio::main]` body) takes this path too, 1,014 → 342
    // instructions a `lock().await` and drop.
    if thread && !task::outside_tokio_tasks() {
        return None;
    }
    Some(plan)
}

/// The lock planned by [`plan_fast`] is taken: pushes its entry and gives
/// the holder's id, if the holder's stack is the one planned on; `None`,
/// having done nothing, if it changed across the await (the caller then
/// finishes with [`acquired`]).
#[inline(always)]
pub(crate) fn acquired_fast(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
    plan: &FastPlan,
) -> Option<u64> {
    let entry = entry(
        meta,
        plan.id,
        OrderKey::instance(plan.id),
        plan.chain,
        mode,
        site,
    );
    // SAFETY: the closure pushes only where it checked there is room, and
    // calls nothing.
    unsafe {
        with_thread_unmarked(
            #[inline(always)]
            |t| {
                if !t.ready_for_fast_push() || t.chain() != plan.below {
                    return None;
                }
                t.held.push_unchecked(entry);
                Some(t.holder_id())
            },
        )
    }
    .flatten()
}

/// The checks before an async acquisition of `meta`'s lock in `mode` at
/// `site`: `None` when checking is off (the acquisition is untracked).
/// Panics, reporting it, when the holder already holds the lock in a mode
/// that waits for itself (a certain self-deadlock: the task would wait
/// forever).
pub(crate) fn before(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Option<Planned> {
    if !config::enabled() || task::unseen_task() {
        return None;
    }
    // The fast path's flag is set by the first look at it.
    let _ = fast_path::path();
    task::settle_elsewhere();
    let id = meta.id();
    let key = order_key(meta, id);
    let plan = with_thread(|t| plan(t, meta, id, key.key, mode))?;
    // What validation finds is reported now, before the await: a future
    // may be dropped while it awaits (a `select!`, a timeout), and what
    // was found must not go with it. (A blocking lock reports before it
    // blocks too, once the grace period is over.)
    let (chain, validated) = match plan {
        Plan::Known(chain) => (chain, false),
        Plan::Validate(chain) => {
            trace_request(meta, mode, site);
            let lock = meta.info();
            emit(validate(meta, &lock, mode, site));
            (chain, true)
        }
        // Async locks are never reentrant, and `plan` never says this.
        Plan::Reentry | Plan::Untracked => return None,
    };
    Some(Planned {
        id,
        key,
        mode,
        site,
        chain,
        validated,
    })
}

/// The lock was not free at once: if the holder holds it already in a
/// conflicting mode, it would wait for itself forever, which is reported
/// and broken here by a panic (the task ends with a `JoinError`).
pub(crate) fn contended(meta: &LockMeta, planned: &Planned) {
    if with_thread(|t| t.holds(planned.id)).unwrap_or(false) {
        break_if_waiting_for_itself(&meta.info(), planned.mode, planned.site);
    }
}

/// The await has outlasted the grace period: the holder joins the
/// wait-for graph as a parked task until the returned value drops. If
/// that closes a cycle of waits, the deadlock is reported and broken by a
/// panic here. `None` outside an instrumented task: a worker thread polls
/// many tasks, and one of them waiting is not the thread waiting.
pub(crate) fn wait(meta: &LockMeta, planned: &Planned) -> Option<Waiting> {
    if !task::in_task() {
        return None;
    }
    Some(register_parked_wait(lock_waiter(meta, planned)))
}

/// This holder, as a waiter for the lock `planned` asks for.
fn lock_waiter(meta: &LockMeta, planned: &Planned) -> Blocked {
    let (thread, held) = thread_and_held();
    Blocked::Lock(Waiter {
        thread,
        lock: meta.info(),
        mode: planned.mode,
        site: user_site::site(planned.site),
        held,
        backtrace: capture(),
    })
}

/// A `blocking_lock` (or `blocking_read`, `blocking_write`) still waiting
/// after the grace period: the thread is blocked as in any blocking lock,
/// so it joins the wait-for graph as a lock wait (not parked); if that
/// closes a cycle, the deadlock is reported and this panics.
pub(crate) fn wait_blocking(meta: &LockMeta, planned: &Planned) -> Waiting {
    register_wait(lock_waiter(meta, planned), false, OnCycle::Panic)
}

/// The lock is taken: its entry goes on the holder's stack. Reports what
/// validation found. If the holder's stack changed while it awaited (a
/// `join!` of futures of one task), the acquisition is validated again on
/// the stack it now has: the lock is taken, so that adds edges but cannot
/// wait.
pub(crate) fn acquired(meta: &LockMeta, planned: Planned) {
    let Planned {
        id,
        key,
        mode,
        site,
        mut chain,
        mut validated,
    } = planned;
    let mut pending = Pending::new();
    let now = with_thread(|t| chain_mix(t.chain(), key.key, mode)).unwrap_or(chain);
    if now != chain {
        chain = now;
        let known = with_thread(|t| t.knows(chain)).unwrap_or(true);
        if !known {
            pending.extend(validate(meta, &meta.info(), mode, site));
            validated = true;
        }
    }
    emit(pending);
    push(entry(meta, id, key, chain, mode, site), validated);
    if validated {
        if let Some(salt) = with_thread(|t| t.salt()) {
            meta.set_validated(chain ^ salt);
        }
    }
    synchronised(meta, mode);
    trace_acquire(meta, mode, Attempt::Blocking, site);
}

/// A `try_lock` that got the lock: as a blocking lock's try, it adds no
/// order edge into the lock (it cannot wait), and the lock is a source of
/// edges from now on. `None` when untracked.
pub(crate) fn tried(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Option<()> {
    if !config::enabled() || task::unseen_task() {
        return None;
    }
    task::settle_elsewhere();
    let id = meta.id();
    let key = order_key(meta, id);
    let chain = with_thread(|t| chain_mix(t.chain(), key.key, mode))?;
    push(entry(meta, id, key, chain, mode, site), false);
    synchronised(meta, mode);
    trace_acquire(meta, mode, Attempt::Try, site);
    Some(())
}

/// A guard of an async lock taken by `holder` is dropped: the hold leaves
/// the holder's stack, at once when the holder is the one polled (or
/// running) here, else the next time its held locks are read (see
/// `runtime::task`). The happens-before of the release is this thread's.
#[inline(always)]
pub(crate) fn release(meta: &LockMeta, kind: LockKind, mode: AcquireMode, holder: u64) {
    if fast_path::fast_only() {
        let id = meta.release_id();
        // SAFETY: the closure only pops the stack.
        let popped = unsafe {
            with_thread_unmarked(
                #[inline(always)]
                |t| {
                    if t.holder_id() == holder {
                        t.release_top(id, kind, mode)
                    } else {
                        None
                    }
                },
            )
        }
        .flatten();
        if let Some(in_graph) = popped {
            if in_graph {
                meta.mark_in_graph();
            }
            return;
        }
    }
    release_slow(meta, kind, mode, holder);
}

/// A write hold of an async RwLock taken by `holder` becomes a read hold
/// (a write guard's `downgrade`, at `site`): in place when `holder` is
/// the one polled (or running) here, as a blocking RwLock's downgrade;
/// from another holder, its write hold is released to `holder` and this
/// holder takes the read hold as a try (the lock is held: it cannot
/// wait). Gives the holder of the read hold, 0 when untracked.
pub(crate) fn downgraded(
    meta: &LockMeta,
    kind: LockKind,
    holder: u64,
    site: &'static Location<'static>,
) -> u64 {
    let here = task::current_holder();
    if here == Some(holder) {
        acquire::change_mode(meta, AcquireMode::Exclusive, AcquireMode::Read);
        return holder;
    }
    release(meta, kind, AcquireMode::Exclusive, holder);
    match tried(meta, AcquireMode::Read, site) {
        Some(()) => here.unwrap_or(0),
        None => 0,
    }
}

#[inline(never)]
fn release_slow(meta: &LockMeta, kind: LockKind, mode: AcquireMode, holder: u64) {
    if task::current_holder() == Some(holder) {
        acquire::release(meta, kind, mode);
        return;
    }
    let id = meta.id();
    // The lock may be a node of the graph; its drop must look there.
    meta.mark_in_graph();
    task::release_elsewhere(holder, id, kind, mode);
    if recorder::on() {
        let event = Event::Release {
            thread: ThreadId(holder),
            lock: meta.info(),
            site: Site::from(meta.created()),
        };
        recorder::record(ThreadId(holder), &event, None);
    }
    if hb::active() {
        hb::releasing(meta, mode);
    }
}
