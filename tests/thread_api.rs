//! `lockcheck::thread`'s items beyond `spawn` and `scope`: std's own,
//! re-exported, and `Builder::spawn_unchecked`, which orders like `spawn`.
//! Policy `collect`; each test looks only at its own variables.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use lockcheck::config::{self, Policy};
use lockcheck::{thread, FindingKind, Shared};

const DEADLINE: Duration = Duration::from_secs(20);

fn collect() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
}

fn races_on(name: &str) -> usize {
    lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::DataRace)
        .filter(|f| f.variable.as_ref().and_then(|v| v.name.as_deref()) == Some(name))
        .count()
}

#[test]
fn std_s_thread_items_are_there_under_lockcheck_thread() {
    let me: thread::Thread = thread::current();
    let id: thread::ThreadId = me.id();
    let named = thread::Builder::new()
        .name("worker".to_owned())
        .spawn(|| {
            (
                thread::current().id(),
                thread::current().name().map(str::to_owned),
            )
        })
        .unwrap();
    let (other, name): (thread::ThreadId, Option<String>) = named.join().unwrap();
    assert_ne!(id, other);
    assert_eq!(name.as_deref(), Some("worker"));
    let joined: thread::Result<()> = thread::spawn(|| panic!("worker failed")).join();
    assert!(joined.is_err());
    assert!(!thread::panicking());
    assert!(thread::available_parallelism().is_ok_and(|n| n.get() >= 1));
    thread::yield_now();
    thread::sleep(Duration::ZERO);

    thread_local!(static COUNT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let key: &'static thread::LocalKey<std::cell::Cell<u32>> = &COUNT;
    key.set(2);
    let access: Result<u32, thread::AccessError> = key.try_with(|c| c.get());
    assert_eq!(access, Ok(2));
}

#[test]
fn park_returns_after_an_unpark() {
    // An unpark before the park makes the park return at once; the loop
    // with a timed park keeps a regression from hanging.
    let (ready, parked) = mpsc::channel();
    let sleeper = thread::spawn(move || {
        ready.send(thread::current()).unwrap();
        thread::park_timeout(DEADLINE);
    });
    parked.recv_timeout(DEADLINE).unwrap().unpark();
    sleeper.join().unwrap();
}

/// A write in a thread made by `spawn_unchecked`, borrowing `data` from
/// this frame; read here after the join (`after_join`) or once the thread
/// says over std's channel (no ordering lockcheck sees) that it wrote.
fn write_in_unchecked_thread(name: &'static str, after_join: bool) {
    let data = Shared::named(name, 0);
    let (wrote, written) = mpsc::channel();
    let borrowed = &data;
    // SAFETY: the thread is joined below, before `data` goes.
    let handle = unsafe {
        thread::Builder::new().spawn_unchecked(move || {
            borrowed.set(1);
            wrote.send(()).unwrap();
        })
    }
    .unwrap();
    if after_join {
        handle.join().unwrap();
        assert_eq!(data.get(), 1);
    } else {
        written.recv_timeout(DEADLINE).unwrap();
        assert_eq!(data.get(), 1);
        handle.join().unwrap();
    }
}

#[test]
fn a_thread_spawned_unchecked_is_ordered_by_its_join() {
    collect();
    write_in_unchecked_thread("thread_api.unchecked.joined", true);
    assert_eq!(races_on("thread_api.unchecked.joined"), 0);
    // The near miss: the same read before the join races.
    write_in_unchecked_thread("thread_api.unchecked.unjoined", false);
    assert_eq!(races_on("thread_api.unchecked.unjoined"), 1);
}

#[test]
fn a_thread_spawned_unchecked_sees_what_its_parent_did_before() {
    collect();
    let data = Arc::new(Shared::named("thread_api.unchecked.parent", 0));
    data.set(5);
    let d = data.clone();
    // SAFETY: `d` is owned by the closure; the thread is joined below.
    let handle = unsafe { thread::Builder::new().spawn_unchecked(move || d.get()) }.unwrap();
    assert_eq!(handle.join().unwrap(), 5);
    assert_eq!(races_on("thread_api.unchecked.parent"), 0);
}
