//! lockcheck's own raw locks (src/raw/) through the public API, checking
//! on: mutual exclusion under contention, the reader-writer rules
//! parking_lot has (readers share; a waiting writer keeps new `read`s out
//! but not `read_recursive`; one upgradable read at a time; an upgrade
//! waits for readers; a downgrade lets readers in), timed tries, fair
//! unlocks, condition variables and reentrancy. The states no public
//! method shows (a thread parked, a hand-off) are tested in
//! `src/raw/tests.rs`. Threads are ordered by barriers, channels, joins
//! and the lock's own `is_locked_exclusive`, never by sleeping; a timed try
//! with a short timeout only ever meets a lock whose holder is parked at a
//! barrier or a channel.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use lockcheck::{
    stdsync, Condvar, FairMutex, FairMutexGuard, Mutex, MutexGuard, ReentrantMutex, RwLock,
    RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
};

const THREADS: usize = 4;
const ROUNDS: u64 = 5_000;

/// Runs `body` on `THREADS` threads that start together.
fn contend(body: impl Fn(usize) + Sync) {
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for i in 0..THREADS {
            let (start, body) = (&start, &body);
            s.spawn(move || {
                start.wait();
                body(i);
            });
        }
    });
}

/// A read and a write apart: a lost update shows if two threads are ever
/// inside at once.
fn bump(counter: &mut u64) {
    let seen = *counter;
    *counter = seen + 1;
}

/// `THREADS` × `ROUNDS` increments of a plain integer under each kind of
/// mutex (the fair one also through `unlock_fair` and `bump`, the reentrant
/// one entered twice): the exact total, so no two threads were ever inside.
#[test]
fn mutexes_exclude_under_contention() {
    let plain = Mutex::new(0u64);
    let fair = FairMutex::new(0u64);
    let std_shaped = stdsync::Mutex::new(0u64);
    let reentrant = ReentrantMutex::new(Cell::new(0u64));
    contend(|i| {
        for round in 0..ROUNDS {
            bump(&mut plain.lock());
            if round % 2 == 0 {
                bump(&mut fair.lock());
            } else {
                // The fair unlock and bump under contention too.
                let mut g = fair.lock();
                bump(&mut g);
                if i == 0 {
                    FairMutexGuard::bump(&mut g);
                }
                FairMutexGuard::unlock_fair(g);
            }
            bump(&mut std_shaped.lock().expect("never poisoned"));
            let outer = reentrant.lock();
            let inner = reentrant.lock();
            inner.set(inner.get() + 1);
            drop(inner);
            drop(outer);
        }
    });
    let total = THREADS as u64 * ROUNDS;
    assert_eq!(plain.into_inner(), total);
    assert_eq!(fair.into_inner(), total);
    assert_eq!(std_shaped.into_inner().expect("never poisoned"), total);
    assert_eq!(reentrant.into_inner().get(), total);
}

/// Every unlock fair (a hand-off whenever a thread is parked), under
/// contention: the exact total.
#[test]
fn mutex_unlock_fair_under_contention() {
    let m = Mutex::new(0u64);
    contend(|_| {
        for _ in 0..ROUNDS {
            let mut g = m.lock();
            bump(&mut g);
            MutexGuard::unlock_fair(g);
        }
    });
    assert_eq!(m.into_inner(), THREADS as u64 * ROUNDS);
}

/// Writers, upgraders and readers (plain and recursive) at once: a reader
/// never sees a half-made write, and no increment is lost.
#[test]
fn rwlock_mixed_contention() {
    let lock = RwLock::new((0u64, 0u64));
    let std_shaped = stdsync::RwLock::new((0u64, 0u64));
    contend(|i| {
        for _ in 0..ROUNDS {
            match i {
                0 => {
                    let mut w = lock.write();
                    bump(&mut w.0);
                    bump(&mut w.1);
                    let mut w = std_shaped.write().expect("never poisoned");
                    bump(&mut w.0);
                    bump(&mut w.1);
                }
                1 => {
                    let u = lock.upgradable_read();
                    assert_eq!(u.0, u.1);
                    let mut w = RwLockUpgradableReadGuard::upgrade(u);
                    bump(&mut w.0);
                    bump(&mut w.1);
                    let r = RwLockWriteGuard::downgrade(w);
                    assert_eq!(r.0, r.1);
                }
                2 => {
                    let r = lock.read();
                    assert_eq!(r.0, r.1);
                    let r = std_shaped.read().expect("never poisoned");
                    assert_eq!(r.0, r.1);
                }
                _ => {
                    let r = lock.read_recursive();
                    assert_eq!(r.0, r.1);
                    RwLockReadGuard::unlock_fair(r);
                }
            }
        }
    });
    assert_eq!(lock.into_inner(), (2 * ROUNDS, 2 * ROUNDS));
    assert_eq!(
        std_shaped.into_inner().expect("never poisoned"),
        (ROUNDS, ROUNDS)
    );
}

/// Two readers inside at once: each waits at a barrier for the other in
/// its read section, which one reader at a time would never pass.
#[test]
fn readers_share() {
    let lock = RwLock::new(1);
    let std_shaped = stdsync::RwLock::new(2);
    let both_in = Barrier::new(2);
    thread::scope(|s| {
        for second in [false, true] {
            let (lock, std_shaped, both_in) = (&lock, &std_shaped, &both_in);
            s.spawn(move || {
                let r = if second {
                    lock.read_recursive()
                } else {
                    lock.read()
                };
                both_in.wait();
                assert_eq!(*r, 1);
                let r = std_shaped.read().expect("never poisoned");
                both_in.wait();
                assert_eq!(*r, 2);
            });
        }
    });
}

/// A writer keeps readers and other writers out; a reader blocked on it
/// gets in after the write and sees it.
#[test]
fn writer_excludes_readers() {
    let lock = RwLock::new(0);
    let hold = Barrier::new(2);
    let (release, released) = mpsc::channel::<()>();
    thread::scope(|s| {
        let (lock, hold) = (&lock, &hold);
        s.spawn(move || {
            let mut w = lock.write();
            *w = 9;
            hold.wait();
            let _ = released.recv();
        });
        hold.wait();
        assert!(lock.try_read().is_none());
        assert!(lock.try_read_recursive().is_none());
        assert!(lock.try_upgradable_read().is_none());
        assert!(lock.try_write().is_none());
        assert!(lock.try_read_for(Duration::from_millis(5)).is_none());
        assert!(lock.is_locked_exclusive());
        drop(release);
        assert_eq!(*lock.read(), 9);
    });
}

/// A writer waiting for a reader to leave already owns the writer bit
/// (`is_locked_exclusive`): a new `read` is refused, a `read_recursive` is
/// let in, and the writer gets the lock once the readers are gone.
#[test]
fn waiting_writer_blocks_read_not_read_recursive() {
    let lock = RwLock::new(0);
    let r = lock.read();
    let written = AtomicBool::new(false);
    thread::scope(|s| {
        let writer = s.spawn(|| {
            *lock.write() += 1;
            written.store(true, Ordering::SeqCst);
        });
        while !lock.is_locked_exclusive() {
            thread::yield_now();
        }
        s.spawn(|| {
            assert!(
                lock.try_read().is_none(),
                "a new read waits behind the writer"
            );
            assert!(lock.try_read_for(Duration::from_millis(5)).is_none());
            let again = lock.try_read_recursive();
            assert!(again.is_some(), "a recursive read gets in");
            drop(again);
            assert_eq!(*lock.read_recursive(), 0);
        })
        .join()
        .expect("second reader");
        assert!(!written.load(Ordering::SeqCst));
        drop(r);
        writer.join().expect("writer");
    });
    assert!(written.load(Ordering::SeqCst));
    assert_eq!(*lock.read(), 1);
}

/// A timed write that runs out while a reader is inside leaves the lock
/// as it was: readers get in, and a later blocking write succeeds once the
/// reader leaves. (lockcheck's contended path makes exactly that timed
/// try, for its grace period, before it blocks.)
#[test]
fn timed_write_that_runs_out_gives_the_lock_back() {
    let lock = RwLock::new(0);
    let r = lock.read();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let t = s.spawn(|| {
            assert!(lock.try_write_for(Duration::from_millis(5)).is_none());
            assert!(!lock.is_locked_exclusive());
            assert!(lock.try_read().is_some());
            tx.send(()).expect("main waits");
            *lock.write() += 1;
        });
        rx.recv().expect("the timed write ran out");
        while !lock.is_locked_exclusive() {
            thread::yield_now();
        }
        drop(r);
        t.join().expect("writer");
    });
    assert_eq!(*lock.read(), 1);
}

/// The deadlock of `tests/live_detection.rs` through an rwlock's reader,
/// repeated: each time exactly one thread is broken out, and the other
/// finishes (a timed write that kept its writer bit used to leave the
/// survivor waiting for a lock nobody held). Needs the detector: with
/// `checks` off the deadlock is a plain hang.
#[cfg(feature = "checks")]
#[test]
fn a_broken_rwlock_deadlock_lets_the_survivor_finish() {
    lockcheck::config::set_policy(lockcheck::config::Policy::Collect);
    lockcheck::config::set_backtraces(false);
    for round in 0..3 {
        let a = RwLock::new(()).with_name(format!("rawlocks.dead{round}.a"));
        let b = RwLock::new(()).with_name(format!("rawlocks.dead{round}.b"));
        let both = Barrier::new(2);
        let oks = thread::scope(|s| {
            let t1 = s.spawn(|| {
                let _r = a.read();
                both.wait();
                let _w = b.write();
            });
            let t2 = s.spawn(|| {
                let _w = b.write();
                both.wait();
                let _w = a.write();
            });
            [t1.join().is_ok(), t2.join().is_ok()]
        });
        assert_eq!(oks.iter().filter(|ok| !**ok).count(), 1, "round {round}");
    }
}

/// One upgradable read at a time: it keeps other upgradable reads and
/// writers out, lets readers in.
#[test]
fn upgradable_excludes_upgradable_and_writers() {
    let lock = RwLock::new(0);
    let u = lock.upgradable_read();
    thread::scope(|s| {
        s.spawn(|| {
            assert!(lock.try_upgradable_read().is_none());
            assert!(lock
                .try_upgradable_read_for(Duration::from_millis(5))
                .is_none());
            assert!(lock.try_write().is_none());
            assert!(lock
                .try_write_until(Instant::now() + Duration::from_millis(5))
                .is_none());
            assert!(lock.try_read().is_some());
        })
        .join()
        .expect("other thread");
    });
    let u = match RwLockUpgradableReadGuard::try_upgrade(u) {
        Ok(w) => RwLockWriteGuard::downgrade_to_upgradable(w),
        Err(_) => panic!("no reader is inside"),
    };
    drop(u);
    assert!(!lock.is_locked());
}

/// An upgrade waits for the reader inside: it has taken the writer bit
/// (`is_locked_exclusive`) but not the lock until the reader leaves.
#[test]
fn upgrade_waits_for_readers() {
    let lock = RwLock::new(0);
    let r = lock.read();
    let upgraded = AtomicBool::new(false);
    thread::scope(|s| {
        let t = s.spawn(|| {
            let u = lock.upgradable_read();
            let mut w = RwLockUpgradableReadGuard::upgrade(u);
            upgraded.store(true, Ordering::SeqCst);
            *w += 1;
        });
        while !lock.is_locked_exclusive() {
            thread::yield_now();
        }
        assert!(!upgraded.load(Ordering::SeqCst));
        assert_eq!(*r, 0);
        drop(r);
        t.join().expect("upgrader");
    });
    assert!(upgraded.load(Ordering::SeqCst));
    assert_eq!(*lock.read(), 1);
}

/// A downgraded write lets a reader in while the downgraded read is still
/// held (whether the reader was already waiting or not).
#[test]
fn downgrade_lets_readers_in() {
    let lock = RwLock::new(0);
    let mut w = lock.write();
    let (tx, rx) = mpsc::channel();
    let done = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            let r = lock.read();
            tx.send(*r).expect("main waits");
            done.wait();
        });
        *w = 4;
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(rx.recv().expect("the reader got in"), 4);
        assert_eq!(*r, 4);
        done.wait();
    });
}

/// Timed tries on locks whose holder is parked at a channel: the short
/// ones time out (and take at least their time), a long one succeeds once
/// the holder lets go.
#[test]
fn timed_tries() {
    let m = Mutex::new(());
    let fair = FairMutex::new(());
    let rw = RwLock::new(());
    let hold = Barrier::new(2);
    let (release, released) = mpsc::channel::<()>();
    thread::scope(|s| {
        let (m, fair, rw, hold) = (&m, &fair, &rw, &hold);
        s.spawn(move || {
            let _a = m.lock();
            let _b = fair.lock();
            let _c = rw.write();
            hold.wait();
            let _ = released.recv();
        });
        hold.wait();
        let short = Duration::from_millis(10);
        let start = Instant::now();
        assert!(m.try_lock_for(short).is_none());
        assert!(start.elapsed() >= short);
        assert!(m.try_lock_until(Instant::now() + short).is_none());
        assert!(fair.try_lock_for(short).is_none());
        assert!(rw.try_read_for(short).is_none());
        assert!(rw.try_read_recursive_for(short).is_none());
        assert!(rw.try_write_for(short).is_none());
        drop(release);
        let long = Duration::from_secs(600);
        assert!(m.try_lock_for(long).is_some());
        assert!(fair.try_lock_for(long).is_some());
        assert!(rw.try_write_for(long).is_some());
    });
}

/// The shared state of the condition variable test: tickets handed out,
/// waiters ready, tickets taken.
#[derive(Default)]
struct Tickets {
    ready: usize,
    tickets: usize,
    taken: usize,
}

/// `notify_one` wakes one waiter, `notify_all` the rest: each woken waiter
/// takes one ticket. A waiter counts itself ready under the mutex before
/// its wait, which releases the mutex only once the waiter is queued: so
/// with the mutex held and every waiter ready, all of them are waiting.
#[test]
fn condvar_wakes_the_right_number() {
    const WAITERS: usize = 4;
    let state = Mutex::new(Tickets::default());
    let tickets = Condvar::new();
    let progress = Condvar::new();
    thread::scope(|s| {
        for _ in 0..WAITERS {
            s.spawn(|| {
                let mut g = state.lock();
                g.ready += 1;
                progress.notify_all();
                tickets.wait_while(&mut g, |t| t.tickets == 0);
                g.tickets -= 1;
                g.taken += 1;
                progress.notify_all();
            });
        }
        let mut g = state.lock();
        progress.wait_while(&mut g, |t| t.ready < WAITERS);
        g.tickets = 1;
        assert!(tickets.notify_one());
        progress.wait_while(&mut g, |t| t.taken < 1);
        assert_eq!(g.taken, 1);
        g.tickets = WAITERS - 1;
        assert_eq!(tickets.notify_all(), WAITERS - 1);
        progress.wait_while(&mut g, |t| t.taken < WAITERS);
    });
    let g = state.lock();
    assert_eq!((g.taken, g.tickets), (WAITERS, 0));
    assert!(!tickets.notify_one());
    assert_eq!(tickets.notify_all(), 0);
}

/// Ping-pong through one condition variable, lockcheck's and std's shape:
/// a lost wake-up would hang.
#[test]
fn condvar_loses_no_wake_up() {
    const TURNS: usize = 2_000;
    let turn = Mutex::new(0usize);
    let cv = Condvar::new();
    let std_turn = stdsync::Mutex::new(0usize);
    let std_cv = stdsync::Condvar::new();
    thread::scope(|s| {
        for me in 0..2 {
            let (turn, cv, std_turn, std_cv) = (&turn, &cv, &std_turn, &std_cv);
            s.spawn(move || {
                for round in 0..TURNS {
                    let mut g = turn.lock();
                    cv.wait_while(&mut g, |t| *t % 2 != me);
                    assert_eq!(*g, 2 * round + me);
                    *g += 1;
                    cv.notify_all();
                    drop(g);
                    let g = std_turn.lock().expect("never poisoned");
                    let mut g = std_cv
                        .wait_while(g, |t| *t % 2 != me)
                        .expect("never poisoned");
                    *g += 1;
                    std_cv.notify_one();
                }
            });
        }
    });
    assert_eq!(*turn.lock(), 2 * TURNS);
    assert_eq!(*std_turn.lock().expect("never poisoned"), 2 * TURNS);
}

/// Timed waits time out with nobody notifying, hold the mutex again on
/// return, and a notified one does not time out.
#[test]
fn condvar_timed_waits() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    let mut g = m.lock();
    assert!(cv.wait_for(&mut g, Duration::from_millis(5)).timed_out());
    assert!(cv
        .wait_while_for(&mut g, |ready| !*ready, Duration::from_millis(5))
        .timed_out());
    assert!(m.try_lock().is_none(), "held again after the wait");
    thread::scope(|s| {
        s.spawn(|| {
            *m.lock() = true;
            cv.notify_all();
        });
        let result = cv.wait_while_until(
            &mut g,
            |ready| !*ready,
            Instant::now() + Duration::from_secs(600),
        );
        assert!(!result.timed_out());
        assert!(*g);
        drop(g);
    });
}

/// The owner re-enters its reentrant mutex; another thread gets it only
/// after the last level is released.
#[test]
fn reentrant_recursion() {
    let m = ReentrantMutex::new(Cell::new(0));
    let a = m.lock();
    let b = m.lock();
    let c = m.try_lock().expect("the owner re-enters");
    c.set(3);
    assert!(m.is_owned_by_current_thread());
    thread::scope(|s| {
        s.spawn(|| {
            assert!(m.try_lock().is_none());
            assert!(m.try_lock_for(Duration::from_millis(5)).is_none());
        })
        .join()
        .expect("other thread");
        drop(c);
        drop(b);
        s.spawn(|| assert!(m.try_lock().is_none()))
            .join()
            .expect("other thread");
        drop(a);
        assert_eq!(s.spawn(|| m.lock().get()).join().expect("other thread"), 3);
    });
    assert!(!m.is_locked());
}
