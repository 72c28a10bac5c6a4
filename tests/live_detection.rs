//! The live detectors on real threads, policy `collect`: each detection with
//! the near-miss it must not report. Tests share one process (and its
//! findings), so every test names its locks uniquely and looks only at
//! findings about its own locks. Threads are ordered by joins and barriers,
//! never by sleeps.

use std::sync::{Arc, Barrier};
use std::thread;

use lockcheck::{Condvar, Finding, FindingKind, Mutex, ReentrantMutex, RwLock};

mod common;
use common::{about, collect, kinds, on_thread};

#[test]
fn a_mutex_relocked_by_its_thread_is_reported_instead_of_hanging() {
    collect();
    let finished = on_thread(|| {
        let m = Mutex::named("relock.m", 0);
        let _a = m.lock();
        let _b = m.lock();
    });
    assert!(!finished, "the thread is panicked out of the hang");
    let found = about("relock.");
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock]);
    let w = &found[0].waits[0];
    assert!(w.site.file.ends_with("live_detection.rs"));
    assert_eq!(w.holds.len(), 1);
    assert_ne!(w.holds[0].site.line, w.site.line);
}

#[test]
fn a_reentrant_mutex_relocked_is_clean_and_counts_its_levels() {
    collect();
    let m = Arc::new(ReentrantMutex::named("reenter.m", ()));
    let (a, b, c) = (m.lock(), m.lock(), m.lock());
    drop(b);
    drop(a);
    let other = || {
        let m = m.clone();
        thread::spawn(move || m.try_lock().is_some())
            .join()
            .unwrap()
    };
    assert!(!other(), "one level is still held");
    drop(c);
    assert!(other(), "all levels released");
    // The thread's own record agrees: a lock under it now is a first-level
    // acquisition with an order edge, not a re-entry.
    let inner = Mutex::named("reenter.inner", ());
    {
        let _m = m.lock();
        let _i = inner.lock();
    }
    assert!(about("reenter.").is_empty());
}

#[test]
fn same_order_nesting_in_many_threads_is_clean() {
    collect();
    let locks = Arc::new([
        Mutex::named("order.a", 0),
        Mutex::named("order.b", 0),
        Mutex::named("order.c", 0),
    ]);
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (locks, start) = (locks.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..1000 {
                    let mut a = locks[0].lock();
                    let mut b = locks[1].lock();
                    let mut c = locks[2].lock();
                    *a += 1;
                    *b += 1;
                    *c += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*locks[2].lock(), 4000);
    assert!(about("order.").is_empty());
}

#[test]
fn opposite_orders_in_two_threads_are_a_cycle_with_both_edges() {
    collect();
    let a = Arc::new(Mutex::named("opposite.a", ()));
    let b = Arc::new(Mutex::named("opposite.b", ()));
    let (a1, b1) = (a.clone(), b.clone());
    assert!(on_thread(move || {
        let _a = a1.lock();
        let _b = b1.lock();
    }));
    let (a2, b2) = (a.clone(), b.clone());
    assert!(on_thread(move || {
        let _b = b2.lock();
        let _a = a2.lock();
    }));
    let found = about("opposite.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    let cycle = found[0].cycle.as_ref().unwrap();
    assert_eq!(cycle.edges.len(), 2);
    assert!(!cycle.single_thread);
    assert!(cycle.guarded_by.is_none());
    for e in &cycle.edges {
        assert!(e.to_site.file.ends_with("live_detection.rs"));
    }
}

#[test]
fn a_cycle_in_one_thread_is_reported_and_says_so() {
    collect();
    let a = Mutex::named("onethread.a", ());
    let b = Mutex::named("onethread.b", ());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    let found = about("onethread.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    assert!(found[0].cycle.as_ref().unwrap().single_thread);
    assert!(
        found[0].is_failing(false),
        "still a hazard for a second thread"
    );
}

#[test]
fn a_lock_named_after_its_first_use_is_reported_by_its_new_name() {
    collect();
    let a = Mutex::new(());
    // The first use gives the lock its id and records its description.
    drop(a.lock());
    let a = a.with_name("renamed.a");
    let b = Mutex::named("renamed.b", ());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    let found = about("renamed.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    // Each edge names its held lock from the thread's held entries and its
    // new lock from the lock itself: both carry the new name.
    for edge in &found[0].cycle.as_ref().unwrap().edges {
        for lock in [&edge.from, &edge.to] {
            let name = lock.name.as_deref().unwrap_or("");
            assert!(name.starts_with("renamed."), "{edge:?}");
        }
    }
}

#[test]
fn a_successful_try_lock_adds_no_edge_but_a_blocking_lock_does() {
    collect();
    let a = Mutex::named("try.a", ());
    let b = Mutex::named("try.b", ());
    {
        let _a = a.lock();
        let _b = b.try_lock().expect("free");
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    assert!(about("try.").is_empty(), "a -> b was only tried");
    // Near miss: the same with a blocking lock closes the cycle.
    let c = Mutex::named("blocking.c", ());
    let d = Mutex::named("blocking.d", ());
    {
        let _c = c.lock();
        let _d = d.lock();
    }
    {
        let _d = d.lock();
        let _c = c.lock();
    }
    assert_eq!(kinds(&about("blocking.")), [FindingKind::LockOrderCycle]);
}

#[test]
fn held_try_locks_are_sources_of_edges() {
    collect();
    let a = Mutex::named("trysource.a", ());
    let b = Mutex::named("trysource.b", ());
    {
        let _a = a.try_lock().expect("free");
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    assert_eq!(kinds(&about("trysource.")), [FindingKind::LockOrderCycle]);
}

#[test]
fn a_gate_lock_marks_the_cycle_guarded_and_its_absence_does_not() {
    collect();
    let gate = Mutex::named("gate.g", ());
    let a = Mutex::named("gate.a", ());
    let b = Mutex::named("gate.b", ());
    for first_a in [true, false] {
        let _g = gate.lock();
        if first_a {
            let _a = a.lock();
            let _b = b.lock();
        } else {
            let _b = b.lock();
            let _a = a.lock();
        }
    }
    let found = about("gate.");
    assert_eq!(found.len(), 1);
    assert!(found[0].is_guarded());
    assert!(!found[0].is_failing(false));
    assert!(found[0].is_failing(true));
    let gate_name = found[0]
        .cycle
        .as_ref()
        .unwrap()
        .guarded_by
        .as_ref()
        .unwrap();
    assert_eq!(gate_name.name.as_deref(), Some("gate.g"));

    // Near miss: the same orders without the gate.
    let c = Mutex::named("nogate.c", ());
    let d = Mutex::named("nogate.d", ());
    {
        let _c = c.lock();
        let _d = d.lock();
    }
    {
        let _d = d.lock();
        let _c = c.lock();
    }
    let found = about("nogate.");
    assert_eq!(found.len(), 1);
    assert!(!found[0].is_guarded());
}

#[test]
fn the_same_cycle_seen_many_times_is_one_finding_with_a_count() {
    collect();
    fn opposite_orders_with_fresh_locks() {
        let a = Mutex::named("repeat.a", ());
        let b = Mutex::named("repeat.b", ());
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        let _b = b.lock();
        let _a = a.lock();
    }
    for _ in 0..1000 {
        opposite_orders_with_fresh_locks();
    }
    let found: Vec<Finding> = lockcheck::findings()
        .into_iter()
        .filter(|f| f.summary.contains("repeat.a"))
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 1000);
}

#[test]
fn a_real_deadlock_is_reported_once_and_broken() {
    collect();
    let a = Arc::new(Mutex::named("deadlock.a", ()));
    let b = Arc::new(Mutex::named("deadlock.b", ()));
    let both_hold_one = Arc::new(Barrier::new(2));
    let spawn = |first: Arc<Mutex<()>>, second: Arc<Mutex<()>>, barrier: Arc<Barrier>| {
        thread::spawn(move || {
            let _f = first.lock();
            barrier.wait();
            let _s = second.lock();
        })
    };
    let t1 = spawn(a.clone(), b.clone(), both_hold_one.clone());
    let t2 = spawn(b.clone(), a.clone(), both_hold_one.clone());
    let results = [t1.join().is_ok(), t2.join().is_ok()];
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "exactly the closing thread is panicked"
    );
    let found = about("deadlock.");
    assert_eq!(kinds(&found), [FindingKind::Deadlock], "{found:#?}");
    assert_eq!(found[0].waits.len(), 2);
    assert_eq!(found[0].cycle.as_ref().unwrap().edges.len(), 2);
}

#[test]
fn rwlock_write_under_own_read_is_a_self_deadlock() {
    collect();
    let finished = on_thread(|| {
        let l = RwLock::named("rw.upgrade", 0);
        let _r = l.read();
        let _w = l.write();
    });
    assert!(!finished);
    assert_eq!(kinds(&about("rw.upgrade")), [FindingKind::SelfDeadlock]);
}

#[test]
fn rwlock_read_under_own_write_is_a_self_deadlock() {
    collect();
    let finished = on_thread(|| {
        let l = RwLock::named("rw.downgrade", 0);
        let _w = l.write();
        let _r = l.read_recursive();
    });
    assert!(!finished);
    assert_eq!(kinds(&about("rw.downgrade")), [FindingKind::SelfDeadlock]);
}

#[test]
fn nested_plain_read_is_reported_and_nested_recursive_read_is_not() {
    collect();
    let plain = RwLock::named("rwnest.plain", 0);
    {
        let _a = plain.read();
        let _b = plain.read(); // no writer waits: it goes on, reported
    }
    let found = about("rwnest.plain");
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock]);
    assert!(found[0].summary.contains("writer"));

    let recursive = RwLock::named("rwnest.recursive", 0);
    {
        let _a = recursive.read();
        let _b = recursive.read_recursive();
    }
    assert!(about("rwnest.recursive").is_empty());
}

#[test]
fn recursive_reads_in_opposite_orders_are_not_a_cycle_but_writes_are() {
    collect();
    let a = RwLock::named("rwcycle.a", ());
    let b = RwLock::named("rwcycle.b", ());
    {
        let _a = a.read();
        let _b = b.read_recursive();
    }
    {
        let _b = b.read();
        let _a = a.read_recursive();
    }
    assert!(about("rwcycle.").is_empty(), "lockdep: not a strong cycle");

    let c = RwLock::named("rwwcycle.c", ());
    let d = RwLock::named("rwwcycle.d", ());
    {
        let _c = c.write();
        let _d = d.read_recursive();
    }
    {
        let _d = d.write();
        let _c = c.write();
    }
    assert_eq!(kinds(&about("rwwcycle.")), [FindingKind::LockOrderCycle]);
}

#[test]
fn a_deadlock_through_rwlock_readers_is_found() {
    collect();
    // t1 reads A and wants to write B; t2 writes B and wants to write A.
    let a = Arc::new(RwLock::named("rwdead.a", ()));
    let b = Arc::new(RwLock::named("rwdead.b", ()));
    let barrier = Arc::new(Barrier::new(2));
    let (a1, b1, g1) = (a.clone(), b.clone(), barrier.clone());
    let t1 = thread::spawn(move || {
        let _r = a1.read();
        g1.wait();
        let _w = b1.write();
    });
    let (a2, b2, g2) = (a.clone(), b.clone(), barrier.clone());
    let t2 = thread::spawn(move || {
        let _w = b2.write();
        g2.wait();
        let _w2 = a2.write();
    });
    let oks = [t1.join().is_ok(), t2.join().is_ok()];
    assert_eq!(oks.iter().filter(|ok| !**ok).count(), 1);
    assert_eq!(kinds(&about("rwdead.")), [FindingKind::Deadlock]);
}

#[test]
fn upgrading_while_holding_another_read_is_a_self_deadlock() {
    collect();
    let finished = on_thread(|| {
        let l = RwLock::named("rwup.l", 0);
        let u = l.upgradable_read();
        let _r = l.read_recursive(); // fine on its own: a recursive read
        let _w = lockcheck::RwLockUpgradableReadGuard::upgrade(u);
    });
    assert!(!finished);
    assert_eq!(kinds(&about("rwup.")), [FindingKind::SelfDeadlock]);

    // Near miss: upgrading the only read is fine.
    let l = RwLock::named("rwupok.l", 0);
    let u = l.upgradable_read();
    *lockcheck::RwLockUpgradableReadGuard::upgrade(u) += 1;
    assert!(about("rwupok.").is_empty());
}

#[test]
fn a_thread_that_exits_with_a_forgotten_guard_is_lock_misuse() {
    collect();
    let m = Arc::new(Mutex::named("misuse.leak", ()));
    let m2 = m.clone();
    assert!(on_thread(move || std::mem::forget(m2.lock())));
    let found = about("misuse.leak");
    assert_eq!(kinds(&found), [FindingKind::LockMisuse]);
    assert!(found[0].summary.contains("exited while holding"));
    // Near miss: a thread that drops its guard.
    let n = Arc::new(Mutex::named("misuse.fine", ()));
    let n2 = n.clone();
    assert!(on_thread(move || drop(n2.lock())));
    assert!(about("misuse.fine").is_empty());
}

#[test]
fn force_unlock_by_a_thread_that_does_not_hold_the_lock_is_misuse() {
    collect();
    let m = Arc::new(Mutex::named("misuse.force", ()));
    std::mem::forget(m.lock());
    let m2 = m.clone();
    // SAFETY: the mutex is locked through a forgotten guard.
    assert!(on_thread(move || unsafe { m2.force_unlock() }));
    assert_eq!(kinds(&about("misuse.force")), [FindingKind::LockMisuse]);
    // Near miss: the owner force-unlocks its own forgotten guard.
    let n = Mutex::named("misuse.ownforce", ());
    std::mem::forget(n.lock());
    // SAFETY: as above, and this thread is the owner.
    unsafe { n.force_unlock() };
    assert!(n.try_lock().is_some());
    assert!(about("misuse.ownforce").is_empty());
}

#[test]
fn a_panicking_thread_releases_its_locks_and_leaves_no_false_finding() {
    collect();
    let a = Arc::new(Mutex::named("panic.a", 0));
    let b = Arc::new(Mutex::named("panic.b", 0));
    let (a1, b1) = (a.clone(), b.clone());
    assert!(!on_thread(move || {
        let _a = a1.lock();
        let _b = b1.lock();
        panic!("the program's own panic, locks held");
    }));
    // Both are free and usable in the same order; parking_lot does not poison.
    let _a = a.lock();
    let _b = b.lock();
    assert!(about("panic.").is_empty());
}

#[test]
fn condvar_wait_releases_the_mutex_in_the_held_record() {
    collect();
    let pair = Arc::new((Mutex::named("condvar.m", 0u32), Condvar::new()));
    let after = Arc::new(Mutex::named("condvar.after", ()));
    let p = pair.clone();
    let producer = thread::spawn(move || {
        for i in 1..=100 {
            let mut n = p.0.lock();
            *n = i;
            p.1.notify_all();
        }
    });
    {
        let mut n = pair.0.lock();
        pair.1.wait_while(&mut n, |n| *n < 100);
        // Still held after the wait: taking another lock is an ordinary edge.
        let _after = after.lock();
    }
    producer.join().unwrap();
    // And the mutex is really released: locking it again is no self-deadlock.
    assert_eq!(*pair.0.lock(), 100);
    assert!(about("condvar.").is_empty());
}

#[test]
fn eight_threads_taking_locks_in_one_order_find_nothing_and_finish() {
    collect();
    let locks = Arc::new([
        Mutex::named("stress.a", 0u64),
        Mutex::named("stress.b", 0u64),
    ]);
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (locks, start) = (locks.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..50_000 {
                    let mut a = locks[0].lock();
                    let mut b = locks[1].lock();
                    *a += 1;
                    *b += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 8 threads x 50,000 iterations x 2 locks = 800,000 acquisitions.
    assert_eq!(*locks[0].lock(), 400_000);
    assert!(about("stress.").is_empty());
}

#[test]
fn an_upgradable_read_under_own_read_hangs_once_a_writer_waits() {
    collect();
    // A writer that arrives between them takes the writer bit and waits for
    // the first read; the upgradable read then waits for the writer.
    let l = RwLock::named("rwupread.l", 0);
    let _r = l.read();
    let _u = l.upgradable_read();
    assert_eq!(kinds(&about("rwupread.")), [FindingKind::SelfDeadlock]);
}

#[test]
fn class_order_is_off_by_default_so_instances_of_one_site_do_not_join() {
    collect();
    let forks: Vec<Mutex<()>> = (0..2).map(|_| Mutex::named("class.fork", ())).collect();
    {
        let _a = forks[0].lock();
        let _b = forks[1].lock();
    }
    assert!(about("class.").is_empty());
}

#[test]
fn a_cycle_whose_halves_a_join_kept_apart_is_classified_as_ordered() {
    collect();
    let take = |first: Arc<Mutex<()>>, second: Arc<Mutex<()>>| {
        move || {
            let _f = first.lock();
            let _s = second.lock();
        }
    };
    // Spawned one after the other, each joined before the next: ordered.
    let a = Arc::new(Mutex::named("ordered.a", ()));
    let b = Arc::new(Mutex::named("ordered.b", ()));
    lockcheck::thread::spawn(take(a.clone(), b.clone()))
        .join()
        .unwrap();
    lockcheck::thread::spawn(take(b.clone(), a.clone()))
        .join()
        .unwrap();
    let found = about("ordered.");
    assert_eq!(found.len(), 1);
    assert!(found[0].cycle.as_ref().unwrap().ordered_by_happens_before);
    assert!(found[0].is_failing(false), "still a finding");

    // Near miss: both spawned at once; only a std channel (invisible to
    // lockcheck) makes the second wait for the first.
    let c = Arc::new(Mutex::named("unordered.c", ()));
    let d = Arc::new(Mutex::named("unordered.d", ()));
    // (Other lines than `take`'s: a cycle at the same sites would be the
    // same finding, seen again.)
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (c1, d1) = (c.clone(), d.clone());
    let t1 = lockcheck::thread::spawn(move || {
        {
            let _c = c1.lock();
            let _d = d1.lock();
        }
        done_tx.send(()).unwrap();
    });
    let (c2, d2) = (c.clone(), d.clone());
    let t2 = lockcheck::thread::spawn(move || {
        done_rx.recv().unwrap();
        let _d = d2.lock();
        let _c = c2.lock();
    });
    t1.join().unwrap();
    t2.join().unwrap();
    let found = about("unordered.");
    assert_eq!(found.len(), 1);
    assert!(!found[0].cycle.as_ref().unwrap().ordered_by_happens_before);
}

// A mutex's first use under one other lock parks its order edge instead of
// adding it to the graph (see `runtime::leaf_edges`): the edge must still
// close every cycle it is part of, with where and by whom it was taken.

#[test]
fn an_edge_into_a_new_mutex_is_reported_where_and_by_whom_it_was_taken() {
    collect();
    let outer = Arc::new(Mutex::named("parked.outer", ()));
    let inner = Arc::new(Mutex::named("parked.inner", ()));
    let (o, i) = (outer.clone(), inner.clone());
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name("parker".into())
        .spawn(move || {
            let _o = o.lock();
            line_tx.send(line!() + 1).unwrap();
            let _i = i.lock();
        })
        .unwrap()
        .join()
        .unwrap();
    let parked_line = line_rx.recv().unwrap();
    {
        let _i = inner.lock();
        let _o = outer.lock();
    }
    let found = about("parked.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    let cycle = found[0].cycle.as_ref().unwrap();
    assert!(!cycle.single_thread);
    let edge = cycle
        .edges
        .iter()
        .find(|e| e.to.name.as_deref() == Some("parked.inner"))
        .expect("the parked edge is in the cycle");
    assert_eq!(edge.from.name.as_deref(), Some("parked.outer"));
    assert_eq!(edge.to_site.line, parked_line);
    assert_eq!(edge.thread.name.as_deref(), Some("parker"));
}

#[test]
fn an_edge_parked_by_a_thread_that_then_leads_from_the_mutex_closes_a_longer_cycle() {
    collect();
    let outer = Mutex::named("leads.outer", ());
    let inner = Mutex::named("leads.inner", ());
    let next = Mutex::named("leads.next", ());
    {
        let o = outer.lock();
        let _i = inner.lock();
        // Out of order: only the new mutex is held when the next is taken.
        drop(o);
        let _n = next.lock();
    }
    {
        let _n = next.lock();
        let _o = outer.lock();
    }
    let found = about("leads.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
    assert_eq!(found[0].cycle.as_ref().unwrap().edges.len(), 3);
}

#[test]
fn an_edge_parked_by_a_thread_waiting_on_a_condvar_reaches_the_next_holder() {
    collect();
    let outer = Arc::new(Mutex::named("waited.outer", ()));
    let state = Arc::new((Mutex::named("waited.m", false), Condvar::new()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (o, s) = (outer.clone(), state.clone());
    let waiter = thread::spawn(move || {
        let _o = o.lock();
        let mut done = s.0.lock();
        ready_tx.send(()).unwrap();
        while !*done {
            s.1.wait(&mut done);
        }
    });
    ready_rx.recv().unwrap();
    {
        // Granted only while the waiter waits: the first holder after it.
        let mut done = state.0.lock();
        *done = true;
        state.1.notify_one();
    }
    waiter.join().unwrap();
    {
        let _m = state.0.lock();
        let _o = outer.lock();
    }
    let found = about("waited.");
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle]);
}

#[test]
fn new_mutexes_taken_under_one_outer_lock_in_one_order_are_clean() {
    collect();
    let outer = Mutex::named("leafok.outer", ());
    let last = Mutex::named("leafok.last", ());
    for _ in 0..100 {
        let leaf = Mutex::named("leafok.leaf", 0u32);
        {
            let _o = outer.lock();
            *leaf.lock() += 1;
        }
        // The leaf leads to another lock, still in the outer lock's order.
        let _o = outer.lock();
        let _l = leaf.lock();
        let _last = last.lock();
    }
    assert!(about("leafok.").is_empty());
}
