//! `lockcheck::tokio::Semaphore`: tokio's semaphore, carrying
//! happens-before.
//!
//! A permit has no owner (any task may add permits, a permit may be
//! forgotten), so a semaphore is no node of the lock-order graph and its
//! waits are not in the wait-for graph: what lockcheck adds is the order
//! it gives memory. Every release of a permit happens before every later
//! acquisition (tokio's semaphore is one atomic word, changed by
//! read-modify-writes), so data handed over under a permit is no race
//! between `Shared` accesses.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

pub use tokio::sync::{AcquireError, TryAcquireError};

use crate::event::{AcquireMode, LockKind};
use crate::runtime::hb;
use crate::runtime::lock_meta::LockMeta;

/// tokio's `Semaphore` with happens-before from each release of permits
/// to each later acquisition.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slots = lockcheck::tokio::Semaphore::new(2);
/// let a = slots.acquire().await.unwrap();
/// let b = slots.try_acquire().unwrap();
/// assert!(slots.try_acquire().is_err());
/// drop((a, b));
/// assert_eq!(slots.available_permits(), 2);
/// # }
/// ```
pub struct Semaphore {
    /// Only the clocks: a semaphore never gets an id or enters a graph.
    clocks: LockMeta,
    inner: tokio::sync::Semaphore,
}

impl Semaphore {
    /// The most permits a semaphore may hold, as tokio's.
    pub const MAX_PERMITS: usize = tokio::sync::Semaphore::MAX_PERMITS;

    /// A semaphore with `permits` permits.
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            clocks: LockMeta::new(LockKind::AsyncRwLock, None, Location::caller()),
            inner: tokio::sync::Semaphore::new(permits),
        }
    }

    /// The permits available now.
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }

    /// Adds `n` permits: a release, ordered before later acquisitions.
    pub fn add_permits(&self, n: usize) {
        self.released();
        self.inner.add_permits(n);
    }

    /// Takes up to `n` available permits away; returns how many.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.inner.forget_permits(n)
    }

    /// Closes the semaphore: pending and later acquisitions fail.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether the semaphore is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Acquires a permit.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Acquires `n` permits at once.
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.inner.acquire_many(n).await?.forget();
        Ok(self.permit(n))
    }

    /// A permit if one is available now.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// `n` permits if they are available now.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.inner.try_acquire_many(n)?.forget();
        Ok(self.permit(n))
    }

    /// A permit that owns a handle to the semaphore.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// `n` permits that own a handle to the semaphore.
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.inner.acquire_many(n).await?.forget();
        self.acquired();
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// [`Self::acquire_owned`] if a permit is available now.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`Self::acquire_many_owned`] if the permits are available now.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.inner.try_acquire_many(n)?.forget();
        self.acquired();
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    fn permit(&self, n: u32) -> SemaphorePermit<'_> {
        self.acquired();
        SemaphorePermit {
            sem: self,
            permits: n as usize,
        }
    }

    /// Every release before, ordered before this acquisition.
    fn acquired(&self) {
        if hb::active() {
            hb::acquired(&self.clocks, AcquireMode::Exclusive);
        }
    }

    /// A release: joined into what later acquisitions are ordered after
    /// (as readers' releases of a lock are, so that none is lost).
    fn released(&self) {
        if hb::active() {
            hb::releasing(&self.clocks, AcquireMode::Read);
        }
    }

    /// Gives `permits` back (a permit's drop).
    fn give_back(&self, permits: usize) {
        if permits != 0 {
            self.add_permits(permits);
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

/// Permits of a [`Semaphore`]; given back when dropped.
#[must_use]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    /// Forgets the permits: they are not given back.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Takes `other`'s permits into this one (of the same semaphore).
    ///
    /// # Panics
    /// If `other` is of another semaphore, as tokio's.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a permit of their own, if this one has
    /// that many.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }

    /// The number of permits held.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.give_back(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits of a [`Semaphore`] through an `Arc` (`acquire_owned`); given
/// back when dropped.
#[must_use]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Forgets the permits: they are not given back.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// Takes `other`'s permits into this one (of the same semaphore).
    ///
    /// # Panics
    /// If `other` is of another semaphore, as tokio's.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging permits from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a permit of their own, if this one has
    /// that many.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// The semaphore the permits are of.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// The number of permits held.
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.give_back(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
