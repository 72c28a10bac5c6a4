//! The parts of parking_lot 0.12's lock API beyond `lock`/`read`/`write`
//! and their guards' drops: each goes through the same detectors, shown by
//! the case it must report and the near miss it must not. Tests share one
//! process (and its findings), so each names its locks uniquely and looks
//! only at findings about them. Threads are ordered by joins, never sleeps.

use std::thread;

use lockcheck::config::{self, Policy};
use lockcheck::{
    Finding, FindingKind, MappedMutexGuard, MappedRwLockWriteGuard, Mutex, MutexGuard,
    ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

fn collect() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
}

/// Runs `f` on a fresh thread and joins it; returns whether it finished
/// without panicking.
fn on_thread(f: impl FnOnce() + Send + 'static) -> bool {
    thread::spawn(f).join().is_ok()
}

/// The line before the three statics below: they are found by their
/// creation lines, as a const fn cannot name a lock.
const BEFORE_STATICS: u32 = line!();
static CONST_A: Mutex<u32> = lockcheck::const_mutex(0);
static CONST_B: RwLock<u32> = lockcheck::const_rwlock(0);
static CONST_C: ReentrantMutex<()> = lockcheck::const_reentrant_mutex(());

#[test]
fn const_locks_in_statics_are_checked_like_any_other() {
    collect();
    let line_of = |f: &Finding| {
        f.locks.iter().all(|l| {
            l.created.file.ends_with("parking_lot_api.rs")
                && (BEFORE_STATICS + 1..=BEFORE_STATICS + 3).contains(&l.created.line)
        })
    };
    let before = lockcheck::findings().into_iter().filter(line_of).count();
    assert!(on_thread(|| {
        let _a = CONST_A.lock();
        let _b = CONST_B.write();
    }));
    assert_eq!(
        lockcheck::findings().into_iter().filter(line_of).count(),
        before,
        "one order everywhere: no finding"
    );
    assert!(on_thread(|| {
        let _b = CONST_B.read();
        let _a = CONST_A.lock();
        let _c = CONST_C.lock();
        let _c2 = CONST_C.lock();
    }));
    let cycles: Vec<_> = lockcheck::findings()
        .into_iter()
        .filter(line_of)
        .filter(|f| f.kind == FindingKind::LockOrderCycle)
        .collect();
    assert_eq!(cycles.len(), 1, "the opposite order is a cycle: {cycles:?}");
}

#[test]
fn from_and_default_make_unlocked_locks() {
    let m: Mutex<u32> = 3.into();
    let r: RwLock<u32> = RwLock::from(4);
    let e: ReentrantMutex<u32> = ReentrantMutex::from(5);
    assert_eq!((*m.lock(), *r.read(), *e.lock()), (3, 4, 5));
    let d: RwLock<Vec<u8>> = Default::default();
    assert!(d.read().is_empty());
    let _timeout: Option<lockcheck::WaitTimeoutResult> = None;
}

/// Findings that involve a lock whose name starts with `prefix`.
fn about(prefix: &str) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        })
        .collect()
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// Takes `second` then `first` on this thread: the order that closes a
/// cycle with any `first -> second` edge taken before.
fn second_then_first<A, B>(first: &Mutex<A>, second: &Mutex<B>) {
    let _second = second.lock();
    let _first = first.lock();
}

#[test]
fn a_cycle_through_a_mapped_mutex_guard_is_found() {
    collect();
    let a = Mutex::named("mapmutex.a", (1, 2));
    let b = Mutex::named("mapmutex.b", ());
    {
        let mut part = MutexGuard::map(a.lock(), |p| &mut p.1);
        *part += 1;
        let _b = b.lock(); // a -> b, a held through the mapped guard
    }
    second_then_first(&a, &b);
    assert_eq!(kinds(&about("mapmutex.")), [FindingKind::LockOrderCycle]);
    assert_eq!(*a.lock(), (1, 3));
}

#[test]
fn a_dropped_mapped_mutex_guard_released_its_hold() {
    collect();
    let a = Mutex::named("mapmutexrel.a", (1, 2));
    let b = Mutex::named("mapmutexrel.b", ());
    let part = MutexGuard::map(a.lock(), |p| &mut p.0);
    let part = MappedMutexGuard::map(part, |x| x); // a mapped guard maps on
    drop(part);
    assert!(!a.is_locked());
    {
        let _b = b.lock(); // nothing held: no a -> b edge
    }
    second_then_first(&a, &b);
    // A try_map that finds nothing gives the guard back, still holding.
    let back = MutexGuard::try_map(a.lock(), |_| None::<&mut u8>).unwrap_err();
    assert!(a.is_locked());
    drop(back);
    let again = a.lock(); // not a self-deadlock: every hold was released
    drop(again);
    assert!(
        about("mapmutexrel.").is_empty(),
        "{:?}",
        about("mapmutexrel.")
    );
}

#[test]
fn mapped_rwlock_guards_hold_and_release_through_the_detectors() {
    collect();
    let l = RwLock::named("maprw.l", (1, 2));
    let m = Mutex::named("maprw.m", ());
    {
        let read = RwLockReadGuard::map(l.read(), |p| &p.0);
        assert_eq!(*read, 1);
        let _m = m.lock(); // l (read) -> m
    }
    {
        let _m = m.lock();
        let _w = l.write(); // m -> l (write): a cycle with the read edge
    }
    assert_eq!(kinds(&about("maprw.")), [FindingKind::LockOrderCycle]);

    // Near miss: the mapped write guard is dropped before the mutex.
    let l = RwLock::named("maprwrel.l", (1, 2));
    let m = Mutex::named("maprwrel.m", ());
    let write = RwLockWriteGuard::try_map(l.write(), |p| Some(&mut p.1)).unwrap();
    let mut write = MappedRwLockWriteGuard::map(write, |x| x);
    *write += 1;
    drop(write);
    assert!(!l.is_locked());
    {
        let _m = m.lock();
        let _r = l.read();
    }
    drop(RwLockReadGuard::map(l.read(), |p| &p.1));
    drop(m.lock());
    assert_eq!(*l.read(), (1, 3));
    assert!(about("maprwrel.").is_empty(), "{:?}", about("maprwrel."));
}

#[test]
fn a_mapped_reentrant_guard_holds_its_level_until_dropped() {
    collect();
    // The case: r held through a mapped guard orders m after it.
    let r = ReentrantMutex::named("mapre.r", (5, 6));
    let m = Mutex::named("mapre.m", ());
    let part = ReentrantMutexGuard::map(r.lock(), |p| &p.0);
    drop(m.lock()); // r -> m
    drop(part);
    {
        let _m = m.lock();
        let _r = r.lock(); // m -> r: the cycle
    }
    assert_eq!(kinds(&about("mapre.")), [FindingKind::LockOrderCycle]);

    // Near miss: the mapped guard is dropped before m is taken.
    let r = std::sync::Arc::new(ReentrantMutex::named("mapreok.r", (5, 6)));
    let m = Mutex::named("mapreok.m", ());
    let part = ReentrantMutexGuard::map(r.lock(), |p| &p.1);
    assert_eq!(*part, 6);
    let r2 = r.clone();
    assert!(
        thread::spawn(move || r2.try_lock().is_none())
            .join()
            .unwrap(),
        "the level is still held"
    );
    drop(part);
    let r2 = r.clone();
    assert!(thread::spawn(move || r2.try_lock().is_some())
        .join()
        .unwrap());
    drop(m.lock()); // nothing held: no r -> m edge
    {
        let _m = m.lock();
        let _r = r.lock(); // m -> r
    }
    assert!(about("mapreok.").is_empty(), "{:?}", about("mapreok."));
}
