//! Mapped guards: a guard's hold, narrowed by `map`/`try_map` to a part of
//! the value. The hold stays on the locking thread's held locks, and a
//! mapped guard's drop releases it through the same path as the guard it
//! came from, then unlocks through the raw mapped guard (lock_api's).

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr;

use crate::event::{AcquireMode, LockKind};
use crate::runtime::acquire;
use crate::runtime::lock_meta::LockMeta;
use crate::sync::fmt::guard_fmt;
use crate::sync::mutex_raw::MutexRaw;
use crate::sync::not_send::NotSend;
use crate::sync::raw::RawMutex;

/// The hold a mapped guard carries: its lock's meta, how it was taken and
/// whether it is tracked. Released (before the raw unlock) by the guard's
/// `Drop`.
struct Hold<'a> {
    meta: &'a LockMeta,
    kind: LockKind,
    mode: AcquireMode,
    tracked: bool,
}

impl Hold<'_> {
    fn release(&self) {
        acquire::release_guard(self.meta, self.kind, self.mode, self.tracked);
    }
}

/// Defines a mapped guard over lock_api's mapped guard `$raw` (a type
/// alias taking the lifetime, `$name`'s generic raw lock if it has one, and
/// the value type), with its `map`/`try_map` (`$r` is `&` or `&mut`, the
/// access the guard gives), `Drop`, `Deref`, `Debug` and `Display`.
macro_rules! mapped_guard {
    ($(#[$doc:meta])* $name:ident $(<$g:ident: $bound:path>)?, $raw:ident, [$($r:tt)+], $ptr:ty) => {
        $(#[$doc])*
        #[must_use = "if unused the lock will immediately unlock"]
        pub struct $name<'a, $($g: $bound,)? T: ?Sized> {
            hold: Hold<'a>,
            inner: $raw<'a, $($g,)? T>,
            _not_send: NotSend,
        }

        impl<'a, $($g: $bound,)? T: ?Sized> $name<'a, $($g,)? T> {
            /// The mapped guard for `hold`, which `inner` now unlocks.
            pub(crate) fn holding(
                meta: &'a LockMeta,
                kind: LockKind,
                mode: AcquireMode,
                tracked: bool,
                inner: $raw<'a, $($g,)? T>,
            ) -> Self {
                $name {
                    hold: Hold { meta, kind, mode, tracked },
                    inner,
                    _not_send: NotSend::default(),
                }
            }

            /// Narrows the guard to a part of the value; the lock stays
            /// held (and tracked) until the new guard is dropped. If `f`
            /// panics, the guard is dropped: released and unlocked.
            pub fn map<U: ?Sized, F>(s: Self, f: F) -> $name<'a, $($g,)? U>
            where
                F: FnOnce($($r)+ T) -> $($r)+ U,
            {
                match Self::try_map_or_err(s, |v| Ok::<_, std::convert::Infallible>(f(v))) {
                    Ok(mapped) => mapped,
                    Err((_, never)) => match never {},
                }
            }

            /// As [`Self::map`] where `f` may find no part: then the guard
            /// comes back unchanged.
            pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<$name<'a, $($g,)? U>, Self>
            where
                F: FnOnce($($r)+ T) -> Option<$($r)+ U>,
            {
                Self::try_map_or_err(s, |v| f(v).ok_or(())).map_err(|(s, ())| s)
            }

            /// As [`Self::try_map`], where `f` gives an error instead of `None`:
            /// then the guard comes back unchanged, with the error.
            #[allow(unused_mut, reason = "`s` is borrowed mutably for the `&mut` guards")]
            pub fn try_map_or_err<U: ?Sized, F, E>(mut s: Self, f: F) -> Result<$name<'a, $($g,)? U>, (Self, E)>
            where
                F: FnOnce($($r)+ T) -> Result<$($r)+ U, E>,
            {
                let data = match f(mapped_guard!(@borrow s, $($r)+)).map(|d| d as $ptr) {
                    Ok(data) => data,
                    Err(e) => return Err((s, e)),
                };
                let (hold, inner) = s.into_parts();
                // SAFETY: `data` points into the value the lock still
                // guards, and the new guard holds the lock as long.
                let inner = <$raw<'a, $($g,)? T>>::map(inner, |_| unsafe { mapped_guard!(@deref data, $($r)+) });
                Ok($name { hold, inner, _not_send: NotSend::default() })
            }

            /// Unlocks fairly: a waiting thread takes the lock first.
            /// Released through the detectors like a drop.
            pub fn unlock_fair(s: Self) {
                let (hold, inner) = s.into_parts();
                hold.release();
                <$raw<'a, $($g,)? T>>::unlock_fair(inner);
            }

            fn into_parts(self) -> (Hold<'a>, $raw<'a, $($g,)? T>) {
                let this = ManuallyDrop::new(self);
                // SAFETY: `this` is never dropped, so each field is moved
                // out once.
                unsafe { (ptr::read(&this.hold), ptr::read(&this.inner)) }
            }
        }

        impl<$($g: $bound,)? T: ?Sized> Drop for $name<'_, $($g,)? T> {
            #[inline]
            fn drop(&mut self) {
                // Then the raw guard, a field, unlocks (even if this panics).
                self.hold.release();
            }
        }

        impl<$($g: $bound,)? T: ?Sized> Deref for $name<'_, $($g,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.inner
            }
        }

        guard_fmt!(impl[$($g: $bound,)?] for $name<'_, $($g,)? T>);
    };
    (@borrow $s:ident, &) => { &*$s };
    (@borrow $s:ident, &mut) => { &mut *$s };
    (@deref $d:ident, &) => { &*$d };
    (@deref $d:ident, &mut) => { &mut *$d };
}

/// lock_api's mapped guards, by the names the macro takes: a mutex's over
/// its raw mutex, the others over lockcheck's one raw lock of their kind.
type RawMappedMutex<'a, R, T> = lock_api::MappedMutexGuard<'a, <R as MutexRaw>::Lock, T>;
use crate::raw::MappedRwLockWriteGuard as RawMappedWrite;
use crate::raw::{
    MappedReentrantMutexGuard as RawMappedReentrant, MappedRwLockReadGuard as RawMappedRead,
};

mapped_guard!(
    /// A mutex guard ([`GenericMutexGuard`](crate::sync::GenericMutexGuard))
    /// narrowed by `map` to a part of the value; used by its names,
    /// [`MappedMutexGuard`] and
    /// [`MappedFairMutexGuard`](crate::MappedFairMutexGuard). Holds the
    /// mutex until dropped, and keeps the hold on the locking thread's
    /// held locks meanwhile. Not `Send`; `Sync` where `T` is, as
    /// parking_lot's.
    GenericMappedMutexGuard<R: MutexRaw>,
    RawMappedMutex,
    [&mut],
    *mut U
);

/// A [`MutexGuard`](crate::MutexGuard) narrowed by `map` to a part of the
/// value; see [`GenericMappedMutexGuard`].
///
/// ```
/// use lockcheck::{Mutex, MutexGuard};
/// let pair = Mutex::new((1, 2));
/// let mut second = MutexGuard::map(pair.lock(), |p| &mut p.1);
/// *second += 1;
/// drop(second);
/// assert_eq!(*pair.lock(), (1, 3));
/// ```
pub type MappedMutexGuard<'a, T> = GenericMappedMutexGuard<'a, RawMutex, T>;

mapped_guard!(
    /// A [`ReentrantMutexGuard`](crate::ReentrantMutexGuard) narrowed by
    /// `map`: holds its level of the mutex until dropped. Not `Send`;
    /// `Sync` where `T` is.
    MappedReentrantMutexGuard,
    RawMappedReentrant,
    [&],
    *const U
);

mapped_guard!(
    /// An [`RwLockReadGuard`](crate::RwLockReadGuard) narrowed by `map`:
    /// holds the read until dropped. Not `Send`; `Sync` where `T` is.
    MappedRwLockReadGuard,
    RawMappedRead,
    [&],
    *const U
);

mapped_guard!(
    /// An [`RwLockWriteGuard`](crate::RwLockWriteGuard) narrowed by `map`:
    /// holds the write until dropped. Not `Send`; `Sync` where `T` is.
    MappedRwLockWriteGuard,
    RawMappedWrite,
    [&mut],
    *mut U
);

impl<R: MutexRaw, T: ?Sized> DerefMut for GenericMappedMutexGuard<'_, R, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized> DerefMut for MappedRwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<'a, T: ?Sized> MappedRwLockReadGuard<'a, T> {
    /// [`Self::try_map_or_err`] by the name lock_api 0.4 gives it on this
    /// guard alone (every other guard has `try_map_or_err`).
    pub fn try_map_or_else<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockReadGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        Self::try_map_or_err(s, f)
    }
}
