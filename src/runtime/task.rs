//! Tasks as holders: the locks an async task holds belong to the task,
//! wherever it is polled.
//!
//! A thread's state ([`ThreadState`]) names its holder and keeps what the
//! holder holds. While an instrumented future (`lockcheck::tokio::instrument`,
//! `lockcheck::tokio::spawn`) is polled, its [`TaskSlot`] is swapped into
//! the state of the thread polling it: the task's identity, held stack,
//! parked edge and empty-stack chain key stand in for the thread's, and go
//! back into the slot when the poll returns (or unwinds). So every check that
//! reads "this thread" — order edges, self-deadlock, the wait-for graph,
//! hold-and-wait — reads the task instead, sync locks taken in the task
//! included, and a task that resumes on another worker thread still holds
//! what it held. Nothing on the lock path changes: the swap is two moves per
//! poll.
//!
//! The cache of validated chains stays the thread's: a chain one task
//! validated is known to the next task the same worker polls with the same
//! stack, so that task's taking of the same edges is not recorded as its
//! own. The edges and their cycles are the same; only which holders took
//! an edge (a cycle's "one thread" note and its happens-before ordering)
//! may miss it. Giving each task a chain key of its own cost every
//! blocking lock 4 instructions a pair (callgrind, a loop of one lock and
//! a chain of 4), which the blocking locks must not pay.
//!
//! A guard of an async lock is `Send`, so it may be dropped where its task
//! is not being polled (sent to another task, kept in a struct the task
//! returned). Its release is then posted to the holder ([`release_elsewhere`])
//! and taken out of the holder's stack the next time the holder's held locks
//! are read ([`settle_elsewhere`]), so that no order edge leaves a lock the
//! holder no longer holds.

use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::event::{AcquireMode, LockId, LockKind, Site, ThreadId, ThreadInfo};
use crate::fx_hash::{FxHashMap, FxHashSet};
use crate::runtime::hb::{self, HandOff, TaskClock};
use crate::runtime::held_stack::HeldStack;
use crate::runtime::leaf_edges::KeptEdge;
use crate::runtime::policy::{report, Severity};
use crate::runtime::thread_state::{self, with_thread, ThreadState};

/// What a task keeps of its own between polls: what a thread's state holds
/// for its holder while the task is polled on it.
pub(crate) struct TaskSlot {
    /// The task's identity, boxed so that the thread's pointer to it stays
    /// valid however the slot moves between polls.
    info: Box<ThreadInfo>,
    /// Where the task was spawned or instrumented.
    spawned: &'static Location<'static>,
    /// Taken by the slot's drop (to be recycled), never before.
    held: std::mem::ManuallyDrop<Box<HeldStack>>,
    kept: Option<KeptEdge>,
    /// While polled: the thread's own id, saved.
    saved_id: u64,
    /// While polled: the task the thread polled before this one, if any.
    saved_task: *const ThreadInfo,
    /// While polled: the thread's own `joinable`.
    saved_joinable: bool,
    /// Entered in a thread's state now.
    entered: bool,
    /// The task's clocks for happens-before, swapped with the polling
    /// thread's for each poll as the held stack is.
    clock: TaskClock,
    /// Whether `clock` is swapped in now.
    clock_in: bool,
}

// SAFETY: `saved_task` is a pointer the slot only keeps between `enter` and
// `leave`, within one poll on one thread; between polls it is null.
unsafe impl Send for TaskSlot {}
// SAFETY: a shared slot gives access to nothing but `spawned`.
unsafe impl Sync for TaskSlot {}

impl TaskSlot {
    /// A new task's slot, for a task spawned or instrumented at `spawned`.
    pub(crate) fn new(spawned: &'static Location<'static>) -> Self {
        let id = super::thread_state::reserve_thread_id();
        record_spawn_or_join(id, true, Site::from(spawned));
        TaskSlot {
            // Named at its first poll, where tokio's id is the task's own.
            info: Box::new(ThreadInfo {
                id,
                name: None,
                task: true,
            }),
            spawned,
            held: std::mem::ManuallyDrop::new(HeldStack::boxed()),
            kept: None,
            saved_id: 0,
            saved_task: std::ptr::null(),
            saved_joinable: false,
            entered: false,
            clock: TaskClock::spawned(id),
            clock_in: false,
        }
    }

    fn swap(&mut self, t: &mut ThreadState) {
        self.held.swap_live(&mut t.held);
        std::mem::swap(&mut self.kept, &mut t.kept);
    }

    /// Makes this task the holder on this thread until [`Self::leave`]:
    /// false (and nothing done) when the thread's state is busy (a report
    /// being made further up) or checking cannot reach it.
    pub(crate) fn enter(&mut self) -> bool {
        if self.entered {
            return false;
        }
        if self.info.name.is_none() {
            let name: std::sync::Arc<str> = match tokio_task_id() {
                Some(tokio) => tokio_task_name(tokio),
                None => format!("task at {}:{}", self.spawned.file(), self.spawned.line()).into(),
            };
            thread_state::name_task(self.info.id, name.clone());
            self.info.name = Some(name);
        }
        let entered = with_thread(|t| {
            // The thread's own identity first: its exit watch must stand
            // for the thread, not for a task polled on it.
            let _ = t.id();
            self.swap(t);
            self.saved_id = std::mem::replace(t.id_mut(), self.info.id.0);
            self.saved_task = std::mem::replace(&mut t.task, &*self.info);
            self.saved_joinable = std::mem::replace(&mut t.joinable, true);
        })
        .is_some();
        self.entered = entered;
        if entered {
            self.clock_in = self.clock.swap();
            settle_elsewhere();
        }
        entered
    }

    /// Gives the thread its own holder back.
    pub(crate) fn leave(&mut self) {
        if !self.entered {
            return;
        }
        self.entered = false;
        if std::mem::take(&mut self.clock_in) {
            self.clock.swap();
        }
        // A state busy here was busy at `enter` too; `with_thread` only
        // fails while a report is made further up, which `enter` and
        // `leave` never are inside of.
        let _ = with_thread(|t| {
            self.swap(t);
            *t.id_mut() = self.saved_id;
            t.task = self.saved_task;
            t.joinable = self.saved_joinable;
        });
    }

    /// The task's last hand-off, for whoever waits for its end: its clocks
    /// and its slot; called entered, after the task's future is dropped.
    /// None while race checking is not live (nothing to order).
    pub(crate) fn end_clock(&self) -> Option<HandOff> {
        (self.clock_in && hb::active()).then(hb::release_clock)
    }

    /// Where the task was spawned or instrumented.
    pub(crate) fn spawned(&self) -> &'static Location<'static> {
        self.spawned
    }

    /// The task's id, which a trace's spawn and join name.
    pub(crate) fn id(&self) -> ThreadId {
        self.info.id
    }

    /// Records, in a recorded run, that the task (entered now) yields.
    pub(crate) fn record_yield(&self) {
        if super::recorder::on() {
            let site = Site::from(self.spawned);
            super::recorder::record_here(|thread| crate::event::Event::Yield { thread, site });
        }
    }

    /// The blocking locks the task holds now (after [`Self::leave`]): a
    /// poll that returned `Pending` holds them across its `.await`.
    pub(crate) fn report_held_across_await(&self) {
        if self.held.iter().all(|e| e.kind().is_async()) {
            return;
        }
        for entry in self.held.iter().filter(|e| !e.kind().is_async()) {
            if !first_at(entry.site) {
                continue;
            }
            let finding = crate::detect::findings::held_across_await(
                &self.info,
                &entry.held_lock(),
                Site::from(self.spawned),
            );
            report(finding, Severity::Hazard);
        }
    }
}

impl Drop for TaskSlot {
    fn drop(&mut self) {
        // Holds still on the stack went with guards the task handed on
        // (returned, sent): their releases are posted to a holder that
        // can no longer take them.
        forget_posted(self.info.id);
        // Between polls the slot's stack is the task's own (emptied by
        // `recycle`); while entered, it holds the thread's entries, so a
        // slot dropped entered (its poll unwinding past `leave`) frees it.
        // SAFETY: the slot is being dropped: `held` is not used after.
        let held = unsafe { std::mem::ManuallyDrop::take(&mut self.held) };
        if !self.entered {
            HeldStack::recycle(held);
        }
    }
}

/// Whether this is the first held-across-await at `site`: a task that
/// yields a thousand times holding the same guard is one finding, made
/// once.
fn first_at(site: &'static Location<'static>) -> bool {
    static SEEN: crate::raw::Mutex<Option<FxHashSet<usize>>> = crate::raw::Mutex::new(None);
    SEEN.lock()
        .get_or_insert_with(FxHashSet::default)
        .insert(std::ptr::from_ref(site) as usize)
}

/// tokio's id of the task running now, if any.
fn tokio_task_id() -> Option<String> {
    #[cfg(feature = "tokio")]
    {
        ::tokio::task::try_id().map(|id| id.to_string())
    }
    #[cfg(not(feature = "tokio"))]
    {
        None
    }
}

/// What reports call the tokio task of id `tokio`.
pub(crate) fn tokio_task_name(tokio: impl std::fmt::Display) -> std::sync::Arc<str> {
    format!("task {tokio}").into()
}

/// Where a spawned task leaves its last hand-off ([`TaskSlot::end_clock`])
/// for the handle that awaits its end.
#[derive(Default)]
pub(crate) struct TaskEnd(crate::raw::Mutex<Option<HandOff>>);

impl TaskEnd {
    /// The task has ended (its future dropped) with this hand-off.
    pub(crate) fn put(&self, end: Option<HandOff>) {
        *self.0.lock() = end;
    }

    /// The joiner (this thread or task) has seen task `child` end at
    /// `site`: everything the task did happens before what the joiner does
    /// next, and its slot goes to the joiner's next child.
    pub(crate) fn joined(&self, child: ThreadId, site: Site) {
        let last = self.0.lock().take();
        joined(last, child, site);
    }
}

/// The current holder goes on after the end of task `child`, whose last
/// hand-off is `last`: it is ordered after all the task did, takes its
/// slot for its next child, and a trace records the join at `site`.
pub(crate) fn joined(last: Option<HandOff>, child: ThreadId, site: Site) {
    if let Some(mut last) = last {
        hb::acquire_end(&mut last);
    }
    record_spawn_or_join(child, false, site);
}

/// Records, in a recorded run, that the current holder spawned or joined
/// task `child` at `site`.
pub(crate) fn record_spawn_or_join(child: ThreadId, spawned: bool, site: Site) {
    if !super::recorder::on() {
        return;
    }
    super::recorder::record_here(|parent| {
        if spawned {
            crate::event::Event::Spawn {
                parent,
                child,
                site,
            }
        } else {
            crate::event::Event::Join {
                parent,
                child,
                site,
            }
        }
    });
}

/// Releases posted to holders not being polled: holder id to the locks.
type Posted = FxHashMap<u64, Vec<(LockId, LockKind, AcquireMode)>>;

static POSTED: crate::raw::Mutex<Option<Posted>> = crate::raw::Mutex::new(None);

/// How many releases are posted and not yet taken: one relaxed load tells
/// a reader of held locks that there are none.
static POSTED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Whether this is a tokio task that is not instrumented, for an async
/// lock: a worker thread polls many such tasks, so the thread is no holder
/// for their async locks (a guard one keeps across an `.await` would seem
/// held under the next task's locks), and they are not checked: a gap,
/// said once ([`super::unchecked`]), so that the run is not read as clean.
pub(crate) fn unseen_task() -> bool {
    static NOTED: std::sync::Once = std::sync::Once::new();
    unseen_task_noting(
        &NOTED,
        "a lockcheck::tokio lock was taken in a task not spawned by lockcheck::tokio::spawn nor \
         wrapped by lockcheck::tokio::instrument: the async locks of such tasks are not checked",
    )
}

/// Whether this is a tokio task that is not instrumented, for a `Shared`
/// access: such a task has no clocks of its own, and its worker thread's
/// are not ordered after its spawn (tokio's queue is not seen), so its
/// accesses are not checked (a race reported there could be false), and
/// a gap is said once.
pub(crate) fn unseen_task_access() -> bool {
    static NOTED: std::sync::Once = std::sync::Once::new();
    unseen_task_noting(
        &NOTED,
        "a lockcheck::Shared was accessed in a task not spawned by lockcheck::tokio::spawn nor \
         wrapped by lockcheck::tokio::instrument: the accesses of such tasks are not checked for \
         races",
    )
}

/// Whether this is a tokio task that is not instrumented; if so, `gap` is
/// noted the first time (`noted`). tokio's id first: one thread-local
/// read outside any tokio task.
fn unseen_task_noting(noted: &std::sync::Once, gap: &str) -> bool {
    if outside_tokio_tasks() || in_task() {
        return false;
    }
    noted.call_once(|| super::unchecked::note(gap));
    true
}

/// Whether this code runs outside every tokio task (a thread, a
/// `block_on` body): one thread-local read of tokio's. Always, without
/// the `tokio` feature.
#[inline]
pub(crate) fn outside_tokio_tasks() -> bool {
    #[cfg(feature = "tokio")]
    {
        ::tokio::task::try_id().is_none()
    }
    #[cfg(not(feature = "tokio"))]
    {
        true
    }
}

/// Whether an instrumented task is being polled on this thread now.
pub(crate) fn in_task() -> bool {
    with_thread(|t| !t.task.is_null()).unwrap_or(false)
}

/// The current holder's id (a task's while one is polled), if checking
/// reaches this thread's state.
pub(crate) fn current_holder() -> Option<u64> {
    with_thread(|t| t.id().0)
}

/// A guard of a lock that `holder` took is dropped by another holder: the
/// hold is posted to `holder`, and leaves its stack the next time its
/// held locks are read.
pub(crate) fn release_elsewhere(holder: u64, id: LockId, kind: LockKind, mode: AcquireMode) {
    POSTED
        .lock()
        .get_or_insert_with(Posted::default)
        .entry(holder)
        .or_default()
        .push((id, kind, mode));
    POSTED_COUNT.fetch_add(1, Relaxed);
}

/// Takes the releases posted to the current holder out of its stack.
#[inline]
pub(crate) fn settle_elsewhere() {
    if POSTED_COUNT.load(Relaxed) != 0 {
        settle_posted();
    }
}

#[cold]
#[inline(never)]
fn settle_posted() {
    let Some(holder) = current_holder() else {
        return;
    };
    let mine = POSTED.lock().as_mut().and_then(|p| p.remove(&holder));
    let Some(mine) = mine else { return };
    POSTED_COUNT.fetch_sub(mine.len(), Relaxed);
    with_thread(|t| {
        for (id, kind, mode) in mine {
            t.release(id, kind, mode);
        }
    });
}

/// A task's slot is gone: releases posted to it can never be taken.
pub(crate) fn forget_posted(holder: ThreadId) {
    if POSTED_COUNT.load(Relaxed) == 0 {
        return;
    }
    let gone = POSTED.lock().as_mut().and_then(|p| p.remove(&holder.0));
    if let Some(gone) = gone {
        POSTED_COUNT.fetch_sub(gone.len(), Relaxed);
    }
}
