//! What describes a lock besides its id (kind, name, creation site),
//! interned into a process-wide table. A held lock's entry keeps the 4-byte
//! index instead of the 40 bytes of the description, which makes the entry
//! that every acquisition pushes small, and the push cheap. The table holds
//! one row per distinct description (creation sites and names are few), like
//! lockdep's table of lock classes.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::fx_hash::FxHashMap;

use crate::event::{LockId, LockInfo, LockKind, Name, Site};

/// A lock's kind, name and creation site.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LockDesc {
    pub(crate) kind: LockKind,
    pub(crate) name: Option<&'static str>,
    pub(crate) created: &'static Location<'static>,
}

impl LockDesc {
    /// The lock `id` with this description, as the detectors see it.
    pub(crate) fn info(&self, id: LockId) -> LockInfo {
        LockInfo {
            id,
            kind: self.kind,
            name: self.name.map(Name::Static),
            created: Site::from(self.created),
        }
    }

    /// The same description, compared by address: what the per-thread cache
    /// checks before it looks in the table.
    fn same_as(&self, other: &LockDesc) -> bool {
        self.kind == other.kind
            && std::ptr::eq(self.created, other.created)
            && match (self.name, other.name) {
                (None, None) => true,
                (Some(a), Some(b)) => std::ptr::eq(a, b),
                _ => false,
            }
    }
}

/// Index of a description in the table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DescId(pub(crate) u32);

/// Rows, read without a lock (a row never moves once pushed).
static ROWS: Rows = Rows::new();

/// An append-only table read without a lock: rows live in buckets of
/// doubling size (bucket `b` holds rows `2^b - 1 ..= 2^(b+1) - 2`), each
/// allocated once and never moved, so a reader reaches a row through two
/// `OnceLock`s. Pushes are serialised by the caller (they happen under
/// [`INDEX`]'s lock). By hand, in safe code, rather than with a concurrent
/// vector crate: rows are few and this is all the library needs of one.
struct Rows {
    buckets: [OnceLock<Box<[OnceLock<LockDesc>]>>; 32],
    len: AtomicUsize,
}

impl Rows {
    const fn new() -> Self {
        Rows {
            buckets: [const { OnceLock::new() }; 32],
            len: AtomicUsize::new(0),
        }
    }

    /// Bucket and offset of row `index`.
    fn place(index: usize) -> (usize, usize) {
        let n = index + 1;
        let bucket = n.ilog2() as usize;
        (bucket, n - (1 << bucket))
    }

    /// Appends `desc`; returns its row, or `None` once every bucket is full
    /// (over four billion rows). Callers hold [`INDEX`]'s lock, so two
    /// pushes never race for one row.
    fn push(&self, desc: LockDesc) -> Option<usize> {
        let index = self.len.load(Ordering::Relaxed);
        let (bucket, offset) = Self::place(index);
        let rows = self
            .buckets
            .get(bucket)?
            .get_or_init(|| (0..1usize << bucket).map(|_| OnceLock::new()).collect());
        rows.get(offset)?.set(desc).ok()?;
        self.len.store(index + 1, Ordering::Relaxed);
        Some(index)
    }

    /// Row `index`, if it was pushed.
    fn get(&self, index: usize) -> Option<&LockDesc> {
        let (bucket, offset) = Self::place(index);
        self.buckets.get(bucket)?.get()?.get(offset)?.get()
    }
}

/// Row of each description, to keep them distinct.
static INDEX: crate::raw::Mutex<Option<FxHashMap<LockDesc, DescId>>> = crate::raw::Mutex::new(None);

thread_local! {
    /// The last description this thread interned: locks made in a loop
    /// share one, and then skip the table's lock.
    static LAST: Cell<Option<(LockDesc, DescId)>> = const { Cell::new(None) };
}

/// The row of `desc`, added if new. The check of this thread's last row
/// is inline in a lock's first use: a call's frame cost it some 17
/// instructions of ~40 (callgrind, a new lock under an outer one).
#[inline(always)]
pub(crate) fn intern(desc: LockDesc) -> DescId {
    let cached = LAST
        .try_with(|last| last.get())
        .ok()
        .flatten()
        .filter(|(d, _)| d.same_as(&desc));
    match cached {
        Some((_, id)) => id,
        None => intern_in_table(desc),
    }
}

/// [`intern`] past this thread's last row: the table, under its lock.
#[cold]
#[inline(never)]
fn intern_in_table(desc: LockDesc) -> DescId {
    let id = {
        let mut index = INDEX.lock();
        let index = index.get_or_insert_with(FxHashMap::default);
        *index.entry(desc).or_insert_with(|| {
            // More distinct descriptions than the table holds would take
            // billions of creation sites or names; past that, a lock is
            // described as the first one was: a wrong name in a report,
            // never a crash.
            let row = ROWS.push(desc).unwrap_or(0);
            DescId(u32::try_from(row).unwrap_or(0))
        })
    };
    let _ = LAST.try_with(|last| last.set(Some((desc, id))));
    id
}

/// The description at `id`. Every id comes from [`intern`], after its row
/// was pushed, so the fallback is never seen; it is there so that a report
/// can never be what brings the watched program down.
pub(crate) fn get(id: DescId) -> LockDesc {
    ROWS.get(id.0 as usize).copied().unwrap_or(LockDesc {
        kind: LockKind::Mutex,
        name: Some("(unknown lock)"),
        created: Location::caller(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn equal_descriptions_share_a_row_and_different_ones_do_not() {
        let site = here();
        let a = LockDesc {
            kind: LockKind::Mutex,
            name: None,
            created: site,
        };
        let named = LockDesc {
            name: Some("fork"),
            ..a
        };
        let rw = LockDesc {
            kind: LockKind::RwLock,
            ..a
        };
        let ia = intern(a);
        assert_eq!(intern(a), ia);
        // The same name made at run time is another string, the same row.
        let fork = String::from("fork").leak();
        let named_again = LockDesc {
            name: Some(fork),
            ..a
        };
        let inamed = intern(named);
        assert_eq!(intern(named_again), inamed);
        let irw = intern(rw);
        assert_ne!(ia, inamed);
        assert_ne!(ia, irw);
        assert_eq!(get(ia), a);
        assert_eq!(get(inamed).name, Some("fork"));
        assert_eq!(get(irw).kind, LockKind::RwLock);
    }

    #[test]
    fn rows_keep_their_place_across_buckets_and_readers_see_every_pushed_row() {
        let rows = Rows::new();
        let descs: Vec<LockDesc> = (0..300)
            .map(|i| LockDesc {
                kind: [LockKind::Mutex, LockKind::RwLock, LockKind::ReentrantMutex][i % 3],
                name: Some(String::from("row").leak()),
                created: here(),
            })
            .collect();
        for (i, d) in descs.iter().enumerate() {
            assert_eq!(rows.push(*d), Some(i));
        }
        for (i, d) in descs.iter().enumerate() {
            assert_eq!(rows.get(i), Some(d), "row {i}");
        }
        assert_eq!(rows.get(descs.len()), None);
        assert_eq!(Rows::place(0), (0, 0));
        assert_eq!(Rows::place(1), (1, 0));
        assert_eq!(Rows::place(2), (1, 1));
        assert_eq!(Rows::place(6), (2, 3));
        assert_eq!(Rows::place(7), (3, 0));
    }
}
