//! lockcheck's raw lock types under lock_api's generic locks: the same
//! detectors as lockcheck's own locks, each shown by the case it must
//! report and the near miss it must not, and findings that name this
//! file's lines although the calls go through lock_api (whose methods are
//! not `#[track_caller]`). Raw locks have no names (lock_api makes them
//! from a constant), so findings are told apart by the lines they name,
//! each taken with `line!()` on the line of the call.

use std::sync::{mpsc, Arc, Barrier};
use std::thread;

use lockcheck::lock_api;
use lockcheck::{Finding, FindingKind};

mod common;
use common::{collect, on_thread_within as on_thread};

type Mutex<T> = lock_api::Mutex<lockcheck::RawMutex, T>;
type FairMutex<T> = lock_api::Mutex<lockcheck::RawFairMutex, T>;
type RwLock<T> = lock_api::RwLock<lockcheck::RawRwLock, T>;
type ReentrantMutex<T> = lock_api::ReentrantMutex<lockcheck::RawMutex, lockcheck::RawThreadId, T>;

/// Whether `site` is a line of this file in `lines`.
fn here(file: &str, line: u32, lines: &[u32]) -> bool {
    file.ends_with("raw_lock_types.rs") && lines.contains(&line)
}

/// The findings of `kind` that name one of `lines` of this file: a cycle
/// by where an edge's lock was taken, a (self-)deadlock by where a thread
/// waits.
fn at(kind: FindingKind, lines: &[u32]) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == kind)
        .filter(|f| {
            let edges = f.cycle.iter().flat_map(|c| &c.edges);
            edges
                .clone()
                .any(|e| here(&e.to_site.file, e.to_site.line, lines))
                || f.waits
                    .iter()
                    .any(|w| here(&w.site.file, w.site.line, lines))
        })
        .collect()
}

/// The lines of this file a cycle's edges were taken at, sorted.
fn edge_lines(f: &Finding) -> Vec<u32> {
    let mut lines: Vec<u32> = f
        .cycle
        .iter()
        .flat_map(|c| &c.edges)
        .filter(|e| e.to_site.file.ends_with("raw_lock_types.rs"))
        .map(|e| e.to_site.line)
        .collect();
    lines.sort_unstable();
    lines
}

#[test]
fn a_cycle_between_two_lock_api_mutexes_is_found_at_the_callers_lines() {
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
    assert_eq!(cycles.len(), 1, "a -> b and b -> a: one cycle: {cycles:?}");
    assert_eq!(edge_lines(&cycles[0]), [first, second]);
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
    let a = Arc::new(a);
    let b = Arc::new(b);
    assert!(on_thread(move || {
        let _a = a.lock();
        let _b = b.lock();
    }));
    assert!(at(FindingKind::LockOrderCycle, &lines).is_empty());
}

#[test]
fn a_cycle_between_a_lock_api_mutex_and_a_lockcheck_mutex_is_found() {
    collect();
    let raw = Mutex::new(0);
    let own = lockcheck::Mutex::named("rawmix.own", 0);
    let first = {
        let _raw = raw.lock();
        let (_own, line) = (own.lock(), line!());
        line
    };
    let second = {
        let _own = own.lock();
        let (_raw, line) = (raw.lock(), line!());
        line
    };
    let cycles = at(FindingKind::LockOrderCycle, &[first, second]);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(edge_lines(&cycles[0]), [first, second]);
    assert!(cycles[0]
        .locks
        .iter()
        .any(|l| l.name.as_deref() == Some("rawmix.own")));
}

#[test]
fn a_relock_of_a_lock_api_mutex_is_a_self_deadlock_at_the_call() {
    collect();
    let m = Arc::new(Mutex::new(0));
    let (line_tx, line_rx) = mpsc::channel();
    let hung = on_thread(move || {
        let _held = m.lock();
        line_tx.send(line!() + 1).expect("the test waits");
        let _again = m.lock();
    });
    assert!(!hung, "the re-lock panics instead of hanging");
    let line = line_rx.recv().expect("the thread got that far");
    let found = at(FindingKind::SelfDeadlock, &[line]);
    assert_eq!(found.len(), 1, "{:?}", lockcheck::findings());
}

#[test]
fn a_reentrant_mutex_through_lock_api_re_enters_without_a_finding() {
    collect();
    let m = ReentrantMutex::new(1);
    let mut lines = Vec::new();
    let _a = m.lock();
    let (b, line) = (m.lock(), line!());
    lines.push(line);
    assert_eq!(*b, 1);
    assert!(at(FindingKind::SelfDeadlock, &lines).is_empty());
    // And it is ordered like any lock: a cycle with another one is found.
    drop((b, _a));
    let other = Mutex::new(0);
    let inner = {
        let _r = m.lock();
        let (_o, line) = (other.lock(), line!());
        line
    };
    let outer = {
        let _o = other.lock();
        let (_r, line) = (m.lock(), line!());
        line
    };
    let cycles = at(FindingKind::LockOrderCycle, &[inner, outer]);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
}

#[test]
fn a_cycle_through_a_fair_mutex_is_found() {
    collect();
    let a = FairMutex::new(0);
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
    assert_eq!(at(FindingKind::LockOrderCycle, &[first, second]).len(), 1);
}

#[test]
fn a_write_under_the_threads_own_read_is_a_self_deadlock() {
    collect();
    let r = Arc::new(RwLock::new(0));
    let (line_tx, line_rx) = mpsc::channel();
    let hung = on_thread(move || {
        let _read = r.read();
        line_tx.send(line!() + 1).expect("the test waits");
        let _write = r.write();
    });
    assert!(!hung, "the write panics instead of hanging");
    let line = line_rx.recv().expect("the thread got that far");
    assert_eq!(at(FindingKind::SelfDeadlock, &[line]).len(), 1);
}

#[test]
fn an_upgrade_while_the_thread_still_reads_is_a_self_deadlock() {
    collect();
    let r = Arc::new(RwLock::new(0));
    let (line_tx, line_rx) = mpsc::channel();
    let hung = on_thread(move || {
        let upgradable = r.upgradable_read();
        let _read = r.read_recursive();
        line_tx.send(line!() + 1).expect("the test waits");
        let _write = lock_api::RwLockUpgradableReadGuard::upgrade(upgradable);
    });
    assert!(!hung, "the upgrade panics instead of hanging");
    let line = line_rx.recv().expect("the thread got that far");
    assert_eq!(at(FindingKind::SelfDeadlock, &[line]).len(), 1);
}

#[test]
fn rwlock_orders_are_checked_and_reads_in_one_order_are_not_reported() {
    collect();
    let r = RwLock::new(0);
    let m = Mutex::new(0);
    // Near miss: read then the mutex, twice, and an upgrade and a
    // downgrade in between: one order.
    let mut lines = Vec::new();
    for _ in 0..2 {
        let read = r.read();
        let (_m, line) = (m.lock(), line!());
        lines.push(line);
        drop(read);
    }
    {
        let u = r.upgradable_read();
        let w = lock_api::RwLockUpgradableReadGuard::upgrade(u);
        let (_m, line) = (m.lock(), line!());
        lines.push(line);
        let _read = lock_api::RwLockWriteGuard::downgrade(w);
    }
    assert!(at(FindingKind::LockOrderCycle, &lines).is_empty());
    // The opposite order with a write: a cycle.
    let _m = m.lock();
    let (_w, line) = (r.write(), line!());
    lines.push(line);
    assert_eq!(at(FindingKind::LockOrderCycle, &lines).len(), 1);
}

#[test]
fn two_threads_deadlocked_on_lock_api_mutexes_are_reported_and_broken() {
    collect();
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let both = Arc::new(Barrier::new(2));
    let (lines_tx, lines_rx) = mpsc::channel();
    let t1 = {
        let (a, b, both, lines_tx) = (a.clone(), b.clone(), both.clone(), lines_tx.clone());
        thread::spawn(move || {
            on_thread(move || {
                let _a = a.lock();
                both.wait();
                lines_tx.send(line!() + 1).expect("the test waits");
                let _b = b.lock();
            })
        })
    };
    let t2 = thread::spawn(move || {
        on_thread(move || {
            let _b = b.lock();
            both.wait();
            lines_tx.send(line!() + 1).expect("the test waits");
            let _a = a.lock();
        })
    });
    let finished = [t1.join().expect("joined"), t2.join().expect("joined")];
    assert!(
        finished.contains(&false),
        "one of them is broken out of the deadlock: {finished:?}"
    );
    let lines: Vec<u32> = lines_rx.iter().collect();
    let deadlocks = at(FindingKind::Deadlock, &lines);
    assert_eq!(deadlocks.len(), 1, "{:?}", lockcheck::findings());
    for w in &deadlocks[0].waits {
        assert!(
            here(&w.site.file, w.site.line, &lines),
            "each wait is named at this file's line: {:?}",
            w.site
        );
    }
}
