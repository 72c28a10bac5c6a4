//! Wrapper locks: parking_lot's types and API, every acquisition checked.

mod condvar;
pub(crate) mod meta;
mod mutex;
mod reentrant;
mod rwlock;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
