//! `Shared<T>`: a shared variable whose every access is checked for data
//! races under happens-before.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::event::{AccessKind, Event, LockInfo, Name, Site, VarId, VarInfo};
use crate::runtime::hb;
use crate::runtime::recorder;
use crate::sync::LockIdentity;

// The checks of an access (happens-before, lockset, guarded-by), and the
// shadow state they keep in the slot: compiled with the `checks` feature
// only; without it an access is the slot's lock and the value.
#[cfg(feature = "checks")]
mod checked;
#[cfg(feature = "checks")]
use checked::Shadows;

static NEXT_VAR: AtomicU64 = AtomicU64::new(1);

struct Slot<T> {
    value: T,
    #[cfg(feature = "checks")]
    shadows: Shadows,
}

/// A shared variable whose reads and writes are checked for data races: two
/// accesses from different threads, at least one a write, that no
/// synchronisation orders (a lock released then acquired, a spawn, a join, a
/// message, a notify). Each access is atomic on its own — the value is never
/// torn — but [`Shared::update`] is a read *then* a write, the `n = n + 1` that
/// loses updates when two threads run it at once.
///
/// ```
/// use std::sync::Arc;
/// use lockcheck::{Mutex, Shared};
/// let hits = Arc::new(Shared::named("hits", 0u64));
/// let lock = Arc::new(Mutex::named("hits lock", ()));
/// let (h, l) = (hits.clone(), lock.clone());
/// let t = lockcheck::thread::spawn(move || {
///     let _g = l.lock();
///     h.update(|n| n + 1);
/// });
/// {
///     let _g = lock.lock();
///     hits.update(|n| n + 1);
/// }
/// t.join().unwrap();
/// assert_eq!(hits.get(), 2);
/// ```
pub struct Shared<T> {
    var: Identity,
    guard: Option<LockInfo>,
    slot: crate::raw::Mutex<Slot<T>>,
}

impl<T> Shared<T> {
    /// A new shared variable; its creation site names it in reports.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::make(None, value)
    }

    /// A new shared variable with a name for reports.
    #[track_caller]
    pub fn named(name: &'static str, value: T) -> Self {
        Self::make(Some(name), value)
    }

    #[track_caller]
    fn make(name: Option<&'static str>, value: T) -> Self {
        hb::activate();
        crate::runtime::announce::once();
        Shared {
            var: Identity(VarInfo {
                id: VarId(NEXT_VAR.fetch_add(1, Relaxed)),
                name: name.map(Name::Static),
                created: Site::caller(),
            }),
            guard: None,
            slot: crate::raw::Mutex::new(Slot {
                value,
                #[cfg(feature = "checks")]
                shadows: Shadows::default(),
            }),
        }
    }

    /// Declares the lock that guards this variable (like Clang's
    /// `GUARDED_BY`): every access must hold it, and one that does not is
    /// reported as a data race at once, whether or not another thread was
    /// there this time.
    ///
    /// ```
    /// let lock = lockcheck::Mutex::named("balance lock", ());
    /// let balance = lockcheck::Shared::named("balance", 0).guarded_by(&lock);
    /// let _g = lock.lock();
    /// balance.set(10);
    /// ```
    pub fn guarded_by(mut self, lock: &impl LockIdentity) -> Self {
        self.guard = Some(lock.lock_info());
        self
    }

    /// Reads the value, returning a clone.
    #[track_caller]
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.access(AccessKind::Read, false, Location::caller(), |v| v.clone())
    }

    /// Reads the value through a closure, without cloning it.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.access(AccessKind::Read, false, Location::caller(), |v| f(v))
    }

    /// Writes a new value.
    #[track_caller]
    pub fn set(&self, value: T) {
        self.access(AccessKind::Write, false, Location::caller(), |v| *v = value)
    }

    /// Changes the value in place: one write (a map insert, a push).
    #[track_caller]
    pub fn modify<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.access(AccessKind::Write, false, Location::caller(), f)
    }

    /// Reads the value, computes a new one, writes it, and returns it: a read
    /// then a write, deliberately *not* atomic — the `n = n + 1` of the
    /// lessons. Two threads updating without a common lock lose updates, and
    /// lockcheck reports it as a lost update whether or not one was lost.
    #[track_caller]
    pub fn update(&self, f: impl FnOnce(&T) -> T) -> T
    where
        T: Clone,
    {
        let site = Location::caller();
        let old = self.access(AccessKind::Read, true, site, |v| v.clone());
        let new = f(&old);
        self.access(AccessKind::Write, true, site, |v| *v = new.clone());
        new
    }

    /// The value, through a unique borrow: no other thread can access it.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.slot.get_mut().value
    }

    /// Consumes the variable, returning its value.
    pub fn into_inner(self) -> T {
        self.slot.into_inner().value
    }

    /// The name given at creation, if any.
    pub fn name(&self) -> Option<&str> {
        self.var.name.as_deref()
    }

    /// With the `checks` feature off, an access is the value under the
    /// slot's lock.
    #[cfg(not(feature = "checks"))]
    fn access<R>(
        &self,
        _kind: AccessKind,
        _in_update: bool,
        _site: &'static Location<'static>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        f(&mut self.slot.lock().value)
    }
}

/// A variable's identity. Dropping it (with its `Shared`, or after
/// `into_inner`) tells a recorded trace that the variable is gone.
struct Identity(VarInfo);

impl std::ops::Deref for Identity {
    type Target = VarInfo;
    fn deref(&self) -> &VarInfo {
        &self.0
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        if recorder::on() {
            let var = self.0.clone();
            recorder::record_here(|thread| Event::VarDropped { thread, var });
        }
    }
}

impl<T: Default> Default for Shared<T> {
    #[track_caller]
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Shared");
        if let Some(name) = &self.var.name {
            d.field("name", &name.as_str());
        }
        d.field("value", &self.slot.lock().value).finish()
    }
}
