//! With the `checks` feature off (`default-features = false`) the wrappers
//! are plain raw locks (src/raw/): nothing is tracked, nothing is reported.
//! Run with `cargo test --no-default-features --test feature_off`.
#![cfg(not(feature = "checks"))]

use lockcheck::Mutex;

#[test]
fn nothing_is_checked_when_the_feature_is_off() {
    assert!(!lockcheck::config::enabled());
    let a = Mutex::named("off.a", ());
    let b = Mutex::named("off.b", ());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    assert!(lockcheck::findings().is_empty());
}

#[test]
fn raw_lock_types_are_parking_lots_when_the_feature_is_off() {
    type RawLockMutex<T> = lockcheck::lock_api::Mutex<lockcheck::RawMutex, T>;
    type RawLockRwLock<T> = lockcheck::lock_api::RwLock<lockcheck::RawRwLock, T>;
    let a = RawLockMutex::new(());
    let b = RawLockMutex::new(());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    let r = RawLockRwLock::new(1);
    let u = r.upgradable_read();
    let w = lockcheck::lock_api::RwLockUpgradableReadGuard::upgrade(u);
    drop(lockcheck::lock_api::RwLockWriteGuard::downgrade(w));
    assert!(lockcheck::findings().is_empty());
}
