//! The parts of parking_lot 0.12's lock API beyond `lock`/`read`/`write`
//! and their guards' drops: each goes through the same detectors, shown by
//! the case it must report and the near miss it must not. Tests share one
//! process (and its findings), so each names its locks uniquely and looks
//! only at findings about them. Threads are ordered by joins, never sleeps.

use std::thread;

use lockcheck::config::{self, Policy};
use lockcheck::{Finding, FindingKind, Mutex, ReentrantMutex, RwLock};

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
