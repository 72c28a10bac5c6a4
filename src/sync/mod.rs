//! Wrapper locks: parking_lot's types and API, every acquisition checked.

mod arc_guard;
mod barrier;
mod condvar;
mod fair_mutex;
mod fast;
pub(crate) mod fmt;
mod mapped;
pub mod mpsc;
mod mutex;
mod mutex_guard;
mod mutex_raw;
mod not_send;
mod once;
mod raw;
#[cfg(feature = "parking_lot_013")]
pub(crate) mod raw_05;
mod reentrant;
mod relock;
mod rwlock;
mod unchecked;
pub(crate) mod value_traits;

pub use arc_guard::{
    ArcMutexGuard, ArcMutexRaw, ArcReentrantMutexGuard, ArcRwLockReadGuard,
    ArcRwLockUpgradableReadGuard, ArcRwLockWriteGuard,
};
pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use fair_mutex::{const_fair_mutex, FairMutex, FairMutexGuard, MappedFairMutexGuard};
pub use mapped::{
    GenericMappedMutexGuard, MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard,
    MappedRwLockWriteGuard,
};
pub use mutex::{const_mutex, GenericMutex, GenericMutexGuard, Mutex, MutexGuard};
pub use mutex_raw::MutexRaw;
pub use once::{Once, OnceState};
pub use raw::{RawFairMutex, RawMutex, RawRwLock, RawThreadId};
pub use reentrant::{const_reentrant_mutex, ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{
    const_rwlock, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
};

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

lock_identity!(RwLock, ReentrantMutex);

impl<R: MutexRaw, T: ?Sized> private::Sealed for GenericMutex<R, T> {}
impl<R: MutexRaw, T: ?Sized> LockIdentity for GenericMutex<R, T> {
    fn lock_info(&self) -> LockInfo {
        self.meta.info()
    }
}
