//! The live runtime: per-thread state, the global graphs, and the policy on
//! a finding. Wrapper locks call into it; detectors never do.

pub(crate) mod acquire;
pub(crate) mod announce;
pub mod config;
pub(crate) mod fast_path;
pub(crate) mod global;
pub(crate) mod hb;
mod held_stack;
pub(crate) mod late_report;
pub(crate) mod leaf_edges;
pub(crate) mod lock_desc;
pub(crate) mod policy;
pub(crate) mod recorder;
pub(crate) mod thread_state;
pub(crate) mod user_site;

use crate::event::LockId;
use crate::finding::Finding;

/// The caller's call stack, when backtraces are on.
pub(crate) fn capture() -> Option<crate::stack::CallStack> {
    config::backtraces().then(crate::stack::CallStack::capture)
}

/// A lock was dropped: it leaves the lock-order graph.
pub(crate) fn forget_lock(id: LockId) {
    global::global().order.lock().remove_lock(id);
}

/// Every finding of this process so far, deduplicated (a repeated finding
/// has a `count` above 1). Waits for any finding still being symbolised
/// (one made while breaking a hang; see `late_report`).
///
/// ```
/// let m = lockcheck::Mutex::new(0);
/// *m.lock() += 1;
/// assert!(lockcheck::findings().iter().all(|f| f.kind != lockcheck::FindingKind::SelfDeadlock));
/// ```
pub fn findings() -> Vec<Finding> {
    late_report::flush();
    global::global()
        .findings
        .lock()
        .findings()
        .cloned()
        .collect()
}

/// Takes every finding so far out of the process's record (so that a test can
/// look at just what it caused), once any still being symbolised is in.
pub fn take_findings() -> Vec<Finding> {
    late_report::flush();
    std::mem::take(&mut *global::global().findings.lock()).into_vec()
}

/// Panics with the full report when this process has a failing finding: for
/// the end of a test that runs with policy `collect` or `log`.
///
/// ```
/// lockcheck::assert_no_findings();
/// ```
#[track_caller]
pub fn assert_no_findings() {
    let strict = config::strict();
    let failing: Vec<Finding> = findings()
        .into_iter()
        .filter(|f| f.is_failing(strict))
        .collect();
    if !failing.is_empty() {
        panic!(
            "lockcheck found {} problem(s)\n{}",
            failing.len(),
            crate::report::text::render(&failing, false)
        );
    }
}
