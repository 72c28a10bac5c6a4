//! What this process could not check, said where a clean answer is read.
//!
//! Some things lockcheck meets it cannot check: a `lockcheck::tokio` lock
//! taken, or a `Shared` accessed, in a task it does not see (a plain
//! `tokio::spawn`), a thread holding more locks than its held stack
//! tracks. A warning on stderr is
//! easily missed in a CI log, and the run would still read "no findings".
//! So each such gap is also kept here, and appended to the report file
//! (`LOCKCHECK_REPORT`) once, as one line beside the findings:
//!
//! ```text
//! {"lockcheck-unchecked":{"pid":4242,"what":"…"}}
//! ```
//!
//! `lockcheck run` then exits 2 (not checked) where it would have said
//! "no findings", and [`crate::assert_no_findings`] panics.

use crate::finding::{unchecked_line, Unchecked};
use crate::raw::Mutex;
use crate::runtime::config;

/// Every gap met so far, once each, in the order met.
static GAPS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Notes a gap: warns on stderr and tells `lockcheck run`, the first time
/// this `what` is met. Cold: gaps are rare, and callers say each once
/// (a `Once` of their own, so that a gap met in a loop costs a load).
#[cold]
#[inline(never)]
pub(crate) fn note(what: &str) {
    {
        let mut gaps = GAPS.lock();
        if gaps.iter().any(|g| g == what) {
            return;
        }
        gaps.push(what.to_owned());
    }
    eprintln!("lockcheck: warning: {what}");
    let Some(path) = config::report_path() else {
        return;
    };
    let line = unchecked_line(&Unchecked {
        pid: std::process::id(),
        what: what.to_owned(),
    });
    super::announce::append_line(&path, line);
}

/// What this process could not check so far (empty when everything it
/// met was checked), each as one line.
///
/// ```
/// // A program that only uses what lockcheck sees has no gaps.
/// let m = lockcheck::Mutex::new(0);
/// *m.lock() += 1;
/// assert!(lockcheck::unchecked().is_empty());
/// ```
pub fn unchecked() -> Vec<String> {
    GAPS.lock().clone()
}
