//! Names read from traces, interned: each distinct name is stored once, for
//! the life of the process, so that events can carry `&'static str` like the
//! live runtime's.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The interned copy of `s`.
///
/// ```
/// let a = lockcheck::trace::intern::intern("fork");
/// let b = lockcheck::trace::intern::intern(&String::from("fork"));
/// assert!(std::ptr::eq(a, b));
/// ```
pub fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<crate::raw::Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock();
    if let Some(existing) = names.get(s) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}
