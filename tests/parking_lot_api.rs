//! The parts of parking_lot 0.12's lock API beyond `lock`/`read`/`write`
//! and their guards' drops: each goes through the same detectors, shown by
//! the case it must report and the near miss it must not. Tests share one
//! process (and its findings), so each names its locks uniquely and looks
//! only at findings about them. Threads are ordered by joins, never sleeps.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use lockcheck::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard, Condvar, FairMutex, FairMutexGuard, Finding, FindingKind,
    MappedFairMutexGuard, MappedMutexGuard, MappedRwLockWriteGuard, Mutex, MutexGuard,
    ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard,
};

mod common;
use common::{about, collect, kinds, on_thread, on_thread_within};

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
    // try_map_or_err: the guard and the error back, or the mapped guard.
    let (back, why) =
        MutexGuard::try_map_or_err(a.lock(), |_| Err::<&mut u8, _>("none")).unwrap_err();
    assert_eq!(why, "none");
    let part = MutexGuard::try_map_or_err(back, |p| Ok::<_, ()>(&mut p.1)).expect("mapped");
    let part = MappedMutexGuard::try_map_or_err(part, |x| Ok::<_, ()>(x)).expect("mapped");
    drop(part);
    let read = RwLockReadGuard::try_map_or_err(l_for_or_err().read(), |v| Ok::<_, ()>(v));
    drop(read);
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
    let r = Arc::new(ReentrantMutex::named("mapreok.r", (5, 6)));
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
    let a = Arc::new(Mutex::named("leak.a", 1));
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

/// A deadline far enough away that no try in these tests reaches it.
fn later() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[test]
fn timed_tries_add_no_edge_into_the_tried_lock_but_order_what_follows() {
    collect();
    let l = RwLock::named("timedtry.l", 0);
    let r = ReentrantMutex::named("timedtry.r", ());
    let m = Mutex::named("timedtry.m", ());
    {
        let _m = m.lock();
        drop(l.try_read_until(later()).expect("free"));
        drop(
            l.try_read_recursive_for(Duration::from_secs(10))
                .expect("free"),
        );
        drop(l.try_read_recursive_until(later()).expect("free"));
        drop(
            l.try_upgradable_read_for(Duration::from_secs(10))
                .expect("free"),
        );
        drop(l.try_upgradable_read_until(later()).expect("free"));
        drop(l.try_write_until(later()).expect("free"));
        drop(r.try_lock_until(later()).expect("free"));
    }
    {
        let _w = l.write();
        let _r = r.lock();
        let _m = m.lock(); // l -> m, r -> m: no cycle, the tries had no edge
    }
    assert!(about("timedtry.").is_empty(), "{:?}", about("timedtry."));

    // The case: a lock held through a timed try orders what follows.
    let l = RwLock::named("timedcase.l", 0);
    let m = Mutex::named("timedcase.m", ());
    {
        let _w = l.try_write_until(later()).expect("free");
        drop(m.lock()); // l -> m
    }
    {
        let _m = m.lock();
        drop(l.write()); // m -> l
    }
    assert_eq!(kinds(&about("timedcase.")), [FindingKind::LockOrderCycle]);
}

#[test]
fn with_upgraded_checks_the_upgrade_and_orders_its_closure_as_a_writer() {
    collect();
    let finished = on_thread(|| {
        let l = RwLock::named("withup.l", 0);
        let mut u = l.upgradable_read();
        let _r = l.read_recursive();
        u.with_upgraded(|v| *v += 1); // waits for this thread's own read
    });
    assert!(!finished, "the thread is panicked out of the hang");
    assert_eq!(kinds(&about("withup.")), [FindingKind::SelfDeadlock]);

    // A lock taken inside the closure is ordered after the write.
    let l = RwLock::named("withupcase.l", 0);
    let m = Mutex::named("withupcase.m", ());
    let mut u = l.upgradable_read();
    u.with_upgraded(|v| {
        *v += 1;
        drop(m.lock()); // l (write) -> m
    });
    assert_eq!(*u, 1, "an upgradable read again");
    drop(u);
    {
        let _m = m.lock();
        // m -> l (a recursive read, which waits only for a writer): a
        // cycle with the write, not with an upgradable read.
        drop(l.read_recursive());
    }
    assert_eq!(kinds(&about("withupcase.")), [FindingKind::LockOrderCycle]);

    // Inside the closure the hold is a write: a read of the lock on this
    // thread would hang (under the upgradable read alone it is fine).
    let finished = on_thread_within(|| {
        let l = RwLock::named("withupmode.l", 0);
        let mut u = l.upgradable_read();
        drop(l.read_recursive()); // fine: the hold is an upgradable read
        u.with_upgraded(|_| drop(l.read_recursive()));
    });
    assert!(!finished, "the thread is panicked out of the hang");
    assert_eq!(kinds(&about("withupmode.")), [FindingKind::SelfDeadlock]);

    // Near miss: the try forms, and a write turned upgradable, leave the
    // lock free and the thread holding nothing.
    let l = RwLock::named("withupok.l", 0);
    let m = Mutex::named("withupok.m", ());
    let mut u = l.upgradable_read();
    assert_eq!(u.try_with_upgraded(|v| *v + 1), Some(1));
    assert_eq!(
        u.try_with_upgraded_for(Duration::from_secs(10), |v| *v + 2),
        Some(2)
    );
    assert_eq!(u.try_with_upgraded_until(later(), |v| *v + 3), Some(3));
    let w = RwLockUpgradableReadGuard::try_upgrade_for(u, Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("no reader: the upgrade succeeds"));
    let u = RwLockWriteGuard::downgrade_to_upgradable(w);
    let w = RwLockUpgradableReadGuard::try_upgrade_until(u, later())
        .unwrap_or_else(|_| panic!("no reader: the upgrade succeeds"));
    drop(w);
    assert!(!l.is_locked());
    drop(m.lock());
    {
        let _m = m.lock();
        drop(l.write()); // m -> l only
    }
    assert!(about("withupok.").is_empty(), "{:?}", about("withupok."));
}

#[test]
fn a_try_with_upgraded_that_cannot_upgrade_runs_nothing() {
    collect();
    let l = Arc::new(RwLock::named("trywithup.l", 0));
    let mut u = l.upgradable_read();
    let (held_tx, held_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let reader = {
        let l = l.clone();
        thread::spawn(move || {
            let _r = l.read();
            held_tx.send(()).expect("the test waits");
            done_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the test says when");
        })
    };
    held_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the reader holds");
    assert_eq!(u.try_with_upgraded(|v| *v += 1), None);
    assert!(RwLockUpgradableReadGuard::try_upgrade_for(u, Duration::ZERO).is_err());
    done_tx.send(()).expect("the reader waits");
    reader.join().expect("the reader finishes");
    assert_eq!(*l.read(), 0);
    assert!(about("trywithup.").is_empty(), "{:?}", about("trywithup."));
}

#[test]
fn reentrant_force_unlock_releases_a_forgotten_level() {
    collect();
    let r = Arc::new(ReentrantMutex::named("reforce.r", ()));
    std::mem::forget(r.lock());
    // SAFETY: this thread holds a level through a forgotten guard.
    unsafe { r.force_unlock() };
    assert!(!r.is_locked());
    assert!(!r.data_ptr().is_null());
    assert!(about("reforce.").is_empty(), "{:?}", about("reforce."));
    // The case: another thread releases it.
    let s = Arc::new(ReentrantMutex::named("reforcebad.r", ()));
    std::mem::forget(s.lock());
    let s2 = s.clone();
    // SAFETY: the mutex is locked through a forgotten guard (of another
    // thread: the misuse under test).
    let _ = on_thread(move || unsafe { s2.force_unlock_fair() });
    assert!(kinds(&about("reforcebad.")).contains(&FindingKind::LockMisuse));
}

#[test]
fn wait_while_until_waits_out_its_deadline_and_keeps_the_guard() {
    let m = Mutex::named("waituntil.m", 0);
    let c = Condvar::new();
    let mut g = m.lock();
    let past = Instant::now();
    assert!(c.wait_while_until(&mut g, |v| *v == 0, past).timed_out());
    assert!(!c.wait_while_until(&mut g, |v| *v != 0, later()).timed_out());
    *g += 1;
    drop(g);
    assert_eq!(*m.lock(), 1);
}

#[test]
fn a_fair_mutex_is_checked_like_a_mutex() {
    collect();
    let f = FairMutex::named("fair.f", (0, 0));
    let m = Mutex::named("fair.m", ());
    {
        let mut part = FairMutexGuard::map(f.lock(), |p| &mut p.0);
        *part += 1;
        drop(m.lock()); // f -> m, f held through the mapped guard
    }
    {
        let _m = m.lock();
        drop(f.lock()); // m -> f
    }
    assert_eq!(kinds(&about("fair.")), [FindingKind::LockOrderCycle]);
    let finished = on_thread_within(|| {
        let f = FairMutex::named("fairself.f", ());
        let _a = f.lock();
        let _b = f.lock();
    });
    assert!(!finished, "the thread is panicked out of the hang");
    assert_eq!(kinds(&about("fairself.")), [FindingKind::SelfDeadlock]);

    // Near miss: released holds (drop, unlocked, bump, a mapped guard
    // dropped, unlock_fair) leave no f -> m edge.
    let f = FairMutex::named("fairok.f", (0, 0));
    let m = Mutex::named("fairok.m", ());
    let mut g = f.lock();
    FairMutexGuard::unlocked(&mut g, || drop(m.lock()));
    FairMutexGuard::bump(&mut g);
    let back = FairMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
    let part = FairMutexGuard::try_map(back, |p| Some(&mut p.1)).unwrap_or_else(|_| {
        panic!("the part is there");
    });
    MappedFairMutexGuard::unlock_fair(part);
    FairMutexGuard::unlock_fair(f.try_lock_for(Duration::from_secs(10)).expect("free"));
    drop(f.try_lock_until(later()).expect("free"));
    assert!(!f.is_locked());
    {
        let _m = m.lock();
        drop(f.lock()); // m -> f only
    }
    assert!(about("fairok.").is_empty(), "{:?}", about("fairok."));
}

#[test]
fn arc_guards_hold_and_release_through_the_detectors() {
    collect();
    let a = Arc::new(Mutex::named("arc.a", 0));
    let l = Arc::new(RwLock::named("arc.l", 0));
    {
        let mut g = a.lock_arc();
        *g += 1;
        let _w = l.write_arc(); // a -> l, a held through an Arc guard
    }
    {
        let _r = l.read_arc();
        drop(a.lock()); // l -> a
    }
    assert_eq!(kinds(&about("arc.")), [FindingKind::LockOrderCycle]);

    // The upgrade of an Arc upgradable read is checked.
    let finished = on_thread_within(|| {
        let l = Arc::new(RwLock::named("arcup.l", 0));
        let u = l.upgradable_read_arc();
        let _r = l.read_arc_recursive();
        let _w = ArcRwLockUpgradableReadGuard::upgrade(u);
    });
    assert!(!finished, "the thread is panicked out of the hang");
    assert_eq!(kinds(&about("arcup.")), [FindingKind::SelfDeadlock]);

    // Near miss: Arc guards dropped (in another function), converted and
    // let go leave no edge and no hold.
    let a = Arc::new(Mutex::named("arcok.a", 0));
    let l = Arc::new(RwLock::named("arcok.l", 0));
    let mut g = a.try_lock_arc_for(Duration::from_secs(10)).expect("free");
    ArcMutexGuard::unlocked(&mut g, || drop(l.write()));
    ArcMutexGuard::bump(&mut g);
    drop_it(g);
    let back = ArcMutexGuard::into_arc(a.lock_arc());
    assert!(Arc::ptr_eq(&back, &a) && !a.is_locked());
    let u = l.upgradable_read_arc();
    let w = ArcRwLockUpgradableReadGuard::try_upgrade(u).unwrap_or_else(|_| panic!("no reader"));
    let u = ArcRwLockWriteGuard::downgrade_to_upgradable(w);
    let w = ArcRwLockUpgradableReadGuard::upgrade(u);
    let mut r = ArcRwLockWriteGuard::downgrade(w);
    ArcRwLockReadGuard::unlocked_fair(&mut r, || drop(a.lock()));
    ArcRwLockReadGuard::bump(&mut r);
    drop_it(r);
    let mut w = l.write_arc();
    ArcRwLockWriteGuard::bump(&mut w);
    ArcRwLockWriteGuard::unlock_fair(w);
    let back = ArcRwLockUpgradableReadGuard::into_arc_fair(l.upgradable_read_arc());
    assert!(Arc::ptr_eq(&back, &l));
    drop(l.try_read_arc_until(later()).expect("free"));
    drop(l.try_upgradable_read_arc().expect("free"));
    assert!(!l.is_locked());
    {
        let _w = l.write_arc();
        drop(a.lock_arc()); // l -> a only
    }
    assert!(about("arcok.").is_empty(), "{:?}", about("arcok."));
}

/// A lock of its own for the `try_map_or_err` of a read guard.
fn l_for_or_err() -> &'static RwLock<u8> {
    static L: RwLock<u8> = lockcheck::const_rwlock(0);
    &L
}

/// Drops `guard` in a frame of its own, as code that passes guards on does.
fn drop_it<G>(guard: G) {
    drop(guard);
}

#[test]
fn an_arc_reentrant_guard_holds_its_level_until_dropped() {
    collect();
    let r = Arc::new(ReentrantMutex::named("arcre.r", 1));
    let m = Mutex::named("arcre.m", ());
    {
        let outer = r.lock_arc();
        let inner = r.try_lock_arc().expect("this thread owns it");
        assert_eq!(*outer + *inner, 2);
        drop(m.lock()); // r -> m
    }
    {
        let _m = m.lock();
        drop(r.lock()); // m -> r
    }
    assert_eq!(kinds(&about("arcre.")), [FindingKind::LockOrderCycle]);

    // Near miss: levels let go and dropped leave no edge.
    let r = Arc::new(ReentrantMutex::named("arcreok.r", 1));
    let m = Mutex::named("arcreok.m", ());
    let mut g = r.try_lock_arc_for(Duration::from_secs(10)).expect("free");
    ArcReentrantMutexGuard::unlocked(&mut g, || drop(m.lock()));
    ArcReentrantMutexGuard::bump(&mut g);
    ArcReentrantMutexGuard::unlock_fair(g);
    let back = ArcReentrantMutexGuard::into_arc(r.try_lock_arc_until(later()).expect("free"));
    assert!(Arc::ptr_eq(&back, &r) && !r.is_locked());
    {
        let _m = m.lock();
        drop(r.lock_arc()); // m -> r only
    }
    assert!(about("arcreok.").is_empty(), "{:?}", about("arcreok."));
}
