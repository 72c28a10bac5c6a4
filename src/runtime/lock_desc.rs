//! What describes a lock besides its id (kind, name, creation site),
//! interned into a process-wide table. A held lock's entry keeps the 4-byte
//! index instead of the 40 bytes of the description, which makes the entry
//! that every acquisition pushes small, and the push cheap. The table holds
//! one row per distinct description (creation sites and names are few), like
//! lockdep's table of lock classes.

use std::cell::Cell;
use std::panic::Location;

use rustc_hash::FxHashMap;

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
static ROWS: boxcar::Vec<LockDesc> = boxcar::Vec::new();

/// Row of each description, to keep them distinct.
static INDEX: crate::raw::Mutex<Option<FxHashMap<LockDesc, DescId>>> = crate::raw::Mutex::new(None);

thread_local! {
    /// The last description this thread interned: locks made in a loop
    /// share one, and then skip the table's lock.
    static LAST: Cell<Option<(LockDesc, DescId)>> = const { Cell::new(None) };
}

/// The row of `desc`, added if new.
pub(crate) fn intern(desc: LockDesc) -> DescId {
    let cached = LAST
        .try_with(|last| last.get())
        .ok()
        .flatten()
        .filter(|(d, _)| d.same_as(&desc));
    if let Some((_, id)) = cached {
        return id;
    }
    let id = {
        let mut index = INDEX.lock();
        let index = index.get_or_insert_with(FxHashMap::default);
        *index.entry(desc).or_insert_with(|| {
            let row = ROWS.push(desc);
            // More distinct descriptions than u32 counts would take
            // billions of creation sites or names; past that, a lock is
            // described as the first one was: a wrong name in a report,
            // never a crash.
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
}
