//! `spawn` and `scope` with std's API, recording happens-before: a spawn
//! orders the parent's past before the child, a join orders the child's
//! whole run before the joiner, and the end of a `scope` joins every thread
//! spawned in it.
//!
//! ```
//! use std::sync::Arc;
//! let total = Arc::new(lockcheck::Shared::named("total", 0));
//! let t = total.clone();
//! lockcheck::thread::spawn(move || t.set(42)).join().unwrap();
//! assert_eq!(total.get(), 42); // ordered by the join: no race
//! ```
//!
//! The rest of `std::thread` is std's own, re-exported, so that
//! `use lockcheck::thread;` can replace `use std::thread;`: nothing in
//! [`current`], [`sleep`], [`park`], [`yield_now`], … takes a lock or hands
//! data over (a `park` woken by `Thread::unpark` is no happens-before edge:
//! hand data over through a lock, a channel or a join).
//!
//! ```
//! use lockcheck::thread;
//! let me = thread::current();
//! let id: thread::ThreadId = me.id();
//! let other = thread::spawn(|| thread::current().id()).join().unwrap();
//! assert_ne!(id, other);
//! thread::yield_now();
//! thread::sleep(std::time::Duration::ZERO);
//! assert!(thread::available_parallelism().map_or(true, |n| n.get() >= 1));
//! assert!(!thread::panicking());
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::fx_hash::FxHashMap;

use crate::event::{Event, Site, ThreadId as EventThreadId, ThreadInfo};
use crate::runtime::acquire;
use crate::runtime::hb::{self, HandOff};
use crate::runtime::hold_and_wait::JoinWaits;
use crate::runtime::nobody_left;
use crate::runtime::recorder;
use crate::runtime::thread_state::{adopt_thread_id, reserve_thread_id};

pub use std::thread::{
    available_parallelism, current, panicking, park, park_timeout, sleep, yield_now, AccessError,
    LocalKey, Result, Thread, ThreadId,
};
#[allow(deprecated)]
pub use std::thread::{park_timeout_ms, sleep_ms};

/// Where a finished thread leaves its clocks for whoever joins it, and
/// says that it has finished (so that a join can wait the grace period for
/// it before it counts as a wait).
#[derive(Default)]
struct End {
    clock: crate::raw::Mutex<HandOff>,
    finished: crate::raw::Mutex<bool>,
    on_finish: crate::raw::Condvar,
    /// What the thread took, for joiners holding locks (hold-and-wait).
    joiners_holding: JoinWaits,
}

type EndClock = Arc<End>;

impl End {
    fn lock(&self) -> crate::raw::MutexGuard<'_, HandOff> {
        self.clock.lock()
    }

    /// The thread's body is over (returned or unwound).
    fn finish(&self) {
        *self.finished.lock() = true;
        self.on_finish.notify_all();
    }

    /// Waits up to `grace` for the body to end; whether it has.
    fn finished_within(&self, grace: Duration) -> bool {
        let mut finished = self.finished.lock();
        if !*finished {
            // Spurious wakeups only shorten the grace period.
            self.on_finish.wait_for(&mut finished, grace);
        }
        *finished
    }
}

/// Waits for thread `child` (named `name`) as a join at `site` does: a
/// join that has not returned within the grace period of a lock wait is a
/// wait for the thread's end in the wait-for graph, for as long as `join`
/// blocks (or it reports and breaks the deadlock it closes, as `how`
/// says). Registered, it wakes every slice to check whether every thread of
/// the process is blocked (the second deadlock rule), and breaks that
/// deadlock when it is the thread chosen to.
#[track_caller]
fn join_waiting<R>(
    child: EventThreadId,
    name: Option<&str>,
    end: &End,
    site: Site,
    how: acquire::OnCycle,
    join: impl FnOnce() -> R,
) -> R {
    // A joiner holding locks is matched against what the thread took
    // before it ended, whichever of the two comes second.
    let holding = end.joiners_holding.joining(child.0, site);
    if !end.finished_within(acquire::GRACE) {
        let joins = ThreadInfo {
            id: child,
            name: name.map(Arc::from),
            task: false,
        };
        if let Some(waiting) = acquire::wait_to_join(joins, site, how) {
            while !end.finished_within(nobody_left::SLICE) {
                if let Some(stuck) = waiting.stuck() {
                    match how {
                        acquire::OnCycle::Panic => stuck.break_here(),
                        acquire::OnCycle::Abort => stuck.abort_here(),
                    }
                }
            }
        }
    }
    let joined = join();
    // Once the join is over: a report may panic.
    if let Some(ticket) = holding {
        ticket.joined().report();
    }
    joined
}

/// Records a spawn or join of `child` by this thread.
fn trace(child: EventThreadId, spawned: bool, site: Site) {
    if !recorder::on() {
        return;
    }
    recorder::record_here(|parent| {
        if spawned {
            Event::Spawn {
                parent,
                child,
                site,
            }
        } else {
            Event::Join {
                parent,
                child,
                site,
            }
        }
    });
}

/// Thread `child` was joined at `site`: everything it did happens before
/// what the joiner does next. A join that waited for the thread's very end
/// (`waited_out`: std's own join, not the end of a scope, which may return
/// while the thread still runs its thread-local destructors) also passes
/// the thread's clock slot on to the joiner's next child.
fn joined(child: EventThreadId, end: &EndClock, site: Site, waited_out: bool) {
    if waited_out {
        hb::acquire_end(&mut end.lock());
    } else {
        hb::acquire_clock(&end.lock());
    }
    trace(child, false, site);
}

/// Wraps a thread body: it starts after the spawn (as thread `child`) and
/// leaves its final clock in `end`, even when it panics.
fn body<F, T>(f: F, child: EventThreadId, end: EndClock, site: Site) -> impl FnOnce() -> T
where
    F: FnOnce() -> T,
{
    trace(child, true, site);
    let slot = hb::slot_for_child();
    let start = hb::release_clock();
    move || {
        adopt_thread_id(child);
        hb::take_slot(slot);
        hb::start_child(&start);
        struct AtEnd(EndClock, EventThreadId, Site);
        impl Drop for AtEnd {
            fn drop(&mut self) {
                self.0.joiners_holding.ending(self.1 .0, self.2);
                let last = hb::release_clock();
                self.0.lock().end_with(&last);
                self.0.finish();
            }
        }
        let _at_end = AtEnd(end, child, site);
        acquire::mark_joinable();
        f()
    }
}

/// What both join handles offer, as std's: `join` (which also orders the
/// thread's whole run before what the caller does next), `thread`,
/// `is_finished`.
macro_rules! join_handle_methods {
    () => {
        /// Waits for the thread; everything it did happens before what the
        /// caller does next.
        ///
        /// A join that waits longer than a lock's grace period is a wait in
        /// the wait-for graph, for the end of the thread: if the thread
        /// waits for a lock the caller holds, the deadlock is reported and
        /// broken by a panic here or in the thread, whichever closes it.
        #[track_caller]
        pub fn join(self) -> std::thread::Result<T> {
            let site = Site::caller();
            let inner = self.inner;
            let name = inner.thread().name().map(str::to_owned);
            let how = acquire::OnCycle::Panic;
            let result = join_waiting(self.child, name.as_deref(), &self.end, site, how, || {
                inner.join()
            });
            joined(self.child, &self.end, site, true);
            result
        }

        /// The thread.
        pub fn thread(&self) -> &std::thread::Thread {
            self.inner.thread()
        }

        /// Whether the thread has finished.
        pub fn is_finished(&self) -> bool {
            self.inner.is_finished()
        }
    };
}

/// Handle to a spawned thread, as std's.
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    child: EventThreadId,
    end: EndClock,
}

impl<T> JoinHandle<T> {
    join_handle_methods!();
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

/// Spawns a thread, as `std::thread::spawn`.
///
/// # Panics
/// As std: if the operating system cannot create a thread.
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new()
        .spawn(f)
        .unwrap_or_else(|e| panic!("failed to spawn thread: {e}"))
}

/// Thread configuration, as `std::thread::Builder`.
#[derive(Debug)]
pub struct Builder {
    inner: std::thread::Builder,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Default configuration.
    pub fn new() -> Self {
        Builder {
            inner: std::thread::Builder::new(),
        }
    }

    /// Names the thread (reports use the name).
    pub fn name(self, name: String) -> Self {
        Builder {
            inner: self.inner.name(name),
        }
    }

    /// Sets the stack size.
    pub fn stack_size(self, size: usize) -> Self {
        Builder {
            inner: self.inner.stack_size(size),
        }
    }

    /// Spawns the thread.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let end = EndClock::default();
        let child = reserve_thread_id();
        let inner = self
            .inner
            .spawn(body(f, child, end.clone(), Site::caller()))?;
        Ok(JoinHandle { inner, child, end })
    }

    /// Spawns a thread without the `'static` bounds, as std's
    /// `Builder::spawn_unchecked`; its start and join order as
    /// [`Builder::spawn`]'s do.
    ///
    /// # Safety
    /// As std's: the thread must not outlive anything `f` or its result
    /// borrows (join it before they go), and a thread that outlives
    /// `main` must not touch what `main`'s end tears down.
    #[track_caller]
    pub unsafe fn spawn_unchecked<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let end = EndClock::default();
        let child = reserve_thread_id();
        // SAFETY: the caller upholds std's contract, for `f` as wrapped
        // (the wrapper adds only owned clocks).
        let inner = unsafe {
            self.inner
                .spawn_unchecked(body(f, child, end.clone(), Site::caller()))?
        };
        Ok(JoinHandle { inner, child, end })
    }

    /// Spawns a scoped thread.
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let child = reserve_thread_id();
        let end = scope.end_clock(child);
        let inner = self
            .inner
            .spawn_scoped(&scope.inner, body(f, child, end.clone(), Site::caller()))?;
        Ok(ScopedJoinHandle { inner, child, end })
    }
}

/// A scope for spawning threads that borrow from the caller, as
/// `std::thread::Scope`.
#[repr(transparent)]
pub struct Scope<'scope, 'env: 'scope> {
    inner: std::thread::Scope<'scope, 'env>,
}

/// Clocks of the threads of each live scope, by the address of std's scope.
/// A scope's end joins all of them.
type ScopeEnds = crate::raw::Mutex<FxHashMap<usize, Vec<(EventThreadId, EndClock)>>>;

fn scope_ends() -> &'static ScopeEnds {
    static ENDS: std::sync::OnceLock<ScopeEnds> = std::sync::OnceLock::new();
    ENDS.get_or_init(Default::default)
}

impl<'scope, 'env> Scope<'scope, 'env> {
    fn key(&self) -> usize {
        &self.inner as *const std::thread::Scope<'scope, 'env> as usize
    }

    fn end_clock(&self, child: EventThreadId) -> EndClock {
        let end = EndClock::default();
        scope_ends()
            .lock()
            .entry(self.key())
            .or_default()
            .push((child, end.clone()));
        end
    }

    /// Spawns a scoped thread, as `std::thread::Scope::spawn`.
    ///
    /// # Panics
    /// As std: if the operating system cannot create a thread.
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .unwrap_or_else(|e| panic!("failed to spawn thread: {e}"))
    }
}

/// Handle to a scoped thread, as std's.
pub struct ScopedJoinHandle<'scope, T> {
    inner: std::thread::ScopedJoinHandle<'scope, T>,
    child: EventThreadId,
    end: EndClock,
}

impl<T> ScopedJoinHandle<'_, T> {
    join_handle_methods!();
}

/// Runs `f` with a scope for borrowing threads, as `std::thread::scope`;
/// every thread spawned in it is joined, and ordered before what follows.
///
/// ```
/// let mut counts = [0u32; 2];
/// lockcheck::thread::scope(|s| {
///     for c in counts.iter_mut() {
///         s.spawn(move || *c += 1);
///     }
/// });
/// assert_eq!(counts, [1, 1]);
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let site = Site::caller();
    let mut key = 0;
    let result = std::thread::scope(|s| {
        // SAFETY: `Scope` is a `repr(transparent)` wrapper of std's scope.
        let ours: &Scope<'_, 'env> = unsafe { &*(s as *const std::thread::Scope<'_, 'env>).cast() };
        key = ours.key();
        // Until std's scope returns: a panic anywhere in it waits for the
        // scope's threads.
        let _in_scope = nobody_left::enter_scope();
        let result = f(ours);
        wait_for_scope_end(key, site);
        result
    });
    let ends = scope_ends().lock().remove(&key).unwrap_or_default();
    for (child, end) in ends {
        joined(child, &end, site, false);
    }
    result
}

/// The end of a scope waits for every thread spawned in it: each such
/// wait is a join at the scope's call, in the wait-for graph once it has
/// outlasted the grace period. The scope's closure has returned, so the
/// locks this thread holds were taken outside the scope: a panic here would
/// not release them before std's scope waits for its threads, so a cycle
/// closed here aborts the process once it is reported (see
/// `acquire::OnCycle`).
#[track_caller]
fn wait_for_scope_end(key: usize, site: Site) {
    let threads: Vec<(EventThreadId, EndClock)> =
        scope_ends().lock().get(&key).cloned().unwrap_or_default();
    for (child, end) in threads {
        join_waiting(child, None, &end, site, acquire::OnCycle::Abort, || ());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::mpsc;

    use crate::test_support::{about, my_id, until_waiting, DEADLINE};
    use crate::{FindingKind, Mutex};

    /// Runs `scenario` on a thread of its own and returns its result, or
    /// fails once the deadline passes (a hang lockcheck did not break).
    fn within_deadline<R: Send + 'static>(scenario: impl FnOnce() -> R + Send + 'static) -> R {
        let (result, outcome) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = result.send(scenario());
        });
        outcome
            .recv_timeout(DEADLINE)
            .expect("the scenario ended (a hang was not broken, or it panicked)")
    }

    /// Signals on drop, so that a thread says it ended whether it returned
    /// or was panicked.
    struct SaysEnded(mpsc::Sender<()>);
    impl Drop for SaysEnded {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    /// The thread holds `L` and joins a child that waits for `L`: a cycle
    /// through a join and a lock wait, reported once and broken by a panic
    /// in whichever of the two closed it (the child holds nothing, and is
    /// in the graph all the same: it can be joined).
    #[test]
    fn joining_a_thread_that_waits_for_a_held_lock_is_a_deadlock_broken() {
        crate::config::set_backtraces(false);
        let (closed_by_joiner, child_panicked) = within_deadline(|| {
            let l = Arc::new(Mutex::named("joinwait.cycle.l", ()));
            let (ended, child_ended) = mpsc::channel();
            let joined = catch_unwind(AssertUnwindSafe(|| {
                let _held = l.lock();
                let l = l.clone();
                let child = spawn(move || {
                    let _ends = SaysEnded(ended);
                    drop(l.lock());
                });
                child.join().is_err()
            }));
            // Broken either way: the child ends (panicked, or given `L`
            // once the joiner's panic released it).
            child_ended.recv_timeout(DEADLINE).expect("the child ended");
            (joined.is_err(), joined.unwrap_or(false))
        });
        assert!(
            closed_by_joiner != child_panicked,
            "exactly one thread is panicked (joiner: {closed_by_joiner}, child: {child_panicked})"
        );
        let found = about("joinwait.cycle.");
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::Deadlock);
        // The child waits for `L`, holding nothing; the joiner waits for
        // the child's end, holding `L`.
        assert_eq!(f.waits.len(), 1);
        assert_eq!(
            f.waits[0].waits_for.name.as_deref(),
            Some("joinwait.cycle.l")
        );
        assert!(f.waits[0].holds.is_empty());
        assert!(f.summary.contains("the end of thread"), "{}", f.summary);
        let join = f
            .notes
            .iter()
            .find(|n| n.contains("(a join)"))
            .expect("a note for the join");
        assert!(join.contains("src/thread.rs"), "the join's site: {join}");
        assert!(join.contains("holding `joinwait.cycle.l`"), "{join}");
    }

    /// The same cycle through a `ScopedJoinHandle::join`: when the joiner
    /// is panicked, its guard drops as the panic leaves the scope's closure,
    /// so the scope's own join of the child ends.
    #[test]
    fn a_scoped_join_under_a_lock_its_thread_waits_for_is_a_deadlock_broken() {
        crate::config::set_backtraces(false);
        let (closed_by_joiner, child_panicked) = within_deadline(|| {
            let l = Mutex::named("joinwait.scoped.l", ());
            let joined = catch_unwind(AssertUnwindSafe(|| {
                scope(|s| {
                    let _held = l.lock();
                    let child = s.spawn(|| drop(l.lock()));
                    child.join().is_err()
                })
            }));
            (joined.is_err(), joined.unwrap_or(false))
        });
        assert!(
            closed_by_joiner != child_panicked,
            "exactly one thread is panicked (joiner: {closed_by_joiner}, child: {child_panicked})"
        );
        let found = about("joinwait.scoped.");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].kind, FindingKind::Deadlock);
        assert!(found[0].notes.iter().any(|n| n.contains("(a join)")));
    }

    /// A joiner that holds nothing and that no lockcheck join waits for (a
    /// std thread, like `main`) cannot close a cycle, but is in the
    /// wait-for graph all the same, for the second rule (every thread
    /// blocked): its join of a slow child is no finding.
    #[test]
    fn a_joiner_that_holds_nothing_is_in_the_graph_and_finds_nothing() {
        crate::config::set_backtraces(false);
        within_deadline(|| {
            let (go, wait_go) = mpsc::channel::<()>();
            let (ids, id) = mpsc::channel();
            std::thread::scope(|s| {
                let a = s.spawn(move || {
                    let c = spawn(move || {
                        let _ = wait_go.recv_timeout(DEADLINE);
                    });
                    ids.send(my_id()).expect("send A's id");
                    c.join().is_ok()
                });
                let joiner = id.recv_timeout(DEADLINE).expect("A's id");
                until_waiting(joiner);
                let _ = go.send(());
                assert!(a.join().expect("A"));
            });
        });
    }

    /// Near miss: the joiner releases `L` before it joins the child that
    /// waits for it.
    #[test]
    fn a_join_after_the_lock_is_released_is_clean() {
        crate::config::set_backtraces(false);
        let joined = within_deadline(|| {
            let l = Arc::new(Mutex::named("joinwait.released.l", ()));
            let (id, child_id) = mpsc::channel();
            let held = l.lock();
            let child = {
                let l = l.clone();
                spawn(move || {
                    let _ = id.send(my_id());
                    drop(l.lock());
                })
            };
            // The child waits for `L` in the graph before it is released.
            until_waiting(child_id.recv_timeout(DEADLINE).expect("the child's id"));
            drop(held);
            child.join().is_ok()
        });
        assert!(joined);
        assert!(about("joinwait.released.").is_empty());
    }

    /// Near misses: the joiner holds `L` while it joins, past the grace
    /// period, a child that is merely slow (it waits for a message sent
    /// only once the join is in the wait-for graph) and that takes another
    /// lock, never `L`.
    #[test]
    fn a_join_of_a_slow_child_that_does_not_need_the_lock_is_clean() {
        crate::config::set_backtraces(false);
        let joined = within_deadline(|| {
            let l = Mutex::named("joinwait.slow.l", ());
            let other = Arc::new(Mutex::named("joinwait.slow.other", ()));
            let (go, wait_for_go) = mpsc::channel::<()>();
            let _held = l.lock();
            let child = {
                let other = other.clone();
                spawn(move || {
                    let _other = other.lock();
                    wait_for_go.recv_timeout(DEADLINE).expect("the go");
                })
            };
            let joiner = my_id();
            let releaser = std::thread::spawn(move || {
                until_waiting(joiner);
                let _ = go.send(());
            });
            let joined = child.join().is_ok();
            releaser.join().expect("the releaser");
            joined
        });
        assert!(joined);
        assert!(about("joinwait.slow.").is_empty());
    }

    #[test]
    fn a_joined_threads_slot_goes_to_the_next_child() {
        spawn(|| {}).join().unwrap();
        let width = hb::clock_width();
        for _ in 0..50 {
            spawn(|| {}).join().unwrap();
        }
        // Every child took the slot of the one joined before it: this
        // thread's clock did not grow by a component per child.
        assert_eq!(hb::clock_width(), width);
        // Children that run at once each need a slot of their own.
        let a = spawn(|| {});
        let b = spawn(|| {});
        a.join().unwrap();
        b.join().unwrap();
        assert!(hb::clock_width() > width);
    }
}
