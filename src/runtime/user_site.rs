//! The user's line for an acquisition that reached lockcheck through
//! lock_api's generic types (`lock_api::Mutex<lockcheck::RawMutex, T>`):
//! lock_api's methods are not `#[track_caller]`, so the site the raw lock
//! sees is a line of lock_api. Where a finding is made from that site (a
//! new order edge, a self-deadlock, a wait in the wait-for graph), it is
//! replaced by the first frame of the caller's stack outside lockcheck,
//! lock_api and the standard library. Only those slow paths walk the
//! stack, and a call path walked once is remembered.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;
use std::panic::Location;
use std::sync::{Mutex, OnceLock};

use crate::event::Site;
use crate::stack::CallStack;

/// Innermost return addresses that key the cache: enough to tell call
/// paths apart up to the user's frame, which is a few frames in.
const KEY_FRAMES: usize = 16;

/// The site to report for an acquisition at `site`: `site` itself, unless
/// it is inside lock_api; then the caller's frame, if the stack can be
/// symbolised (debug information), else lock_api's line after all.
pub(crate) fn site(site: &'static Location<'static>) -> Site {
    if !in_lock_api(site.file()) {
        return Site::from(site);
    }
    caller_site().unwrap_or_else(|| Site::from(site))
}

/// Whether `file` is one of lock_api's sources: a path with a component
/// `lock_api` or `lock_api-<version>` (the registry's, a vendored copy).
fn in_lock_api(file: &str) -> bool {
    file.split(['/', '\\'])
        .any(|part| part == "lock_api" || part.starts_with("lock_api-"))
}

/// The first frame of this thread's stack outside lockcheck, lock_api and
/// the standard library.
#[cold]
#[inline(never)]
fn caller_site() -> Option<Site> {
    static KNOWN: OnceLock<Mutex<HashMap<u64, Option<Site>>>> = OnceLock::new();
    let stack = CallStack::capture();
    let key = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        stack.addresses()[..stack.addresses().len().min(KEY_FRAMES)].hash(&mut h);
        h.finish()
    };
    let known = KNOWN.get_or_init(Default::default);
    // A panic elsewhere while the map was locked leaves it whole: every
    // insert is one call.
    if let Some(site) = known.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return *site;
    }
    let found = first_user_frame(&stack);
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, found);
    found
}

fn first_user_frame(stack: &CallStack) -> Option<Site> {
    let mut found = None;
    stack.resolve(|symbol| {
        let Some(name) = symbol.name() else {
            return ControlFlow::Continue(());
        };
        let function = format!("{name:#}");
        let file = symbol.filename().map(|f| f.to_string_lossy());
        if crate::frames::is_internal(&function, file.as_deref()) {
            return ControlFlow::Continue(());
        }
        if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
            found = Some(Site {
                file: crate::trace::intern::intern(&relative(file)),
                line,
                column: symbol.colno().unwrap_or(0),
            });
        }
        // The first frame outside is the caller, with a line or without.
        ControlFlow::Break(())
    });
    found
}

/// `file` relative to the working directory when it is under it, as the
/// compiler names the sources of the crate being built.
fn relative(file: &std::path::Path) -> String {
    static CWD: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    let cwd = CWD.get_or_init(|| std::env::current_dir().ok());
    cwd.as_deref()
        .and_then(|cwd| file.strip_prefix(cwd).ok())
        .unwrap_or(file)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_api_sources_are_recognised() {
        assert!(in_lock_api(
            "/home/u/.cargo/registry/src/index.crates.io-1/lock_api-0.4.14/src/mutex.rs"
        ));
        assert!(in_lock_api("vendor/lock_api/src/rwlock.rs"));
        assert!(!in_lock_api("src/my_lock_api_wrapper.rs"));
        assert!(!in_lock_api("tests/raw_lock_types.rs"));
    }

    #[test]
    fn a_site_outside_lock_api_is_kept() {
        let here = Location::caller();
        assert_eq!(site(here), Site::from(here));
    }
}
