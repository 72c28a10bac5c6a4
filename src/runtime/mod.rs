//! The live runtime: per-thread state, the global graphs, and the policy on
//! a finding. Wrapper locks call into it; detectors never do.

// With the `checks` feature off, only the settings are compiled, and
// `compiled_out` stands in for the rest of the interface the wrappers call:
// each call is what the checked one does when checking is off at run time.
#[cfg(feature = "checks")]
pub(crate) mod acquire;
#[cfg(feature = "checks")]
pub(crate) mod announce;
#[cfg(all(feature = "checks", feature = "tokio"))]
pub(crate) mod async_acquire;
#[cfg(not(feature = "checks"))]
mod compiled_out;
pub mod config;
#[cfg(feature = "checks")]
pub(crate) mod fast_path;
#[cfg(feature = "checks")]
pub(crate) mod global;
#[cfg(feature = "checks")]
pub(crate) mod hb;
#[cfg(feature = "checks")]
mod held_stack;
#[cfg(feature = "checks")]
pub(crate) mod hold_and_wait;
#[cfg(feature = "checks")]
pub(crate) mod late_report;
#[cfg(feature = "checks")]
pub(crate) mod leaf_edges;
#[cfg(feature = "checks")]
pub(crate) mod lock_desc;
#[cfg(feature = "checks")]
pub(crate) mod lock_meta;
#[cfg(feature = "checks")]
pub(crate) mod nobody_left;
#[cfg(feature = "checks")]
pub(crate) mod os_threads;
#[cfg(feature = "checks")]
pub(crate) mod policy;
#[cfg(feature = "checks")]
pub(crate) mod recorder;
#[cfg(feature = "checks")]
pub(crate) mod snapshot;
#[cfg(feature = "checks")]
// Without `tokio`, only what a blocking lock's checks ask of it is used.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) mod task;
#[cfg(feature = "checks")]
pub(crate) mod thread_state;
#[cfg(feature = "checks")]
pub(crate) mod unchecked;
#[cfg(feature = "checks")]
pub(crate) mod user_site;
#[cfg(feature = "checks")]
pub(crate) mod waits;

#[cfg(not(feature = "checks"))]
pub(crate) use compiled_out::{
    acquire, announce, fast_path, hb, hold_and_wait, late_report, lock_meta, nobody_left, recorder,
    thread_state, user_site, waits,
};
#[cfg(not(feature = "checks"))]
pub use compiled_out::{assert_no_findings, findings, take_findings, unchecked};
#[cfg(feature = "checks")]
pub use unchecked::unchecked;

#[cfg(feature = "checks")]
use crate::event::LockId;
#[cfg(feature = "checks")]
use crate::finding::Finding;

#[cfg(feature = "checks")]
/// The caller's call stack, when whole backtraces are on.
pub(crate) fn capture() -> Option<crate::stack::CallStack> {
    config::backtraces().then(crate::stack::CallStack::capture)
}

#[cfg(feature = "checks")]
/// The stack a new lock-order edge into a lock taken at `site` keeps: the
/// whole stack under `Backtraces::Full`; under `Backtraces::Callers`, its
/// innermost `CALLER_FRAMES` while this thread's budget for `site` lasts
/// (a loop that makes a new edge every time stops paying for stacks);
/// otherwise none. Called only for an acquisition that adds an edge, never
/// on a path where every edge is known.
pub(crate) fn capture_edge(
    site: &'static std::panic::Location<'static>,
) -> Option<crate::stack::CallStack> {
    use crate::stack::{CallStack, CALLER_FRAMES};
    match config::backtrace_mode() {
        config::Backtraces::Full => Some(CallStack::capture()),
        config::Backtraces::Off => None,
        config::Backtraces::Callers => {
            let limit = config::caller_stacks_per_site();
            thread_state::with_thread(|t| t.callers.take(site, limit))
                .unwrap_or(false)
                .then(|| CallStack::capture_at_most(CALLER_FRAMES))
        }
    }
}

#[cfg(feature = "checks")]
/// A lock was dropped: it leaves the lock-order graph.
pub(crate) fn forget_lock(id: LockId) {
    global::global().order.lock().remove_lock(id);
}

#[cfg(feature = "checks")]
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

#[cfg(feature = "checks")]
/// Takes every finding so far out of the process's record (so that a test can
/// look at just what it caused), once any still being symbolised is in.
pub fn take_findings() -> Vec<Finding> {
    late_report::flush();
    std::mem::take(&mut *global::global().findings.lock()).into_vec()
}

#[cfg(feature = "checks")]
/// This process's lock-order graph as Graphviz DOT, the edges of the
/// cycles of `findings` in red (see [`crate::report::dot`]). Locks already
/// dropped have left the graph.
///
/// ```
/// let a = lockcheck::Mutex::named("dot.a", ());
/// let b = lockcheck::Mutex::named("dot.b", ());
/// for _ in 0..2 {
///     let _a = a.lock();
///     let _b = b.lock();
/// }
/// assert!(lockcheck::order_graph_dot(&[]).contains("dot.b"));
/// ```
pub fn order_graph_dot(findings: &[Finding]) -> String {
    late_report::flush();
    let mut order = global::global().order.lock();
    // Edges waiting beside the graph are part of the order it shows; they
    // close no cycle (see `detect::leaf_edges`).
    let closed = order.settle_leaves();
    debug_assert!(closed.is_empty());
    crate::report::dot::render(&order, findings)
}

#[cfg(feature = "checks")]
/// Panics with the full report when this process has a failing finding: for
/// the end of a test that runs with policy `collect` or `log`. Panics too
/// when "no findings" was not earned: checking is off (`LOCKCHECK=0`,
/// [`config::set_enabled`]), or this process met something it could not
/// check ([`crate::unchecked()`]).
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
    if !config::enabled() {
        panic!(
            "lockcheck::assert_no_findings: checking is off (LOCKCHECK=0 or \
             lockcheck::config::set_enabled(false)), so nothing was checked"
        );
    }
    let gaps = unchecked();
    if !gaps.is_empty() {
        panic!(
            "lockcheck::assert_no_findings: no findings, but not everything was checked:\n{}",
            gaps.join("\n")
        );
    }
}
