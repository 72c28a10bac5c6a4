//! std::sync's API, checked: `use lockcheck::stdsync as sync;` in place of
//! `use std::sync;` and the rest of the file stays as it is.
//!
//! [`Mutex`], [`RwLock`], [`Condvar`], [`Once`], [`OnceLock`], [`LazyLock`]
//! and [`Barrier`] have std's signatures, auto traits and poisoning, and
//! lock through lockcheck's own locks: lock-order cycles, self-deadlocks
//! and deadlocks are found and reported as for [`crate::Mutex`], at the
//! caller's lines. An initialisation of a `Once`, `OnceLock` or `LazyLock`
//! holds a lock of the cell's own, so a thread waiting for another's
//! initialisation is a wait in the wait-for graph, and an initialisation
//! that re-enters its own cell is a `self-deadlock` at the call. [`mpsc`]
//! is lockcheck's checked channels ([`crate::sync::mpsc`]) in std's shape,
//! with std's error types. The rest
//! ([`Arc`], [`Weak`], [`atomic`], [`PoisonError`], [`LockResult`], …) is
//! std's own, re-exported.
//!
//! ```
//! use lockcheck::stdsync as sync;
//! use sync::{Arc, Mutex};
//!
//! let counter = Arc::new(Mutex::new(0));
//! let workers: Vec<_> = (0..4)
//!     .map(|_| {
//!         let counter = Arc::clone(&counter);
//!         std::thread::spawn(move || *counter.lock().unwrap() += 1)
//!     })
//!     .collect();
//! for w in workers {
//!     w.join().unwrap();
//! }
//! assert_eq!(*counter.lock().unwrap(), 4);
//! ```
//!
//! A panic while a guard is held poisons the lock, as std's:
//!
//! ```
//! use lockcheck::stdsync::Mutex;
//! let m = Mutex::new(1);
//! let _ = std::panic::catch_unwind(|| {
//!     let _guard = m.lock().unwrap();
//!     panic!("while holding");
//! });
//! assert!(m.is_poisoned());
//! let guard = m.lock().unwrap_err().into_inner(); // the value is still there
//! assert_eq!(*guard, 1);
//! drop(guard);
//! m.clear_poison();
//! assert!(m.lock().is_ok());
//! ```

mod condvar;
pub(crate) mod handoff;
mod lazy_lock;
pub mod mpsc;
mod mutex;
mod once;
mod once_lock;
mod poison;
mod rwlock;

/// std's `Barrier`: lockcheck's own ([`crate::sync::Barrier`]), whose API
/// is std's.
pub use crate::sync::{Barrier, BarrierWaitResult};
pub use condvar::Condvar;
pub use lazy_lock::LazyLock;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use once_lock::OnceLock;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use std::sync::{
    atomic, Arc, LockResult, OnceState, PoisonError, TryLockError, TryLockResult,
    WaitTimeoutResult, Weak,
};
