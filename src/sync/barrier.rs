//! `Barrier`, with std's API: each [`Barrier::wait`] blocks until the
//! barrier's number of threads wait, then all go on, one of them told it
//! is the leader. Everything each thread did before the barrier happens
//! before what every thread does after it.
//!
//! A wait that has not been let through within a lock's grace period is a
//! wait in the wait-for graph, for the rest of the threads: if every thread
//! of the process ends up blocked (a barrier for three that two threads
//! reach), the deadlock is reported and broken (see `runtime::nobody_left`).
//! Its state is behind lockcheck's raw lock, which no report names and no
//! lock order sees: the barrier is the primitive.

use std::borrow::Cow;
use std::fmt;
use std::panic::{Location, RefUnwindSafe, UnwindSafe};
use std::time::Instant;

use crate::event::WaitKind;
use crate::event::{Event, Site};
use crate::runtime::acquire::{self, Waiting};
use crate::runtime::hb::{self, HandOff};
use crate::runtime::hold_and_wait::{Hazards, Waiters};
use crate::runtime::nobody_left;
use crate::runtime::recorder;
use crate::runtime::waits::{self, WaitMeta};

/// A barrier for a fixed number of threads, with `std::sync::Barrier`'s
/// API (also [`crate::stdsync::Barrier`]).
///
/// ```
/// use std::sync::Arc;
/// use lockcheck::sync::Barrier;
/// let barrier = Arc::new(Barrier::named("start", 2));
/// let b = Arc::clone(&barrier);
/// let t = std::thread::spawn(move || b.wait().is_leader());
/// let here = barrier.wait().is_leader();
/// let there = t.join().unwrap();
/// assert!(here != there, "exactly one leader");
/// ```
pub struct Barrier {
    state: crate::raw::Mutex<Arrivals>,
    all_arrived: crate::raw::Condvar,
    threads: usize,
    meta: WaitMeta,
    /// This round's waiting arrivals, for hold-and-wait: each arrival is
    /// matched against them, both ways.
    arrivals_holding: Waiters,
}

// As std's: a panic in a waiting thread leaves the count as it was.
impl UnwindSafe for Barrier {}
impl RefUnwindSafe for Barrier {}

/// Who has arrived in the current round.
struct Arrivals {
    count: usize,
    /// Counts rounds, so that a thread woken late knows its round is over.
    round: usize,
    /// What this round's arrivals did before they arrived (race checking).
    clock: HandOff,
    /// The same, of the last round let through.
    released: HandOff,
}

/// Returned by [`Barrier::wait`]: whether this thread is the round's
/// leader (exactly one per round is).
pub struct BarrierWaitResult(bool);

impl Barrier {
    /// A barrier for `n` threads (0 counts as 1); reports name it by where
    /// it was created.
    #[track_caller]
    pub const fn new(n: usize) -> Barrier {
        Barrier::with_meta(n, None, Location::caller())
    }

    /// A barrier for `n` threads with a name for reports.
    #[track_caller]
    pub const fn named(name: &'static str, n: usize) -> Barrier {
        Barrier::with_meta(n, Some(name), Location::caller())
    }

    const fn with_meta(
        n: usize,
        name: Option<&'static str>,
        created: &'static Location<'static>,
    ) -> Barrier {
        Barrier {
            state: crate::raw::Mutex::new(Arrivals {
                count: 0,
                round: 0,
                clock: HandOff::new(),
                released: HandOff::new(),
            }),
            all_arrived: crate::raw::Condvar::new(),
            threads: n,
            meta: WaitMeta::new(name, created),
            arrivals_holding: Waiters::new(),
        }
    }

    /// Names the barrier with a name made at run time (interned); a name
    /// given at creation is kept.
    pub fn with_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.meta.set_name(name.into());
        self
    }

    /// The name given to it, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.meta.name()
    }

    /// Blocks until `n` threads wait on the barrier, then lets them all go
    /// on; the last to arrive is the leader. The barrier can be used again
    /// right away.
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let mut hazards = None;
        let result = self.wait_at(Site::caller(), &mut hazards);
        // Once the round is through and the barrier's lock free: a report
        // may panic.
        if let Some(h) = hazards {
            h.report();
        }
        result
    }

    /// [`Self::wait`] at `site`, leaving the hold-and-wait hazards its
    /// arrival found in `hazards`.
    fn wait_at(&self, site: Site, hazards: &mut Option<Hazards>) -> BarrierWaitResult {
        let mut arrivals = self.state.lock();
        if hb::active() {
            let mine = hb::release_clock();
            arrivals.clock.join(&mine);
        }
        let round = arrivals.round;
        if recorder::on() {
            // Under the barrier's lock: every arrival of a round is in the
            // trace before the last one lets the round go.
            let (barrier, parties) = (self.meta.id(), self.threads as u64);
            recorder::record_here(|thread| Event::Arrive {
                thread,
                barrier,
                parties,
                site,
            });
        }
        // Listed (holding locks or not) until this call returns if it
        // waits; under the barrier's lock, so that each arrival of a round
        // finds the ones before it.
        let waits = arrivals.count + 1 < self.threads;
        let (_listed, found) = self
            .arrivals_holding
            .arriving(self.meta.id().0, round, site, waits);
        *hazards = Some(found);
        arrivals.count += 1;
        if arrivals.count >= self.threads {
            arrivals.count = 0;
            arrivals.round = arrivals.round.wrapping_add(1);
            arrivals.released = std::mem::replace(&mut arrivals.clock, HandOff::new());
            self.all_arrived.notify_all();
            if hb::active() {
                hb::acquire_clock(&arrivals.released);
            }
            return BarrierWaitResult(true);
        }
        let start = Instant::now();
        // `None` during the grace period; then the registration (itself
        // `None` when checking is off).
        let mut registered: Option<Option<Waiting>> = None;
        while arrivals.round == round {
            let timeout = match registered {
                None => acquire::GRACE.saturating_sub(start.elapsed()),
                Some(_) => nobody_left::SLICE,
            };
            let slice = self.all_arrived.wait_for(&mut arrivals, timeout);
            if !slice.timed_out() || arrivals.round != round {
                continue;
            }
            // Registered and checked without the barrier's lock, which the
            // other arrivals need.
            drop(arrivals);
            match &registered {
                None if start.elapsed() >= acquire::GRACE => {
                    registered = Some(waits::block_on(&self.meta, WaitKind::Barrier, site));
                }
                Some(Some(waiting)) => {
                    if let Some(stuck) = waiting.stuck() {
                        self.leave(round);
                        stuck.break_here();
                    }
                }
                _ => {}
            }
            arrivals = self.state.lock();
        }
        if hb::active() {
            hb::acquire_clock(&arrivals.released);
        }
        BarrierWaitResult(false)
    }

    /// A thread broken out of round `round` takes its arrival back, so that
    /// the barrier counts only the threads still waiting.
    fn leave(&self, round: usize) {
        let mut arrivals = self.state.lock();
        if arrivals.round == round {
            arrivals.count = arrivals.count.saturating_sub(1);
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
