//! Vector clocks and epochs, the happens-before bookkeeping of the race
//! detector (FastTrack: Flanagan and Freund, PLDI 2009).
//!
//! A thread's clock has one component per thread, at the thread's slot: in
//! a trace's analysis, its place in order of first sight (a trace's thread
//! ids are names, of any size, never indices); live, a slot that a thread
//! may take over from one joined before it was spawned (see `runtime::hb`). An epoch `c@t` is one
//! component of it: the time of one access. Most accesses are compared as
//! epochs (one integer comparison); full clocks are kept only for variables
//! read concurrently by several threads.

/// One thread's time: `clock@slot`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Epoch {
    /// The thread's component index (its slot).
    pub slot: u64,
    /// Its component's value at the access.
    pub clock: u32,
}

impl Epoch {
    /// The epoch of the thread whose component is `slot`, in `clock`.
    #[inline]
    pub fn of(slot: u64, clock: &VectorClock) -> Epoch {
        Epoch {
            slot,
            clock: clock.get(slot),
        }
    }

    /// Happens-before (or equal): `self ≤ clock`.
    ///
    /// ```
    /// use lockcheck::detect::vector_clock::{Epoch, VectorClock};
    /// let mut c = VectorClock::default();
    /// c.set(2, 5);
    /// assert!(Epoch { slot: 2, clock: 5 }.leq(&c));
    /// assert!(!Epoch { slot: 2, clock: 6 }.leq(&c));
    /// ```
    #[inline]
    pub fn leq(self, clock: &VectorClock) -> bool {
        self.clock <= clock.get(self.slot)
    }
}

/// A vector clock: component `i` is the last time of thread `i` known here.
/// Missing components are zero.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct VectorClock(Vec<u32>);

impl Clone for VectorClock {
    fn clone(&self) -> Self {
        VectorClock(self.0.clone())
    }

    /// Reuses this clock's buffer: a lock's release clock is overwritten on
    /// every release, which must not allocate each time.
    fn clone_from(&mut self, source: &Self) {
        self.0.clear();
        self.0.extend_from_slice(&source.0);
    }
}

impl VectorClock {
    /// The zero clock (no allocation).
    pub const fn new() -> Self {
        VectorClock(Vec::new())
    }

    /// Component `thread`.
    #[inline]
    pub fn get(&self, thread: u64) -> u32 {
        usize::try_from(thread)
            .ok()
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Sets component `thread`.
    #[inline]
    pub fn set(&mut self, thread: u64, value: u32) {
        let Ok(i) = usize::try_from(thread) else {
            return;
        };
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = value;
    }

    /// Advances component `thread` by one: a new epoch of that thread.
    #[inline]
    pub fn tick(&mut self, thread: u64) {
        let next = self.get(thread).saturating_add(1);
        self.set(thread, next);
    }

    /// Pointwise maximum: everything `other` knows, this clock now knows.
    pub fn join(&mut self, other: &VectorClock) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Happens-before (or equal): every component `≤ other`'s.
    pub fn leq(&self, other: &VectorClock) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, c)| *c <= other.get(i as u64))
    }

    /// Holds no component at all (a cleared or new clock): joining it
    /// changes nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Forgets everything (the zero clock), keeping the allocation.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The non-zero components, as (thread, clock).
    pub fn components(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i as u64, *c))
    }

    /// How many components it holds, zeros inside included.
    #[cfg(test)]
    pub(crate) fn width(&self) -> usize {
        self.0.len()
    }

    /// Bytes used by the components.
    pub fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_is_the_pointwise_maximum() {
        let mut a = VectorClock::new();
        a.set(1, 3);
        let mut b = VectorClock::new();
        b.set(1, 1);
        b.set(4, 2);
        a.join(&b);
        assert_eq!(a.get(1), 3);
        assert_eq!(a.get(4), 2);
        assert!(b.leq(&a));
        assert!(!a.leq(&b));
    }

    #[test]
    fn concurrent_clocks_are_not_ordered() {
        let mut a = VectorClock::new();
        a.set(1, 1);
        let mut b = VectorClock::new();
        b.set(2, 1);
        assert!(!a.leq(&b) && !b.leq(&a));
    }

    #[test]
    fn tick_starts_a_new_epoch() {
        let mut a = VectorClock::new();
        a.tick(3);
        a.tick(3);
        assert_eq!(Epoch::of(3, &a), Epoch { slot: 3, clock: 2 });
    }
}
