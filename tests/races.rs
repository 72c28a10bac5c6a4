//! Data races on `Shared`, live, policy `collect`: every happens-before
//! source (lock, rwlock modes, condvar, spawn/join, scope, channel) with the
//! near-miss that must be reported. Tests share one process, so each looks
//! only at findings about its own variables (by name). Threads are ordered
//! by joins, barriers and channels, never by sleeps.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

mod common;

use common::races_on;
use lockcheck::config::{self, Policy};
use lockcheck::sync::mpsc;
use lockcheck::{thread, Condvar, Finding, Mutex, RwLock, Shared};

/// How long a test waits for another thread before it fails instead of
/// hanging the suite (a deadline, not a timing assertion).
const DEADLINE: Duration = Duration::from_secs(60);

fn collect() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
}

#[test]
fn a_write_and_a_read_in_unsynchronised_threads_race() {
    collect();
    let x = Arc::new(Shared::named("race.plain", 0));
    let start = Arc::new(Barrier::new(2));
    let (x1, s1) = (x.clone(), start.clone());
    let writer = thread::spawn(move || {
        s1.wait();
        x1.set(1);
    });
    let (x2, s2) = (x.clone(), start.clone());
    let reader = thread::spawn(move || {
        s2.wait();
        x2.get()
    });
    writer.join().unwrap();
    reader.join().unwrap();
    let found = races_on("race.plain");
    assert_eq!(found.len(), 1, "{found:#?}");
    let kinds: Vec<_> = found[0].accesses.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&lockcheck::event::AccessKind::Write));
    assert_eq!(found[0].accesses.len(), 2);
    assert!(found[0]
        .accesses
        .iter()
        .all(|a| a.site.file.ends_with("races.rs")));
}

#[test]
fn a_read_after_join_is_ordered() {
    collect();
    let x = Arc::new(Shared::named("race.join", 0));
    let x1 = x.clone();
    thread::spawn(move || x1.set(7)).join().unwrap();
    assert_eq!(x.get(), 7);
    assert!(races_on("race.join").is_empty());
}

#[test]
fn a_spawn_orders_the_parents_past_before_the_child() {
    collect();
    let x = Arc::new(Shared::named("race.spawn", 0));
    x.set(1);
    let x1 = x.clone();
    thread::spawn(move || x1.set(2)).join().unwrap();
    assert!(races_on("race.spawn").is_empty());
}

#[test]
fn std_threads_are_invisible_so_their_join_orders_nothing() {
    collect();
    let x = Arc::new(Shared::named("race.stdjoin", 0));
    let x1 = x.clone();
    std::thread::spawn(move || x1.set(7)).join().unwrap();
    let _ = x.get();
    assert_eq!(races_on("race.stdjoin").len(), 1);
}

#[test]
fn accesses_under_one_lock_are_ordered_and_one_without_it_races() {
    collect();
    let lock = Arc::new(Mutex::named("race.lock.m", ()));
    let x = Arc::new(Shared::named("race.lock", 0u64));
    let start = Arc::new(Barrier::new(2));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (lock, x, start) = (lock.clone(), x.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..200 {
                    let _g = lock.lock();
                    x.update(|n| n + 1);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(x.get(), 400);
    assert!(races_on("race.lock").is_empty());

    // Near miss: the second thread forgets the lock.
    let y = Arc::new(Shared::named("race.nolock", 0u64));
    let start = Arc::new(Barrier::new(2));
    let (l1, y1, s1) = (lock.clone(), y.clone(), start.clone());
    let locked = thread::spawn(move || {
        s1.wait();
        let _g = l1.lock();
        y1.update(|n| n + 1);
    });
    let (y2, s2) = (y.clone(), start.clone());
    let unlocked = thread::spawn(move || {
        s2.wait();
        y2.update(|n| n + 1);
    });
    locked.join().unwrap();
    unlocked.join().unwrap();
    let found = races_on("race.nolock");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].summary.contains("lost update"),
        "{}",
        found[0].summary
    );
    let held: Vec<usize> = found[0].accesses.iter().map(|a| a.held.len()).collect();
    assert!(
        held.contains(&1) && held.contains(&0),
        "one side held the lock: {held:?}"
    );
}

#[test]
fn writers_under_the_read_guard_race_and_under_the_write_guard_do_not() {
    collect();
    for (name, write_mode) in [("race.rw.read", false), ("race.rw.write", true)] {
        let lock = Arc::new(RwLock::named("race.rw.lock", ()));
        let x = Arc::new(Shared::named(name, 0u64));
        let start = Arc::new(Barrier::new(2));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, x, start) = (lock.clone(), x.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    if write_mode {
                        let _g = lock.write();
                        x.update(|n| n + 1);
                    } else {
                        let _g = lock.read();
                        x.update(|n| n + 1);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let expected = if write_mode { 0 } else { 1 };
        assert_eq!(races_on(name).len(), expected, "{name}");
    }
}

#[test]
fn readers_see_the_writers_release_and_the_next_writer_sees_the_readers() {
    collect();
    let lock = Arc::new(RwLock::named("race.rwo.lock", ()));
    let x = Arc::new(Shared::named("race.rwo", 0u64));
    // Writer, then two readers, then a writer again: all ordered.
    {
        let _w = lock.write();
        x.set(1);
    }
    // Two readers and a second writer run at once, in whatever order the
    // lock lets them: every order is ordered by the lock.
    let start = Arc::new(Barrier::new(3));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (lock, x, start) = (lock.clone(), x.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let _r = lock.read();
                x.get()
            })
        })
        .collect();
    let (l2, x2, s2) = (lock.clone(), x.clone(), start.clone());
    let second_writer = thread::spawn(move || {
        s2.wait();
        let _w = l2.write();
        x2.set(2);
    });
    second_writer.join().unwrap();
    for r in readers {
        let seen = r.join().unwrap();
        assert!(seen == 1 || seen == 2);
    }
    assert!(races_on("race.rwo").is_empty());
}

#[test]
fn a_notify_orders_what_came_before_it_before_the_woken_wait() {
    collect();
    for (name, write_before_notify) in [("race.cv.before", true), ("race.cv.after", false)] {
        let pair = Arc::new((Mutex::named("race.cv.m", ()), Condvar::new()));
        let x = Arc::new(Shared::named(name, 0u32));
        let (p, x1) = (pair.clone(), x.clone());
        let waiter = thread::spawn(move || {
            let mut g = p.0.lock();
            p.1.wait(&mut g);
            drop(g);
            x1.get()
        });
        // The notifier never takes the mutex: only the condvar orders it.
        if write_before_notify {
            x.set(1);
        }
        // Until the waiter waits (a notify with nobody waiting is lost).
        let deadline = Instant::now() + DEADLINE;
        while !pair.1.notify_one() {
            assert!(Instant::now() < deadline, "the waiter never waited");
            std::thread::yield_now();
        }
        if !write_before_notify {
            x.set(1);
        }
        waiter.join().unwrap();
        let expected = if write_before_notify { 0 } else { 1 };
        assert_eq!(races_on(name).len(), expected, "{name}");
    }
}

#[test]
fn a_message_orders_the_send_before_the_receive() {
    collect();
    for (name, write_before_send) in [("race.chan.before", true), ("race.chan.after", false)] {
        let x = Arc::new(Shared::named(name, 0u32));
        let (tx, rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let x1 = x.clone();
        let receiver = thread::spawn(move || {
            rx.recv_timeout(DEADLINE).expect("the message");
            let v = x1.get();
            done_tx.send(()).unwrap();
            v
        });
        if write_before_send {
            x.set(1);
            tx.send(()).unwrap();
        } else {
            tx.send(()).unwrap();
            x.set(1);
        }
        done_rx
            .recv_timeout(DEADLINE)
            .expect("the receiver's answer");
        receiver.join().unwrap();
        let expected = if write_before_send { 0 } else { 1 };
        assert_eq!(races_on(name).len(), expected, "{name}");
    }
}

#[test]
fn the_end_of_a_scope_joins_its_threads() {
    collect();
    let parts: Vec<Shared<u64>> = (0..3).map(|_| Shared::named("race.scope", 0)).collect();
    thread::scope(|s| {
        for p in &parts {
            s.spawn(move || p.set(5));
        }
    });
    let total: u64 = parts.iter().map(Shared::get).sum();
    assert_eq!(total, 15);
    assert!(races_on("race.scope").is_empty());
}

#[test]
fn accesses_of_one_thread_never_race() {
    collect();
    let x = Shared::named("race.onethread", 0);
    for i in 0..100 {
        x.set(i);
        let _ = x.get();
        x.update(|n| n + 1);
    }
    assert!(races_on("race.onethread").is_empty());
}

#[test]
fn a_guarded_variable_accessed_without_its_lock_is_reported_at_once() {
    collect();
    let lock = Mutex::named("race.guard.m", ());
    let x = Shared::named("race.guarded", 0).guarded_by(&lock);
    {
        let _g = lock.lock();
        x.set(1);
    }
    assert!(races_on("race.guarded").is_empty());
    let _ = x.get(); // no lock, one thread: still reported
    let found = races_on("race.guarded");
    assert_eq!(found.len(), 1);
    assert!(found[0].summary.contains("without holding"));
}

/// One lost update of the counter: the read and the write of `update`, both
/// at this one line.
fn bump(x: &Shared<u64>) {
    x.update(|n| n + 1);
}

#[test]
fn a_race_between_the_same_two_lines_is_one_finding_with_a_count() {
    collect();
    const TURNS_EACH: usize = 3;
    let x = Arc::new(Shared::named("race.count", 0u64));
    // Two threads take turns through std channels, which order nothing that
    // lockcheck sees: every access meets the other thread's last write
    // unordered, and the schedule (so the count) is the same on every run.
    let (to_a, a_turn) = std::sync::mpsc::channel::<()>();
    let (to_b, b_turn) = std::sync::mpsc::channel::<()>();
    let take_turns = |turn: std::sync::mpsc::Receiver<()>, next: std::sync::mpsc::Sender<()>| {
        let x = x.clone();
        thread::spawn(move || {
            for _ in 0..TURNS_EACH {
                turn.recv_timeout(DEADLINE)
                    .expect("the other thread handed the turn over");
                bump(&x);
                // The other thread has ended after its last turn: nothing
                // to hand over then.
                let _ = next.send(());
            }
        })
    };
    let a = take_turns(a_turn, to_b);
    let b = take_turns(b_turn, to_a.clone());
    to_a.send(()).expect("the first thread waits for its turn");
    a.join().unwrap();
    b.join().unwrap();
    let found = races_on("race.count");
    assert_eq!(found.len(), 1, "one finding per pair of sites: {found:#?}");
    // Every turn but the first races twice with the turn before it: its
    // read and its write each meet the other thread's write.
    let turns = 2 * TURNS_EACH as u64;
    assert_eq!(found[0].count, 2 * (turns - 1), "{found:#?}");
    assert!(
        found[0].summary.contains("(lost update)"),
        "{}",
        found[0].summary
    );
}

/// A thread that releases a lock again with no other synchronisation in
/// between updates only its own entry of the lock's clock: what it wrote in
/// its second critical section must still reach the next holder, and an
/// access outside the lock must still race.
fn repeated_releases_then_read(read_under_lock: bool, name: &'static str) -> Vec<Finding> {
    collect();
    let m = Arc::new(Mutex::named("race.repeat.m", ()));
    let x = Arc::new(Shared::named(name, 0));
    let (handed, taken) = std::sync::mpsc::channel();
    let (m1, x1) = (m.clone(), x.clone());
    let writer = thread::spawn(move || {
        drop(m1.lock());
        let guard = m1.lock();
        x1.set(1);
        drop(guard);
        // A std channel: no happens-before that lockcheck sees.
        handed.send(()).unwrap();
    });
    taken
        .recv_timeout(DEADLINE)
        .expect("the writer handed over");
    if read_under_lock {
        let _guard = m.lock();
        x.get();
    } else {
        x.get();
    }
    writer.join().unwrap();
    races_on(name)
}

#[test]
fn a_write_in_a_later_critical_section_reaches_the_next_holder() {
    assert!(repeated_releases_then_read(true, "race.repeat.locked").is_empty());
    assert_eq!(
        repeated_releases_then_read(false, "race.repeat.unlocked").len(),
        1
    );
}

/// A thread spawned after a join takes the joined thread's clock slot: what
/// the two did is ordered (join, then spawn), and a third thread that never
/// synchronised with either still races with the newcomer.
#[test]
fn a_reused_clock_slot_hides_no_race() {
    collect();
    let x = Arc::new(Shared::named("race.slot", 0));
    // A std channel: it orders nothing that lockcheck sees.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let xk = x.clone();
    let bystander = thread::spawn(move || {
        wait.recv_timeout(DEADLINE).expect("the go-ahead");
        xk.get()
    });
    let xa = x.clone();
    thread::spawn(move || xa.set(1)).join().unwrap();
    let xb = x.clone();
    thread::spawn(move || xb.set(2)).join().unwrap();
    go.send(()).unwrap();
    bystander.join().unwrap();
    let found = races_on("race.slot");
    // The bystander's read races the last write; the two writes do not race.
    assert_eq!(found.len(), 1, "{found:#?}");
    let kinds: Vec<_> = found[0].accesses.iter().map(|a| a.kind).collect();
    assert!(
        kinds.contains(&lockcheck::event::AccessKind::Read),
        "{found:#?}"
    );
}
