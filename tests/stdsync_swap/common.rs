// Real-world uses of `std::sync`, written against whatever `sync` names:
// `std::sync` in tests/stdsync_swap_std.rs (the reference: these tests say
// what std does) and `lockcheck::stdsync` in
// tests/stdsync_swap_lockcheck.rs, which must behave the same. This file
// is `include!`d by both; swapping the one `use` line is the whole change.
//
// Threads are ordered by joins, channels and the locks under test, never
// by sleeps; every join and every condition-variable or channel wait has a
// deadline, so that a regression fails instead of hanging.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, RefUnwindSafe, UnwindSafe};
use std::thread;
use std::time::Duration;

use sync::atomic::{AtomicUsize, Ordering};
use sync::{Arc, Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock, RwLockWriteGuard};

/// Long enough never to run out in a passing test; a hang fails after it.
const DEADLINE: Duration = Duration::from_secs(20);

include!("watched.rs");

#[test]
fn a_shared_counter_counts_every_increment() {
    let counter = Arc::new(Mutex::new(0u64));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            spawn(move || {
                for _ in 0..1000 {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), 4000);
    let counter = Arc::try_unwrap(counter).expect("the workers are gone");
    assert_eq!(counter.into_inner().unwrap(), 4000);
}

/// A bounded queue: producers wait while it is full, consumers while it is
/// empty; `None` tells a consumer to stop.
struct Queue {
    items: Mutex<VecDeque<Option<u32>>>,
    not_empty: Condvar,
    not_full: Condvar,
}

impl Queue {
    fn push(&self, item: Option<u32>) {
        let items = self.items.lock().unwrap();
        let (mut items, waited) = self
            .not_full
            .wait_timeout_while(items, DEADLINE, |q| q.len() >= 4)
            .unwrap();
        assert!(!waited.timed_out(), "the consumer never made room");
        items.push_back(item);
        drop(items);
        self.not_empty.notify_one();
    }

    fn pop(&self) -> Option<u32> {
        let items = self.items.lock().unwrap();
        let (mut items, waited) = self
            .not_empty
            .wait_timeout_while(items, DEADLINE, |q| q.is_empty())
            .unwrap();
        assert!(!waited.timed_out(), "the producer never produced");
        let item = items.pop_front().expect("not empty");
        drop(items);
        self.not_full.notify_one();
        item
    }
}

#[test]
fn a_producer_and_a_consumer_hand_over_through_a_condvar() {
    let queue = Arc::new(Queue {
        items: Mutex::new(VecDeque::new()),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    let q = Arc::clone(&queue);
    let consumer = spawn(move || {
        let mut sum = 0;
        while let Some(n) = q.pop() {
            sum += n;
        }
        sum
    });
    for n in 1..=100 {
        queue.push(Some(n));
    }
    queue.push(None);
    assert_eq!(consumer.join().unwrap(), 5050);
}

#[test]
fn a_plain_wait_and_notify_all_wake_every_waiter() {
    let state = Arc::new((Mutex::new((0usize, false)), Condvar::new()));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let state = Arc::clone(&state);
            spawn(move || {
                let (lock, cvar) = &*state;
                let mut guard = lock.lock().unwrap();
                guard.0 += 1;
                cvar.notify_all();
                while !guard.1 {
                    guard = cvar.wait(guard).unwrap();
                }
            })
        })
        .collect();
    let (lock, cvar) = &*state;
    let arrived = lock.lock().unwrap();
    let (mut arrived, waited) = cvar
        .wait_timeout_while(arrived, DEADLINE, |s| s.0 < 3)
        .unwrap();
    assert!(!waited.timed_out());
    arrived.1 = true;
    drop(arrived);
    cvar.notify_all();
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn a_timed_wait_whose_condition_holds_times_out() {
    let lock = Mutex::new(());
    let cvar = Condvar::new();
    let (guard, waited) = cvar
        .wait_timeout_while(lock.lock().unwrap(), Duration::from_millis(1), |_| true)
        .unwrap();
    assert!(waited.timed_out());
    drop(guard);
    let (_guard, waited) = cvar
        .wait_timeout_while(lock.lock().unwrap(), DEADLINE, |_| false)
        .unwrap();
    assert!(!waited.timed_out());
}

/// A cache of computed lengths: readers share it, a miss takes the write
/// lock and fills the entry once.
fn cached_len(cache: &RwLock<HashMap<String, usize>>, computed: &AtomicUsize, key: &str) -> usize {
    if let Some(&n) = cache.read().unwrap().get(key) {
        return n;
    }
    let mut cache = cache.write().unwrap();
    *cache.entry(key.to_owned()).or_insert_with(|| {
        computed.fetch_add(1, Ordering::Relaxed);
        key.len()
    })
}

#[test]
fn an_rwlock_cache_is_filled_once_per_key() {
    let cache = Arc::new(RwLock::new(HashMap::new()));
    let computed = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(4));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (cache, computed, start) = (cache.clone(), computed.clone(), start.clone());
            spawn(move || {
                start.wait();
                ["alpha", "be", "gamma!"]
                    .iter()
                    .map(|k| cached_len(&cache, &computed, k))
                    .sum::<usize>()
            })
        })
        .collect();
    for r in readers {
        assert_eq!(r.join().unwrap(), 13);
    }
    assert_eq!(computed.load(Ordering::Relaxed), 3, "one computation per key");
    assert_eq!(cache.read().unwrap().len(), 3);
    let mut writer = cache.write().unwrap();
    writer.insert("d".to_owned(), 1);
    let reader = RwLockWriteGuard::downgrade(writer);
    assert_eq!(reader.len(), 4);
    assert!(cache.try_write().is_err(), "still read-locked");
    drop(reader);
    assert!(cache.try_write().is_ok());
}

static CONFIG: OnceLock<String> = OnceLock::new();
static CONFIG_BUILT: AtomicUsize = AtomicUsize::new(0);

static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| {
    TABLE_BUILT.fetch_add(1, Ordering::Relaxed);
    (0..10).map(|n| n * n).collect()
});
static TABLE_BUILT: AtomicUsize = AtomicUsize::new(0);

static SETUP: Once = Once::new();
static SETUP_RUNS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn singletons_are_initialised_once_across_threads() {
    let start = Arc::new(Barrier::new(4));
    let users: Vec<_> = (0..4)
        .map(|_| {
            let start = start.clone();
            spawn(move || {
                start.wait();
                SETUP.call_once(|| {
                    SETUP_RUNS.fetch_add(1, Ordering::Relaxed);
                });
                let config = CONFIG.get_or_init(|| {
                    CONFIG_BUILT.fetch_add(1, Ordering::Relaxed);
                    "verbose".to_owned()
                });
                (config.len(), TABLE[3])
            })
        })
        .collect();
    for u in users {
        assert_eq!(u.join().unwrap(), (7, 9));
    }
    assert_eq!(SETUP_RUNS.load(Ordering::Relaxed), 1);
    assert!(SETUP.is_completed());
    SETUP.wait();
    assert_eq!(CONFIG_BUILT.load(Ordering::Relaxed), 1);
    assert_eq!(TABLE_BUILT.load(Ordering::Relaxed), 1);
    assert_eq!(CONFIG.get().map(String::as_str), Some("verbose"));
    assert_eq!(CONFIG.set("quiet".to_owned()), Err("quiet".to_owned()));
    assert_eq!(CONFIG.wait(), "verbose");
    assert_eq!(LazyLock::get(&TABLE).map(Vec::len), Some(10));
}

#[test]
fn a_once_lock_is_waited_for_and_set_from_another_thread() {
    let cell = Arc::new(OnceLock::new());
    let c = cell.clone();
    let waiter = spawn(move || *c.wait());
    assert_eq!(cell.set(5u32), Ok(()));
    assert_eq!(waiter.join().unwrap(), 5);
    let mut cell = Arc::try_unwrap(cell).expect("the waiter is gone");
    assert_eq!(cell.get_mut(), Some(&mut 5));
    assert_eq!(cell.take(), Some(5));
    assert_eq!(cell.get(), None);
    assert_eq!(OnceLock::from(3).into_inner(), Some(3));
    assert_eq!(OnceLock::from(3), OnceLock::from(3).clone());
}

#[test]
fn a_panicking_initialisation_leaves_a_once_lock_empty_and_poisons_the_rest() {
    let cell: OnceLock<u32> = OnceLock::new();
    let caught = panic::catch_unwind(|| cell.get_or_init(|| panic!("no config")));
    assert!(caught.is_err());
    assert_eq!(cell.get(), None, "a OnceLock is not poisoned: it stays empty");
    assert_eq!(*cell.get_or_init(|| 2), 2);

    let once = Once::new();
    assert!(panic::catch_unwind(|| once.call_once(|| panic!("setup failed"))).is_err());
    assert!(!once.is_completed());
    assert!(
        panic::catch_unwind(|| once.call_once(|| {})).is_err(),
        "a poisoned Once panics"
    );
    let mut saw_poison = false;
    once.call_once_force(|state| saw_poison = state.is_poisoned());
    assert!(saw_poison);
    assert!(once.is_completed());
    once.wait_force();

    let lazy: LazyLock<u32> = LazyLock::new(|| panic!("no table"));
    assert!(panic::catch_unwind(|| *lazy).is_err());
    assert!(
        panic::catch_unwind(|| *lazy).is_err(),
        "a LazyLock whose initialisation panicked stays poisoned"
    );
    let mut lazy = LazyLock::new(|| 4u32);
    *lazy += 1;
    assert_eq!(*LazyLock::force(&lazy), 5);
    assert_eq!(LazyLock::get_mut(&mut lazy), Some(&mut 5));
    assert_eq!(*LazyLock::force_mut(&mut LazyLock::<u32>::default()), 0);
}

#[test]
fn a_panic_in_a_thread_poisons_the_mutex_it_held() {
    let log = Arc::new(Mutex::new(vec![1]));
    let l = log.clone();
    let crashed = spawn(move || {
        let mut log = l.lock().unwrap();
        log.push(2);
        panic!("crash while holding the log");
    })
    .join();
    assert!(crashed.is_err());
    assert!(log.is_poisoned());
    let mut err = log.lock().expect_err("poisoned");
    assert_eq!(**err.get_ref(), [1, 2]);
    err.get_mut().push(3);
    let guard = err.into_inner();
    assert_eq!(*guard, [1, 2, 3], "the guard in the error holds the lock");
    drop(guard);
    match log.try_lock() {
        Err(sync::TryLockError::Poisoned(e)) => assert_eq!(e.into_inner().len(), 3),
        _ => panic!("try_lock must report the poison"),
    }
    assert!(log.is_poisoned(), "a lock taken from the error stays poisoned");
}

#[test]
fn clear_poison_makes_the_lock_usable_again() {
    let m = Mutex::new(0);
    let _ = panic::catch_unwind(|| {
        let _g = m.lock().unwrap();
        panic!("while holding");
    });
    assert!(m.is_poisoned());
    m.clear_poison();
    assert!(!m.is_poisoned());
    *m.lock().unwrap() += 1;
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn a_lock_taken_without_a_panic_does_not_poison() {
    let m = Mutex::new(0);
    let _ = panic::catch_unwind(|| {
        drop(m.lock().unwrap());
        panic!("after the guard was dropped");
    });
    assert!(!m.is_poisoned());
    let l = RwLock::new(0);
    let _ = panic::catch_unwind(|| {
        let _r = l.read().unwrap();
        panic!("while reading");
    });
    assert!(!l.is_poisoned(), "a read guard does not poison");
    let _ = panic::catch_unwind(|| {
        let _w = l.write().unwrap();
        panic!("while writing");
    });
    assert!(l.is_poisoned(), "a write guard does");
    assert!(l.read().is_err());
    l.clear_poison();
    assert!(l.read().is_ok());
}

/// Locks its mutex when dropped: during an unwinding, a lock taken while
/// the thread already panics.
struct CountsOnDrop<'a>(&'a Mutex<u32>);

impl Drop for CountsOnDrop<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap() += 1;
    }
}

#[test]
fn a_lock_taken_during_an_unwinding_does_not_poison() {
    let m = Mutex::new(0);
    let _ = panic::catch_unwind(|| {
        let _counts = CountsOnDrop(&m);
        panic!("unwinds through the drop");
    });
    assert!(!m.is_poisoned(), "the guard was taken while already panicking");
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn into_inner_and_get_mut_of_a_poisoned_lock_still_give_the_value() {
    let mut m = Mutex::new(String::from("partial"));
    let _ = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        let _g = m.lock().unwrap();
        panic!("mid-update");
    }));
    m.get_mut().expect_err("poisoned").into_inner().push('!');
    let err = m.into_inner().expect_err("poisoned");
    assert_eq!(err.into_inner(), "partial!");

    let l = RwLock::new(7);
    let _ = panic::catch_unwind(|| {
        let _w = l.write().unwrap();
        panic!("mid-write");
    });
    assert_eq!(l.into_inner().expect_err("poisoned").into_inner(), 7);
}

#[test]
fn a_condvar_wait_returns_err_when_the_mutex_was_poisoned_meanwhile() {
    let state = Arc::new((Mutex::new(false), Condvar::new()));
    let (lock, cvar) = &*state;
    // Held until the wait below releases it: the notifier runs only then.
    let guard = lock.lock().unwrap();
    let s = state.clone();
    let notifier = spawn(move || {
        let (lock, cvar) = &*s;
        let mut ready = lock.lock().unwrap();
        *ready = true;
        cvar.notify_one();
        panic!("crash before unlocking");
    });
    let waited = cvar.wait_timeout_while(guard, DEADLINE, |ready| !*ready);
    let (ready, timeout) = waited.expect_err("the mutex was poisoned").into_inner();
    assert!(*ready);
    assert!(!timeout.timed_out());
    drop(ready);
    assert!(notifier.join().is_err());
    assert!(lock.is_poisoned());
}

#[test]
fn try_lock_would_block_while_another_thread_holds_the_lock() {
    let m = Arc::new(Mutex::new(0));
    let held = m.lock().unwrap();
    let m2 = m.clone();
    let tried = spawn(move || matches!(m2.try_lock(), Err(sync::TryLockError::WouldBlock)))
        .join()
        .unwrap();
    assert!(tried);
    drop(held);
    assert!(m.try_lock().is_ok());
    let l = RwLock::new(0);
    let r = l.read().unwrap();
    assert!(l.try_read().is_ok());
    assert!(matches!(l.try_write(), Err(sync::TryLockError::WouldBlock)));
    drop(r);
}

#[test]
fn a_barrier_elects_one_leader_per_round() {
    let barrier = Arc::new(Barrier::new(4));
    let leaders = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, leaders) = (barrier.clone(), leaders.clone());
            spawn(move || {
                for _ in 0..3 {
                    if barrier.wait().is_leader() {
                        leaders.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::Relaxed), 3, "one leader in each of 3 rounds");
    assert!(Barrier::new(1).wait().is_leader());
}

#[test]
fn channels_hand_work_over() {
    let (tx, rx) = sync::mpsc::channel();
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            spawn(move || {
                for n in 0..10 {
                    tx.send(p * 10 + n).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got = Vec::new();
    while got.len() < 30 {
        got.push(rx.recv_timeout(DEADLINE).expect("a producer's message"));
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(matches!(
        rx.recv_timeout(DEADLINE),
        Err(sync::mpsc::RecvTimeoutError::Disconnected)
    ));
    got.sort_unstable();
    assert_eq!(got, (0..30).collect::<Vec<_>>());
    let (tx, rx) = sync::mpsc::sync_channel(1);
    tx.try_send(1).unwrap();
    assert!(matches!(tx.try_send(2), Err(sync::mpsc::TrySendError::Full(2))));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn a_receiver_iterates_as_std_s() {
    let (tx, rx) = sync::mpsc::channel();
    assert_eq!(format!("{tx:?} {rx:?}"), "Sender { .. } Receiver { .. }");
    for n in 0..6 {
        tx.send(n).unwrap();
    }
    let waiting: sync::mpsc::TryIter<'_, u32> = rx.try_iter();
    assert_eq!(waiting.take(2).collect::<Vec<_>>(), [0, 1]);
    let mut iter: sync::mpsc::Iter<'_, u32> = rx.iter();
    assert_eq!(iter.next(), Some(2));
    drop(tx);
    let mut rest = Vec::new();
    for n in &rx {
        rest.push(n);
    }
    assert_eq!(rest, [3, 4, 5]);
    assert_eq!(rx.try_recv(), Err(sync::mpsc::TryRecvError::Disconnected));
    let (tx, rx) = sync::mpsc::sync_channel::<u8>(1);
    assert_eq!(format!("{tx:?}"), "SyncSender { .. }");
    drop(rx);
    let err: sync::mpsc::SendError<u8> = tx.send(9).unwrap_err();
    assert_eq!(err.to_string(), "sending on a closed channel");
    let full = sync::mpsc::TrySendError::from(err);
    assert!(matches!(full, sync::mpsc::TrySendError::Disconnected(9)));
    let owned: sync::mpsc::IntoIter<u8> = sync::mpsc::channel().1.into_iter();
    assert_eq!(owned.count(), 0);
}

static GLOBAL_COUNT: Mutex<u32> = Mutex::new(0);
static GLOBAL_TABLE: RwLock<Vec<u8>> = RwLock::new(Vec::new());
static GLOBAL_SIGNAL: Condvar = Condvar::new();
static GLOBAL_GATE: Barrier = Barrier::new(1);

#[test]
fn constructors_are_const_and_the_usual_traits_are_there() {
    *GLOBAL_COUNT.lock().unwrap() += 1;
    GLOBAL_TABLE.write().unwrap().push(1);
    GLOBAL_SIGNAL.notify_all();
    assert!(GLOBAL_GATE.wait().is_leader());
    let m: Mutex<u8> = Mutex::default();
    let r: RwLock<u8> = RwLock::from(3);
    assert_eq!(Mutex::from(2).into_inner().unwrap(), 2);
    assert_eq!(*m.lock().unwrap(), 0);
    assert_eq!(format!("{}", r.read().unwrap()), "3");
    assert_eq!(format!("{:?}", m.lock().unwrap()), "0");
    // Unsized values, as std's: a slice, a trait object.
    let bytes: Arc<Mutex<[u8]>> = Arc::new(Mutex::new([1, 2, 3]));
    bytes.lock().unwrap()[0] = 9;
    assert_eq!(&*bytes.lock().unwrap(), [9, 2, 3]);
    let shown: Box<RwLock<dyn std::fmt::Debug + Send + Sync>> = Box::new(RwLock::new(5u8));
    assert_eq!(format!("{:?}", &*shown.read().unwrap()), "5");
    let weak: sync::Weak<Mutex<u8>> = Arc::downgrade(&Arc::new(Mutex::new(1)));
    assert!(weak.upgrade().is_none());
}

#[test]
fn debug_output_is_std_s() {
    let m = Mutex::new(1);
    assert_eq!(format!("{m:?}"), "Mutex { data: 1, poisoned: false, .. }");
    let g = m.lock().unwrap();
    let m2 = &m;
    let while_held = thread::scope(|s| s.spawn(|| format!("{m2:?}")).join().unwrap());
    assert_eq!(while_held, "Mutex { data: \"<locked>\", poisoned: false, .. }");
    drop(g);
    let l = RwLock::new(3);
    let w = l.write().unwrap();
    let l2 = &l;
    let while_held = thread::scope(|s| s.spawn(|| format!("{l2:?}")).join().unwrap());
    assert_eq!(while_held, "RwLock { data: <locked>, poisoned: false, .. }");
    drop(w);
    assert_eq!(
        format!("{:?}", RwLock::new(2)),
        "RwLock { data: 2, poisoned: false, .. }"
    );
    assert_eq!(format!("{:?}", Condvar::new()), "Condvar { .. }");
    assert_eq!(format!("{:?}", Once::new()), "Once { .. }");
    assert_eq!(format!("{:?}", Barrier::new(2)), "Barrier { .. }");
    assert_eq!(
        format!("{:?}", Barrier::new(1).wait()),
        "BarrierWaitResult { is_leader: true }"
    );
    assert_eq!(format!("{:?}", OnceLock::<u8>::new()), "OnceLock(<uninit>)");
    assert_eq!(format!("{:?}", OnceLock::from(4)), "OnceLock(4)");
    let lazy = LazyLock::new(|| 5);
    assert_eq!(format!("{lazy:?}"), "LazyLock(<uninit>)");
    let _ = *lazy;
    assert_eq!(format!("{lazy:?}"), "LazyLock(5)");
}

fn send_sync<T: Send + Sync>() {}
fn sync_only<T: Sync>() {}
fn send_only<T: Send>() {}
fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn auto_traits_are_std_s() {
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<Condvar>();
    send_sync::<Once>();
    send_sync::<OnceLock<String>>();
    send_sync::<LazyLock<String>>();
    send_sync::<Barrier>();
    send_sync::<sync::mpsc::Sender<u8>>();
    send_sync::<sync::mpsc::SyncSender<u8>>();
    send_only::<sync::mpsc::Receiver<u8>>();
    sync_only::<sync::MutexGuard<'static, u8>>();
    sync_only::<sync::RwLockReadGuard<'static, u8>>();
    sync_only::<sync::RwLockWriteGuard<'static, u8>>();
    // Sync for a guard needs only `T: Sync`, as std's.
    sync_only::<sync::MutexGuard<'static, std::sync::MutexGuard<'static, u8>>>();
    // A poisoning lock stays usable after a caught panic: unwind-safe.
    unwind_safe::<Mutex<std::cell::Cell<u8>>>();
    unwind_safe::<RwLock<std::cell::Cell<u8>>>();
    unwind_safe::<Condvar>();
    unwind_safe::<Once>();
    unwind_safe::<Barrier>();
    unwind_safe::<OnceLock<u8>>();
    unwind_safe::<LazyLock<u8>>();
    let m = Mutex::new(0);
    assert!(panic::catch_unwind(|| *m.lock().unwrap()).is_ok());
}
