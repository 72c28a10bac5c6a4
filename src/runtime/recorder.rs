//! Recording a run as a lockcheck trace (`LOCKCHECK_TRACE=FILE`, which
//! `lockcheck run --trace FILE` sets).
//!
//! Every event takes a number from one global counter at the moment that
//! orders it right against other threads (a release before the raw unlock,
//! an acquisition after the raw lock, a send before the message leaves, a
//! receive after it arrived) and goes into its own thread's buffer, so
//! threads never wait for each other to record. A full buffer is appended to
//! a spool file (`FILE.spool`) as one chunk; when the process exits, the
//! buffers left are flushed and the spool's chunks are merged by number into
//! `FILE`. A lock or variable is declared (name, creation site) by the first
//! thread that names it, with a number smaller than any use of it.
//!
//! Declarations (locks, variables, their guards, thread names) do not wait
//! in a buffer: each goes to the spool at once, as a chunk of the
//! declarations' own stream (`T0`, an id no thread has), before any thread
//! can record a use of it. A program killed mid-run (SIGKILL, `abort`)
//! loses at most the last buffered events of its threads, never the
//! declarations the events that did reach the spool depend on; and a trace
//! finished from such a spool says that it is incomplete.

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::fx_hash::FxHashSet;
use crate::raw::Mutex;

use crate::event::{Event, LockInfo, ThreadId, VarInfo};
use crate::runtime::config;
use crate::trace::{lockcheck_format, spool};

/// A buffer is written out when it grows past this.
const FLUSH_AT: usize = 64 * 1024;

/// The stream declarations are written to the spool in. Thread ids start
/// at 1, so no thread's chunks are confused with it; its lines still name
/// the declaring thread.
const DECLARATIONS: ThreadId = ThreadId(0);

/// The next event's number. Numbers are only compared, never counted, so
/// gaps (a buffer lost with a killed process) are harmless.
static SEQ: AtomicU64 = AtomicU64::new(1);

#[inline]
fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::SeqCst)
}

/// One thread's unwritten lines. Shared with the recorder so that the exit
/// flush reaches threads that are still running (or blocked) then.
struct Buffer {
    thread: ThreadId,
    lines: Mutex<Vec<u8>>,
}

/// Locks and variables some thread has declared in the trace.
#[derive(Default)]
struct Declared {
    locks: FxHashSet<u64>,
    vars: FxHashSet<u64>,
}

struct Recorder {
    out: PathBuf,
    spool_path: PathBuf,
    /// `None` once the trace is finished (late events are dropped).
    spool: Mutex<Option<File>>,
    buffers: Mutex<Vec<Arc<Buffer>>>,
    declared: Mutex<Declared>,
    /// Some thread's lines could not be written: the trace is finished as
    /// incomplete.
    lost: AtomicBool,
}

/// This thread's buffer and what it already knows to be declared.
struct Local {
    buffer: Arc<Buffer>,
    known: Known,
}

/// The locks and variables one thread knows to be declared in the trace.
struct Known {
    thread: ThreadId,
    locks: FxHashSet<u64>,
    vars: FxHashSet<u64>,
}

impl Known {
    /// Ids a thread remembers before it starts over: the sets only save
    /// trips to the shared declarations, which stay the authority.
    const MOST: usize = 4096;

    fn new(thread: ThreadId) -> Self {
        Known {
            thread,
            locks: FxHashSet::default(),
            vars: FxHashSet::default(),
        }
    }

    /// Keeps memory bounded in a long run that keeps making locks and
    /// variables (dropped ones leave only the dropping thread's set).
    fn bound(&mut self) {
        if self.locks.len() >= Self::MOST {
            self.locks.clear();
        }
        if self.vars.len() >= Self::MOST {
            self.vars.clear();
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(rec) = recorder() {
            rec.flush(self.buffer.thread, &mut self.buffer.lines.lock());
            rec.buffers.lock().retain(|b| !Arc::ptr_eq(b, &self.buffer));
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

fn recorder() -> Option<&'static Recorder> {
    static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();
    RECORDER.get_or_init(start).as_ref()
}

/// Opens the spool (emptying one left by an earlier run) and arranges for
/// the trace to be finished at exit.
fn start() -> Option<Recorder> {
    let out = PathBuf::from(config::trace_path()?);
    let spool_path = spool::path_for(&out);
    let spool = match claim_spool(&spool_path) {
        Ok(f) => f,
        Err(why) => {
            eprintln!("lockcheck: warning: {why}; this process is not recorded");
            config::stop_recording();
            return None;
        }
    };
    // SAFETY: `finish_at_exit` is a plain `extern "C" fn` that never unwinds.
    if unsafe { atexit(finish_at_exit) } != 0 {
        eprintln!("lockcheck: warning: cannot register the trace's exit hook; the trace may be incomplete");
    }
    Some(Recorder {
        out,
        spool_path,
        spool: Mutex::new(Some(spool)),
        buffers: Mutex::new(Vec::new()),
        declared: Mutex::new(Declared::default()),
        lost: AtomicBool::new(false),
    })
}

/// Opens the spool for this process alone, then empties it. A child
/// process inherits `LOCKCHECK_TRACE`: were it to record too, it would
/// empty the spool under its parent and both would merge it into the same
/// trace. The spool is locked while it is open (the lock goes with the
/// process, so a killed recorder leaves none), and a process that finds it
/// locked does not record. Where the file system cannot lock, the spool is
/// used unlocked, as before there was a lock.
fn claim_spool(spool_path: &Path) -> Result<File, String> {
    let cannot =
        |e: std::io::Error| format!("cannot record the trace into {}: {e}", spool_path.display());
    let spool = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(spool_path)
        .map_err(cannot)?;
    match spool.try_lock() {
        Ok(()) | Err(TryLockError::Error(_)) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(format!(
                "{} is being recorded by another process (its parent, which passed \
                 LOCKCHECK_TRACE on?)",
                spool_path.display()
            ))
        }
    }
    spool.set_len(0).map_err(cannot)?;
    Ok(spool)
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn finish_at_exit() {
    // Nothing may unwind out of an exit hook.
    let _ = std::panic::catch_unwind(finish);
}

/// Writes what every thread buffered and merges the spool into the trace.
/// Called at exit; later events are dropped.
pub(crate) fn finish() {
    let Some(rec) = recorder() else { return };
    config::stop_recording();
    let buffers: Vec<Arc<Buffer>> = rec.buffers.lock().clone();
    for buffer in buffers {
        // A thread is inside its buffer only for a moment; one that is not
        // done within this time is stuck, and its lines are lost.
        match buffer.lines.try_lock_for(Duration::from_millis(200)) {
            Some(mut lines) => rec.flush(buffer.thread, &mut lines),
            None => rec.lost.store(true, Ordering::Relaxed),
        }
    }
    if rec.spool.lock().take().is_none() {
        return;
    }
    let ending = if rec.lost.load(Ordering::Relaxed) {
        spool::Ending::Cut
    } else {
        spool::Ending::Complete
    };
    if let Err(e) = spool::finalize(&rec.spool_path, &rec.out, ending) {
        eprintln!(
            "lockcheck: warning: cannot write the trace {}: {e} (the raw recording stays in {})",
            rec.out.display(),
            rec.spool_path.display()
        );
        return;
    }
    let _ = std::fs::remove_file(&rec.spool_path);
}

impl Recorder {
    /// Appends `lines` to the spool as one chunk of `stream` (a thread, or
    /// [`DECLARATIONS`]), and empties them.
    fn flush(&self, stream: ThreadId, lines: &mut Vec<u8>) {
        if lines.is_empty() {
            return;
        }
        let mut chunk = Vec::with_capacity(lines.len() + 32);
        spool::chunk(&mut chunk, stream, lines);
        lines.clear();
        let mut spool = self.spool.lock();
        let Some(file) = spool.as_mut() else { return };
        if let Err(e) = file.write_all(&chunk) {
            eprintln!(
                "lockcheck: warning: cannot write the trace's spool {}: {e}; recording stops",
                self.spool_path.display()
            );
            self.lost.store(true, Ordering::Relaxed);
            config::stop_recording();
            *spool = None;
        }
    }

    /// Writes declaration lines straight to the spool. Called with the
    /// declarations' lock held, from taking their numbers to the write:
    /// the [`DECLARATIONS`] stream's numbers then increase, and every use
    /// any thread records later has a larger number and reaches the spool
    /// after them.
    fn publish(&self, _declared: &Declared, mut lines: Vec<u8>) {
        self.flush(DECLARATIONS, &mut lines);
    }

    /// Declares `lock` unless some thread did: with the declarations' lock
    /// held, so that every use another thread records comes later.
    fn declare_lock(&self, known: &mut Known, lock: &LockInfo) {
        known.bound();
        if !known.locks.insert(lock.id.0) {
            return;
        }
        let mut declared = self.declared.lock();
        if declared.locks.insert(lock.id.0) {
            let mut line = Vec::with_capacity(128);
            lockcheck_format::write_lock(&mut line, next_seq(), known.thread, lock);
            self.publish(&declared, line);
        }
    }

    /// Declares `var` (and its guard) unless some thread did.
    fn declare_var(&self, known: &mut Known, var: &VarInfo, guard: Option<&LockInfo>) {
        known.bound();
        if !known.vars.insert(var.id.0) {
            return;
        }
        if let Some(lock) = guard {
            self.declare_lock(known, lock);
        }
        let mut declared = self.declared.lock();
        if declared.vars.insert(var.id.0) {
            let thread = known.thread;
            let mut lines = Vec::with_capacity(256);
            lockcheck_format::write_var(&mut lines, next_seq(), thread, var);
            if let Some(lock) = guard {
                let event = Event::GuardedBy {
                    var: var.clone(),
                    lock: lock.clone(),
                };
                lockcheck_format::write_event(&mut lines, next_seq(), thread, &event);
            }
            self.publish(&declared, lines);
        }
    }

    /// Writes a thread's name, which it records before anything else it
    /// does, straight to the spool like a declaration.
    fn declare_thread(&self, thread: ThreadId, event: &Event) {
        let declared = self.declared.lock();
        let mut line = Vec::with_capacity(64);
        lockcheck_format::write_event(&mut line, next_seq(), thread, event);
        self.publish(&declared, line);
    }
}

/// Whether this run is being recorded (one relaxed load when it is not).
#[inline(always)]
pub(crate) fn on() -> bool {
    config::recording()
}

/// Records `event`, done by `thread` (the calling thread). `guard` is the
/// guard of the variable a `Read`/`Write` accesses, if it has one.
#[inline(never)]
pub(crate) fn record(thread: ThreadId, event: &Event, guard: Option<&LockInfo>) {
    let Some(rec) = recorder() else { return };
    if !on() {
        return;
    }
    let written = LOCAL.try_with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return false;
        };
        let local = slot.get_or_insert_with(|| {
            let buffer = Arc::new(Buffer {
                thread,
                lines: Mutex::new(Vec::with_capacity(FLUSH_AT + 1024)),
            });
            rec.buffers.lock().push(Arc::clone(&buffer));
            Local {
                buffer,
                known: Known::new(thread),
            }
        });
        let Local { buffer, known } = local;
        let mut lines = buffer.lines.lock();
        write(rec, known, &mut lines, event, guard);
        if lines.len() >= FLUSH_AT {
            rec.flush(buffer.thread, &mut lines);
        }
        true
    });
    if !matches!(written, Ok(true)) {
        // The thread is being torn down (its buffer is gone): write this
        // event as a chunk of its own.
        let buffer = Buffer {
            thread,
            lines: Mutex::new(Vec::new()),
        };
        let mut lines = buffer.lines.lock();
        write(rec, &mut Known::new(thread), &mut lines, event, guard);
        rec.flush(buffer.thread, &mut lines);
    }
}

/// Records the event `make` builds for the calling thread (what most
/// instrumentation points do once they know the run is recorded).
#[cold]
#[inline(never)]
pub(crate) fn record_here(make: impl FnOnce(ThreadId) -> Event) {
    if let Some(thread) = crate::runtime::thread_state::with_thread(|t| t.id()) {
        record(thread, &make(thread), None);
    }
}

/// Declares what `event` names for the first time, then writes it.
fn write(
    rec: &Recorder,
    known: &mut Known,
    lines: &mut Vec<u8>,
    event: &Event,
    guard: Option<&LockInfo>,
) {
    match event {
        // Only what this trace declared is dropped in it; the id leaves the
        // declarations, which so follow the live locks and variables.
        Event::LockDropped { lock, .. } => {
            known.locks.remove(&lock.id.0);
            if !rec.declared.lock().locks.remove(&lock.id.0) {
                return;
            }
        }
        Event::VarDropped { var, .. } => {
            known.vars.remove(&var.id.0);
            if !rec.declared.lock().vars.remove(&var.id.0) {
                return;
            }
        }
        Event::Request { lock, .. }
        | Event::Acquire { lock, .. }
        | Event::Release { lock, .. }
        | Event::ChangeMode { lock, .. }
        | Event::Wait { lock, .. } => rec.declare_lock(known, lock),
        Event::Read { var, .. } | Event::Write { var, .. } => rec.declare_var(known, var, guard),
        Event::ThreadName { .. } => return rec.declare_thread(known.thread, event),
        _ => {}
    }
    lockcheck_format::write_event(lines, next_seq(), known.thread, event);
}
