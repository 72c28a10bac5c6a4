//! The second deadlock rule, "nobody left to wake anyone": every thread of
//! the process is blocked in a wait lockcheck registered (a lock, a join, a
//! condition variable, a channel, a barrier), so no one is left to release,
//! end, notify, send, receive or arrive, and every one of them waits
//! forever: a lost wakeup, a barrier that too few threads reach, a receiver
//! holding the lock its only sender needs.
//!
//! A thread lockcheck does not see (a std thread that has not touched
//! lockcheck, one sleeping or in I/O, one in a timed wait) may still end
//! the others' waits, so the rule counts the process's threads as the
//! operating system does ([`os_threads`]) and fires only when there are no
//! more of them than blocked threads.
//!
//! The count and the graph are two looks, not one: a thread just woken may
//! not have left the graph yet when another blocks. So the rule fires only
//! when the same blocked threads (the same generation of the graph) have
//! stood for [`CONFIRM`], and each check is made by a blocked thread itself:
//! a *sliced* wait (a join, a condition variable, a channel, a barrier)
//! wakes every [`SLICE`] to look ([`Waiting::stuck`]). Lock waits block in
//! the raw lock and cannot look; another thread of the deadlock does.
//!
//! The thread that breaks the deadlock (by a panic) is chosen so that the
//! program ends: the main thread if it waits outside a scope (its panic
//! ends the process), else the latest to block of those outside a scope (a
//! panic inside `thread::scope` leaves std's scope waiting for its
//! threads), else the latest to block.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::detect::findings;
use crate::detect::wait_for::Blocked;
use crate::event::{ThreadId, ThreadInfo};
use crate::fx_hash::FxHashMap;
use crate::raw::Mutex;
use crate::runtime::acquire::{with_frames, Waiting};
use crate::runtime::global::global;
use crate::runtime::late_report::LateFinding;
use crate::runtime::os_threads;
use crate::runtime::policy::{abort_hang, break_hang};

/// How long a sliced wait sleeps between two looks.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// How long the same threads must stand blocked before the rule fires:
/// far longer than a woken thread takes to leave the graph, and short
/// enough that with the grace period and two slices the deadlock is broken
/// within half a second of the last thread blocking.
const CONFIRM: Duration = Duration::from_millis(250);

/// How likely a panic in a blocked thread is to end the program.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// Inside `thread::scope`: std's scope waits for its threads anyway.
    InScope,
    /// Any other thread: its panic ends it, and may end the others' waits.
    Thread,
    /// The main thread outside a scope: its panic ends the process.
    Main,
}

/// What the rule has seen.
struct State {
    /// The sliced waiters and their ranks.
    ranks: FxHashMap<ThreadId, Rank>,
    /// The graph's generation in which every thread was last seen blocked,
    /// and since when.
    candidate: Option<(u64, Instant)>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut state = STATE.lock();
    let state = state.get_or_insert_with(|| State {
        ranks: FxHashMap::default(),
        candidate: None,
    });
    f(state)
}

thread_local! {
    /// How many `thread::scope` calls this thread is inside.
    static SCOPES: Cell<usize> = const { Cell::new(0) };
}

/// This thread is inside a `thread::scope` until the guard drops.
pub(crate) struct InScope(());

/// Marks this thread as inside a `thread::scope`, until the guard drops:
/// a panic there does not end the program (std's scope joins its threads
/// first), so the rule prefers to break a deadlock elsewhere.
pub(crate) fn enter_scope() -> InScope {
    let _ = SCOPES.try_with(|s| s.set(s.get() + 1));
    InScope(())
}

impl Drop for InScope {
    fn drop(&mut self) {
        let _ = SCOPES.try_with(|s| s.set(s.get().saturating_sub(1)));
    }
}

/// Records the rank of a thread about to register a sliced wait.
pub(crate) fn rank(id: ThreadId, thread: &ThreadInfo) {
    let in_scope = SCOPES.try_with(Cell::get).unwrap_or(0) > 0;
    let rank = if in_scope {
        Rank::InScope
    } else if thread.name.as_deref() == Some("main") {
        Rank::Main
    } else {
        Rank::Thread
    };
    with_state(|s| s.ranks.insert(id, rank));
}

/// A sliced wait ended.
pub(crate) fn forget(id: ThreadId) {
    with_state(|s| s.ranks.remove(&id));
}

/// A deadlock of the second rule that this thread is to break.
pub(crate) struct Stuck(LateFinding);

impl Stuck {
    /// Reports the deadlock and panics, which breaks it. Call where the
    /// wait's primitive is as the caller expects it after a wake-up (a
    /// condition variable's mutex locked again).
    #[track_caller]
    pub(crate) fn break_here(self) -> ! {
        break_hang(self.0)
    }

    /// Reports the deadlock and aborts the process: for a wait where a
    /// panic would not end the hang (the end of a scope).
    pub(crate) fn abort_here(self) -> ! {
        abort_hang(self.0)
    }
}

impl Waiting {
    /// Called by a sliced wait at each slice: `Some` when every thread of
    /// the process has stood blocked long enough and this thread is the one
    /// to break the deadlock.
    pub(crate) fn stuck(&self) -> Option<Stuck> {
        let all = confirmed()?;
        let victim = with_state(|s| {
            victim(all.iter().map(|b| {
                let id = b.thread().id;
                (id, s.ranks.get(&id).copied())
            }))
        })?;
        if victim != self.thread {
            return None;
        }
        with_state(|s| s.candidate = None);
        let mut ordered: Vec<Blocked> = Vec::with_capacity(all.len());
        ordered.extend(all.iter().filter(|b| b.thread().id == victim).cloned());
        ordered.extend(all.into_iter().filter(|b| b.thread().id != victim));
        let stacks = ordered.iter().any(|b| b.backtrace().is_some());
        Some(Stuck(LateFinding::new(stacks, move |frames| {
            findings::nobody_left(&with_frames(&ordered, frames))
        })))
    }
}

/// The thread to break a deadlock of the second rule, of the blocked
/// threads given latest first with their ranks: the highest rank, the
/// latest to block among equals. A thread without a rank (a lock wait,
/// which cannot look) is never chosen: another thread of the deadlock is.
fn victim(
    blocked_latest_first: impl DoubleEndedIterator<Item = (ThreadId, Option<Rank>)>,
) -> Option<ThreadId> {
    // `max_by_key` keeps the last of equals, so go from the earliest.
    blocked_latest_first
        .rev()
        .filter_map(|(id, rank)| Some((rank?, id)))
        .max_by_key(|(r, _)| *r)
        .map(|(_, id)| id)
}

/// A thread has just blocked in a sliced wait: starts the rule's clock if
/// every thread is blocked now.
pub(crate) fn observe() {
    let _ = confirmed();
}

/// Every blocked thread (the latest first), once every thread that could
/// wake one has stood blocked, in the same generation of the graph, for
/// [`CONFIRM`]; `None` before (and the clock restarts whenever a look finds
/// a thread not blocked, or other threads blocked).
fn confirmed() -> Option<Vec<Blocked>> {
    let before = global().waits.lock().generation();
    let live = os_threads::could_wake()?;
    let all = {
        let waits = global().waits.lock();
        // A thread came or went while the threads were counted: look again
        // at the next slice.
        (waits.generation() == before)
            .then(|| waits.nobody_left(live))
            .flatten()
    };
    with_state(|s| {
        let Some(all) = all else {
            s.candidate = None;
            return None;
        };
        match s.candidate {
            Some((generation, since)) if generation == before => {
                (since.elapsed() >= CONFIRM).then_some(all)
            }
            _ => {
                s.candidate = Some((before, Instant::now()));
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(blocked: &[(u64, Option<Rank>)]) -> Option<u64> {
        victim(blocked.iter().map(|&(id, rank)| (ThreadId(id), rank))).map(|t| t.0)
    }

    #[test]
    fn the_main_thread_outside_a_scope_is_broken_first() {
        let blocked = [
            (3, Some(Rank::Thread)),
            (1, Some(Rank::Main)),
            (2, Some(Rank::InScope)),
        ];
        assert_eq!(pick(&blocked), Some(1));
    }

    #[test]
    fn else_the_latest_to_block_outside_a_scope() {
        // Latest first: 5 blocked after 4, and 6 (in a scope) after both.
        let blocked = [
            (6, Some(Rank::InScope)),
            (5, Some(Rank::Thread)),
            (4, Some(Rank::Thread)),
        ];
        assert_eq!(pick(&blocked), Some(5));
    }

    #[test]
    fn else_the_latest_to_block_in_a_scope() {
        let blocked = [(8, Some(Rank::InScope)), (7, Some(Rank::InScope))];
        assert_eq!(pick(&blocked), Some(8));
    }

    #[test]
    fn a_lock_waiter_is_never_chosen() {
        // 9 waits for a lock (no slices, no rank): it cannot look, so it
        // is never the one to break the deadlock, however late it blocked.
        assert_eq!(pick(&[(9, None), (10, Some(Rank::Thread))]), Some(10));
        assert_eq!(pick(&[(9, None)]), None);
    }
}
