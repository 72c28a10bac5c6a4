//! The event model: the one contract between instrumentation, trace readers,
//! detectors and reports.
//!
//! Everything here is small, and `Copy` or cheap to clone without
//! allocating (a lock's or variable's [`Name`] is static in the live
//! runtime, shared in a trace's), so that the live runtime can keep it in
//! thread-local stacks, and a trace reader can build the same values from
//! text.

use std::fmt;
use std::panic::Location;

/// Identity of a thread, unique for the life of the process (never reused).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ThreadId(pub u64);

/// Identity of a lock instance, unique for the life of the process (never
/// reused, so a dropped lock can never be confused with a new one).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LockId(pub u64);

/// A source location: where a lock was created or acquired.
///
/// ```
/// let site = lockcheck::event::Site::caller();
/// assert!(site.file.ends_with(".rs"));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    /// Source file, as the compiler names it (relative to the crate root).
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Site {
    /// The site of the caller (through any chain of `#[track_caller]` functions).
    #[track_caller]
    pub fn caller() -> Site {
        Site::from(Location::caller())
    }
}

impl From<&'static Location<'static>> for Site {
    fn from(loc: &'static Location<'static>) -> Site {
        Site {
            file: loc.file(),
            line: loc.line(),
            column: loc.column(),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", shown_path(self.file), self.line, self.column)
    }
}

/// A source path as a person reads it in a report: a dependency's file,
/// which rustc names by its absolute path in cargo's home
/// (`/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/r2d2-0.8.10/src/lib.rs`,
/// or a git checkout's), is shown from its crate's directory
/// (`r2d2-0.8.10/src/lib.rs`); every other path as it is. Machine formats
/// (JSON, SARIF) keep the whole path.
///
/// ```
/// use lockcheck::event::shown_path;
/// assert_eq!(
///     shown_path("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/r2d2-0.8.10/src/lib.rs"),
///     "r2d2-0.8.10/src/lib.rs"
/// );
/// assert_eq!(shown_path("/u/.cargo/git/checkouts/lockcheck-3f1c/ab12cd3/src/lib.rs"), "lockcheck-3f1c/ab12cd3/src/lib.rs");
/// assert_eq!(shown_path("src/main.rs"), "src/main.rs");
/// ```
pub fn shown_path(file: &str) -> &str {
    let (registry, git) = dir_markers(file);
    for (found, marker, skip) in [(registry, REGISTRY, 1), (git, GIT_CHECKOUTS, 0)] {
        if let Some(at) = found {
            let rest = &file[at + marker.len()..];
            // Skip the registry's index directory, then show the crate's.
            let mut parts = rest.splitn(skip + 1, '/');
            let shown = parts.nth(skip).unwrap_or(rest);
            if !shown.is_empty() {
                return shown;
            }
        }
    }
    file
}

/// Where cargo keeps registry crates' sources, in a path.
const REGISTRY: &str = "/registry/src/";
/// Where cargo keeps git dependencies' checkouts, in a path.
const GIT_CHECKOUTS: &str = "/git/checkouts/";

/// `(file.find(REGISTRY), file.find(GIT_CHECKOUTS))`, in one pass over the
/// path: both markers start with a slash, so only the slashes are tried,
/// and by the byte after them. Reports show a path per site, a million
/// times on a trace with tens of thousands of findings, where setting up
/// `str::find`'s searcher for the two markers cost about 540 instructions
/// a path (callgrind, issue 16's trace of 1M events, text report), and a
/// pass over the slashes for each marker about 170.
fn dir_markers(file: &str) -> (Option<usize>, Option<usize>) {
    let bytes = file.as_bytes();
    let (mut registry, mut git) = (None, None);
    for (at, b) in bytes.iter().enumerate() {
        if *b != b'/' {
            continue;
        }
        match bytes.get(at + 1) {
            Some(b'r') if registry.is_none() && bytes[at..].starts_with(REGISTRY.as_bytes()) => {
                registry = Some(at);
            }
            Some(b'g') if git.is_none() && bytes[at..].starts_with(GIT_CHECKOUTS.as_bytes()) => {
                git = Some(at);
            }
            _ => {}
        }
    }
    (registry, git)
}

/// What kind of lock a lock id names; decides which re-acquisitions are legal.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum LockKind {
    /// Exclusive, non-reentrant (`lockcheck::Mutex`).
    Mutex,
    /// Reader-writer lock (`lockcheck::RwLock`).
    RwLock,
    /// Exclusive, reentrant: its owner may lock it again (`lockcheck::ReentrantMutex`).
    ReentrantMutex,
    /// An async mutex (`lockcheck::tokio::Mutex`): awaited, not blocked on,
    /// so holding it across an `.await` blocks no thread.
    AsyncMutex,
    /// An async reader-writer lock (`lockcheck::tokio::RwLock`), fair as
    /// tokio's: a read waits behind a queued writer.
    AsyncRwLock,
}

impl LockKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwLock => "rwlock",
            LockKind::ReentrantMutex => "reentrant mutex",
            LockKind::AsyncMutex => "async mutex",
            LockKind::AsyncRwLock => "async rwlock",
        }
    }

    /// Whether the lock is awaited rather than blocked on: a task may hold
    /// it across an `.await` without blocking its thread.
    pub fn is_async(self) -> bool {
        matches!(self, LockKind::AsyncMutex | LockKind::AsyncRwLock)
    }
}

/// The mode a lock is acquired (and then held) in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum AcquireMode {
    /// Exclusive: `Mutex::lock`, `RwLock::write`, `ReentrantMutex::lock`.
    Exclusive,
    /// Shared, queued behind waiting writers: `RwLock::read`.
    Read,
    /// Shared, never queued behind writers while readers hold the lock:
    /// `RwLock::read_recursive`.
    RecursiveRead,
    /// Shared with readers, exclusive with writers and other upgradable
    /// readers: `RwLock::upgradable_read`.
    Upgradable,
}

impl AcquireMode {
    /// True when a lock held in `held` mode by one thread keeps another thread
    /// from acquiring it in `self` mode.
    ///
    /// ```
    /// use lockcheck::event::AcquireMode::*;
    /// assert!(Exclusive.blocked_by(Read));
    /// assert!(!Read.blocked_by(Read));
    /// assert!(Upgradable.blocked_by(Upgradable));
    /// ```
    pub fn blocked_by(self, held: AcquireMode) -> bool {
        use AcquireMode::*;
        match self {
            Exclusive => true,
            Read | RecursiveRead => held == Exclusive,
            Upgradable => matches!(held, Exclusive | Upgradable),
        }
    }

    /// Held as a shared (reader) lock, in lockdep's sense.
    pub fn is_shared(self) -> bool {
        matches!(self, AcquireMode::Read | AcquireMode::RecursiveRead)
    }

    /// Acquired as a recursive read, in lockdep's sense: it never waits for a
    /// writer while readers hold the lock.
    pub fn is_recursive_read(self) -> bool {
        self == AcquireMode::RecursiveRead
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AcquireMode::Exclusive => "exclusive",
            AcquireMode::Read => "read",
            AcquireMode::RecursiveRead => "recursive read",
            AcquireMode::Upgradable => "upgradable read",
        }
    }
}

/// The name of a lock or variable.
///
/// Names code gives (`Mutex::named("fork")`, or interned by `with_name`)
/// are static; names read from a trace are shared, and go away with the
/// last lock, variable or detector state that has them, so that an
/// analysis's memory follows the live locks and variables, not every name
/// the trace ever declared.
///
/// ```
/// use lockcheck::event::Name;
/// let a = Name::from("fork");
/// let b = Name::shared("fork");
/// assert_eq!(a, b);
/// assert_eq!(&*b, "fork");
/// ```
#[derive(Clone, Debug)]
pub enum Name {
    /// A name that lives as long as the program.
    Static(&'static str),
    /// A name read from a trace.
    Shared(std::sync::Arc<str>),
}

impl Name {
    /// A shared copy of `name`.
    pub fn shared(name: &str) -> Name {
        Name::Shared(std::sync::Arc::from(name))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Name {
        Name::Static(name)
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// A lock as the detectors see it: identity, kind, and how a person knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// The instance.
    pub id: LockId,
    /// Mutex, rwlock or reentrant mutex.
    pub kind: LockKind,
    /// The name given with `named`/`with_name`, if any.
    pub name: Option<Name>,
    /// Where the lock was created.
    pub created: Site,
}

impl LockInfo {
    /// The lock's class: its name if it has one, else its creation site.
    /// Locks of one class are one node when order is checked on classes
    /// (lockdep's view), so that forks made in one loop form one class.
    pub fn class_key(&self) -> u64 {
        match &self.name {
            Some(name) => fnv1a(name.as_bytes(), 0x6e61_6d65),
            None => {
                let h = fnv1a(self.created.file.as_bytes(), 0x7369_7465);
                fnv1a(
                    &((self.created.line as u64) << 32 | self.created.column as u64).to_le_bytes(),
                    h,
                )
            }
        }
    }
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A thread as reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Process-unique id.
    pub id: ThreadId,
    /// The name std gave the thread (`main`, or `Builder::name`), if any.
    /// Shared, so that the slow path can copy a thread's identity cheaply.
    pub name: Option<std::sync::Arc<str>>,
    /// An async task (`lockcheck::tokio`'s), not an OS thread: it holds
    /// locks as a thread does, and reports call it a task.
    pub task: bool,
}

/// One lock a thread holds: which, in what mode, acquired where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLock {
    /// The lock.
    pub lock: LockInfo,
    /// The mode it is held in.
    pub mode: AcquireMode,
    /// Where it was acquired.
    pub site: Site,
}

/// How an acquisition was attempted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Attempt {
    /// Waits until the lock is free: may deadlock, adds lock-order edges.
    Blocking,
    /// `try_lock` or a timed `try_lock_for`: gives up instead of waiting
    /// forever, so it adds no edge into the tried lock (lockdep's rule).
    Try,
}

/// Identity of a shared variable (`lockcheck::Shared`), unique for the life
/// of the process.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VarId(pub u64);

/// A shared variable as the detectors see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarInfo {
    /// The variable.
    pub id: VarId,
    /// The name given with `named`, if any.
    pub name: Option<Name>,
    /// Where it was created.
    pub created: Site,
}

/// Whether an access reads or writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum AccessKind {
    /// Reads the value.
    Read,
    /// Writes the value.
    Write,
}

impl AccessKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
        }
    }
}

/// One thing a thread did that a detector cares about. The live runtime and
/// the trace readers produce the same events; [`crate::analysis::Analyzer`]
/// feeds them to every detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A thread asks for a lock (STD's `req`): it may block from here on.
    Request {
        /// The asking thread.
        thread: ThreadId,
        /// The lock.
        lock: LockInfo,
        /// The mode asked for.
        mode: AcquireMode,
        /// Where.
        site: Site,
    },
    /// A thread acquired a lock.
    Acquire {
        /// The acquiring thread.
        thread: ThreadId,
        /// The lock.
        lock: LockInfo,
        /// The mode it is now held in.
        mode: AcquireMode,
        /// A blocking acquire or a try.
        attempt: Attempt,
        /// Where.
        site: Site,
    },
    /// A thread released a lock.
    Release {
        /// The releasing thread.
        thread: ThreadId,
        /// The lock.
        lock: LockInfo,
        /// Where.
        site: Site,
    },
    /// A thread read a shared variable.
    Read {
        /// The reading thread.
        thread: ThreadId,
        /// The variable.
        var: VarInfo,
        /// Where.
        site: Site,
        /// The read half of a non-atomic read-modify-write
        /// (`Shared::update`): a race on it can lose an update.
        update: bool,
    },
    /// A thread wrote a shared variable.
    Write {
        /// The writing thread.
        thread: ThreadId,
        /// The variable.
        var: VarInfo,
        /// Where.
        site: Site,
        /// The write half of a non-atomic read-modify-write.
        update: bool,
    },
    /// A variable must only be accessed while holding `lock`
    /// (`Shared::guarded_by`): an access without it is reported at once.
    GuardedBy {
        /// The variable.
        var: VarInfo,
        /// Its guard.
        lock: LockInfo,
    },
    /// A thread started another.
    Spawn {
        /// The parent.
        parent: ThreadId,
        /// The child.
        child: ThreadId,
        /// Where.
        site: Site,
    },
    /// A thread waited for another to end.
    Join {
        /// The joiner.
        parent: ThreadId,
        /// The thread that ended.
        child: ThreadId,
        /// Where.
        site: Site,
    },
    /// A thread waits on a condition, releasing `lock` while it waits
    /// (Java's `wait(l)`, a `Condvar::wait`); it holds the lock again at its
    /// next event, ordered after every notification of the condition.
    Wait {
        /// The waiting thread.
        thread: ThreadId,
        /// The lock released while waiting (Java: the monitor).
        lock: LockInfo,
        /// The condition waited on: the monitor's id in Java, a `Condvar`'s
        /// own id (drawn from the same counter as lock ids) in Rust.
        condition: LockId,
        /// Where.
        site: Site,
        /// The wait has a timeout (`wait_for`, `wait_until`): it ends by
        /// itself, so it is no hold-and-wait (a trace that cannot say, as
        /// STD, records untimed waits).
        timed: bool,
    },
    /// A thread arrived at a barrier of `parties` threads (`Barrier::wait`):
    /// the round's last arrival lets every thread of it go on, each ordered
    /// after every arrival of the round.
    Arrive {
        /// The arriving thread.
        thread: ThreadId,
        /// The barrier (its id, drawn from the same counter as lock ids).
        barrier: LockId,
        /// How many threads a round takes.
        parties: u64,
        /// Where.
        site: Site,
    },
    /// A thread notified waiters of a condition.
    Notify {
        /// The notifying thread.
        thread: ThreadId,
        /// The condition (see [`Event::Wait`]).
        condition: LockId,
        /// Where.
        site: Site,
    },
    /// A thread changed the mode of a lock it holds, without releasing it:
    /// an upgradable read upgraded to a write, a write downgraded to a read.
    ChangeMode {
        /// The thread.
        thread: ThreadId,
        /// The lock.
        lock: LockInfo,
        /// The mode it was held in.
        from: AcquireMode,
        /// The mode it is held in now.
        to: AcquireMode,
        /// Where.
        site: Site,
    },
    /// A thread sent a message on a channel.
    Send {
        /// The sender.
        thread: ThreadId,
        /// The message's process-unique id.
        message: u64,
        /// Where.
        site: Site,
    },
    /// A thread received a message: ordered after its send.
    Receive {
        /// The receiver.
        thread: ThreadId,
        /// The message's id.
        message: u64,
        /// Where.
        site: Site,
        /// The receive could wait for the message (`recv`, a receiver's
        /// iterator), rather than give up (`try_recv`, `recv_timeout`): a
        /// lock held across it is a hold-and-wait.
        blocking: bool,
    },
    /// A thread's send found its bounded channel full: it waits for room
    /// until its next [`Event::Send`] (a lock held across the wait is a
    /// hold-and-wait on the receive that makes the room).
    RoomWait {
        /// The sender.
        thread: ThreadId,
        /// The channel (its id, drawn from the same counter as lock ids).
        channel: LockId,
        /// Where.
        site: Site,
    },
    /// A thread's receive made room in a bounded channel whose senders
    /// wait for it ([`Event::RoomWait`]).
    RoomMade {
        /// The receiver.
        thread: ThreadId,
        /// The channel.
        channel: LockId,
        /// Where.
        site: Site,
    },
    /// A task yielded: its poll returned `Pending` at an `.await`
    /// (`lockcheck::tokio::instrument`). A blocking lock it holds then is
    /// held across the `.await`.
    Yield {
        /// The task.
        thread: ThreadId,
        /// Where the task was spawned or instrumented.
        site: Site,
    },
    /// A thread ended. Locks it still holds were leaked (a guard forgotten
    /// with `mem::forget`) and stay locked forever.
    End {
        /// The thread.
        thread: ThreadId,
    },
    /// A lock was dropped: its id is never used again, so the detectors can
    /// forget it (memory follows the live locks, as in the live runtime).
    LockDropped {
        /// The dropping thread.
        thread: ThreadId,
        /// The lock.
        lock: LockInfo,
    },
    /// A shared variable was dropped: the detectors forget it.
    VarDropped {
        /// The dropping thread.
        thread: ThreadId,
        /// The variable.
        var: VarInfo,
    },
    /// The recording this trace comes from is incomplete: the program was
    /// killed before it finished it, so each thread's lines may stop short
    /// of what it did (each thread's lines are still a prefix of its run).
    /// Written at the start of such a trace.
    Incomplete,
    /// A thread names itself (a trace's thread table).
    ThreadName {
        /// The thread.
        thread: ThreadId,
        /// Its name.
        name: std::sync::Arc<str>,
    },
}

impl Event {
    /// A read or a write of `var` by `thread`, as `kind` says (the drivers
    /// that know the kind only as a value build accesses here).
    pub fn access(
        kind: AccessKind,
        thread: ThreadId,
        var: VarInfo,
        site: Site,
        update: bool,
    ) -> Event {
        match kind {
            AccessKind::Read => Event::Read {
                thread,
                var,
                site,
                update,
            },
            AccessKind::Write => Event::Write {
                thread,
                var,
                site,
                update,
            },
        }
    }
}

/// Whether lock order is checked between lock instances or lock classes
/// (a setting of the lock-order detector, [`crate::config`]'s
/// `set_order_granularity`; here because it is a way of keying locks, and
/// settings exist with the `checks` feature off too).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderGranularity {
    /// Each lock instance is a node (the default: no false cycles between
    /// instances of one class that are never used together).
    #[default]
    Instance,
    /// Locks of one class (same name, or same creation site) are one node,
    /// as in Linux lockdep: finds cycles between instances never seen together.
    Class,
}

/// A waitable primitive without an owner, by what a thread waits on it for
/// (the wait-for graph's `WaitTarget`s; here, as the wrappers name their
/// waits with the `checks` feature off too).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WaitKind {
    /// A notification of a condition variable.
    Condvar,
    /// A message on a channel (`recv`, a receiver's iterator).
    Receive,
    /// Room on a full bounded channel (`send` on a `sync_channel`).
    Send,
    /// The rest of a barrier's threads.
    Barrier,
}

impl WaitKind {
    /// The primitive's name in reports ("condition variable", "channel",
    /// "barrier").
    pub fn primitive(self) -> &'static str {
        match self {
            WaitKind::Condvar => "condition variable",
            WaitKind::Receive | WaitKind::Send => "channel",
            WaitKind::Barrier => "barrier",
        }
    }

    /// What a thread in this wait waits for, as reports say it.
    pub fn waits_for(self) -> &'static str {
        match self {
            WaitKind::Condvar => "a notification",
            WaitKind::Receive => "a message",
            WaitKind::Send => "room (a receive)",
            WaitKind::Barrier => "the rest of its threads",
        }
    }
}

/// What ended a wait that a lock was held across (a hold-and-wait edge of
/// the lock-order graph): the waker's notification, message or end.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum WokenBy {
    /// A condition variable's (or Java monitor's) notification.
    Notify,
    /// A message received: its send.
    Message,
    /// A join: the joined thread's end.
    End,
    /// A barrier: the other threads' arrivals.
    Arrival,
    /// A bounded channel's room: the receive that took a message.
    Room,
}

impl WokenBy {
    /// The stable id, as in report files.
    pub fn as_str(self) -> &'static str {
        match self {
            WokenBy::Notify => "notify",
            WokenBy::Message => "message",
            WokenBy::End => "end",
            WokenBy::Arrival => "arrival",
            WokenBy::Room => "room",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{dir_markers, GIT_CHECKOUTS, REGISTRY};

    #[test]
    fn the_marker_search_finds_what_str_find_does() {
        let paths = [
            "",
            "/",
            "src/main.rs",
            "/registry/src/",
            "registry/src/x",
            "//registry/src/a/b",
            "/a/registry/src/registry/src/b",
            "/u/.cargo/git/checkouts/x/y/src/lib.rs",
            "/git/checkouts/registry/src/git/checkouts/",
            "/registry/sr/registry/src/",
            "/gi/git/checkout/git/checkouts/",
            "é/registry/src/é",
            "/tmp/an/issue16.std",
        ];
        for path in paths {
            assert_eq!(
                dir_markers(path),
                (path.find(REGISTRY), path.find(GIT_CHECKOUTS)),
                "{path}"
            );
        }
    }
}
