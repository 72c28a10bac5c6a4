//! The handle of a task spawned by [`super::spawn`]: tokio's `JoinHandle`,
//! and the join lockcheck sees when it is awaited.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::task::{AbortHandle, Id, JoinError};

use crate::event::{Site, ThreadId};
use crate::runtime::task::TaskEnd;

/// An owned permission to join a task spawned by [`super::spawn`], as
/// tokio's [`JoinHandle`](::tokio::task::JoinHandle): awaiting it gives the
/// task's output, or the [`JoinError`] of a task that panicked or was
/// aborted. Its end is a join for lockcheck, as a thread's: everything the
/// task did happens before what the awaiting code does next, so data the
/// task left behind is no race. Dropping the handle detaches the task.
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
            // tokio drops a task's future before it completes its handle:
            // the task's last hand-off is in `end` by now.
            self.end.joined(self.task, Site::from(self.spawned));
        }
        out
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.inner.id())
            .finish_non_exhaustive()
    }
}
