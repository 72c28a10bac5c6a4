//! What a running program waits for, on request: a `hang` finding.
//!
//! A program started with `LOCKCHECK_SNAPSHOT=PATH` (as `lockcheck run
//! --timeout` starts it) watches `PATH` from a thread of lockcheck's own:
//! when the file appears, it takes a snapshot of every thread lockcheck
//! knows — what each is blocked on (a lock, a condition variable, a
//! channel, a join, a barrier: the waits in the wait-for graph) and what
//! it holds, or that it runs or is blocked where lockcheck does not see —
//! writes it to the report file (`LOCKCHECK_REPORT`, if set) and, unless
//! the policy is `collect` (as under `lockcheck run`, which prints it
//! itself), to stderr, as one `hang` finding, and removes the file, which tells whoever asked that
//! the snapshot is out. The file's first line, if any, says who asked (it
//! leads the summary). `lockcheck run --timeout` asks just before it kills
//! the program, so a hang lockcheck could not break is still explained; a
//! person asks a stuck service with `echo why > PATH`.
//!
//! The watcher looks every [`POLL`] (one `stat` of the file) and is
//! counted among lockcheck's helper threads, so it never keeps the "nobody
//! left" rule from firing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::detect::findings;
use crate::report::text;
use crate::runtime::config::{self, Policy};
use crate::runtime::global::global;
use crate::runtime::os_threads;
use crate::runtime::thread_state::known_threads;

/// How often the watcher looks for a request.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Most of a request file read for its reason.
const REASON_BYTES: u64 = 512;

/// Starts the watcher when `LOCKCHECK_SNAPSHOT` names a file (once per
/// process; called when the process first uses lockcheck).
pub(crate) fn watch_if_asked() {
    let Some(path) = std::env::var_os("LOCKCHECK_SNAPSHOT").filter(|p| !p.is_empty()) else {
        return;
    };
    let path = PathBuf::from(path);
    let spawned = std::thread::Builder::new()
        .name("lockcheck-snapshot".to_owned())
        .spawn(move || {
            let _helper = os_threads::Helper::enter();
            loop {
                if path.exists() {
                    answer(&path);
                }
                std::thread::sleep(POLL);
            }
        });
    if let Err(e) = spawned {
        eprintln!("lockcheck: warning: cannot watch for snapshot requests: {e}");
    }
}

/// Takes the snapshot a request at `path` asks for, writes it out, and
/// removes the request.
fn answer(path: &Path) {
    let why = reason(path);
    let finding = take(&why);
    let g = global();
    g.write_to_sink(&finding);
    // Under `collect` (`lockcheck run`) the command prints it from the
    // report file; otherwise the person who asked reads it on stderr.
    if config::policy() != Policy::Collect {
        eprint!("{}", text::render(std::slice::from_ref(&finding), false));
    }
    // Removed last: whoever asked waits for this to know the snapshot is
    // in the report file.
    let _ = std::fs::remove_file(path);
}

/// The request's first line, or a default.
fn reason(path: &Path) -> String {
    let mut text = String::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(REASON_BYTES).read_to_string(&mut text));
    let first = text.lines().next().map(str::trim).unwrap_or_default();
    if read.is_err() || first.is_empty() {
        "a snapshot was asked for".to_owned()
    } else {
        first.to_owned()
    }
}

/// The snapshot as a `hang` finding: the blocked threads, then the other
/// live threads lockcheck knows.
pub(crate) fn take(why: &str) -> crate::finding::Finding {
    static TAKEN: AtomicU64 = AtomicU64::new(0);
    let blocked = global().waits.lock().blocked();
    let others: Vec<_> = known_threads()
        .into_iter()
        .filter(|t| !blocked.iter().any(|b| b.thread().id == t.id))
        .collect();
    let taken = format!(
        "{}:{}",
        std::process::id(),
        TAKEN.fetch_add(1, Ordering::Relaxed)
    );
    findings::hang(&blocked, &others, why, &taken)
}
