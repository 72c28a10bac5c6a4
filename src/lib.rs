//! # lockcheck
//!
//! Deadlock detection for Rust programs. Swap `parking_lot::Mutex` for
//! `lockcheck::Mutex` (and `RwLock`, `ReentrantMutex`, `Condvar`), run your
//! tests or `lockcheck run -- ./your-program`, and every deadlock hazard in
//! what ran is reported with lock names, threads and source lines:
//!
//! - `self-deadlock`: a thread re-locks a lock it holds (a `Mutex` twice, a
//!   `write` under its own `read`, …), reported at the call instead of hanging;
//! - `lock-order-cycle`: locks taken in orders that can deadlock on another
//!   schedule (predicted even when this run did not hang);
//! - `deadlock`: threads blocked in a cycle right now, reported and broken;
//! - `lock-misuse`: a thread that ends holding a lock, an unlock by a thread
//!   that does not hold it;
//! - `held-across-await`: with the `tokio` feature, a blocking lock still
//!   held when its task yields (see `lockcheck::tokio`, whose async locks
//!   are checked per task).
//!
//! ```
//! use lockcheck::Mutex;
//! let a = Mutex::named("a", 0);
//! let b = Mutex::named("b", 0);
//! {
//!     let _a = a.lock();
//!     let _b = b.lock(); // a -> b, same order everywhere: no finding
//! }
//! assert!(lockcheck::findings().is_empty());
//! ```
//!
//! The library's design (one event model, pure detectors, a thread-local hot
//! path) is described in the repository's DESIGN.md; the README lists the
//! environment switches (see also [`config`]).

#![warn(missing_docs)]

#[cfg(feature = "checks")]
pub mod analysis;
#[cfg(feature = "checks")]
pub mod detect;
pub mod event;
pub mod finding;
#[cfg(feature = "checks")]
pub mod fixture;
#[cfg(feature = "checks")]
pub mod frames;
mod fx_hash;
mod json;
#[cfg(feature = "parking_lot_013")]
pub mod parking_lot_013;
mod raw;
#[cfg(feature = "checks")]
pub mod report;
mod runtime;
pub mod shared;
#[cfg(feature = "checks")]
pub mod stack;
pub mod stdsync;
pub mod sync;
#[cfg(all(test, feature = "checks"))]
mod test_support;
pub mod thread;
#[cfg(all(feature = "tokio", feature = "checks"))]
pub mod tokio;
#[cfg(feature = "checks")]
pub mod trace;

pub use finding::{Finding, FindingKind};
pub use runtime::config;
#[cfg(feature = "checks")]
pub use runtime::order_graph_dot;
pub use runtime::{assert_no_findings, findings, take_findings, unchecked};
pub use shared::Shared;
pub use sync::{
    const_fair_mutex, const_mutex, const_reentrant_mutex, const_rwlock, ArcMutexGuard,
    ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard, ArcRwLockWriteGuard,
    Barrier, BarrierWaitResult, Condvar, FairMutex, FairMutexGuard, MappedFairMutexGuard,
    MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard, MappedRwLockWriteGuard,
    Mutex, MutexGuard, Once, OnceState, RawFairMutex, RawMutex, RawRwLock, RawThreadId,
    ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
    RwLockWriteGuard, WaitTimeoutResult,
};

/// lock_api itself, as parking_lot re-exports it: its generic types take
/// lockcheck's raw locks ([`RawMutex`], [`RawFairMutex`], [`RawRwLock`],
/// [`RawThreadId`]) and are then checked like lockcheck's own.
pub use ::lock_api;
