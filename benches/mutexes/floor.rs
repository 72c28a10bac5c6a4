//! The floor: the least a detector of this design can cost. A thread-local
//! held stack and a chain-key cache around parking_lot 0.12's raw mutex,
//! with a lock-order edge set behind one global lock for new stacks, and
//! nothing else (no wait-for graph, no reports, no names, no lock drop).
//! It is the project's fast-path floor probe made a benchmark
//! implementation, so that every table shows the distance between lockcheck
//! and the physical limit on the machine it was measured on.

use std::cell::{Cell, UnsafeCell};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::lock_api::RawMutex as _;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);
static NEXT_TID: AtomicU64 = AtomicU64::new(1);
static GRAPH: parking_lot::Mutex<Option<HashSet<(u32, u32)>>> = parking_lot::const_mutex(None);

const MAX_HELD: usize = 32;
const CACHE: usize = 4096;

struct Tls {
    held: [Cell<u32>; MAX_HELD],
    len: Cell<usize>,
    key: [Cell<u64>; MAX_HELD + 1],
    cache: UnsafeCell<[u64; CACHE]>,
    tid: Cell<u64>,
}

thread_local! {
    static T: Tls = const {
        Tls {
            held: [const { Cell::new(0) }; MAX_HELD],
            len: Cell::new(0),
            key: [const { Cell::new(0) }; MAX_HELD + 1],
            cache: UnsafeCell::new([0; CACHE]),
            tid: Cell::new(0),
        }
    };
}

/// The floor's mutex.
pub struct Mutex<V> {
    raw: parking_lot::RawMutex,
    owner: AtomicU64,
    id: u32,
    value: UnsafeCell<V>,
}

// SAFETY: the value is reached only through a guard, which exists only while
// `raw` is locked, as for any mutex.
unsafe impl<V: Send> Sync for Mutex<V> {}

/// Its guard.
pub struct Guard<'a, V> {
    m: &'a Mutex<V>,
}

#[inline(always)]
fn mix(k: u64, id: u32) -> u64 {
    (k ^ id as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
        | 1
}

impl<V> Mutex<V> {
    /// A new unlocked mutex.
    pub fn new(value: V) -> Self {
        Mutex {
            raw: parking_lot::RawMutex::INIT,
            owner: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks it, validating a held stack not seen before.
    #[inline]
    pub fn lock(&self) -> Guard<'_, V> {
        T.with(|t| {
            let mut tid = t.tid.get();
            if tid == 0 {
                tid = NEXT_TID.fetch_add(1, Ordering::Relaxed);
                t.tid.set(tid);
            }
            let n = t.len.get();
            if !self.raw.try_lock() {
                // The slow path: a self-deadlock check (the wait-for graph
                // would go here).
                assert!(
                    !(0..n.min(MAX_HELD)).any(|i| t.held[i].get() == self.id),
                    "self-deadlock"
                );
                self.raw.lock();
            }
            self.owner.store(tid, Ordering::Relaxed);
            if n > 0 && n <= MAX_HELD {
                let k = mix(t.key[n].get(), self.id);
                // SAFETY: the cache is this thread's alone, and no reference
                // to it outlives this statement.
                let cache = unsafe { &mut *t.cache.get() };
                let slot = (k as usize) & (CACHE - 1);
                if cache[slot] != k {
                    validate(t, n, self.id);
                    cache[slot] = k;
                }
                t.key[n + 1].set(k);
            } else if n == 0 {
                t.key[1].set(mix(0, self.id));
            }
            if n < MAX_HELD {
                t.held[n].set(self.id);
            }
            t.len.set(n + 1);
        });
        Guard { m: self }
    }
}

#[cold]
fn validate(t: &Tls, n: usize, id: u32) {
    let mut graph = GRAPH.lock();
    let graph = graph.get_or_insert_with(HashSet::new);
    for i in 0..n {
        graph.insert((t.held[i].get(), id));
    }
}

impl<V> Drop for Guard<'_, V> {
    #[inline]
    fn drop(&mut self) {
        T.with(|t| {
            let n = t.len.get() - 1;
            if n < MAX_HELD && t.held[n].get() != self.m.id {
                // Released out of order: close the gap, recompute the keys.
                if let Some(i) = (0..n).rposition(|i| t.held[i].get() == self.m.id) {
                    for j in i..n {
                        t.held[j].set(t.held[j + 1].get());
                    }
                }
                let mut k = 0;
                for j in 0..n {
                    k = mix(k, t.held[j].get());
                    t.key[j + 1].set(k);
                }
            }
            t.len.set(n);
        });
        self.m.owner.store(0, Ordering::Relaxed);
        // SAFETY: this guard's lock() locked `raw`.
        unsafe { self.m.raw.unlock() };
    }
}

impl<V> std::ops::Deref for Guard<'_, V> {
    type Target = V;
    fn deref(&self) -> &V {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.m.value.get() }
    }
}
