//! `lockcheck::Once`, parking_lot's shape: a thread that waits for another
//! thread's `call_once` is a wait the wait-for graph sees, and a
//! `call_once` that re-enters itself is a self-deadlock reported at the
//! call; each shown with the near miss that must not be reported. A
//! `Once`'s lock has no name: findings are told apart by the line the
//! `Once` was created at (its lock's creation site) and the lines of the
//! calls.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use lockcheck::config::{self, Policy};
use lockcheck::{Finding, FindingKind, Mutex, Once, OnceState};

fn collect() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
}

/// Runs `f` on a fresh thread; the receiver says whether it finished
/// without panicking.
fn spawn_watched(f: impl FnOnce() + Send + 'static) -> mpsc::Receiver<bool> {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        let _ = done.send(ok);
    });
    finished
}

/// Whether the watched thread finished without panicking; fails the test
/// if it has not finished within ten seconds (a hang not stopped).
fn finished(rx: &mpsc::Receiver<bool>) -> bool {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the thread hung: the detector did not stop it")
}

/// Findings about a lock created at `line` of this file.
fn about_line(line: u32) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.created.file.ends_with("parking_lot_once.rs") && l.created.line == line)
        })
        .collect()
}

#[test]
fn a_call_once_that_re_enters_itself_is_a_self_deadlock_at_the_call() {
    collect();
    let (once, created) = (Arc::new(Once::new()), line!());
    let inner_line = Arc::new(std::sync::Mutex::new(0));
    let ok = {
        let (once, inner_line) = (Arc::clone(&once), Arc::clone(&inner_line));
        finished(&spawn_watched(move || {
            once.call_once(|| {
                *inner_line.lock().expect("not poisoned") = line!() + 1;
                once.call_once(|| ());
            })
        }))
    };
    assert!(!ok, "the re-entry panics instead of hanging");
    let line = *inner_line.lock().expect("not poisoned");
    let found: Vec<_> = about_line(created)
        .into_iter()
        .filter(|f| f.kind == FindingKind::SelfDeadlock)
        .collect();
    assert_eq!(found.len(), 1, "{:?}", lockcheck::findings());
    assert!(
        found[0].waits.iter().any(|w| w.site.line == line),
        "reported at the inner call: {:?}",
        found[0].waits
    );
    // The initialisation panicked: the `Once` is poisoned, as parking_lot's.
    assert_eq!(once.state(), OnceState::Poisoned);
}

#[test]
fn a_call_once_on_a_done_once_and_a_nested_other_once_are_no_finding() {
    collect();
    let (outer, outer_line) = (Once::new(), line!());
    let (inner, inner_line) = (Once::new(), line!());
    let mut runs = 0;
    outer.call_once(|| inner.call_once(|| runs += 1));
    outer.call_once(|| runs += 10);
    inner.call_once(|| runs += 100);
    assert_eq!(runs, 1);
    assert!(about_line(outer_line).is_empty());
    assert!(about_line(inner_line).is_empty());
}

#[test]
fn a_wait_for_another_threads_call_once_is_in_the_wait_for_graph() {
    collect();
    let (once, created) = (Arc::new(Once::new()), line!());
    let held = Arc::new(Mutex::named("oncewait.held", ()));
    let (b_holds_tx, b_holds) = mpsc::channel();
    let (a_runs_tx, a_runs) = mpsc::channel();
    // A runs the initialisation, which needs `held`; B holds `held` and
    // waits for A's initialisation: a deadlock through the `Once`.
    let a = {
        let (once, held) = (Arc::clone(&once), Arc::clone(&held));
        spawn_watched(move || {
            b_holds.recv().expect("B holds the lock");
            once.call_once(|| {
                a_runs_tx.send(()).expect("B waits for this");
                drop(held.lock());
            });
        })
    };
    let b = {
        let (once, held) = (Arc::clone(&once), Arc::clone(&held));
        spawn_watched(move || {
            let _held = held.lock();
            b_holds_tx.send(()).expect("A waits for this");
            a_runs.recv().expect("A runs the initialisation");
            once.call_once(|| ());
        })
    };
    let results = [finished(&a), finished(&b)];
    assert!(
        results.contains(&false),
        "the deadlock is broken: {results:?}"
    );
    let deadlocks: Vec<_> = about_line(created)
        .into_iter()
        .filter(|f| f.kind == FindingKind::Deadlock)
        .collect();
    assert_eq!(deadlocks.len(), 1, "{:?}", lockcheck::findings());
    assert!(deadlocks[0]
        .locks
        .iter()
        .any(|l| l.name.as_deref() == Some("oncewait.held")));
}

#[test]
fn a_wait_for_an_initialisation_that_finishes_is_no_finding() {
    collect();
    let (once, created) = (Arc::new(Once::new()), line!());
    let (running_tx, running) = mpsc::channel();
    let (finish_tx, finish) = mpsc::channel::<()>();
    let runner = {
        let once = Arc::clone(&once);
        spawn_watched(move || {
            once.call_once(|| {
                running_tx.send(()).expect("the test waits");
                finish.recv().expect("the test says when");
            })
        })
    };
    running.recv().expect("the initialisation runs");
    let waiter = {
        let once = Arc::clone(&once);
        spawn_watched(move || {
            // Waits for the runner, as a lock; 0.13's `wait` likewise.
            once.call_once(|| panic!("the runner's initialisation counts"));
            once.wait();
        })
    };
    finish_tx.send(()).expect("the runner waits");
    assert!(finished(&runner) && finished(&waiter));
    assert!(once.is_completed());
    assert!(about_line(created).is_empty(), "{:?}", about_line(created));
}

#[test]
fn wait_on_a_once_not_started_returns_when_it_completes() {
    collect();
    let once = Arc::new(Once::new());
    let (waiting_tx, waiting) = mpsc::channel();
    let waiter = {
        let once = Arc::clone(&once);
        spawn_watched(move || {
            waiting_tx.send(()).expect("the test waits");
            once.wait_force();
        })
    };
    waiting.recv().expect("the waiter started");
    // Whether the waiter is in its wait yet or not, it returns once done.
    once.call_once(|| ());
    assert!(finished(&waiter));
    let done = Once::new_completed();
    done.wait();
    assert!(done.state().is_completed() && !done.state().is_poisoned());
}
