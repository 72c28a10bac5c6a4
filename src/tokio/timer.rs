//! Wake-ups at a deadline for async lock waits, from one helper thread of
//! lockcheck's: an await that is still pending when its grace period ends
//! must be polled again to join the wait-for graph, and no executor's
//! timer can be relied on (a tokio runtime built without `enable_time`
//! has none, and other executors have their own).

use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::time::Instant;

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
