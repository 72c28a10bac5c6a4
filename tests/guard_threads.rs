//! Guards stay on the thread that locked, whatever features parking_lot has
//! on: every test build turns on parking_lot's `send_guard` (a
//! dev-dependency in Cargo.toml), as any crate in a user's build may. A
//! guard moved to another thread would release from that thread's held
//! locks and leave its hold behind on the locking thread (a false
//! self-deadlock at the next lock, a false leak at exit), so lockcheck's
//! guards are never `Send`; and they are `Sync` exactly where parking_lot's
//! are (where `T` is `Sync`).
//!
//! Every check here is made at compile time: a guard that became `Send`,
//! or lost or gained `Sync`, fails the build of this test.

use std::cell::Cell;

use lockcheck::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard, FairMutexGuard, MappedFairMutexGuard, MappedMutexGuard,
    MappedReentrantMutexGuard, MappedRwLockReadGuard, MappedRwLockWriteGuard, MutexGuard,
    ReentrantMutexGuard, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
};
use lockcheck::{RawFairMutex, RawMutex, RawRwLock, RawThreadId};

/// Fails to compile when `$ty` is `Send`: with two candidate impls of
/// `NotSend<_>` the call is ambiguous, and the second applies only to a
/// `Send` type (the trick of static_assertions' `assert_not_impl_any!`).
macro_rules! assert_not_send {
    ($ty:ty) => {
        const _: fn() = || {
            trait NotSend<Which> {
                fn check() {}
            }
            impl<T: ?Sized> NotSend<()> for T {}
            #[allow(dead_code)]
            struct IsSend;
            impl<T: ?Sized + Send> NotSend<IsSend> for T {}
            <$ty as NotSend<_>>::check();
        };
    };
}

/// Fails to compile when `$ty` is `Sync`, as [`assert_not_send!`].
macro_rules! assert_not_sync {
    ($ty:ty) => {
        const _: fn() = || {
            trait NotSync<Which> {
                fn check() {}
            }
            impl<T: ?Sized> NotSync<()> for T {}
            #[allow(dead_code)]
            struct IsSync;
            impl<T: ?Sized + Sync> NotSync<IsSync> for T {}
            <$ty as NotSync<_>>::check();
        };
    };
}

/// Fails to compile unless `$ty` is `Sync`.
macro_rules! assert_sync {
    ($ty:ty) => {
        const _: fn() = || {
            fn sync<T: ?Sized + Sync>() {}
            sync::<$ty>();
        };
    };
}

/// Fails to compile unless `$ty` is `Send`.
macro_rules! assert_send {
    ($ty:ty) => {
        const _: fn() = || {
            fn send<T: ?Sized + Send>() {}
            send::<$ty>();
        };
    };
}

/// `Sync` but not `Send`: parking_lot's guards of it are `Sync` (they need
/// only `T: Sync`), so lockcheck's must be too.
type SyncNotSend = std::sync::MutexGuard<'static, ()>;

// The premise: this build has `send_guard` on, so parking_lot's own guards
// are `Send`. If the dev-dependency that turns it on goes, these fail, and
// the assertions below no longer test what they claim.
assert_send!(parking_lot::MutexGuard<'static, u32>);
assert_send!(parking_lot::FairMutexGuard<'static, u32>);
assert_send!(parking_lot::RwLockReadGuard<'static, u32>);
assert_send!(parking_lot::RwLockWriteGuard<'static, u32>);
assert_send!(parking_lot::RwLockUpgradableReadGuard<'static, u32>);

// Never `Send`, even for the friendliest `T`.
assert_not_send!(MutexGuard<'static, u32>);
assert_not_send!(RwLockReadGuard<'static, u32>);
assert_not_send!(RwLockWriteGuard<'static, u32>);
assert_not_send!(RwLockUpgradableReadGuard<'static, u32>);
assert_not_send!(ReentrantMutexGuard<'static, u32>);
assert_not_send!(ArcReentrantMutexGuard<RawMutex, RawThreadId, u32>);
assert_not_send!(ArcRwLockUpgradableReadGuard<RawRwLock, u32>);
assert_not_send!(ArcRwLockWriteGuard<RawRwLock, u32>);
assert_not_send!(ArcRwLockReadGuard<RawRwLock, u32>);
assert_not_send!(ArcMutexGuard<RawMutex, u32>);
assert_not_send!(ArcMutexGuard<RawFairMutex, u32>);
assert_not_send!(MappedFairMutexGuard<'static, u32>);
assert_not_send!(FairMutexGuard<'static, u32>);
assert_not_send!(MappedMutexGuard<'static, u32>);
assert_not_send!(MappedRwLockReadGuard<'static, u32>);
assert_not_send!(MappedRwLockWriteGuard<'static, u32>);
assert_not_send!(MappedReentrantMutexGuard<'static, u32>);

// `Sync` where `T` is, whether or not `T` is `Send`.
assert_sync!(MutexGuard<'static, u32>);
assert_sync!(RwLockReadGuard<'static, u32>);
assert_sync!(RwLockWriteGuard<'static, u32>);
assert_sync!(RwLockUpgradableReadGuard<'static, u32>);
assert_sync!(ReentrantMutexGuard<'static, u32>);
assert_sync!(parking_lot::MutexGuard<'static, SyncNotSend>);
assert_sync!(MutexGuard<'static, SyncNotSend>);
assert_sync!(RwLockReadGuard<'static, SyncNotSend>);
assert_sync!(RwLockWriteGuard<'static, SyncNotSend>);
assert_sync!(RwLockUpgradableReadGuard<'static, SyncNotSend>);
assert_sync!(ReentrantMutexGuard<'static, SyncNotSend>);
assert_sync!(ArcReentrantMutexGuard<RawMutex, RawThreadId, u32>);
assert_sync!(ArcReentrantMutexGuard<RawMutex, RawThreadId, SyncNotSend>);
assert_sync!(ArcRwLockUpgradableReadGuard<RawRwLock, u32>);
assert_sync!(ArcRwLockUpgradableReadGuard<RawRwLock, SyncNotSend>);
assert_sync!(ArcRwLockWriteGuard<RawRwLock, u32>);
assert_sync!(ArcRwLockWriteGuard<RawRwLock, SyncNotSend>);
assert_sync!(ArcRwLockReadGuard<RawRwLock, u32>);
assert_sync!(ArcRwLockReadGuard<RawRwLock, SyncNotSend>);
assert_sync!(ArcMutexGuard<RawMutex, u32>);
assert_sync!(ArcMutexGuard<RawMutex, SyncNotSend>);
assert_sync!(ArcMutexGuard<RawFairMutex, u32>);
assert_sync!(MappedFairMutexGuard<'static, u32>);
assert_sync!(MappedFairMutexGuard<'static, SyncNotSend>);
assert_sync!(FairMutexGuard<'static, u32>);
assert_sync!(FairMutexGuard<'static, SyncNotSend>);
assert_sync!(MappedMutexGuard<'static, u32>);
assert_sync!(MappedRwLockReadGuard<'static, u32>);
assert_sync!(MappedRwLockWriteGuard<'static, u32>);
assert_sync!(MappedReentrantMutexGuard<'static, u32>);
assert_sync!(MappedMutexGuard<'static, SyncNotSend>);
assert_sync!(MappedRwLockReadGuard<'static, SyncNotSend>);
assert_sync!(MappedRwLockWriteGuard<'static, SyncNotSend>);
assert_sync!(MappedReentrantMutexGuard<'static, SyncNotSend>);

// Not `Sync` where `T` is not: a shared guard would hand two threads `&T`.
assert_not_sync!(MutexGuard<'static, Cell<u32>>);
assert_not_sync!(RwLockReadGuard<'static, Cell<u32>>);
assert_not_sync!(RwLockWriteGuard<'static, Cell<u32>>);
assert_not_sync!(RwLockUpgradableReadGuard<'static, Cell<u32>>);
assert_not_sync!(ReentrantMutexGuard<'static, Cell<u32>>);
assert_not_sync!(ArcReentrantMutexGuard<RawMutex, RawThreadId, Cell<u32>>);
assert_not_sync!(ArcRwLockUpgradableReadGuard<RawRwLock, Cell<u32>>);
assert_not_sync!(ArcRwLockWriteGuard<RawRwLock, Cell<u32>>);
assert_not_sync!(ArcRwLockReadGuard<RawRwLock, Cell<u32>>);
assert_not_sync!(ArcMutexGuard<RawMutex, Cell<u32>>);
assert_not_sync!(ArcMutexGuard<RawFairMutex, Cell<u32>>);
assert_not_sync!(MappedFairMutexGuard<'static, Cell<u32>>);
assert_not_sync!(FairMutexGuard<'static, Cell<u32>>);
assert_not_sync!(MappedMutexGuard<'static, Cell<u32>>);
assert_not_sync!(MappedRwLockReadGuard<'static, Cell<u32>>);
assert_not_sync!(MappedRwLockWriteGuard<'static, Cell<u32>>);
assert_not_sync!(MappedReentrantMutexGuard<'static, Cell<u32>>);

/// What `Sync` is for, at run time: a guard shared by reference with a
/// scoped thread, which reads through it, while the locking thread keeps
/// (and later drops) it. The hold stays on the locking thread throughout,
/// so its next lock of the same mutex is no self-deadlock.
#[test]
fn a_guard_shared_with_another_thread_is_released_by_the_thread_that_locked() {
    let lock = lockcheck::Mutex::named("guard_threads.shared", 7u32);
    let guard = lock.lock();
    let seen = std::thread::scope(|s| {
        s.spawn(|| *guard)
            .join()
            .expect("the reading thread panicked")
    });
    assert_eq!(seen, 7);
    drop(guard);
    *lock.lock() += 1;
    assert_eq!(*lock.lock(), 8);
    let found = lockcheck::take_findings();
    assert!(found.is_empty(), "no finding expected, got {found:#?}");
}
