//! Backtraces trimmed to the user's frames, symbolised only when a report is
//! made (capture is cheap, symbolisation is not).

use std::ops::ControlFlow;

use crate::finding::{Frame, SourceLocation};
use crate::stack::CallStack;

/// Most frames a report shows per backtrace.
const MAX_FRAMES: usize = 12;

/// Frames of lockcheck itself (its raw locks are `lockcheck::raw::…`), the
/// standard library, the lock crates (`parking_lot` also covers
/// `parking_lot_core`, where the raw locks park) and the runtime start-up:
/// none of them tell the user where their code went wrong.
fn is_internal(function: &str) -> bool {
    let name = function.trim_start_matches('<');
    const PREFIXES: [&str; 10] = [
        "lockcheck::",
        "std::",
        "core::",
        "alloc::",
        "backtrace::",
        "parking_lot",
        "lock_api::",
        "__rust",
        "__libc",
        "_start",
    ];
    // `clone`/`clone3`: libc's thread start.
    PREFIXES.iter().any(|p| name.starts_with(p)) || name == "clone" || name == "clone3"
}

/// Symbolises `stack` and keeps the user's frames, innermost first (an
/// inlined call is a frame of its own).
pub fn user_frames(stack: &CallStack) -> Vec<Frame> {
    let mut out = Vec::new();
    stack.resolve(|sym| {
        let Some(name) = sym.name() else {
            return ControlFlow::Continue(());
        };
        let function = format!("{name:#}");
        if function.contains("__rust_begin_short_backtrace") {
            return ControlFlow::Break(());
        }
        if is_internal(&function) {
            return ControlFlow::Continue(());
        }
        let location = match (sym.filename(), sym.lineno()) {
            (Some(file), Some(line)) => Some(SourceLocation {
                file: file.display().to_string(),
                line,
                column: sym.colno().unwrap_or(0),
            }),
            _ => None,
        };
        out.push(Frame { function, location });
        if out.len() >= MAX_FRAMES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    out
}

/// [`user_frames`] of an optional backtrace.
pub fn user_frames_of(bt: &Option<CallStack>) -> Vec<Frame> {
    bt.as_ref().map(user_frames).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_frames_are_recognised() {
        assert!(is_internal("<lockcheck::sync::Mutex<T>>::lock"));
        assert!(is_internal("std::thread::local::LocalKey<T>::with"));
        assert!(is_internal("lockcheck::raw::mutex::RawMutex::lock_slow"));
        assert!(is_internal(
            "<lockcheck::raw::rwlock::RawRwLock as lock_api::rwlock::RawRwLock>::lock_shared"
        ));
        assert!(is_internal("parking_lot_core::parking_lot::park"));
        assert!(!is_internal("my_service::handler::run"));
        assert!(!is_internal("mutex_reacquire::main"));
    }
}
