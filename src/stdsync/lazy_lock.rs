//! `LazyLock<T, F>` with std's API, on [`crate::stdsync::OnceLock`]: its
//! initialisation is checked the same way (a wait for another thread's is
//! in the wait-for graph; one that dereferences its own `LazyLock` is a
//! self-deadlock reported at the call).

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};

use crate::stdsync::OnceLock;

/// A value initialised on first access, with `std::sync::LazyLock`'s API.
/// If the initialisation panics, the `LazyLock` is poisoned: every later
/// access panics too, as std's.
///
/// ```
/// use lockcheck::stdsync::LazyLock;
/// static PRIMES: LazyLock<Vec<u32>> = LazyLock::new(|| vec![2, 3, 5, 7]);
/// assert_eq!(PRIMES.len(), 4);
/// assert_eq!(LazyLock::get(&PRIMES), Some(&vec![2, 3, 5, 7]));
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    /// The initialiser until it runs; taken by the one initialisation (so a
    /// panic in it leaves `None`: poisoned).
    init: UnsafeCell<Option<F>>,
}

// SAFETY: `init` is reached through `&self` only inside the cell's
// initialisation, which one thread at a time runs (the cell's lock and
// std's cell both see to it), and it is moved out there, hence `F: Send`;
// the value is shared as a `OnceLock<T>`'s is.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

// As std's.
impl<T: RefUnwindSafe + UnwindSafe, F: UnwindSafe> RefUnwindSafe for LazyLock<T, F> {}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A new `LazyLock` that `f` initialises on first access. Its lock,
    /// which reports name by where it was created, is created here: at the
    /// caller's line.
    #[track_caller]
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            cell: OnceLock::new(),
            init: UnsafeCell::new(Some(f)),
        }
    }

    /// The value, initialising it first if needed; waits for an
    /// initialisation running on another thread.
    ///
    /// # Panics
    /// If the initialisation panicked (now or before).
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        this.cell.get_or_init(|| {
            // SAFETY: this closure is the cell's initialisation, which one
            // thread at a time runs, once per attempt; nothing else reaches
            // `init` through a shared borrow.
            let init = unsafe { (*this.init.get()).take() };
            match init {
                Some(f) => f(),
                None => panic_poisoned(),
            }
        })
    }

    /// The value through a unique borrow, initialising it first if needed.
    ///
    /// # Panics
    /// If the initialisation panicked (now or before).
    pub fn force_mut(this: &mut LazyLock<T, F>) -> &mut T {
        if this.cell.cell.get().is_none() {
            let value = match this.init.get_mut().take() {
                Some(f) => f(),
                None => panic_poisoned(),
            };
            // The borrow is unique: no one else can have set the cell.
            let _ = this.cell.cell.set(value);
        }
        match this.cell.cell.get_mut() {
            Some(value) => value,
            None => unreachable!("the cell was initialised just above"),
        }
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value if it is initialised, without initialising it.
    pub fn get(this: &LazyLock<T, F>) -> Option<&T> {
        this.cell.get()
    }

    /// The value through a unique borrow if it is initialised.
    pub fn get_mut(this: &mut LazyLock<T, F>) -> Option<&mut T> {
        this.cell.get_mut()
    }
}

#[cold]
#[inline(never)]
fn panic_poisoned() -> ! {
    panic!("LazyLock instance has previously been poisoned")
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T, F: FnOnce() -> T> DerefMut for LazyLock<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        LazyLock::force_mut(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    #[track_caller]
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match self.cell.get() {
            Some(value) => d.field(value),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}
