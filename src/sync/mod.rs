//! Wrapper locks: parking_lot's types and API, every acquisition checked.

/// What every wrapper lock shares with parking_lot's API: construction
/// (recording the creation site, its class), naming, and the accessors that
/// need no locking.
macro_rules! lock_basics {
    ($ty:ident, $inner:ident, $kind:expr, $what:literal) => {
        impl<T> $ty<T> {
            #[doc = concat!("A new unlocked ", $what, "; its creation site is its class.")]
            #[track_caller]
            pub const fn new(value: T) -> Self {
                $ty {
                    meta: $crate::runtime::lock_meta::LockMeta::new(
                        $kind,
                        None,
                        ::std::panic::Location::caller(),
                    ),
                    inner: crate::raw::$inner::new(value),
                }
            }

            #[doc = concat!("A new unlocked ", $what, " with a name for reports (and its class).")]
            #[track_caller]
            pub const fn named(name: &'static str, value: T) -> Self {
                $ty {
                    meta: $crate::runtime::lock_meta::LockMeta::new(
                        $kind,
                        Some(name),
                        ::std::panic::Location::caller(),
                    ),
                    inner: crate::raw::$inner::new(value),
                }
            }

            /// Names the lock with a name made at run time (names are
            /// interned: each distinct name is stored once, for the life of
            /// the process).
            pub fn with_name(mut self, name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
                self.meta.set_name(name.into());
                self
            }

            /// Consumes the lock, returning its value.
            pub fn into_inner(self) -> T {
                self.inner.into_inner()
            }
        }

        impl<T: ?Sized> $ty<T> {
            /// The kind, a constant: the fast path folds away what does not
            /// apply to it (re-entry counts, modes).
            pub(crate) const KIND: $crate::event::LockKind = $kind;

            /// Whether some thread holds the lock now.
            pub fn is_locked(&self) -> bool {
                self.inner.is_locked()
            }

            /// The name given at creation, if any.
            pub fn name(&self) -> Option<&'static str> {
                self.meta.name()
            }

            /// The value, through a unique borrow: no locking needed.
            pub fn get_mut(&mut self) -> &mut T {
                self.inner.get_mut()
            }
        }

        impl<T: Default> Default for $ty<T> {
            #[track_caller]
            fn default() -> Self {
                $ty::new(T::default())
            }
        }
    };
}

/// A blocking acquisition through the runtime's protocol, from the raw
/// lock's `try_*`, timed `try_*_for` and blocking methods.
macro_rules! blocking {
    ($self:ident, $mode:expr, $try_now:ident, $try_for:ident, $block:ident) => {
        $crate::runtime::acquire::acquire(
            &$self.meta,
            Self::KIND,
            $mode,
            ::std::panic::Location::caller(),
            $crate::runtime::acquire::RawAcquire {
                try_now: || $self.inner.$try_now(),
                try_for: |t| $self.inner.$try_for(t),
                block: || $self.inner.$block(),
            },
        )
    };
}

/// A blocking acquisition in two parts: the fast path, inline, and `$slow`,
/// a method of the wrapper's own that runs the whole protocol
/// ([`blocking!`]) and builds the guard itself. Built so, the fallback is the
/// wrapper's last call and the fast path needs no stack frame: a frame's
/// stores would wait on the raw lock's atomics (uncontended, a fifth of the
/// whole cost). `$guard` makes the guard from the raw guard and whether the
/// hold is tracked. With the `checks` feature off, only the raw `$block` is
/// left.
macro_rules! fast_or {
    ($self:ident, $mode:expr, $try_now:ident, $block:ident, $slow:ident, $guard:expr) => {
        if !cfg!(feature = "checks") {
            $guard($self.inner.$block(), false)
        } else {
            match $crate::runtime::acquire::acquire_fast_only(
                &$self.meta,
                Self::KIND,
                $mode,
                ::std::panic::Location::caller(),
                &|| $self.inner.$try_now(),
            ) {
                Some(inner) => $guard(inner, true),
                None => $self.$slow(),
            }
        }
    };
}

mod arc_guard;
mod barrier;
mod condvar;
mod fair_mutex;
mod mapped;
pub mod mpsc;
mod mutex;
mod not_send;
mod once;
mod raw;
#[cfg(feature = "parking_lot_013")]
pub(crate) mod raw_05;
mod reentrant;
mod relock;
mod rwlock;
mod unchecked;

pub use arc_guard::{
    ArcMutexGuard, ArcMutexRaw, ArcReentrantMutexGuard, ArcRwLockReadGuard,
    ArcRwLockUpgradableReadGuard, ArcRwLockWriteGuard,
};
pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use fair_mutex::{const_fair_mutex, FairMutex, FairMutexGuard};
pub use mapped::{
    MappedFairMutexGuard, MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard,
    MappedRwLockWriteGuard,
};
pub use mutex::{const_mutex, Mutex, MutexGuard};
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

lock_identity!(Mutex, FairMutex, RwLock, ReentrantMutex);
