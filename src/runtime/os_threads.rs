//! How many threads the process has, as the operating system counts them,
//! less lockcheck's own helper threads: the threads that could still end
//! a wait. The second deadlock rule (see `nobody_left`) fires only when
//! every one of them is blocked in a wait lockcheck registered.
//!
//! Linux lists a process's threads in `/proc/self/task`. Elsewhere there is
//! no count, and the rule stays off.

use std::sync::atomic::{AtomicUsize, Ordering};

/// lockcheck's own threads alive now (the late reporter), which never end
/// a user's wait.
static HELPERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a helper thread from its start to its end: made first thing in
/// the helper's body and dropped last, so that the helper is counted only
/// while the operating system also counts it (a count taken between its
/// spawn and its start, or after its end, sees one thread more, which can
/// only keep the rule from firing).
pub(crate) struct Helper(());

impl Helper {
    /// Counts this thread as a helper until the returned value drops.
    pub(crate) fn enter() -> Helper {
        HELPERS.fetch_add(1, Ordering::SeqCst);
        Helper(())
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        HELPERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The process's threads that may end a wait: every live thread but
/// lockcheck's helpers. `None` where the operating system does not say.
pub(crate) fn could_wake() -> Option<usize> {
    // Helpers read before the threads: a helper that ends in between is
    // then still in the count of threads, which errs on the side of
    // counting more.
    let helpers = HELPERS.load(Ordering::SeqCst);
    let live = live_threads()?;
    Some(live.saturating_sub(helpers))
}

/// The process's live threads.
#[cfg(target_os = "linux")]
fn live_threads() -> Option<usize> {
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    // An entry that cannot be read still is a thread.
    Some(dir.count())
}

/// No count here: the second rule stays off.
#[cfg(not(target_os = "linux"))]
fn live_threads() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_has_a_count_of_its_threads() {
        // At least this test's thread and the harness's. (Other tests'
        // threads come and go at once: no exact count holds.)
        let helper = Helper::enter();
        assert!(HELPERS.load(Ordering::SeqCst) >= 1);
        drop(helper);
        assert!(live_threads().expect("a count on Linux") >= 2);
    }
}
