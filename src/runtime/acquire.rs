//! The acquisition protocol shared by every wrapper lock.
//!
//! Fast path (the case that matters for speed): nothing held, or a held-lock
//! stack whose chain key this thread validated before, and the raw `try_lock`
//! succeeds. Then the cost is one thread-local push: no global lock, no
//! allocation, no backtrace, no graph search. The wrappers inline it with
//! no call on the way ([`acquire_fast_only`], [`release_fast`]) and keep
//! the rest in methods of their own, so that it needs no stack frame.
//!
//! Slow paths, in order:
//! 1. a new held-lock stack: check self-deadlock, add order edges and look for
//!    cycles (under the graph's lock), remember the chain key; except for a
//!    mutex's first use under exactly one held lock, whose edge is parked
//!    instead (see `leaf_edges`);
//! 2. the lock is taken: a thread that holds nothing waits as parking_lot
//!    does (it cannot be part of a wait cycle); any other checks
//!    self-deadlock against what it holds, spins briefly, waits a short grace
//!    period (most contention ends there), then registers in the wait-for
//!    graph; if that closes a cycle of blocked threads, it reports the
//!    deadlock and panics, which breaks it. What it reports on the way (the
//!    deadlock, a self-deadlock, a cycle found just before it blocks) is
//!    symbolised after the break or the wait (see `late_report`).

use std::panic::Location;
use std::time::Duration;

use smallvec::SmallVec;

use crate::detect::findings;
use crate::detect::lock_order::Cycle;
use crate::detect::self_deadlock;
use crate::detect::wait_for::{Blocked, JoinWaiter, Waiter};
use crate::detect::OrderGranularity;
use crate::event::{
    AcquireMode, Attempt, Event, HeldLock, LockId, LockInfo, LockKind, Site, ThreadId, ThreadInfo,
};
use crate::runtime::config;
use crate::runtime::fast_path::{self, Path};
use crate::runtime::global::global;
use crate::runtime::hb;
use crate::runtime::late_report::{Frames, Gate, LateFinding};
use crate::runtime::leaf_edges;
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::nobody_left;
use crate::runtime::policy::{abort_hang, break_hang, report, report_late, Severity};
use crate::runtime::recorder;
use crate::runtime::thread_state::{
    chain_mix, with_thread, with_thread_unmarked, HeldEntry, ThreadState,
};
use crate::runtime::{capture, capture_edge, user_site};
use crate::stack::CallStack;

/// How long a contended acquire waits before it joins the wait-for graph.
/// Short waits are the common case and should not pay for the global graph;
/// a real deadlock is still reported well within a second.
pub(crate) const GRACE: Duration = Duration::from_millis(50);

/// The raw operations of one acquisition, supplied by the wrapper.
pub(crate) struct RawAcquire<TryNow, TryFor, Block> {
    /// Take the lock if it is free now.
    pub(crate) try_now: TryNow,
    /// Take it within a timeout.
    pub(crate) try_for: TryFor,
    /// Take it, however long that takes (called at most once).
    pub(crate) block: Block,
}

pub(super) enum Plan {
    /// Checking is off or the thread is being torn down.
    Untracked,
    /// A reentrant mutex this thread owns: it cannot block.
    Reentry,
    /// A stack already validated (or empty): only the raw lock is left.
    Known(u64),
    /// A stack never seen: validate first.
    Validate(u64),
}

/// What a lock is ordered by: its id, or its class's key when the user
/// asked for class order.
#[derive(Copy, Clone)]
pub(super) struct OrderKey {
    pub(super) key: u64,
    pub(super) by_class: bool,
}

impl OrderKey {
    /// Ordered as the instance `id`: the default, and the fast path's only.
    #[inline(always)]
    pub(super) fn instance(id: LockId) -> Self {
        OrderKey {
            key: id.0,
            by_class: false,
        }
    }
}

#[inline]
pub(super) fn order_key(meta: &LockMeta, id: LockId) -> OrderKey {
    match config::order_granularity() {
        OrderGranularity::Instance => OrderKey::instance(id),
        OrderGranularity::Class => OrderKey {
            key: meta.info().class_key(),
            by_class: true,
        },
    }
}

/// Runs `f` on this thread's identity and the locks it holds, copied out of
/// its state for the detectors: onto the stack for the usual few, so that
/// validating a new order edge allocates nothing.
fn with_thread_and_held<R>(f: impl FnOnce(&ThreadInfo, &[HeldLock]) -> R) -> R {
    // Holds an async guard dropped elsewhere gave up leave first.
    crate::runtime::task::settle_elsewhere();
    let mut held = SmallVec::<[HeldLock; 4]>::new();
    let thread = with_thread(|t| {
        held.extend(t.held.iter().map(HeldEntry::held_lock));
        t.info()
    })
    .unwrap_or(ThreadInfo {
        id: crate::event::ThreadId(0),
        name: None,
        task: false,
    });
    f(&thread, &held)
}

/// This thread's identity and held locks, owned (for the wait-for graph and
/// reports).
pub(crate) fn thread_and_held() -> (ThreadInfo, Vec<HeldLock>) {
    with_thread_and_held(|thread, held| (thread.clone(), held.to_vec()))
}

/// Acquires a lock by a blocking call, with every check. Called past the
/// wrapper's own try of the fast path ([`acquire_fast_only`]), which covers
/// [`Path::Fast`]: under it the try here is a second one (a first use, a
/// new stack or a taken lock go on to [`acquire_checked`] either way); with
/// race checking live it is the first, and carries clocks. Returns the raw
/// guard and whether the acquisition was tracked (the guard must then
/// release it).
#[inline(always)]
#[track_caller]
pub(crate) fn acquire<G>(
    meta: &LockMeta,
    kind: LockKind,
    mode: AcquireMode,
    site: &'static Location<'static>,
    raw: RawAcquire<impl Fn() -> Option<G>, impl FnOnce(Duration) -> Option<G>, impl Fn() -> G>,
) -> (G, bool) {
    let path = fast_path::path();
    if path != Path::Checked && kind != LockKind::ReentrantMutex {
        // A thread that holds nothing blocks here at once: `contended`'s
        // waiting rule, applied before the retries on the way there. Each
        // retry reads the raw lock's word, and under contention every read
        // pulls its cache line from the holder (2 threads contending: 1.36x
        // parking_lot's time against 1.17x, medians of repeated runs).
        let take = |holds_none: bool| {
            if holds_none {
                Some((raw.block)())
            } else {
                (raw.try_now)()
            }
        };
        if let Some(guard) = acquire_fast(meta, mode, site, take) {
            if path == Path::FastWithClocks {
                hb::acquired(meta, mode);
            }
            return (guard, true);
        }
    }
    acquire_checked(meta, mode, site, raw)
}

/// The fast path alone, for a wrapper that keeps everything else in a
/// method of its own (see `sync::fast`): `None`, having done nothing, when
/// that method must run. Only [`Path::Fast`], whose test makes no call: with
/// no call left on the way, the wrapper's fast path needs no stack frame,
/// and the stores a frame makes would wait on the raw lock's atomics.
#[inline(always)]
pub(crate) fn acquire_fast_only<G>(
    meta: &LockMeta,
    kind: LockKind,
    mode: AcquireMode,
    site: &'static Location<'static>,
    try_now: &impl Fn() -> Option<G>,
) -> Option<G> {
    if !fast_path::fast_only() || kind == LockKind::ReentrantMutex {
        return None;
    }
    // Only a try: blocking here would put a call, and so a stack frame, on
    // the wrapper's inline path.
    acquire_fast(meta, mode, site, |_| try_now())
}

/// The fast path: a lock that has an id, a held stack already validated
/// (or empty), and a raw lock free now. Everything else (a first use, a new
/// stack, contention) goes to [`acquire_checked`], which tries again from
/// the start; so does every reentrant mutex, which the caller keeps away
/// from here. `take` takes the raw lock, told whether this thread holds
/// nothing (and so may block: see [`acquire`]).
#[inline(always)]
fn acquire_fast<G>(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
    take: impl FnOnce(bool) -> Option<G>,
) -> Option<G> {
    let id = meta.assigned_id()?;
    // SAFETY: the closure calls nothing but the raw lock's `try_lock` or
    // blocking lock (neither reaches lockcheck), and pushes only where it
    // checked there is room.
    unsafe {
        with_thread_unmarked(
            #[inline(always)]
            |t| {
                if !t.ready_for_fast_push() {
                    return None;
                }
                let chain = chain_mix(t.chain(), id.0, mode);
                if !(t.held.is_empty()
                    || t.knows(chain)
                    || meta.validated() == chain ^ t.ready_salt())
                {
                    return None;
                }
                // Read from the lock before its raw lock is taken: loads issued
                // after the atomic wait for it, loads issued before overlap it.
                // (But written after: stores issued before it would lengthen
                // the gap between this thread's unlock and its next lock,
                // and under contention that gap decides how often the lock
                // changes hands: 1.6x parking_lot's time against 1.2x.)
                let entry = entry(meta, id, OrderKey::instance(id), chain, mode, site);
                let guard = take(t.awaited_by_nobody())?;
                // Within the outer `unsafe`: `ready_for_fast_push` saw
                // `len < room`, and `room` is at most `MAX_HELD`.
                t.held.push_unchecked(entry);
                Some(guard)
            },
        )
    }
    .flatten()
}

/// Every acquisition the fast path does not take: kept out of line, so that
/// the wrapper's own code stays small.
#[inline(never)]
#[track_caller]
fn acquire_checked<G>(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
    raw: RawAcquire<impl Fn() -> Option<G>, impl FnOnce(Duration) -> Option<G>, impl FnOnce() -> G>,
) -> (G, bool) {
    if !config::enabled() {
        return ((raw.block)(), false);
    }
    let (id, first_use) = meta.id_first_use();
    let try_now = &raw.try_now;
    // A mutex's first use under one other lock: its edge waits aside.
    if first_use && may_park(meta) {
        if let Some(guard) = with_thread(|t| park_leaf_edge(t, meta, id, site, try_now)).flatten() {
            synchronised(meta, mode);
            trace_request(meta, mode, site);
            trace_acquire(meta, mode, Attempt::Blocking, site);
            return (guard, true);
        }
    }
    let key = order_key(meta, id);
    // What `acquire_fast` declined, or a path that must also record or key
    // order by class: a known stack and a free lock still cost one visit to
    // the thread's state, one raw try and one push. (Not a pending mutex:
    // it must be settled before its entry is pushed, and settling may
    // report.)
    let outcome = with_thread(|t| {
        let plan = plan(t, meta, id, key.key, mode);
        if let Plan::Known(chain) = plan {
            if meta.pending() {
                return Err(plan);
            }
            if let Some(guard) = try_now() {
                t.push(entry(meta, id, key, chain, mode, site));
                return Ok(guard);
            }
        }
        Err(plan)
    });
    let plan = match outcome {
        Some(Ok(guard)) => {
            synchronised(meta, mode);
            trace_acquire(meta, mode, Attempt::Blocking, site);
            return (guard, true);
        }
        Some(Err(plan)) => plan,
        None => Plan::Untracked,
    };
    match plan {
        Plan::Untracked => ((raw.block)(), false),
        Plan::Reentry => {
            let guard = (raw.block)();
            trace_acquire(meta, mode, Attempt::Blocking, site);
            (guard, true)
        }
        Plan::Known(chain) => {
            // Taken (tried above), or a pending mutex (not tried yet).
            let untried = meta.pending().then(try_now).flatten();
            // A match, not a closure: a deadlock broken in `contended`
            // panics at the user's call (`track_caller` stops at a closure).
            let guard = match untried {
                Some(guard) => guard,
                None => {
                    let lock = meta.info();
                    trace_request(meta, mode, site);
                    contended(
                        &lock,
                        mode,
                        site,
                        Vec::new(),
                        try_now,
                        raw.try_for,
                        raw.block,
                    )
                }
            };
            // A panic here drops `guard`; nothing is pushed.
            leaf_edges::settle(meta);
            push(entry(meta, id, key, chain, mode, site), false);
            synchronised(meta, mode);
            trace_acquire(meta, mode, Attempt::Blocking, site);
            (guard, true)
        }
        Plan::Validate(chain) => {
            let lock = meta.info();
            trace_request(meta, mode, site);
            let pending = validate(meta, &lock, mode, site);
            let (guard, pending) = match try_now() {
                Some(g) => (g, pending),
                None => (
                    contended(&lock, mode, site, pending, try_now, raw.try_for, raw.block),
                    Vec::new(),
                ),
            };
            // A panic here (policy `panic`) drops `guard`, so the raw lock
            // is released and nothing is pushed.
            leaf_edges::settle(meta);
            emit(pending);
            push(entry(meta, id, key, chain, mode, site), true);
            if let Some(salt) = with_thread(|t| t.salt()) {
                meta.set_validated(chain ^ salt);
            }
            synchronised(meta, mode);
            trace_acquire(meta, mode, Attempt::Blocking, site);
            (guard, true)
        }
    }
}

/// Whether an edge into `meta`'s lock may be parked instead of validated:
/// only a pending mutex's, only under instance order (a class outlives its
/// locks), and only without whole backtraces (a parked edge keeps no stack;
/// for caller stacks, see `park_leaf_edge`).
#[inline]
fn may_park(meta: &LockMeta) -> bool {
    meta.pending()
        && config::order_granularity() == OrderGranularity::Instance
        && !config::backtraces()
}

/// A mutex's first use, by a thread that holds exactly one other lock and
/// keeps no parked edge: takes the mutex if it is free, parks the edge from
/// the held lock into it (see `leaf_edges`) and pushes its entry. Taking
/// it before any validation is safe: nothing is held that it could
/// conflict with. `None`, having done nothing, in every other case.
#[inline]
fn park_leaf_edge<G>(
    t: &mut ThreadState,
    meta: &LockMeta,
    id: LockId,
    site: &'static Location<'static>,
    try_now: &impl Fn() -> Option<G>,
) -> Option<G> {
    let [outer] = t.held[..] else {
        return None;
    };
    // A first use: the id is new, so the held lock is another one.
    debug_assert!(outer.id != id);
    if t.kept.is_some() {
        return None;
    }
    // A parked edge keeps no stack: while this site's budget of caller
    // stacks lasts, the edge goes into the graph with one instead.
    if config::backtrace_mode() == config::Backtraces::Callers
        && t.callers.has_room(site, config::caller_stacks_per_site())
    {
        return None;
    }
    let guard = try_now()?;
    let mode = AcquireMode::Exclusive;
    let chain = chain_mix(t.chain(), id.0, mode);
    let thread = t.id();
    let edge = leaf_edges::ParkedEdge::new(thread, &outer, site, hb::structural_epoch(thread));
    leaf_edges::keep_own(t, id, edge);
    // The outer lock is the source of an edge that may enter the graph:
    // its release marks it, so that its drop looks there.
    t.held[0].in_graph = true;
    t.remember(chain);
    t.push(entry(meta, id, OrderKey::instance(id), chain, mode, site));
    meta.set_validated(chain ^ t.salt());
    Some(guard)
}

#[inline(always)]
pub(super) fn entry(
    meta: &LockMeta,
    id: LockId,
    key: OrderKey,
    chain: u64,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> HeldEntry {
    HeldEntry {
        id,
        chain,
        site,
        desc: meta.desc(),
        reentries: 0,
        mode,
        in_graph: false,
        by_class: key.by_class,
    }
}

/// Acquires by `try_lock` (or a timed try): it cannot wait forever, so it adds
/// no order edge into the tried lock and never joins the wait-for graph; once
/// held, the lock is a source of edges like any other.
#[inline]
#[track_caller]
pub(crate) fn try_acquire<G>(
    meta: &LockMeta,
    mode: AcquireMode,
    site: &'static Location<'static>,
    attempt: impl FnOnce() -> Option<G>,
) -> Option<(G, bool)> {
    if !config::enabled() {
        return attempt().map(|g| (g, false));
    }
    let id = meta.id();
    let key = order_key(meta, id);
    let reentry = with_thread(|t| {
        if meta.kind() == LockKind::ReentrantMutex {
            if let Some(e) = t.find_mut(id) {
                e.reentries += 1;
                return Some(true);
            }
        }
        Some(false)
    })
    .flatten();
    let guard = attempt();
    match (reentry, guard) {
        (None, g) => g.map(|g| (g, false)),
        (Some(true), Some(g)) => {
            trace_acquire(meta, mode, Attempt::Try, site);
            Some((g, true))
        }
        (Some(true), None) => {
            // The owner's try cannot fail; undo the count if it somehow did.
            with_thread(|t| {
                if let Some(e) = t.find_mut(id) {
                    e.reentries -= 1;
                }
            });
            None
        }
        (Some(false), Some(g)) => {
            leaf_edges::settle(meta);
            let chain = with_thread(|t| chain_mix(t.chain(), key.key, mode)).unwrap_or(0);
            push(entry(meta, id, key, chain, mode, site), false);
            synchronised(meta, mode);
            trace_acquire(meta, mode, Attempt::Try, site);
            Some((g, true))
        }
        (Some(false), None) => None,
    }
}

#[inline(always)]
pub(super) fn plan(
    t: &mut ThreadState,
    meta: &LockMeta,
    id: LockId,
    key: u64,
    mode: AcquireMode,
) -> Plan {
    if meta.kind() == LockKind::ReentrantMutex {
        if let Some(e) = t.find_mut(id) {
            e.reentries += 1;
            return Plan::Reentry;
        }
    }
    let chain = chain_mix(t.chain(), key, mode);
    // The thread's cache is small and bounded; the lock's own one-entry
    // memory covers the case that overflows it: many locks, each taken
    // under the same held stack (an outer lock and thousands of inner ones).
    if t.held.is_empty() || t.knows(chain) || meta.validated() == chain ^ t.salt() {
        Plan::Known(chain)
    } else {
        Plan::Validate(chain)
    }
}

#[inline]
pub(super) fn push(entry: HeldEntry, validated: bool) {
    with_thread(|t| {
        if validated {
            t.remember(entry.chain);
            // Every held lock is now a source of an order edge: a node that
            // must leave the graph when its lock is dropped (see `release`).
            for e in t.held.iter_mut() {
                e.in_graph = true;
            }
        }
        t.push(entry);
    });
}

/// Records an event about this lock when the run is recorded.
#[cold]
#[inline(never)]
fn trace(meta: &LockMeta, make: impl FnOnce(ThreadId, LockInfo) -> Event) {
    recorder::record_here(|thread| make(thread, meta.info()));
}

/// Records a guard's release. Its drop has no caller location, so the
/// release is placed at the acquisition it ends.
#[cold]
#[inline(never)]
fn trace_release(meta: &LockMeta, id: LockId) {
    let site = with_thread(|t| t.find_mut(id).map(|e| Site::from(e.site))).flatten();
    trace(meta, |thread, lock| Event::Release {
        thread,
        lock,
        site: site.unwrap_or_else(|| Site::from(meta.created())),
    });
}

/// Records a blocking request: the thread may wait from here on.
#[inline(always)]
pub(super) fn trace_request(meta: &LockMeta, mode: AcquireMode, site: &'static Location<'static>) {
    if recorder::on() {
        trace(meta, |thread, lock| Event::Request {
            thread,
            lock,
            mode,
            site: Site::from(site),
        });
    }
}

/// Records an acquisition, after the raw lock was taken.
#[inline(always)]
pub(super) fn trace_acquire(
    meta: &LockMeta,
    mode: AcquireMode,
    attempt: Attempt,
    site: &'static Location<'static>,
) {
    if recorder::on() {
        trace(meta, |thread, lock| Event::Acquire {
            thread,
            lock,
            mode,
            attempt,
            site: Site::from(site),
        });
    }
}

/// Happens-before from the lock's last release to this acquisition (race
/// checking; one relaxed load while no `Shared` exists).
#[inline(always)]
pub(super) fn synchronised(meta: &LockMeta, mode: AcquireMode) {
    if hb::active() {
        hb::acquired(meta, mode);
    }
}

/// Releases one hold; called by a guard's `Drop` before the raw unlock.
/// `kind` is the wrapper's constant.
#[inline(always)]
pub(crate) fn release(meta: &LockMeta, kind: LockKind, mode: AcquireMode) {
    let path = fast_path::path();
    if path != Path::Checked && pop_top(meta, kind, mode) {
        if path == Path::FastWithClocks {
            hb::releasing(meta, mode);
        }
        return;
    }
    release_checked(meta, mode);
}

/// [`release`]'s fast path alone, for a guard that keeps everything else
/// out of line (see [`acquire_fast_only`]): true when it released the hold;
/// false, having done nothing, when the guard must release the slow way
/// ([`release_guard`] does both; a mutex guard calls [`release`] itself).
#[inline(always)]
pub(crate) fn release_fast(meta: &LockMeta, kind: LockKind, mode: AcquireMode) -> bool {
    fast_path::fast_only() && pop_top(meta, kind, mode)
}

/// Every release [`release_fast`] declines, out of line.
#[inline(never)]
fn release_slow(meta: &LockMeta, kind: LockKind, mode: AcquireMode) {
    release(meta, kind, mode);
}

/// Releases a guard's hold, if it is tracked, before its raw guard unlocks:
/// the fast path inline, the rest out of line. For guards whose raw guard
/// unlocks by itself afterwards (a mutex guard unlocks by hand, and keeps
/// its slow path a method of its own that also unlocks).
#[inline(always)]
pub(crate) fn release_guard(meta: &LockMeta, kind: LockKind, mode: AcquireMode, tracked: bool) {
    if tracked && !release_fast(meta, kind, mode) {
        release_slow(meta, kind, mode);
    }
}

/// Pops this hold if it is the innermost entry and the last hold of its
/// lock, as a guard dropped in order finds it. A tracked guard's lock has
/// its id; a pending one reads with its mark, which no entry carries, so
/// its release goes the slow way.
#[inline(always)]
fn pop_top(meta: &LockMeta, kind: LockKind, mode: AcquireMode) -> bool {
    let id = meta.release_id();
    // SAFETY: `release_top` only pops the stack.
    let popped = unsafe {
        with_thread_unmarked(
            #[inline(always)]
            |t| t.release_top(id, kind, mode),
        )
    };
    match popped {
        Some(Some(in_graph)) => {
            if in_graph {
                meta.mark_in_graph();
            }
            true
        }
        _ => false,
    }
}

/// Every release [`release`] does not finish itself: a recorded run, race
/// checking, a guard dropped out of order, a reentrant hold.
#[inline(never)]
fn release_checked(meta: &LockMeta, mode: AcquireMode) {
    let id = meta.id();
    leaf_edges::on_release(meta, id);
    if recorder::on() {
        trace_release(meta, id);
    }
    let last_hold = with_thread(|t| t.release(id, meta.kind(), mode)).flatten();
    if last_hold.is_some() && hb::active() {
        hb::releasing(meta, mode);
    }
    if last_hold == Some(true) {
        meta.mark_in_graph();
    }
}

/// Findings of a validation, reported once the lock is acquired (or before
/// the thread blocks), so that a cycle that turns into a real deadlock is
/// one `deadlock` finding. Made when reported: a thread about to block
/// must not symbolise first.
pub(super) type Pending = Vec<(LateFinding, Severity)>;

/// Reports what validation found, now that the lock is taken.
#[track_caller]
pub(super) fn emit(pending: Pending) {
    for (late, severity) in pending {
        report(late.make(Frames::Symbolised), severity);
    }
}

/// Reports what validation found before this thread blocks: symbolised
/// once it has entered its wait (which may close a deadlock that the other
/// threads of the cycle wait on it to break), when the returned gates are
/// dropped.
#[track_caller]
fn emit_before_waiting(pending: Pending) -> Vec<Gate> {
    // A loop, not a closure: a panic in a closure would be located there,
    // not at the user's call.
    let mut gates = Vec::new();
    for (late, severity) in pending {
        gates.extend(report_late(late, severity));
    }
    gates
}

/// A self-deadlock finding, made when it is reported.
fn self_deadlock_finding(
    thread: &ThreadInfo,
    held: &[HeldLock],
    lock: &LockInfo,
    mode: AcquireMode,
    site: Site,
    conflict: self_deadlock::SelfConflict,
    backtrace: Option<CallStack>,
) -> LateFinding {
    let (thread, held, lock) = (thread.clone(), held.to_vec(), lock.clone());
    LateFinding::new(backtrace.is_some(), move |frames| {
        findings::self_deadlock(
            &thread,
            &held,
            &lock,
            mode,
            site,
            conflict,
            frames.stack(&backtrace),
        )
    })
}

/// A lock-order cycle finding, made when it is reported.
fn cycle_finding(cycle: Cycle) -> LateFinding {
    let stacks = cycle.edges.iter().any(|e| e.backtrace.is_some());
    LateFinding::new(stacks, move |frames| {
        findings::lock_order_cycle(&frames.cycle(&cycle))
    })
}

/// The finding of a deadlock this thread closed and is about to break.
fn deadlock_finding(waiters: Vec<Blocked>, order: Option<Cycle>) -> LateFinding {
    let stacks = waiters.iter().any(|w| w.backtrace().is_some())
        || order
            .iter()
            .flat_map(|c| &c.edges)
            .any(|e| e.backtrace.is_some());
    LateFinding::new(stacks, move |frames| {
        let order = order.as_ref().map(|c| frames.cycle(c));
        let waiters = with_frames(&waiters, frames);
        findings::deadlock_of_waits(&waiters, order.as_deref(), findings::DeadlockSeen::Broken)
    })
}

/// The blocked threads with their backtraces as `frames` makes them.
pub(crate) fn with_frames(waiters: &[Blocked], frames: Frames) -> Vec<Blocked> {
    waiters
        .iter()
        .map(|w| {
            let stack = frames.stack(w.backtrace()).clone();
            w.clone().with_backtrace(stack)
        })
        .collect()
}

#[track_caller]
pub(super) fn validate(
    meta: &LockMeta,
    lock: &LockInfo,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Pending {
    let location = site;
    let site = user_site::site(site);
    // The held locks become sources of edges: an edge parked into one of
    // them must be in the graph first. (Outside the closure below, as every
    // report is: a closure would locate a panic here, not at the user's call.)
    leaf_edges::unpark_own();
    let validated = with_thread_and_held(|thread, held| {
        let mut pending = Pending::new();
        if let Some((conflict, _)) = self_deadlock::check(held, lock, mode) {
            let finding =
                self_deadlock_finding(thread, held, lock, mode, site, conflict, capture());
            match conflict {
                self_deadlock::SelfConflict::Certain => return Err(finding),
                self_deadlock::SelfConflict::WhenWriterWaits => {
                    pending.push((finding, Severity::Hazard))
                }
            }
        }
        let new = HeldLock {
            lock: lock.clone(),
            mode,
            site,
        };
        // The structural clock (spawn, join, messages; not locks) tells
        // whether this cycle's edges happened one after the other on every
        // schedule.
        let structural = hb::structural_clock();
        let cycles = global().order.lock().on_acquire_at(
            thread,
            held,
            &new,
            structural.as_ref(),
            &mut || capture_edge(location),
        );
        meta.mark_in_graph();
        for cycle in cycles {
            pending.push((cycle_finding(cycle), Severity::Hazard));
        }
        Ok(pending)
    });
    match validated {
        Ok(pending) => pending,
        // The thread would block forever.
        Err(certain) => break_hang(certain),
    }
}

/// The raw lock is taken by someone. Never returns if this thread would wait
/// forever: it reports and panics instead.
#[track_caller]
fn contended<G>(
    lock: &LockInfo,
    mode: AcquireMode,
    site: &'static Location<'static>,
    pending: Pending,
    try_now: impl Fn() -> Option<G>,
    try_for: impl FnOnce(Duration) -> Option<G>,
    block: impl FnOnce() -> G,
) -> G {
    let (holds_none, holds_this) =
        with_thread(|t| (t.awaited_by_nobody(), t.holds(lock.id))).unwrap_or((false, false));
    if holds_none {
        // No thread can wait for one that holds no lock and that no
        // lockcheck join waits for (the main thread, a std thread), so this
        // one cannot close a wait cycle: it waits as parking_lot does
        // (spinning, then parked), without the grace period's clock reads or
        // the wait-for graph, which then holds only threads that others may
        // wait for. A thread spawned by `lockcheck::thread` may be joined,
        // and so goes on even when it holds nothing. (`acquire` applies the
        // same rule on the fast path.)
        emit(pending);
        return block();
    }
    // Most contention ends within the grace period: the thread's identity
    // and held locks are copied out only when they are needed.
    if holds_this {
        break_if_waiting_for_itself(lock, mode, site);
    }
    if let Some(g) = crate::raw::spin_briefly(&try_now).or_else(|| try_for(GRACE)) {
        emit(pending);
        return g;
    }
    // Report what validation found before blocking: a hang must not swallow it.
    let symbolise_after = emit_before_waiting(pending);
    let (thread, held) = thread_and_held();
    let _waiting = enter_wait(thread, held, lock, mode, user_site::site(site));
    drop(symbolise_after);
    block()
}

/// `lock` is taken and this holder holds it: if it holds it in a way that
/// conflicts with `mode` (or a writer queued behind its read), it would
/// wait for itself forever, whatever the mode, which is reported and
/// broken here by a panic. Shared by the blocking locks and the async ones
/// (`async_acquire::contended`).
#[track_caller]
pub(super) fn break_if_waiting_for_itself(
    lock: &LockInfo,
    mode: AcquireMode,
    site: &'static Location<'static>,
) {
    let (thread, held) = thread_and_held();
    if self_deadlock::check(&held, lock, mode).is_some() {
        let conflict = self_deadlock::SelfConflict::Certain;
        let site = user_site::site(site);
        let finding = self_deadlock_finding(&thread, &held, lock, mode, site, conflict, capture());
        break_hang(finding);
    }
}

/// A thread registered in the wait-for graph; it leaves when this drops.
pub(crate) struct Waiting {
    pub(crate) thread: crate::event::ThreadId,
    /// Its wait wakes up now and then to check the second rule (see
    /// `nobody_left`): it may be the one that breaks a deadlock of it.
    sliced: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        global().waits.lock().unblock(self.thread);
        if self.sliced {
            nobody_left::forget(self.thread);
        }
    }
}

/// Registers this thread as blocked on `lock`. If that closes a cycle of
/// blocked threads, reports the deadlock and panics instead, which breaks it.
#[track_caller]
fn enter_wait(
    thread: ThreadInfo,
    held: Vec<HeldLock>,
    lock: &LockInfo,
    mode: AcquireMode,
    site: Site,
) -> Waiting {
    // A lock wait blocks in the raw lock until it gets it: it cannot wake
    // to break a deadlock of the second rule (another thread of it does).
    register_wait(
        Blocked::Lock(Waiter {
            thread,
            lock: lock.clone(),
            mode,
            site,
            held,
            backtrace: capture(),
        }),
        false,
        OnCycle::Panic,
    )
}

/// Registers a blocked thread of any kind (a lock wait, a join, a wait on
/// a primitive). If that closes a cycle of blocked threads, reports the
/// deadlock and panics instead, which breaks it (or, for `how` =
/// [`OnCycle::Abort`], aborts once it is reported). A wait that is
/// `sliced` wakes up now and then to check the second rule.
#[track_caller]
pub(crate) fn register_wait(waiter: Blocked, sliced: bool, how: OnCycle) -> Waiting {
    register(waiter, sliced, false, how)
}

/// Registers a task that awaits an async lock (it blocks no thread: see
/// `WaitForGraph::block_parked`); as [`register_wait`], a cycle it closes
/// is reported and broken by a panic here, which ends the task.
#[cfg(feature = "tokio")]
#[track_caller]
pub(crate) fn register_parked_wait(waiter: Blocked) -> Waiting {
    register(waiter, false, true, OnCycle::Panic)
}

#[track_caller]
fn register(waiter: Blocked, sliced: bool, parked: bool, how: OnCycle) -> Waiting {
    let id = waiter.thread().id;
    if sliced {
        // Before it is in the graph: a look at the graph that counts it
        // finds its rank.
        nobody_left::rank(id, waiter.thread());
    }
    let deadlock = if parked {
        global().waits.lock().block_parked(waiter)
    } else {
        global().waits.lock().block_wait(waiter)
    };
    if let Some(waiters) = deadlock {
        if sliced {
            nobody_left::forget(id);
        }
        // The lock-order edges behind it exist only when every wait is a
        // lock wait.
        let locks: Option<Vec<Waiter>> = waiters
            .iter()
            .map(|w| match w {
                Blocked::Lock(l) => Some(l.clone()),
                Blocked::Join(_) | Blocked::Primitive(_) => None,
            })
            .collect();
        let order = locks.and_then(|l| global().order.lock().order_behind(&l));
        let finding = deadlock_finding(waiters, order);
        match how {
            OnCycle::Panic => break_hang(finding),
            OnCycle::Abort => abort_hang(finding),
        }
    }
    let waiting = Waiting { thread: id, sliced };
    if sliced {
        // The latest thread to block may be the last one running: start
        // the second rule's clock now.
        nobody_left::observe();
    }
    waiting
}

/// How a wait that closes a cycle breaks it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum OnCycle {
    /// A panic in this thread: it releases what it holds as it unwinds.
    Panic,
    /// The process aborts once the report is out: a panic here would not
    /// release what the cycle waits for (the end of a scope, whose thread
    /// holds only locks taken outside it, and whose std scope would wait
    /// for its threads anyway).
    Abort,
}

/// A join that did not return within the grace period: this thread waits
/// for the end of `joins`, so it joins the wait-for graph (if `joins` waits
/// for a lock this thread holds, that is a deadlock, broken here; at the
/// end of a scope, by aborting: see [`OnCycle`]). A joiner that holds
/// nothing cannot close a cycle, but is there all the same, for the
/// second rule. `None` when checking is off. The join must call
/// [`Waiting::stuck`] now and then (see `nobody_left`).
#[track_caller]
pub(crate) fn wait_to_join(joins: ThreadInfo, site: Site, how: OnCycle) -> Option<Waiting> {
    // Not in a closure: `track_caller` stops at one, and a deadlock
    // broken here panics at the caller's join.
    let waiter = join_waiter(joins, site)?;
    Some(register_wait(waiter, true, how))
}

/// This holder, as a waiter for the end of `joins` at `site`; `None` when
/// checking is off.
fn join_waiter(joins: ThreadInfo, site: Site) -> Option<Blocked> {
    if !config::enabled() {
        return None;
    }
    let (thread, held) = thread_and_held();
    Some(Blocked::Join(JoinWaiter {
        thread,
        joins,
        site,
        held,
        backtrace: capture(),
    }))
}

/// An instrumented task's await of another task's end (a
/// `lockcheck::tokio::JoinHandle`) pending past the grace period: a
/// parked join in the wait-for graph (in cycles, blocking no thread). If
/// it closes a cycle, the deadlock is reported and this panics, which ends
/// the awaiting task. `None` when checking is off.
#[cfg(feature = "tokio")]
pub(crate) fn park_to_join(joins: ThreadInfo, site: Site) -> Option<Waiting> {
    let waiter = join_waiter(joins, site)?;
    Some(register_parked_wait(waiter))
}

/// Marks this thread as one a lockcheck join may wait for (a thread
/// spawned by `lockcheck::thread`).
pub(crate) fn mark_joinable() {
    with_thread(|t| t.joinable = true);
}

/// An `upgrade()` that did not get the lock within the grace period: it
/// waits for the other readers, so it joins the wait-for graph like any
/// writer (a reader that waits for a lock this thread holds deadlocks it).
#[track_caller]
pub(crate) fn wait_for_upgrade(
    meta: &LockMeta,
    site: &'static Location<'static>,
) -> Option<Waiting> {
    if !config::enabled() {
        return None;
    }
    let (thread, held) = thread_and_held();
    Some(enter_wait(
        thread,
        held,
        &meta.info(),
        AcquireMode::Exclusive,
        user_site::site(site),
    ))
}

/// Checks an `upgrade()` of an upgradable read, which waits for every reader.
#[track_caller]
pub(crate) fn check_upgrade(meta: &LockMeta, site: &'static Location<'static>) {
    if !config::enabled() {
        return;
    }
    trace_request(meta, AcquireMode::Exclusive, site);
    let lock = meta.info();
    let (thread, held) = thread_and_held();
    if self_deadlock::check_upgrade(&held, &lock).is_some() {
        let finding = self_deadlock_finding(
            &thread,
            &held,
            &lock,
            AcquireMode::Exclusive,
            user_site::site(site),
            self_deadlock::SelfConflict::Certain,
            capture(),
        );
        break_hang(finding);
    }
}

/// Changes the mode of a held lock in place (upgrade, downgrade).
pub(crate) fn change_mode(meta: &LockMeta, from: AcquireMode, to: AcquireMode) {
    let id = meta.id();
    let site = with_thread(|t| {
        let i = t.held.iter().rposition(|e| e.id == id && e.mode == from)?;
        t.held[i].mode = to;
        t.rechain(i);
        Some(Site::from(t.held[i].site))
    })
    .flatten();
    if recorder::on() {
        trace(meta, |thread, lock| Event::ChangeMode {
            thread,
            lock,
            from,
            to,
            site: site.unwrap_or_else(|| Site::from(meta.created())),
        });
    }
    if hb::active() {
        match (from, to) {
            // A downgrade lets readers in: what the writer did is released.
            (AcquireMode::Exclusive, _) => hb::releasing(meta, AcquireMode::Exclusive),
            // An upgrade waited for the readers to leave: it acquires them.
            (_, AcquireMode::Exclusive) => hb::acquired(meta, AcquireMode::Exclusive),
            _ => {}
        }
    }
}

/// Takes a held lock off this thread's stack while a condition variable
/// waits (the wait releases it); [`resume`] puts it back.
pub(crate) fn suspend(
    meta: &LockMeta,
    mode: AcquireMode,
    condition: LockId,
    timed: bool,
    site: &'static Location<'static>,
) -> Option<HeldEntry> {
    if !config::enabled() {
        return None;
    }
    if recorder::on() {
        trace(meta, |thread, lock| Event::Wait {
            thread,
            lock,
            condition,
            site: Site::from(site),
            timed,
        });
    }
    if hb::active() {
        hb::releasing(meta, mode);
    }
    let id = meta.id();
    leaf_edges::on_release(meta, id);
    with_thread(|t| {
        let i = t.held.iter().rposition(|e| e.id == id && e.mode == mode)?;
        let entry = t.held.remove(i);
        t.rechain(i);
        Some(entry)
    })
    .flatten()
}

/// Puts back a lock taken off by [`suspend`], now re-acquired.
#[track_caller]
pub(crate) fn resume(meta: &LockMeta, entry: Option<HeldEntry>, site: &'static Location<'static>) {
    let Some(entry) = entry else { return };
    leaf_edges::settle(meta);
    synchronised(meta, entry.mode);
    trace_acquire(meta, entry.mode, Attempt::Blocking, site);
    with_thread(|t| {
        t.push(entry);
        let last = t.held.len() - 1;
        t.rechain(last);
    });
}

/// `force_unlock` and friends: the API lets any thread unlock, but unlocking
/// a lock this thread does not hold is misuse (the owner's guard will unlock
/// it a second time). Reported, then the caller goes on as asked.
#[track_caller]
pub(crate) fn force_release(meta: &LockMeta, mode: AcquireMode, site: &'static Location<'static>) {
    if !config::enabled() {
        return;
    }
    let lock = meta.info();
    if recorder::on() {
        trace(meta, |thread, lock| Event::Release {
            thread,
            lock,
            site: Site::from(site),
        });
    }
    leaf_edges::on_release(meta, lock.id);
    let held = with_thread(|t| t.release(lock.id, lock.kind, mode).is_some() || t.holds(lock.id));
    if held == Some(false) {
        let (thread, _) = thread_and_held();
        let finding = findings::released_not_held(&thread, &lock, Site::from(site));
        report(finding, Severity::Hazard);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Barrier};
    use std::time::{Duration, Instant};

    use crate::runtime::global::global;
    use crate::runtime::thread_state::with_thread;
    use crate::Mutex;

    /// How long a test waits for another thread before it fails instead of
    /// hanging the suite (a deadline, not a timing assertion).
    const DEADLINE: Duration = Duration::from_secs(20);

    /// A thread that holds a lock and waits for a taken one past the grace
    /// period joins the wait-for graph (it may close a cycle); one that
    /// holds nothing never does (no thread can wait for it). The second is
    /// asked only once the first has joined: by then it has been waiting
    /// at least as long, so the old rule would have put it there too.
    #[test]
    fn only_a_thread_that_holds_a_lock_joins_the_wait_for_graph() {
        crate::config::set_backtraces(false);
        let contended = Mutex::named("waitrule.contended", ());
        let own = Mutex::named("waitrule.own", ());
        let (ids, id) = mpsc::channel();
        let started = Barrier::new(2);
        std::thread::scope(|s| {
            // Taken inside the scope: a failed assertion drops it as it
            // unwinds, before the scope joins the threads that wait for it.
            let held = contended.lock();
            s.spawn(|| {
                ids.send(with_thread(|t| t.id()).unwrap()).unwrap();
                started.wait();
                drop(contended.lock());
            });
            let holds_nothing = id.recv_timeout(DEADLINE).expect("first thread's id");
            started.wait();
            s.spawn(|| {
                let _own = own.lock();
                ids.send(with_thread(|t| t.id()).unwrap()).unwrap();
                drop(contended.lock());
            });
            let holds_one = id.recv_timeout(DEADLINE).expect("second thread's id");
            let deadline = Instant::now() + DEADLINE;
            while !global().waits.lock().is_waiting(holds_one) {
                assert!(
                    Instant::now() < deadline,
                    "a thread holding a lock waited outside the wait-for graph"
                );
                std::thread::yield_now();
            }
            assert!(!global().waits.lock().is_waiting(holds_nothing));
            drop(held);
        });
    }

    /// The fast path blocks at once only for a thread that holds nothing.
    /// One that holds a lock, on a stack it has seen before (so that its
    /// acquire starts on the fast path, as a loop's second round does), still
    /// joins the wait-for graph past the grace period.
    #[test]
    fn a_known_stack_waiting_past_the_grace_period_joins_the_wait_for_graph() {
        crate::config::set_backtraces(false);
        let contended = Mutex::named("waitrule.known.contended", ());
        let own = Mutex::named("waitrule.known.own", ());
        let (ids, id) = mpsc::channel();
        let seen = Barrier::new(2);
        let taken = Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                let take_both = |announce: bool| {
                    let _own = own.lock();
                    if announce {
                        ids.send(with_thread(|t| t.id()).unwrap()).unwrap();
                    }
                    drop(contended.lock());
                };
                take_both(false);
                seen.wait();
                taken.wait();
                take_both(true);
            });
            seen.wait();
            let held = contended.lock();
            taken.wait();
            let waiter = id.recv_timeout(DEADLINE).expect("the waiter's id");
            // Bounds the test if the waiter blocked without joining: the
            // assertion fails, `held` drops as it unwinds, and the waiter
            // gets the lock.
            let deadline = Instant::now() + DEADLINE;
            while !global().waits.lock().is_waiting(waiter) {
                assert!(
                    Instant::now() < deadline,
                    "a thread holding a lock waited outside the wait-for graph"
                );
                std::thread::yield_now();
            }
            drop(held);
        });
    }
}
