//! The lock fast path skips the happens-before work while no `Shared`
//! exists. A lock that took the fast path before the first `Shared` was made
//! must carry clocks from then on. One test in its own process: the order of
//! "lock first, `Shared` later" is the point, and another test in the same
//! process could make a `Shared` first.

use std::sync::{mpsc as std_mpsc, Arc};

use lockcheck::config::{self, Policy};
mod common;

use common::races_on;
use lockcheck::{thread, Mutex, Shared};

/// A thread writes `x` under `m` (or not) and then tells the main thread,
/// through a std channel that lockcheck cannot see; the main thread then
/// reads `x` under `m`. Only the lock can order the two accesses.
fn write_then_read(m: &Arc<Mutex<()>>, x: &Arc<Shared<u64>>, writer_locks: bool) {
    let (done, wait) = std_mpsc::channel();
    let (m1, x1) = (m.clone(), x.clone());
    let writer = thread::spawn(move || {
        if writer_locks {
            let _g = m1.lock();
            x1.set(1);
        } else {
            x1.set(1);
        }
        done.send(()).unwrap();
    });
    wait.recv().unwrap();
    {
        let _g = m.lock();
        x.get();
    }
    writer.join().unwrap();
}

#[test]
fn a_lock_used_before_the_first_shared_orders_accesses_after_it() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
    let m = Arc::new(Mutex::named("fast.lock", ()));
    // Uses on the fast path, before race checking is live.
    for _ in 0..3 {
        drop(m.lock());
    }

    let ordered = Arc::new(Shared::named("fast.ordered", 0));
    write_then_read(&m, &ordered, true);
    assert_eq!(
        races_on("fast.ordered").len(),
        0,
        "{:#?}",
        lockcheck::findings()
    );

    // The near miss: the writer skips the lock, so the same read races.
    let unordered = Arc::new(Shared::named("fast.unordered", 0));
    write_then_read(&m, &unordered, false);
    assert_eq!(
        races_on("fast.unordered").len(),
        1,
        "{:#?}",
        lockcheck::findings()
    );
}
