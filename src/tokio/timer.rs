//! Wake-ups at a deadline for async lock waits, from one helper thread of
//! lockcheck's: an await that is still pending when its grace period ends
//! must be polled again to join the wait-for graph, and no executor's
//! timer can be relied on (a tokio runtime built without `enable_time`
//! has none, and other executors have their own).

use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Waker};
use std::time::Instant;

use crate::runtime::acquire::GRACE;
use crate::runtime::os_threads::Helper;

/// A wake-up due at `when`.
struct Due {
    when: Instant,
    waker: Waker,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.when == other.when
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    /// The earliest first out of a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.when.cmp(&self.when)
    }
}

struct Timer {
    due: Mutex<BinaryHeap<Due>>,
    changed: Condvar,
}

/// The timer, its thread started on first use. `None` if the thread
/// cannot be started (the wait then never registers, as a timed wait).
fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            due: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("lockcheck-timer".into())
            .spawn(move || {
                let _helper = Helper::enter();
                run(timer);
            })
            .ok()
            .map(|_| timer)
    })
}

fn run(timer: &Timer) {
    // std's locks: the timer must not be checked itself. A poisoned lock
    // (a waker that panicked) still holds a heap that is whole.
    let mut due = timer.due.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        while due.peek().is_some_and(|d| d.when <= now) {
            if let Some(d) = due.pop() {
                d.waker.wake();
            }
        }
        due = match due.peek().map(|d| d.when) {
            Some(when) => {
                let wait = when.saturating_duration_since(now);
                timer
                    .changed
                    .wait_timeout(due, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => timer.changed.wait(due).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

/// A pending await's grace period: when it began, and the wake-up asked
/// for at its end.
#[derive(Default)]
pub(crate) struct Grace {
    start: Option<Instant>,
    woken_at: Option<Instant>,
}

/// Where a pending await stands in its grace period.
pub(crate) enum GraceNow {
    /// Within it; this timer wakes the await at its end.
    Within,
    /// Past it: the await is to join the wait-for graph.
    Over,
    /// Within it, but no timer thread can wake the await at its end: the
    /// wait stays out of the graph, as a timed wait would.
    NoTimer,
}

impl Grace {
    /// Whether the period has begun (the await was pending before).
    pub(crate) fn begun(&self) -> bool {
        self.start.is_some()
    }

    /// The await is pending now: the period begins at the first call;
    /// within it, a wake-up at its end is asked for once (again only if
    /// one came early).
    pub(crate) fn now(&mut self, cx: &Context<'_>) -> GraceNow {
        let now = Instant::now();
        let due = *self.start.get_or_insert(now) + GRACE;
        if now >= due {
            return GraceNow::Over;
        }
        if self.woken_at.is_none_or(|at| at <= now) {
            self.woken_at = Some(due);
            if !wake_at(due, cx.waker().clone()) {
                return GraceNow::NoTimer;
            }
        }
        GraceNow::Within
    }
}

/// Wakes `waker` at `when` (or soon after); false if there is no timer.
pub(crate) fn wake_at(when: Instant, waker: Waker) -> bool {
    let Some(timer) = timer() else {
        return false;
    };
    let mut due = timer.due.lock().unwrap_or_else(|e| e.into_inner());
    let first = due.peek().is_none_or(|d| when < d.when);
    due.push(Due { when, waker });
    drop(due);
    if first {
        timer.changed.notify_one();
    }
    true
}
