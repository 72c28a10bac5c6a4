//! Turning what a detector saw into a [`Finding`]: names, sites, and the
//! backtraces symbolised now that a report is being made.

use crate::detect::lock_order::{Cycle, CycleEdge};
use crate::detect::self_deadlock::SelfConflict;
use crate::detect::wait_for::Waiter;
use crate::event::{AcquireMode, HeldLock, LockInfo, Site, ThreadInfo};
use crate::finding::{
    CycleDetail, Finding, FindingKind, HeldRef, LockRef, OrderEdge, SiteNote, ThreadRef, ThreadWait,
};
use crate::report::frames::user_frames_of;

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
        backtrace: user_frames_of(&e.backtrace),
    }
}

fn cycle_detail(cycle: &Cycle) -> CycleDetail {
    CycleDetail {
        edges: cycle.edges.iter().map(order_edge).collect(),
        guarded_by: cycle.guard.as_ref().map(LockRef::from),
        single_thread: cycle.single_thread,
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
    }
    let names: Vec<String> = cycle.edges.iter().map(|e| name_of(&e.from)).collect();
    let mut summary = format!(
        "lock order cycle of length {}: {} -> {}",
        cycle.edges.len(),
        names.join(" -> "),
        names[0]
    );
    let mut notes = Vec::new();
    if let Some(gate) = &cycle.guard {
        summary.push_str(&format!(" (guarded by {})", name_of(gate)));
        notes.push(format!(
            "every edge of this cycle was taken while holding {}, so the two orders never overlap; it fails a run only under --strict",
            name_of(gate)
        ));
    }
    if cycle.single_thread {
        notes.push(
            "all edges were taken by one thread in this run; a second thread running the same code can deadlock with it"
                .to_owned(),
        );
    }
    Finding {
        kind: FindingKind::LockOrderCycle,
        summary,
        key: cycle_key(&cycle.edges),
        count: 1,
        threads,
        locks,
        waits: Vec::new(),
        cycle: Some(cycle_detail(cycle)),
        events: Vec::new(),
        notes,
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

/// A deadlock finding: every blocked thread of the cycle, and the lock-order
/// edges behind it when the order graph has them.
pub fn deadlock(waiters: &[Waiter], order: Option<&Cycle>) -> Finding {
    let mut locks = Vec::new();
    let mut threads = Vec::new();
    let mut waits = Vec::new();
    for w in waiters {
        push_thread(&mut threads, &w.thread);
        push_lock(&mut locks, &w.lock);
        waits.push(ThreadWait {
            thread: (&w.thread).into(),
            holds: held_refs(&w.held),
            waits_for: (&w.lock).into(),
            mode: w.mode,
            site: w.site.into(),
            backtrace: user_frames_of(&w.backtrace),
        });
    }
    let mut sites: Vec<String> = waiters.iter().map(|w| w.site.to_string()).collect();
    sites.sort();
    let summary = format!(
        "{} threads are blocked in a cycle of lock waits on {}",
        waiters.len(),
        waiters
            .iter()
            .map(|w| name_of(&w.lock))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Finding {
        kind: FindingKind::Deadlock,
        summary,
        key: format!("deadlock:{}", sites.join(",")),
        count: 1,
        threads,
        locks,
        waits,
        cycle: order.map(cycle_detail),
        events: Vec::new(),
        notes: vec![
            "lockcheck broke this deadlock by panicking in the thread that closed the cycle"
                .to_owned(),
        ],
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
    backtrace: &Option<backtrace::Backtrace>,
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
        kind: FindingKind::SelfDeadlock,
        summary,
        key: format!("self-deadlock:{held_site}>{site}"),
        count: 1,
        threads: vec![thread.into()],
        locks: vec![lock.into()],
        waits: vec![ThreadWait {
            thread: thread.into(),
            holds: held_refs(held),
            waits_for: lock.into(),
            mode,
            site: site.into(),
            backtrace: user_frames_of(backtrace),
        }],
        cycle: None,
        events: Vec::new(),
        notes,
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
        kind: FindingKind::LockMisuse,
        summary: format!("{} {} {}", ThreadRef::from(thread), what, name_of(lock)),
        key: format!("lock-misuse:{what}:{}", sites.join(",")),
        count: 1,
        threads: vec![thread.into()],
        locks: vec![lock.into()],
        waits: Vec::new(),
        cycle: None,
        events: events
            .iter()
            .map(|(label, site)| SiteNote {
                label: (*label).to_owned(),
                site: (*site).into(),
                thread: thread.into(),
            })
            .collect(),
        notes: Vec::new(),
    }
}
