//! The detectors through `lockcheck::stdsync`: each detection with the near
//! miss it must not report, policy `collect`. Tests share one process (and
//! its findings), and std's API has no lock names, so each test looks only
//! at findings about the locks it created, by their creation line. Threads
//! are ordered by joins, channels and barriers, never by sleeps, and every
//! blocking wait has a deadline.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use lockcheck::config::{self, Policy};
use lockcheck::stdsync::{Arc, Barrier, LazyLock, Mutex, Once, OnceLock, RwLock};
use lockcheck::{Finding, FindingKind, Shared};

const DEADLINE: Duration = Duration::from_secs(20);

include!("stdsync_swap/watched.rs");

fn collect() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
}

/// Data-race findings on the `Shared` named `name`.
fn races_on(name: &str) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::DataRace)
        .filter(|f| f.variable.as_ref().and_then(|v| v.name.as_deref()) == Some(name))
        .collect()
}

/// Findings that involve a lock created in this file at `line`.
fn about_lock_created_at(line: u32) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.created.file.ends_with("tests/stdsync.rs") && l.created.line == line)
        })
        .collect()
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// Runs `f` on a fresh thread and joins it; returns whether it finished
/// without panicking.
fn on_thread(f: impl FnOnce() + Send + 'static) -> bool {
    spawn(f).join().is_ok()
}

#[test]
fn opposite_orders_of_two_std_shaped_mutexes_are_a_cycle_at_the_callers_lines() {
    collect();
    let (a, line) = (Arc::new(Mutex::new(())), line!());
    let b = Arc::new(Mutex::new(()));
    let (a1, b1) = (a.clone(), b.clone());
    assert!(on_thread(move || {
        let _a = a1.lock().unwrap();
        let _b = b1.lock().unwrap();
    }));
    assert!(about_lock_created_at(line).is_empty(), "one order is clean");
    let (a2, b2) = (a.clone(), b.clone());
    assert!(on_thread(move || {
        let _b = b2.lock().unwrap();
        let _a = a2.lock().unwrap();
    }));
    let found = about_lock_created_at(line);
    assert_eq!(kinds(&found), [FindingKind::LockOrderCycle], "{found:#?}");
    let cycle = found[0].cycle.as_ref().expect("a cycle's edges");
    assert_eq!(cycle.edges.len(), 2);
    for e in &cycle.edges {
        for site in [&e.from_site, &e.to_site] {
            assert!(site.file.ends_with("tests/stdsync.rs"), "{e:#?}");
        }
    }
}

#[test]
fn the_same_order_everywhere_is_clean() {
    collect();
    let (a, line) = (Arc::new(Mutex::new(0)), line!());
    let b = Arc::new(RwLock::new(0));
    let start = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (a, b, start) = (a.clone(), b.clone(), start.clone());
            spawn(move || {
                start.wait();
                for _ in 0..100 {
                    let mut a = a.lock().unwrap();
                    *a += 1;
                    *b.write().unwrap() += *a;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*a.lock().unwrap(), 300);
    assert!(about_lock_created_at(line).is_empty());
}

#[test]
fn a_std_shaped_mutex_locked_twice_is_a_self_deadlock_at_the_users_line() {
    collect();
    let (m, created) = (Arc::new(Mutex::new(0)), line!());
    let (m2, relock) = (m.clone(), Arc::new(std::sync::atomic::AtomicU32::new(0)));
    let r = relock.clone();
    let finished = on_thread(move || {
        let _first = m2.lock().unwrap();
        r.store(line!() + 1, std::sync::atomic::Ordering::Relaxed);
        let _second = m2.lock();
    });
    assert!(!finished, "the thread is panicked out of the hang");
    let found = about_lock_created_at(created);
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock], "{found:#?}");
    let wait = &found[0].waits[0];
    assert!(wait.site.file.ends_with("tests/stdsync.rs"), "{wait:#?}");
    assert_eq!(
        wait.site.line,
        relock.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(wait.holds.len(), 1);
    // The first lock, two lines above the second.
    assert_eq!(wait.holds[0].site.line + 2, wait.site.line);
    // The panic that broke the hang unwound through the first guard.
    assert!(m.is_poisoned());
}

#[test]
fn a_write_under_its_own_read_is_a_self_deadlock() {
    collect();
    let (l, created) = (Arc::new(RwLock::new(0)), line!());
    let l2 = l.clone();
    assert!(!on_thread(move || {
        let _r = l2.read().unwrap();
        let _w = l2.write();
    }));
    assert_eq!(
        kinds(&about_lock_created_at(created)),
        [FindingKind::SelfDeadlock]
    );
}

#[test]
fn a_once_lock_initialised_from_its_own_initialisation_is_a_self_deadlock() {
    collect();
    let (cell, created) = (Arc::new(OnceLock::<u32>::new()), line!());
    let inner_line = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (c, l) = (cell.clone(), inner_line.clone());
    let finished = on_thread(move || {
        c.get_or_init(|| {
            l.store(line!() + 1, std::sync::atomic::Ordering::Relaxed);
            *c.get_or_init(|| 1) + 1
        });
    });
    assert!(!finished, "the re-entry is broken by a panic, not a hang");
    let found = about_lock_created_at(created);
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock], "{found:#?}");
    let wait = &found[0].waits[0];
    assert!(wait.site.file.ends_with("tests/stdsync.rs"), "{wait:#?}");
    assert_eq!(
        wait.site.line,
        inner_line.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(cell.get(), None, "the failed initialisation left it empty");
    assert_eq!(
        *cell.get_or_init(|| 7),
        7,
        "and it can be initialised again"
    );
}

#[test]
fn a_once_lock_initialising_another_is_clean() {
    collect();
    let (outer, outer_line) = (OnceLock::<u32>::new(), line!());
    let (inner, inner_line) = (OnceLock::<u32>::new(), line!());
    assert_eq!(*outer.get_or_init(|| *inner.get_or_init(|| 1) + 1), 2);
    assert_eq!(inner.get(), Some(&1));
    assert!(about_lock_created_at(outer_line).is_empty());
    assert!(about_lock_created_at(inner_line).is_empty());
}

static SELF_REFERENTIAL: LazyLock<u32> = LazyLock::new(|| *SELF_REFERENTIAL + 1);
const SELF_REFERENTIAL_LINE: u32 = line!() - 1;

#[test]
fn a_lazy_lock_forced_from_its_own_initialisation_is_a_self_deadlock() {
    collect();
    assert!(!on_thread(|| {
        let _ = *SELF_REFERENTIAL;
    }));
    let found = about_lock_created_at(SELF_REFERENTIAL_LINE);
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock], "{found:#?}");
    // The dereference inside the initialiser, through `Deref`'s caller.
    let wait = &found[0].waits[0];
    assert!(wait.site.file.ends_with("tests/stdsync.rs"), "{wait:#?}");
    assert_eq!(wait.site.line, SELF_REFERENTIAL_LINE);
}

#[test]
fn a_once_called_from_its_own_call_is_a_self_deadlock_and_another_once_is_not() {
    collect();
    let (once, created) = (Arc::new(Once::new()), line!());
    let (other, other_line) = (Arc::new(Once::new()), line!());
    let (o, p) = (once.clone(), other.clone());
    assert!(on_thread(move || o.call_once(|| p.call_once(|| {}))));
    assert!(once.is_completed() && other.is_completed());
    assert!(about_lock_created_at(created).is_empty());
    assert!(about_lock_created_at(other_line).is_empty());

    let (again, again_line) = (Arc::new(Once::new()), line!());
    let a = again.clone();
    assert!(!on_thread(move || a.call_once(|| a.call_once(|| {}))));
    assert_eq!(
        kinds(&about_lock_created_at(again_line)),
        [FindingKind::SelfDeadlock]
    );
}

#[test]
fn waiting_for_an_initialisation_that_waits_for_the_waiters_lock_is_a_deadlock() {
    collect();
    let (held, held_line) = (Arc::new(Mutex::new(())), line!());
    let cell = Arc::new(OnceLock::<u32>::new());
    let (to_initialiser, holding) = std_mpsc::channel();
    let (to_holder, initialising) = std_mpsc::channel();
    let (h, c) = (held.clone(), cell.clone());
    let holder = spawn(move || {
        let _held = h.lock().unwrap();
        to_initialiser.send(()).unwrap();
        initialising.recv_timeout(DEADLINE).unwrap();
        // Waits for the initialisation, which waits for `_held`.
        *c.get_or_init(|| 0)
    });
    let (h, c) = (held.clone(), cell.clone());
    let initialiser = spawn(move || {
        holding.recv_timeout(DEADLINE).unwrap();
        *c.get_or_init(|| {
            to_holder.send(()).unwrap();
            drop(h.lock());
            1
        })
    });
    let results = [holder.join(), initialiser.join()];
    assert_eq!(
        results.iter().filter(|r| r.is_err()).count(),
        1,
        "exactly one thread is panicked out of the deadlock"
    );
    let found = about_lock_created_at(held_line);
    assert_eq!(kinds(&found), [FindingKind::Deadlock], "{found:#?}");
    assert_eq!(found[0].waits.len(), 2);
}

/// `set` in one thread's initialisation of `cell`, then a read on the
/// caller's thread once the initialiser says (over std's channel, which
/// lockcheck does not see as an ordering) it is done; `through_cell`: the
/// reader first finds the value in the cell.
fn read_after_initialisation(name: &'static str, through_cell: bool) {
    let data = Arc::new(Shared::named(name, 0));
    let cell = Arc::new(OnceLock::new());
    let (done, initialised) = std_mpsc::channel();
    let (d, c) = (data.clone(), cell.clone());
    let initialiser = lockcheck::thread::spawn(move || {
        c.get_or_init(|| d.set(1));
        done.send(()).unwrap();
    });
    initialised.recv_timeout(DEADLINE).unwrap();
    if through_cell {
        assert!(cell.get().is_some());
    }
    assert_eq!(data.get(), 1);
    initialiser.join().unwrap();
}

#[test]
fn what_an_initialisation_did_happens_before_a_read_that_finds_the_value() {
    collect();
    read_after_initialisation("stdsync.init.through_cell", true);
    assert!(races_on("stdsync.init.through_cell").is_empty());
    // The near miss: the same read, not through the cell, is a race.
    read_after_initialisation("stdsync.init.unordered", false);
    assert_eq!(races_on("stdsync.init.unordered").len(), 1);
}

/// A write before the barrier in one thread, a read in another: after its
/// barrier wait (`after`), or before it.
fn access_around_a_barrier(name: &'static str, after: bool) {
    let data = Arc::new(Shared::named(name, 0));
    let barrier = Arc::new(Barrier::new(2));
    let (d, b) = (data.clone(), barrier.clone());
    let writer = lockcheck::thread::spawn(move || {
        d.set(1);
        b.wait();
    });
    let (d, b) = (data.clone(), barrier.clone());
    let reader = lockcheck::thread::spawn(move || {
        if !after {
            d.get();
        }
        b.wait();
        if after {
            assert_eq!(d.get(), 1);
        }
    });
    writer.join().unwrap();
    reader.join().unwrap();
}

#[test]
fn what_a_thread_did_before_a_barrier_happens_before_what_all_do_after_it() {
    collect();
    access_around_a_barrier("stdsync.barrier.after", true);
    assert!(races_on("stdsync.barrier.after").is_empty());
    access_around_a_barrier("stdsync.barrier.before", false);
    assert_eq!(races_on("stdsync.barrier.before").len(), 1);
}
