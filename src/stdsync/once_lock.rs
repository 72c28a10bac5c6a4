//! `OnceLock<T>` with std's API. As for [`crate::stdsync::Once`], the
//! initialisation runs under a lockcheck mutex of the cell's own: waiting
//! for another thread's initialisation is a wait in the wait-for graph,
//! and an initialisation that touches its own cell is a self-deadlock
//! reported at the call. std's `OnceLock` underneath holds the value.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use crate::stdsync::handoff::Published;

/// A cell written once, with `std::sync::OnceLock`'s API. What the
/// initialiser did happens before every read that finds the value.
///
/// ```
/// use lockcheck::stdsync::OnceLock;
/// static CONFIG: OnceLock<String> = OnceLock::new();
/// let config = CONFIG.get_or_init(|| "debug".to_owned());
/// assert_eq!(config, "debug");
/// assert_eq!(CONFIG.set("release".to_owned()), Err("release".to_owned()));
/// ```
pub struct OnceLock<T> {
    pub(crate) cell: std::sync::OnceLock<T>,
    /// Held by the thread that initialises the cell.
    running: crate::Mutex<()>,
    done: Published,
}

// As std's.
impl<T: RefUnwindSafe + UnwindSafe> RefUnwindSafe for OnceLock<T> {}
impl<T: UnwindSafe> UnwindSafe for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// A new empty cell. Its lock, which reports name by where it was
    /// created, is created here: at the caller's line.
    #[track_caller]
    pub const fn new() -> Self {
        OnceLock {
            cell: std::sync::OnceLock::new(),
            running: crate::Mutex::new(()),
            done: Published::new(),
        }
    }

    /// The value, if the cell is initialised.
    pub fn get(&self) -> Option<&T> {
        let value = self.cell.get();
        if value.is_some() {
            self.done.observe();
        }
        value
    }

    /// The value through a unique borrow, if the cell is initialised.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.cell.get_mut()
    }

    /// Blocks until the cell is initialised. An initialisation running on
    /// another thread is waited for as a lock (in the wait-for graph); one
    /// that has not started yet is waited for by std's cell, out of
    /// lockcheck's sight.
    #[track_caller]
    pub fn wait(&self) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        drop(self.running.lock());
        let value = self.cell.wait();
        self.done.observe();
        value
    }

    /// Initialises the cell with `value`; `Err(value)` if it already was.
    /// Waits for an initialisation in progress.
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        if self.get().is_some() {
            return Err(value);
        }
        let _running = self.running.lock();
        if self.cell.get().is_some() {
            return Err(value);
        }
        // Every initialisation holds `running`: no one else can be setting
        // the cell, so the value becomes visible after this publication.
        self.done.publish();
        self.cell.set(value)
    }

    /// The value, initialising the cell with `f` first if it is empty. If
    /// `f` panics, the cell stays empty and the panic goes on. `f` touching
    /// this same cell is reported as a self-deadlock at that call (std
    /// leaves the outcome unspecified: it deadlocks or panics).
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        let _running = self.running.lock();
        self.cell.get_or_init(|| {
            let value = f();
            self.done.publish();
            value
        })
    }

    /// Consumes the cell, returning its value if it was initialised.
    pub fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.cell.take()
    }
}

impl<T> Default for OnceLock<T> {
    #[track_caller]
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(value) => d.field(value),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    #[track_caller]
    fn clone(&self) -> Self {
        let cell = OnceLock::new();
        if let Some(value) = self.get() {
            // A fresh cell, not shared yet: the set cannot fail.
            let _ = cell.cell.set(value.clone());
        }
        cell
    }
}

impl<T> From<T> for OnceLock<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        let cell = OnceLock::new();
        // A fresh cell, not shared yet: the set cannot fail.
        let _ = cell.cell.set(value);
        cell
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}
