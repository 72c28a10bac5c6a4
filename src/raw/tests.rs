//! Unit tests of the raw locks, on the `lock_api` types over them (no
//! checking in the way). The threads are ordered by barriers, channels,
//! joins and by counting the threads parked on a lock's key (a filter that
//! skips every parked thread, so it wakes nobody): never by sleeping.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use lock_api::{RawRwLock as _, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
use parking_lot_core::{FilterOp, DEFAULT_UNPARK_TOKEN};

use crate::raw::{Condvar, Mutex, MutexGuard, RawFairMutex, RawRwLock, ReentrantMutex, RwLock};

/// The fair raw mutex under lock_api's mutex, as the checked fair mutex
/// has it.
type FairMutex<T> = lock_api::Mutex<RawFairMutex, T>;

/// How many threads are parked on `key` now.
fn parked_on(key: usize) -> usize {
    let mut count = 0;
    // SAFETY: a filter that skips every thread unparks nobody and changes
    // no queue; neither closure panics or calls into parking_lot_core.
    unsafe {
        parking_lot_core::unpark_filter(
            key,
            |_| {
                count += 1;
                FilterOp::Skip
            },
            |_| DEFAULT_UNPARK_TOKEN,
        );
    }
    count
}

/// Yields until exactly `n` threads are parked on `key`.
fn wait_parked(key: usize, n: usize) {
    while parked_on(key) != n {
        thread::yield_now();
    }
}

/// The raw lock's keys behind a `lock_api` rwlock.
fn rw_keys<T>(lock: &RwLock<T>) -> (usize, usize) {
    // SAFETY: only the keys are read.
    unsafe { lock.raw() }.keys_for_test()
}

/// A mutex's parking key.
fn mutex_key<T>(lock: &Mutex<T>) -> usize {
    // SAFETY: only the key is read.
    unsafe { lock.raw() }.key_for_test()
}

/// 4 threads × 20,000 increments of a plain integer under the lock.
#[test]
fn mutex_excludes_under_contention() {
    const THREADS: usize = 4;
    const ROUNDS: u64 = 20_000;
    let counter = Mutex::new(0u64);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                start.wait();
                for _ in 0..ROUNDS {
                    let mut g = counter.lock();
                    // A read and a write apart: a lost update shows if two
                    // threads are ever inside at once.
                    let seen = *g;
                    *g = seen + 1;
                }
            });
        }
    });
    assert_eq!(counter.into_inner(), THREADS as u64 * ROUNDS);
}

/// A thread blocked in `lock` parks, is woken by the unlock and gets in.
#[test]
fn mutex_wakes_a_parked_waiter() {
    let m = Mutex::new(0);
    let g = m.lock();
    thread::scope(|s| {
        let t = s.spawn(|| {
            *m.lock() += 1;
        });
        wait_parked(mutex_key(&m), 1);
        assert!(m.is_locked());
        drop(g);
        t.join().expect("waiter");
    });
    assert_eq!(*m.lock(), 1);
    assert!(!m.is_locked());
}

/// `unlock_fair` with a parked waiter hands it the lock: the lock never
/// becomes free, so the unlocking thread's `try_lock` fails at once.
#[test]
fn mutex_unlock_fair_hands_off() {
    let m = Mutex::new(0);
    let (tx, rx) = mpsc::channel();
    let release = Barrier::new(2);
    let g = m.lock();
    thread::scope(|s| {
        s.spawn(|| {
            let mut g = m.lock();
            *g += 1;
            tx.send(()).expect("main waits");
            release.wait();
        });
        wait_parked(mutex_key(&m), 1);
        MutexGuard::unlock_fair(g);
        assert!(m.try_lock().is_none(), "the lock went to the waiter");
        rx.recv().expect("the waiter got the lock");
        release.wait();
    });
    assert_eq!(*m.lock(), 1);
}

/// The fair mutex: the same hand-off through a plain drop.
#[test]
fn fair_mutex_drop_hands_off() {
    let m = FairMutex::new(0);
    let release = Barrier::new(2);
    let g = m.lock();
    thread::scope(|s| {
        s.spawn(|| {
            let _g = m.lock();
            release.wait();
        });
        // SAFETY: only the key is read.
        let key = unsafe { m.raw() } as *const _ as usize;
        wait_parked(key, 1);
        drop(g);
        assert!(m.try_lock().is_none(), "the lock went to the waiter");
        release.wait();
    });
    assert!(m.try_lock().is_some());
}

/// Timed tries: one times out on a held mutex, one succeeds when the
/// holder lets go while it waits.
#[test]
fn mutex_timed_tries() {
    let m = &Mutex::new(());
    let g = m.lock();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let t = s.spawn(move || {
            let start = Instant::now();
            let timeout = Duration::from_millis(20);
            assert!(m.try_lock_for(timeout).is_none());
            assert!(start.elapsed() >= timeout);
            assert!(m
                .try_lock_until(Instant::now() + Duration::from_millis(1))
                .is_none());
            tx.send(()).expect("main waits");
            // Long enough never to run out: the holder lets go once this
            // thread is parked.
            m.try_lock_for(Duration::from_secs(600)).is_some()
        });
        // The short tries are over (they parked too, and left the queue);
        // then the long one parks.
        rx.recv().expect("short tries done");
        wait_parked(mutex_key(m), 1);
        drop(g);
        assert!(t.join().expect("timed tries"));
    });
}

/// Two readers hold the lock at once: each waits at a barrier for the
/// other inside its read section (one at a time would never pass it).
#[test]
fn readers_share() {
    let lock = RwLock::new(5);
    let both_in = Barrier::new(2);
    thread::scope(|s| {
        for recursive in [false, true] {
            let (lock, both_in) = (&lock, &both_in);
            s.spawn(move || {
                let g = if recursive {
                    lock.read_recursive()
                } else {
                    lock.read()
                };
                both_in.wait();
                assert_eq!(*g, 5);
            });
        }
    });
}

/// A writer keeps readers out until it unlocks; the blocked reader parks
/// and then sees the write.
#[test]
fn writer_excludes_readers() {
    let lock = RwLock::new(0);
    let mut w = lock.write();
    let read_done = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let t = s.spawn(|| {
            assert!(lock.try_read().is_none());
            assert!(lock.try_read_recursive().is_none());
            assert!(lock.try_upgradable_read().is_none());
            assert!(lock.try_read_for(Duration::from_millis(5)).is_none());
            tx.send(()).expect("main waits");
            let seen = *lock.read();
            read_done.store(true, Ordering::SeqCst);
            seen
        });
        rx.recv().expect("tries done");
        wait_parked(rw_keys(&lock).0, 1);
        assert!(!read_done.load(Ordering::SeqCst));
        *w = 7;
        drop(w);
        assert_eq!(t.join().expect("reader"), 7);
    });
}

/// A writer waiting for a reader to leave (it holds the writer bit:
/// `is_locked_exclusive`) blocks a new `read` but not a `read_recursive`.
#[test]
fn waiting_writer_blocks_read_not_read_recursive() {
    let lock = RwLock::new(0);
    let r = lock.read();
    thread::scope(|s| {
        let writer = s.spawn(|| {
            *lock.write() += 1;
        });
        // SAFETY: only the state is read.
        while !unsafe { lock.raw() }.is_locked_exclusive() {
            thread::yield_now();
        }
        // The writer is draining: parked on the drain key.
        wait_parked(rw_keys(&lock).1, 1);
        s.spawn(|| {
            assert!(
                lock.try_read().is_none(),
                "a new read waits behind the writer"
            );
            assert!(lock.try_read_for(Duration::from_millis(5)).is_none());
            let again = lock.try_read_recursive();
            assert!(again.is_some(), "a recursive read gets in");
            drop(again);
            // And the blocking form returns as well.
            drop(lock.read_recursive());
        })
        .join()
        .expect("other reader");
        assert_eq!(*r, 0);
        drop(r);
        writer.join().expect("writer");
    });
    assert_eq!(*lock.read(), 1);
}

/// One upgradable read at a time; it keeps writers out and lets readers
/// in.
#[test]
fn upgradable_excludes_upgradable_and_writer() {
    let lock = RwLock::new(0);
    let u = lock.upgradable_read();
    thread::scope(|s| {
        s.spawn(|| {
            assert!(lock.try_upgradable_read().is_none());
            assert!(lock
                .try_upgradable_read_for(Duration::from_millis(5))
                .is_none());
            assert!(lock.try_write().is_none());
            assert!(lock.try_write_for(Duration::from_millis(5)).is_none());
            assert!(lock.try_read().is_some(), "readers coexist with it");
        })
        .join()
        .expect("other thread");
        // A blocked upgradable reader gets in when this one leaves.
        let t = s.spawn(|| {
            let _u = lock.upgradable_read();
        });
        wait_parked(rw_keys(&lock).0, 1);
        drop(u);
        t.join().expect("second upgradable");
    });
}

/// An upgrade waits for the readers inside, and keeps new plain readers
/// out meanwhile; a timed upgrade that runs out leaves the upgradable read
/// held as it was.
#[test]
fn upgrade_waits_for_readers() {
    let lock = RwLock::new(0);
    let r = lock.read();
    let upgraded = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let t = s.spawn(|| {
            let u = lock.upgradable_read();
            let u = match RwLockUpgradableReadGuard::try_upgrade(u) {
                Ok(_) => panic!("a reader is inside"),
                Err(u) => u,
            };
            let u = match RwLockUpgradableReadGuard::try_upgrade_for(u, Duration::from_millis(5)) {
                Ok(_) => panic!("a reader is inside"),
                Err(u) => u,
            };
            tx.send(()).expect("main waits");
            let mut w = RwLockUpgradableReadGuard::upgrade(u);
            upgraded.store(true, Ordering::SeqCst);
            *w += 1;
        });
        rx.recv().expect("tries done");
        wait_parked(rw_keys(&lock).1, 1);
        assert!(!upgraded.load(Ordering::SeqCst));
        s.spawn(|| assert!(lock.try_read().is_none()))
            .join()
            .expect("reader");
        drop(r);
        t.join().expect("upgrader");
    });
    assert_eq!(*lock.read(), 1);
    assert!(!lock.is_locked());
}

/// After a timed upgrade runs out, readers and the holder's plain upgrade
/// go on as before (the writer bit was given back).
#[test]
fn timed_upgrade_gives_back() {
    let lock = RwLock::new(0);
    let r = lock.read();
    thread::scope(|s| {
        s.spawn(|| {
            let u = lock.upgradable_read();
            let Err(u) = RwLockUpgradableReadGuard::try_upgrade_for(u, Duration::from_millis(5))
            else {
                panic!("a reader is inside");
            };
            // SAFETY: only the state is read.
            assert!(!unsafe { lock.raw() }.is_locked_exclusive());
            assert!(lock.try_read().is_some());
            assert!(lock.try_upgradable_read().is_none());
            drop(u);
        })
        .join()
        .expect("upgrader");
    });
    drop(r);
    assert!(!lock.is_locked());
    assert!(lock.try_write().is_some());
}

/// A timed write that runs out while a reader is still inside gives the
/// writer bit back: new readers and writers get in afterwards.
#[test]
fn timed_write_gives_back() {
    let lock = RwLock::new(0);
    let r = lock.read();
    thread::scope(|s| {
        s.spawn(|| {
            assert!(lock.try_write_for(Duration::from_millis(5)).is_none());
            assert!(lock
                .try_write_until(Instant::now() + Duration::from_millis(1))
                .is_none());
            // SAFETY: only the state is read.
            assert!(!unsafe { lock.raw() }.is_locked_exclusive());
            assert!(lock.try_read().is_some());
            assert!(lock.try_upgradable_read().is_some());
        })
        .join()
        .expect("timed writer");
    });
    drop(r);
    assert!(!lock.is_locked());
    *lock.try_write().expect("nobody holds it") += 1;
    // And a writer blocked after a timed-out one is woken by the reader.
    let r = lock.read();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let t = s.spawn(|| {
            assert!(lock.try_write_for(Duration::from_millis(5)).is_none());
            tx.send(()).expect("main waits");
            *lock.write() += 1;
        });
        // The timed try parked on the drain key too: wait for its end first.
        rx.recv().expect("the timed write ran out");
        wait_parked(rw_keys(&lock).1, 1);
        drop(r);
        t.join().expect("writer");
    });
    assert_eq!(*lock.read(), 2);
}

/// A downgrade lets a waiting reader in while the downgraded read is
/// still held.
#[test]
fn downgrade_lets_readers_in() {
    let lock = RwLock::new(0);
    let mut w = lock.write();
    let (tx, rx) = mpsc::channel();
    let done = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            let g = lock.read();
            tx.send(*g).expect("main waits");
            done.wait();
        });
        wait_parked(rw_keys(&lock).0, 1);
        *w = 3;
        let r = RwLockWriteGuard::downgrade(w);
        assert_eq!(rx.recv().expect("reader got in"), 3);
        assert_eq!(*r, 3);
        done.wait();
    });
}

/// A downgrade to upgradable lets readers in and keeps writers out.
#[test]
fn downgrade_to_upgradable_lets_readers_in() {
    let lock = RwLock::new(0);
    let w = lock.write();
    thread::scope(|s| {
        let t = s.spawn(|| *lock.read());
        wait_parked(rw_keys(&lock).0, 1);
        let u = RwLockWriteGuard::downgrade_to_upgradable(w);
        assert_eq!(t.join().expect("reader"), 0);
        s.spawn(|| assert!(lock.try_write().is_none()))
            .join()
            .expect("writer");
        drop(u);
    });
    assert!(!lock.is_locked());
}

/// A fair write unlock hands the lock to the parked readers: the lock is
/// read-held the moment the unlock returns.
#[test]
fn rwlock_unlock_fair_hands_off() {
    let lock = RwLock::new(0);
    let w = lock.write();
    let inside = Barrier::new(3);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let _r = lock.read();
                inside.wait();
            });
        }
        wait_parked(rw_keys(&lock).0, 2);
        RwLockWriteGuard::unlock_fair(w);
        assert!(
            lock.try_write().is_none(),
            "both readers were handed the lock"
        );
        // SAFETY: only the state is read.
        assert!(!unsafe { lock.raw() }.is_locked_exclusive());
        inside.wait();
    });
    assert!(!lock.is_locked());
}

/// A fair upgradable unlock with a writer parked behind it hands the
/// writer the lock while a reader is still inside: the writer drains it.
#[test]
fn upgradable_unlock_fair_hands_off_to_writer() {
    let lock = RwLock::new(0);
    let u = lock.upgradable_read();
    let r = lock.read();
    thread::scope(|s| {
        let t = s.spawn(|| *lock.write() += 1);
        wait_parked(rw_keys(&lock).0, 1);
        RwLockUpgradableReadGuard::unlock_fair(u);
        // The writer holds the writer bit now, and waits for `r`.
        // SAFETY: only the state is read.
        assert!(unsafe { lock.raw() }.is_locked_exclusive());
        drop(r);
        t.join().expect("writer");
    });
    assert_eq!(*lock.read(), 1);
}

/// Writers, upgraders and readers at once: every reader sees a consistent
/// pair, and no increment is lost.
#[test]
fn rwlock_mixed_contention() {
    const ROUNDS: u64 = 5_000;
    let lock = RwLock::new((0u64, 0u64));
    let start = Barrier::new(4);
    thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            for _ in 0..ROUNDS {
                let mut w = lock.write();
                w.0 += 1;
                w.1 += 1;
            }
        });
        s.spawn(|| {
            start.wait();
            for _ in 0..ROUNDS {
                let u = lock.upgradable_read();
                let mut w = RwLockUpgradableReadGuard::upgrade(u);
                w.0 += 1;
                w.1 += 1;
            }
        });
        for recursive in [false, true] {
            let (lock, start) = (&lock, &start);
            s.spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    let g = if recursive {
                        lock.read_recursive()
                    } else {
                        lock.read()
                    };
                    assert_eq!(g.0, g.1);
                }
            });
        }
    });
    let (a, b) = lock.into_inner();
    assert_eq!((a, b), (2 * ROUNDS, 2 * ROUNDS));
}

/// Timed tries on a rwlock held by a thread parked at a barrier time out;
/// a long one succeeds once the holder lets go.
#[test]
fn rwlock_timed_tries() {
    let lock = &RwLock::new(());
    let hold = &Barrier::new(2);
    let (tx, rx) = mpsc::channel::<()>();
    thread::scope(|s| {
        s.spawn(move || {
            let _w = lock.write();
            hold.wait();
            // Until the main thread's timed tries are over.
            let _ = rx.recv();
        });
        hold.wait();
        let short = Duration::from_millis(5);
        assert!(lock.try_read_for(short).is_none());
        assert!(lock.try_read_recursive_for(short).is_none());
        assert!(lock.try_write_for(short).is_none());
        assert!(lock.try_upgradable_read_for(short).is_none());
        assert!(lock.try_write_until(Instant::now() + short).is_none());
        drop(tx);
        assert!(lock.try_write_for(Duration::from_secs(600)).is_some());
    });
}

/// `notify_one` wakes exactly one waiter and `notify_all` the rest; each
/// woken waiter takes one ticket, so every wake-up is counted.
#[test]
fn condvar_wakes_the_right_number() {
    const WAITERS: usize = 4;
    let tickets = Mutex::new(0usize);
    let cv = Condvar::new();
    let taken = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..WAITERS {
            s.spawn(|| {
                let mut g = tickets.lock();
                cv.wait_while(&mut g, |t| *t == 0);
                *g -= 1;
                taken.fetch_add(1, Ordering::SeqCst);
            });
        }
        wait_parked(cv.key_for_test(), WAITERS);
        *tickets.lock() += 1;
        assert!(cv.notify_one());
        // The woken one left the queue in the notify.
        assert_eq!(parked_on(cv.key_for_test()), WAITERS - 1);
        while taken.load(Ordering::SeqCst) != 1 {
            thread::yield_now();
        }
        *tickets.lock() += WAITERS - 1;
        assert_eq!(cv.notify_all(), WAITERS - 1);
    });
    assert_eq!(taken.load(Ordering::SeqCst), WAITERS);
    assert_eq!(*tickets.lock(), 0);
    assert!(!cv.notify_one());
    assert_eq!(cv.notify_all(), 0);
}

/// Ping-pong through one condition variable: a lost wake-up would hang.
#[test]
fn condvar_loses_no_wake_up() {
    const ROUNDS: usize = 10_000;
    let turn = Mutex::new(0usize);
    let cv = Condvar::new();
    thread::scope(|s| {
        for me in 0..2 {
            let (turn, cv) = (&turn, &cv);
            s.spawn(move || {
                for round in 0..ROUNDS {
                    let mut g = turn.lock();
                    cv.wait_while(&mut g, |t| *t % 2 != me);
                    assert_eq!(*g, 2 * round + me);
                    *g += 1;
                    cv.notify_all();
                }
            });
        }
    });
    assert_eq!(*turn.lock(), 2 * ROUNDS);
}

/// Timed waits: time out with nobody notifying; a predicate wait returns
/// not timed out when the predicate is already false.
#[test]
fn condvar_timed_waits() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    let mut g = m.lock();
    assert!(cv.wait_for(&mut g, Duration::from_millis(5)).timed_out());
    assert!(cv
        .wait_until(&mut g, Instant::now() + Duration::from_millis(1))
        .timed_out());
    assert!(cv
        .wait_while_for(&mut g, |ready| !*ready, Duration::from_millis(5))
        .timed_out());
    *g = true;
    assert!(!cv
        .wait_while_until(&mut g, |ready| !*ready, Instant::now())
        .timed_out());
    // The mutex is held again after every wait.
    assert!(m.try_lock().is_none());
    drop(g);
    assert!(m.try_lock().is_some());
}

/// A timed wait that is notified in time returns not timed out.
#[test]
fn condvar_timed_wait_notified() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    thread::scope(|s| {
        let t = s.spawn(|| {
            let mut g = m.lock();
            cv.wait_while_for(&mut g, |ready| !*ready, Duration::from_secs(600))
        });
        wait_parked(cv.key_for_test(), 1);
        *m.lock() = true;
        cv.notify_one();
        assert!(!t.join().expect("waiter").timed_out());
    });
}

/// A notify made under the mutex moves the waiter onto the mutex's queue
/// instead of waking it (so that it does not wake to find the mutex held);
/// the unlock wakes it. `notify_all` moves every waiter likewise.
#[test]
fn condvar_notify_under_the_lock_moves_the_waiter() {
    const WAITERS: usize = 3;
    let turn = Mutex::new(0usize);
    let cv = Condvar::new();
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..WAITERS {
            s.spawn(|| {
                let mut g = turn.lock();
                cv.wait_while(&mut g, |t| *t == 0);
                *g -= 1;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        wait_parked(cv.key_for_test(), WAITERS);
        let mut g = turn.lock();
        *g += 1;
        assert!(cv.notify_one());
        assert_eq!(parked_on(cv.key_for_test()), WAITERS - 1);
        assert_eq!(parked_on(mutex_key(&turn)), 1, "moved, not woken");
        drop(g);
        while done.load(Ordering::SeqCst) != 1 {
            thread::yield_now();
        }
        let mut g = turn.lock();
        *g += WAITERS - 1;
        assert_eq!(cv.notify_all(), WAITERS - 1);
        assert_eq!(parked_on(cv.key_for_test()), 0);
        assert_eq!(parked_on(mutex_key(&turn)), WAITERS - 1);
        drop(g);
    });
    assert_eq!(done.load(Ordering::SeqCst), WAITERS);
    assert_eq!(*turn.lock(), 0);
    assert!(!cv.notify_one());
}

/// A timed waiter notified under the mutex, whose time runs out while it
/// waits for the mutex, was notified: not timed out.
#[test]
fn condvar_moved_timed_waiter_is_not_timed_out() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    thread::scope(|s| {
        let t = s.spawn(|| {
            let mut g = m.lock();
            cv.wait_for(&mut g, Duration::from_millis(20))
        });
        wait_parked(cv.key_for_test(), 1);
        let g = m.lock();
        assert!(cv.notify_one());
        assert_eq!(parked_on(mutex_key(&m)), 1);
        // Past the waiter's deadline, with it still on the mutex's queue.
        thread::sleep(Duration::from_millis(40));
        drop(g);
        assert!(!t.join().expect("waiter").timed_out());
    });
    assert!(m.try_lock().is_some());
    assert!(!cv.notify_one());
}

/// One condition variable waited on with two mutexes at once: every
/// waiter is still woken (without the move), and once its queue is empty
/// the next waiter is moved again.
#[test]
fn condvar_with_two_mutexes() {
    let (a, b) = (Mutex::new(false), Mutex::new(false));
    let cv = Condvar::new();
    thread::scope(|s| {
        for m in [&a, &b] {
            let cv = &cv;
            s.spawn(move || {
                let mut g = m.lock();
                cv.wait_while(&mut g, |go| !*go);
            });
        }
        wait_parked(cv.key_for_test(), 2);
        *a.lock() = true;
        *b.lock() = true;
        let g = a.lock();
        assert_eq!(cv.notify_all(), 2);
        drop(g);
    });
    thread::scope(|s| {
        let t = s.spawn(|| {
            let mut g = a.lock();
            cv.wait_for(&mut g, Duration::from_secs(600))
        });
        wait_parked(cv.key_for_test(), 1);
        // Woken, not moved (the mark of the two mutexes outlived their
        // waiters); the mark goes with this queue's last waiter.
        assert!(cv.notify_one());
        assert!(!t.join().expect("waiter").timed_out());
    });
    thread::scope(|s| {
        let t = s.spawn(|| {
            let mut g = b.lock();
            cv.wait_for(&mut g, Duration::from_secs(600))
        });
        wait_parked(cv.key_for_test(), 1);
        let g = b.lock();
        assert!(cv.notify_one());
        assert_eq!(parked_on(mutex_key(&b)), 1, "moved again");
        drop(g);
        assert!(!t.join().expect("waiter").timed_out());
    });
}

/// The reentrant mutex: the owner re-enters; another thread waits until
/// the last level is released.
#[test]
fn reentrant_recursion() {
    let m = ReentrantMutex::new(Cell::new(0));
    let a = m.lock();
    let b = m.lock();
    let c = m.try_lock().expect("the owner re-enters");
    c.set(c.get() + 1);
    assert!(m.is_owned_by_current_thread());
    thread::scope(|s| {
        s.spawn(|| {
            assert!(m.try_lock().is_none());
            assert!(!m.is_owned_by_current_thread());
        })
        .join()
        .expect("other thread");
        drop(c);
        drop(b);
        s.spawn(|| assert!(m.try_lock().is_none()))
            .join()
            .expect("other thread");
        let t = s.spawn(|| m.lock().get());
        // SAFETY: only the key is read.
        let key = unsafe { m.raw() }.key_for_test();
        wait_parked(key, 1);
        drop(a);
        assert_eq!(t.join().expect("waiter"), 1);
    });
    assert!(!m.is_locked());
}

/// The rwlock's raw trait methods agree with the guard API on a few
/// states (the lock itself, no guard).
#[test]
fn raw_rwlock_states() {
    let raw = RawRwLock::new();
    assert!(!raw.is_locked());
    raw.lock_shared();
    raw.lock_shared();
    assert!(raw.is_locked() && !raw.is_locked_exclusive());
    assert!(!raw.try_lock_exclusive());
    // SAFETY: two reads are held; both are released.
    unsafe {
        raw.unlock_shared();
        raw.unlock_shared();
    }
    assert!(raw.try_lock_exclusive());
    assert!(raw.is_locked_exclusive());
    // SAFETY: the write is held.
    unsafe { raw.unlock_exclusive() };
    assert!(!raw.is_locked());
}

/// Every rwlock and mutex operation mixed at random on 6 threads, timed
/// tries with timeouts of a few microseconds included: whatever the
/// schedule, every reader sees a whole write, every counted write is in the
/// total, and every thread finishes. A net for what the ordered tests
/// above do not pin down: a lost wake-up or a writer bit left behind hangs
/// it on some schedules (the timed write that kept its bit hung about one
/// run in four; `timed_write_gives_back` catches that one every time).
#[test]
fn random_mix_loses_nothing() {
    const THREADS: u64 = 6;
    const OPS: u64 = 300_000;
    let lock = RwLock::new((0u64, 0u64));
    let m = Mutex::new(0u64);
    let writes = AtomicUsize::new(0);
    let mutex_writes = AtomicUsize::new(0);
    let start = Barrier::new(THREADS as usize);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (lock, m, writes, mutex_writes, start) =
                (&lock, &m, &writes, &mutex_writes, &start);
            s.spawn(move || {
                let write = |g: &mut (u64, u64)| {
                    g.0 += 1;
                    g.1 += 1;
                    writes.fetch_add(1, Ordering::Relaxed);
                };
                // xorshift: a different, fixed sequence per thread.
                let mut x = (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                start.wait();
                for _ in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let short = Duration::from_micros(x % 50);
                    let fair = x & 64 != 0;
                    match x % 12 {
                        0 => {
                            let g = lock.read();
                            assert_eq!(g.0, g.1);
                            if fair {
                                RwLockReadGuard::unlock_fair(g);
                            }
                        }
                        1 => {
                            let g = lock.read();
                            let again = lock.read_recursive();
                            assert_eq!(g.0, again.1);
                        }
                        2 => {
                            let mut g = lock.write();
                            write(&mut g);
                            if fair {
                                RwLockWriteGuard::unlock_fair(g);
                            } else {
                                RwLockWriteGuard::bump(&mut g);
                            }
                        }
                        3 => {
                            if let Some(mut g) = lock.try_write_for(short) {
                                write(&mut g);
                            }
                        }
                        4 => {
                            if let Some(g) = lock.try_read_for(short) {
                                assert_eq!(g.0, g.1);
                            }
                        }
                        5 => {
                            let u = lock.upgradable_read();
                            let mut g = RwLockUpgradableReadGuard::upgrade(u);
                            write(&mut g);
                            let r = RwLockWriteGuard::downgrade(g);
                            assert_eq!(r.0, r.1);
                        }
                        6 => {
                            let Some(u) = lock.try_upgradable_read_for(short) else {
                                continue;
                            };
                            match RwLockUpgradableReadGuard::try_upgrade_for(u, short) {
                                Ok(mut g) => {
                                    write(&mut g);
                                    let u = RwLockWriteGuard::downgrade_to_upgradable(g);
                                    if fair {
                                        RwLockUpgradableReadGuard::unlock_fair(u);
                                    }
                                }
                                Err(u) => {
                                    let r = RwLockUpgradableReadGuard::downgrade(u);
                                    assert_eq!(r.0, r.1);
                                }
                            }
                        }
                        7 => {
                            if let Some(g) = lock.try_read_recursive_for(short) {
                                assert_eq!(g.0, g.1);
                            }
                        }
                        8 => {
                            if let Some(mut g) = lock.try_write_until(Instant::now() + short) {
                                write(&mut g);
                            }
                        }
                        9 => {
                            let mut g = m.lock();
                            *g += 1;
                            mutex_writes.fetch_add(1, Ordering::Relaxed);
                            if fair {
                                MutexGuard::unlock_fair(g);
                            } else {
                                MutexGuard::bump(&mut g);
                            }
                        }
                        10 => {
                            if let Some(mut g) = m.try_lock_for(short) {
                                *g += 1;
                                mutex_writes.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => {
                            let u = lock.upgradable_read();
                            assert_eq!(u.0, u.1);
                        }
                    }
                }
            });
        }
    });
    let (a, b) = lock.into_inner();
    assert_eq!((a, b), (writes.load(Ordering::SeqCst) as u64, a));
    assert_eq!(m.into_inner(), mutex_writes.load(Ordering::SeqCst) as u64);
}
