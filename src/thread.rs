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

use rustc_hash::FxHashMap;

use crate::event::{Event, Site, ThreadId as EventThreadId};
use crate::runtime::hb::{self, HandOff};
use crate::runtime::recorder;
use crate::runtime::thread_state::{adopt_thread_id, reserve_thread_id};

pub use std::thread::{
    available_parallelism, current, panicking, park, park_timeout, sleep, yield_now, AccessError,
    LocalKey, Result, Thread, ThreadId,
};
#[allow(deprecated)]
pub use std::thread::{park_timeout_ms, sleep_ms};

/// Where a finished thread leaves its clocks for whoever joins it.
type EndClock = Arc<parking_lot::Mutex<HandOff>>;

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
        struct AtEnd(EndClock);
        impl Drop for AtEnd {
            fn drop(&mut self) {
                let last = hb::release_clock();
                self.0.lock().end_with(&last);
            }
        }
        let _at_end = AtEnd(end);
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
        #[track_caller]
        pub fn join(self) -> std::thread::Result<T> {
            let result = self.inner.join();
            joined(self.child, &self.end, Site::caller(), true);
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
type ScopeEnds = parking_lot::Mutex<FxHashMap<usize, Vec<(EventThreadId, EndClock)>>>;

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
    let mut key = 0;
    let result = std::thread::scope(|s| {
        // SAFETY: `Scope` is a `repr(transparent)` wrapper of std's scope.
        let ours: &Scope<'_, 'env> = unsafe { &*(s as *const std::thread::Scope<'_, 'env>).cast() };
        key = ours.key();
        f(ours)
    });
    let ends = scope_ends().lock().remove(&key).unwrap_or_default();
    for (child, end) in ends {
        joined(child, &end, Site::caller(), false);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
