//! The runtime's interface to the wrappers with the `checks` feature off.
//!
//! The wrappers (`sync`, `stdsync`, `thread`) call the runtime at every
//! acquisition, release, spawn, join and message. With the feature off none
//! of the runtime is compiled (nor the detectors, nor petgraph and
//! backtrace); each call here is what the checked call does when checking
//! is off at run time — the raw operation, untracked — so the wrappers are
//! written once, and with the feature off they compile down to the raw lock
//! calls they wrap (as parking_lot_core's deadlock detection compiles to
//! nothing without its feature). Nothing is tracked, so nothing is ever
//! found; `lockcheck run` says so of such a program (it never announces
//! itself).

use crate::finding::Finding;

/// Every finding of this process: none, since nothing is checked with the
/// `checks` feature off.
pub fn findings() -> Vec<Finding> {
    Vec::new()
}

/// Takes every finding so far: none, since nothing is checked with the
/// `checks` feature off.
pub fn take_findings() -> Vec<Finding> {
    Vec::new()
}

/// Panics: with the `checks` feature off nothing is checked, so "no
/// findings" would be a clean answer nobody earned.
#[track_caller]
pub fn assert_no_findings() {
    panic!(
        "lockcheck::assert_no_findings: lockcheck's checks are compiled out (the `checks` \
         feature is off, default-features = false), so nothing was checked"
    );
}

/// What this process could not check: everything, with the `checks`
/// feature off.
pub fn unchecked() -> Vec<String> {
    vec![
        "lockcheck's checks are compiled out (the `checks` feature is off, \
         default-features = false)"
            .to_owned(),
    ]
}

pub(crate) mod acquire {
    //! Acquisitions and releases: the raw operation, untracked.

    use std::panic::Location;
    use std::time::Duration;

    use super::lock_meta::LockMeta;
    use super::thread_state::HeldEntry;
    use crate::event::{AcquireMode, LockId, LockKind, Site, ThreadInfo};

    /// As the checked runtime's: how long a contended wait lasts before
    /// it would join the wait-for graph.
    pub(crate) const GRACE: Duration = Duration::from_millis(50);

    /// The raw operations of one acquisition, supplied by the wrapper.
    pub(crate) struct RawAcquire<TryNow, TryFor, Block> {
        /// Take the lock if it is free now.
        #[allow(dead_code)]
        pub(crate) try_now: TryNow,
        /// Take it within a timeout.
        #[allow(dead_code)]
        pub(crate) try_for: TryFor,
        /// Take it, however long that takes.
        pub(crate) block: Block,
    }

    /// A wait in the wait-for graph: none is ever made (an uninhabited
    /// type, so the code a registered wait runs is compiled out too).
    pub(crate) enum Waiting {}

    impl Waiting {
        pub(crate) fn stuck(&self) -> Option<super::nobody_left::Stuck> {
            match *self {}
        }
    }

    /// The checked one leaves the wait-for graph as it drops, and the
    /// wrappers drop it where that must happen.
    impl Drop for Waiting {
        fn drop(&mut self) {
            match *self {}
        }
    }

    /// How a deadlock found at a wait is broken (none is found here).
    #[allow(dead_code)]
    #[derive(Copy, Clone)]
    pub(crate) enum OnCycle {
        /// A panic in the waiting thread.
        Panic,
        /// An abort of the process.
        Abort,
    }

    #[inline(always)]
    pub(crate) fn acquire<G>(
        _meta: &LockMeta,
        _kind: LockKind,
        _mode: AcquireMode,
        _site: &'static Location<'static>,
        raw: RawAcquire<impl Fn() -> Option<G>, impl FnOnce(Duration) -> Option<G>, impl Fn() -> G>,
    ) -> (G, bool) {
        ((raw.block)(), false)
    }

    #[inline(always)]
    pub(crate) fn acquire_fast_only<G>(
        _meta: &LockMeta,
        _kind: LockKind,
        _mode: AcquireMode,
        _site: &'static Location<'static>,
        _try_now: &impl Fn() -> Option<G>,
    ) -> Option<G> {
        None
    }

    #[inline(always)]
    pub(crate) fn try_acquire<G>(
        _meta: &LockMeta,
        _mode: AcquireMode,
        _site: &'static Location<'static>,
        attempt: impl FnOnce() -> Option<G>,
    ) -> Option<(G, bool)> {
        attempt().map(|g| (g, false))
    }

    #[inline(always)]
    pub(crate) fn release(_meta: &LockMeta, _kind: LockKind, _mode: AcquireMode) {}

    #[inline(always)]
    pub(crate) fn release_fast(_meta: &LockMeta, _kind: LockKind, _mode: AcquireMode) -> bool {
        true
    }

    #[inline(always)]
    pub(crate) fn release_guard(
        _meta: &LockMeta,
        _kind: LockKind,
        _mode: AcquireMode,
        _tracked: bool,
    ) {
    }

    #[inline(always)]
    pub(crate) fn change_mode(_meta: &LockMeta, _from: AcquireMode, _to: AcquireMode) {}

    #[inline(always)]
    pub(crate) fn suspend(
        _meta: &LockMeta,
        _mode: AcquireMode,
        _condition: LockId,
        _timed: bool,
        _site: &'static Location<'static>,
    ) -> Option<HeldEntry> {
        None
    }

    #[inline(always)]
    pub(crate) fn resume(
        _meta: &LockMeta,
        _entry: Option<HeldEntry>,
        _site: &'static Location<'static>,
    ) {
    }

    #[inline(always)]
    pub(crate) fn force_release(
        _meta: &LockMeta,
        _mode: AcquireMode,
        _site: &'static Location<'static>,
    ) {
    }

    #[inline(always)]
    pub(crate) fn check_upgrade(_meta: &LockMeta, _site: &'static Location<'static>) {}

    #[inline(always)]
    pub(crate) fn wait_for_upgrade(
        _meta: &LockMeta,
        _site: &'static Location<'static>,
    ) -> Option<Waiting> {
        None
    }

    #[inline(always)]
    pub(crate) fn wait_to_join(_joins: ThreadInfo, _site: Site, _how: OnCycle) -> Option<Waiting> {
        None
    }

    #[inline(always)]
    pub(crate) fn mark_joinable() {}
}

pub(crate) mod announce {
    //! A program built without checks never tells `lockcheck run` it checks.

    #[inline(always)]
    pub(crate) fn once() {}
}

pub(crate) mod fast_path {
    //! The one flag acquisitions read: there is none to refresh.

    #[inline(always)]
    pub(crate) fn refresh() {}

    #[inline(always)]
    pub(crate) fn compute() {}

    /// Whether the fast path alone may be taken: always, nothing is
    /// checked.
    #[inline(always)]
    pub(crate) fn fast_only() -> bool {
        true
    }
}

pub(crate) mod hb {
    //! Happens-before: no clocks are kept.

    /// What one thread hands another: nothing.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct HandOff;

    impl HandOff {
        pub(crate) const fn new() -> Self {
            HandOff
        }

        #[inline(always)]
        pub(crate) fn end_with(&mut self, _last: &HandOff) {}

        #[inline(always)]
        pub(crate) fn join(&mut self, _other: &HandOff) {}
    }

    #[inline(always)]
    pub(crate) fn active() -> bool {
        false
    }

    #[inline(always)]
    pub(crate) fn activate() {}

    #[inline(always)]
    pub(crate) fn slot_for_child() -> u64 {
        0
    }

    #[inline(always)]
    pub(crate) fn take_slot(_slot: u64) {}

    #[inline(always)]
    pub(crate) fn release_clock() -> HandOff {
        HandOff
    }

    #[inline(always)]
    pub(crate) fn acquire_clock(_other: &HandOff) {}

    #[inline(always)]
    pub(crate) fn acquire_end(_end: &mut HandOff) {}

    #[inline(always)]
    pub(crate) fn start_child(_parent: &HandOff) {}
}

pub(crate) mod hold_and_wait {
    //! Hold-and-wait: no waiter is kept, no edge is made.

    use crate::event::{Site, WokenBy};

    /// Hazards found at a wake-up: never any.
    #[derive(Default)]
    pub(crate) struct Hazards;

    impl Hazards {
        pub(crate) const NONE: Hazards = Hazards;

        #[inline(always)]
        pub(crate) fn report(self) {}
    }

    /// A primitive's waiters holding locks: never kept.
    pub(crate) struct Waiters;

    /// A registered waiter: never made.
    pub(crate) struct Ticket<'a>(std::marker::PhantomData<&'a ()>);

    impl Waiters {
        pub(crate) const fn new() -> Self {
            Waiters
        }

        #[inline(always)]
        pub(crate) fn waiting(
            &self,
            _mutex: Option<&super::lock_meta::LockMeta>,
            _site: Site,
        ) -> Option<Ticket<'_>> {
            None
        }

        /// Whether nobody waits holding locks: always.
        #[inline(always)]
        pub(crate) fn none(&self) -> bool {
            true
        }

        #[inline(always)]
        pub(crate) fn woken(
            &self,
            _by: WokenBy,
            _on: impl FnOnce() -> u64,
            _site: Site,
        ) -> Hazards {
            Hazards
        }

        #[inline(always)]
        pub(crate) fn arriving(
            &self,
            _on: u64,
            _round: usize,
            _site: Site,
            _waits: bool,
        ) -> (Option<Ticket<'_>>, Hazards) {
            (None, Hazards)
        }
    }

    /// A thread's joiners holding locks: never kept.
    #[derive(Default)]
    pub(crate) struct JoinWaits;

    /// A registered joiner: never made.
    pub(crate) struct JoinTicket<'a>(std::marker::PhantomData<&'a ()>);

    impl JoinTicket<'_> {
        #[inline(always)]
        pub(crate) fn joined(self) -> Hazards {
            Hazards
        }
    }

    impl JoinWaits {
        #[inline(always)]
        pub(crate) fn joining(&self, _child: u64, _site: Site) -> Option<JoinTicket<'_>> {
            None
        }

        #[inline(always)]
        pub(crate) fn ending(&self, _child: u64, _spawned: Site) {}
    }
}

pub(crate) mod late_report {
    //! No finding is ever being symbolised.

    #[inline(always)]
    pub(crate) fn flush() {}
}

pub(crate) mod lock_meta {
    //! A lock's identity: its kind, name and creation site, kept for
    //! `Debug` and names; it never gets an id.

    use crate::event::{LockId, LockInfo, LockKind, Name, Site};
    use std::borrow::Cow;
    use std::panic::Location;

    /// Identity and description of one wrapper lock.
    pub(crate) struct LockMeta {
        name: Option<&'static str>,
        created: &'static Location<'static>,
        kind: LockKind,
    }

    impl LockMeta {
        pub(crate) const fn new(
            kind: LockKind,
            name: Option<&'static str>,
            created: &'static Location<'static>,
        ) -> Self {
            LockMeta {
                name,
                created,
                kind,
            }
        }

        /// Gives the lock a name (leaked: a name lives as long as the
        /// process, as with checks on, where it is interned).
        pub(crate) fn set_name(&mut self, name: Cow<'static, str>) {
            self.name = Some(match name {
                Cow::Borrowed(s) => s,
                Cow::Owned(s) => Box::leak(s.into_boxed_str()),
            });
        }

        #[inline(always)]
        pub(crate) fn id(&self) -> LockId {
            LockId(0)
        }

        #[inline(always)]
        pub(crate) fn id_first_use(&self) -> (LockId, bool) {
            (LockId(0), false)
        }

        #[inline(always)]
        pub(crate) fn assigned_id(&self) -> Option<LockId> {
            None
        }

        #[inline(always)]
        pub(crate) fn release_id(&self) -> LockId {
            LockId(0)
        }

        #[inline(always)]
        pub(crate) fn pending(&self) -> bool {
            false
        }

        #[inline(always)]
        pub(crate) fn clear_pending(&self) {}

        pub(crate) fn kind(&self) -> LockKind {
            self.kind
        }

        pub(crate) fn name(&self) -> Option<&'static str> {
            self.name
        }

        pub(crate) fn info(&self) -> LockInfo {
            LockInfo {
                id: LockId(0),
                kind: self.kind,
                name: self.name.map(Name::Static),
                created: Site::from(self.created),
            }
        }

        #[inline(always)]
        pub(crate) fn name_at_first_use(&self, _name: String) {}
    }
}

pub(crate) mod nobody_left {
    //! The second deadlock rule: never fires, as no wait is registered.

    use std::time::Duration;

    /// As the checked runtime's: how long a sliced wait sleeps at a time.
    pub(crate) const SLICE: Duration = Duration::from_millis(100);

    /// A deadlock this thread is to break: none can be made here.
    pub(crate) struct Stuck(std::convert::Infallible);

    impl Stuck {
        pub(crate) fn break_here(self) -> ! {
            match self.0 {}
        }

        pub(crate) fn abort_here(self) -> ! {
            match self.0 {}
        }
    }

    /// Inside a `thread::scope` (nothing to rank).
    pub(crate) struct InScope;

    #[inline(always)]
    pub(crate) fn enter_scope() -> InScope {
        InScope
    }
}

pub(crate) mod recorder {
    //! Nothing is recorded.

    use crate::event::{Event, ThreadId};

    #[inline(always)]
    pub(crate) fn on() -> bool {
        false
    }

    #[inline(always)]
    pub(crate) fn record_here(_make: impl FnOnce(ThreadId) -> Event) {}
}

pub(crate) mod thread_state {
    //! No thread has state: nothing is held, as far as checking goes.

    use crate::event::{AcquireMode, LockId, ThreadId};

    /// One held lock, as the checked runtime keeps it.
    pub(crate) struct HeldEntry {
        pub(crate) id: LockId,
        pub(crate) mode: AcquireMode,
    }

    /// A thread's checking state: never made.
    pub(crate) struct ThreadState {
        pub(crate) held: Vec<HeldEntry>,
    }

    #[inline(always)]
    pub(crate) fn with_thread<R>(_f: impl FnOnce(&mut ThreadState) -> R) -> Option<R> {
        None
    }

    pub(crate) fn reserve_thread_id() -> ThreadId {
        ThreadId(0)
    }

    #[inline(always)]
    pub(crate) fn adopt_thread_id(_id: ThreadId) {}
}

pub(crate) mod waits {
    //! A waitable primitive's identity: its name, for `Debug`.

    use std::borrow::Cow;
    use std::panic::Location;
    use std::sync::OnceLock;

    use super::acquire::Waiting;
    use crate::event::{LockId, Site, WaitKind};

    /// A waitable primitive's name and creation site.
    pub(crate) struct WaitMeta {
        given: Option<&'static str>,
        later: OnceLock<&'static str>,
        created: &'static Location<'static>,
    }

    impl WaitMeta {
        pub(crate) const fn new(
            name: Option<&'static str>,
            created: &'static Location<'static>,
        ) -> Self {
            WaitMeta {
                given: name,
                later: OnceLock::new(),
                created,
            }
        }

        /// Names the primitive (leaked, as names live as long as the
        /// process); the first name given is kept.
        pub(crate) fn set_name(&self, name: Cow<'static, str>) {
            if self.given.is_none() {
                let name = match name {
                    Cow::Borrowed(s) => s,
                    Cow::Owned(s) => Box::leak(s.into_boxed_str()),
                };
                let _ = self.later.set(name);
            }
        }

        pub(crate) fn name(&self) -> Option<&'static str> {
            self.given.or_else(|| self.later.get().copied())
        }

        #[inline(always)]
        pub(crate) fn id(&self) -> LockId {
            LockId(0)
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

    /// Nothing registers: a wait is the raw wait.
    #[inline(always)]
    pub(crate) fn block_on(_meta: &WaitMeta, _kind: WaitKind, _site: Site) -> Option<Waiting> {
        None
    }
}

pub(crate) mod user_site {
    //! Sites are the caller's, as given.

    use std::panic::Location;

    use crate::event::Site;

    pub(crate) fn site(site: &'static Location<'static>) -> Site {
        Site::from(site)
    }
}
