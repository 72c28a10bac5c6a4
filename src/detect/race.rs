//! Data races under happens-before, with FastTrack's epochs: a variable
//! keeps the epoch of its last write and of its last read, and switches its
//! reads to a full vector clock only once two threads read it concurrently.
//! An access in the same epoch as the variable's last one costs one
//! comparison.
//!
//! A pure state machine per variable: accesses with the accessing thread's
//! clock in, races out. The live runtime keeps one [`VarShadow`] inside each
//! `Shared<T>`; a trace analysis keeps one per variable it reads about.

use std::sync::Arc;

use crate::detect::vector_clock::{Epoch, VectorClock};
use crate::event::{AccessKind, HeldLock, Site, ThreadId};

/// Most held locks remembered per access (for the report's "holding" line).
pub const HELD_IN_REPORT: usize = 4;

/// The locks a thread held at an access, as far as a report needs them.
/// Shared, and only when some lock is held: an access record stays small, so
/// a `Shared` costs little memory, and a thread that accesses again under the
/// same locks reuses one summary instead of building another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldSummary {
    locks: Option<Arc<[HeldLock]>>,
    /// How many were held in all (may exceed what is kept).
    pub total: usize,
}

impl HeldSummary {
    /// Summarises held locks, innermost last.
    pub fn new(held: impl IntoIterator<Item = HeldLock>) -> Self {
        let mut total = 0;
        let mut kept: Vec<HeldLock> = Vec::new();
        for lock in held {
            if kept.len() < HELD_IN_REPORT {
                kept.push(lock);
            }
            total += 1;
        }
        HeldSummary {
            locks: (!kept.is_empty()).then(|| Arc::from(kept)),
            total,
        }
    }

    /// Summarises the locks of `held`, innermost last: what [`Self::new`]
    /// makes of them, in one allocation (a `Vec` then an `Arc` made two, on
    /// every access after a lock was taken or released).
    pub fn of(held: &[HeldLock]) -> Self {
        let kept = &held[..held.len().min(HELD_IN_REPORT)];
        HeldSummary {
            locks: (!kept.is_empty()).then(|| Arc::from(kept)),
            total: held.len(),
        }
    }

    /// The locks kept.
    pub fn locks(&self) -> impl Iterator<Item = &HeldLock> {
        self.locks.iter().flat_map(|l| l.iter())
    }
}

/// One access, as remembered for a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The accessing thread.
    pub thread: ThreadId,
    /// Its component in vector clocks: in a trace's analysis, its place in
    /// order of first sight (never its id); live, a slot that a thread
    /// spawned after this one was joined may take over (see `runtime::hb`).
    pub slot: u64,
    /// Read or write.
    pub kind: AccessKind,
    /// Where.
    pub site: Site,
    /// Locks held at the access.
    pub held: HeldSummary,
    /// Part of a read-modify-write (`Shared::update`): a race on it loses updates.
    pub in_update: bool,
}

/// Two accesses to one variable, at least one a write, neither happening
/// before the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Race {
    /// The earlier access, by another thread.
    pub previous: Access,
    /// The access that found the race.
    pub current: Access,
}

#[derive(Clone, Debug, Default)]
enum Reads {
    #[default]
    None,
    /// The last read, which every earlier read happened before.
    One(Epoch, Access),
    /// Concurrent reads: each thread's last read.
    Many(VectorClock, Vec<Access>),
}

/// The happens-before state of one variable.
///
/// ```
/// use lockcheck::detect::race::{Access, HeldSummary, VarShadow};
/// use lockcheck::detect::vector_clock::VectorClock;
/// use lockcheck::event::{AccessKind, Site, ThreadId};
/// let access = |t, kind| Access { thread: ThreadId(t), slot: t, kind, site: Site::caller(),
///     held: HeldSummary::default(), in_update: false };
/// let (mut c1, mut c2) = (VectorClock::new(), VectorClock::new());
/// c1.set(1, 1);
/// c2.set(2, 1);
/// let mut x = VarShadow::default();
/// assert!(x.write(&c1, access(1, AccessKind::Write)).is_none());
/// // Thread 2 never synchronised with thread 1: its read races the write.
/// assert!(x.read(&c2, access(2, AccessKind::Read)).is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct VarShadow {
    write: Option<(Epoch, Access)>,
    reads: Reads,
}

impl VarShadow {
    /// Whether an access of `kind` at epoch `now` would change nothing: the
    /// thread already accessed the variable this way in this epoch. The
    /// common case, answered by one comparison before any record is built.
    #[inline]
    pub fn unchanged(&self, kind: AccessKind, now: Epoch) -> bool {
        match kind {
            AccessKind::Write => matches!(&self.write, Some((w, _)) if *w == now),
            AccessKind::Read => match &self.reads {
                Reads::One(e, _) => *e == now,
                Reads::Many(vc, _) => vc.get(now.slot) == now.clock,
                Reads::None => false,
            },
        }
    }

    /// A read by `access.thread`, whose clock is `clock`. A race comes
    /// boxed: it is rare, and the common answer (none) stays one word.
    pub fn read(&mut self, clock: &VectorClock, access: Access) -> Option<Box<Race>> {
        let now = Epoch::of(access.slot, clock);
        match &self.reads {
            Reads::One(e, _) if *e == now => return None,
            Reads::Many(vc, _) if vc.get(now.slot) == now.clock => return None,
            _ => {}
        }
        let race = match &self.write {
            Some((w, previous)) if !w.leq(clock) => Some(Box::new(Race {
                previous: previous.clone(),
                current: access.clone(),
            })),
            _ => None,
        };
        self.reads = match std::mem::take(&mut self.reads) {
            Reads::None => Reads::One(now, access),
            Reads::One(e, _) if e.leq(clock) => Reads::One(now, access),
            Reads::One(e, previous) => {
                let mut vc = VectorClock::new();
                vc.set(e.slot, e.clock);
                vc.set(now.slot, now.clock);
                Reads::Many(vc, vec![previous, access])
            }
            Reads::Many(mut vc, mut accesses) => {
                vc.set(now.slot, now.clock);
                match accesses.iter_mut().find(|a| a.slot == access.slot) {
                    Some(slot) => *slot = access,
                    None => accesses.push(access),
                }
                Reads::Many(vc, accesses)
            }
        };
        race
    }

    /// A write by `access.thread`, whose clock is `clock`.
    pub fn write(&mut self, clock: &VectorClock, access: Access) -> Option<Box<Race>> {
        let now = Epoch::of(access.slot, clock);
        if matches!(&self.write, Some((w, _)) if *w == now) {
            return None;
        }
        let previous = match (&self.write, &self.reads) {
            (Some((w, previous)), _) if !w.leq(clock) => Some(previous.clone()),
            (_, Reads::One(e, previous)) if !e.leq(clock) => Some(previous.clone()),
            (_, Reads::Many(vc, accesses)) => accesses
                .iter()
                .find(|a| vc.get(a.slot) > clock.get(a.slot))
                .cloned(),
            _ => None,
        };
        // Every read so far happened before this write or raced with it
        // (reported now): later accesses need only be checked against it.
        self.reads = Reads::None;
        let race = previous.map(|previous| {
            Box::new(Race {
                previous,
                current: access.clone(),
            })
        });
        self.write = Some((now, access));
        race
    }

    /// Bytes this state uses beyond its own size (concurrent readers' clock).
    pub fn heap_bytes(&self) -> usize {
        match &self.reads {
            Reads::Many(vc, accesses) => {
                vc.heap_bytes() + accesses.capacity() * std::mem::size_of::<Access>()
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(t: u64, kind: AccessKind, line: u32) -> Access {
        Access {
            thread: ThreadId(t),
            slot: t,
            kind,
            site: Site {
                file: "t.rs",
                line,
                column: 1,
            },
            held: HeldSummary::default(),
            in_update: false,
        }
    }

    fn clock(parts: &[(u64, u32)]) -> VectorClock {
        let mut c = VectorClock::new();
        for (t, v) in parts {
            c.set(*t, *v);
        }
        c
    }

    use AccessKind::{Read, Write};

    #[test]
    fn ordered_write_then_read_is_no_race() {
        let mut x = VarShadow::default();
        x.write(&clock(&[(1, 1)]), access(1, Write, 1));
        // Thread 2 joined thread 1's clock (a lock, a join, a message).
        assert!(x
            .read(&clock(&[(1, 1), (2, 1)]), access(2, Read, 2))
            .is_none());
    }

    #[test]
    fn unordered_write_then_read_races_and_names_both() {
        let mut x = VarShadow::default();
        x.write(&clock(&[(1, 1)]), access(1, Write, 1));
        let race = x.read(&clock(&[(2, 1)]), access(2, Read, 2)).unwrap();
        assert_eq!(race.previous.site.line, 1);
        assert_eq!(race.current.site.line, 2);
    }

    #[test]
    fn unordered_writes_race() {
        let mut x = VarShadow::default();
        x.write(&clock(&[(1, 1)]), access(1, Write, 1));
        assert!(x.write(&clock(&[(2, 1)]), access(2, Write, 2)).is_some());
    }

    #[test]
    fn concurrent_reads_do_not_race_but_a_later_unordered_write_does() {
        let mut x = VarShadow::default();
        assert!(x.read(&clock(&[(1, 1)]), access(1, Read, 1)).is_none());
        assert!(x.read(&clock(&[(2, 1)]), access(2, Read, 2)).is_none());
        // Thread 3 has seen thread 1 but not thread 2.
        let race = x
            .write(&clock(&[(1, 1), (3, 1)]), access(3, Write, 3))
            .unwrap();
        assert_eq!(race.previous.thread, ThreadId(2));
    }

    #[test]
    fn a_write_ordered_after_all_reads_is_clean() {
        let mut x = VarShadow::default();
        x.read(&clock(&[(1, 1)]), access(1, Read, 1));
        x.read(&clock(&[(2, 1)]), access(2, Read, 2));
        assert!(x
            .write(&clock(&[(1, 1), (2, 1), (3, 1)]), access(3, Write, 3))
            .is_none());
    }

    #[test]
    fn same_epoch_accesses_are_skipped() {
        let mut x = VarShadow::default();
        let c = clock(&[(1, 4)]);
        x.write(&c, access(1, Write, 1));
        assert!(x.write(&c, access(1, Write, 2)).is_none());
        x.read(&c, access(1, Read, 3));
        assert!(x.read(&c, access(1, Read, 4)).is_none());
        assert_eq!(x.heap_bytes(), 0, "no clock was allocated");
    }

    #[test]
    fn held_summary_keeps_the_first_locks_and_the_count() {
        let lock = |id| HeldLock {
            lock: crate::event::LockInfo {
                id: crate::event::LockId(id),
                kind: crate::event::LockKind::Mutex,
                name: None,
                created: Site::caller(),
            },
            mode: crate::event::AcquireMode::Exclusive,
            site: Site::caller(),
        };
        let s = HeldSummary::new((0..6).map(lock));
        assert_eq!(s.total, 6);
        assert_eq!(s.locks().count(), HELD_IN_REPORT);
    }
}
