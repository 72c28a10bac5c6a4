//! The programs `cli/tests/waits.rs` runs under `lockcheck run`, one a
//! scenario named by the first argument: waits that deadlock (the second
//! rule, and a cycle through the end of a scope) and their near misses,
//! which must stay clean.

use std::sync::Arc;
use std::time::Duration;

use lockcheck::sync::mpsc;
use lockcheck::{Condvar, Mutex};

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "receiver_holds_the_senders_lock" => receiver_holds_the_senders_lock(),
        "scope_end_under_a_lock" => scope_end_under_a_lock(),
        "busy_notifier" => busy_notifier(),
        "std_thread_notifies_later" => std_thread_notifies_later(),
        "timed_wait_in_a_loop" => timed_wait_in_a_loop(),
        "recv_after_every_sender_is_gone" => recv_after_every_sender_is_gone(),
        "rendezvous_producer_consumer" => rendezvous_producer_consumer(),
        other => {
            eprintln!("unknown scenario {other:?}");
            std::process::exit(2);
        }
    }
}

/// Deadlock: the main thread holds `books` and waits for a message whose
/// only sender first needs `books`.
fn receiver_holds_the_senders_lock() {
    let books = Arc::new(Mutex::named("waits.books", 0u32));
    let (tx, rx) = mpsc::channel::<u32>();
    let held = books.lock();
    let b = books.clone();
    let sender = lockcheck::thread::spawn(move || {
        let n = *b.lock();
        let _ = tx.send(n);
    });
    let _ = rx.recv();
    drop(held);
    let _ = sender.join();
}

/// Deadlock through the end of a scope: `books` is taken before the scope,
/// and a thread of the scope waits for it.
fn scope_end_under_a_lock() {
    let books = Mutex::named("waits.scope_books", 0u32);
    let held = books.lock();
    lockcheck::thread::scope(|s| {
        s.spawn(|| *books.lock() += 1);
    });
    drop(held);
}

/// Near miss: the notifier is busy computing (after a step ordered by a
/// channel) while the main thread waits: it is running, so it may notify.
fn busy_notifier() {
    let pair = Arc::new((
        Mutex::named("waits.busy", false),
        Condvar::named("waits.busy.cv"),
    ));
    let (go, wait_go) = mpsc::channel::<()>();
    let p = pair.clone();
    let notifier = lockcheck::thread::spawn(move || {
        let _ = wait_go.recv();
        let mut x = 0u64;
        for i in 0..200_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        *p.0.lock() = true;
        p.1.notify_all();
        x
    });
    let mut done = pair.0.lock();
    go.send(()).expect("the notifier is there");
    pair.1.wait_while(&mut done, |d| !*d);
    drop(done);
    notifier.join().expect("the notifier");
}

/// Near miss: the notifier is a std thread lockcheck has not seen yet,
/// sleeping in a timed wait before it notifies: the main thread's wait is
/// the only one lockcheck sees, but it is not the only thread.
fn std_thread_notifies_later() {
    let pair = Arc::new((
        Mutex::named("waits.std", false),
        Condvar::named("waits.std.cv"),
    ));
    let p = pair.clone();
    let notifier = std::thread::spawn(move || {
        let (_keep, nothing) = std::sync::mpsc::channel::<()>();
        let _ = nothing.recv_timeout(Duration::from_millis(800));
        *p.0.lock() = true;
        p.1.notify_all();
    });
    let mut done = pair.0.lock();
    pair.1.wait_while(&mut done, |d| !*d);
    drop(done);
    notifier.join().expect("the notifier");
}

/// Near miss: the main thread waits in a loop of timed waits (which never
/// count) while the other thread waits for its message.
fn timed_wait_in_a_loop() {
    let pair = (
        Mutex::named("waits.timed", ()),
        Condvar::named("waits.timed.cv"),
    );
    let (tx, rx) = mpsc::channel::<()>();
    let worker = lockcheck::thread::spawn(move || rx.recv().is_ok());
    let mut g = pair.0.lock();
    for _ in 0..6 {
        let _ = pair.1.wait_for(&mut g, Duration::from_millis(100));
    }
    drop(g);
    tx.send(()).expect("the worker is there");
    assert!(worker.join().expect("the worker"));
}

/// Near miss: a `recv` returns `Err` once every sender is gone.
fn recv_after_every_sender_is_gone() {
    let (tx, rx) = mpsc::channel::<u32>();
    let (started, wait_started) = mpsc::channel::<()>();
    let sender = lockcheck::thread::spawn(move || {
        let _ = wait_started.recv();
        drop(tx);
    });
    started.send(()).expect("the sender is there");
    assert!(rx.recv().is_err());
    sender.join().expect("the sender");
}

/// Near miss: a correct producer and consumer over a rendezvous channel.
fn rendezvous_producer_consumer() {
    let (tx, rx) = mpsc::sync_channel::<u32>(0);
    let producer = lockcheck::thread::spawn(move || {
        for n in 0..50 {
            tx.send(n).expect("the consumer is there");
        }
    });
    let total: u32 = rx.iter().sum();
    producer.join().expect("the producer");
    assert_eq!(total, (0..50).sum());
}
