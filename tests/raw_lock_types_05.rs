//! lockcheck's raw lock types under lock_api 0.5's generic locks (the
//! `lock_api` of `lockcheck::parking_lot_013`, as parking_lot 0.13's):
//! checked as under lock_api 0.4 (tests/raw_lock_types.rs), each detector
//! shown by the case it must report and the near miss it must not, and
//! findings naming this file's lines (lock_api 0.5's methods are
//! `#[track_caller]`). Raw locks have no names: findings are told apart by
//! the lines they name, each taken with `line!()` on the line of the call.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use lockcheck::parking_lot_013::{lock_api, RawMutex, RawRwLock, RawRwLockRecursive, RawThreadId};
use lockcheck::{Finding, FindingKind};

mod common;
use common::{collect, on_thread_within as on_thread};

type Mutex<T> = lock_api::Mutex<RawMutex, T>;
type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
type RecursiveRwLock<T> = lock_api::RwLock<RawRwLockRecursive, T>;
type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;

fn here(file: &str, line: u32, lines: &[u32]) -> bool {
    file.ends_with("raw_lock_types_05.rs") && lines.contains(&line)
}

/// The findings of `kind` that name one of `lines` of this file.
fn at(kind: FindingKind, lines: &[u32]) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == kind)
        .filter(|f| {
            f.cycle
                .iter()
                .flat_map(|c| &c.edges)
                .any(|e| here(&e.to_site.file, e.to_site.line, lines))
                || f.waits
                    .iter()
                    .any(|w| here(&w.site.file, w.site.line, lines))
        })
        .collect()
}

#[test]
fn a_cycle_between_two_lock_api_05_mutexes_is_found_at_the_callers_lines() {
    collect();
    let a = Mutex::new(0);
    let b = Mutex::new(0);
    let first = {
        let _a = a.lock();
        let (_b, line) = (b.lock(), line!());
        line
    };
    let second = {
        let _b = b.lock();
        let (_a, line) = (a.lock(), line!());
        line
    };
    let cycles = at(FindingKind::LockOrderCycle, &[first, second]);
    assert_eq!(cycles.len(), 1, "{:?}", lockcheck::findings());
    let mut lines: Vec<u32> = cycles[0]
        .cycle
        .iter()
        .flat_map(|c| &c.edges)
        .map(|e| e.to_site.line)
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, [first, second]);
}

#[test]
fn one_order_everywhere_is_no_finding() {
    collect();
    let a = Mutex::new(0);
    let b = Mutex::new(0);
    let mut lines = Vec::new();
    for _ in 0..2 {
        let _a = a.lock();
        let (_b, line) = (b.lock(), line!());
        lines.push(line);
    }
    assert!(at(FindingKind::LockOrderCycle, &lines).is_empty());
}

#[test]
fn a_relock_is_a_self_deadlock_at_the_call() {
    collect();
    let m = Arc::new(Mutex::new(0));
    let (line_tx, line_rx) = mpsc::channel();
    let finished = on_thread(move || {
        let _held = m.lock();
        line_tx.send(line!() + 1).expect("the test waits");
        let _again = m.lock();
    });
    assert!(!finished, "the re-lock panics instead of hanging");
    let line = line_rx.recv().expect("the thread got that far");
    assert_eq!(at(FindingKind::SelfDeadlock, &[line]).len(), 1);
}

#[test]
fn a_write_under_the_threads_own_read_is_a_self_deadlock() {
    collect();
    let r = Arc::new(RwLock::new(0));
    let (line_tx, line_rx) = mpsc::channel();
    let finished = on_thread(move || {
        let _read = r.read();
        line_tx.send(line!() + 1).expect("the test waits");
        let _write = r.write();
    });
    assert!(!finished, "the write panics instead of hanging");
    let line = line_rx.recv().expect("the thread got that far");
    assert_eq!(at(FindingKind::SelfDeadlock, &[line]).len(), 1);
}

#[test]
fn nested_reads_of_a_recursive_rwlock_and_a_reentrant_mutexs_re_entry_are_no_finding() {
    collect();
    let r = RecursiveRwLock::new(1);
    let m = ReentrantMutex::new(1);
    let _outer = r.read();
    let (inner, read_line) = (r.read(), line!());
    let _m = m.lock();
    let (again, lock_line) = (m.lock(), line!());
    assert_eq!(*inner + *again, 2);
    assert!(at(FindingKind::SelfDeadlock, &[read_line, lock_line]).is_empty());
    // The case: the same nested read of a plain RwLock queues behind a
    // waiting writer, which waits for the outer read.
    let plain = RwLock::new(1);
    let _outer = plain.read();
    let (_inner, line) = (plain.read(), line!());
    assert_eq!(at(FindingKind::SelfDeadlock, &[line]).len(), 1);
}

type Condvar = lock_api::Condvar<lockcheck::parking_lot_013::RawCondvar>;

#[test]
fn a_raw_condvar_wait_re_locks_by_a_checked_acquisition_at_the_call() {
    collect();
    let m = Mutex::new(0);
    let other = lockcheck::Mutex::named("rawcv.other", ());
    let c = Condvar::new();
    let mut g = m.lock();
    let _other = other.lock(); // m -> other
                               // The wait lets `m` go and takes it back under `other`: other -> m, at
                               // this line, closing a cycle.
    let (timed_out, line) = (c.wait_for(&mut g, Duration::from_millis(1)), line!());
    assert!(timed_out.timed_out());
    let cycles = at(FindingKind::LockOrderCycle, &[line]);
    assert_eq!(cycles.len(), 1, "{:?}", lockcheck::findings());

    // Near miss: the same wait with nothing else held adds no edge.
    let m = Mutex::new(0);
    let other = lockcheck::Mutex::named("rawcvok.other", ());
    let c = Condvar::new();
    {
        let mut g = m.lock();
        let (_, line) = (c.wait_for(&mut g, Duration::from_millis(1)), line!());
        let _other = other.lock(); // m -> other only
        assert!(at(FindingKind::LockOrderCycle, &[line]).is_empty());
    }
    assert!(lockcheck::findings().iter().all(|f| !f
        .locks
        .iter()
        .any(|l| l.name.as_deref() == Some("rawcvok.other"))));
}
