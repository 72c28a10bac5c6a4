//! Telling `lockcheck run` that a process is checked.
//!
//! `lockcheck run` cannot see from outside whether the program it started
//! was built with lockcheck (or whether a dependency patch took), and a
//! program that was not reports nothing: its run would read as clean. So
//! the first time a process uses anything lockcheck checks (a lock's or
//! condition variable's first use, a thread's identity, a `Shared`), it
//! appends one line to the report file (`LOCKCHECK_REPORT`), beside the
//! findings:
//!
//! ```text
//! {"lockcheck-process":{"pid":4242,"version":"0.1.0"}}
//! ```
//!
//! A run in which no process did so checked nothing, and says so.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Once;

use crate::finding::{announcement_line, Announcement};
use crate::runtime::config;

/// Whether the process was announced (or found nothing to announce to).
static ONCE: Once = Once::new();

/// Announces this process once, when it runs under `lockcheck run` with
/// checking on. Callers are first uses: every new lock asks, so the answer
/// after the first is one inline load.
#[inline(always)]
pub(crate) fn once() {
    if !ONCE.is_completed() {
        announce();
    }
}

#[cold]
#[inline(never)]
fn announce() {
    ONCE.call_once(|| {
        if !config::enabled() {
            return;
        }
        // A process that checks can be asked what it waits for.
        super::snapshot::watch_if_asked();
        let Some(path) = config::report_path() else {
            return;
        };
        let announcement = Announcement {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        append_line(&path, announcement_line(&announcement));
    });
}

/// Appends `line` and a newline to the report file at `path`, in one
/// write of one short line: it never interleaves with a finding's line
/// written by another thread. A failure is a warning.
pub(crate) fn append_line(path: &str, mut line: String) {
    line.push('\n');
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("lockcheck: warning: cannot write to the report file {path}: {e}");
    }
}
