//! Task identity for lockcheck: a future whose polls are seen.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::sync::Arc;

use crate::event::Site;
use crate::runtime::task::{self, TaskEnd, TaskSlot};

/// A future whose polls lockcheck sees ([`instrument`]): while it is
/// polled, it is the holder of the locks it takes (wherever it is polled),
/// and a poll that returns `Pending` while it holds a blocking lock is
/// reported as `held-across-await`.
#[must_use = "futures do nothing unless polled"]
pub struct Instrumented<F> {
    inner: ManuallyDrop<F>,
    slot: TaskSlot,
    /// Who waits for its end: a [`super::JoinHandle`] through this, or,
    /// when `None`, whoever polls it (it goes on after the future ends).
    end: Option<Arc<TaskEnd>>,
}

/// Makes `future` a task of its own for lockcheck: the locks it takes are
/// held by it, not by the thread that polls it, so that a task that holds
/// a lock across an `.await` and resumes on another worker thread still
/// holds it; its order edges, self-deadlocks and waits are its own; and a
/// blocking lock it holds when it yields is reported. For any executor
/// (`block_on`, `spawn_local`, another runtime). Inside a future already
/// instrumented (a `join!` of instrumented futures within one task) it
/// adds nothing: the task is the holder.
///
/// For happens-before the future is a thread of its own too: it starts
/// after the code that made it, each poll is ordered after its earlier
/// polls wherever they ran, and the code that polled it is ordered after
/// its end once it is dropped (as a thread's join).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let counter = lockcheck::tokio::Mutex::new(0);
/// lockcheck::tokio::instrument(async {
///     *counter.lock().await += 1;
/// })
/// .await;
/// assert_eq!(*counter.lock().await, 1);
/// # }
/// ```
#[track_caller]
pub fn instrument<F: Future>(future: F) -> Instrumented<F> {
    Instrumented::new(future, Location::caller(), None)
}

/// [`instrument`] for a future whose end a [`super::JoinHandle`] awaits.
pub(super) fn instrument_joined<F: Future>(
    future: F,
    spawned: &'static Location<'static>,
) -> (Instrumented<F>, Arc<TaskEnd>, crate::event::ThreadId) {
    let end = Arc::new(TaskEnd::default());
    let future = Instrumented::new(future, spawned, Some(end.clone()));
    let id = future.slot.id();
    (future, end, id)
}

impl<F> Instrumented<F> {
    fn new(future: F, spawned: &'static Location<'static>, end: Option<Arc<TaskEnd>>) -> Self {
        Instrumented {
            inner: ManuallyDrop::new(future),
            slot: TaskSlot::new(spawned),
            end,
        }
    }
}

/// Gives the thread its holder back at the end of a poll, unwinding too.
struct Leave<'a>(&'a mut TaskSlot);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is never moved out of (it is pinned with the
        // whole), and `slot` is not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let inner = unsafe { Pin::new_unchecked(&mut *this.inner) };
        if task::in_task() || !this.slot.enter() {
            return inner.poll(cx);
        }
        let out = {
            let leave = Leave(&mut this.slot);
            let out = inner.poll(cx);
            if out.is_pending() {
                // As the task, before it leaves: a trace shows the yield
                // on the task's line, after what it took.
                leave.0.record_yield();
            }
            out
        };
        if out.is_pending() {
            this.slot.report_held_across_await();
        }
        out
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        // The task's locals drop as the task: the guards among them
        // release its holds, not the thread's.
        let entered = !task::in_task() && self.slot.enter();
        // SAFETY: dropped once, here; never used again.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
        if entered {
            // Its very end, locals dropped: what its joiner is ordered after.
            let last = self.slot.end_clock();
            self.slot.leave();
            match &self.end {
                Some(end) => end.put(last),
                // The poller goes on after the future: it joins it.
                None => task::joined(last, self.slot.id(), Site::from(self.slot.spawned())),
            }
        }
    }
}

impl<F> std::fmt::Debug for Instrumented<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumented").finish_non_exhaustive()
    }
}
