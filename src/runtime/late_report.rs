//! Reports symbolised after the hang they describe is broken.
//!
//! A thread that breaks a hang (a deadlock, a certain self-deadlock), or
//! that reports just before it blocks, holds locks other threads wait for:
//! every moment it spends before its panic or its wait keeps them stuck.
//! Symbolising backtraces is the slow part of a report (the first
//! symbolisation in a process loads the program's debug information: a
//! tenth of a second for a small debug build here, seconds on a loaded
//! machine), so such a thread hands its finding over with its stacks
//! unresolved and goes on at once: its panic message carries the finding
//! made without frames, and a reporter thread symbolises the full one and
//! records it (report file, [`crate::findings`], stderr by the policy).
//!
//! The reporter starts on a finding only once the thread that handed it
//! over is out of the way ([`Gate`]): past the wait it was about to enter,
//! or unwinding from the panic that breaks the hang. Before that, that
//! thread may still be in the panic hook, which under `RUST_BACKTRACE`
//! symbolises a backtrace of its own: two symbolisations at once on a
//! loaded machine would slow the hook, and the break, down.
//!
//! Nothing handed over is lost: [`crate::findings`] and its kin, the exit of
//! a thread that handed something over and the exit of the process wait for
//! the reporter, up to [`LIMIT`]; past it, what is left is recorded without
//! its frames.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use crate::raw::{Condvar, Mutex};

use crate::detect::lock_order::Cycle;
use crate::finding::Finding;
use crate::runtime::policy;
use crate::stack::CallStack;

/// Longest wait for the reporter before a finding is recorded without its
/// frames: far beyond any symbolisation measured (3 s under load).
const LIMIT: Duration = Duration::from_secs(20);

/// Longest the reporter waits for a [`Gate`] to open (a panic hook that
/// never returns must not keep the report from being made).
const GATE_LIMIT: Duration = Duration::from_secs(5);

/// Whether a finding is made with its backtraces symbolised.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frames {
    /// Frames symbolised: slow.
    Symbolised,
    /// No frames: what a finding is without backtraces, made at once.
    Omitted,
}

impl Frames {
    /// `stack`, or no stack when frames are omitted.
    pub(crate) fn stack(self, stack: &Option<CallStack>) -> &Option<CallStack> {
        match self {
            Frames::Symbolised => stack,
            Frames::Omitted => &None,
        }
    }

    /// `cycle`, without its edges' stacks when frames are omitted.
    pub(crate) fn cycle(self, cycle: &Cycle) -> Cow<'_, Cycle> {
        match self {
            Frames::Symbolised => Cow::Borrowed(cycle),
            Frames::Omitted => {
                let mut bare = cycle.clone();
                for edge in &mut bare.edges {
                    edge.backtrace = None;
                }
                Cow::Owned(bare)
            }
        }
    }
}

/// A finding yet to be made, with its frames or without.
pub(crate) struct LateFinding {
    make: Box<dyn Fn(Frames) -> Finding + Send>,
    /// Whether it has stacks to symbolise (without, both ways are the same).
    stacks: bool,
}

impl LateFinding {
    /// A finding that `make` makes; `stacks` says whether its material
    /// holds any stack to symbolise.
    pub(crate) fn new(stacks: bool, make: impl Fn(Frames) -> Finding + Send + 'static) -> Self {
        LateFinding {
            make: Box::new(make),
            stacks,
        }
    }

    /// Whether symbolising would add anything.
    pub(crate) fn has_stacks(&self) -> bool {
        self.stacks
    }

    /// The finding, with its frames or without.
    pub(crate) fn make(&self, frames: Frames) -> Finding {
        (self.make)(frames)
    }
}

/// Held by the thread that handed a finding over, while it is still in the
/// way (see the module's documentation); dropping it lets the reporter
/// start on the finding.
#[must_use = "the reporter starts on the finding when the gate is dropped"]
pub(crate) struct Gate(Arc<GateState>);

struct GateState {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn new() -> (Gate, Arc<GateState>) {
        let state = Arc::new(GateState {
            open: Mutex::new(false),
            opened: Condvar::new(),
        });
        (Gate(Arc::clone(&state)), state)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        *self.0.open.lock() = true;
        self.0.opened.notify_all();
    }
}

impl GateState {
    /// Waits until the gate opens, up to [`GATE_LIMIT`].
    fn pass(&self) {
        let deadline = Instant::now() + GATE_LIMIT;
        let mut open = self.open.lock();
        while !*open {
            if self.opened.wait_until(&mut open, deadline).timed_out() {
                return;
            }
        }
    }
}

/// A finding handed to the reporter.
struct Job {
    late: LateFinding,
    gate: Arc<GateState>,
    /// The finding without its frames: recorded in its place if the
    /// reporter does not finish in time.
    bare: Finding,
}

/// What the reporter has yet to do.
struct Queue {
    /// Handed over, not started.
    waiting: VecDeque<Job>,
    /// The job being symbolised, by number, with its finding without frames
    /// (taken by a flush that gives up on it).
    current: Option<(u64, Finding)>,
    /// Handed over and not yet recorded (by the reporter or a flush).
    unfinished: usize,
    /// A reporter thread is running.
    reporter: bool,
    /// Number of the next job started.
    next: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    waiting: VecDeque::new(),
    current: None,
    unfinished: 0,
    reporter: false,
    next: 0,
});

/// Signalled whenever `unfinished` drops.
static RECORDED: Condvar = Condvar::new();

/// Hands `late` to the reporter, which symbolises and records it (`bare`
/// is the same finding made without frames) once the returned gate is
/// dropped. Where no reporter thread can be started, records it here,
/// symbolised, before returning.
pub(crate) fn hand_over(late: LateFinding, bare: Finding) -> Gate {
    flush_when_this_thread_exits();
    flush_when_the_process_exits();
    let (gate, state) = Gate::new();
    let mut queue = QUEUE.lock();
    queue.unfinished += 1;
    queue.waiting.push_back(Job {
        late,
        gate: state,
        bare,
    });
    if queue.reporter {
        return gate;
    }
    let started = std::thread::Builder::new()
        .name("lockcheck-report".into())
        .spawn(report_all);
    if started.is_ok() {
        queue.reporter = true;
        return gate;
    }
    let job = queue.waiting.pop_back();
    queue.unfinished -= 1;
    drop(queue);
    if let Some(job) = job {
        policy::record(job.late.make(Frames::Symbolised));
    }
    gate
}

/// The reporter thread: symbolises and records every job in order, then
/// ends (the next hand-over starts another).
fn report_all() {
    // Never the thread that ends a user's wait: not counted by the second
    // deadlock rule.
    let _helper = crate::runtime::os_threads::Helper::enter();
    loop {
        let mut queue = QUEUE.lock();
        let Some(job) = queue.waiting.pop_front() else {
            queue.reporter = false;
            return;
        };
        let number = queue.next;
        queue.next += 1;
        queue.current = Some((number, job.bare));
        drop(queue);
        job.gate.pass();
        // Symbolisation is not expected to panic; if it does, the finding
        // is still recorded, without its frames.
        let full = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            job.late.make(Frames::Symbolised)
        }));
        let mine = {
            let mut queue = QUEUE.lock();
            match &queue.current {
                Some((n, _)) if *n == number => queue.current.take(),
                // A flush gave up on it and recorded it without frames.
                _ => None,
            }
        };
        if let Some((_, bare)) = mine {
            policy::record(full.unwrap_or(bare));
            QUEUE.lock().unfinished -= 1;
            RECORDED.notify_all();
        }
    }
}

/// Waits until everything handed over is recorded. Past [`LIMIT`], records
/// what is left without its frames, and says so on stderr.
pub(crate) fn flush() {
    let deadline = Instant::now() + LIMIT;
    let mut queue = QUEUE.lock();
    while queue.unfinished > 0 {
        if !RECORDED.wait_until(&mut queue, deadline).timed_out() {
            continue;
        }
        let mut left: Vec<Finding> = queue.waiting.drain(..).map(|job| job.bare).collect();
        left.extend(queue.current.take().map(|(_, bare)| bare));
        queue.unfinished -= left.len();
        drop(queue);
        if !left.is_empty() {
            eprintln!(
                "lockcheck: warning: symbolising backtraces took over {} s; {} finding(s) recorded without them",
                LIMIT.as_secs(),
                left.len()
            );
        }
        for bare in left {
            policy::record(bare);
        }
        RECORDED.notify_all();
        return;
    }
}

/// Makes the calling thread's exit wait for the reporter: whoever joins a
/// thread that broke a hang then finds its report recorded.
fn flush_when_this_thread_exits() {
    struct FlushAtExit(Cell<bool>);
    impl Drop for FlushAtExit {
        fn drop(&mut self) {
            if self.0.get() {
                flush();
            }
        }
    }
    thread_local! {
        static FLUSH_AT_EXIT: FlushAtExit = const { FlushAtExit(Cell::new(false)) };
    }
    // Fails only while the thread's locals are being destroyed: the process
    // exit still flushes.
    let _ = FLUSH_AT_EXIT.try_with(|f| f.0.set(true));
}

/// Makes the process's exit wait for the reporter (once).
fn flush_when_the_process_exits() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `flush_at_exit` is a plain `extern "C" fn` that never
        // unwinds.
        if unsafe { atexit(flush_at_exit) } != 0 {
            eprintln!("lockcheck: warning: cannot register the report's exit hook; a report made just before exit may be lost");
        }
    });
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn flush_at_exit() {
    // Nothing may unwind out of an exit hook.
    let _ = std::panic::catch_unwind(flush);
}
