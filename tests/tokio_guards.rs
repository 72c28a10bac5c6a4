//! lockcheck::tokio's guard API beyond `lock().await`: mapped guards
//! (borrowed and owned) keep their lock's hold, a downgraded write guard
//! holds the lock for reading (in place, or from the task it moved to),
//! and `with_max_readers` limits the readers. Each hold is shown to be
//! seen by the cycle it closes, with the near miss that does not close
//! it. Tasks are ordered by awaits, never by sleeps; every test names its
//! locks uniquely (`findings` are the process's).

mod common;

use std::sync::Arc;

use common::{about, collect};
use lockcheck::tokio::{
    instrument, spawn, Mutex, OwnedMappedMutexGuard, OwnedMutexGuard, OwnedRwLockReadGuard,
    OwnedRwLockWriteGuard, RwLock, RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
use lockcheck::FindingKind;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn kinds(prefix: &str) -> Vec<FindingKind> {
    about(prefix).iter().map(|f| f.kind).collect()
}

/// `other` then `lock` in a task of its own: with a hold of `lock` seen
/// before it (`lock` then `other`), a cycle.
async fn other_then<T: Send + Sync + 'static>(other: &Arc<Mutex<u32>>, lock: &Arc<RwLock<T>>) {
    let (other, lock) = (other.clone(), lock.clone());
    spawn(async move {
        let _o = other.lock().await;
        let _w = lock.write().await;
    })
    .await
    .expect("the second order");
}

#[test]
fn an_owned_guard_mapped_keeps_its_hold() {
    collect();
    current_thread().block_on(instrument(async {
        let m = Arc::new(Mutex::named("tg.owned-map.m", (1u32, 2u32)));
        let other = Mutex::named("tg.owned-map.other", 0u32);
        // Nothing found: the guard comes back, still locking.
        let back = OwnedMutexGuard::try_map(m.clone().lock_owned().await, |_| None::<&mut u32>)
            .expect_err("no part");
        assert!(m.try_lock().is_err());
        drop(back);
        let part = OwnedMutexGuard::map(m.clone().lock_owned().await, |pair| &mut pair.1);
        let mut part = OwnedMappedMutexGuard::try_map(part, |n| Some(n)).expect("the same part");
        *part += 1;
        assert!(m.try_lock().is_err());
        assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&part), &m));
        *other.lock().await += *part; // m, then other
        drop(part);
        assert_eq!(*m.lock().await, (1, 3));
        let _o = other.lock().await;
        let _m = m.lock().await; // other, then m: a cycle, so the hold was seen
    }));
    assert_eq!(kinds("tg.owned-map."), [FindingKind::LockOrderCycle]);
}

#[test]
fn an_owned_mapped_guard_dropped_before_the_other_order_is_clean() {
    collect();
    current_thread().block_on(instrument(async {
        let m = Arc::new(Mutex::named("tg.owned-map-near.m", (1u32, 2u32)));
        let other = Mutex::named("tg.owned-map-near.other", 0u32);
        let part = OwnedMutexGuard::map(m.clone().lock_owned().await, |pair| &mut pair.0);
        let copied = *part;
        drop(part); // released before `other`: no order
        *other.lock().await += copied;
        let _o = other.lock().await;
        let _m = m.lock().await;
    }));
    assert_eq!(kinds("tg.owned-map-near."), []);
}

#[test]
fn rwlock_guards_mapped_keep_their_holds() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.rw-map.rw", vec![1u32, 2]));
        let other = Arc::new(Mutex::named("tg.rw-map.other", 0u32));
        {
            let first = RwLockReadGuard::map(rw.read().await, |v| &v[0]);
            let first = RwLockReadGuard::try_map(first, |n| Some(n)).expect("the same part");
            assert!(rw.try_write().is_err());
            *other.lock().await += *first; // rw, then other
        }
        {
            let w = RwLockWriteGuard::try_map(rw.write().await, |v| v.get_mut(9))
                .expect_err("no part: the guard back");
            let mut last = RwLockWriteGuard::map(w, |v| v.last_mut().expect("two"));
            *last += 1;
            let last = RwLockMappedWriteGuard::map(last, |n| n);
            assert!(rw.try_read().is_err());
            *other.lock().await += *last;
        }
        {
            let owned = OwnedRwLockReadGuard::map(rw.clone().read_owned().await, |v| &v[1]);
            assert_eq!(*owned, 3);
            assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&owned), &rw));
            drop(owned);
            let mapped = OwnedRwLockWriteGuard::into_mapped(rw.clone().write_owned().await);
            assert!(rw.try_read().is_err());
            *other.lock().await += mapped[0];
        }
        other_then(&other, &rw).await; // other, then rw: a cycle
    }));
    assert_eq!(kinds("tg.rw-map."), [FindingKind::LockOrderCycle]);
}

#[test]
fn rwlock_guards_mapped_and_dropped_before_the_other_lock_are_clean() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.rw-map-near.rw", vec![1u32, 2]));
        let other = Arc::new(Mutex::named("tg.rw-map-near.other", 0u32));
        let first = *RwLockReadGuard::map(rw.read().await, |v| &v[0]);
        let last = {
            let mut part = RwLockWriteGuard::map(rw.write().await, |v| &mut v[1]);
            *part += 1;
            *part
        };
        let owned = *OwnedRwLockReadGuard::map(rw.clone().read_owned().await, |v| &v[1]);
        // Every mapped guard is gone before `other`: no order rw → other.
        *other.lock().await += first + last + owned;
        other_then(&other, &rw).await;
    }));
    assert_eq!(kinds("tg.rw-map-near."), []);
}

#[test]
fn a_downgrade_lets_readers_in_and_keeps_a_read_hold() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.downgrade.rw", 1u32));
        let other = Arc::new(Mutex::named("tg.downgrade.other", 0u32));
        let mut w = rw.write().await;
        *w += 1;
        assert!(rw.try_read().is_err());
        let r = w.downgrade();
        // A reader comes in, a writer does not.
        assert_eq!(*rw.try_read().expect("readers come in"), 2);
        assert!(rw.try_write().is_err());
        *other.lock().await += *r; // rw (read), then other
        drop(r);
        assert!(rw.try_write().is_ok());
        other_then(&other, &rw).await; // other, then rw: a cycle
    }));
    assert_eq!(
        kinds("tg.downgrade."),
        [FindingKind::LockOrderCycle],
        "{:#?}",
        about("tg.downgrade.")
    );
}

#[test]
fn a_downgraded_guard_dropped_before_the_other_lock_is_clean() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.downgrade-near.rw", 1u32));
        let other = Arc::new(Mutex::named("tg.downgrade-near.other", 0u32));
        let r = rw.write().await.downgrade();
        let seen = *r;
        drop(r);
        *other.lock().await += seen;
        other_then(&other, &rw).await;
        // The read hold left the stack with its guard: taking the lock
        // again for writing is no self-deadlock either.
        drop(rw.write().await);
    }));
    assert_eq!(kinds("tg.downgrade-near."), []);
}

#[test]
fn downgrade_maps_and_owned_downgrades_keep_a_read_hold() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.downgrade-map.rw", (1u32, 2u32)));
        let other = Arc::new(Mutex::named("tg.downgrade-map.other", 0u32));
        let w = rw.write().await;
        let w = RwLockWriteGuard::try_downgrade_map(w, |_| None::<&u32>).expect_err("no part");
        let second = RwLockWriteGuard::downgrade_map(w, |pair| &pair.1);
        assert!(rw.try_read().is_ok());
        assert!(rw.try_write().is_err());
        *other.lock().await += *second;
        drop(second);
        let owned = rw.clone().write_owned().await.downgrade();
        assert_eq!(owned.0, 1);
        drop(owned);
        let first = OwnedRwLockWriteGuard::downgrade_map(rw.clone().write_owned().await, |p| &p.0);
        assert!(rw.try_write().is_err());
        *other.lock().await += *first;
        drop(first);
        other_then(&other, &rw).await;
    }));
    assert_eq!(kinds("tg.downgrade-map."), [FindingKind::LockOrderCycle]);
}

#[test]
fn a_guard_downgraded_by_the_task_it_moved_to_is_held_there() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.downgrade-moved.rw", 1u32));
        let other = Arc::new(Mutex::named("tg.downgrade-moved.other", 0u32));
        let w = rw.clone().write_owned().await;
        let (rw2, other2) = (rw.clone(), other.clone());
        // The write guard moves to another task, which downgrades it and,
        // holding the read, takes `other`.
        spawn(async move {
            let r = w.downgrade();
            assert!(rw2.try_write().is_err());
            *other2.lock().await += *r; // rw (read), then other
        })
        .await
        .expect("the task that downgrades");
        // The parent's stack no longer holds `rw` (the release was posted
        // to it), so taking it again is no self-deadlock.
        drop(rw.write().await);
        other_then(&other, &rw).await; // other, then rw: a cycle
    }));
    assert_eq!(kinds("tg.downgrade-moved."), [FindingKind::LockOrderCycle]);
}

#[test]
fn a_guard_downgraded_by_the_task_it_moved_to_and_dropped_there_is_clean() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = Arc::new(RwLock::named("tg.downgrade-moved-near.rw", 1u32));
        let other = Arc::new(Mutex::named("tg.downgrade-moved-near.other", 0u32));
        let w = rw.clone().write_owned().await;
        let other2 = other.clone();
        spawn(async move {
            let seen = *w.downgrade();
            // The read hold dropped before `other`: no order rw → other.
            *other2.lock().await += seen;
        })
        .await
        .expect("the task that downgrades");
        drop(rw.write().await);
        other_then(&other, &rw).await;
    }));
    assert_eq!(kinds("tg.downgrade-moved-near."), []);
}

#[test]
fn with_max_readers_lets_that_many_readers_in() {
    collect();
    current_thread().block_on(instrument(async {
        let rw = RwLock::with_max_readers(0u32, 2);
        let a = rw.read().await;
        let b = rw.try_read().expect("a second reader");
        assert!(rw.try_read().is_err(), "a third is one too many");
        drop(a);
        let c = rw.try_read().expect("room for one again");
        drop((b, c));
        *rw.try_write().expect("a writer takes both permits") += 1;
        let w = rw.write().await.downgrade();
        assert!(rw.try_read().is_ok(), "one permit back to readers");
        drop(w);
        assert_eq!(rw.into_inner(), 1);
    }));
}

#[test]
#[should_panic(expected = "0 readers")]
fn a_rwlock_of_no_readers_is_refused() {
    let _ = RwLock::with_max_readers((), 0);
}

#[test]
fn const_locks_are_checked_as_any() {
    static A: Mutex<u32> = Mutex::const_new(0);
    const A_LINE: u32 = line!() - 1;
    static B: RwLock<u32> = RwLock::const_new(0);
    collect();
    current_thread().block_on(instrument(async {
        let _a = A.lock().await;
        *B.write().await += 1; // A, then B
    }));
    current_thread().block_on(instrument(async {
        let _b = B.read().await;
        *A.lock().await += 1; // B, then A: a cycle
    }));
    // Unnamed: each is known by the line that created it.
    let cycles: Vec<_> = lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::LockOrderCycle)
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.created.file.ends_with("tokio_guards.rs") && l.created.line == A_LINE)
        })
        .collect();
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    assert_eq!(cycles[0].locks.len(), 2);
}

#[test]
fn what_a_writer_did_before_its_downgrade_happens_before_the_readers_it_lets_in() {
    collect();
    let rw = RwLock::named("tg.downgrade-hb.rw", ());
    let var = lockcheck::Shared::named("tg.downgrade-hb.var", 0u32);
    let (downgraded_tx, downgraded_rx) = std::sync::mpsc::channel::<()>();
    let (read_tx, read_rx) = std::sync::mpsc::channel::<()>();
    let (rw, var) = (&rw, &var);
    std::thread::scope(|s| {
        s.spawn(move || {
            current_thread().block_on(async {
                let w = rw.write().await;
                var.set(1);
                let r = w.downgrade();
                downgraded_tx.send(()).expect("the reader waits");
                // Still holding the read while the other reader comes in.
                read_rx.recv().expect("the reader is done");
                drop(r);
            });
        });
        s.spawn(move || {
            downgraded_rx.recv().expect("the writer downgraded");
            current_thread().block_on(async {
                let _r = rw.try_read().expect("readers come in");
                assert_eq!(var.get(), 1);
            });
            read_tx.send(()).expect("the writer waits");
        });
    });
    assert_eq!(common::races_on("tg.downgrade-hb.var").len(), 0);
}

/// Every guard is `Send` and `Sync` for a `Send + Sync` value, as tokio's,
/// so that it can be held across an `.await` in a spawned task.
#[allow(dead_code)]
fn every_guard_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    use lockcheck::tokio::{MappedMutexGuard, MutexGuard, OwnedRwLockMappedWriteGuard};
    send_sync::<MutexGuard<'static, u32>>();
    send_sync::<OwnedMutexGuard<u32>>();
    send_sync::<MappedMutexGuard<'static, u32>>();
    send_sync::<OwnedMappedMutexGuard<(u32, u32), u32>>();
    send_sync::<RwLockReadGuard<'static, u32>>();
    send_sync::<RwLockWriteGuard<'static, u32>>();
    send_sync::<RwLockMappedWriteGuard<'static, u32>>();
    send_sync::<OwnedRwLockReadGuard<(u32, u32), u32>>();
    send_sync::<OwnedRwLockWriteGuard<u32>>();
    send_sync::<OwnedRwLockMappedWriteGuard<(u32, u32), u32>>();
}

#[test]
fn a_lock_future_polled_after_it_was_ready_panics_without_taking_the_lock_again() {
    use std::future::Future;
    use std::task::{Context, Poll};
    collect();
    let m = Mutex::named("tg.poll-after.m", 0u32);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut lock = Box::pin(m.lock());
    let Poll::Ready(guard) = lock.as_mut().poll(&mut cx) else {
        panic!("the mutex is free");
    };
    drop(guard);
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = lock.as_mut().poll(&mut cx);
    }));
    assert!(again.is_err(), "a second poll panics");
    assert!(m.try_lock().is_ok(), "and did not take the lock again");
    assert_eq!(kinds("tg.poll-after."), []);
}
