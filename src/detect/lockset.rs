//! The lockset check (Eraser: Savage et al., 1997): a variable that several
//! threads access, at least one writing, must have one lock held at every
//! access. It predicts races that this run's interleaving hid (a lock taken
//! in between for something else can order two accesses that another
//! schedule would not), at the price of reporting some that happens-before
//! rules out (data handed over by a join or a message). Off by default;
//! its findings are labelled as predicted.

use crate::event::{AccessKind, LockId, ThreadId};

/// Eraser's states of a variable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum State {
    /// Not accessed yet.
    #[default]
    Virgin,
    /// Only one thread so far (initialisation needs no lock).
    Exclusive(ThreadId),
    /// Several threads, reads only since: the candidate locks.
    Shared(Vec<LockId>),
    /// Several threads and a write: the candidate locks.
    SharedModified(Vec<LockId>),
    /// Already reported; nothing more to say.
    Reported,
}

/// The lockset state of one variable.
///
/// ```
/// use lockcheck::detect::lockset::LocksetShadow;
/// use lockcheck::event::{AccessKind, LockId, ThreadId};
/// let mut x = LocksetShadow::default();
/// assert!(!x.access(ThreadId(1), AccessKind::Write, &[LockId(7)]));
/// // Another thread writes with no lock: no lock protects every access.
/// assert!(x.access(ThreadId(2), AccessKind::Write, &[]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LocksetShadow {
    state: State,
}

impl LocksetShadow {
    /// An access by `thread` holding `held`. Returns true the first time the
    /// variable is written by several threads with no lock held at every
    /// access: a predicted race.
    pub fn access(&mut self, thread: ThreadId, kind: AccessKind, held: &[LockId]) -> bool {
        let write = kind == AccessKind::Write;
        let next = match std::mem::take(&mut self.state) {
            State::Virgin => State::Exclusive(thread),
            State::Exclusive(owner) if owner == thread => State::Exclusive(owner),
            State::Exclusive(_) => {
                if write {
                    State::SharedModified(held.to_vec())
                } else {
                    State::Shared(held.to_vec())
                }
            }
            State::Shared(mut candidates) => {
                candidates.retain(|l| held.contains(l));
                if write {
                    State::SharedModified(candidates)
                } else {
                    State::Shared(candidates)
                }
            }
            State::SharedModified(mut candidates) => {
                candidates.retain(|l| held.contains(l));
                State::SharedModified(candidates)
            }
            State::Reported => State::Reported,
        };
        let empty = matches!(&next, State::SharedModified(c) if c.is_empty());
        self.state = if empty { State::Reported } else { next };
        empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessKind::{Read, Write};

    const L: LockId = LockId(1);
    const M: LockId = LockId(2);

    #[test]
    fn one_common_lock_protects_the_variable() {
        let mut x = LocksetShadow::default();
        for t in 1..4 {
            assert!(!x.access(ThreadId(t), Write, &[L, M]));
            assert!(!x.access(ThreadId(t), Read, &[L]));
        }
    }

    #[test]
    fn initialisation_by_one_thread_needs_no_lock() {
        let mut x = LocksetShadow::default();
        assert!(!x.access(ThreadId(1), Write, &[]));
        assert!(!x.access(ThreadId(1), Write, &[]));
        assert!(!x.access(ThreadId(2), Write, &[L]));
    }

    #[test]
    fn read_only_sharing_needs_no_lock() {
        let mut x = LocksetShadow::default();
        x.access(ThreadId(1), Write, &[]);
        assert!(!x.access(ThreadId(2), Read, &[]));
        assert!(!x.access(ThreadId(3), Read, &[]));
    }

    #[test]
    fn a_write_under_another_lock_empties_the_candidates_once() {
        let mut x = LocksetShadow::default();
        x.access(ThreadId(1), Write, &[L]);
        assert!(!x.access(ThreadId(2), Write, &[L]));
        assert!(x.access(ThreadId(3), Write, &[M]));
        assert!(!x.access(ThreadId(3), Write, &[]), "reported once");
    }
}
