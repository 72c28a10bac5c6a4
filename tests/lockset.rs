//! The lockset check (Eraser), off by default: it predicts a race that
//! this run's interleaving hid, labelled as predicted; a variable with one
//! lock held at every access stays clean. Its own test binary, since the
//! switch is process-wide.

use std::sync::Arc;

mod common;

use common::races_on;
use lockcheck::config::{self, Policy};
use lockcheck::{thread, Mutex, Shared};

/// Thread 1 writes under `lock`; thread 2, spawned after thread 1 was
/// joined, takes and releases `lock` and then writes without it. Run in the
/// other order, thread 2's write and thread 1's are unordered.
fn hidden_race(name: &'static str, lock: &Arc<Mutex<()>>) {
    let x = Arc::new(Shared::named(name, 0));
    let (l1, x1) = (lock.clone(), x.clone());
    thread::spawn(move || {
        let _g = l1.lock();
        x1.set(1);
    })
    .join()
    .unwrap();
    let (l2, x2) = (lock.clone(), x.clone());
    thread::spawn(move || {
        drop(l2.lock());
        x2.set(2);
    })
    .join()
    .unwrap();
}

#[test]
fn the_lockset_check_predicts_a_race_the_interleaving_hid() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
    let lock = Arc::new(Mutex::named("lockset.m", ()));

    config::set_lockset(false);
    hidden_race("lockset.off", &lock);
    assert!(
        races_on("lockset.off").is_empty(),
        "happens-before sees no race"
    );

    config::set_lockset(true);
    hidden_race("lockset.on", &lock);
    let found = races_on("lockset.on");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].summary.starts_with("predicted data race"),
        "{}",
        found[0].summary
    );

    // Near miss: every access under the lock.
    let x = Arc::new(Shared::named("lockset.guarded", 0));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (l, x) = (lock.clone(), x.clone());
            thread::spawn(move || {
                let _g = l.lock();
                x.set(i);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert!(races_on("lockset.guarded").is_empty());
    config::set_lockset(false);
}
