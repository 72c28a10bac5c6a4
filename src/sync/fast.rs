//! The inline half of a blocking acquisition, shared by every lock's
//! blocking methods (`lock`, `read`, `write`, …). Each such method is
//!
//! ```text
//! match fast::try_fast(meta, KIND, mode, &|| raw.try_lock(), || raw.lock()) {
//!     Some((raw_guard, tracked)) => guard(raw_guard, tracked),
//!     None => self.lock_slow(),
//! }
//! ```
//!
//! with `lock_slow` an `#[inline(never)]` method of the lock's own that
//! runs the whole protocol (`runtime::acquire::acquire`) and builds the
//! guard itself. Built so, the fallback is the method's last call and the
//! fast path needs no stack frame: a frame's stores would wait on the raw
//! lock's atomics (uncontended, a fifth of the whole cost). The slow call
//! stays in the lock's method, not in a closure given here, because a
//! closure cannot pass `#[track_caller]`'s location on.

use std::panic::Location;

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;

/// The fast path of a blocking acquisition: the raw guard and whether the
/// hold is tracked, or `None`, having done nothing, when the caller's slow
/// method must run. With the `checks` feature off, only the raw `block`
/// is left (and the hold is untracked).
#[inline(always)]
#[track_caller]
pub(crate) fn try_fast<G>(
    meta: &LockMeta,
    kind: LockKind,
    mode: AcquireMode,
    try_now: &impl Fn() -> Option<G>,
    block: impl FnOnce() -> G,
) -> Option<(G, bool)> {
    if !cfg!(feature = "checks") {
        Some((block(), false))
    } else {
        acquire::acquire_fast_only(meta, kind, mode, Location::caller(), try_now)
            .map(|inner| (inner, true))
    }
}
