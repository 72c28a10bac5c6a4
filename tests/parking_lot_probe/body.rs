// Every public item of parking_lot 0.12.5, named and used through `pl`:
// parking_lot itself in tests/parking_lot_probe_real.rs (the reference:
// these tests say what parking_lot does) and lockcheck in
// tests/parking_lot_probe_lockcheck.rs, which must compile and behave the
// same. This file is `include!`d by both; the `use ... as pl;` line is the
// whole difference. Types are written out where a user's signature would
// name them, so that a missing or differently shaped item fails to compile.
//
// What parking_lot 0.12.5 exports (lib.rs), and lock_api 0.4.14's methods
// on the types it aliases: the tests below go through them group by group.
// Expected differences, excluded narrowly where they occur:
// - guards are never `Send` under lockcheck (the thread that locked must
//   release), while parking_lot's are with its `send_guard` feature (on in
//   this build): only `Sync` is compared;
// - `Mutex::raw`, `from_raw` and `const_new` (and the RwLock and
//   ReentrantMutex ones) name the raw lock inside the lock: lockcheck's
//   locks are not lock_api's generic types, so those are probed through
//   `lock_api::Mutex<pl::RawMutex, _>` and friends, where both have them;
// - the `deadlock` module exists only with parking_lot's
//   `deadlock_detection` feature, which is off (lockcheck is the detector);
// - `serde` impls exist only with parking_lot's `serde` feature (off).

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pl::lock_api::{
    GetThreadId, RawMutex as _, RawMutexFair as _, RawMutexTimed as _, RawRwLock as _,
    RawRwLockDowngrade as _, RawRwLockFair as _, RawRwLockRecursive as _,
    RawRwLockRecursiveTimed as _, RawRwLockTimed as _, RawRwLockUpgrade as _,
    RawRwLockUpgradeDowngrade as _, RawRwLockUpgradeFair as _, RawRwLockUpgradeTimed as _,
};

/// Long enough never to run out in a passing test.
const LONG: Duration = Duration::from_secs(20);
/// Short: a timed try that is expected to fail.
const SHORT: Duration = Duration::from_millis(1);

fn sync<T: Sync>() {}
fn send<T: Send>() {}

/// Runs `f` on another thread and returns what it returns.
fn elsewhere<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    thread::spawn(f).join().expect("the other thread panicked")
}

#[test]
fn constructors_from_and_default_for_every_lock() {
    static M: pl::Mutex<u32> = pl::const_mutex(1);
    static F: pl::FairMutex<u32> = pl::const_fair_mutex(2);
    static R: pl::RwLock<u32> = pl::const_rwlock(3);
    static RE: pl::ReentrantMutex<u32> = pl::const_reentrant_mutex(4);
    static C: pl::Condvar = pl::Condvar::new();
    static O: pl::Once = pl::Once::new();
    assert_eq!(*M.lock() + *F.lock() + *R.read() + *RE.lock(), 10);
    assert!(!C.notify_one());
    assert_eq!(O.state(), pl::OnceState::New);

    let m: pl::Mutex<u32> = pl::Mutex::new(1);
    let f: pl::FairMutex<u32> = pl::FairMutex::new(1);
    let r: pl::RwLock<u32> = pl::RwLock::new(1);
    let re: pl::ReentrantMutex<u32> = pl::ReentrantMutex::new(1);
    assert_eq!(
        m.into_inner() + f.into_inner() + r.into_inner() + re.into_inner(),
        4
    );

    let m: pl::Mutex<u32> = pl::Mutex::from(5);
    let f: pl::FairMutex<u32> = pl::FairMutex::from(5);
    let r: pl::RwLock<u32> = pl::RwLock::from(5);
    let re: pl::ReentrantMutex<u32> = pl::ReentrantMutex::from(5);
    assert_eq!(*m.lock() + *f.lock() + *r.read() + *re.lock(), 20);
    let m: pl::Mutex<u32> = 6.into();
    assert_eq!(*m.lock(), 6);

    let m: pl::Mutex<u32> = Default::default();
    let f: pl::FairMutex<u32> = Default::default();
    let r: pl::RwLock<u32> = Default::default();
    let re: pl::ReentrantMutex<u32> = Default::default();
    let c: pl::Condvar = Default::default();
    let o: pl::Once = Default::default();
    assert_eq!(*m.lock() + *f.lock() + *r.read() + *re.lock(), 0);
    assert_eq!(c.notify_all(), 0);
    assert!(!o.state().done());

    // Debug for every lock; the locked state shows as such.
    let m = pl::Mutex::new(7);
    assert!(format!("{m:?}").contains('7'));
    let held = m.lock();
    assert!(format!("{m:?}").contains("locked"));
    drop(held);
    for text in [
        format!("{:?}", pl::FairMutex::new(7)),
        format!("{:?}", pl::RwLock::new(7)),
        format!("{:?}", pl::ReentrantMutex::new(7)),
    ] {
        assert!(text.contains('7'), "{text}");
    }
    assert!(format!("{:?}", pl::Condvar::new()).contains("Condvar"));
    assert!(format!("{:?}", pl::Once::new()).contains("Once"));
}

#[test]
fn auto_traits_of_locks_and_guards() {
    send::<pl::Mutex<u32>>();
    sync::<pl::Mutex<u32>>();
    send::<pl::FairMutex<u32>>();
    sync::<pl::FairMutex<u32>>();
    send::<pl::RwLock<u32>>();
    sync::<pl::RwLock<u32>>();
    send::<pl::ReentrantMutex<u32>>();
    sync::<pl::ReentrantMutex<u32>>();
    send::<pl::Condvar>();
    sync::<pl::Condvar>();
    send::<pl::Once>();
    sync::<pl::Once>();
    send::<pl::OnceState>();
    sync::<pl::OnceState>();
    send::<pl::WaitTimeoutResult>();
    sync::<pl::WaitTimeoutResult>();
    send::<pl::RawMutex>();
    sync::<pl::RawMutex>();
    send::<pl::RawFairMutex>();
    sync::<pl::RawFairMutex>();
    send::<pl::RawRwLock>();
    sync::<pl::RawRwLock>();
    send::<pl::RawThreadId>();
    sync::<pl::RawThreadId>();
    // A mutex shares a value that is only `Send` (its lock hands it over);
    // a reader-writer lock needs `Sync` values, as it shares them.
    sync::<pl::Mutex<std::cell::Cell<u32>>>();
    sync::<pl::FairMutex<std::cell::Cell<u32>>>();
    sync::<pl::ReentrantMutex<std::cell::Cell<u32>>>();
    sync::<pl::lock_api::Mutex<pl::RawMutex, std::cell::Cell<u32>>>();
    // Guards: `Sync` where the value is (see above for `Send`).
    sync::<pl::MutexGuard<'static, u32>>();
    sync::<pl::MappedMutexGuard<'static, u32>>();
    sync::<pl::FairMutexGuard<'static, u32>>();
    sync::<pl::MappedFairMutexGuard<'static, u32>>();
    sync::<pl::RwLockReadGuard<'static, u32>>();
    sync::<pl::RwLockWriteGuard<'static, u32>>();
    sync::<pl::RwLockUpgradableReadGuard<'static, u32>>();
    sync::<pl::MappedRwLockReadGuard<'static, u32>>();
    sync::<pl::MappedRwLockWriteGuard<'static, u32>>();
    sync::<pl::ReentrantMutexGuard<'static, u32>>();
    sync::<pl::MappedReentrantMutexGuard<'static, u32>>();
    sync::<pl::ArcMutexGuard<pl::RawMutex, u32>>();
    sync::<pl::ArcRwLockReadGuard<pl::RawRwLock, u32>>();
    sync::<pl::ArcRwLockWriteGuard<pl::RawRwLock, u32>>();
    sync::<pl::ArcRwLockUpgradableReadGuard<pl::RawRwLock, u32>>();
    sync::<pl::ArcReentrantMutexGuard<pl::RawMutex, pl::RawThreadId, u32>>();
}

#[test]
fn mutex_locks_tries_and_reaches_its_value() {
    let mut m: pl::Mutex<u32> = pl::Mutex::new(1);
    *m.get_mut() += 1;
    assert!(!m.is_locked());
    {
        let mut g: pl::MutexGuard<'_, u32> = m.lock();
        *g += 1;
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        assert!(m.try_lock_for(SHORT).is_none());
        assert!(m.try_lock_until(Instant::now() + SHORT).is_none());
        let back: &pl::Mutex<u32> = pl::MutexGuard::mutex(&g);
        assert!(std::ptr::eq(back, &m));
        assert_eq!(format!("{g:?} {g}"), "3 3");
    }
    assert_eq!(*m.try_lock().expect("free"), 3);
    assert_eq!(*m.try_lock_for(LONG).expect("free"), 3);
    assert_eq!(*m.try_lock_until(Instant::now() + LONG).expect("free"), 3);
    let p: *mut u32 = m.data_ptr();
    // SAFETY: nothing holds or reaches the value meanwhile.
    unsafe { *p += 1 };
    assert_eq!(m.into_inner(), 4);
}

#[test]
fn mutex_force_unlock_and_unchecked_guards() {
    let m = pl::Mutex::new(0);
    std::mem::forget(m.lock());
    assert!(m.is_locked());
    // SAFETY: locked by the guard just forgotten.
    unsafe { m.force_unlock() };
    assert!(!m.is_locked());
    std::mem::forget(m.lock());
    // SAFETY: as above.
    unsafe { m.force_unlock_fair() };
    assert!(!m.is_locked());
    std::mem::forget(m.lock());
    // SAFETY: the forgotten guard's hold passes to this one.
    let g: pl::MutexGuard<'_, i32> = unsafe { m.make_guard_unchecked() };
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn mutex_guard_map_unlocked_bump_fair_and_leak() {
    let m = pl::Mutex::new((1u32, 2u32));
    let g = m.lock();
    let mut mapped: pl::MappedMutexGuard<'_, u32> = pl::MutexGuard::map(g, |v| &mut v.1);
    *mapped += 1;
    let mapped = pl::MappedMutexGuard::map(mapped, |v| v);
    let mapped = match pl::MappedMutexGuard::try_map(mapped, |_| None::<&mut u32>) {
        Ok(_) => panic!("mapped to nothing"),
        Err(back) => back,
    };
    let mapped = match pl::MappedMutexGuard::try_map_or_err(mapped, |_| Err::<&mut u32, _>(5)) {
        Ok(_) => panic!("mapped to nothing"),
        Err((back, e)) => {
            assert_eq!(e, 5);
            back
        }
    };
    assert!(m.is_locked(), "a mapped guard holds the lock");
    assert_eq!(format!("{mapped:?} {mapped}"), "3 3");
    pl::MappedMutexGuard::unlock_fair(mapped);
    assert!(!m.is_locked());

    let g = m.lock();
    let g = pl::MutexGuard::try_map(g, |_| None::<&mut u32>).expect_err("no part");
    let g = match pl::MutexGuard::try_map_or_err(g, |_| Err::<&mut u32, _>("no")) {
        Ok(_) => panic!("no part"),
        Err((g, e)) => {
            assert_eq!(e, "no");
            g
        }
    };
    let part = pl::MutexGuard::try_map(g, |v| Some(&mut v.0)).expect("a part");
    drop(part);
    let g = m.lock();
    let part = pl::MutexGuard::try_map_or_err(g, |v| Ok::<_, ()>(&mut v.0)).expect("a part");
    drop(part);

    let mut g = m.lock();
    let seen = pl::MutexGuard::unlocked(&mut g, || m.try_lock().map(|v| v.0));
    assert_eq!(seen, Some(1), "unlocked while the closure ran");
    let seen = pl::MutexGuard::unlocked_fair(&mut g, || m.try_lock().is_some());
    assert!(seen);
    pl::MutexGuard::bump(&mut g);
    assert!(m.is_locked());
    pl::MutexGuard::unlock_fair(g);
    assert!(!m.is_locked());

    let leaked = Box::leak(Box::new(pl::Mutex::new(9)));
    let value: &'static mut i32 = pl::MutexGuard::leak(leaked.lock());
    *value += 1;
    assert!(leaked.is_locked());
    // SAFETY: the leaked guard's hold is the lock's only one.
    unsafe { leaked.force_unlock() };
    assert_eq!(*leaked.lock(), 10);
}

#[test]
fn mutex_arc_guards() {
    let m = Arc::new(pl::Mutex::new(1));
    let mut g: pl::ArcMutexGuard<pl::RawMutex, i32> = m.lock_arc();
    *g += 1;
    assert!(Arc::ptr_eq(pl::ArcMutexGuard::mutex(&g), &m));
    let free = pl::ArcMutexGuard::unlocked(&mut g, || m.try_lock().is_some());
    assert!(free);
    let free = pl::ArcMutexGuard::unlocked_fair(&mut g, || m.try_lock().is_some());
    assert!(free);
    pl::ArcMutexGuard::bump(&mut g);
    assert!(m.try_lock_arc().is_none());
    assert!(m.try_lock_arc_for(SHORT).is_none());
    assert!(m.try_lock_arc_until(Instant::now() + SHORT).is_none());
    // (lock_api 0.4.14's `ArcMutexGuard` has neither `Debug` nor `Display`.)
    assert_eq!(*g, 2);
    let back: Arc<pl::Mutex<i32>> = pl::ArcMutexGuard::into_arc(g);
    assert!(!back.is_locked());
    let g = m.try_lock_arc().expect("free");
    pl::ArcMutexGuard::unlock_fair(g);
    let g = m.try_lock_arc_for(LONG).expect("free");
    let back = pl::ArcMutexGuard::into_arc_fair(g);
    assert!(!back.is_locked());
    let g = m.try_lock_arc_until(Instant::now() + LONG).expect("free");
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn fair_mutex_has_the_mutex_api() {
    let mut f: pl::FairMutex<(u32, u32)> = pl::FairMutex::new((1, 2));
    f.get_mut().0 += 1;
    {
        let g: pl::FairMutexGuard<'_, (u32, u32)> = f.lock();
        assert!(f.is_locked());
        assert!(f.try_lock().is_none());
        assert!(f.try_lock_for(SHORT).is_none());
        assert!(f.try_lock_until(Instant::now() + SHORT).is_none());
        assert!(std::ptr::eq(pl::FairMutexGuard::mutex(&g), &f));
        assert_eq!(format!("{g:?}"), "(2, 2)");
    }
    let g = f.try_lock_for(LONG).expect("free");
    let mut part: pl::MappedFairMutexGuard<'_, u32> = pl::FairMutexGuard::map(g, |v| &mut v.1);
    *part += 1;
    let part = pl::MappedFairMutexGuard::map(part, |v| v);
    let part = pl::MappedFairMutexGuard::try_map(part, |_| None::<&mut u32>).expect_err("none");
    let part = match pl::MappedFairMutexGuard::try_map_or_err(part, |_| Err::<&mut u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((p, _)) => p,
    };
    assert_eq!(format!("{part} {part:?}"), "3 3");
    pl::MappedFairMutexGuard::unlock_fair(part);
    let g = f.try_lock_until(Instant::now() + LONG).expect("free");
    let g = pl::FairMutexGuard::try_map(g, |_| None::<&mut u32>).expect_err("none");
    let g = match pl::FairMutexGuard::try_map_or_err(g, |_| Err::<&mut u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((g, _)) => g,
    };
    let mut g = g;
    assert!(pl::FairMutexGuard::unlocked(&mut g, || f.try_lock().is_some()));
    assert!(pl::FairMutexGuard::unlocked_fair(&mut g, || f.try_lock().is_some()));
    pl::FairMutexGuard::bump(&mut g);
    pl::FairMutexGuard::unlock_fair(g);
    std::mem::forget(f.lock());
    // SAFETY: the forgotten guard's hold.
    unsafe { f.force_unlock() };
    std::mem::forget(f.lock());
    // SAFETY: as above.
    unsafe { f.force_unlock_fair() };
    std::mem::forget(f.lock());
    // SAFETY: the forgotten guard's hold passes to this one.
    drop(unsafe { f.make_guard_unchecked() });
    assert!(!f.is_locked());
    // SAFETY: nothing holds or reaches the value meanwhile.
    unsafe { (*f.data_ptr()).0 = 0 };
    let leaked = Box::leak(Box::new(pl::FairMutex::new(1)));
    *pl::FairMutexGuard::leak(leaked.lock()) += 1;
    // SAFETY: the leaked guard's hold.
    unsafe { leaked.force_unlock() };
    assert_eq!(*leaked.lock(), 2);
    // The Arc guard of a fair mutex: lock_api's `ArcMutexGuard<RawFairMutex, T>`.
    let f = Arc::new(f);
    let mut g: pl::ArcMutexGuard<pl::RawFairMutex, (u32, u32)> = f.lock_arc();
    g.1 += 1;
    assert!(f.try_lock_arc().is_none());
    assert!(f.try_lock_arc_for(SHORT).is_none());
    assert!(f.try_lock_arc_until(Instant::now() + SHORT).is_none());
    assert!(pl::ArcMutexGuard::unlocked(&mut g, || f.try_lock().is_some()));
    assert!(pl::ArcMutexGuard::unlocked_fair(&mut g, || f.try_lock().is_some()));
    pl::ArcMutexGuard::bump(&mut g);
    assert!(Arc::ptr_eq(pl::ArcMutexGuard::mutex(&g), &f));
    let back: Arc<pl::FairMutex<(u32, u32)>> = pl::ArcMutexGuard::into_arc(g);
    pl::ArcMutexGuard::unlock_fair(back.try_lock_arc_for(LONG).expect("free"));
    let _ = pl::ArcMutexGuard::into_arc_fair(back.try_lock_arc_until(Instant::now() + LONG).expect("free"));
    drop(f.try_lock_arc().expect("free"));
    drop(back);
    let f = Arc::try_unwrap(f).expect("the only Arc left");
    assert_eq!(f.into_inner(), (0, 4));
}

#[test]
fn rwlock_reads_writes_and_timed_tries() {
    let mut r: pl::RwLock<u32> = pl::RwLock::new(1);
    *r.get_mut() += 1;
    {
        let a: pl::RwLockReadGuard<'_, u32> = r.read();
        let b = r.read_recursive();
        let c = r.try_read_recursive().expect("shared");
        let d = r.try_read_recursive_for(LONG).expect("shared");
        let e = r.try_read_recursive_until(Instant::now() + LONG).expect("shared");
        assert_eq!(*a + *b + *c + *d + *e, 10);
        assert!(r.is_locked());
        assert!(!r.is_locked_exclusive());
        assert!(r.try_write().is_none());
        assert!(r.try_write_for(SHORT).is_none());
        assert!(r.try_write_until(Instant::now() + SHORT).is_none());
        assert!(std::ptr::eq(pl::RwLockReadGuard::rwlock(&a), &r));
        assert_eq!(format!("{a:?} {a}"), "2 2");
    }
    {
        let mut w: pl::RwLockWriteGuard<'_, u32> = r.write();
        *w += 1;
        assert!(r.is_locked_exclusive());
        assert!(r.try_read().is_none());
        assert!(r.try_read_for(SHORT).is_none());
        assert!(r.try_read_until(Instant::now() + SHORT).is_none());
        assert!(r.try_read_recursive_for(SHORT).is_none());
        assert!(r.try_read_recursive_until(Instant::now() + SHORT).is_none());
        assert!(r.try_upgradable_read().is_none());
        assert!(r.try_upgradable_read_for(SHORT).is_none());
        assert!(r.try_upgradable_read_until(Instant::now() + SHORT).is_none());
        assert!(std::ptr::eq(pl::RwLockWriteGuard::rwlock(&w), &r));
        assert_eq!(format!("{w:?} {w}"), "3 3");
    }
    assert_eq!(*r.try_read().expect("free"), 3);
    assert_eq!(*r.try_read_for(LONG).expect("free"), 3);
    assert_eq!(*r.try_read_until(Instant::now() + LONG).expect("free"), 3);
    *r.try_write().expect("free") += 1;
    *r.try_write_for(LONG).expect("free") += 1;
    *r.try_write_until(Instant::now() + LONG).expect("free") += 1;
    // SAFETY: nothing holds or reaches the value meanwhile.
    unsafe { *r.data_ptr() += 1 };
    assert_eq!(r.into_inner(), 7);
}

#[test]
fn rwlock_upgradable_reads_upgrade_and_downgrade() {
    let r = pl::RwLock::new(1);
    let u: pl::RwLockUpgradableReadGuard<'_, i32> = r.upgradable_read();
    assert!(std::ptr::eq(pl::RwLockUpgradableReadGuard::rwlock(&u), &r));
    assert_eq!(format!("{u:?} {u}"), "1 1");
    // An upgradable read shares with plain reads, not with another upgradable.
    assert!(r.try_read().is_some());
    assert!(r.try_upgradable_read().is_none());
    let mut w = pl::RwLockUpgradableReadGuard::upgrade(u);
    *w += 1;
    let u = pl::RwLockWriteGuard::downgrade_to_upgradable(w);
    let u = pl::RwLockUpgradableReadGuard::try_upgrade(u).expect("no reader");
    let u = pl::RwLockWriteGuard::downgrade_to_upgradable(u);
    let w = pl::RwLockUpgradableReadGuard::try_upgrade_for(u, LONG).expect("no reader");
    let u = pl::RwLockWriteGuard::downgrade_to_upgradable(w);
    let w = pl::RwLockUpgradableReadGuard::try_upgrade_until(u, Instant::now() + LONG)
        .expect("no reader");
    let read: pl::RwLockReadGuard<'_, i32> = pl::RwLockWriteGuard::downgrade(w);
    drop(read);
    let mut u = r.try_upgradable_read_for(LONG).expect("free");
    let doubled = u.with_upgraded(|v| {
        *v *= 2;
        *v
    });
    assert_eq!(doubled, 4);
    assert_eq!(u.try_with_upgraded(|v| *v), Some(4));
    assert_eq!(u.try_with_upgraded_for(LONG, |v| *v), Some(4));
    assert_eq!(u.try_with_upgraded_until(Instant::now() + LONG, |v| *v), Some(4));
    {
        // (A recursive read: a plain one under this thread's upgradable
        // read is a hazard lockcheck reports.)
        let _reader = r.read_recursive();
        // A reader blocks the upgrade: the tries fail and give the guard back.
        let u2 = match pl::RwLockUpgradableReadGuard::try_upgrade(u) {
            Ok(_) => panic!("a reader holds the lock"),
            Err(u) => u,
        };
        let u3 = pl::RwLockUpgradableReadGuard::try_upgrade_for(u2, SHORT).expect_err("reader");
        u = pl::RwLockUpgradableReadGuard::try_upgrade_until(u3, Instant::now() + SHORT)
            .expect_err("reader");
        assert_eq!(u.try_with_upgraded(|v| *v), None);
        assert_eq!(u.try_with_upgraded_for(SHORT, |v| *v), None);
        assert_eq!(u.try_with_upgraded_until(Instant::now() + SHORT, |v| *v), None);
    }
    assert!(pl::RwLockUpgradableReadGuard::unlocked(&mut u, || r.try_write().is_some()));
    assert!(pl::RwLockUpgradableReadGuard::unlocked_fair(&mut u, || r.try_write().is_some()));
    pl::RwLockUpgradableReadGuard::bump(&mut u);
    let read = pl::RwLockUpgradableReadGuard::downgrade(u);
    drop(read);
    let u = r.try_upgradable_read_until(Instant::now() + LONG).expect("free");
    pl::RwLockUpgradableReadGuard::unlock_fair(u);
    assert!(!r.is_locked());
}

#[test]
fn rwlock_guards_map_unlock_bump_and_force_unlock() {
    let r = pl::RwLock::new((1u32, 2u32));
    let g = r.read();
    let part: pl::MappedRwLockReadGuard<'_, u32> = pl::RwLockReadGuard::map(g, |v| &v.1);
    let part = pl::MappedRwLockReadGuard::map(part, |v| v);
    let part = pl::MappedRwLockReadGuard::try_map(part, |_| None::<&u32>).expect_err("none");
    // lock_api 0.4.14 spells this one `try_map_or_else` on the mapped read
    // guard (and `try_map_or_err` on every other guard).
    let part = match pl::MappedRwLockReadGuard::try_map_or_else(part, |_| Err::<&u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((p, _)) => p,
    };
    assert_eq!(format!("{part} {part:?}"), "2 2");
    pl::MappedRwLockReadGuard::unlock_fair(part);
    let g = r.read();
    let g = pl::RwLockReadGuard::try_map(g, |_| None::<&u32>).expect_err("none");
    let g = match pl::RwLockReadGuard::try_map_or_err(g, |_| Err::<&u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((g, _)) => g,
    };
    let mut g = g;
    assert!(pl::RwLockReadGuard::unlocked(&mut g, || r.try_write().is_some()));
    assert!(pl::RwLockReadGuard::unlocked_fair(&mut g, || r.try_write().is_some()));
    pl::RwLockReadGuard::bump(&mut g);
    pl::RwLockReadGuard::unlock_fair(g);

    let w = r.write();
    let mut part: pl::MappedRwLockWriteGuard<'_, u32> = pl::RwLockWriteGuard::map(w, |v| &mut v.0);
    *part += 1;
    let part = pl::MappedRwLockWriteGuard::map(part, |v| v);
    let part = pl::MappedRwLockWriteGuard::try_map(part, |_| None::<&mut u32>).expect_err("none");
    let part = match pl::MappedRwLockWriteGuard::try_map_or_err(part, |_| Err::<&mut u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((p, _)) => p,
    };
    assert_eq!(format!("{part} {part:?}"), "2 2");
    pl::MappedRwLockWriteGuard::unlock_fair(part);
    let w = r.write();
    let w = pl::RwLockWriteGuard::try_map(w, |_| None::<&mut u32>).expect_err("none");
    let w = match pl::RwLockWriteGuard::try_map_or_err(w, |_| Err::<&mut u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((w, _)) => w,
    };
    let mut w = w;
    assert!(pl::RwLockWriteGuard::unlocked(&mut w, || r.try_read().is_some()));
    assert!(pl::RwLockWriteGuard::unlocked_fair(&mut w, || r.try_read().is_some()));
    pl::RwLockWriteGuard::bump(&mut w);
    pl::RwLockWriteGuard::unlock_fair(w);
    let g = r.read();
    let _ = pl::RwLockReadGuard::try_map(g, |v| Some(&v.0)).expect("a part");
    let g = r.read();
    let _ = pl::RwLockReadGuard::try_map_or_err(g, |v| Ok::<_, ()>(&v.0)).expect("a part");

    std::mem::forget(r.read());
    // SAFETY: the forgotten guard's shared hold.
    unsafe { r.force_unlock_read() };
    std::mem::forget(r.read());
    // SAFETY: as above.
    unsafe { r.force_unlock_read_fair() };
    std::mem::forget(r.write());
    // SAFETY: the forgotten guard's exclusive hold.
    unsafe { r.force_unlock_write() };
    std::mem::forget(r.write());
    // SAFETY: as above.
    unsafe { r.force_unlock_write_fair() };
    assert!(!r.is_locked());
    std::mem::forget(r.read());
    // SAFETY: the forgotten guard's hold passes to this one.
    drop(unsafe { r.make_read_guard_unchecked() });
    std::mem::forget(r.write());
    // SAFETY: as above.
    drop(unsafe { r.make_write_guard_unchecked() });
    std::mem::forget(r.upgradable_read());
    // SAFETY: as above.
    drop(unsafe { r.make_upgradable_guard_unchecked() });
    assert!(!r.is_locked());
}

#[test]
fn rwlock_arc_guards() {
    let r = Arc::new(pl::RwLock::new(1));
    {
        let a: pl::ArcRwLockReadGuard<pl::RawRwLock, i32> = r.read_arc();
        let b = r.read_arc_recursive();
        let c = r.try_read_arc().expect("shared");
        let d = r.try_read_recursive_arc().expect("shared");
        let e = r.try_read_arc_for(LONG).expect("shared");
        let f = r.try_read_arc_until(Instant::now() + LONG).expect("shared");
        let g = r.try_read_arc_recursive_for(LONG).expect("shared");
        let h = r.try_read_arc_recursive_until(Instant::now() + LONG).expect("shared");
        assert_eq!(*a + *b + *c + *d + *e + *f + *g + *h, 8);
        assert!(Arc::ptr_eq(pl::ArcRwLockReadGuard::rwlock(&a), &r));
        assert!(r.try_write_arc().is_none());
        assert!(r.try_write_arc_for(SHORT).is_none());
        assert!(r.try_write_arc_until(Instant::now() + SHORT).is_none());
        assert_eq!(format!("{a:?} {a}"), "1 1");
        let mut a = a;
        // A bump re-takes a plain read: with no other read of this thread
        // held, or lockcheck rightly reports a read under a read.
        drop((b, c, d, e, f, g, h));
        pl::ArcRwLockReadGuard::bump(&mut a);
        assert!(pl::ArcRwLockReadGuard::unlocked(&mut a, || r.try_write().is_some()));
        assert!(pl::ArcRwLockReadGuard::unlocked_fair(&mut a, || r.try_write().is_some()));
        let back: Arc<pl::RwLock<i32>> = pl::ArcRwLockReadGuard::into_arc(a);
        assert!(!back.is_locked());
        pl::ArcRwLockReadGuard::unlock_fair(r.read_arc());
        let _ = pl::ArcRwLockReadGuard::into_arc_fair(r.read_arc());
    }
    {
        let mut w: pl::ArcRwLockWriteGuard<pl::RawRwLock, i32> = r.write_arc();
        *w += 1;
        assert!(Arc::ptr_eq(pl::ArcRwLockWriteGuard::rwlock(&w), &r));
        assert!(r.try_read_arc().is_none());
        assert!(r.try_read_arc_for(SHORT).is_none());
        assert!(r.try_read_arc_until(Instant::now() + SHORT).is_none());
        assert!(r.try_read_arc_recursive_for(SHORT).is_none());
        assert!(r.try_read_arc_recursive_until(Instant::now() + SHORT).is_none());
        assert!(r.try_upgradable_read_arc().is_none());
        assert!(r.try_upgradable_read_arc_for(SHORT).is_none());
        assert!(r.try_upgradable_read_arc_until(Instant::now() + SHORT).is_none());
        assert_eq!(format!("{w:?} {w}"), "2 2");
        assert!(pl::ArcRwLockWriteGuard::unlocked(&mut w, || r.try_read().is_some()));
        assert!(pl::ArcRwLockWriteGuard::unlocked_fair(&mut w, || r.try_read().is_some()));
        pl::ArcRwLockWriteGuard::bump(&mut w);
        let u = pl::ArcRwLockWriteGuard::downgrade_to_upgradable(w);
        let w = pl::ArcRwLockUpgradableReadGuard::upgrade(u);
        let read = pl::ArcRwLockWriteGuard::downgrade(w);
        drop(read);
        pl::ArcRwLockWriteGuard::unlock_fair(r.write_arc());
        let _ = pl::ArcRwLockWriteGuard::into_arc(r.try_write_arc().expect("free"));
        let _ = pl::ArcRwLockWriteGuard::into_arc_fair(r.try_write_arc_for(LONG).expect("free"));
        drop(r.try_write_arc_until(Instant::now() + LONG).expect("free"));
    }
    {
        let mut u: pl::ArcRwLockUpgradableReadGuard<pl::RawRwLock, i32> = r.upgradable_read_arc();
        assert!(Arc::ptr_eq(pl::ArcRwLockUpgradableReadGuard::rwlock(&u), &r));
        assert_eq!(format!("{u:?} {u}"), "2 2");
        assert!(pl::ArcRwLockUpgradableReadGuard::unlocked(&mut u, || r.try_write().is_some()));
        assert!(pl::ArcRwLockUpgradableReadGuard::unlocked_fair(&mut u, || {
            r.try_write().is_some()
        }));
        pl::ArcRwLockUpgradableReadGuard::bump(&mut u);
        assert_eq!(u.with_upgraded(|v| *v), 2);
        assert_eq!(u.try_with_upgraded(|v| *v), Some(2));
        assert_eq!(u.try_with_upgraded_for(LONG, |v| *v), Some(2));
        assert_eq!(u.try_with_upgraded_until(Instant::now() + LONG, |v| *v), Some(2));
        let w = pl::ArcRwLockUpgradableReadGuard::try_upgrade(u).expect("no reader");
        let u = pl::ArcRwLockWriteGuard::downgrade_to_upgradable(w);
        let w = pl::ArcRwLockUpgradableReadGuard::try_upgrade_for(u, LONG).expect("free");
        let u = pl::ArcRwLockWriteGuard::downgrade_to_upgradable(w);
        let w = pl::ArcRwLockUpgradableReadGuard::try_upgrade_until(u, Instant::now() + LONG)
            .expect("free");
        let u = pl::ArcRwLockWriteGuard::downgrade_to_upgradable(w);
        let read = pl::ArcRwLockUpgradableReadGuard::downgrade(u);
        drop(read);
        pl::ArcRwLockUpgradableReadGuard::unlock_fair(r.upgradable_read_arc());
        let _ = pl::ArcRwLockUpgradableReadGuard::into_arc(r.try_upgradable_read_arc().expect("free"));
        let u = r.try_upgradable_read_arc_for(LONG).expect("free");
        let _ = pl::ArcRwLockUpgradableReadGuard::into_arc_fair(u);
        drop(r.try_upgradable_read_arc_until(Instant::now() + LONG).expect("free"));
    }
    std::mem::forget(r.read_arc());
    // SAFETY: the forgotten guard's hold passes to this one.
    drop(unsafe { r.make_arc_read_guard_unchecked() });
    std::mem::forget(r.write_arc());
    // SAFETY: as above.
    drop(unsafe { r.make_arc_write_guard_unchecked() });
    std::mem::forget(r.upgradable_read_arc());
    // SAFETY: as above.
    drop(unsafe { r.make_upgradable_arc_guard_unchecked() });
    // An Arc guard holds the lock until it is dropped: another thread sees
    // it locked meanwhile, and free after.
    let w = r.write_arc();
    let (tx, rx) = mpsc::channel::<()>();
    let r2 = Arc::clone(&r);
    let seen = elsewhere(move || {
        let locked = r2.is_locked_exclusive();
        drop(tx);
        locked
    });
    assert!(seen);
    assert!(rx.recv().is_err());
    drop(w);
    assert!(!r.is_locked());
}

#[test]
fn reentrant_mutex_api() {
    let mut re: pl::ReentrantMutex<(u32, u32)> = pl::ReentrantMutex::new((1, 2));
    re.get_mut().0 += 1;
    {
        let a: pl::ReentrantMutexGuard<'_, (u32, u32)> = re.lock();
        let b = re.lock();
        let c = re.try_lock().expect("owner");
        let d = re.try_lock_for(LONG).expect("owner");
        let e = re.try_lock_until(Instant::now() + LONG).expect("owner");
        assert!(re.is_locked());
        assert!(re.is_owned_by_current_thread());
        assert!(std::ptr::eq(pl::ReentrantMutexGuard::remutex(&a), &re));
        assert_eq!(a.0 + b.0 + c.0 + d.0 + e.0, 10);
        assert_eq!(format!("{a:?}"), "(2, 2)");
        let re = &re;
        let other = thread::scope(|s| {
            s.spawn(|| {
                (
                    re.is_owned_by_current_thread(),
                    re.try_lock().is_none(),
                    re.try_lock_for(SHORT).is_none(),
                    re.try_lock_until(Instant::now() + SHORT).is_none(),
                )
            })
            .join()
            .expect("the other thread")
        });
        assert_eq!(other, (false, true, true, true));
    }
    let g = re.lock();
    let part: pl::MappedReentrantMutexGuard<'_, u32> = pl::ReentrantMutexGuard::map(g, |v| &v.1);
    let part = pl::MappedReentrantMutexGuard::map(part, |v| v);
    let part = pl::MappedReentrantMutexGuard::try_map(part, |_| None::<&u32>).expect_err("none");
    let part = match pl::MappedReentrantMutexGuard::try_map_or_err(part, |_| Err::<&u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((p, _)) => p,
    };
    assert_eq!(format!("{part} {part:?}"), "2 2");
    pl::MappedReentrantMutexGuard::unlock_fair(part);
    let g = re.lock();
    let g = pl::ReentrantMutexGuard::try_map(g, |_| None::<&u32>).expect_err("none");
    let mut g = match pl::ReentrantMutexGuard::try_map_or_err(g, |_| Err::<&u32, _>(1)) {
        Ok(_) => panic!("none"),
        Err((g, _)) => g,
    };
    assert!(pl::ReentrantMutexGuard::unlocked(&mut g, || !re.is_locked()));
    assert!(pl::ReentrantMutexGuard::unlocked_fair(&mut g, || !re.is_locked()));
    pl::ReentrantMutexGuard::bump(&mut g);
    pl::ReentrantMutexGuard::unlock_fair(g);
    std::mem::forget(re.lock());
    // SAFETY: the forgotten guard's hold.
    unsafe { re.force_unlock() };
    std::mem::forget(re.lock());
    // SAFETY: as above.
    unsafe { re.force_unlock_fair() };
    std::mem::forget(re.lock());
    // SAFETY: the forgotten guard's hold passes to this one.
    drop(unsafe { re.make_guard_unchecked() });
    assert!(!re.is_locked());
    // SAFETY: nothing holds or reaches the value meanwhile.
    unsafe { (*re.data_ptr()).0 = 5 };

    let re = Arc::new(re);
    let mut g: pl::ArcReentrantMutexGuard<pl::RawMutex, pl::RawThreadId, (u32, u32)> =
        re.lock_arc();
    let h = re.try_lock_arc().expect("owner");
    let i = re.try_lock_arc_for(LONG).expect("owner");
    let j = re.try_lock_arc_until(Instant::now() + LONG).expect("owner");
    drop((h, i, j));
    assert!(Arc::ptr_eq(pl::ArcReentrantMutexGuard::remutex(&g), &re));
    assert!(pl::ArcReentrantMutexGuard::unlocked(&mut g, || !re.is_locked()));
    assert!(pl::ArcReentrantMutexGuard::unlocked_fair(&mut g, || !re.is_locked()));
    pl::ArcReentrantMutexGuard::bump(&mut g);
    assert_eq!(g.0, 5);
    let back: Arc<pl::ReentrantMutex<(u32, u32)>> = pl::ArcReentrantMutexGuard::into_arc(g);
    pl::ArcReentrantMutexGuard::unlock_fair(back.lock_arc());
    let _ = pl::ArcReentrantMutexGuard::into_arc_fair(back.lock_arc());
    std::mem::forget(re.lock_arc());
    // SAFETY: the forgotten guard's hold passes to this one.
    drop(unsafe { re.make_arc_guard_unchecked() });
    assert!(!re.is_locked());
}

#[test]
fn condvar_waits_and_notifies() {
    let pair = Arc::new((pl::Mutex::new(0u32), pl::Condvar::new()));
    let (started_tx, started) = mpsc::channel();
    let waiter = {
        let pair = Arc::clone(&pair);
        thread::spawn(move || {
            let (m, c) = &*pair;
            let mut g = m.lock();
            started_tx.send(()).expect("the main thread waits");
            // Each step waits for the main thread's next value.
            while *g == 0 {
                c.wait(&mut g);
            }
            let r: pl::WaitTimeoutResult = c.wait_while_for(&mut g, |v| *v == 1, LONG);
            assert!(!r.timed_out());
            let r = c.wait_while_until(&mut g, |v| *v == 2, Instant::now() + LONG);
            assert!(!r.timed_out());
            c.wait_while(&mut g, |v| *v == 3);
            while *g == 4 {
                assert!(!c.wait_for(&mut g, LONG).timed_out());
            }
            while *g == 5 {
                assert!(!c.wait_until(&mut g, Instant::now() + LONG).timed_out());
            }
            *g
        })
    };
    started.recv().expect("the waiter started");
    let (m, c) = &*pair;
    for next in 1..=6 {
        // The waiter holds the mutex except while it waits: once this
        // thread has it, the waiter waits (or is done with this step).
        let mut g = m.lock();
        *g = next;
        if next % 2 == 0 {
            c.notify_all();
        } else {
            c.notify_one();
        }
    }
    assert_eq!(waiter.join().expect("the waiter"), 6);
    let mut g = m.lock();
    assert!(c.wait_for(&mut g, SHORT).timed_out());
    assert!(c.wait_until(&mut g, Instant::now() + SHORT).timed_out());
    assert!(c.wait_while_for(&mut g, |_| true, SHORT).timed_out());
    assert!(c.wait_while_until(&mut g, |_| true, Instant::now() + SHORT).timed_out());
    let r = pl::WaitTimeoutResult::timed_out(c.wait_for(&mut g, SHORT));
    assert!(r);
    assert!(format!("{:?}", c.wait_for(&mut g, SHORT)).contains("true"));
    assert!(!c.notify_one());
    assert_eq!(c.notify_all(), 0);
}

#[test]
fn once_runs_once_and_tells_its_state() {
    let once = pl::Once::new();
    assert_eq!(once.state(), pl::OnceState::New);
    let mut runs = 0;
    once.call_once(|| runs += 1);
    once.call_once(|| runs += 1);
    assert_eq!(runs, 1);
    let state: pl::OnceState = once.state();
    assert!(state.done() && !state.poisoned());
    assert_eq!(state, pl::OnceState::Done);

    let poisoned = pl::Once::new();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poisoned.call_once(|| panic!("the initialisation fails"));
    }));
    assert!(panicked.is_err());
    assert_eq!(poisoned.state(), pl::OnceState::Poisoned);
    assert!(poisoned.state().poisoned());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poisoned.call_once(|| ());
    }));
    assert!(again.is_err(), "call_once on a poisoned Once panics");
    let mut seen = None;
    poisoned.call_once_force(|state: pl::OnceState| seen = Some(state));
    assert_eq!(seen, Some(pl::OnceState::Poisoned));
    assert_eq!(poisoned.state(), pl::OnceState::Done);

    // The state while it runs, and another thread waiting for it.
    let once = Arc::new(pl::Once::new());
    let (running_tx, running) = mpsc::channel();
    let (finish_tx, finish) = mpsc::channel::<()>();
    let runner = {
        let once = Arc::clone(&once);
        thread::spawn(move || {
            once.call_once(|| {
                running_tx.send(()).expect("the main thread waits");
                finish.recv().expect("the main thread says when");
            })
        })
    };
    running.recv().expect("the runner runs");
    assert_eq!(once.state(), pl::OnceState::InProgress);
    let copied = pl::OnceState::InProgress;
    #[allow(clippy::clone_on_copy, reason = "`Clone` is part of the API probed")]
    let cloned = copied.clone();
    assert!(format!("{cloned:?}").contains("InProgress"));
    finish_tx.send(()).expect("the runner waits");
    once.call_once(|| panic!("it ran on the other thread"));
    runner.join().expect("the runner");
    assert!(once.state().done());
}

#[test]
fn raw_locks_through_lock_api() {
    // The lock_api types a generic user names, with lockcheck's raw locks.
    type LMutex<T> = pl::lock_api::Mutex<pl::RawMutex, T>;
    type LFair<T> = pl::lock_api::Mutex<pl::RawFairMutex, T>;
    type LRwLock<T> = pl::lock_api::RwLock<pl::RawRwLock, T>;
    type LRe<T> = pl::lock_api::ReentrantMutex<pl::RawMutex, pl::RawThreadId, T>;
    static STATIC: LMutex<u32> = LMutex::new(1);
    static CONST: LMutex<u32> = LMutex::const_new(<pl::RawMutex as pl::lock_api::RawMutex>::INIT, 1);
    assert_eq!(*STATIC.lock() + *CONST.lock(), 2);

    let m: LMutex<u32> = LMutex::from_raw(pl::RawMutex::INIT, 1);
    {
        let mut g: pl::lock_api::MutexGuard<'_, pl::RawMutex, u32> = m.lock();
        *g += 1;
        assert!(m.is_locked());
        assert!(m.try_lock_for(SHORT).is_none());
        // SAFETY: only asked whether it is locked.
        assert!(unsafe { m.raw() }.is_locked());
    }
    let f: LFair<u32> = LFair::new(1);
    let mut g = f.lock();
    pl::lock_api::MutexGuard::bump(&mut g);
    pl::lock_api::MutexGuard::unlock_fair(g);
    let r: LRwLock<u32> = LRwLock::new(1);
    {
        let a = r.read();
        let b = r.read_recursive();
        assert_eq!(*a + *b, 2);
        assert!(r.try_write_for(SHORT).is_none());
    }
    let u = r.upgradable_read();
    let w = pl::lock_api::RwLockUpgradableReadGuard::upgrade(u);
    let read = pl::lock_api::RwLockWriteGuard::downgrade(w);
    drop(read);
    let re: LRe<u32> = LRe::new(1);
    let a = re.lock();
    let b = re.lock();
    assert_eq!(*a + *b, 2);
    drop((a, b));
    assert!(!re.is_locked());
    let re2: LRe<u32> = LRe::const_new(pl::RawMutex::INIT, pl::RawThreadId::INIT, 0);
    assert!(!re2.is_owned_by_current_thread());

    // The raw traits directly, as a lock_api implementation calls them.
    let raw = pl::RawMutex::INIT;
    raw.lock();
    assert!(raw.is_locked());
    assert!(!raw.try_lock());
    assert!(!raw.try_lock_for(SHORT));
    assert!(!raw.try_lock_until(Instant::now() + SHORT));
    // SAFETY: each unlock is of this thread's own hold, taken just before.
    unsafe {
        raw.bump();
        raw.unlock_fair();
        assert!(raw.try_lock_for(LONG));
        raw.unlock();
        assert!(raw.try_lock_until(Instant::now() + LONG));
        raw.unlock();
    }
    let fair = pl::RawFairMutex::INIT;
    fair.lock();
    assert!(!fair.try_lock_for(SHORT));
    // SAFETY: as above.
    unsafe {
        fair.bump();
        fair.unlock();
        assert!(fair.try_lock());
        fair.unlock_fair();
        assert!(fair.try_lock_until(Instant::now() + LONG));
        fair.unlock();
    }
    assert!(!fair.is_locked());

    let rw = pl::RawRwLock::INIT;
    // One plain read, then recursive ones and tries (a plain read under a
    // read is a hazard lockcheck reports).
    rw.lock_shared();
    rw.lock_shared_recursive();
    assert!(rw.try_lock_shared());
    assert!(rw.try_lock_shared_recursive());
    assert!(rw.try_lock_shared_for(LONG));
    assert!(rw.try_lock_shared_until(Instant::now() + LONG));
    assert!(rw.try_lock_shared_recursive_for(LONG));
    assert!(rw.try_lock_shared_recursive_until(Instant::now() + LONG));
    assert!(rw.is_locked() && !rw.is_locked_exclusive());
    assert!(!rw.try_lock_exclusive());
    assert!(!rw.try_lock_exclusive_for(SHORT));
    assert!(!rw.try_lock_exclusive_until(Instant::now() + SHORT));
    // SAFETY: eight shared holds of this thread's, released one by one
    // (the last after a bump, which re-takes a plain read).
    unsafe {
        for _ in 0..7 {
            rw.unlock_shared();
        }
        rw.bump_shared();
        rw.unlock_shared_fair();
    }
    assert!(!rw.is_locked());
    rw.lock_exclusive();
    assert!(rw.is_locked_exclusive());
    // SAFETY: this thread's exclusive hold, changed and released in turn.
    unsafe {
        rw.bump_exclusive();
        rw.downgrade();
        rw.unlock_shared();
        assert!(rw.try_lock_exclusive());
        rw.unlock_exclusive_fair();
        assert!(rw.try_lock_exclusive_for(LONG));
        rw.unlock_exclusive();
        assert!(rw.try_lock_exclusive_until(Instant::now() + LONG));
        rw.downgrade_to_upgradable();
        rw.downgrade_upgradable();
        rw.unlock_shared();
    }
    rw.lock_upgradable();
    assert!(!rw.try_lock_upgradable());
    assert!(!rw.try_lock_upgradable_for(SHORT));
    assert!(!rw.try_lock_upgradable_until(Instant::now() + SHORT));
    // SAFETY: this thread's upgradable hold, changed and released in turn.
    unsafe {
        rw.bump_upgradable();
        rw.upgrade();
        rw.downgrade_to_upgradable();
        assert!(rw.try_upgrade());
        rw.downgrade_to_upgradable();
        assert!(rw.try_upgrade_for(LONG));
        rw.downgrade_to_upgradable();
        assert!(rw.try_upgrade_until(Instant::now() + LONG));
        rw.downgrade_to_upgradable();
        rw.unlock_upgradable_fair();
        assert!(rw.try_lock_upgradable_for(LONG));
        rw.unlock_upgradable();
        assert!(rw.try_lock_upgradable_until(Instant::now() + LONG));
        rw.unlock_upgradable();
    }
    assert!(!rw.is_locked());
    let id = pl::RawThreadId::INIT.nonzero_thread_id();
    let other = elsewhere(|| pl::RawThreadId::INIT.nonzero_thread_id());
    assert_ne!(id, other);
    assert_eq!(id, pl::RawThreadId.nonzero_thread_id());
}

#[test]
fn crate_root_reexports() {
    // `lock_api` itself, re-exported at the root.
    let m: pl::lock_api::Mutex<pl::RawMutex, ()> = pl::lock_api::Mutex::new(());
    drop(m.lock());
    // Each name at the root, as a type.
    let _: Option<pl::WaitTimeoutResult> = None;
    let _: Option<pl::MappedMutexGuard<'static, ()>> = None;
    let _: Option<pl::MappedFairMutexGuard<'static, ()>> = None;
    let _: Option<pl::MappedRwLockReadGuard<'static, ()>> = None;
    let _: Option<pl::MappedRwLockWriteGuard<'static, ()>> = None;
    let _: Option<pl::MappedReentrantMutexGuard<'static, ()>> = None;
    let _: Option<pl::RawMutex> = None;
    let _: Option<pl::RawFairMutex> = None;
    let _: Option<pl::RawRwLock> = None;
    let _: Option<pl::RawThreadId> = None;
}
