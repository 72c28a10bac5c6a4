//! Which frames of a captured stack are the user's: the selection a
//! detector makes when it turns a stack into a [`Finding`](crate::Finding),
//! shared with the reports that show them ([`crate::report::frames`]).
//!
//! Frames are symbolised here, when a finding is made, not when the stack
//! is taken (see [`crate::stack`]). What is left out: lockcheck's own
//! frames, the standard library's (`std::rt`, `core::ops::function`, the
//! `<fn() as FnOnce>::call_once` shims at `/rustc/…`, a thread's start),
//! the lock crates', tokio's executor and the runtime start-up; none of them tell the user
//! where their code went wrong. Paths are made relative as the compiler
//! names `#[track_caller]` sites: debug information joins a file's name to
//! the directory the compiler ran in, which a site's path leaves out.

use std::ops::ControlFlow;
use std::sync::{Mutex, PoisonError};

use crate::event::Site;
use crate::finding::{Frame, SourceLocation};
use crate::stack::CallStack;

/// Most frames a finding keeps per stack.
const MAX_FRAMES: usize = 12;

/// Directories the compiler ran in, learned from stacks whose frame at a
/// known site names the site's file in full (see [`learn_root`]): a stack
/// without such a frame is made relative by them. A handful per process
/// (one a workspace), so a list.
static ROOTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Frames of lockcheck itself, the standard library, the lock crates and the
/// runtime start-up, by the function's name and its file. The one filter of
/// both the reports' frames and the raw locks' caller walk
/// (`runtime::user_site`).
pub(crate) fn is_internal(function: &str, file: Option<&str>) -> bool {
    // Where std is built: its monomorphised shims (`<fn() as
    // core::ops::function::FnOnce<()>>::call_once`) have names that start
    // with no crate, but their file tells.
    if file.is_some_and(|f| f.starts_with("/rustc/")) {
        return true;
    }
    let name = function.trim_start_matches('<');
    const PREFIXES: [&str; 12] = [
        "lockcheck::",
        "std::",
        "core::",
        "alloc::",
        "backtrace::",
        "parking_lot::",
        "parking_lot_core::",
        "lock_api::",
        // The executor's frames between a task's poll and the worker
        // thread's start.
        "tokio::",
        "__rust",
        "__libc",
        "_start",
    ];
    // `clone`/`clone3`: libc's thread start; `… as core::ops::function::Fn…`:
    // a call shim (`<fn() as FnOnce>::call_once` when std's debug
    // information is not there, a closure's `<F as FnOnce<A>>::call_once`).
    PREFIXES.iter().any(|p| name.starts_with(p))
        || name == "clone"
        || name == "clone3"
        || name.contains(" as core::ops::function::Fn")
}

/// A symbol's file, line and column, with its file as debug information
/// names it (absolute, most often).
struct Resolved {
    function: String,
    location: Option<(String, u32, u32)>,
}

/// The directory `file` (absolute) was compiled in, when it is `site`'s
/// file (relative) below one: remembered for later stacks.
fn learn_root(file: &str, line: u32, site: &Site) -> Option<String> {
    if line != site.line || site.file.starts_with('/') {
        return None;
    }
    let root = file.strip_suffix(site.file)?.strip_suffix('/')?;
    if root.is_empty() {
        return None;
    }
    let mut roots = ROOTS.lock().unwrap_or_else(PoisonError::into_inner);
    if !roots.iter().any(|r| r == root) {
        roots.push(root.to_owned());
    }
    Some(root.to_owned())
}

/// `file` below `root`, relative to it; `file` itself otherwise.
fn below<'a>(file: &'a str, root: &str) -> Option<&'a str> {
    file.strip_prefix(root)?.strip_prefix('/')
}

/// `file` relative to `root` when below it, else to a root learned before,
/// else to the current directory; as it is when below none of them (another
/// crate's file, in cargo's registry).
fn relative(file: &str, root: Option<&str>) -> String {
    if let Some(rest) = root.and_then(|r| below(file, r)) {
        return rest.to_owned();
    }
    let roots = ROOTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rest) = roots.iter().find_map(|r| below(file, r)) {
        return rest.to_owned();
    }
    drop(roots);
    std::env::current_dir()
        .ok()
        .and_then(|dir| below(file, &dir.display().to_string()).map(str::to_owned))
        .unwrap_or_else(|| file.to_owned())
}

/// Symbolises `stack` and keeps the user's frames, innermost first (an
/// inlined call is a frame of its own), their files relative like sites'.
/// `site`, where the stack was taken as `#[track_caller]` saw it, tells
/// the directory the files are relative to.
pub fn user_frames(stack: &CallStack, site: Option<&Site>) -> Vec<Frame> {
    let mut kept = Vec::new();
    stack.resolve(|sym| {
        let Some(name) = sym.name() else {
            return ControlFlow::Continue(());
        };
        let function = format!("{name:#}");
        if function.contains("__rust_begin_short_backtrace") {
            return ControlFlow::Break(());
        }
        let location = match (sym.filename(), sym.lineno()) {
            (Some(file), Some(line)) => {
                Some((file.display().to_string(), line, sym.colno().unwrap_or(0)))
            }
            _ => None,
        };
        if is_internal(&function, location.as_ref().map(|l| l.0.as_str())) {
            return ControlFlow::Continue(());
        }
        kept.push(Resolved { function, location });
        if kept.len() >= MAX_FRAMES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let root = site.and_then(|site| {
        kept.iter()
            .filter_map(|r| r.location.as_ref())
            .find_map(|(file, line, _)| learn_root(file, *line, site))
    });
    kept.into_iter()
        .map(|r| Frame {
            function: r.function,
            location: r.location.map(|(file, line, column)| SourceLocation {
                file: relative(&file, root.as_deref()),
                line,
                column,
            }),
        })
        .collect()
}

/// [`user_frames`] of an optional stack taken at `site`.
pub fn user_frames_of(stack: &Option<CallStack>, site: Site) -> Vec<Frame> {
    stack
        .as_ref()
        .map(|s| user_frames(s, Some(&site)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_frames_are_recognised() {
        assert!(is_internal("<lockcheck::sync::Mutex<T>>::lock", None));
        assert!(is_internal("std::thread::local::LocalKey<T>::with", None));
        assert!(is_internal(
            "lockcheck::raw::mutex::RawMutex::lock_slow",
            None
        ));
        assert!(is_internal(
            "<lockcheck::raw::rwlock::RawRwLock as lock_api::rwlock::RawRwLock>::lock_shared",
            None
        ));
        assert!(is_internal("parking_lot_core::parking_lot::park", None));
        assert!(!is_internal("parking_lot_user::handler::run", None));
        assert!(is_internal(
            "<fn() as core::ops::function::FnOnce<()>>::call_once",
            None
        ));
        assert!(is_internal(
            "<F as std::panic::UnwindSafe>::whatever",
            Some("/rustc/90b35a623/library/core/src/ops/function.rs")
        ));
        assert!(!is_internal("my_service::handler::run", None));
        assert!(!is_internal(
            "mutex_reacquire::main",
            Some("/src/fixtures/mutex_reacquire.rs")
        ));
    }

    #[test]
    fn files_are_made_relative_to_the_root_a_site_tells() {
        let site = Site {
            file: "tests/frames_root_probe.rs",
            line: 7,
            column: 5,
        };
        assert_eq!(
            learn_root("/home/me/proj/tests/frames_root_probe.rs", 7, &site).as_deref(),
            Some("/home/me/proj")
        );
        // Another line, or a file that is not the site's: nothing learned.
        assert_eq!(
            learn_root("/home/me/proj/tests/frames_root_probe.rs", 8, &site),
            None
        );
        assert_eq!(learn_root("/elsewhere/x.rs", 7, &site), None);
        assert_eq!(
            relative("/home/me/proj/src/lib.rs", Some("/home/me/proj")),
            "src/lib.rs"
        );
        // Learned: a stack without a site of its own is made relative too.
        assert_eq!(relative("/home/me/proj/src/a.rs", None), "src/a.rs");
        // A sibling directory whose name starts the same is not below it.
        assert_eq!(
            relative("/home/me/project2/src/a.rs", Some("/home/me/proj")),
            "/home/me/project2/src/a.rs"
        );
    }
}
