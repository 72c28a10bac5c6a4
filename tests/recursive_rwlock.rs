//! `lockcheck::parking_lot_013::RecursiveRwLock` (parking_lot 0.13's
//! shape): its reads are recursive reads, checked as such. Each detector
//! is shown on the case it must report and the near miss it must not;
//! locks are named uniquely and findings filtered by name (one process).

use std::sync::Arc;

use lockcheck::parking_lot_013::{RecursiveRwLock, RecursiveRwLockUpgradableReadGuard};
use lockcheck::{FindingKind, Mutex};

mod common;
use common::{about, collect, on_thread_within as on_thread};

#[test]
fn nested_reads_are_no_finding() {
    collect();
    let lock = RecursiveRwLock::named("recrw.nested", 1);
    let a = lock.read();
    let b = lock.read(); // a plain RwLock's second read would be a hazard
    let c = lock.try_read().expect("shared");
    assert_eq!(*a + *b + *c, 3);
    drop((a, b, c));
    let _u = lock.upgradable_read();
    let _r = lock.read();
    assert!(
        about("recrw.nested").is_empty(),
        "{:?}",
        about("recrw.nested")
    );
}

#[test]
fn a_write_under_the_threads_own_read_is_a_self_deadlock() {
    collect();
    let lock = Arc::new(RecursiveRwLock::named("recrw.selfwrite", 0));
    assert!(!on_thread(move || {
        let _read = lock.read();
        let _write = lock.write();
    }));
    let kinds: Vec<_> = about("recrw.selfwrite").iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FindingKind::SelfDeadlock]);
}

#[test]
fn an_upgrade_while_the_thread_still_reads_is_a_self_deadlock() {
    collect();
    let lock = Arc::new(RecursiveRwLock::named("recrw.upgrade", 0));
    assert!(!on_thread(move || {
        let u = lock.upgradable_read();
        let _read = lock.read();
        let _w = RecursiveRwLockUpgradableReadGuard::upgrade(u);
    }));
    let kinds: Vec<_> = about("recrw.upgrade").iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FindingKind::SelfDeadlock]);
}

#[test]
fn orders_with_other_locks_are_checked() {
    collect();
    let lock = RecursiveRwLock::named("recrw.order.rw", 0);
    let m = Mutex::named("recrw.order.m", 0);
    {
        let _w = lock.write();
        let _m = m.lock();
    }
    {
        // Near miss so far: one order.
        let _w = lock.write();
        let _m = m.lock();
    }
    assert!(about("recrw.order.").is_empty());
    {
        let _m = m.lock();
        let _w = lock.write();
    }
    let kinds: Vec<_> = about("recrw.order.").iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [FindingKind::LockOrderCycle]);
}
