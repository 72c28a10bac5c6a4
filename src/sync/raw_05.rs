//! lock_api 0.5's raw-lock traits for lockcheck's raw locks, so that
//! parking_lot 0.13's shape (`lockcheck::parking_lot_013`, whose
//! `lock_api` is 0.5) is checked through lock_api's generic types too.
//!
//! lock_api 0.5 hands out a guard token from every acquisition and takes
//! it back at the release. lockcheck's raw locks keep their state in the
//! lock and on the thread's held stack, as for lock_api 0.4, so the token
//! is stateless (`GuardNoSend`: the thread that locked must release).
//! Every method is the lock_api 0.4 one of the same name (see
//! `sync::raw`), checked the same way. lock_api 0.5's own methods are
//! `#[track_caller]`, and so are these: sites are the caller's lines
//! without a stack walk.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lock_api_05 as l5;

use crate::sync::raw::{RawFairMutex, RawMutex, RawRwLock, RawThreadId};

/// The stateless token of a hold.
type Token = l5::GuardNoSend;

fn token() -> Token {
    l5::GuardNoSend::new()
}

/// The token of a try that succeeded.
fn token_if(taken: bool) -> Option<Token> {
    taken.then(token)
}

macro_rules! raw_mutex_05 {
    ($ty:ty) => {
        // SAFETY: each method is the lock_api 0.4 one, whose guarantees it
        // passes on; the token carries no state.
        unsafe impl l5::RawMutex for $ty {
            const INIT: Self = <$ty as lock_api::RawMutex>::INIT;
            type Guard = Token;

            #[inline]
            #[track_caller]
            fn lock(&self) -> Token {
                lock_api::RawMutex::lock(self);
                token()
            }

            #[inline]
            #[track_caller]
            fn try_lock(&self) -> Option<Token> {
                token_if(lock_api::RawMutex::try_lock(self))
            }

            #[inline]
            unsafe fn unlock(&self, _guard: Token) {
                // SAFETY: the caller holds the lock (the token says so).
                unsafe { lock_api::RawMutex::unlock(self) }
            }

            #[inline]
            fn is_locked(&self) -> bool {
                lock_api::RawMutex::is_locked(self)
            }
        }

        // SAFETY: as above. `bump` keeps the trait's default: a fair
        // unlock and a lock, both through the detectors.
        unsafe impl l5::RawMutexFair for $ty {
            #[inline]
            unsafe fn unlock_fair(&self, _guard: Token) {
                // SAFETY: the caller holds the lock.
                unsafe { lock_api::RawMutexFair::unlock_fair(self) }
            }
        }

        // SAFETY: as above.
        unsafe impl l5::RawMutexTimed for $ty {
            type Duration = Duration;
            type Instant = Instant;

            #[inline]
            #[track_caller]
            fn try_lock_for(&self, timeout: Duration) -> Option<Token> {
                token_if(lock_api::RawMutexTimed::try_lock_for(self, timeout))
            }

            #[inline]
            #[track_caller]
            fn try_lock_until(&self, deadline: Instant) -> Option<Token> {
                token_if(lock_api::RawMutexTimed::try_lock_until(self, deadline))
            }
        }
    };
}

raw_mutex_05!(RawMutex);
raw_mutex_05!(RawFairMutex);

/// lock_api 0.5's reader-writer traits for `$ty`, whose lock_api 0.4 impls
/// they go through; `$shared` and `$try_shared` (and their timed forms)
/// are the 0.4 methods a shared lock is taken by (a recursive lock's are
/// the recursive ones).
macro_rules! raw_rwlock_05 {
    ($ty:ty, $shared:path, $try_shared:path, $shared_for:path, $shared_until:path) => {
        // SAFETY: each method is the lock_api 0.4 one, whose guarantees it
        // passes on; the tokens carry no state.
        unsafe impl ::lock_api_05::RawRwLock for $ty {
            const INIT: Self = <$ty as ::lock_api::RawRwLock>::INIT;
            type SharedGuard = ::lock_api_05::GuardNoSend;
            type ExclusiveGuard = ::lock_api_05::GuardNoSend;

            #[inline]
            #[track_caller]
            fn lock_shared(&self) -> ::lock_api_05::GuardNoSend {
                $shared(self);
                ::lock_api_05::GuardNoSend::new()
            }

            #[inline]
            #[track_caller]
            fn try_lock_shared(&self) -> Option<::lock_api_05::GuardNoSend> {
                $try_shared(self).then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            unsafe fn unlock_shared(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds a shared lock.
                unsafe { ::lock_api::RawRwLock::unlock_shared(self) }
            }

            #[inline]
            #[track_caller]
            fn lock_exclusive(&self) -> ::lock_api_05::GuardNoSend {
                ::lock_api::RawRwLock::lock_exclusive(self);
                ::lock_api_05::GuardNoSend::new()
            }

            #[inline]
            #[track_caller]
            fn try_lock_exclusive(&self) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLock::try_lock_exclusive(self)
                    .then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            unsafe fn unlock_exclusive(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds the exclusive lock.
                unsafe { ::lock_api::RawRwLock::unlock_exclusive(self) }
            }

            #[inline]
            fn is_locked(&self) -> bool {
                ::lock_api::RawRwLock::is_locked(self)
            }

            #[inline]
            fn is_locked_exclusive(&self) -> bool {
                ::lock_api::RawRwLock::is_locked_exclusive(self)
            }
        }

        // SAFETY: as above; the bumps keep the traits' defaults.
        unsafe impl ::lock_api_05::RawRwLockFair for $ty {
            #[inline]
            unsafe fn unlock_shared_fair(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds a shared lock.
                unsafe { ::lock_api::RawRwLockFair::unlock_shared_fair(self) }
            }

            #[inline]
            unsafe fn unlock_exclusive_fair(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds the exclusive lock.
                unsafe { ::lock_api::RawRwLockFair::unlock_exclusive_fair(self) }
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockDowngrade for $ty {
            #[inline]
            unsafe fn downgrade(
                &self,
                _guard: ::lock_api_05::GuardNoSend,
            ) -> ::lock_api_05::GuardNoSend {
                // SAFETY: the caller holds the exclusive lock.
                unsafe { ::lock_api::RawRwLockDowngrade::downgrade(self) };
                ::lock_api_05::GuardNoSend::new()
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockTimed for $ty {
            type Duration = ::std::time::Duration;
            type Instant = ::std::time::Instant;

            #[inline]
            #[track_caller]
            fn try_lock_shared_for(
                &self,
                timeout: ::std::time::Duration,
            ) -> Option<::lock_api_05::GuardNoSend> {
                $shared_for(self, timeout).then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            #[track_caller]
            fn try_lock_shared_until(
                &self,
                deadline: ::std::time::Instant,
            ) -> Option<::lock_api_05::GuardNoSend> {
                $shared_until(self, deadline).then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            #[track_caller]
            fn try_lock_exclusive_for(
                &self,
                timeout: ::std::time::Duration,
            ) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLockTimed::try_lock_exclusive_for(self, timeout)
                    .then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            #[track_caller]
            fn try_lock_exclusive_until(
                &self,
                deadline: ::std::time::Instant,
            ) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLockTimed::try_lock_exclusive_until(self, deadline)
                    .then(::lock_api_05::GuardNoSend::new)
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockUpgrade for $ty {
            type UpgradableGuard = ::lock_api_05::GuardNoSend;

            #[inline]
            #[track_caller]
            fn lock_upgradable(&self) -> ::lock_api_05::GuardNoSend {
                ::lock_api::RawRwLockUpgrade::lock_upgradable(self);
                ::lock_api_05::GuardNoSend::new()
            }

            #[inline]
            #[track_caller]
            fn try_lock_upgradable(&self) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLockUpgrade::try_lock_upgradable(self)
                    .then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            unsafe fn unlock_upgradable(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds the upgradable lock.
                unsafe { ::lock_api::RawRwLockUpgrade::unlock_upgradable(self) }
            }

            #[inline]
            #[track_caller]
            unsafe fn upgrade(
                &self,
                _guard: ::lock_api_05::GuardNoSend,
            ) -> ::lock_api_05::GuardNoSend {
                // SAFETY: the caller holds the upgradable lock.
                unsafe { ::lock_api::RawRwLockUpgrade::upgrade(self) };
                ::lock_api_05::GuardNoSend::new()
            }

            #[inline]
            unsafe fn try_upgrade(
                &self,
                guard: ::lock_api_05::GuardNoSend,
            ) -> Result<::lock_api_05::GuardNoSend, ::lock_api_05::GuardNoSend> {
                // SAFETY: the caller holds the upgradable lock.
                if unsafe { ::lock_api::RawRwLockUpgrade::try_upgrade(self) } {
                    Ok(::lock_api_05::GuardNoSend::new())
                } else {
                    Err(guard)
                }
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockUpgradeFair for $ty {
            #[inline]
            unsafe fn unlock_upgradable_fair(&self, _guard: ::lock_api_05::GuardNoSend) {
                // SAFETY: the caller holds the upgradable lock.
                unsafe { ::lock_api::RawRwLockUpgradeFair::unlock_upgradable_fair(self) }
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockUpgradeDowngrade for $ty {
            #[inline]
            unsafe fn downgrade_upgradable(
                &self,
                _guard: ::lock_api_05::GuardNoSend,
            ) -> ::lock_api_05::GuardNoSend {
                // SAFETY: the caller holds the upgradable lock.
                unsafe { ::lock_api::RawRwLockUpgradeDowngrade::downgrade_upgradable(self) };
                ::lock_api_05::GuardNoSend::new()
            }

            #[inline]
            unsafe fn downgrade_to_upgradable(
                &self,
                _guard: ::lock_api_05::GuardNoSend,
            ) -> ::lock_api_05::GuardNoSend {
                // SAFETY: the caller holds the exclusive lock.
                unsafe { ::lock_api::RawRwLockUpgradeDowngrade::downgrade_to_upgradable(self) };
                ::lock_api_05::GuardNoSend::new()
            }
        }

        // SAFETY: as above.
        unsafe impl ::lock_api_05::RawRwLockUpgradeTimed for $ty {
            #[inline]
            #[track_caller]
            fn try_lock_upgradable_for(
                &self,
                timeout: ::std::time::Duration,
            ) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLockUpgradeTimed::try_lock_upgradable_for(self, timeout)
                    .then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            #[track_caller]
            fn try_lock_upgradable_until(
                &self,
                deadline: ::std::time::Instant,
            ) -> Option<::lock_api_05::GuardNoSend> {
                ::lock_api::RawRwLockUpgradeTimed::try_lock_upgradable_until(self, deadline)
                    .then(::lock_api_05::GuardNoSend::new)
            }

            #[inline]
            unsafe fn try_upgrade_for(
                &self,
                guard: ::lock_api_05::GuardNoSend,
                timeout: ::std::time::Duration,
            ) -> Result<::lock_api_05::GuardNoSend, ::lock_api_05::GuardNoSend> {
                // SAFETY: the caller holds the upgradable lock.
                if unsafe { ::lock_api::RawRwLockUpgradeTimed::try_upgrade_for(self, timeout) } {
                    Ok(::lock_api_05::GuardNoSend::new())
                } else {
                    Err(guard)
                }
            }

            #[inline]
            unsafe fn try_upgrade_until(
                &self,
                guard: ::lock_api_05::GuardNoSend,
                deadline: ::std::time::Instant,
            ) -> Result<::lock_api_05::GuardNoSend, ::lock_api_05::GuardNoSend> {
                // SAFETY: the caller holds the upgradable lock.
                if unsafe { ::lock_api::RawRwLockUpgradeTimed::try_upgrade_until(self, deadline) } {
                    Ok(::lock_api_05::GuardNoSend::new())
                } else {
                    Err(guard)
                }
            }
        }
    };
}
pub(crate) use raw_rwlock_05;

raw_rwlock_05!(
    RawRwLock,
    lock_api::RawRwLock::lock_shared,
    lock_api::RawRwLock::try_lock_shared,
    lock_api::RawRwLockTimed::try_lock_shared_for,
    lock_api::RawRwLockTimed::try_lock_shared_until
);

// SAFETY: as lock_api 0.4's impl: a live thread's unique, nonzero id.
unsafe impl l5::GetThreadId for RawThreadId {
    const INIT: Self = RawThreadId;

    fn nonzero_thread_id(&self) -> NonZeroUsize {
        lock_api::GetThreadId::nonzero_thread_id(self)
    }
}
