//! The parts of parking_lot 0.12's lock API beyond `lock`/`read`/`write`
//! and their guards' drops: each goes through the same detectors, shown by
//! the case it must report and the near miss it must not. Tests share one
//! process (and its findings), so each names its locks uniquely and looks
//! only at findings about them. Threads are ordered by joins, never sleeps.

use std::thread;

use lockcheck::config::{self, Policy};
use lockcheck::{
    Finding, FindingKind, MappedMutexGuard, MappedRwLockWriteGuard, Mutex, MutexGuard,
    ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard,
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

#[test]
fn a_lock_taken_inside_unlocked_is_not_ordered_after_the_released_lock() {
    collect();
    let a = Mutex::named("unlocked.a", 0);
    let b = Mutex::named("unlocked.b", ());
    let mut held = a.lock();
    MutexGuard::unlocked(&mut held, || {
        drop(b.lock()); // a is not held: no a -> b edge
        *a.lock() += 1; // nor a self-deadlock
    });
    assert_eq!(*held, 1, "the guard holds the mutex again");
    drop(held);
    second_then_first(&a, &b);
    assert!(about("unlocked.").is_empty(), "{:?}", about("unlocked."));

    // The case: the same closure's lock taken under the held guard.
    let a = Mutex::named("unlockedcase.a", 0);
    let b = Mutex::named("unlockedcase.b", ());
    {
        let _held = a.lock();
        drop(b.lock()); // a -> b
    }
    second_then_first(&a, &b);
    assert_eq!(
        kinds(&about("unlockedcase.")),
        [FindingKind::LockOrderCycle]
    );
}

#[test]
fn the_relock_after_unlocked_is_a_checked_acquisition_at_the_call() {
    collect();
    let a = Mutex::named("relockat.a", ());
    let b = Mutex::named("relockat.b", ());
    let mut held = a.lock();
    let mut inner = None;
    let line = line!() + 1;
    MutexGuard::unlocked(&mut held, || inner = Some(b.lock()));
    // a was re-locked under b: the edge b -> a, at the `unlocked` call.
    drop(held);
    drop(inner);
    {
        let _a = a.lock();
        let _b = b.lock(); // a -> b closes the cycle
    }
    let found = about("relockat.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    let edges = &found[0].cycle.as_ref().expect("a cycle").edges;
    let into_a = edges
        .iter()
        .find(|e| e.to.name.as_deref() == Some("relockat.a"))
        .expect("an edge into a");
    assert_eq!(into_a.to_site.line, line, "located at the user's call");
    assert!(into_a.to_site.file.ends_with("parking_lot_api.rs"));

    // Near miss: bump and unlocked_fair with nothing else held add no edge,
    // and unlock_fair releases like a drop.
    let a = Mutex::named("relockok.a", ());
    let b = Mutex::named("relockok.b", ());
    let mut held = a.lock();
    MutexGuard::bump(&mut held);
    MutexGuard::unlocked_fair(&mut held, || ());
    assert!(a.is_locked());
    MutexGuard::unlock_fair(held);
    assert!(!a.is_locked());
    drop(b.lock());
    second_then_first(&a, &b);
    drop(a.lock()); // not a self-deadlock: the hold is gone
    assert!(about("relockok.").is_empty(), "{:?}", about("relockok."));
}

#[test]
fn rwlock_and_reentrant_guards_let_go_and_take_back_through_the_detectors() {
    collect();
    let l = RwLock::named("rwletgo.l", 0);
    let m = Mutex::named("rwletgo.m", ());
    let r = ReentrantMutex::named("rwletgo.r", ());
    let mut read = l.read();
    RwLockReadGuard::unlocked(&mut read, || drop(m.lock()));
    RwLockReadGuard::bump(&mut read);
    drop(read);
    let mut write = l.write();
    RwLockWriteGuard::unlocked_fair(&mut write, || drop(m.lock()));
    *write += 1;
    RwLockWriteGuard::unlock_fair(write);
    let mut upgradable = l.upgradable_read();
    RwLockUpgradableReadGuard::unlocked(&mut upgradable, || drop(m.lock()));
    RwLockUpgradableReadGuard::unlock_fair(upgradable);
    let mut level = r.lock();
    ReentrantMutexGuard::unlocked(&mut level, || drop(m.lock()));
    ReentrantMutexGuard::bump(&mut level);
    ReentrantMutexGuard::unlock_fair(level);
    assert!(!l.is_locked() && !r.is_locked());
    {
        let _m = m.lock();
        let _l = l.write(); // m -> l: no l -> m edge was taken
        let _r = r.lock(); // m -> r, l -> r
    }
    assert!(about("rwletgo.").is_empty(), "{:?}", about("rwletgo."));

    // The case: the re-lock of a read under m orders l after m.
    let l = RwLock::named("rwrelock.l", 0);
    let m = Mutex::named("rwrelock.m", ());
    let mut read = l.read();
    let mut inner = None;
    RwLockReadGuard::unlocked(&mut read, || inner = Some(m.lock())); // m -> l
    drop(read);
    drop(inner);
    {
        let _w = l.write();
        let _m = m.lock(); // l -> m
    }
    assert_eq!(kinds(&about("rwrelock.")), [FindingKind::LockOrderCycle]);
}

#[test]
fn a_leaked_guard_keeps_its_lock_held_on_its_thread() {
    collect();
    let a = std::sync::Arc::new(Mutex::named("leak.a", 1));
    let a2 = a.clone();
    assert!(on_thread(move || {
        let value: &mut i32 = MutexGuard::leak(a2.lock());
        *value += 1;
    }));
    assert!(a.is_locked(), "leaked: locked for ever");
    let found = about("leak.a");
    assert_eq!(kinds(&found), [FindingKind::LockMisuse]);
    assert!(found[0].summary.contains("exited while holding"));
}
