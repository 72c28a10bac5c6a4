//! Wrapper locks: parking_lot's types and API, every acquisition checked.

mod condvar;
pub(crate) mod meta;
pub mod mpsc;
mod mutex;
mod reentrant;
mod rwlock;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};

use crate::event::LockInfo;

/// A lockcheck lock, as something a `Shared` can be guarded by.
pub trait LockIdentity: private::Sealed {
    /// The lock as the detectors see it.
    #[doc(hidden)]
    fn lock_info(&self) -> LockInfo;
}

mod private {
    pub trait Sealed {}
}

macro_rules! lock_identity {
    ($($ty:ident),*) => {$(
        impl<T: ?Sized> private::Sealed for $ty<T> {}
        impl<T: ?Sized> LockIdentity for $ty<T> {
            fn lock_info(&self) -> LockInfo {
                self.meta.info()
            }
        }
    )*};
}

lock_identity!(Mutex, RwLock, ReentrantMutex);
