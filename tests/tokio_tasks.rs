//! lockcheck::tokio: the detections between tasks, each with its near
//! miss, on tokio's current-thread and multi-thread runtimes. Tasks are
//! ordered by awaits on each other (joins, oneshots, barriers), never by
//! sleeps; each test names its locks uniquely (`findings` are the
//! process's).

mod common;

use std::future::Future;
use std::sync::Arc;

use common::{about, collect};
use lockcheck::tokio::{instrument, spawn, Mutex, RwLock};
use lockcheck::FindingKind;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a multi-thread runtime")
}

fn kinds(prefix: &str) -> Vec<FindingKind> {
    about(prefix).iter().map(|f| f.kind).collect()
}

/// Task one takes `a` then `b`; once it has ended, task two takes them in
/// `second` order.
async fn two_tasks(prefix: &'static str, reversed: bool) {
    let a = Arc::new(Mutex::named(leak(format!("{prefix}.a")), 0));
    let b = Arc::new(Mutex::named(leak(format!("{prefix}.b")), 0));
    let (a1, b1) = (a.clone(), b.clone());
    spawn(async move {
        let _a = a1.lock().await;
        tokio::task::yield_now().await;
        *b1.lock().await += 1;
    })
    .await
    .expect("task one");
    spawn(async move {
        if reversed {
            let _b = b.lock().await;
            tokio::task::yield_now().await;
            *a.lock().await += 1;
        } else {
            let _a = a.lock().await;
            *b.lock().await += 1;
        }
    })
    .await
    .expect("task two");
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn opposite_orders_in_two_tasks_are_a_cycle_current_thread() {
    collect();
    current_thread().block_on(two_tasks("tk.cycle.ct", true));
    assert_eq!(kinds("tk.cycle.ct"), [FindingKind::LockOrderCycle]);
}

#[test]
fn opposite_orders_in_two_tasks_are_a_cycle_multi_thread() {
    collect();
    multi_thread().block_on(two_tasks("tk.cycle.mt", true));
    assert_eq!(kinds("tk.cycle.mt"), [FindingKind::LockOrderCycle]);
}

#[test]
fn one_order_in_two_tasks_is_clean() {
    collect();
    current_thread().block_on(two_tasks("tk.order.ct", false));
    multi_thread().block_on(two_tasks("tk.order.mt", false));
    assert!(about("tk.order").is_empty(), "{:#?}", about("tk.order"));
}

/// A task holds `x` across awaits while another task, polled on the same
/// thread meanwhile, takes `y` alone; later a third takes `y` then `x`.
/// Only per-task holds keep the second task's `y` from looking taken
/// under `x` (a false cycle `x → y → x`).
async fn interleaved(prefix: &'static str) {
    let x = Arc::new(Mutex::named(leak(format!("{prefix}.x")), 0));
    let y = Arc::new(Mutex::named(leak(format!("{prefix}.y")), 0));
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let x1 = x.clone();
    let holder = spawn(async move {
        let _x = x1.lock().await;
        held_tx.send(()).expect("the other task waits");
        done_rx.await.expect("the other task ends");
    });
    let y1 = y.clone();
    let other = spawn(async move {
        held_rx.await.expect("the holder holds x");
        *y1.lock().await += 1;
        done_tx.send(()).expect("the holder waits");
    });
    holder.await.expect("holder");
    other.await.expect("other");
    spawn(async move {
        let _y = y.lock().await;
        *x.lock().await += 1;
    })
    .await
    .expect("third");
}

#[test]
fn a_hold_across_awaits_belongs_to_its_task_current_thread() {
    collect();
    current_thread().block_on(interleaved("tk.own.ct"));
    assert!(about("tk.own.ct").is_empty(), "{:#?}", about("tk.own.ct"));
}

#[test]
fn a_hold_across_awaits_belongs_to_its_task_multi_thread() {
    collect();
    multi_thread().block_on(interleaved("tk.own.mt"));
    assert!(about("tk.own.mt").is_empty(), "{:#?}", about("tk.own.mt"));
}

#[test]
fn a_task_that_awaits_a_mutex_it_holds_is_a_self_deadlock_broken() {
    collect();
    for (rt, name) in [
        (current_thread(), "tk.self.ct"),
        (multi_thread(), "tk.self.mt"),
    ] {
        let m = Arc::new(Mutex::named(name, 0));
        let m1 = m.clone();
        let ended = rt.block_on(async {
            spawn(async move {
                let _held = m1.lock().await;
                *m1.lock().await += 1;
            })
            .await
        });
        assert!(ended.expect_err("broken by a panic").is_panic());
        // The guard went with the task: the mutex is free again.
        assert!(m.try_lock().is_ok());
    }
    // One finding, made at the same sites on both runtimes: counted twice.
    let found = about("tk.self");
    assert_eq!(kinds("tk.self"), [FindingKind::SelfDeadlock], "{found:#?}");
    assert_eq!(found[0].count, 2);
    // A task, and called one.
    assert!(found[0].threads.iter().all(|t| t.task), "{found:#?}");
    assert!(
        found[0].summary.starts_with("task "),
        "{}",
        found[0].summary
    );
}

#[test]
fn a_task_that_locks_again_after_dropping_is_clean() {
    collect();
    let m = Arc::new(Mutex::named("tk.relock", 0));
    current_thread()
        .block_on(async {
            spawn(async move {
                drop(m.lock().await);
                *m.lock().await += 1;
            })
            .await
        })
        .expect("no self-deadlock");
    assert!(about("tk.relock").is_empty());
}

/// Two tasks each take one lock, meet at a barrier, then await the
/// other's: a real deadlock, which lockcheck breaks.
async fn crossed(prefix: &'static str) -> usize {
    let a = Arc::new(Mutex::named(leak(format!("{prefix}.a")), 0));
    let b = Arc::new(Mutex::named(leak(format!("{prefix}.b")), 0));
    let met = Arc::new(tokio::sync::Barrier::new(2));
    let side = |first: Arc<Mutex<i32>>, second: Arc<Mutex<i32>>, met: Arc<tokio::sync::Barrier>| {
        spawn(async move {
            let _first = first.lock().await;
            met.wait().await;
            *second.lock().await += 1;
        })
    };
    let one = side(a.clone(), b.clone(), met.clone());
    let two = side(b, a, met);
    let outcomes = [one.await, two.await];
    outcomes
        .iter()
        .filter(|o| o.as_ref().is_err_and(|e| e.is_panic()))
        .count()
}

#[test]
fn tasks_awaiting_each_others_locks_are_a_deadlock_broken_current_thread() {
    collect();
    let broken = current_thread().block_on(crossed("tk.dead.ct"));
    assert_eq!(broken, 1, "one task broken, the other goes on");
    let found = kinds("tk.dead.ct");
    assert!(found.contains(&FindingKind::Deadlock), "{found:?}");
    let deadlock = about("tk.dead.ct")
        .into_iter()
        .find(|f| f.kind == FindingKind::Deadlock)
        .expect("the deadlock");
    assert!(
        deadlock
            .summary
            .starts_with("2 tasks are blocked in a cycle"),
        "{}",
        deadlock.summary
    );
    assert!(
        deadlock
            .notes
            .iter()
            .any(|n| n.contains("panicking in the task that closed")),
        "{:#?}",
        deadlock.notes
    );
}

#[test]
fn tasks_awaiting_each_others_locks_are_a_deadlock_broken_multi_thread() {
    collect();
    let broken = multi_thread().block_on(crossed("tk.dead.mt"));
    assert_eq!(broken, 1, "one task broken, the other goes on");
    let found = kinds("tk.dead.mt");
    assert!(found.contains(&FindingKind::Deadlock), "{found:?}");
}

/// An instrumented `block_on` body that holds a blocking guard across an
/// `.await` (a guard that is not `Send` keeps a future out of
/// `tokio::spawn`: the case that compiles is this one, or `spawn_local`),
/// or, if `release_first`, that drops it before. A macro, so that each
/// use takes its lock at a site of its own (the finding is once a site).
macro_rules! blocking_guard_across {
    ($rt:expr, $name:expr, $release_first:expr) => {{
        let m = lockcheck::Mutex::named($name, 0);
        $rt.block_on(instrument(async {
            let mut n = m.lock();
            *n += 1;
            if $release_first {
                drop(n);
                tokio::task::yield_now().await;
            } else {
                tokio::task::yield_now().await;
                *n += 1;
            }
        }));
    }};
}

#[test]
fn a_blocking_guard_held_across_an_await_is_reported() {
    collect();
    blocking_guard_across!(current_thread(), "tk.across.ct", false);
    blocking_guard_across!(multi_thread(), "tk.across.mt", false);
    for name in ["tk.across.ct", "tk.across.mt"] {
        let found = about(name);
        assert_eq!(
            found.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [FindingKind::HeldAcrossAwait],
            "{found:#?}"
        );
        assert!(found[0].events[0].site.file.ends_with("tokio_tasks.rs"));
    }
}

#[test]
fn a_blocking_guard_released_before_the_await_is_clean() {
    collect();
    blocking_guard_across!(current_thread(), "tk.before.ct", true);
    blocking_guard_across!(multi_thread(), "tk.before.mt", true);
    assert!(about("tk.before").is_empty(), "{:#?}", about("tk.before"));
}

#[test]
fn a_std_shaped_guard_held_across_an_await_is_reported() {
    collect();
    let m = lockcheck::stdsync::Mutex::new(0);
    let line = line!() + 2;
    current_thread().block_on(instrument(async {
        let mut n = m.lock().expect("not poisoned");
        tokio::task::yield_now().await;
        *n += 1;
    }));
    let found: Vec<_> = lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::HeldAcrossAwait)
        .filter(|f| f.events[0].site.line == line)
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn an_async_guard_across_an_await_is_fine() {
    collect();
    let m = Mutex::named("tk.async.mutex", 0);
    let r = RwLock::named("tk.async.rwlock", 0);
    current_thread().block_on(instrument(async {
        let mut n = m.lock().await;
        let seen = r.read().await;
        tokio::task::yield_now().await;
        *n += *seen;
    }));
    assert!(about("tk.async").is_empty(), "{:#?}", about("tk.async"));
}

#[test]
fn a_guard_dropped_in_another_task_releases_its_holder() {
    collect();
    current_thread().block_on(async {
        let x = Arc::new(Mutex::named("tk.moved.x", 0));
        let y = Arc::new(Mutex::named("tk.moved.y", 0));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (x1, y1) = (x.clone(), y.clone());
        spawn(async move {
            let guard = x1.lock_owned().await;
            tx.send(guard).expect("the receiver waits");
            // `x` was handed on: taking `y` now is no edge from it.
            tokio::task::yield_now().await;
            *y1.lock().await += 1;
        });
        drop(spawn(async move { drop(rx.await.expect("a guard")) }).await);
        let _y = y.lock().await;
        *x.lock().await += 1;
    });
    assert!(about("tk.moved").is_empty(), "{:#?}", about("tk.moved"));
}

#[test]
fn a_loop_of_uncontended_locks_still_yields_to_other_tasks() {
    collect();
    // On one thread, the task that sets the flag runs only if the loop
    // yields: an uncontended `lock().await` spends the task's budget as
    // tokio's does, so the loop ends.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let m = Arc::new(Mutex::named("tk.coop", 0u64));
    current_thread().block_on(async {
        let d = done.clone();
        let setter = spawn(async move { d.store(true, std::sync::atomic::Ordering::SeqCst) });
        let looping = spawn(async move {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                *m.lock().await += 1;
            }
        });
        looping.await.expect("the loop ends");
        setter.await.expect("setter");
    });
    assert!(about("tk.coop").is_empty());
}

#[test]
fn async_locks_of_a_task_lockcheck_does_not_see_are_not_held_by_its_worker() {
    collect();
    // A plain tokio::spawn keeps `u.x` across an await while a task on the
    // same thread takes `u.y`; later `u.y` then `u.x`. The worker thread is
    // no holder of the first task's guard: no false cycle.
    current_thread().block_on(async {
        let x = Arc::new(Mutex::named("tk.unseen.x", 0));
        let y = Arc::new(Mutex::named("tk.unseen.y", 0));
        let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let x1 = x.clone();
        let holder = tokio::spawn(async move {
            let _x = x1.lock().await;
            held_tx.send(()).expect("the other task waits");
            done_rx.await.expect("the other task ends");
        });
        let y1 = y.clone();
        let other = tokio::spawn(async move {
            held_rx.await.expect("x is held");
            *y1.lock().await += 1;
            done_tx.send(()).expect("the holder waits");
        });
        holder.await.expect("holder");
        other.await.expect("other");
        spawn(async move {
            let _y = y.lock().await;
            *x.lock().await += 1;
        })
        .await
        .expect("third");
    });
    assert!(about("tk.unseen").is_empty(), "{:#?}", about("tk.unseen"));
    // Not checked, and said so: no clean answer from this process
    // (`lockcheck run` exits 2: cli/tests/cli.rs).
    assert!(
        lockcheck::unchecked()
            .iter()
            .any(|g| g.contains("not spawned by lockcheck::tokio::spawn")),
        "{:?}",
        lockcheck::unchecked()
    );
    // (`assert_no_findings` then panics: tests/clean_earned.rs.)
}

#[test]
fn shared_accesses_in_a_task_lockcheck_does_not_see_are_not_checked_and_said_so() {
    collect();
    // Set by the parent, then in a plain tokio::spawn task on a worker:
    // ordered by tokio's spawn, which lockcheck does not see, so checking
    // the task's access with its worker's clocks would report a false race.
    let var = Arc::new(lockcheck::Shared::named("tk.unseen.var", 0u32));
    multi_thread().block_on(async {
        var.set(1);
        let v = var.clone();
        tokio::spawn(async move { v.set(v.get() + 1) })
            .await
            .expect("the task ends");
    });
    assert_eq!(var.get(), 2);
    assert!(common::races_on("tk.unseen.var").is_empty());
    assert!(
        lockcheck::unchecked()
            .iter()
            .any(|g| g.contains("accesses of such tasks are not checked for races")),
        "{:?}",
        lockcheck::unchecked()
    );
}

/// Two threads, each with its runtime: the first sets `var` and then
/// hands over through `hand_over`, the second then reads it, ordered for
/// the program by a std channel (which lockcheck does not see).
fn handed_over<H: Send + Sync>(
    name: &'static str,
    handle: H,
    release: impl FnOnce(&H) + Send,
    acquire: impl FnOnce(&H) + Send,
) -> usize {
    let var = &lockcheck::Shared::named(name, 0u32);
    let handle = &handle;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            current_thread().block_on(async {
                var.set(1);
                release(handle);
            });
            tx.send(()).expect("the reader waits");
        });
        s.spawn(move || {
            rx.recv().expect("the writer is done");
            current_thread().block_on(async {
                acquire(handle);
                assert_eq!(var.get(), 1);
            });
        });
    });
    common::races_on(name).len()
}

#[test]
fn a_release_of_a_semaphore_permit_orders_the_next_acquisition() {
    collect();
    let sem = lockcheck::tokio::Semaphore::new(0);
    let races = handed_over(
        "tk.hb.sem",
        sem,
        |s| s.add_permits(1),
        |s| s.try_acquire().expect("the permit added").forget(),
    );
    assert_eq!(races, 0);
}

#[test]
fn an_async_mutex_orders_its_holders() {
    collect();
    let m = Mutex::named("tk.hb.mutex.lock", ());
    let races = handed_over(
        "tk.hb.mutex",
        m,
        |m| drop(m.try_lock().expect("free")),
        |m| drop(m.try_lock().expect("free")),
    );
    assert_eq!(races, 0);
}

#[test]
fn a_hand_over_lockcheck_does_not_see_is_a_race() {
    collect();
    let races = handed_over("tk.hb.none", (), |_| {}, |_| {});
    assert_eq!(races, 1);
}

/// The parent sets `var` and spawns a task that reads and sets it; the
/// parent reads it again once it has awaited the task's handle, or, if
/// `by_handle` is false, once a tokio oneshot (which lockcheck does not
/// see) says the task is done. The races on `var`. A macro, so that each
/// use accesses at sites of its own (a race is one finding a pair of sites).
macro_rules! spawned_and_joined {
    ($rt:expr, $name:expr, $by_handle:expr) => {{
        let var = Arc::new(lockcheck::Shared::named($name, 0u32));
        $rt.block_on(async {
            var.set(1);
            let v = var.clone();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let task = spawn(async move {
                assert_eq!(v.get(), 1);
                v.set(2);
                done_tx.send(()).expect("the parent waits");
            });
            if $by_handle {
                task.await.expect("the task ends");
            } else {
                done_rx.await.expect("the task says it is done");
            }
            assert_eq!(var.get(), 2);
        });
        common::races_on($name).len()
    }};
}

#[test]
fn a_spawn_orders_the_parent_before_the_task_and_its_end_before_the_await() {
    collect();
    // On the multi-thread runtime the block_on thread is no worker: the
    // task runs on another thread. On the current-thread one it runs on
    // the same thread, and is still a thread of its own.
    assert_eq!(
        spawned_and_joined!(multi_thread(), "tk.hb.spawn.mt", true),
        0
    );
    assert_eq!(
        spawned_and_joined!(current_thread(), "tk.hb.spawn.ct", true),
        0
    );
}

#[test]
fn an_end_seen_only_through_a_channel_lockcheck_does_not_see_is_a_race() {
    collect();
    // The task's write and the parent's read after the oneshot: one race.
    assert_eq!(
        spawned_and_joined!(multi_thread(), "tk.hb.unjoined.mt", false),
        1
    );
    // Tasks are threads of their own on one thread too (as goroutines are
    // for Go's race detector with GOMAXPROCS=1): the task could as well
    // run on another worker.
    assert_eq!(
        spawned_and_joined!(current_thread(), "tk.hb.unjoined.ct", false),
        1
    );
}

/// A waker that does nothing: the test polls by hand.
fn noop_waker() -> std::task::Waker {
    use std::task::{RawWaker, RawWakerVTable};
    const VTABLE: RawWakerVTable = RawWakerVTable::new(|_| RAW, |_| {}, |_| {}, |_| {});
    const RAW: RawWaker = RawWaker::new(std::ptr::null(), &VTABLE);
    // SAFETY: every function of the vtable ignores the data pointer.
    unsafe { std::task::Waker::from_raw(RAW) }
}

#[test]
fn a_task_resumed_on_another_thread_is_ordered_after_its_own_earlier_polls() {
    collect();
    let var = Arc::new(lockcheck::Shared::named("tk.hb.migrate", 0u32));
    let v = var.clone();
    let mut task = Box::pin(instrument(async move {
        v.set(1);
        tokio::task::yield_now().await;
        v.set(v.get() + 1);
    }));
    let waker = noop_waker();
    // The first poll here, on this thread; the second on another.
    let first = task
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker));
    assert!(first.is_pending());
    std::thread::spawn(move || {
        let waker = noop_waker();
        let second = task
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker));
        assert!(second.is_ready());
    })
    .join()
    .expect("the second poll");
    assert_eq!(
        common::races_on("tk.hb.migrate").len(),
        0,
        "{:#?}",
        common::races_on("tk.hb.migrate")
    );
}

#[test]
fn a_guard_mapped_by_try_map_keeps_its_hold() {
    use lockcheck::tokio::{MappedMutexGuard, MutexGuard};
    collect();
    current_thread().block_on(instrument(async {
        let m = Mutex::named("tk.trymap.m", vec![1u32]);
        let other = Mutex::named("tk.trymap.other", 0u32);
        // Nothing found: the guard comes back, still locking.
        let back = MutexGuard::try_map(m.lock().await, |v| v.get_mut(5)).expect_err("no part");
        assert!(m.try_lock().is_err());
        drop(back);
        // A part found: the mapped guard holds `m` as the guard did.
        let part = MutexGuard::try_map(m.lock().await, |v| v.first_mut()).expect("a part");
        let part = MappedMutexGuard::try_map(part, |n| Some(n)).expect("the same part");
        assert!(m.try_lock().is_err());
        *other.lock().await += *part; // m, then other
        drop(part);
        assert!(m.try_lock().is_ok());
        let _o = other.lock().await;
        let _m = m.lock().await; // other, then m: a cycle, so the hold was seen
    }));
    assert_eq!(kinds("tk.trymap"), [FindingKind::LockOrderCycle]);
}

/// Task A holds `l` and awaits task B's end; B wants `l` (a deadlock
/// through a join), unless A lets `l` go first. How many of the two ended
/// by a panic.
async fn awaits_a_task_that_wants_its_lock(prefix: &'static str, release_first: bool) -> usize {
    let l = Arc::new(Mutex::named(leak(format!("{prefix}.l")), 0));
    let b_panicked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (l1, flag) = (l.clone(), b_panicked.clone());
    let a = spawn(async move {
        let held = l1.lock().await;
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let l2 = l1.clone();
        let b = spawn(async move {
            started_tx.send(()).expect("A waits");
            *l2.lock().await += 1;
        });
        started_rx.await.expect("B started");
        if release_first {
            drop(held);
            let joined = b.await;
            flag.store(joined.is_err(), std::sync::atomic::Ordering::Relaxed);
        } else {
            let joined = b.await;
            flag.store(joined.is_err(), std::sync::atomic::Ordering::Relaxed);
            drop(held);
        }
    });
    let a_panicked = a.await.is_err();
    usize::from(a_panicked) + usize::from(b_panicked.load(std::sync::atomic::Ordering::Relaxed))
}

#[test]
fn a_task_awaiting_a_task_that_wants_its_lock_is_a_deadlock_broken() {
    collect();
    for (rt, prefix) in [
        (current_thread(), "tk.joindead.ct"),
        (multi_thread(), "tk.joindead.mt"),
    ] {
        let broken = rt.block_on(awaits_a_task_that_wants_its_lock(prefix, false));
        assert_eq!(
            broken, 1,
            "{prefix}: one of the two broken, the other goes on"
        );
    }
    // One finding (the same sites on both runtimes), seen twice.
    let found = about("tk.joindead");
    assert_eq!(kinds("tk.joindead"), [FindingKind::Deadlock], "{found:#?}");
    assert_eq!(found[0].count, 2, "{found:#?}");
    assert!(
        found[0]
            .summary
            .starts_with("2 tasks are blocked in a cycle of lock waits and joins"),
        "{}",
        found[0].summary
    );
}

#[test]
fn a_task_awaiting_a_task_after_letting_its_lock_go_is_clean() {
    collect();
    for (rt, prefix) in [
        (current_thread(), "tk.joinfine.ct"),
        (multi_thread(), "tk.joinfine.mt"),
    ] {
        let broken = rt.block_on(awaits_a_task_that_wants_its_lock(prefix, true));
        assert_eq!(broken, 0, "{prefix}");
        assert!(about(prefix).is_empty(), "{prefix}: {:#?}", about(prefix));
    }
}

/// Two plain threads take two tokio mutexes by `blocking_lock` in
/// opposite orders, each holding its first when it asks for its second
/// (unless `ordered`). How many ended by a panic.
fn blocking_locks_crossed(prefix: &'static str, ordered: bool) -> usize {
    let a = Arc::new(Mutex::named(leak(format!("{prefix}.a")), 0));
    let b = Arc::new(Mutex::named(leak(format!("{prefix}.b")), 0));
    // std's barrier: lockcheck does not see it, and need not.
    let both_hold = Arc::new(std::sync::Barrier::new(2));
    let side = |first: Arc<Mutex<i32>>, second: Arc<Mutex<i32>>, both: Arc<std::sync::Barrier>| {
        std::thread::spawn(move || {
            let held = first.blocking_lock();
            both.wait();
            if ordered {
                drop(held);
                *second.blocking_lock() += 1;
            } else {
                *second.blocking_lock() += 1;
                drop(held);
            }
        })
    };
    let one = side(a.clone(), b.clone(), both_hold.clone());
    let two = side(b, a, both_hold);
    [one.join(), two.join()]
        .iter()
        .filter(|j| j.is_err())
        .count()
}

#[test]
fn blocking_locks_of_tokio_mutexes_crossed_are_a_deadlock_broken() {
    collect();
    assert_eq!(blocking_locks_crossed("tk.blockdead", false), 1);
    assert!(
        kinds("tk.blockdead").contains(&FindingKind::Deadlock),
        "{:#?}",
        about("tk.blockdead")
    );
}

#[test]
fn blocking_locks_of_tokio_mutexes_let_go_first_are_clean() {
    collect();
    assert_eq!(blocking_locks_crossed("tk.blockfine", true), 0);
    // Each lets its first go before it asks for its second: never two
    // held at once, no order, nothing to report.
    assert!(
        about("tk.blockfine").is_empty(),
        "{:#?}",
        about("tk.blockfine")
    );
}

#[test]
fn a_race_names_the_task_of_its_earlier_access() {
    collect();
    let name = "tk.race-names.var";
    let var = Arc::new(lockcheck::Shared::named(name, 0u32));
    multi_thread().block_on(async {
        let v = var.clone();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let _task = spawn(async move {
            v.set(2);
            done_tx.send(()).expect("the parent waits");
        });
        // The oneshot orders nothing for lockcheck: the read races with
        // the task's write, which is looked up by its id in the report.
        done_rx.await.expect("the task is done");
        assert_eq!(var.get(), 2);
    });
    let races = common::races_on(name);
    assert_eq!(races.len(), 1, "{races:#?}");
    let tasks: Vec<_> = races[0].threads.iter().filter(|t| t.task).collect();
    assert_eq!(tasks.len(), 1, "{:#?}", races[0].threads);
    let task_name = tasks[0].name.as_deref().expect("the task's name");
    assert!(task_name.starts_with("task "), "{task_name}");
    assert!(races[0].summary.contains(task_name), "{}", races[0].summary);
}

/// A `block_on` body (no task: the thread is the holder) takes `a` then
/// `b` three times — the second and third on the fast path of a known
/// stack — then, if `reversed`, `b` then `a`.
fn body_orders(prefix: &'static str, reversed: bool) {
    let a = Mutex::named(leak(format!("{prefix}.a")), 0);
    let b = Mutex::named(leak(format!("{prefix}.b")), 0);
    current_thread().block_on(async {
        for _ in 0..3 {
            let _a = a.lock().await;
            *b.lock().await += 1;
        }
        // Released on the fast path too: taking `a` again is no
        // self-deadlock.
        drop(a.lock().await);
        if reversed {
            let _b = b.lock().await;
            *a.lock().await += 1;
        }
    });
}

#[test]
fn a_block_on_body_on_the_fast_path_is_checked_as_a_thread() {
    collect();
    body_orders("tk.body-fast", true);
    assert_eq!(kinds("tk.body-fast."), [FindingKind::LockOrderCycle]);
    body_orders("tk.body-fast-near", false);
    assert_eq!(kinds("tk.body-fast-near."), []);
}
