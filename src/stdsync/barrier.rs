//! `Barrier` with std's API, built as std's is, on lockcheck's mutex and
//! condition variable: everything each thread did before the barrier
//! happens before what every thread does after it.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

use crate::{Condvar, Mutex};

/// A barrier for a fixed number of threads, with `std::sync::Barrier`'s
/// API: each [`Barrier::wait`] blocks until that many threads wait, then
/// all go on, one of them told it is the leader.
///
/// ```
/// use lockcheck::stdsync::{Arc, Barrier};
/// let barrier = Arc::new(Barrier::new(2));
/// let b = Arc::clone(&barrier);
/// let t = std::thread::spawn(move || b.wait().is_leader());
/// let here = barrier.wait().is_leader();
/// let there = t.join().unwrap();
/// assert!(here != there, "exactly one leader");
/// ```
pub struct Barrier {
    state: Mutex<Arrivals>,
    all_arrived: Condvar,
    threads: usize,
}

// As std's: a panic in a waiting thread leaves the count as it was.
impl UnwindSafe for Barrier {}
impl RefUnwindSafe for Barrier {}

/// Who has arrived in the current round.
struct Arrivals {
    count: usize,
    /// Counts rounds, so that a thread woken late knows its round is over.
    round: usize,
}

/// Returned by [`Barrier::wait`]: whether this thread is the round's
/// leader (exactly one per round is).
pub struct BarrierWaitResult(bool);

impl Barrier {
    /// A barrier for `n` threads (0 counts as 1). Its lock, which reports
    /// name by where it was created, is created here: at the caller's line.
    #[track_caller]
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            state: Mutex::new(Arrivals { count: 0, round: 0 }),
            all_arrived: Condvar::new(),
            threads: n,
        }
    }

    /// Blocks until `n` threads wait on the barrier, then lets them all go
    /// on; the last to arrive is the leader. The barrier can be used again
    /// right away.
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let mut arrivals = self.state.lock();
        let round = arrivals.round;
        arrivals.count += 1;
        if arrivals.count < self.threads {
            self.all_arrived
                .wait_while(&mut arrivals, |a| a.round == round);
            BarrierWaitResult(false)
        } else {
            arrivals.count = 0;
            arrivals.round = arrivals.round.wrapping_add(1);
            self.all_arrived.notify_all();
            BarrierWaitResult(true)
        }
    }
}

impl BarrierWaitResult {
    /// Whether this thread is the leader of its round.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("is_leader", &self.0)
            .finish()
    }
}
