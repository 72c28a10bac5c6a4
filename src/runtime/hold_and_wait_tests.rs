//! Hold-and-wait, live, for every wait: a thread that waits holding `a`,
//! ended by a thread that took `a` before (and let it go), is a cycle of
//! one edge through the wait, though this run did not hang; beside each,
//! the near miss where the waker never took `a`, and the timed or tried
//! form that is no wait.
//!
//! The waker reports the cycle once its wake-up is done, and under the
//! unit tests' policy (`panic`) that report panics it: each hit catches the
//! panic there, where a near miss would fail its test by it.
//!
//! Every run is ordered without sleeps: the waker took `a` and released it
//! before the waiter takes it (a channel says so), and wakes the waiter
//! only once the waiter is registered as blocked in the wait-for graph
//! (which it joins after its registration here).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Instant;

use crate::event::WokenBy;
use crate::sync::{mpsc, Barrier};
use crate::test_support::{about, my_id, until_waiting, DEADLINE};
use crate::{Condvar, FindingKind, Mutex};

/// Runs the waker's call `f`: with a hazard expected (`hit`) it panics
/// with the report, after the call went through.
fn waking<R>(hit: bool, f: impl FnOnce() -> R) {
    let outcome = catch_unwind(AssertUnwindSafe(f));
    assert_eq!(outcome.is_err(), hit, "the waker reports iff it is a hit");
}

fn leak(prefix: &str, name: &str) -> &'static str {
    Box::leak(format!("{prefix}{name}").into_boxed_str())
}

/// The one finding about `prefix`: a cycle of one edge through a wait
/// woken `by`, from `a` to itself.
fn assert_one_edge_cycle(prefix: &str, by: WokenBy) {
    let found = about(prefix);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.kind, FindingKind::LockOrderCycle, "{f:#?}");
    assert!(f.summary.contains("through a wait"), "{}", f.summary);
    let cycle = f.cycle.as_ref().expect("a cycle");
    assert_eq!(cycle.edges.len(), 1, "{cycle:#?}");
    let edge = &cycle.edges[0];
    let a = leak(prefix, "a");
    assert_eq!(edge.from.name.as_deref(), Some(a));
    assert_eq!(edge.to.name.as_deref(), Some(a));
    assert_eq!(edge.wait.as_ref().expect("through a wait").by, by);
}

/// A receive: the sender takes `a` (if `sender_took_a`, else `b`) and
/// lets it go; the receiver then holds `a` across its receive
/// (`timed`: `recv_timeout`) until the sender's message ends it.
fn receive(prefix: &str, sender_took_a: bool, timed: bool) {
    crate::config::set_backtraces(false);
    let a = Arc::new(Mutex::named(leak(prefix, "a"), ()));
    let b = Mutex::named(leak(prefix, "b"), ());
    let (tx, rx) = mpsc::channel::<u32>();
    let (took, taken) = std_mpsc::channel();
    let (ids, id) = std_mpsc::channel();
    let receiver = {
        let a = a.clone();
        crate::thread::spawn(move || {
            ids.send(my_id()).expect("the sender listens");
            taken
                .recv_timeout(DEADLINE)
                .expect("the sender took its lock");
            let _a = a.lock();
            if timed {
                rx.recv_timeout(DEADLINE).expect("a message")
            } else {
                rx.recv().expect("a message")
            }
        })
    };
    let receiver_id = id.recv_timeout(DEADLINE).expect("the receiver's id");
    drop(if sender_took_a { a.lock() } else { b.lock() });
    took.send(()).expect("the receiver listens");
    if !timed {
        until_waiting(receiver_id);
    }
    waking(sender_took_a && !timed, || {
        tx.send(7).expect("the receiver waits")
    });
    assert_eq!(receiver.join().expect("the receiver"), 7);
}

#[test]
fn a_lock_held_across_a_receive_whose_sender_took_it_before_is_a_cycle() {
    receive("hwr.hit.", true, false);
    assert_one_edge_cycle("hwr.hit.", WokenBy::Message);
}

#[test]
fn a_receive_whose_sender_never_took_the_lock_is_clean() {
    receive("hwr.other.", false, false);
    assert!(about("hwr.other.").is_empty());
}

#[test]
fn a_timed_receive_under_the_lock_is_no_hazard() {
    receive("hwr.timed.", true, true);
    assert!(about("hwr.timed.").is_empty());
}

/// A bounded send: the receiver takes `a` (or `b`) and lets it go; the
/// sender then holds `a` across a send to a full queue of one place until
/// the receiver takes a message.
fn full_send(prefix: &str, receiver_took_a: bool) {
    crate::config::set_backtraces(false);
    let a = Arc::new(Mutex::named(leak(prefix, "a"), ()));
    let b = Arc::new(Mutex::named(leak(prefix, "b"), ()));
    let (tx, rx) = mpsc::sync_channel::<u32>(1);
    tx.send(1).expect("room for one");
    let (took, taken) = std_mpsc::channel();
    let (ids, id) = std_mpsc::channel();
    let sender = {
        let a = a.clone();
        crate::thread::spawn(move || {
            ids.send(my_id()).expect("the receiver listens");
            taken
                .recv_timeout(DEADLINE)
                .expect("the receiver took its lock");
            let _a = a.lock();
            tx.send(2).expect("the receiver is there");
        })
    };
    let sender_id = id.recv_timeout(DEADLINE).expect("the sender's id");
    drop(if receiver_took_a { a.lock() } else { b.lock() });
    took.send(()).expect("the sender listens");
    until_waiting(sender_id);
    waking(receiver_took_a, || rx.recv().expect("the first message"));
    sender.join().expect("the sender");
    assert_eq!(rx.recv().expect("the second message"), 2);
}

#[test]
fn a_lock_held_across_a_full_send_whose_receiver_took_it_before_is_a_cycle() {
    full_send("hws.hit.", true);
    assert_one_edge_cycle("hws.hit.", WokenBy::Room);
}

#[test]
fn a_full_send_whose_receiver_never_took_the_lock_is_clean() {
    full_send("hws.other.", false);
    assert!(about("hws.other.").is_empty());
}

/// A barrier of two: `early` arrives first and waits; the other arrives
/// and lets the round through. Whichever holds `a` across its arrival, the
/// other took `a` (or `b`) before it arrived.
fn barrier(prefix: &str, early_holds_a: bool, other_took_a: bool) {
    crate::config::set_backtraces(false);
    let a = Arc::new(Mutex::named(leak(prefix, "a"), ()));
    let b = Arc::new(Mutex::named(leak(prefix, "b"), ()));
    let barrier = Arc::new(Barrier::new(2));
    let (took, taken) = std_mpsc::channel();
    let (ids, id) = std_mpsc::channel();
    let early = {
        let (a, b, barrier) = (a.clone(), b.clone(), barrier.clone());
        crate::thread::spawn(move || {
            ids.send(my_id()).expect("the main thread listens");
            if early_holds_a {
                taken
                    .recv_timeout(DEADLINE)
                    .expect("the other took its lock");
                let _a = a.lock();
                barrier.wait();
            } else {
                drop(if other_took_a { a.lock() } else { b.lock() });
                barrier.wait();
            }
        })
    };
    let early_id = id.recv_timeout(DEADLINE).expect("the early thread's id");
    if early_holds_a {
        drop(if other_took_a { a.lock() } else { b.lock() });
        took.send(()).expect("the early thread listens");
        until_waiting(early_id);
        waking(other_took_a, || barrier.wait());
    } else {
        until_waiting(early_id);
        let _a = a.lock();
        waking(other_took_a, || barrier.wait());
    }
    early.join().expect("the early thread");
}

#[test]
fn a_lock_held_across_a_barrier_that_a_later_arrival_took_before_is_a_cycle() {
    barrier("hwb.waiter.", true, true);
    assert_one_edge_cycle("hwb.waiter.", WokenBy::Arrival);
}

#[test]
fn a_lock_held_across_a_barrier_that_an_earlier_arrival_took_before_is_a_cycle() {
    barrier("hwb.last.", false, true);
    assert_one_edge_cycle("hwb.last.", WokenBy::Arrival);
}

#[test]
fn a_barrier_whose_other_arrival_never_took_the_lock_is_clean() {
    barrier("hwb.other.", true, false);
    barrier("hwb.other2.", false, false);
    assert!(about("hwb.other").is_empty());
}

/// A join: the child takes `a` (or `b`) and lets it go; the main thread
/// then holds `a` across its join of the child, which ends before the join
/// starts (`ended_first`) or while it waits.
fn join(prefix: &str, child_took_a: bool, ended_first: bool) {
    crate::config::set_backtraces(false);
    let a = Arc::new(Mutex::named(leak(prefix, "a"), ()));
    let b = Arc::new(Mutex::named(leak(prefix, "b"), ()));
    let (took, taken) = std_mpsc::channel();
    let (go, wait_go) = std_mpsc::channel::<()>();
    let child = {
        let (a, b) = (a.clone(), b.clone());
        crate::thread::spawn(move || {
            drop(if child_took_a { a.lock() } else { b.lock() });
            took.send(()).expect("the joiner listens");
            wait_go.recv_timeout(DEADLINE).expect("told to end");
        })
    };
    taken
        .recv_timeout(DEADLINE)
        .expect("the child took its lock");
    // Taken at a site of each case's own, which the finding is known by.
    let _a;
    if ended_first {
        _a = a.lock();
        go.send(()).expect("the child listens");
        let deadline = Instant::now() + DEADLINE;
        while !child.is_finished() {
            assert!(Instant::now() < deadline, "the child never ended");
            std::thread::yield_now();
        }
    } else {
        _a = a.lock();
        let me = my_id();
        std::thread::spawn(move || {
            until_waiting(me);
            let _ = go.send(());
        });
    }
    waking(child_took_a, || child.join().expect("the child"));
}

#[test]
fn a_lock_held_across_a_join_of_a_thread_that_took_it_before_is_a_cycle() {
    join("hwj.waiting.", true, false);
    assert_one_edge_cycle("hwj.waiting.", WokenBy::End);
}

#[test]
fn the_same_when_the_thread_ended_before_the_join() {
    join("hwj.ended.", true, true);
    assert_one_edge_cycle("hwj.ended.", WokenBy::End);
}

#[test]
fn a_join_of_a_thread_that_never_took_the_lock_is_clean() {
    join("hwj.other.", false, false);
    join("hwj.other2.", false, true);
    assert!(about("hwj.other").is_empty());
}

/// A condition wait: the notifier took `a` (or `b`) and let it go before
/// it notifies; the waiter holds `a` across its wait.
fn condition(prefix: &str, notifier_took_a: bool) {
    crate::config::set_backtraces(false);
    let a = Arc::new(Mutex::named(leak(prefix, "a"), ()));
    let b = Mutex::named(leak(prefix, "b"), ());
    let state = Arc::new((Mutex::named(leak(prefix, "flag"), false), Condvar::new()));
    let (took, taken) = std_mpsc::channel();
    let (about_to_wait, told) = std_mpsc::channel();
    let waiter = {
        let (a, state) = (a.clone(), state.clone());
        crate::thread::spawn(move || {
            taken
                .recv_timeout(DEADLINE)
                .expect("the notifier took its lock");
            let _a = a.lock();
            let mut ready = state.0.lock();
            about_to_wait.send(()).expect("the notifier listens");
            while !*ready {
                state.1.wait(&mut ready);
            }
        })
    };
    drop(if notifier_took_a { a.lock() } else { b.lock() });
    took.send(()).expect("the waiter listens");
    told.recv_timeout(DEADLINE)
        .expect("the waiter is about to wait");
    *state.0.lock() = true;
    waking(notifier_took_a, || state.1.notify_one());
    waiter.join().expect("the waiter");
}

#[test]
fn a_lock_held_across_a_condition_wait_whose_notifier_took_it_before_is_a_cycle() {
    condition("hwc.hit.", true);
    assert_one_edge_cycle("hwc.hit.", WokenBy::Notify);
}

#[test]
fn a_condition_wait_whose_notifier_never_took_the_lock_is_clean() {
    condition("hwc.other.", false);
    assert!(about("hwc.other.").is_empty());
}
