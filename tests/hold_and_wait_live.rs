//! Hold-and-wait live, for condition variables: a thread that waits while
//! holding `a`, woken by a notification made while its notifier held `b`,
//! where `b` is taken before `a` elsewhere, deadlocks on the schedule where
//! the notifier needs `a` under `b` before it notifies — reported as a
//! lock-order cycle through the wait, though this run did not hang. Beside
//! it the near misses: a notifier holding nothing, a timed wait, a waiter
//! holding only the condition's mutex.
//!
//! Every run is ordered without sleeps: the waiter tells the notifier it
//! is about to wait while it still holds the condition's mutex, so the
//! notification can only come once the wait has released it.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use lockcheck::event::WokenBy;
use lockcheck::{Condvar, FindingKind, Mutex};

/// How the waiter waits and what it holds; whether the notifier keeps `b`.
struct Shape {
    prefix: &'static str,
    waiter_holds_a: bool,
    timed: bool,
    notifier_holds_b: bool,
}

fn run(shape: Shape) {
    common::collect();
    let name =
        |n: &str| -> &'static str { Box::leak(format!("{}{n}", shape.prefix).into_boxed_str()) };
    let a = Arc::new(Mutex::named(name("a"), ()));
    let b = Arc::new(Mutex::named(name("b"), ()));
    let state = Arc::new((Mutex::named(name("queue"), false), Condvar::new()));
    // Elsewhere, `a` under `b`: the order the wait's edge closes a cycle with.
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    let (about_to_wait, told) = mpsc::channel();
    let (a2, s2) = (a.clone(), state.clone());
    let waiter = lockcheck::thread::spawn(move || {
        let _a = shape.waiter_holds_a.then(|| a2.lock());
        let (flag, cv) = &*s2;
        let mut ready = flag.lock();
        about_to_wait.send(()).expect("the notifier listens");
        while !*ready {
            if shape.timed {
                cv.wait_for(&mut ready, Duration::from_secs(60));
            } else {
                cv.wait(&mut ready);
            }
        }
    });
    let (b3, s3) = (b.clone(), state.clone());
    let notifier = lockcheck::thread::spawn(move || {
        told.recv().expect("the waiter is about to wait");
        let held_b = b3.lock();
        let (flag, cv) = &*s3;
        *flag.lock() = true;
        if !shape.notifier_holds_b {
            drop(held_b);
            cv.notify_one();
        } else {
            cv.notify_one();
            drop(held_b);
        }
    });
    waiter.join().expect("the waiter ends");
    notifier.join().expect("the notifier ends");
}

#[test]
fn a_lock_held_across_a_wait_whose_notifier_holds_a_lock_ordered_before_it_is_a_cycle() {
    run(Shape {
        prefix: "hwl.hit.",
        waiter_holds_a: true,
        timed: false,
        notifier_holds_b: true,
    });
    let found = common::about("hwl.hit.");
    assert_eq!(
        common::kinds(&found),
        [FindingKind::LockOrderCycle],
        "{found:#?}"
    );
    let f = &found[0];
    assert!(f.summary.contains("through a wait"), "{}", f.summary);
    let cycle = f.cycle.as_ref().expect("a cycle");
    assert_eq!(cycle.edges.len(), 2, "{cycle:#?}");
    let wait_edge = cycle
        .edges
        .iter()
        .find(|e| e.wait.is_some())
        .expect("one edge through the wait");
    assert_eq!(wait_edge.from.name.as_deref(), Some("hwl.hit.a"));
    assert_eq!(wait_edge.to.name.as_deref(), Some("hwl.hit.b"));
    let wait = wait_edge.wait.as_ref().expect("the wait");
    assert_eq!(wait.by, WokenBy::Notify);
    assert_eq!(
        wait.released.as_ref().and_then(|r| r.name.as_deref()),
        Some("hwl.hit.queue")
    );
    assert!(
        wait.wait_site.file.ends_with("hold_and_wait_live.rs"),
        "{wait:#?}"
    );
    assert_eq!(
        f.threads.len(),
        3,
        "the waiter, its notifier and the thread that took `a` under `b`: {:?}",
        f.threads
    );
}

#[test]
fn a_notifier_that_lets_go_first_is_no_hazard() {
    run(Shape {
        prefix: "hwl.free.",
        waiter_holds_a: true,
        timed: false,
        notifier_holds_b: false,
    });
    assert!(common::about("hwl.free.").is_empty());
}

#[test]
fn a_timed_wait_is_no_hazard() {
    run(Shape {
        prefix: "hwl.timed.",
        waiter_holds_a: true,
        timed: true,
        notifier_holds_b: true,
    });
    assert!(common::about("hwl.timed.").is_empty());
}

#[test]
fn a_waiter_holding_only_the_condition_mutex_is_no_hazard() {
    run(Shape {
        prefix: "hwl.bare.",
        waiter_holds_a: false,
        timed: false,
        notifier_holds_b: true,
    });
    assert!(common::about("hwl.bare.").is_empty());
}
