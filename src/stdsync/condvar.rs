//! `Condvar` with std's API (a wait takes the guard and gives it back in a
//! `LockResult`), waiting through lockcheck's [`crate::Condvar`]: the mutex
//! leaves the thread's held locks for the wait, and what the notifier did
//! happens before the woken wait returns.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{LockResult, PoisonError, WaitTimeoutResult};
use std::time::{Duration, Instant};

use crate::stdsync::mutex::MutexGuard;

/// A condition variable with `std::sync::Condvar`'s API, for
/// [`crate::stdsync::Mutex`] guards. A wait returns `Err` (carrying the
/// guard) when the mutex is poisoned.
///
/// ```
/// use lockcheck::stdsync::{Arc, Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = Arc::clone(&pair);
/// let t = std::thread::spawn(move || {
///     *pair2.0.lock().unwrap() = true;
///     pair2.1.notify_one();
/// });
/// let (ready, cvar) = &*pair;
/// let ready = cvar.wait_while(ready.lock().unwrap(), |r| !*r).unwrap();
/// assert!(*ready);
/// drop(ready);
/// t.join().unwrap();
/// ```
pub struct Condvar {
    inner: crate::Condvar,
}

// As std's: the state behind a condition variable is its mutex's, which
// tells of a panic by its poison.
impl UnwindSafe for Condvar {}
impl RefUnwindSafe for Condvar {}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl Condvar {
    /// A new condition variable; reports name it by where it was created.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            inner: crate::Condvar::new(),
        }
    }

    /// A new condition variable with a name for reports.
    #[track_caller]
    pub const fn named(name: &'static str) -> Self {
        Condvar {
            inner: crate::Condvar::named(name),
        }
    }

    /// Names the condition variable with a name made at run time
    /// (interned); a name given at creation is kept.
    pub fn with_name(self, name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Condvar {
            inner: self.inner.with_name(name),
        }
    }

    /// Releases the guard's mutex, waits for a notification (or a spurious
    /// wake-up), re-acquires the mutex. `Err` (carrying the guard) if the
    /// mutex is poisoned when the wait returns.
    #[track_caller]
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.inner.wait(&mut guard.inner);
        poisoned_if(guard.lock_is_poisoned(), guard)
    }

    /// Waits until `condition` is false, checking it first, as std's.
    #[track_caller]
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// As [`Self::wait`], giving up after `dur`; the result tells whether
    /// it timed out.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let timed_out = self.inner.wait_for(&mut guard.inner, dur).timed_out();
        let poisoned = guard.lock_is_poisoned();
        poisoned_if(poisoned, (guard, timeout_result(timed_out)))
    }

    /// As [`Self::wait_timeout`], in milliseconds, as std's deprecated
    /// method: the flag is whether the wait did *not* time out.
    #[deprecated(note = "replaced by `std::sync::Condvar::wait_timeout`")]
    #[track_caller]
    pub fn wait_timeout_ms<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        ms: u32,
    ) -> LockResult<(MutexGuard<'a, T>, bool)> {
        let result = self.wait_timeout(guard, Duration::from_millis(u64::from(ms)));
        crate::stdsync::poison::map_result(result, |(guard, timeout)| (guard, !timeout.timed_out()))
    }

    /// Waits until `condition` is false, giving up after `dur`, as std's:
    /// the result tells whether the time ran out with the condition still
    /// true.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let start = Instant::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, timeout_result(false)));
            }
            let Some(left) = dur.checked_sub(start.elapsed()) else {
                return Ok((guard, timeout_result(true)));
            };
            guard = self.wait_timeout(guard, left)?.0;
        }
    }

    /// Wakes one waiting thread, if any. What the notifier did happens
    /// before the woken wait returns.
    #[track_caller]
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiting thread.
    #[track_caller]
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// `value`, as an `Err` if its mutex is poisoned.
fn poisoned_if<T>(poisoned: bool, value: T) -> LockResult<T> {
    if poisoned {
        Err(PoisonError::new(value))
    } else {
        Ok(value)
    }
}

/// std's own `WaitTimeoutResult` saying `timed_out`. It has no public
/// constructor, so each of its two values is taken, once, from a wait on a
/// private std condition variable whose outcome is certain: a zero wait
/// with a condition that stays true times out; one whose condition is
/// already false does not (std checks the condition before it waits).
/// Being std's own type, it is the `WaitTimeoutResult` that code written
/// against `std::sync` names.
fn timeout_result(timed_out: bool) -> WaitTimeoutResult {
    static BOTH: std::sync::OnceLock<[WaitTimeoutResult; 2]> = std::sync::OnceLock::new();
    let both = BOTH.get_or_init(|| {
        let mutex = std::sync::Mutex::new(());
        let condvar = std::sync::Condvar::new();
        let outcome = |still_waiting: bool| {
            let guard = mutex.lock().unwrap_or_else(PoisonError::into_inner);
            let waited = condvar.wait_timeout_while(guard, Duration::ZERO, |()| still_waiting);
            match waited {
                Ok((_, result)) => result,
                Err(poisoned) => poisoned.into_inner().1,
            }
        };
        [outcome(false), outcome(true)]
    });
    both[usize::from(timed_out)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_timeout_results_say_what_they_stand_for() {
        assert!(!timeout_result(false).timed_out());
        assert!(timeout_result(true).timed_out());
    }
}
