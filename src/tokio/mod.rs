//! tokio's async locks, checked per task (the `tokio` feature).
//!
//! [`Mutex`] and [`RwLock`] have tokio::sync's API (`lock().await`,
//! `try_lock`, `blocking_lock`, `lock_owned`, `read`/`write` and their
//! `try_`, `blocking_` and `_owned` forms, `const_new`,
//! `with_max_readers`, `into_inner`, `get_mut`, every guard's `map` and
//! `try_map`, a write guard's `downgrade`) and lockcheck's names
//! (`named`, `with_name`). Their guards are `Send`, as tokio's; a mapped
//! guard keeps its lock's hold, a downgraded one holds it for reading. [`Semaphore`] has
//! tokio's API and carries happens-before from each release of permits to
//! each later acquisition (a permit has no owner: it is no node of the
//! lock-order graph).
//!
//! The holder of a lock is the task that took it when the task is
//! instrumented — spawned by [`spawn`] (tokio::spawn's signature) or
//! wrapped by [`instrument`] for any executor — and the thread otherwise.
//! A task's held locks follow it from worker to worker, and blocking
//! lockcheck locks it takes are part of the same held set, so every
//! detection applies between tasks as between threads:
//!
//! * `lock-order-cycle`: tasks (or a task and a thread) that take async
//!   and blocking locks in orders that can deadlock, predicted when the
//!   run did not hang;
//! * `self-deadlock`: a task that awaits a `Mutex` it holds (reported, and
//!   broken by a panic: the task ends with a `JoinError`);
//! * `deadlock`: instrumented tasks awaiting each other's locks (after the
//!   grace period each joins the wait-for graph; the await that closes the
//!   cycle panics, which ends its task and releases its locks);
//! * `held-across-await`: a blocking lock (lockcheck's `Mutex`, `RwLock`,
//!   std- or parking_lot-shaped) still held when its instrumented task
//!   yields; an async lock held across `.await` is fine.
//!
//! In a future that is neither spawned by [`spawn`] nor instrumented, the
//! thread that polls it is the holder: between tasks that run on
//! different workers the checks hold, but a task that keeps an async guard
//! across an `.await` leaves it on the worker's held set while other
//! tasks run there (the README's limits say what that misses).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Collected, to look at below (a test's default is a panic).
//! lockcheck::config::set_policy(lockcheck::config::Policy::Collect);
//! use std::sync::Arc;
//! use lockcheck::tokio::Mutex;
//! let a = Arc::new(Mutex::named("doc.a", 0));
//! let b = Arc::new(Mutex::named("doc.b", 0));
//! let (a2, b2) = (a.clone(), b.clone());
//! lockcheck::tokio::spawn(async move {
//!     let _a = a2.lock().await;
//!     *b2.lock().await += 1; // doc.a, then doc.b
//! })
//! .await
//! .unwrap();
//! let _b = b.lock().await;
//! let _a = a.lock().await; // doc.b, then doc.a: a cycle
//! # drop((_a, _b));
//! assert!(lockcheck::take_findings()
//!     .iter()
//!     .any(|f| f.kind == lockcheck::FindingKind::LockOrderCycle));
//! # }
//! ```

/// `Debug` and `Display` of guards, as their target's (tokio's guards
/// print their value): `[generics] Guard => Target`.
macro_rules! guard_formatting {
    ($([$($g:ident),*] $guard:ty => $target:ident),* $(,)?) => {$(
        impl<$($g: ?Sized),*> std::fmt::Debug for $guard
        where
            $target: std::fmt::Debug,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($g: ?Sized),*> std::fmt::Display for $guard
        where
            $target: std::fmt::Display,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}

mod hold;
mod instrument;
mod join;
mod mutex;
mod rwlock;
mod semaphore;
mod timer;

pub use instrument::{instrument, Instrumented};
pub use join::JoinHandle;
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

/// `tokio::spawn` of an instrumented future: the task is the holder of
/// the locks it takes (see [`instrument`]). Must be called from within a
/// tokio runtime, as `tokio::spawn`. Its [`JoinHandle`] has the API of
/// tokio's, and its await is a join for lockcheck (happens-before, and the
/// wait-for graph past the grace period).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = lockcheck::tokio::spawn(async { 42 }).await.unwrap();
/// assert_eq!(answer, 42);
/// # }
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let spawned = std::panic::Location::caller();
    let (future, end, task) = instrument::instrument_joined(future, spawned);
    JoinHandle::new(::tokio::spawn(future), end, task, spawned)
}
