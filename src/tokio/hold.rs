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
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::{Semaphore, TryAcquireError};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire::{Waiting, GRACE};
use crate::runtime::async_acquire::{self, Planned};
use crate::runtime::lock_meta::LockMeta;
use crate::runtime::task;

use super::timer::{Grace, GraceNow};

/// An async lock's raw parts: its identity and clocks, and the tokio
/// semaphore that is the lock (as tokio's own locks are one semaphore).
pub(crate) struct RawLock {
    pub(crate) meta: LockMeta,
    pub(crate) sem: Semaphore,
}

impl RawLock {
    /// An unlocked lock of `permits` permits (`const`, for `const_new`).
    pub(crate) const fn new(
        kind: LockKind,
        name: Option<&'static str>,
        created: &'static Location<'static>,
        permits: usize,
    ) -> Self {
        RawLock {
            meta: LockMeta::new(kind, name, created),
            sem: Semaphore::const_new(permits),
        }
    }
}

/// How a guard reaches the raw lock it releases: a borrow of the lock, a
/// borrow of its raw parts (a mapped guard, which no longer knows the
/// lock's type), or an `Arc` of the lock (owned guards).
pub(crate) trait LockRef {
    /// The raw lock.
    fn raw(&self) -> &RawLock;
}

impl LockRef for &RawLock {
    #[inline(always)]
    fn raw(&self) -> &RawLock {
        self
    }
}

/// What every guard keeps: its way to the lock and its hold. Dropped, it
/// releases the hold (from the holder's stack) and then gives the
/// permits back, so a guard type needs no `Drop` of its own and a map is
/// a move of this into another guard type.
pub(crate) struct Held<L: LockRef> {
    pub(crate) lock: L,
    hold: Hold,
}

impl<L: LockRef> Held<L> {
    /// The guard's `hold` of `lock`.
    #[inline(always)]
    pub(crate) fn new(lock: L, hold: Hold) -> Self {
        Held { lock, hold }
    }

    /// The same hold, reached through `to(lock)`: for a mapped guard.
    #[inline]
    pub(crate) fn rebind<M: LockRef>(self, to: impl FnOnce(L) -> M) -> Held<M> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: each field is read once out of a value that is never
        // dropped, so nothing is duplicated.
        let (lock, hold) = unsafe { (std::ptr::read(&this.lock), std::ptr::read(&this.hold)) };
        Held {
            lock: to(lock),
            hold,
        }
    }

    /// A write hold becomes a read hold (a write guard's `downgrade`, at
    /// `site`): the hold changes mode first, then every permit but one goes
    /// back, so readers waiting come in (tokio's downgrade, which is
    /// atomic as this is: no writer can come in between).
    pub(crate) fn downgrade(&mut self, site: &'static Location<'static>) {
        let raw = self.lock.raw();
        let hold = &mut self.hold;
        debug_assert_eq!(hold.mode, AcquireMode::Exclusive);
        if hold.holder != 0 {
            hold.holder = async_acquire::downgraded(&raw.meta, hold.kind, hold.holder, site);
        }
        hold.mode = AcquireMode::Read;
        raw.sem.add_permits(hold.permits as usize - 1);
        hold.permits = 1;
    }
}

impl<L: LockRef> Drop for Held<L> {
    // Inline into each guard's drop glue. The glue of a borrowed RwLock
    // guard's `Held<&RawLock>` (not generic over the value) is still a
    // call of its own in the async bench: about 31 instructions a drop.
    #[inline(always)]
    fn drop(&mut self) {
        let raw = self.lock.raw();
        self.hold.release(&raw.meta);
        raw.sem.add_permits(self.hold.permits as usize);
    }
}

/// A hold of an async lock, kept by its guard: released (from the
/// holder's stack) when it drops, before the guard gives its permits back.
pub(crate) struct Hold {
    kind: LockKind,
    mode: AcquireMode,
    /// The permits the guard gives back.
    permits: u32,
    /// The holder that took it (a task's id, or a thread's); 0 when the
    /// acquisition was not tracked.
    holder: u64,
}

impl Hold {
    /// Releases the hold of `meta`'s lock; called by the guard's drop.
    #[inline(always)]
    fn release(&self, meta: &LockMeta) {
        if self.holder != 0 {
            async_acquire::release(meta, self.kind, self.mode, self.holder);
        }
    }

    fn tracked(request: &Request<'_>, tracked: bool) -> Hold {
        let holder = if tracked {
            task::current_holder().unwrap_or(0)
        } else {
            0
        };
        request.hold(holder)
    }
}

/// Why the semaphore of a lock cannot be closed: lockcheck never closes
/// one, so an acquire that fails is a bug of lockcheck's.
const NEVER_CLOSED: &str = "lockcheck never closes a lock's semaphore";

/// One acquisition's request: `permits` of the lock `raw`, in `mode`, at
/// `site`.
#[derive(Copy, Clone)]
pub(crate) struct Request<'a> {
    pub(crate) raw: &'a RawLock,
    pub(crate) permits: u32,
    pub(crate) kind: LockKind,
    pub(crate) mode: AcquireMode,
    pub(crate) site: &'static Location<'static>,
}

impl<'a> Request<'a> {
    /// The hold of this request's lock by `holder` (0: untracked).
    #[inline(always)]
    fn hold(&self, holder: u64) -> Hold {
        Hold {
            kind: self.kind,
            mode: self.mode,
            permits: self.permits,
            holder,
        }
    }

    /// Acquires `permits` of the lock in `mode`, checked, for a
    /// `lock().await` (or `read`, `write`) at `site`: see [`Acquire`].
    #[inline(always)]
    pub(crate) fn acquire(self) -> Acquire<'a, impl Future<Output = Hold> + 'a> {
        Acquire {
            request: self,
            step: Step::Fast,
            // Not run yet (an async fn runs when polled): only its
            // arguments are stored.
            slow: self.acquire_checked(),
        }
    }

    /// The fast path of [`Self::acquire`]: a known stack and a free lock. `None`,
    /// having done nothing, otherwise.
    #[inline(always)]
    fn acquire_now(self) -> Option<Hold> {
        let Request {
            raw,
            permits,
            kind: _,
            mode,
            site,
        } = self;
        let (meta, sem) = (&raw.meta, &raw.sem);
        let fast = async_acquire::plan_fast(meta, mode)?;
        sem.try_acquire_many(permits).ok()?.forget();
        if let Some(holder) = async_acquire::acquired_fast(meta, mode, site, &fast) {
            return Some(self.hold(holder));
        }
        // Not reached on one thread between the plan and the push; kept for
        // a state that changed in between all the same.
        async_acquire::acquired(meta, fast.into_planned(mode, site));
        Some(Hold::tracked(&self, true))
    }

    /// Every acquisition [`Self::acquire_now`] declines: validated before the
    /// await, its entry pushed after.
    async fn acquire_checked(self) -> Hold {
        let Request {
            raw,
            permits,
            kind: _,
            mode,
            site,
        } = self;
        let (meta, sem) = (&raw.meta, &raw.sem);
        let planned = async_acquire::before(meta, mode, site);
        let tracked = planned.is_some();
        await_permits(meta, sem, permits, mode, site, planned.as_ref()).await;
        if let Some(planned) = planned {
            async_acquire::acquired(meta, planned);
        }
        Hold::tracked(&self, tracked)
    }

    /// The same acquisition without waiting (`try_lock`, `try_read`, …):
    /// `None` when the lock is taken.
    pub(crate) fn try_acquire(self) -> Option<Hold> {
        let Request {
            raw,
            permits,
            kind: _,
            mode,
            site,
        } = self;
        let (meta, sem) = (&raw.meta, &raw.sem);
        match sem.try_acquire_many(permits) {
            Ok(permit) => permit.forget(),
            Err(TryAcquireError::NoPermits) => return None,
            Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
        }
        let tracked = async_acquire::tried(meta, mode, site).is_some();
        Some(Hold::tracked(&self, tracked))
    }

    /// The same acquisition from blocking code (`blocking_lock`, …): the
    /// thread blocks as in any blocking lock, through tokio's own wait.
    pub(crate) fn blocking_acquire(self) -> Hold {
        let Request {
            raw,
            permits,
            kind: _,
            mode,
            site,
        } = self;
        let (meta, sem) = (&raw.meta, &raw.sem);
        let planned = async_acquire::before(meta, mode, site);
        match sem.try_acquire_many(permits) {
            Ok(permit) => permit.forget(),
            Err(TryAcquireError::NoPermits) => {
                if let Some(planned) = &planned {
                    async_acquire::contended(meta, planned);
                }
                // Past the grace period a tracked wait is in the wait-for
                // graph, as a blocking lock's.
                let register = || {
                    planned
                        .as_ref()
                        .map(|planned| async_acquire::wait_blocking(meta, planned))
                };
                block_on(sem.acquire_many(permits), register)
                    .expect(NEVER_CLOSED)
                    .forget();
            }
            Err(TryAcquireError::Closed) => unreachable!("{NEVER_CLOSED}"),
        }
        let tracked = planned.is_some();
        if let Some(planned) = planned {
            async_acquire::acquired(meta, planned);
        }
        Hold::tracked(&self, tracked)
    }
}

/// The future of an acquisition (`lock().await`, `read().await`, …).
///
/// Its first poll is the fast path, inline: as tokio's own acquire, it
/// first spends a unit of the task's cooperative budget (so that a loop of
/// uncontended `lock().await` still yields now and then), then tries the
/// semaphore for a known stack, with nothing to check before and only the
/// entry to push after ([`Request::acquire_now`]). Anything else goes to
/// `slow`, the checked path (validated before the await, its entry pushed
/// after), which spends its own budget unit in tokio's acquire.
///
/// A future written by hand, so that its poll inlines into the lock's:
/// as an `async fn` the poll was a closure the compiler no longer inlined
/// once four lock methods called it, and a loop of `lock().await` and drop
/// cost 382 instructions a pair instead of 347 (callgrind, current-thread
/// runtime; tokio's `Mutex` 257). History of that figure: awaiting the
/// semaphore's `acquire_many` on every call, 570; the budget and a try,
/// 412; the push inline, 378.
pub(crate) struct Acquire<'a, S> {
    request: Request<'a>,
    step: Step,
    slow: S,
}

/// Where an [`Acquire`] is.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Step {
    /// The fast path is still to be tried (the first poll).
    Fast,
    /// In the checked path.
    Slow,
    /// The hold was given: a poll now is a caller's bug, and panics
    /// rather than take the lock a second time.
    Done,
}

impl<S: Future<Output = Hold>> Future for Acquire<'_, S> {
    type Output = Hold;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Hold> {
        // SAFETY: `slow` is pinned where the future is (it is never moved
        // out, and polled only through the pin below); the other fields
        // are plain data, not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        match this.step {
            Step::Fast => {
                let budget = std::task::ready!(::tokio::task::coop::poll_proceed(cx));
                if let Some(hold) = this.request.acquire_now() {
                    budget.made_progress();
                    this.step = Step::Done;
                    return Poll::Ready(hold);
                }
                // `budget` dropped without progress gives the unit back.
                this.step = Step::Slow;
            }
            Step::Slow => {}
            Step::Done => panic!("a lock future polled after it was ready"),
        }
        // SAFETY: as above.
        let hold = std::task::ready!(unsafe { Pin::new_unchecked(&mut this.slow) }.poll(cx));
        this.step = Step::Done;
        Poll::Ready(hold)
    }
}

impl<'a, S: Future<Output = Hold>> Acquire<'a, S> {
    /// The guard `make` makes of the hold, once taken: the future a
    /// borrowing lock method returns (`lock()`, `read()`, `write()`).
    #[inline(always)]
    pub(crate) fn guard<G, F: FnOnce(Hold) -> G>(self, make: F) -> Guarding<'a, S, F> {
        Guarding {
            acquire: self,
            make: Some(make),
        }
    }
}

/// [`Acquire`] with its hold made into a guard: written by hand as
/// `Acquire` is, so that `lock().await` is one inlined poll (as an `async`
/// block it was a call, and the guard's drop another; callgrind in the
/// async bench binary, a loop of `lock().await` and drop: 381
/// instructions a pair against tokio's 288).
pub(crate) struct Guarding<'a, S, F> {
    acquire: Acquire<'a, S>,
    make: Option<F>,
}

impl<S: Future<Output = Hold>, G, F: FnOnce(Hold) -> G> Future for Guarding<'_, S, F> {
    type Output = G;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        // SAFETY: `acquire` is pinned where the future is, as `Acquire`'s
        // `slow`; `make` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let hold = std::task::ready!(unsafe { Pin::new_unchecked(&mut this.acquire) }.poll(cx));
        let make = this
            .make
            .take()
            .expect("a lock future polled after it was ready");
        Poll::Ready(make(hold))
    }
}

/// Awaits the permits. The first time the await is pending, a holder
/// that holds the lock already is a self-deadlock (broken here); a wait
/// that outlasts the grace period joins the wait-for graph as a parked
/// task (one wake-up from lockcheck's timer brings it back to do so): if
/// that closes a cycle, the deadlock is reported and broken by a panic
/// here. `planned` is `None` on the fast path, and made here if needed.
async fn await_permits(
    meta: &LockMeta,
    sem: &Semaphore,
    permits: u32,
    mode: AcquireMode,
    site: &'static Location<'static>,
    planned: Option<&Planned>,
) {
    let mut acquire = pin!(sem.acquire_many(permits));
    let mut wait = GraceWait::default();
    std::future::poll_fn(|cx| match acquire.as_mut().poll(cx) {
        Poll::Ready(permit) => {
            permit.expect(NEVER_CLOSED).forget();
            Poll::Ready(())
        }
        Poll::Pending => {
            wait.pending(cx, meta, mode, site, planned);
            Poll::Pending
        }
    })
    .await;
}

/// An await's grace period and, past it, its registration.
#[derive(Default)]
struct GraceWait {
    grace: Grace,
    /// The fast path's plan, made when the await first is pending.
    own: Option<Planned>,
    /// In the wait-for graph (dropped, it leaves).
    waiting: Option<Waiting>,
    /// Registered, or not to be (outside an instrumented task, or
    /// checking off).
    settled: bool,
}

impl GraceWait {
    /// The await is pending still.
    fn pending(
        &mut self,
        cx: &mut Context<'_>,
        meta: &LockMeta,
        mode: AcquireMode,
        site: &'static Location<'static>,
        planned: Option<&Planned>,
    ) {
        if self.settled {
            return;
        }
        if !self.grace.begun() {
            if planned.is_none() {
                // A known stack: `before` validates nothing, and plans.
                self.own = async_acquire::before(meta, mode, site);
            }
            match planned.or(self.own.as_ref()) {
                Some(planned) => async_acquire::contended(meta, planned),
                None => {
                    self.settled = true;
                    return;
                }
            }
        }
        let Some(planned) = planned.or(self.own.as_ref()) else {
            return;
        };
        match self.grace.now(cx) {
            GraceNow::Within => {}
            GraceNow::Over => {
                self.settled = true;
                self.waiting = async_acquire::wait(meta, planned);
            }
            GraceNow::NoTimer => self.settled = true,
        }
    }
}

/// Runs `future` to completion on this thread, parked between polls (for
/// the blocking forms, which tokio's own run outside any runtime). Still
/// pending after the grace period, it calls `register` once, and keeps
/// what that gives (a wait in the wait-for graph) until the end.
fn block_on<F: Future>(future: F, register: impl FnOnce() -> Option<Waiting>) -> F::Output {
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
    let due = Instant::now() + GRACE;
    let mut register = Some(register);
    let mut waiting = None;
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            drop(waiting);
            return out;
        }
        let now = Instant::now();
        match register.take_if(|_| now >= due) {
            Some(register) => waiting = register(),
            None if register.is_some() => std::thread::park_timeout(due - now),
            None => std::thread::park(),
        }
    }
}
