//! The handle of a task spawned by [`super::spawn`]: tokio's `JoinHandle`,
//! and the join lockcheck sees when it is awaited.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::task::{AbortHandle, Id, JoinError};

use crate::event::{Site, ThreadId, ThreadInfo};
use crate::runtime::acquire::{self, Waiting};
use crate::runtime::task::{self, TaskEnd};

use super::timer::{Grace, GraceNow};

/// An owned permission to join a task spawned by [`super::spawn`], as
/// tokio's [`JoinHandle`](::tokio::task::JoinHandle): awaiting it gives the
/// task's output, or the [`JoinError`] of a task that panicked or was
/// aborted. Its end is a join for lockcheck, as a thread's: everything the
/// task did happens before what the awaiting code does next, so data the
/// task left behind is no race. An await in an instrumented task still
/// pending after the grace period is a join in the wait-for graph, as a
/// thread's: if the awaited task waits (directly or through others) for a
/// lock the awaiting task holds, the deadlock is reported and the await
/// panics, ending the awaiting task (a `JoinError` for its own awaiter)
/// and dropping its guards. Dropping the handle detaches the task.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// let total = Arc::new(lockcheck::Shared::named("total", 0));
/// let t = total.clone();
/// let task = lockcheck::tokio::spawn(async move { t.set(42) });
/// task.await.unwrap();
/// assert_eq!(total.get(), 42); // ordered after the task: no race
/// # }
/// ```
pub struct JoinHandle<T> {
    inner: ::tokio::task::JoinHandle<T>,
    end: Arc<TaskEnd>,
    /// The task, as lockcheck names it.
    task: ThreadId,
    spawned: &'static Location<'static>,
    wait: JoinWait,
}

/// An await's grace period and, past it, its registration.
#[derive(Default)]
struct JoinWait {
    grace: Grace,
    /// In the wait-for graph (dropped, it leaves).
    waiting: Option<Waiting>,
    /// Registered, or not to be (outside an instrumented task, no timer).
    settled: bool,
}

impl<T> JoinHandle<T> {
    pub(super) fn new(
        inner: ::tokio::task::JoinHandle<T>,
        end: Arc<TaskEnd>,
        task: ThreadId,
        spawned: &'static Location<'static>,
    ) -> Self {
        JoinHandle {
            inner,
            end,
            task,
            spawned,
            wait: JoinWait::default(),
        }
    }

    /// Aborts the task, as tokio's `JoinHandle::abort`.
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Whether the task has ended, as tokio's `JoinHandle::is_finished`.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// A handle that aborts the task without joining it.
    pub fn abort_handle(&self) -> AbortHandle {
        self.inner.abort_handle()
    }

    /// tokio's id of the task.
    pub fn id(&self) -> Id {
        self.inner.id()
    }

    /// tokio's own handle, for code that needs that type: awaiting it is
    /// no join lockcheck sees (what the task did is not ordered before
    /// what follows, and accesses after it may be reported as races).
    pub fn into_tokio(self) -> ::tokio::task::JoinHandle<T> {
        self.inner
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = Pin::new(&mut self.inner).poll(cx);
        if out.is_ready() {
            // Out of the wait-for graph first: the task has ended.
            self.wait.waiting = None;
            // tokio drops a task's future before it completes its handle:
            // the task's last hand-off is in `end` by now.
            self.end.joined(self.task, Site::from(self.spawned));
        } else {
            self.pending(cx);
        }
        out
    }
}

impl<T> JoinHandle<T> {
    /// The await is pending still: past the grace period, in an
    /// instrumented task, it joins the wait-for graph (and may panic: see
    /// the type's docs). The join's site is the task's spawn (a poll does
    /// not know the line of its `.await`; the backtrace shows it).
    fn pending(&mut self, cx: &mut Context<'_>) {
        let wait = &mut self.wait;
        if wait.settled {
            return;
        }
        if !task::in_task() {
            wait.settled = true;
            return;
        }
        match wait.grace.now(cx) {
            GraceNow::Within => {}
            GraceNow::Over => {
                wait.settled = true;
                let joins = ThreadInfo {
                    id: self.task,
                    name: Some(task::tokio_task_name(self.inner.id())),
                    task: true,
                };
                wait.waiting = acquire::park_to_join(joins, Site::from(self.spawned));
            }
            GraceNow::NoTimer => wait.settled = true,
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.inner.id())
            .finish_non_exhaustive()
    }
}
