//! Self-deadlock: a thread asks for a lock that it already holds, in a mode
//! that waits for its own hold.

use crate::event::{AcquireMode, HeldLock, LockInfo, LockKind};

/// How bad a re-acquisition of a held lock is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SelfConflict {
    /// The thread would wait for itself forever: `Mutex` locked twice, `write`
    /// under its own `read`, `read` under its own `write`.
    Certain,
    /// It hangs as soon as another thread queues for writing in between: a
    /// plain `read` (or `upgradable_read`) under the thread's own read.
    /// parking_lot queues new readers behind a waiting writer, and the writer
    /// waits for the first read. `read_recursive` is the fix.
    WhenWriterWaits,
}

/// Checks a blocking acquisition of `lock` in `mode` against the locks the
/// thread already holds.
///
/// ```
/// use lockcheck::detect::self_deadlock::{check, SelfConflict};
/// use lockcheck::event::*;
/// let lock = LockInfo { id: LockId(1), kind: LockKind::Mutex, name: None, created: Site::caller() };
/// let held = [HeldLock { lock: lock.clone(), mode: AcquireMode::Exclusive, site: Site::caller() }];
/// assert_eq!(check(&held, &lock, AcquireMode::Exclusive).map(|c| c.0), Some(SelfConflict::Certain));
/// ```
pub fn check<'a>(
    held: &'a [HeldLock],
    lock: &LockInfo,
    mode: AcquireMode,
) -> Option<(SelfConflict, &'a HeldLock)> {
    if lock.kind == LockKind::ReentrantMutex {
        return None;
    }
    let mut worst: Option<(SelfConflict, &HeldLock)> = None;
    for h in held.iter().filter(|h| h.lock.id == lock.id) {
        let conflict = if mode.blocked_by(h.mode) {
            SelfConflict::Certain
        } else if matches!(mode, AcquireMode::Read | AcquireMode::Upgradable) {
            SelfConflict::WhenWriterWaits
        } else {
            continue;
        };
        if conflict == SelfConflict::Certain {
            return Some((conflict, h));
        }
        worst.get_or_insert((conflict, h));
    }
    worst
}

/// Checks `upgrade()` of an upgradable read: it waits for every reader to
/// leave, the thread's own other reads included.
pub fn check_upgrade<'a>(held: &'a [HeldLock], lock: &LockInfo) -> Option<&'a HeldLock> {
    held.iter()
        .find(|h| h.lock.id == lock.id && h.mode.is_shared())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{LockId, Site};
    use AcquireMode::*;

    fn lock(kind: LockKind) -> LockInfo {
        LockInfo {
            id: LockId(7),
            kind,
            name: None,
            created: Site::caller(),
        }
    }
    fn verdict(kind: LockKind, held: AcquireMode, asked: AcquireMode) -> Option<SelfConflict> {
        let l = lock(kind);
        let h = [HeldLock {
            lock: l.clone(),
            mode: held,
            site: Site::caller(),
        }];
        check(&h, &l, asked).map(|c| c.0)
    }

    #[test]
    fn mutex_relock_is_certain() {
        assert_eq!(
            verdict(LockKind::Mutex, Exclusive, Exclusive),
            Some(SelfConflict::Certain)
        );
    }

    #[test]
    fn reentrant_relock_is_fine() {
        assert_eq!(
            verdict(LockKind::ReentrantMutex, Exclusive, Exclusive),
            None
        );
    }

    #[test]
    fn rwlock_write_under_read_and_read_under_write_are_certain() {
        assert_eq!(
            verdict(LockKind::RwLock, Read, Exclusive),
            Some(SelfConflict::Certain)
        );
        assert_eq!(
            verdict(LockKind::RwLock, Exclusive, Read),
            Some(SelfConflict::Certain)
        );
        assert_eq!(
            verdict(LockKind::RwLock, Exclusive, RecursiveRead),
            Some(SelfConflict::Certain)
        );
        assert_eq!(
            verdict(LockKind::RwLock, Upgradable, Upgradable),
            Some(SelfConflict::Certain)
        );
    }

    #[test]
    fn plain_read_under_read_hangs_when_a_writer_waits() {
        assert_eq!(
            verdict(LockKind::RwLock, Read, Read),
            Some(SelfConflict::WhenWriterWaits)
        );
        assert_eq!(
            verdict(LockKind::RwLock, RecursiveRead, Read),
            Some(SelfConflict::WhenWriterWaits)
        );
    }

    #[test]
    fn recursive_read_under_read_is_fine() {
        assert_eq!(verdict(LockKind::RwLock, Read, RecursiveRead), None);
        assert_eq!(verdict(LockKind::RwLock, Upgradable, RecursiveRead), None);
    }

    #[test]
    fn other_locks_do_not_count() {
        let l = lock(LockKind::Mutex);
        let other = LockInfo {
            id: LockId(8),
            ..l.clone()
        };
        let h = [HeldLock {
            lock: other,
            mode: Exclusive,
            site: Site::caller(),
        }];
        assert!(check(&h, &l, Exclusive).is_none());
    }

    #[test]
    fn upgrade_waits_for_own_reads() {
        let l = lock(LockKind::RwLock);
        let h = [HeldLock {
            lock: l.clone(),
            mode: Read,
            site: Site::caller(),
        }];
        assert!(check_upgrade(&h, &l).is_some());
        assert!(check_upgrade(&[], &l).is_none());
    }
}
