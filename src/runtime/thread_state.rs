//! Per-thread state: the locks this thread holds, and the cache of held-lock
//! stacks already validated (lockdep's chain keys). Thread-local, so the hot
//! path takes no global lock.

use std::cell::{OnceCell, RefCell};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub(crate) use super::held_stack::HeldEntry;
use super::held_stack::{HeldStack, MAX_HELD};
use crate::event::{AcquireMode, Event, LockId, LockKind, ThreadId, ThreadInfo};
use crate::runtime::leaf_edges::KeptEdge;

/// Slots in the chain-key cache. Direct-mapped: a collision only costs one
/// more validation, and memory stays bounded however many contexts a long
/// run sees (keys of dropped locks simply get overwritten).
const CHAIN_CACHE_SLOTS: usize = 1024;

/// The chain key of an empty held-lock stack.
const EMPTY_CHAIN: u64 = 0x243f_6a88_85a3_08d3;

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

/// Hash of a held-lock stack, extended by one more lock.
#[inline(always)]
pub(crate) fn chain_mix(prev: u64, key: u64, mode: AcquireMode) -> u64 {
    // One multiply: this runs on every nested acquisition. Lock ids stay far
    // below bit 59, so the mode above them keeps (key, mode) pairs apart, and
    // the multiply by an odd constant and the shift-xor are both one-to-one.
    let x = (prev.rotate_left(23) ^ key ^ ((mode as u64 + 1) << 59))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x ^ (x >> 29)) | 1
}

/// The locks one thread holds, innermost last, with their chain keys, and
/// the cache of validated chains. Plain data with no destructor, so that its
/// thread-local is reached without the checks a destructor needs; the
/// thread's exit is watched by [`ExitWatch`] instead.
pub(crate) struct ThreadState {
    /// This thread's id, 0 until first needed.
    id: u64,
    /// How many locks the fast path may push: 0 until [`ExitWatch`] is
    /// registered for this thread (so its first acquisition takes the slow
    /// path, which registers it), then [`MAX_HELD`]. One comparison asks
    /// both questions.
    room: usize,
    pub(crate) held: HeldStack,
    cache: [u64; CHAIN_CACHE_SLOTS],
    /// The order edge this thread parked into the mutex it holds (see
    /// `leaf_edges`).
    pub(crate) kept: Option<KeptEdge>,
    /// Spawned by `lockcheck::thread`, so another thread may wait in a join
    /// for it to end: it may be part of a wait cycle even while it holds
    /// nothing.
    pub(crate) joinable: bool,
    /// The new-edge stacks this thread has left to take, per acquire site.
    pub(crate) callers: CallerBudget,
    /// The task being polled on this thread, if any: its identity stands
    /// in for the thread's (see `runtime::task`). Null outside a task.
    pub(crate) task: *const ThreadInfo,
}

/// Acquire sites whose new-edge stacks a thread counts at once.
const CALLER_SLOTS: usize = 64;

/// How many new-edge stacks this thread has taken at each acquire site,
/// under `Backtraces::Callers` (see `config::caller_stacks_per_site`).
/// Direct-mapped by the site's address: a site that meets another in its
/// slot takes the slot over and counts from 0 again, so two sites that
/// alternate in one slot keep taking stacks (each still bounded). A table
/// that never forgets would need an allocation and a destructor, which the
/// thread's state must not have. 1 KiB a thread.
pub(crate) struct CallerBudget {
    /// The site's address and the stacks taken there.
    slots: [(usize, u32); CALLER_SLOTS],
}

impl CallerBudget {
    const fn new() -> Self {
        CallerBudget {
            slots: [(0, 0); CALLER_SLOTS],
        }
    }

    fn slot(site: &'static Location<'static>) -> (usize, usize) {
        let address = std::ptr::from_ref(site) as usize;
        // Fibonacci hashing: the top bits of the product spread addresses
        // that differ only in their low bits (sites 24 bytes apart).
        let slot = (address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) % CALLER_SLOTS;
        (address, slot)
    }

    /// Whether a new edge taken at `site` would still keep its stack.
    #[inline]
    pub(crate) fn has_room(&self, site: &'static Location<'static>, limit: u32) -> bool {
        let (address, slot) = Self::slot(site);
        let (at, taken) = self.slots[slot];
        at != address || taken < limit
    }

    /// Counts one stack taken at `site`; false (and nothing counted) when
    /// the site's budget is spent.
    pub(crate) fn take(&mut self, site: &'static Location<'static>, limit: u32) -> bool {
        let (address, slot) = Self::slot(site);
        let entry = &mut self.slots[slot];
        if entry.0 != address {
            *entry = (address, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

// The thread-local is reached without destructor checks only while this
// holds.
const _: () = assert!(!std::mem::needs_drop::<ThreadState>());

impl ThreadState {
    const fn new() -> Self {
        ThreadState {
            id: 0,
            room: 0,
            held: HeldStack::new(),
            cache: [0; CHAIN_CACHE_SLOTS],
            kept: None,
            joinable: false,
            callers: CallerBudget::new(),
            task: std::ptr::null(),
        }
    }

    /// Whether no wait cycle can pass through this thread while it blocks:
    /// it holds no lock (nobody waits for it to release one) and no
    /// lockcheck join can wait for its end.
    #[inline(always)]
    pub(crate) fn awaited_by_nobody(&self) -> bool {
        self.held.is_empty() && !self.joinable
    }

    /// This thread's id and name, assigned on first need.
    pub(crate) fn info(&mut self) -> ThreadInfo {
        if !self.task.is_null() {
            // SAFETY: `task` points into the task's slot, which outlives
            // the poll it is set for (see `runtime::task::Entered`).
            return unsafe { (*self.task).clone() };
        }
        let info = EXIT_WATCH
            .try_with(|w| w.info.get_or_init(new_thread_info).clone())
            .unwrap_or_else(|_| ThreadInfo {
                id: ThreadId(if self.id == 0 {
                    next_thread_id()
                } else {
                    self.id
                }),
                name: None,
                task: false,
            });
        self.id = info.id.0;
        self.room = MAX_HELD;
        info
    }

    /// The holder's id as stored: set whenever the fast path may push
    /// ([`Self::ready_for_fast_push`]), 0 before first need.
    #[inline(always)]
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn holder_id(&self) -> u64 {
        self.id
    }

    /// The holder's id as stored (0 before first need): for a task's
    /// slot to swap its own in (see `runtime::task`).
    pub(crate) fn id_mut(&mut self) -> &mut u64 {
        &mut self.id
    }

    /// This thread's id, assigned on first need.
    #[inline]
    pub(crate) fn id(&mut self) -> ThreadId {
        if self.id == 0 {
            self.info();
        }
        ThreadId(self.id)
    }

    /// A per-thread value mixed into what a lock remembers of its last
    /// validation, so that a stack validated by one thread is validated again
    /// by the next (which may make an edge multi-threaded).
    #[inline]
    pub(crate) fn salt(&mut self) -> u64 {
        if self.id == 0 {
            self.info();
        }
        self.ready_salt()
    }

    /// [`salt`](Self::salt) for a thread ready for the fast path: `room` and
    /// the id are set together, so there is nothing to start (and no call
    /// for the fast path to carry).
    #[inline(always)]
    pub(crate) fn ready_salt(&self) -> u64 {
        debug_assert!(self.id != 0 || self.room == 0);
        self.id.wrapping_mul(0xd6e8_feb8_6659_fd93)
    }

    /// Chain key of the current stack.
    #[inline]
    pub(crate) fn chain(&self) -> u64 {
        self.held.last().map_or(EMPTY_CHAIN, |e| e.chain)
    }

    /// Whether a stack with this chain key has been validated already.
    #[inline]
    pub(crate) fn knows(&self, chain: u64) -> bool {
        self.cache[slot(chain)] == chain
    }

    /// Remembers a validated stack.
    pub(crate) fn remember(&mut self, chain: u64) {
        self.cache[slot(chain)] = chain;
    }

    /// Pushes a newly acquired lock.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: HeldEntry) {
        if self.room == 0 {
            self.watch();
        }
        if !self.held.push(entry) {
            too_deep();
        }
    }

    /// Whether an acquisition may push without the checks of [`Self::push`]:
    /// the exit watch is registered and the stack has room. Asked before
    /// the raw lock is taken, so that nothing is left to decide after it.
    #[inline(always)]
    pub(crate) fn ready_for_fast_push(&self) -> bool {
        self.held.len() < self.room
    }

    /// Registers the thread's exit watch, on its first acquisition.
    #[cold]
    #[inline(never)]
    fn watch(&mut self) {
        self.info();
    }

    /// The entry for a lock this thread holds, innermost first.
    pub(crate) fn find_mut(&mut self, id: LockId) -> Option<&mut HeldEntry> {
        self.held.iter_mut().rev().find(|e| e.id == id)
    }

    /// Whether this thread holds `id` in any mode.
    pub(crate) fn holds(&self, id: LockId) -> bool {
        self.held.iter().any(|e| e.id == id)
    }

    /// Releases one hold of `id` in `mode` (the innermost such). Returns
    /// `Some(in_graph)` when it was the last hold, `None` for a re-entry or a
    /// lock this thread does not hold. Guards may be dropped in any order, so
    /// entries above a removed one get their chain keys recomputed.
    #[inline(always)]
    pub(crate) fn release(
        &mut self,
        id: LockId,
        kind: LockKind,
        mode: AcquireMode,
    ) -> Option<bool> {
        self.release_top(id, kind, mode)
            .or_else(|| self.release_inner(id, mode))
    }

    /// Releases the innermost entry if it is the last hold of `id` (a lock
    /// of `kind`) in `mode` (guards dropped in the order they were taken):
    /// `Some(in_graph)` then, `None` for any other case. A mutex is only ever
    /// held exclusively, and only a reentrant mutex counts re-entries, so a
    /// constant `kind` drops those comparisons.
    #[inline(always)]
    pub(crate) fn release_top(
        &mut self,
        id: LockId,
        kind: LockKind,
        mode: AcquireMode,
    ) -> Option<bool> {
        let top = self.held.last()?;
        if top.id == id
            && (kind == LockKind::Mutex || top.mode == mode)
            && (kind != LockKind::ReentrantMutex || top.reentries == 0)
        {
            let in_graph = top.in_graph;
            let mode = if kind == LockKind::Mutex {
                AcquireMode::Exclusive
            } else {
                top.mode
            };
            let site = top.site;
            self.held.pop_released(id, mode, site);
            return Some(in_graph);
        }
        None
    }

    #[cold]
    fn release_inner(&mut self, id: LockId, mode: AcquireMode) -> Option<bool> {
        let i = self
            .held
            .iter()
            .rposition(|e| e.id == id && e.mode == mode)?;
        if self.held[i].reentries > 0 {
            self.held[i].reentries -= 1;
            return None;
        }
        let removed = self.held.remove(i);
        if i < self.held.len() {
            self.rechain(i);
        }
        Some(removed.in_graph)
    }

    /// Recomputes chain keys from position `from` up.
    pub(crate) fn rechain(&mut self, from: usize) {
        let mut prev = if from == 0 {
            EMPTY_CHAIN
        } else {
            self.held[from - 1].chain
        };
        for e in &mut self.held[from..] {
            e.chain = chain_mix(prev, e.order_key(), e.mode);
            prev = e.chain;
        }
    }
}

/// Watches the thread's exit: a thread that ends while its state says it
/// holds locks leaked a guard (`mem::forget`), and the locks stay locked
/// forever. Also keeps the thread's identity for reports.
struct ExitWatch {
    info: OnceCell<ThreadInfo>,
}

impl Drop for ExitWatch {
    fn drop(&mut self) {
        let Some(thread) = self.info.get() else {
            return;
        };
        live_threads().lock().remove(&thread.id.0);
        if super::recorder::on() {
            super::recorder::record(thread.id, &Event::End { thread: thread.id }, None);
        }
        let Some(held) = with_thread(|t| t.held.take_all()) else {
            return;
        };
        for entry in held {
            super::policy::thread_exited_holding(thread, &entry.held_lock());
        }
    }
}

fn next_thread_id() -> u64 {
    NEXT_THREAD.fetch_add(1, Relaxed)
}

fn new_thread_info() -> ThreadInfo {
    thread_info_with(ThreadId(next_thread_id()))
}

fn thread_info_with(id: ThreadId) -> ThreadInfo {
    super::announce::once();
    let info = ThreadInfo {
        id,
        name: std::thread::current().name().map(std::sync::Arc::from),
        task: false,
    };
    // Once a thread, when its exit watch is made: it leaves at its exit.
    live_threads().lock().insert(id.0, info.clone());
    if let Some(name) = &info.name {
        thread_names().lock().insert(info.id.0, name.clone());
        if super::recorder::on() {
            let event = Event::ThreadName {
                thread: id,
                name: name.clone(),
            };
            super::recorder::record(id, &event, None);
        }
    }
    info
}

/// An id for a thread about to be spawned, so that its parent can name it
/// (in a trace's spawn and join) before it runs.
pub(crate) fn reserve_thread_id() -> ThreadId {
    ThreadId(next_thread_id())
}

/// Makes this new thread take the id its parent reserved for it.
pub(crate) fn adopt_thread_id(id: ThreadId) {
    let _ = EXIT_WATCH.try_with(|w| w.info.get_or_init(|| thread_info_with(id)).clone());
}

fn thread_names() -> &'static crate::raw::Mutex<crate::fx_hash::FxHashMap<u64, std::sync::Arc<str>>>
{
    static NAMES: std::sync::OnceLock<
        crate::raw::Mutex<crate::fx_hash::FxHashMap<u64, std::sync::Arc<str>>>,
    > = std::sync::OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// Threads that have used lockcheck and not ended yet, by id.
fn live_threads() -> &'static crate::raw::Mutex<crate::fx_hash::FxHashMap<u64, ThreadInfo>> {
    static LIVE: std::sync::OnceLock<
        crate::raw::Mutex<crate::fx_hash::FxHashMap<u64, ThreadInfo>>,
    > = std::sync::OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// Every thread that has used lockcheck and not ended yet, by id (for a
/// snapshot of what each one waits for).
pub(crate) fn known_threads() -> Vec<ThreadInfo> {
    let mut threads: Vec<ThreadInfo> = live_threads().lock().values().cloned().collect();
    threads.sort_by_key(|t| t.id.0);
    threads
}

/// The thread (or task) with this id, named as it was when it first used
/// lockcheck (it may have ended since). A task is found among the last
/// [`TASK_NAMES`] named; one older than those is `#id` in reports.
pub(crate) fn thread_info(id: ThreadId) -> ThreadInfo {
    if let Some(name) = thread_names().lock().get(&id.0).cloned() {
        return ThreadInfo {
            id,
            name: Some(name),
            task: false,
        };
    }
    let task = task_names().lock().by_id.get(&id.0).cloned();
    ThreadInfo {
        id,
        task: task.is_some(),
        name: task,
    }
}

/// How many tasks' names [`thread_info`] keeps: the most recently named,
/// so that a program spawning tasks forever keeps a bounded table (some
/// 3 MB at most), and a report about a task that ended a while ago (a
/// race's earlier access) still says which task it was.
pub(crate) const TASK_NAMES: usize = 1 << 16;

/// The names of the last [`TASK_NAMES`] tasks named, and their order.
#[derive(Default)]
struct TaskNames {
    by_id: crate::fx_hash::FxHashMap<u64, std::sync::Arc<str>>,
    order: std::collections::VecDeque<u64>,
}

fn task_names() -> &'static crate::raw::Mutex<TaskNames> {
    static NAMES: std::sync::OnceLock<crate::raw::Mutex<TaskNames>> = std::sync::OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// Task `id` is called `name` in reports (once, when it is first polled).
pub(crate) fn name_task(id: ThreadId, name: std::sync::Arc<str>) {
    let mut names = task_names().lock();
    if names.by_id.insert(id.0, name).is_none() {
        names.order.push_back(id.0);
        if names.order.len() > TASK_NAMES {
            if let Some(oldest) = names.order.pop_front() {
                names.by_id.remove(&oldest);
            }
        }
    }
}

#[cold]
fn too_deep() {
    static NOTED: std::sync::Once = std::sync::Once::new();
    NOTED.call_once(|| {
        super::unchecked::note(&format!(
            "a thread held more than {MAX_HELD} locks at once: its deeper acquisitions are not \
             checked"
        ));
    });
}

#[inline]
fn slot(chain: u64) -> usize {
    (chain >> 54) as usize & (CHAIN_CACHE_SLOTS - 1)
}

thread_local! {
    static THREAD: RefCell<ThreadState> = const { RefCell::new(ThreadState::new()) };
    static EXIT_WATCH: ExitWatch = const { ExitWatch { info: OnceCell::new() } };
}

/// Runs `f` on this thread's state; `None` when the state is already in use
/// further up this thread's stack (a report being made).
#[inline(always)]
pub(crate) fn with_thread<R>(f: impl FnOnce(&mut ThreadState) -> R) -> Option<R> {
    let cell = state_cell()?;
    // SAFETY: see `state_cell`; the reference does not leave this call.
    let mut state = unsafe { &*cell }.try_borrow_mut().ok()?;
    Some(f(&mut state))
}

/// The address of this thread's state. Only the address is taken inside
/// `try_with`: with the caller's work inside it, the closure grows past what
/// the inliner takes, and every lock pays a call. `THREAD` is
/// const-initialised and needs no destructor, so the address stays valid as
/// long as this thread runs (and `RefCell` is not `Sync`, so no reference
/// made from it can reach another thread).
#[inline(always)]
fn state_cell() -> Option<*const RefCell<ThreadState>> {
    THREAD
        .try_with(|cell| cell as *const RefCell<ThreadState>)
        .ok()
}

/// Runs `f` on this thread's state without marking the state borrowed: for
/// the lock fast path, where the two stores of the borrow flag are a fifth
/// of the stores between the raw lock and the raw unlock (and every store
/// there must drain before the unlock's atomic). `None` when the state is in
/// use further up this thread's stack.
///
/// # Safety
/// `f` must not reach this thread's state again: it may call nothing that
/// could (a raw lock's `try_lock` is fine; lockcheck code is not).
#[inline(always)]
pub(crate) unsafe fn with_thread_unmarked<R>(f: impl FnOnce(&mut ThreadState) -> R) -> Option<R> {
    // SAFETY: see `state_cell`.
    let cell = unsafe { &*state_cell()? };
    // Only mutable borrows of the state are ever taken, so "not mutably
    // borrowed" means "not borrowed at all".
    // SAFETY: the shared reference is dropped at once.
    unsafe { cell.try_borrow_unguarded() }.ok()?;
    // SAFETY: nothing else borrows the state now, and the caller promises
    // `f` makes no other access to it before this one ends.
    Some(f(unsafe { &mut *cell.as_ptr() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(s: &mut ThreadState, id: u64, mode: AcquireMode) {
        let chain = chain_mix(s.chain(), id, mode);
        s.push(HeldEntry {
            id: LockId(id),
            chain,
            site: std::panic::Location::caller(),
            desc: crate::runtime::lock_desc::DescId(0),
            reentries: 0,
            mode,
            in_graph: false,
            by_class: false,
        });
    }

    #[test]
    fn chain_key_depends_on_stack_not_history() {
        let mut s = ThreadState::new();
        push(&mut s, 1, AcquireMode::Exclusive);
        push(&mut s, 2, AcquireMode::Exclusive);
        push(&mut s, 3, AcquireMode::Exclusive);
        let mut t = ThreadState::new();
        push(&mut t, 1, AcquireMode::Exclusive);
        push(&mut t, 3, AcquireMode::Exclusive);
        // Out-of-order release of 2: the stack is now [1, 3].
        s.release(LockId(2), LockKind::Mutex, AcquireMode::Exclusive);
        assert_eq!(s.chain(), t.chain());
        assert_ne!(s.chain(), EMPTY_CHAIN);
    }

    #[test]
    fn modes_make_different_chains() {
        assert_ne!(
            chain_mix(EMPTY_CHAIN, 1, AcquireMode::Read),
            chain_mix(EMPTY_CHAIN, 1, AcquireMode::RecursiveRead)
        );
    }

    #[test]
    fn reentries_release_one_at_a_time() {
        let mut s = ThreadState::new();
        push(&mut s, 1, AcquireMode::Exclusive);
        s.find_mut(LockId(1)).unwrap().reentries += 2;
        assert_eq!(
            s.release(LockId(1), LockKind::ReentrantMutex, AcquireMode::Exclusive),
            None
        );
        assert_eq!(
            s.release(LockId(1), LockKind::ReentrantMutex, AcquireMode::Exclusive),
            None
        );
        assert_eq!(
            s.release(LockId(1), LockKind::ReentrantMutex, AcquireMode::Exclusive),
            Some(false)
        );
        assert!(s.held.is_empty());
    }

    #[test]
    fn cache_remembers_validated_chains() {
        let mut s = ThreadState::new();
        let key = chain_mix(EMPTY_CHAIN, 5, AcquireMode::Exclusive);
        assert!(!s.knows(key));
        s.remember(key);
        assert!(s.knows(key));
    }

    #[test]
    fn task_names_keep_the_most_recent_ones_only() {
        // Ids far above any this process gives out.
        let first = u64::MAX - 2 * TASK_NAMES as u64;
        for i in 0..=TASK_NAMES as u64 {
            name_task(ThreadId(first + i), format!("task t{i}").into());
        }
        let oldest = thread_info(ThreadId(first));
        assert!(!oldest.task && oldest.name.is_none(), "{oldest:?}");
        let newest = thread_info(ThreadId(first + TASK_NAMES as u64));
        assert!(newest.task, "{newest:?}");
        assert_eq!(
            newest.name.as_deref(),
            Some(&*format!("task t{TASK_NAMES}"))
        );
        assert!(task_names().lock().by_id.len() <= TASK_NAMES);
    }
}
