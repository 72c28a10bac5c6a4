//! What the unit tests of live detection share: a deadline instead of a
//! hang, this thread's id, a wait for another thread to block in the
//! wait-for graph, and the findings about one test's locks.

use std::time::{Duration, Instant};

use crate::event::ThreadId;
use crate::runtime::global::global;
use crate::runtime::thread_state::with_thread;
use crate::Finding;

/// How long a test waits for another thread before it fails instead of
/// hanging the suite (a deadline, not a timing assertion).
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// This thread's lockcheck id.
pub(crate) fn my_id() -> ThreadId {
    with_thread(|t| t.id()).expect("thread state")
}

/// Waits until `thread` is registered as blocked in the wait-for graph.
pub(crate) fn until_waiting(thread: ThreadId) {
    let deadline = Instant::now() + DEADLINE;
    while !global().waits.lock().is_waiting(thread) {
        assert!(
            Instant::now() < deadline,
            "{thread:?} never joined the wait-for graph"
        );
        std::thread::yield_now();
    }
}

/// Findings about locks whose names start with `prefix`.
pub(crate) fn about(prefix: &str) -> Vec<Finding> {
    crate::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        })
        .collect()
}
