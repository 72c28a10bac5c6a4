//! The checks of a `Shared` access: happens-before (FastTrack's epochs and
//! vector clocks), the lockset rule, and a declared guard.

use std::panic::Location;

use super::Shared;
use crate::detect::findings;
use crate::detect::lockset::LocksetShadow;
use crate::detect::race::{Access, HeldSummary, Race, VarShadow, HELD_IN_REPORT};
use crate::detect::vector_clock::Epoch;
use crate::event::{AccessKind, Event, LockInfo, Site, ThreadId};
use crate::finding::ThreadRef;
use crate::runtime::capture;
use crate::runtime::config;
use crate::runtime::fast_path::{self, Path};
use crate::runtime::hb;
use crate::runtime::policy::{report, Severity};
use crate::runtime::recorder;
use crate::runtime::thread_state::{thread_info, with_thread, HeldEntry};

/// What a variable's slot keeps for the checks, beside its value.
#[derive(Default)]
pub(super) struct Shadows {
    shadow: VarShadow,
    lockset: LocksetShadow,
}

impl<T> Shared<T> {
    #[track_caller]
    pub(super) fn access<R>(
        &self,
        kind: AccessKind,
        in_update: bool,
        site: &'static Location<'static>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        // The locks' fast-path flag says "checking on, not recording" in
        // one load; only the checked path asks the settings one by one.
        let checked = fast_path::path() == Path::Checked;
        if (checked && !config::enabled()) || crate::runtime::task::unseen_task_access() {
            return f(&mut self.slot.lock().value);
        }
        // Most variables declare no guard: they skip the call altogether.
        let unguarded = match &self.guard {
            Some(guard) => self.check_guard(guard, kind, in_update, site),
            None => None,
        };
        let mut slot = self.slot.lock();
        let race = hb::with_clock(|thread, clock_slot, clock| {
            let now = Epoch::of(clock_slot, clock);
            if slot.shadows.shadow.unchanged(kind, now) {
                // Same epoch as this thread's last access of this kind: the
                // one comparison FastTrack promises.
                return None;
            }
            let access = access_record(thread, clock_slot, kind, in_update, site);
            match kind {
                AccessKind::Read => slot.shadows.shadow.read(clock, access),
                AccessKind::Write => slot.shadows.shadow.write(clock, access),
            }
        })
        .flatten();
        let predicted = config::lockset() && self.check_lockset(&mut slot.shadows.lockset, kind);
        if checked && recorder::on() {
            // Inside the variable's lock: the trace orders this variable's
            // accesses as the check just did.
            self.trace(kind, in_update, site);
        }
        let result = f(&mut slot.value);
        drop(slot);
        if let Some(finding) = unguarded {
            report(finding, Severity::Hazard);
        }
        if predicted {
            let (thread, access) = reported_access(kind, in_update, site);
            report(
                findings::predicted_race(&self.var, &access, thread, &capture()),
                Severity::Hazard,
            );
        }
        if let Some(race) = race {
            self.report_race(&race);
        }
        result
    }

    /// The lockset check: true when this access leaves no lock common to
    /// every access of a variable several threads write.
    fn check_lockset(&self, lockset: &mut LocksetShadow, kind: AccessKind) -> bool {
        with_thread(|t| {
            // A write is protected only by locks that exclude other writers.
            let held: Vec<crate::event::LockId> = t
                .held
                .iter()
                .filter(|e| kind == AccessKind::Read || e.mode.blocked_by(e.mode))
                .map(|e| e.id)
                .collect();
            let thread = t.id();
            lockset.access(thread, kind, &held)
        })
        .unwrap_or(false)
    }

    /// The guarded-by check: `Some(finding)` when this access does not hold
    /// `guard`, the declared one.
    fn check_guard(
        &self,
        guard: &LockInfo,
        kind: AccessKind,
        in_update: bool,
        site: &'static Location<'static>,
    ) -> Option<crate::finding::Finding> {
        let holds = with_thread(|t| t.holds(guard.id)).unwrap_or(true);
        if holds {
            return None;
        }
        let (thread, access) = reported_access(kind, in_update, site);
        Some(findings::unguarded_access(
            &self.var,
            guard,
            &access,
            thread,
            &capture(),
        ))
    }

    #[cold]
    fn trace(&self, kind: AccessKind, update: bool, site: &'static Location<'static>) {
        let Some(thread) = with_thread(|t| t.id()) else {
            return;
        };
        let event = Event::access(kind, thread, self.var.clone(), Site::from(site), update);
        recorder::record(thread, &event, self.guard.as_ref());
    }

    #[track_caller]
    fn report_race(&self, race: &Race) {
        let name = |id: ThreadId| ThreadRef::from(&thread_info(id));
        report(
            findings::data_race(&self.var, race, &name, &capture()),
            Severity::Hazard,
        );
    }
}

/// The slot of an access that only a report shows (a guard or lockset
/// finding): it is never compared with a clock.
const NO_SLOT: u64 = 0;

/// This access as a finding that is not a race shows it (a guard or
/// lockset finding): the thread that made it, and the access.
fn reported_access(
    kind: AccessKind,
    in_update: bool,
    site: &'static Location<'static>,
) -> (ThreadRef, Access) {
    let thread = with_thread(|t| t.id()).unwrap_or(ThreadId(0));
    let access = access_record(thread, NO_SLOT, kind, in_update, site);
    (ThreadRef::from(&thread_info(thread)), access)
}

fn access_record(
    thread: ThreadId,
    slot: u64,
    kind: AccessKind,
    in_update: bool,
    site: &'static Location<'static>,
) -> Access {
    Access {
        thread,
        slot,
        kind,
        site: Site::from(site),
        held: held_summary(),
        in_update,
    }
}

/// What tells one held stack from another, read straight from the
/// held-lock entries: each kept lock's id, description, mode and
/// acquisition site (by address), and how many are held. Comparing it is a
/// few integer compares; comparing summaries would look up every lock's
/// description and compare file names.
#[derive(Copy, Clone, Default, PartialEq, Eq)]
struct HeldKey {
    total: usize,
    kept: [(u64, u32, u8, usize); HELD_IN_REPORT],
}

impl HeldKey {
    fn of(held: &[HeldEntry]) -> Self {
        let mut key = HeldKey {
            total: held.len(),
            ..HeldKey::default()
        };
        for (slot, e) in key.kept.iter_mut().zip(held) {
            let site: *const Location<'static> = e.site;
            *slot = (e.id.0, e.desc.0, e.mode as u8, site as usize);
        }
        key
    }
}

thread_local! {
    /// The summary of this thread's held locks at its last access, with the
    /// key of the stack it summarises: a thread that accesses again under
    /// the same locks (a lock taken and released around each access, say)
    /// shares it instead of building another.
    static LAST_HELD: std::cell::RefCell<(HeldKey, HeldSummary)> =
        std::cell::RefCell::new((HeldKey::default(), HeldSummary::default()));
}

fn held_summary() -> HeldSummary {
    with_thread(|t| {
        if t.held.is_empty() {
            return HeldSummary::default();
        }
        let key = HeldKey::of(&t.held);
        let summarise = || HeldSummary::new(t.held.iter().map(HeldEntry::held_lock));
        LAST_HELD
            .try_with(|last| {
                let mut last = last.borrow_mut();
                if last.0 != key {
                    *last = (key, summarise());
                }
                last.1.clone()
            })
            .unwrap_or_else(|_| summarise())
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(summary: &HeldSummary) -> Vec<u64> {
        summary.locks().map(|l| l.lock.id.0).collect()
    }

    fn lines(summary: &HeldSummary) -> Vec<u32> {
        summary.locks().map(|l| l.site.line).collect()
    }

    /// Each case changes one thing from the stack summarised just before,
    /// so a summary kept when it should have been rebuilt shows up.
    #[test]
    fn the_held_summary_follows_the_stack() {
        // Two locks alike in everything but identity: same creation site,
        // no name, taken at the same line.
        let twins: [crate::Mutex<()>; 2] = std::array::from_fn(|_| crate::Mutex::new(()));
        let mut seen = Vec::new();
        for lock in &twins {
            let _guard = lock.lock();
            seen.push(held_summary());
        }
        assert_ne!(ids(&seen[0]), ids(&seen[1]), "another lock");
        let a = crate::Mutex::named("summary.a", ());
        let first = {
            let _guard = a.lock();
            held_summary()
        };
        let again = {
            let _guard = a.lock();
            held_summary()
        };
        assert_eq!(ids(&first), ids(&again));
        assert_ne!(
            lines(&first),
            lines(&again),
            "the same lock, taken elsewhere"
        );
        let outer = a.lock();
        let deeper = {
            let _inner = twins[0].lock();
            held_summary()
        };
        assert_eq!(deeper.total, 2, "deeper");
        drop(outer);
        // Deeper than a summary keeps: only the count tells the stacks apart.
        let five: [crate::Mutex<()>; 5] = std::array::from_fn(|_| crate::Mutex::new(()));
        let four: Vec<_> = five[..4].iter().map(|l| l.lock()).collect();
        assert_eq!(held_summary().total, 4);
        let fifth = five[4].lock();
        assert_eq!(held_summary().total, 5, "one more than is kept");
        drop(fifth);
        drop(four);
        assert_eq!(held_summary().total, 0);
    }
}
