//! Turning what a detector saw into a [`Finding`]: names, sites, and the
//! backtraces symbolised now that a report is being made.

use crate::detect::lock_order::{Cycle, CycleEdge};
use crate::detect::race::{Access, Race};
use crate::detect::self_deadlock::SelfConflict;
use crate::detect::wait_for::{Blocked, WaitKind, Waiter};
use crate::event::{AcquireMode, HeldLock, LockInfo, Site, ThreadInfo, VarInfo};
use crate::finding::{
    AccessNote, BlockedThread, CycleDetail, Finding, FindingKind, HeldRef, LockRef, OrderEdge,
    SiteNote, ThreadRef, ThreadWait, VarRef, WaitNote, WaitOn, WaitOnKind,
};
use crate::frames::user_frames_of;

fn name_of(lock: &LockInfo) -> String {
    LockRef::from(lock).to_string()
}

fn push_lock(locks: &mut Vec<LockRef>, lock: &LockInfo) {
    if !locks.iter().any(|l| l.id == lock.id.0) {
        locks.push(lock.into());
    }
}

fn push_thread(threads: &mut Vec<ThreadRef>, thread: &ThreadInfo) {
    if !threads.iter().any(|t| t.id == thread.id.0) {
        threads.push(thread.into());
    }
}

fn order_edge(e: &CycleEdge) -> OrderEdge {
    OrderEdge {
        from: (&e.from).into(),
        to: (&e.to).into(),
        from_site: e.from_site.into(),
        to_site: e.to_site.into(),
        held_mode: e.held_mode,
        acquire_mode: e.acquire_mode,
        thread: (&e.thread).into(),
        backtrace: user_frames_of(&e.backtrace, e.to_site),
        wait: e.wait.as_ref().map(|w| WaitNote {
            by: w.by,
            on: w.on,
            released: w.released.as_ref().map(Into::into),
            wait_site: w.wait_site.into(),
            waker: (&w.waker).into(),
            wake_site: w.wake_site.into(),
        }),
    }
}

fn cycle_detail(cycle: &Cycle) -> CycleDetail {
    CycleDetail {
        edges: cycle.edges.iter().map(order_edge).collect(),
        other_cycles: Vec::new(),
        guarded_by: cycle.guard.as_ref().map(LockRef::from),
        single_thread: cycle.single_thread,
        ordered_by_happens_before: cycle.ordered,
    }
}

/// The dedup key of a cycle: its edges' sites, so that the same code path
/// taken again with fresh lock instances is the same finding, seen again.
fn cycle_key(edges: &[CycleEdge]) -> String {
    let mut parts: Vec<String> = edges
        .iter()
        .map(|e| format!("{}>{}", e.from_site, e.to_site))
        .collect();
    parts.sort();
    parts.dedup();
    format!("lock-order-cycle:{}", parts.join(","))
}

/// A lock-order cycle finding.
pub fn lock_order_cycle(cycle: &Cycle) -> Finding {
    let mut locks = Vec::new();
    let mut threads = Vec::new();
    for e in &cycle.edges {
        push_lock(&mut locks, &e.from);
        push_thread(&mut threads, &e.thread);
        if let Some(w) = &e.wait {
            push_thread(&mut threads, &w.waker);
        }
    }
    let names: Vec<String> = cycle.edges.iter().map(|e| name_of(&e.from)).collect();
    let waits = cycle.edges.iter().filter(|e| e.wait.is_some()).count();
    let mut summary = format!(
        "lock order cycle of length {}{}: {} -> {}",
        cycle.edges.len(),
        match waits {
            0 => "",
            1 => " through a wait",
            _ => " through waits",
        },
        names.join(" -> "),
        names[0]
    );
    let mut notes = Vec::new();
    if waits > 0 {
        notes.push(
            "a lock held across a wait (a condition wait, a receive, a send waiting for room, a barrier, a join) is an order edge to every lock the thread that ended the wait took before it notified, sent, received, arrived or ended: on a schedule where the waiter takes its lock first, that thread blocks and the wait never ends"
                .to_owned(),
        );
    }
    if let Some(gate) = &cycle.guard {
        summary.push_str(&format!(" (guarded by {})", name_of(gate)));
        notes.push(format!(
            "every edge of this cycle was taken while holding {}, so the two orders never overlap; it fails a run only under --strict",
            name_of(gate)
        ));
    }
    if cycle.ordered {
        notes.push(
            "in this run the edges happened one after the other (a spawn, join or message ordered them), so the two orders could not overlap; on another schedule of the same code they can"
                .to_owned(),
        );
    }
    if cycle.single_thread {
        notes.push(
            "all edges were taken by one thread in this run; a second thread running the same code can deadlock with it"
                .to_owned(),
        );
    }
    Finding {
        threads,
        locks,
        cycle: Some(cycle_detail(cycle)),
        notes,
        ..Finding::new(
            FindingKind::LockOrderCycle,
            summary,
            cycle_key(&cycle.edges),
        )
    }
}

fn held_refs(held: &[HeldLock]) -> Vec<HeldRef> {
    held.iter()
        .map(|h| HeldRef {
            lock: (&h.lock).into(),
            mode: h.mode,
            site: h.site.into(),
        })
        .collect()
}

/// How a deadlock was met.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeadlockSeen {
    /// Live: lockcheck broke it by panicking in the thread that closed it.
    Broken,
    /// In a trace that ends with these threads still waiting.
    AtTraceEnd,
    /// In a trace, where each of these threads asked for a lock another of
    /// them held.
    InTrace,
}

/// A deadlock finding: every blocked thread of the cycle, and the lock-order
/// edges behind it when the order graph has them.
pub fn deadlock(waiters: &[Waiter], order: Option<&Cycle>, seen: DeadlockSeen) -> Finding {
    let blocked: Vec<Blocked> = waiters.iter().cloned().map(Blocked::Lock).collect();
    deadlock_of_waits(&blocked, order, seen)
}

/// What a join wait waits for, as reports say it.
fn end_of(thread: &ThreadInfo) -> String {
    format!("the end of {}", ThreadRef::from(thread))
}

/// What a blocked thread waits on, as a finding names it.
fn wait_on(b: &Blocked) -> WaitOn {
    match b {
        Blocked::Lock(w) => WaitOn {
            kind: WaitOnKind::Lock,
            id: w.lock.id.0,
            name: w.lock.name.as_deref().map(str::to_owned),
            created: Some(w.lock.created.into()),
        },
        Blocked::Join(j) => WaitOn {
            kind: WaitOnKind::Join,
            id: j.joins.id.0,
            name: j.joins.name.as_deref().map(str::to_owned),
            created: None,
        },
        Blocked::Primitive(p) => WaitOn {
            kind: match p.target.kind {
                WaitKind::Condvar => WaitOnKind::Condvar,
                WaitKind::Receive => WaitOnKind::Receive,
                WaitKind::Send => WaitOnKind::Send,
                WaitKind::Barrier => WaitOnKind::Barrier,
            },
            id: p.target.id,
            name: p.target.name.as_deref().map(str::to_owned),
            created: Some(p.target.created.into()),
        },
    }
}

/// "holding `a` (taken at …), `b` (taken at …)", or "holding no lock".
fn holding(held: &[HeldLock]) -> String {
    let holds = held
        .iter()
        .map(|h| format!("{} (taken at {})", name_of(&h.lock), h.site))
        .collect::<Vec<_>>();
    if holds.is_empty() {
        "holding no lock".to_owned()
    } else {
        format!("holding {}", holds.join(", "))
    }
}

/// The parts every deadlock finding has, whatever rule found it.
struct DeadlockParts {
    threads: Vec<ThreadRef>,
    locks: Vec<LockRef>,
    waits: Vec<ThreadWait>,
    blocked: Vec<BlockedThread>,
    join_notes: Vec<String>,
    sites: Vec<String>,
    waited_for: Vec<String>,
}

/// Each blocked thread as the finding lists it: a lock waiter is one of
/// its `waits`; every thread is one of its `blocked`; a joiner, which waits
/// for no lock, also has a note of its own (the thread, "the end of thread
/// X", the join's site and what it holds).
fn deadlock_parts(blocked: &[Blocked]) -> DeadlockParts {
    let mut parts = DeadlockParts {
        threads: Vec::new(),
        locks: Vec::new(),
        waits: Vec::new(),
        blocked: Vec::new(),
        join_notes: Vec::new(),
        sites: Vec::new(),
        waited_for: Vec::new(),
    };
    for b in blocked {
        push_thread(&mut parts.threads, b.thread());
        for h in b.held() {
            push_lock(&mut parts.locks, &h.lock);
        }
        let entry = BlockedThread {
            thread: b.thread().into(),
            holds: held_refs(b.held()),
            waits_on: wait_on(b),
            site: b.site().into(),
            backtrace: user_frames_of(b.backtrace(), b.site()),
        };
        match b {
            Blocked::Lock(w) => {
                push_lock(&mut parts.locks, &w.lock);
                parts.waits.push(ThreadWait {
                    thread: (&w.thread).into(),
                    holds: held_refs(&w.held),
                    waits_for: (&w.lock).into(),
                    mode: w.mode,
                    site: w.site.into(),
                    backtrace: entry.backtrace.clone(),
                });
                parts.waited_for.push(name_of(&w.lock));
            }
            Blocked::Join(j) => {
                push_thread(&mut parts.threads, &j.joins);
                parts.join_notes.push(format!(
                    "{} waits at {} for {} (a join), {}",
                    ThreadRef::from(&j.thread),
                    j.site,
                    end_of(&j.joins),
                    holding(&j.held),
                ));
                parts.waited_for.push(end_of(&j.joins));
            }
            Blocked::Primitive(_) => parts.waited_for.push(entry.waits_for()),
        }
        parts.sites.push(b.site().to_string());
        parts.blocked.push(entry);
    }
    parts.sites.sort();
    parts
}

/// What a report calls these holders: "threads", "tasks" (lockcheck::tokio's),
/// or "threads and tasks".
fn holders_noun<'a>(holders: impl Iterator<Item = &'a ThreadInfo>) -> &'static str {
    let (mut threads, mut tasks) = (false, false);
    for h in holders {
        if h.task {
            tasks = true;
        } else {
            threads = true;
        }
    }
    match (threads, tasks) {
        (false, true) => "tasks",
        (true, true) => "threads and tasks",
        _ => "threads",
    }
}

/// A deadlock finding over waits of every kind (locks and joins, the waits
/// whose owner is known, make its cycles): each lock waiter is one of the
/// finding's waits; a joiner, which waits for no lock, is named in the
/// summary and in a note of its own (the thread, "the end of thread X", the
/// join's site and what it holds). Every thread is one of its `blocked`.
pub fn deadlock_of_waits(
    blocked: &[Blocked],
    order: Option<&Cycle>,
    seen: DeadlockSeen,
) -> Finding {
    let parts = deadlock_parts(blocked);
    let holders = holders_noun(blocked.iter().map(Blocked::thread));
    let summary = if parts.join_notes.is_empty() {
        format!(
            "{} {holders} are blocked in a cycle of lock waits on {}",
            blocked.len(),
            parts.waited_for.join(", ")
        )
    } else {
        format!(
            "{} {holders} are blocked in a cycle of lock waits and joins on {}",
            blocked.len(),
            parts.waited_for.join(", ")
        )
    };
    let mut notes = parts.join_notes;
    notes.push(match seen {
        DeadlockSeen::Broken => {
            let closer = if holders == "tasks" { "task" } else { "thread" };
            format!(
                "lockcheck broke this deadlock by panicking in the {closer} that closed the cycle"
            )
        }
        DeadlockSeen::AtTraceEnd => format!("the trace ends with these {holders} waiting"),
        DeadlockSeen::InTrace => {
            format!("in the trace each of these {holders} asked for a lock another of them held")
        }
    });
    Finding {
        threads: parts.threads,
        locks: parts.locks,
        waits: parts.waits,
        blocked: parts.blocked,
        cycle: order.map(cycle_detail),
        notes,
        ..Finding::new(
            FindingKind::Deadlock,
            summary,
            format!("deadlock:{}", parts.sites.join(",")),
        )
    }
}

/// A deadlock found by the second rule: every thread of the process is
/// blocked (`blocked`, the one that breaks it first), so nobody is left to
/// notify, send, receive, arrive or release. Each thread has a note with
/// what it waits for, where, and what it holds.
pub fn nobody_left(blocked: &[Blocked]) -> Finding {
    let parts = deadlock_parts(blocked);
    let count = match blocked.len() {
        1 => "the only thread of the process is".to_owned(),
        n => format!("all {n} threads of the process are"),
    };
    let summary = format!(
        "{count} blocked, and nobody is left to wake them: {}",
        parts.waited_for.join(", ")
    );
    let mut notes = wait_notes(blocked, &parts);
    notes.push(
        "no thread of the process runs outside these waits (lockcheck counted the operating system's threads), so none of them can end; lockcheck broke the deadlock by panicking in the first thread listed"
            .to_owned(),
    );
    Finding {
        threads: parts.threads,
        locks: parts.locks,
        waits: parts.waits,
        blocked: parts.blocked,
        notes,
        ..Finding::new(
            FindingKind::Deadlock,
            summary,
            format!("deadlock:nobody-left:{}", parts.sites.join(",")),
        )
    }
}

/// One note a blocked thread: what it waits for, where, and what it holds.
fn wait_notes(blocked: &[Blocked], parts: &DeadlockParts) -> Vec<String> {
    blocked
        .iter()
        .zip(&parts.blocked)
        .map(|(b, entry)| {
            format!(
                "{} waits at {} for {}, {}",
                entry.thread,
                entry.site,
                entry.waits_for(),
                holding(b.held()),
            )
        })
        .collect()
}

/// A snapshot of a program that has not ended (`why` says who asked):
/// `blocked`, the threads blocked in waits lockcheck registered, and
/// `others`, the other threads lockcheck knows, which run or are blocked
/// where it does not see. `taken` tells one snapshot from the next.
pub fn hang(blocked: &[Blocked], others: &[ThreadInfo], why: &str, taken: &str) -> Finding {
    let parts = deadlock_parts(blocked);
    let known = blocked.len() + others.len();
    let summary = format!(
        "{why}: {known} thread{} known to lockcheck, {} of them blocked in a wait it sees",
        if known == 1 { "" } else { "s" },
        blocked.len()
    );
    let mut notes = wait_notes(blocked, &parts);
    let mut threads = parts.threads;
    for t in others {
        notes.push(format!(
            "{} is running, or blocked where lockcheck does not see (I/O, a sleep, a std primitive, a lock it waits for holding nothing); what it holds is not known from outside it",
            ThreadRef::from(t)
        ));
        push_thread(&mut threads, t);
    }
    Finding {
        threads,
        locks: parts.locks,
        waits: parts.waits,
        blocked: parts.blocked,
        notes,
        ..Finding::new(FindingKind::Hang, summary, format!("hang:{taken}"))
    }
}

/// A self-deadlock finding: `thread` asks for `lock` in `mode` at `site`
/// while holding it as `held_at`.
pub fn self_deadlock(
    thread: &ThreadInfo,
    held: &[HeldLock],
    lock: &LockInfo,
    mode: AcquireMode,
    site: Site,
    conflict: SelfConflict,
    backtrace: &Option<crate::stack::CallStack>,
) -> Finding {
    let first = held.iter().find(|h| h.lock.id == lock.id);
    let mut notes = Vec::new();
    let summary = match (conflict, first) {
        (SelfConflict::Certain, Some(h)) => format!(
            "{} asks for {} ({}) while it holds it ({}): it would wait for itself forever",
            ThreadRef::from(thread),
            name_of(lock),
            mode.as_str(),
            h.mode.as_str()
        ),
        (SelfConflict::WhenWriterWaits, Some(h)) => {
            notes.push("parking_lot queues a new reader behind a waiting writer, and the writer waits for this thread's first read; use read_recursive for a nested read".to_owned());
            format!(
                "{} asks for {} ({}) while it holds it ({}): it hangs as soon as a writer waits in between",
                ThreadRef::from(thread),
                name_of(lock),
                mode.as_str(),
                h.mode.as_str()
            )
        }
        (_, None) => format!(
            "{} upgrades {} while it still holds another read of it: the upgrade waits for itself forever",
            ThreadRef::from(thread),
            name_of(lock)
        ),
    };
    let held_site = first.map(|h| h.site.to_string()).unwrap_or_default();
    Finding {
        threads: vec![thread.into()],
        locks: vec![lock.into()],
        waits: vec![ThreadWait {
            thread: thread.into(),
            holds: held_refs(held),
            waits_for: lock.into(),
            mode,
            site: site.into(),
            backtrace: user_frames_of(backtrace, site),
        }],
        notes,
        ..Finding::new(
            FindingKind::SelfDeadlock,
            summary,
            format!("self-deadlock:{held_site}>{site}"),
        )
    }
}

/// A lock-misuse finding: `what` happened to `lock` in `thread`; `events`
/// are the labelled sites that show it.
pub fn lock_misuse(
    thread: &ThreadInfo,
    lock: &LockInfo,
    what: &str,
    events: &[(&str, Site)],
) -> Finding {
    let sites: Vec<String> = events.iter().map(|(_, s)| s.to_string()).collect();
    Finding {
        threads: vec![thread.into()],
        locks: vec![lock.into()],
        events: events
            .iter()
            .map(|(label, site)| SiteNote {
                label: (*label).to_owned(),
                site: (*site).into(),
                thread: thread.into(),
            })
            .collect(),
        ..Finding::new(
            FindingKind::LockMisuse,
            format!("{} {} {}", ThreadRef::from(thread), what, name_of(lock)),
            format!("lock-misuse:{what}:{}", sites.join(",")),
        )
    }
}

/// A thread ended while holding a lock (its guard was leaked): the lock
/// stays locked forever.
pub fn exited_holding(thread: &ThreadInfo, held: &HeldLock) -> Finding {
    lock_misuse(
        thread,
        &held.lock,
        "exited while holding",
        &[("acquired here and never released", held.site)],
    )
}

/// A task yielded (its poll returned `Pending`) while it held the blocking
/// lock `held`: `task` names the task, `spawned` where it was spawned or
/// instrumented. One finding per site the lock was taken at.
pub fn held_across_await(task: &ThreadInfo, held: &HeldLock, spawned: Site) -> Finding {
    let events = [
        ("still held across an .await, taken", held.site),
        ("in the task spawned here", spawned),
    ];
    Finding {
        threads: vec![task.into()],
        locks: vec![(&held.lock).into()],
        events: events
            .iter()
            .map(|(label, site)| SiteNote {
                label: (*label).to_owned(),
                site: (*site).into(),
                thread: task.into(),
            })
            .collect(),
        ..Finding::new(
            FindingKind::HeldAcrossAwait,
            format!(
                "{} held {} (a blocking {}) across an .await: any task that wants it blocks its worker thread",
                ThreadRef::from(task),
                name_of(&held.lock),
                held.lock.kind.as_str()
            ),
            format!("held-across-await:{}", held.site),
        )
    }
}

/// A thread unlocked a lock it does not hold (`force_unlock` and friends):
/// the owner's guard will unlock it a second time.
pub fn released_not_held(thread: &ThreadInfo, lock: &LockInfo, site: Site) -> Finding {
    lock_misuse(
        thread,
        lock,
        "unlocked a lock it does not hold:",
        &[("unlocked here", site)],
    )
}

fn access_note(
    access: &Access,
    thread: ThreadRef,
    backtrace: Vec<crate::finding::Frame>,
) -> AccessNote {
    AccessNote {
        thread,
        kind: access.kind,
        site: access.site.into(),
        held: access
            .held
            .locks()
            .map(|h| HeldRef {
                lock: (&h.lock).into(),
                mode: h.mode,
                site: h.site.into(),
            })
            .collect(),
        in_update: access.in_update,
        backtrace,
    }
}

/// A data-race finding on `var`. `thread_ref` names a thread by id (the
/// earlier access's thread may have ended); `backtrace` is the current
/// access's.
pub fn data_race(
    var: &VarInfo,
    race: &Race,
    thread_ref: &dyn Fn(crate::event::ThreadId) -> ThreadRef,
    backtrace: &Option<crate::stack::CallStack>,
) -> Finding {
    let variable = VarRef::from(var);
    let (current, previous) = (&race.current, &race.previous);
    let lost_update = current.in_update || previous.in_update;
    let mut sites = [current.site.to_string(), previous.site.to_string()];
    sites.sort();
    let summary = format!(
        "data race on {variable}: {} by {} and {} by {} are not ordered by any synchronisation{}",
        current.kind.as_str(),
        thread_ref(current.thread),
        previous.kind.as_str(),
        thread_ref(previous.thread),
        if lost_update { " (lost update)" } else { "" }
    );
    let mut notes = Vec::new();
    if lost_update {
        notes.push("a read-modify-write (`update`) raced: two threads can read the same value and one increment overwrites the other; hold one lock around the whole update, or use an atomic".to_owned());
    }
    let threads = vec![thread_ref(current.thread), thread_ref(previous.thread)];
    Finding {
        threads,
        variable: Some(variable),
        accesses: vec![
            access_note(
                current,
                thread_ref(current.thread),
                user_frames_of(backtrace, current.site),
            ),
            access_note(previous, thread_ref(previous.thread), Vec::new()),
        ],
        notes,
        ..Finding::new(
            FindingKind::DataRace,
            summary,
            format!("data-race:{}:{}", sites[0], sites[1]),
        )
    }
}

/// A `Shared` declared guarded by a lock was accessed without holding it.
pub fn unguarded_access(
    var: &VarInfo,
    guard: &LockInfo,
    access: &Access,
    thread: ThreadRef,
    backtrace: &Option<crate::stack::CallStack>,
) -> Finding {
    let variable = VarRef::from(var);
    let guard_ref = LockRef::from(guard);
    Finding {
        threads: vec![thread.clone()],
        locks: vec![guard_ref.clone()],
        variable: Some(variable.clone()),
        accesses: vec![access_note(
            access,
            thread.clone(),
            user_frames_of(backtrace, access.site),
        )],
        notes: vec![format!(
            "{variable} is declared guarded by {guard_ref}: every access must hold it (predicted: another thread may access it at the same time)"
        )],
        ..Finding::new(
            FindingKind::DataRace,
            format!(
                "{} {}s {variable} without holding {guard_ref}, its guard",
                thread,
                access.kind.as_str()
            ),
            format!("data-race:unguarded:{}", access.site),
        )
    }
}

/// A race the lockset check predicts: `var` is written by several threads
/// and no lock was held at every access, this one included.
pub fn predicted_race(
    var: &VarInfo,
    access: &Access,
    thread: ThreadRef,
    backtrace: &Option<crate::stack::CallStack>,
) -> Finding {
    let variable = VarRef::from(var);
    Finding {
        threads: vec![thread.clone()],
        variable: Some(variable.clone()),
        accesses: vec![access_note(
            access,
            thread.clone(),
            user_frames_of(backtrace, access.site),
        )],
        notes: vec![
            "predicted by the lockset check (Eraser): several threads access this variable, one writes, and no lock is held at every access; this run's interleaving did not show the race, another can (data handed over by a join or a message is reported too: the lockset check does not see it)"
                .to_owned(),
        ],
        ..Finding::new(
            FindingKind::DataRace,
            format!(
                "predicted data race on {variable}: {} by {thread} with no lock common to every access",
                access.kind.as_str()
            ),
            format!("data-race:lockset:{}", var.created),
        )
    }
}
