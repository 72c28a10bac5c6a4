//! Findings: what the detectors report, in a form every output format renders
//! and that survives a trip through JSON (the library writes findings to a file,
//! `lockcheck run` reads them back).

use std::fmt;

use crate::fx_hash::FxHashMap;

use crate::event::{self, AcquireMode, LockKind};

mod encode;

pub use encode::{announcement_line, to_json_line, unchecked_line};

/// The stable ids of what lockcheck detects (see DESIGN.md).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum FindingKind {
    /// A thread acquires a lock it already holds in a mode that waits for itself.
    SelfDeadlock,
    /// The lock-order graph has a cycle: some schedule can deadlock.
    LockOrderCycle,
    /// Threads are blocked right now in a cycle of waits.
    Deadlock,
    /// Two unordered accesses to one shared variable, at least one a write.
    DataRace,
    /// A lock used against its contract (exited while held, unlocked by a non-owner).
    LockMisuse,
    /// A snapshot of a program that has not ended (`lockcheck run
    /// --timeout`, or asked for): every thread lockcheck knows, with what it
    /// is blocked on, if anything. Never failing by itself.
    Hang,
    /// A blocking lock (not an async one) still held when its task yielded
    /// at an `.await`: the worker thread it blocks is the one another task
    /// needs to release it.
    HeldAcrossAwait,
}

impl FindingKind {
    /// The stable id, as in reports and fixture headers.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::SelfDeadlock => "self-deadlock",
            FindingKind::LockOrderCycle => "lock-order-cycle",
            FindingKind::Deadlock => "deadlock",
            FindingKind::DataRace => "data-race",
            FindingKind::LockMisuse => "lock-misuse",
            FindingKind::Hang => "hang",
            FindingKind::HeldAcrossAwait => "held-across-await",
        }
    }

    /// Every kind, in report order.
    pub const ALL: [FindingKind; 7] = [
        FindingKind::SelfDeadlock,
        FindingKind::Deadlock,
        FindingKind::LockOrderCycle,
        FindingKind::HeldAcrossAwait,
        FindingKind::DataRace,
        FindingKind::LockMisuse,
        FindingKind::Hang,
    ];

    /// Parses a stable id.
    ///
    /// ```
    /// use lockcheck::FindingKind;
    /// assert_eq!(FindingKind::parse("deadlock"), Some(FindingKind::Deadlock));
    /// ```
    pub fn parse(id: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == id)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source location in a report.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceLocation {
    /// File as the compiler names it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl From<event::Site> for SourceLocation {
    fn from(site: event::Site) -> Self {
        SourceLocation {
            file: site.file.to_owned(),
            line: site.line,
            column: site.column,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            event::shown_path(&self.file),
            self.line,
            self.column
        )
    }
}

/// One frame of a (trimmed) backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Frame {
    /// Demangled function name.
    pub function: String,
    /// `file:line:col` when debug info has it.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub location: Option<SourceLocation>,
}

/// A thread as a report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ThreadRef {
    /// Process-unique id.
    pub id: u64,
    /// Name, if the thread has one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// An async task (`lockcheck::tokio`'s), not an OS thread.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_false"))]
    pub task: bool,
}

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}

impl From<&event::ThreadInfo> for ThreadRef {
    fn from(t: &event::ThreadInfo) -> Self {
        ThreadRef {
            id: t.id.0,
            name: t.name.as_deref().map(str::to_owned),
            task: t.task,
        }
    }
}

impl fmt::Display for ThreadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, self.task) {
            // A task's name says it is one: `task 20`, `task at src/x.rs:12`.
            (Some(name), true) => write!(f, "{} (#{})", name, self.id),
            (None, true) => write!(f, "task #{}", self.id),
            (Some(name), false) => write!(f, "thread '{}' (#{})", name, self.id),
            (None, false) => write!(f, "thread #{}", self.id),
        }
    }
}

/// A lock as a report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LockRef {
    /// Process-unique id (for a class-level report, the first instance seen).
    pub id: u64,
    /// Mutex, rwlock or reentrant mutex.
    pub kind: LockKind,
    /// The name given in the program, if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// Where the lock was created.
    pub created: SourceLocation,
}

impl From<&event::LockInfo> for LockRef {
    fn from(l: &event::LockInfo) -> Self {
        LockRef {
            id: l.id.0,
            kind: l.kind,
            name: l.name.as_deref().map(str::to_owned),
            created: l.created.into(),
        }
    }
}

impl fmt::Display for LockRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "`{}`", name),
            None => write!(f, "{} created at {}", self.kind.as_str(), self.created),
        }
    }
}

/// A lock a thread holds, in a report.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HeldRef {
    /// The lock.
    pub lock: LockRef,
    /// Mode it is held in.
    pub mode: AcquireMode,
    /// Where it was acquired.
    pub site: SourceLocation,
}

/// One edge of a lock-order cycle: `to` was acquired while `from` was held.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OrderEdge {
    /// The lock already held.
    pub from: LockRef,
    /// The lock acquired while `from` was held.
    pub to: LockRef,
    /// Where `from` had been acquired when this edge was first seen.
    pub from_site: SourceLocation,
    /// Where `to` was acquired when this edge was first seen.
    pub to_site: SourceLocation,
    /// Mode `from` was held in.
    pub held_mode: AcquireMode,
    /// Mode `to` was acquired in.
    pub acquire_mode: AcquireMode,
    /// The thread that first took this edge.
    pub thread: ThreadRef,
    /// User frames of the first acquisition, when backtraces are on.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub backtrace: Vec<Frame>,
    /// When the edge is a hold-and-wait rather than an acquisition under
    /// `from`: `thread` held `from` while it waited, and the waker had
    /// taken `to` (at `to_site`) before it ended the wait.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub wait: Option<WaitNote>,
}

/// The wait behind a hold-and-wait edge of a lock-order cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WaitNote {
    /// What ended the wait: a notification, a message, the joined
    /// thread's end.
    pub by: event::WokenBy,
    /// What was waited on: the condition's id (a condition variable's; in
    /// a Java trace, the monitor's), the message's, the joined thread's.
    pub on: u64,
    /// The lock the wait released meanwhile (the condition's mutex, the
    /// Java monitor), if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub released: Option<LockRef>,
    /// Where the edge's thread waited.
    pub wait_site: SourceLocation,
    /// The thread whose notification ended the wait.
    pub waker: ThreadRef,
    /// Where it notified.
    pub wake_site: SourceLocation,
}

/// Most other cycles a finding keeps ([`CycleDetail::other_cycles`]): the
/// same sites taken again over fresh locks (one pair a request) would
/// otherwise grow a finding without end.
pub const MAX_OTHER_CYCLES: usize = 16;

/// What makes a lock-order cycle more or less likely to bite.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CycleDetail {
    /// The edges, in cycle order (the last edge's `to` is the first's `from`).
    pub edges: Vec<OrderEdge>,
    /// Other cycles through the same sites over other locks, each in cycle
    /// order: the same finding seen again (a 2-cycle and a 3-cycle among
    /// the same accounts, both through one `transfer` helper). The first
    /// [`MAX_OTHER_CYCLES`] are kept; `count` goes on counting past them.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub other_cycles: Vec<Vec<OrderEdge>>,
    /// A lock held at every edge of the cycle: a gate that serialises both
    /// halves, so the cycle cannot deadlock. Guarded cycles fail a run only
    /// under `--strict`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub guarded_by: Option<LockRef>,
    /// Every edge was taken by one thread. Still a finding: a second thread
    /// running the same code would deadlock.
    #[cfg_attr(feature = "serde", serde(default))]
    pub single_thread: bool,
    /// The edges happened one after the other (a join, a message… ordered
    /// them), so in this run the two halves could not overlap. Still a
    /// finding: on another schedule of the same code they can.
    #[cfg_attr(feature = "serde", serde(default))]
    pub ordered_by_happens_before: bool,
}

impl CycleDetail {
    /// The lock pairs of a cycle's edges, in a canonical order.
    fn pairs(edges: &[OrderEdge]) -> Vec<(u64, u64)> {
        let mut pairs: Vec<(u64, u64)> = edges.iter().map(|e| (e.from.id, e.to.id)).collect();
        pairs.sort_unstable();
        pairs
    }

    /// Keeps `other`'s edges among [`Self::other_cycles`] when they are a
    /// cycle over other locks than every cycle kept, and there is room;
    /// returns whether they were kept.
    fn keep_other(&mut self, other: &CycleDetail) -> bool {
        let pairs = Self::pairs(&other.edges);
        let known = std::iter::once(&self.edges)
            .chain(&self.other_cycles)
            .chain(&other.other_cycles)
            .any(|edges| Self::pairs(edges) == pairs);
        if known || self.other_cycles.len() >= MAX_OTHER_CYCLES {
            return false;
        }
        self.other_cycles.push(other.edges.clone());
        true
    }

    /// Every cycle of the finding: [`Self::edges`], then the others.
    pub fn cycles(&self) -> impl Iterator<Item = &[OrderEdge]> {
        std::iter::once(self.edges.as_slice()).chain(self.other_cycles.iter().map(Vec::as_slice))
    }
}

/// A thread taking part in a deadlock or self-deadlock.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ThreadWait {
    /// The thread.
    pub thread: ThreadRef,
    /// What it holds.
    pub holds: Vec<HeldRef>,
    /// The lock it waits for (or asks for, for a self-deadlock).
    pub waits_for: LockRef,
    /// The mode it asks for.
    pub mode: AcquireMode,
    /// Where it waits.
    pub site: SourceLocation,
    /// User frames at the wait, when backtraces are on.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub backtrace: Vec<Frame>,
}

/// What a blocked thread of a deadlock waits on, of every kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum WaitOnKind {
    /// A lock (its holders).
    Lock,
    /// A notification of a condition variable.
    Condvar,
    /// A message on a channel.
    Receive,
    /// Room on a full bounded channel.
    Send,
    /// The end of another thread (a join, or the end of a scope).
    Join,
    /// The rest of a barrier's threads.
    Barrier,
}

impl WaitOnKind {
    /// The stable id, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitOnKind::Lock => "lock",
            WaitOnKind::Condvar => "condvar",
            WaitOnKind::Receive => "receive",
            WaitOnKind::Send => "send",
            WaitOnKind::Join => "join",
            WaitOnKind::Barrier => "barrier",
        }
    }
}

/// The primitive (or thread) a blocked thread waits on, as a report names
/// it: by its name, else by where it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WaitOn {
    /// What kind of wait.
    pub kind: WaitOnKind,
    /// The lock's or primitive's id, or the joined thread's.
    pub id: u64,
    /// The name given in the program (a joined thread's name), if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// Where the lock or primitive was created (none for a join).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub created: Option<SourceLocation>,
}

impl fmt::Display for WaitOn {
    /// "`queue` (condition variable)", "the end of thread 'worker' (#3)",
    /// "channel created at src/main.rs:4:5".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let primitive = match self.kind {
            WaitOnKind::Lock => "lock",
            WaitOnKind::Condvar => "condition variable",
            WaitOnKind::Receive | WaitOnKind::Send => "channel",
            WaitOnKind::Barrier => "barrier",
            WaitOnKind::Join => {
                let thread = ThreadRef {
                    id: self.id,
                    name: self.name.clone(),
                    task: false,
                };
                return write!(f, "the end of {thread}");
            }
        };
        match (&self.name, &self.created) {
            (Some(name), _) => write!(f, "`{name}` ({primitive})"),
            (None, Some(created)) => write!(f, "{primitive} created at {created}"),
            (None, None) => write!(f, "{primitive} #{}", self.id),
        }
    }
}

/// A thread of a deadlock, whatever it waits on: the thread, what it holds,
/// what it waits on and where. [`Finding::waits`] keeps the lock waits in
/// their own shape; this lists every blocked thread.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BlockedThread {
    /// The thread.
    pub thread: ThreadRef,
    /// What it holds while it waits.
    pub holds: Vec<HeldRef>,
    /// What it waits on.
    pub waits_on: WaitOn,
    /// Where it waits.
    pub site: SourceLocation,
    /// User frames at the wait, when backtraces are on.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub backtrace: Vec<Frame>,
}

impl BlockedThread {
    /// What the thread waits for, in words: "a notification of `queue`
    /// (condition variable)", "a message on …", "room on …", "the rest of
    /// …'s threads", "the end of thread …", "`l` (lock)".
    pub fn waits_for(&self) -> String {
        match self.waits_on.kind {
            WaitOnKind::Lock | WaitOnKind::Join => self.waits_on.to_string(),
            WaitOnKind::Condvar => format!("a notification of {}", self.waits_on),
            WaitOnKind::Receive => format!("a message on {}", self.waits_on),
            WaitOnKind::Send => format!("room on {} (a receive)", self.waits_on),
            WaitOnKind::Barrier => format!("the rest of the threads of {}", self.waits_on),
        }
    }
}

/// A shared variable as a report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VarRef {
    /// Process-unique id.
    pub id: u64,
    /// The name given in the program, if any.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name: Option<String>,
    /// Where the variable was created.
    pub created: SourceLocation,
}

impl From<&event::VarInfo> for VarRef {
    fn from(v: &event::VarInfo) -> Self {
        VarRef {
            id: v.id.0,
            name: v.name.as_deref().map(str::to_owned),
            created: v.created.into(),
        }
    }
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "`{}`", name),
            None => write!(f, "shared variable created at {}", self.created),
        }
    }
}

/// One access of a data race: who, read or write, where, holding what.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccessNote {
    /// The accessing thread.
    pub thread: ThreadRef,
    /// Read or write.
    pub kind: event::AccessKind,
    /// Where.
    pub site: SourceLocation,
    /// Locks held at the access (ThreadSanitizer's "mutexes:" line).
    pub held: Vec<HeldRef>,
    /// Part of a read-modify-write (`Shared::update`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub in_update: bool,
    /// User frames, when captured (the current access only).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub backtrace: Vec<Frame>,
}

/// A labelled site: one event of a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SiteNote {
    /// What happened there ("acquired", "released", …).
    pub label: String,
    /// Where.
    pub site: SourceLocation,
    /// Thread it happened in.
    pub thread: ThreadRef,
}

/// One thing lockcheck found. Rendered by [`crate::report`] in every format.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// One line, for a person.
    pub summary: String,
    /// The same `key` means the same finding (same sites); repeated
    /// detections add to `count` instead of adding findings.
    pub key: String,
    /// How many times it was detected.
    pub count: u64,
    /// Threads involved.
    pub threads: Vec<ThreadRef>,
    /// Locks involved.
    pub locks: Vec<LockRef>,
    /// Deadlock and self-deadlock: each thread with what it holds and waits for.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub waits: Vec<ThreadWait>,
    /// Deadlock: every blocked thread, whatever it waits on (a lock, a
    /// condition variable, a channel, a join, a barrier).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub blocked: Vec<BlockedThread>,
    /// Lock-order cycle, or the order edges behind a deadlock.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub cycle: Option<CycleDetail>,
    /// Data race: the variable.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub variable: Option<VarRef>,
    /// Data race: the two accesses, the one that found the race first.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub accesses: Vec<AccessNote>,
    /// Other participating events, each a labelled site (lock misuse: where
    /// the lock was taken and never released).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub events: Vec<SiteNote>,
    /// Free-form notes ("a plain read re-entered while a writer may wait", …).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub notes: Vec<String>,
    /// Silenced by a suppressions file, with its reason: still reported and
    /// counted, no longer failing.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub suppressed: Option<String>,
}

impl Finding {
    /// A finding with a summary and a dedup key and nothing else yet.
    pub fn new(kind: FindingKind, summary: String, key: String) -> Self {
        Finding {
            kind,
            summary,
            key,
            count: 1,
            threads: Vec::new(),
            locks: Vec::new(),
            waits: Vec::new(),
            blocked: Vec::new(),
            cycle: None,
            variable: None,
            accesses: Vec::new(),
            events: Vec::new(),
            notes: Vec::new(),
            suppressed: None,
        }
    }

    /// Whether this finding fails a run. A lock-order cycle guarded by a gate
    /// lock cannot deadlock, so it fails only when `strict`.
    pub fn is_failing(&self, strict: bool) -> bool {
        // A hang snapshot says what a program that did not end was doing;
        // the timeout that asked for it decides the run's status.
        self.kind != FindingKind::Hang
            && self.suppressed.is_none()
            && (strict || !self.is_guarded())
    }

    /// A lock-order cycle that a gate lock makes harmless.
    pub fn is_guarded(&self) -> bool {
        self.kind == FindingKind::LockOrderCycle
            && self.cycle.as_ref().is_some_and(|c| c.guarded_by.is_some())
    }

    /// Every source location the finding names, in order of appearance.
    pub fn sites(&self) -> Vec<&SourceLocation> {
        let mut out = Vec::new();
        for w in &self.waits {
            out.push(&w.site);
            out.extend(w.holds.iter().map(|h| &h.site));
        }
        // The lock waits are in `waits` already.
        for b in self
            .blocked
            .iter()
            .filter(|b| b.waits_on.kind != WaitOnKind::Lock)
        {
            out.push(&b.site);
            out.extend(b.holds.iter().map(|h| &h.site));
        }
        out.extend(self.accesses.iter().map(|a| &a.site));
        out.extend(self.events.iter().map(|e| &e.site));
        if let Some(c) = &self.cycle {
            for e in &c.edges {
                out.push(&e.from_site);
                out.push(&e.to_site);
                if let Some(w) = &e.wait {
                    out.push(&w.wait_site);
                    out.push(&w.wake_site);
                }
            }
        }
        out
    }

    fn lock_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.locks.iter().map(|l| l.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The key of the line a process appends to the report file
/// (`LOCKCHECK_REPORT`) when it starts being checked, beside the findings:
/// `{"lockcheck-process":{"pid":4242,"version":"0.1.0"}}`. A run in which no
/// process wrote one checked nothing.
pub const ANNOUNCEMENT_KEY: &str = "lockcheck-process";

/// What a process says of itself when it starts being checked (see
/// [`ANNOUNCEMENT_KEY`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Announcement {
    /// Its process id.
    pub pid: u32,
    /// The version of the lockcheck library it is built with.
    pub version: String,
}

/// The key of the line a process appends to the report file when it meets
/// something it cannot check (a lockcheck::tokio lock in a task it does not
/// see, a thread holding more locks than it tracks), beside the findings:
/// `{"lockcheck-unchecked":{"pid":4242,"what":"…"}}`. A run with such a
/// line has not earned "no findings": `lockcheck run` says what was not
/// checked and exits 2.
pub const UNCHECKED_KEY: &str = "lockcheck-unchecked";

/// What a process says it could not check (see [`UNCHECKED_KEY`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Unchecked {
    /// Its process id.
    pub pid: u32,
    /// What was not checked, and how to have it checked, in one line.
    pub what: String,
}

/// Findings of one run, deduplicated: the same finding seen again adds to its
/// count, and a lock-order cycle that really deadlocked is folded into the
/// `deadlock` finding, so the user reads one finding, not two.
///
/// Every look-up is by hashing (the key, the set of locks), so adding a
/// finding costs the same whether the set holds ten findings or a hundred
/// thousand: a trace with many races is analysed in time linear in its
/// events and findings.
#[derive(Clone, Debug, Default)]
pub struct FindingSet {
    /// In the order first seen; `None` where a cycle was folded into a
    /// deadlock found after it.
    findings: Vec<Option<Finding>>,
    /// Live findings by key.
    by_key: FxHashMap<String, usize>,
    /// The first `deadlock` finding over each set of locks.
    deadlocks: FxHashMap<Vec<u64>, usize>,
    /// Live `lock-order-cycle` findings over each set of locks.
    cycles: FxHashMap<Vec<u64>, Vec<usize>>,
    /// Entries looked at by every `add` so far (see [`FindingSet::work`]).
    work: u64,
}

impl FindingSet {
    /// An empty set.
    pub fn new() -> Self {
        FindingSet::default()
    }

    /// How much merging the findings took: one for each finding added, plus
    /// every kept cycle, thread and lock compared while merging it. A count
    /// of work, not a time, so that a test can show the merge stays linear
    /// in the findings (each add looks at a bounded number of entries,
    /// however many findings the set holds).
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Adds a finding; returns true when it was new (not merged into another).
    ///
    /// ```
    /// # use lockcheck::finding::*;
    /// # fn f(key: &str) -> Finding { Finding::new(FindingKind::LockMisuse, String::new(), key.into()) }
    /// let mut set = FindingSet::new();
    /// assert!(set.add(f("a")));
    /// assert!(!set.add(f("a")));
    /// assert_eq!(set.findings().next().map(|f| f.count), Some(2));
    /// ```
    pub fn add(&mut self, finding: Finding) -> bool {
        self.work += 1;
        if let Some(existing) = self
            .by_key
            .get(&finding.key)
            .and_then(|i| self.findings[*i].as_mut())
        {
            existing.count += finding.count;
            // A cycle first seen under a gate and later without it is no
            // longer guarded: keep the stronger verdict.
            let mut kept_other = false;
            if let (Some(old), Some(new)) = (&mut existing.cycle, &finding.cycle) {
                if old.guarded_by.is_some() && new.guarded_by.is_none() {
                    old.guarded_by = None;
                }
                old.single_thread &= new.single_thread;
                old.ordered_by_happens_before &= new.ordered_by_happens_before;
                self.work += 1 + (old.other_cycles.len() + new.other_cycles.len()) as u64;
                kept_other = old.keep_other(new);
            }
            if kept_other {
                // The other cycle's threads and locks are the finding's too;
                // a deadlock over its locks folds the finding in as well.
                let (index, ids) = (self.by_key[&finding.key], finding.lock_ids());
                self.work += ((existing.threads.len() + 1) * finding.threads.len()
                    + (existing.locks.len() + 1) * finding.locks.len())
                    as u64;
                for t in finding.threads {
                    if !existing.threads.iter().any(|e| e.id == t.id) {
                        existing.threads.push(t);
                    }
                }
                for l in finding.locks {
                    if !existing.locks.iter().any(|e| e.id == l.id) {
                        existing.locks.push(l);
                    }
                }
                if existing.kind == FindingKind::LockOrderCycle && !ids.is_empty() {
                    self.cycles.entry(ids).or_default().push(index);
                }
            }
            return false;
        }
        match finding.kind {
            FindingKind::LockOrderCycle => {
                let ids = finding.lock_ids();
                if !ids.is_empty() {
                    if let Some(deadlock) = self
                        .deadlocks
                        .get(&ids)
                        .and_then(|i| self.findings[*i].as_mut())
                    {
                        absorb_cycle(deadlock, finding);
                        return false;
                    }
                    self.cycles
                        .entry(ids)
                        .or_default()
                        .push(self.findings.len());
                }
                self.push(finding);
            }
            FindingKind::Deadlock => {
                let ids = finding.lock_ids();
                let mut deadlock = finding;
                if !ids.is_empty() {
                    let absorbed = self.cycles.remove(&ids).unwrap_or_default();
                    self.work += absorbed.len() as u64;
                    for i in absorbed {
                        if let Some(cycle) = self.findings[i].take() {
                            self.by_key.remove(&cycle.key);
                            absorb_cycle(&mut deadlock, cycle);
                        }
                    }
                    self.deadlocks.entry(ids).or_insert(self.findings.len());
                }
                self.push(deadlock);
            }
            _ => self.push(finding),
        }
        true
    }

    fn push(&mut self, finding: Finding) {
        self.by_key
            .entry(finding.key.clone())
            .or_insert(self.findings.len());
        self.findings.push(Some(finding));
    }

    /// Where the live finding with `key` is, for [`Self::repeat`].
    #[cfg(feature = "checks")]
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.by_key
            .get(key)
            .copied()
            .filter(|i| self.findings[*i].is_some())
    }

    /// Counts the finding at `at` (from [`Self::position`]) once more, as
    /// adding an identical finding would (one more repeat, one more unit
    /// of work); false when it is no longer there.
    #[cfg(feature = "checks")]
    pub(crate) fn repeat(&mut self, at: usize) -> bool {
        match self.findings.get_mut(at).and_then(Option::as_mut) {
            Some(finding) => {
                self.work += 1;
                finding.count += 1;
                true
            }
            None => false,
        }
    }

    /// The findings, in the order first seen.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().flatten()
    }

    /// Takes the findings out.
    pub fn into_vec(self) -> Vec<Finding> {
        self.findings.into_iter().flatten().collect()
    }
}

/// The deadlock keeps its waits; the cycle's edges (with their first-seen
/// sites) are what a person needs to fix the order, so they move over.
fn absorb_cycle(deadlock: &mut Finding, cycle: Finding) {
    if deadlock.cycle.is_none() {
        deadlock.cycle = cycle.cycle;
    }
    for t in cycle.threads {
        if !deadlock.threads.iter().any(|d| d.id == t.id) {
            deadlock.threads.push(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(id: u64) -> LockRef {
        LockRef {
            id,
            kind: LockKind::Mutex,
            name: None,
            created: SourceLocation {
                file: "a.rs".into(),
                line: 1,
                column: 1,
            },
        }
    }

    fn over(kind: FindingKind, key: &str, locks: &[u64], thread: u64) -> Finding {
        let mut f = Finding::new(kind, String::new(), key.into());
        f.locks = locks.iter().map(|id| lock(*id)).collect();
        f.threads = vec![ThreadRef {
            id: thread,
            name: None,
            task: false,
        }];
        f
    }

    fn keys(set: &FindingSet) -> Vec<(&str, u64)> {
        set.findings().map(|f| (f.key.as_str(), f.count)).collect()
    }

    #[test]
    fn a_cycle_is_folded_into_the_deadlock_over_its_locks_in_either_order() {
        use FindingKind::*;
        let mut set = FindingSet::new();
        assert!(set.add(over(DataRace, "race", &[], 1)));
        assert!(set.add(over(LockOrderCycle, "cycle 1-2", &[2, 1], 1)));
        assert!(set.add(over(LockOrderCycle, "cycle 1-3", &[1, 3], 1)));
        assert!(set.add(over(Deadlock, "deadlock 1-2", &[1, 2], 2)));
        // The cycle is gone into the deadlock, the others keep their places.
        assert_eq!(
            keys(&set),
            [("race", 1), ("cycle 1-3", 1), ("deadlock 1-2", 1)]
        );
        let deadlock = set.findings().last().expect("the deadlock");
        let threads: Vec<u64> = deadlock.threads.iter().map(|t| t.id).collect();
        assert_eq!(threads, [2, 1], "the cycle's thread joins the deadlock's");
        // The same cycle again, after its deadlock: folded, not new.
        assert!(!set.add(over(LockOrderCycle, "cycle 1-2", &[1, 2], 3)));
        assert!(!set.add(over(DataRace, "race", &[], 1)));
        assert_eq!(
            keys(&set),
            [("race", 2), ("cycle 1-3", 1), ("deadlock 1-2", 1)]
        );
        // A finding with no locks is never folded.
        assert!(set.add(over(LockOrderCycle, "empty", &[], 1)));
        assert!(set.add(over(Deadlock, "empty deadlock", &[], 1)));
        assert_eq!(set.into_vec().len(), 5);
    }

    /// A lock-order cycle finding over `ids` in cycle order, taken by
    /// `thread`, every edge at the same two sites.
    fn cycle_over(ids: &[u64], thread: u64) -> Finding {
        let mut f = over(FindingKind::LockOrderCycle, "same sites", ids, thread);
        let site = lock(0).created;
        let edges = (0..ids.len())
            .map(|i| OrderEdge {
                from: lock(ids[i]),
                to: lock(ids[(i + 1) % ids.len()]),
                from_site: site.clone(),
                to_site: site.clone(),
                held_mode: AcquireMode::Exclusive,
                acquire_mode: AcquireMode::Exclusive,
                thread: f.threads[0].clone(),
                backtrace: Vec::new(),
                wait: None,
            })
            .collect();
        f.cycle = Some(CycleDetail {
            edges,
            other_cycles: Vec::new(),
            guarded_by: None,
            single_thread: false,
            ordered_by_happens_before: false,
        });
        f
    }

    #[test]
    fn a_cycle_over_other_locks_at_the_same_sites_joins_with_its_edges_and_threads() {
        let mut set = FindingSet::new();
        assert!(set.add(cycle_over(&[1, 2, 3], 1)));
        assert!(!set.add(cycle_over(&[2, 1], 2)));
        // The same cycle again adds to the count, not to the cycles.
        assert!(!set.add(cycle_over(&[1, 2], 3)));
        let f = set.findings().next().expect("one finding");
        assert_eq!(f.count, 3);
        let c = f.cycle.as_ref().expect("a cycle");
        let lengths: Vec<usize> = c.cycles().map(<[_]>::len).collect();
        assert_eq!(lengths, [3, 2]);
        let threads: Vec<u64> = f.threads.iter().map(|t| t.id).collect();
        assert_eq!(
            threads,
            [1, 2],
            "the thread of a cycle kept, not of a repeat"
        );
        // A deadlock over the second cycle's locks folds the finding in.
        assert!(set.add(over(FindingKind::Deadlock, "deadlock", &[1, 2], 4)));
        assert_eq!(keys(&set), [("deadlock", 1)]);
        // Past the cap, only the count grows.
        let mut set = FindingSet::new();
        assert!(set.add(cycle_over(&[100, 101], 1)));
        for i in 0..2 * MAX_OTHER_CYCLES as u64 {
            set.add(cycle_over(&[2 * i, 2 * i + 1], 1));
        }
        let f = set.findings().next().expect("one finding");
        assert_eq!(f.count, 1 + 2 * MAX_OTHER_CYCLES as u64);
        let kept = f.cycle.as_ref().map(|c| c.other_cycles.len());
        assert_eq!(kept, Some(MAX_OTHER_CYCLES));
    }
}
