//! What every async lock's acquisition shares: the checks around the
//! semaphore's await, and the hold a guard keeps.
//!
//! Each lock is one tokio `Semaphore` (as tokio's own `Mutex` and `RwLock`
//! are) beside its [`LockMeta`]: a guard forgets the permits it acquired
//! and gives them back when it drops, after its hold has left the holder's
//! stack, so that one raw lock serves the borrowed, owned and mapped
//! guards alike (lock_api's split between one raw lock and generic guards).

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::{Semaphore, TryAcquireError};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire::{Waiting, GRACE};
use crate::runtime::async_acquire::{self, Planned};
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::task;

/// A hold of an async lock, kept by its guard: released (from the
/// holder's stack) when it drops, before the guard gives its permits back.
pub(crate) struct Hold {
    kind: LockKind,
    mode: AcquireMode,
    /// The holder that took it (a task's id, or a thread's); 0 when the
    /// acquisition was not tracked.
    holder: u64,
}

impl Hold {
    /// Releases the hold of `meta`'s lock; called by the guard's drop.
    pub(crate) fn release(&self, meta: &LockMeta) {
        if self.holder != 0 {
            async_acquire::release(meta, self.kind, self.mode, self.holder);
        }
    }

    fn tracked(kind: LockKind, mode: AcquireMode, tracked: bool) -> Hold {
        let holder = if tracked {
            task::current_holder().unwrap_or(0)
        } else {
            0
        };
        Hold { kind, mode, holder }
    }
}

/// Why the semaphore of a lock cannot be closed: lockcheck never closes
/// one, so an acquire that fails is a bug of lockcheck's.
const NEVER_CLOSED: &str = "lockcheck never closes a lock's semaphore";

/// Acquires `permits` of `meta`'s lock `sem` in `mode`, checked, for a
/// `lock().await` (or `read`, `write`) at `site`.
pub(crate) async fn acquire(
    meta: &LockMeta,
    sem: &Semaphore,
    permits: u32,
    kind: LockKind,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Hold {
    let planned = async_acquire::before(meta, mode, site);
    match sem.try_acquire_many(permits) {
        Ok(permit) => permit.forget(),
        Err(TryAcquireError::NoPermits) => {
            if let Some(planned) = &planned {
                async_acquire::contended(meta, planned);
            }
            await_permits(meta, sem, permits, planned.as_ref()).await;
        }
        Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
    }
    let tracked = planned.is_some();
    if let Some(planned) = planned {
        async_acquire::acquired(meta, planned);
    }
    Hold::tracked(kind, mode, tracked)
}

/// The same acquisition without waiting (`try_lock`, `try_read`, …):
/// `None` when the lock is taken.
pub(crate) fn try_acquire(
    meta: &LockMeta,
    sem: &Semaphore,
    permits: u32,
    kind: LockKind,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Option<Hold> {
    match sem.try_acquire_many(permits) {
        Ok(permit) => permit.forget(),
        Err(TryAcquireError::NoPermits) => return None,
        Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
    }
    let tracked = async_acquire::tried(meta, mode, site).is_some();
    Some(Hold::tracked(kind, mode, tracked))
}

/// The same acquisition from blocking code (`blocking_lock`, …): the
/// thread blocks as in any blocking lock, through tokio's own wait.
pub(crate) fn blocking_acquire(
    meta: &LockMeta,
    sem: &Semaphore,
    permits: u32,
    kind: LockKind,
    mode: AcquireMode,
    site: &'static Location<'static>,
) -> Hold {
    let planned = async_acquire::before(meta, mode, site);
    match sem.try_acquire_many(permits) {
        Ok(permit) => permit.forget(),
        Err(TryAcquireError::NoPermits) => {
            if let Some(planned) = &planned {
                async_acquire::contended(meta, planned);
            }
            block_on(sem.acquire_many(permits))
                .expect(NEVER_CLOSED)
                .forget();
        }
        Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
    }
    let tracked = planned.is_some();
    if let Some(planned) = planned {
        async_acquire::acquired(meta, planned);
    }
    Hold::tracked(kind, mode, tracked)
}

/// Awaits the permits. A wait that outlasts the grace period joins the
/// wait-for graph as a parked task (one wake-up from lockcheck's timer
/// brings it back to do so): if that closes a cycle, the deadlock is
/// reported and broken by a panic here.
async fn await_permits(meta: &LockMeta, sem: &Semaphore, permits: u32, planned: Option<&Planned>) {
    let mut acquire = pin!(sem.acquire_many(permits));
    let mut wait = GraceWait::default();
    std::future::poll_fn(|cx| match acquire.as_mut().poll(cx) {
        Poll::Ready(permit) => {
            permit.expect(NEVER_CLOSED).forget();
            Poll::Ready(())
        }
        Poll::Pending => {
            if let Some(planned) = planned {
                wait.pending(cx, meta, planned);
            }
            Poll::Pending
        }
    })
    .await;
}

/// An await's grace period and, past it, its registration.
#[derive(Default)]
struct GraceWait {
    /// When the await first found the lock taken.
    start: Option<Instant>,
    /// The wake-up asked for, until when.
    woken_at: Option<Instant>,
    /// In the wait-for graph (dropped, it leaves).
    waiting: Option<Waiting>,
    /// Registered, or not to be (outside an instrumented task).
    settled: bool,
}

impl GraceWait {
    /// The await is pending still.
    fn pending(&mut self, cx: &mut Context<'_>, meta: &LockMeta, planned: &Planned) {
        if self.settled {
            return;
        }
        let now = Instant::now();
        let start = *self.start.get_or_insert(now);
        let due = start + GRACE;
        if now >= due {
            self.settled = true;
            self.waiting = async_acquire::wait(meta, planned);
        } else if self.woken_at.is_none_or(|at| at <= now) {
            self.woken_at = Some(due);
            if !super::timer::wake_at(due, cx.waker().clone()) {
                // No timer thread: the wait stays out of the graph, as a
                // timed wait would.
                self.settled = true;
            }
        }
    }
}

/// Runs `future` to completion on this thread, parked between polls (for
/// the blocking forms, which tokio's own run outside any runtime).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}
