//! Waits on primitives without an owner — condition variables, channels,
//! barriers — in the wait-for graph. Each such primitive carries a
//! [`WaitMeta`] (its id, name and creation site, as a lock's meta does); a
//! thread that has waited on it for a lock's grace period registers
//! ([`block_on`]) and from then on wakes every `nobody_left::SLICE` to check
//! the second deadlock rule ([`crate::runtime::acquire::Waiting::stuck`]).
//! Timed waits never register: they end by themselves.

use std::borrow::Cow;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

use crate::detect::wait_for::{Blocked, PrimitiveWaiter, WaitKind, WaitTarget};
use crate::event::{LockId, Site};
use crate::runtime::acquire::{self, OnCycle, Waiting};
use crate::runtime::lock_meta::lazy_id;
use crate::runtime::{capture, config};

/// A waitable primitive's identity: an id taken on first need, the name
/// given in the program, and where it was created.
pub(crate) struct WaitMeta {
    id: AtomicU64,
    /// The name given at creation (`named`).
    given: Option<&'static str>,
    /// A name given later (`with_name`), interned.
    later: OnceLock<&'static str>,
    created: &'static Location<'static>,
}

impl WaitMeta {
    /// The identity of a primitive created at `created`.
    pub(crate) const fn new(
        name: Option<&'static str>,
        created: &'static Location<'static>,
    ) -> Self {
        WaitMeta {
            id: AtomicU64::new(0),
            given: name,
            later: OnceLock::new(),
            created,
        }
    }

    /// Names the primitive with a name made at run time (interned); the
    /// first name given is kept.
    pub(crate) fn set_name(&self, name: Cow<'static, str>) {
        if self.given.is_none() {
            let name = match name {
                Cow::Borrowed(s) => s,
                Cow::Owned(s) => crate::trace::intern::intern(&s),
            };
            let _ = self.later.set(name);
        }
    }

    /// The primitive's name, if it has one.
    pub(crate) fn name(&self) -> Option<&'static str> {
        self.given.or_else(|| self.later.get().copied())
    }

    /// The primitive's id (in traces, and in reports).
    pub(crate) fn id(&self) -> LockId {
        lazy_id(&self.id)
    }

    /// The primitive as a wait of `kind` names it.
    fn target(&self, kind: WaitKind) -> WaitTarget {
        WaitTarget {
            kind,
            id: self.id().0,
            name: self.name().map(Into::into),
            created: Site::from(self.created),
        }
    }
}

impl std::fmt::Debug for WaitMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitMeta")
            .field("name", &self.name())
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// This thread has waited on `meta`'s primitive for the grace period
/// (`acquire::GRACE`) and waits on, for what `kind` says, at `site`: it
/// joins the wait-for graph until the returned value drops. The wait must
/// then wake every `nobody_left::SLICE` and call
/// [`Waiting::stuck`], breaking the deadlock where that says so. `None`
/// when checking is off.
pub(crate) fn block_on(meta: &WaitMeta, kind: WaitKind, site: Site) -> Option<Waiting> {
    if !config::enabled() {
        return None;
    }
    let (thread, held) = acquire::thread_and_held();
    let waiter = Blocked::Primitive(PrimitiveWaiter {
        thread,
        target: meta.target(kind),
        site,
        held,
        backtrace: capture(),
    });
    // No cycle passes through a wait without an owner: registering cannot
    // close one.
    Some(acquire::register_wait(waiter, true, OnCycle::Panic))
}
