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

/// With the checks compiled out, every primitive still does its job: the
/// wrappers are the raw operations, not nothing.
#[test]
fn every_primitive_still_synchronises_when_the_feature_is_off() {
    use lockcheck::{Condvar, RwLock, Shared};
    use std::sync::Arc;

    let counter = Arc::new(lockcheck::Mutex::named("off.counter", 0u32));
    let ready = Arc::new((lockcheck::Mutex::new(false), Condvar::new()));
    let (tx, rx) = lockcheck::sync::mpsc::channel::<u32>();
    let shared = Arc::new(Shared::named("off.shared", 0u32));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (counter, ready, tx, shared) =
                (counter.clone(), ready.clone(), tx.clone(), shared.clone());
            lockcheck::thread::spawn(move || {
                {
                    let (flag, cv) = &*ready;
                    let mut go = flag.lock();
                    while !*go {
                        cv.wait(&mut go);
                    }
                }
                for _ in 0..1000 {
                    *counter.lock() += 1;
                }
                shared.modify(|n| *n += 1);
                tx.send(i).unwrap();
            })
        })
        .collect();
    drop(tx);
    {
        let (flag, cv) = &*ready;
        *flag.lock() = true;
        cv.notify_all();
    }
    let mut sent: Vec<u32> = rx.iter().collect();
    for w in workers {
        w.join().unwrap();
    }
    sent.sort();
    assert_eq!(sent, [0, 1, 2, 3]);
    assert_eq!(*counter.lock(), 4000);
    assert_eq!(shared.get(), 4);

    let rw = RwLock::new(vec![1]);
    {
        let u = rw.upgradable_read();
        let mut w = lockcheck::RwLockUpgradableReadGuard::upgrade(u);
        w.push(2);
        let r = lockcheck::RwLockWriteGuard::downgrade(w);
        assert_eq!(*r, [1, 2]);
        assert!(rw.try_read().is_some(), "readers share");
        assert!(rw.try_write().is_none(), "a reader keeps writers out");
    }
    let m = lockcheck::Mutex::new(5);
    let g = m.lock();
    assert!(m.try_lock().is_none(), "a held mutex stays held");
    let mapped = lockcheck::MutexGuard::map(g, |v| v);
    assert_eq!(*mapped, 5);
    drop(mapped);
    let re = lockcheck::ReentrantMutex::new(1);
    let outer = re.lock();
    let inner = re.lock();
    assert_eq!(*outer + *inner, 2);
    drop((inner, outer));

    let scoped = lockcheck::Mutex::new(0);
    lockcheck::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| *scoped.lock() += 1);
        }
    });
    assert_eq!(scoped.into_inner(), 2);
    assert!(lockcheck::findings().is_empty());
}

/// Poisoning is std's behaviour, not a check: it stays with the feature off.
#[test]
fn std_shaped_locks_still_poison_when_the_feature_is_off() {
    use lockcheck::stdsync::{Arc, LazyLock, Mutex, OnceLock};
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let panicked = lockcheck::thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("poison it");
    })
    .join();
    assert!(panicked.is_err());
    assert!(m.is_poisoned());
    assert_eq!(*m.lock().unwrap_err().into_inner(), 1);
    let once = OnceLock::new();
    assert_eq!(*once.get_or_init(|| 7), 7);
    static LAZY: LazyLock<u32> = LazyLock::new(|| 9);
    assert_eq!(*LAZY, 9);
}

/// The dependency figure of the README ("What it adds to a build"): with the
/// feature off, lockcheck brings exactly the crates parking_lot 0.12 does —
/// its raw-lock crates — and nothing of the detectors (petgraph, backtrace).
/// Both trees come from the lock file cargo already resolved (`--offline`,
/// `--locked`; parking_lot is a dev-dependency, the benches' baseline).
#[test]
fn the_feature_off_build_has_parking_lots_dependencies() {
    let lockcheck = crates_of(&["-p", "lockcheck", "--no-default-features", "-e", "normal"]);
    let parking_lot = crates_of(&["-p", "parking_lot@0.12", "-e", "normal,dev"]);
    let without = |set: Vec<String>, root: &str| -> Vec<String> {
        set.into_iter().filter(|c| c != root).collect()
    };
    assert!(lockcheck.iter().any(|c| c == "lockcheck"), "{lockcheck:?}");
    assert!(
        parking_lot.iter().any(|c| c == "parking_lot_core"),
        "{parking_lot:?}"
    );
    assert_eq!(
        without(lockcheck, "lockcheck"),
        without(parking_lot, "parking_lot"),
        "lockcheck without checks depends on more (or other) crates than parking_lot"
    );
}

/// The names of the crates `cargo tree ARGS` lists for this host, sorted.
fn crates_of(args: &[&str]) -> Vec<String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["tree", "--offline", "--locked", "--manifest-path", manifest])
        .args(args)
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

/// "No findings" is a clean answer only when something was checked: with
/// the checks compiled out, the assertion says so instead of passing.
#[test]
#[should_panic(expected = "checks are compiled out")]
fn asserting_no_findings_without_checks_fails() {
    lockcheck::assert_no_findings();
}
