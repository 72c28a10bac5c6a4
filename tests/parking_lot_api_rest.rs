//! The parking_lot API added beside tests/parking_lot_api.rs's: the
//! `make_*_unchecked` guards, the upgradable Arc guard's timed upgrades and
//! `with_upgraded`, `ArcReentrantMutexGuard::unlocked_fair`. Each goes
//! through the detectors, shown by the case it must report and the near
//! miss it must not. Locks are named uniquely per test and findings
//! filtered by name (tests share one process); threads are ordered by
//! joins, never sleeps.

use std::sync::Arc;
use std::time::Duration;

use lockcheck::{
    ArcReentrantMutexGuard, ArcRwLockUpgradableReadGuard, FairMutex, FindingKind, Mutex,
    ReentrantMutex, RwLock,
};

mod common;
use common::{about, collect, kinds, on_thread_within as on_thread};

#[test]
fn an_unchecked_guard_takes_over_a_forgotten_guards_hold() {
    collect();
    // Near miss: the made guard's drop releases the hold, so the mutex is
    // free for this thread again and nothing is ordered after it.
    let m = Mutex::named("unchecked.m", 0);
    let other = Mutex::named("unchecked.other", ());
    std::mem::forget(m.lock());
    // SAFETY: this thread holds `m` through the forgotten guard.
    let g = unsafe { m.make_guard_unchecked() };
    drop(g);
    {
        let _other = other.lock();
        *m.lock() += 1; // other -> m, the only order
    }
    let f = FairMutex::named("unchecked.fair", 0);
    std::mem::forget(f.lock());
    // SAFETY: as above.
    drop(unsafe { f.make_guard_unchecked() });
    drop(f.lock());
    let r = RwLock::named("unchecked.rw", 0);
    std::mem::forget(r.read_recursive());
    // SAFETY: this thread reads `r` through the forgotten guard.
    drop(unsafe { r.make_read_guard_unchecked() });
    std::mem::forget(r.write());
    // SAFETY: this thread writes `r` through the forgotten guard.
    drop(unsafe { r.make_write_guard_unchecked() });
    std::mem::forget(r.upgradable_read());
    // SAFETY: as above, for an upgradable read.
    drop(unsafe { r.make_upgradable_guard_unchecked() });
    drop(r.write());
    let re = ReentrantMutex::named("unchecked.re", ());
    std::mem::forget(re.lock());
    // SAFETY: this thread holds a level of `re`.
    drop(unsafe { re.make_guard_unchecked() });
    assert!(!re.is_locked());
    assert!(about("unchecked.").is_empty(), "{:?}", about("unchecked."));

    // The case: while the made guard lives, it holds the mutex, so a
    // re-lock is a self-deadlock and what is locked under it is ordered.
    let m = Arc::new(Mutex::named("uncheckedcase.m", 0));
    let finished = {
        let m = Arc::clone(&m);
        on_thread(move || {
            std::mem::forget(m.lock());
            // SAFETY: this thread holds `m` through the forgotten guard.
            let _g = unsafe { m.make_guard_unchecked() };
            drop(m.lock());
        })
    };
    assert!(!finished, "the re-lock panics instead of hanging");
    assert_eq!(kinds(&about("uncheckedcase.")), [FindingKind::SelfDeadlock]);
    assert!(
        !m.is_locked(),
        "the made guard unlocked as the thread unwound"
    );
}

#[test]
fn an_arc_upgradable_guards_timed_upgrade_holds_as_a_writer() {
    collect();
    let l = Arc::new(RwLock::named("arcupfor.l", 0));
    let m = Mutex::named("arcupfor.m", ());
    let u = l.upgradable_read_arc();
    let w = ArcRwLockUpgradableReadGuard::try_upgrade_for(u, Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("no reader"));
    drop(m.lock()); // l (write) -> m
    drop(w);
    {
        let _m = m.lock();
        drop(l.read()); // m -> l (read): a writer of l waits for m
    }
    assert_eq!(kinds(&about("arcupfor.")), [FindingKind::LockOrderCycle]);

    // Near miss: the upgrade given back (a reader holds the lock) leaves an
    // upgradable read, which a recursive read shares with.
    let l = Arc::new(RwLock::named("arcupforok.l", 0));
    let u = l.upgradable_read_arc();
    let reader = l.read_recursive();
    let u = ArcRwLockUpgradableReadGuard::try_upgrade_until(
        u,
        std::time::Instant::now() + Duration::from_millis(1),
    )
    .expect_err("a reader holds the lock");
    drop(reader);
    drop(u);
    assert!(!l.is_locked());
    assert!(
        about("arcupforok.").is_empty(),
        "{:?}",
        about("arcupforok.")
    );
}

#[test]
fn an_arc_upgradable_guards_with_upgraded_is_checked_as_a_writer() {
    collect();
    let l = Arc::new(RwLock::named("arcwith.l", 0));
    let m = Mutex::named("arcwith.m", ());
    let mut u = l.upgradable_read_arc();
    u.with_upgraded(|v| {
        *v += 1;
        drop(m.lock()); // l (write) -> m
    });
    drop(u);
    {
        let _m = m.lock();
        drop(l.read()); // m -> l (read)
    }
    assert_eq!(kinds(&about("arcwith.")), [FindingKind::LockOrderCycle]);

    // The case of `with_upgraded` itself: the thread still reads the lock,
    // so the upgrade inside would wait for itself.
    let finished = on_thread(|| {
        let l = Arc::new(RwLock::named("arcwithself.l", 0));
        let mut u = l.upgradable_read_arc();
        let _r = l.read_recursive();
        u.with_upgraded(|v| *v += 1);
    });
    assert!(!finished, "panicked out of the hang");
    assert_eq!(kinds(&about("arcwithself.")), [FindingKind::SelfDeadlock]);

    // Near miss: the tries, with nothing else held, find nothing.
    let l = Arc::new(RwLock::named("arcwithok.l", 0));
    let mut u = l.upgradable_read_arc();
    assert_eq!(u.try_with_upgraded(|v| *v), Some(0));
    assert_eq!(
        u.try_with_upgraded_for(Duration::from_secs(10), |v| *v),
        Some(0)
    );
    drop(u);
    assert!(about("arcwithok.").is_empty());
}

#[test]
fn a_lock_taken_inside_an_arc_reentrant_guards_unlocked_fair_is_not_ordered_after_it() {
    collect();
    let re = Arc::new(ReentrantMutex::named("arcrefair.re", ()));
    let m = Mutex::named("arcrefair.m", ());
    let mut g = re.lock_arc();
    ArcReentrantMutexGuard::unlocked_fair(&mut g, || drop(m.lock())); // re not held
    let back = ArcReentrantMutexGuard::into_arc_fair(g);
    assert!(!back.is_locked());
    {
        let _m = m.lock();
        drop(re.lock()); // m -> re, the only order
    }
    assert!(about("arcrefair.").is_empty(), "{:?}", about("arcrefair."));

    // The case: the same lock taken under the held guard.
    let re = Arc::new(ReentrantMutex::named("arcrefaircase.re", ()));
    let m = Mutex::named("arcrefaircase.m", ());
    {
        let _g = re.lock_arc();
        drop(m.lock()); // re -> m
    }
    {
        let _m = m.lock();
        drop(re.lock()); // m -> re
    }
    assert_eq!(
        kinds(&about("arcrefaircase.")),
        [FindingKind::LockOrderCycle]
    );
}

/// Drops `guard` in a frame of its own, as code that passes guards on does.
fn drop_it<G>(guard: G) {
    drop(guard);
}

#[test]
fn a_fair_mutexs_arc_guard_holds_and_releases_through_the_detectors() {
    collect();
    let f = Arc::new(FairMutex::named("arcfair.f", 0));
    let m = Mutex::named("arcfair.m", ());
    {
        let mut g = f.lock_arc();
        *g += 1;
        drop(m.lock()); // f -> m, f held through an Arc guard
    }
    {
        let _m = m.lock();
        drop(f.lock()); // m -> f
    }
    assert_eq!(kinds(&about("arcfair.")), [FindingKind::LockOrderCycle]);

    // Near miss: an Arc guard let go by `unlocked` and dropped in another
    // function leaves no edge and no hold.
    let f = Arc::new(FairMutex::named("arcfairok.f", 0));
    let m = Mutex::named("arcfairok.m", ());
    let mut g = f.lock_arc();
    lockcheck::ArcMutexGuard::unlocked(&mut g, || drop(m.lock()));
    lockcheck::ArcMutexGuard::bump(&mut g);
    drop_it(g);
    {
        let _m = m.lock();
        drop(f.lock()); // m -> f, the only order
    }
    assert!(!f.is_locked());
    assert!(about("arcfairok.").is_empty(), "{:?}", about("arcfairok."));
}
