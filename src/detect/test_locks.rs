//! Locks as the detectors' unit tests make them: lock `id`, a read-write
//! lock (every mode applies), made and taken at the caller's site.

use crate::event::{AcquireMode, HeldLock, LockId, LockInfo, LockKind, Site};

/// Lock `id`.
#[track_caller]
pub(crate) fn lock(id: u64) -> LockInfo {
    LockInfo {
        id: LockId(id),
        kind: LockKind::RwLock,
        name: None,
        created: Site::caller(),
    }
}

/// Lock `id`, held in `mode`.
#[track_caller]
pub(crate) fn held(id: u64, mode: AcquireMode) -> HeldLock {
    HeldLock {
        lock: lock(id),
        mode,
        site: Site::caller(),
    }
}
