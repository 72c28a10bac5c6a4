//! What happens when the live runtime finds something: record it, write it
//! to the report file, then panic, log or carry on as configured. A finding
//! that would otherwise hang the program is always broken by a panic.

use crate::detect::findings;
use crate::event::{HeldLock, ThreadInfo};
use crate::finding::Finding;
use crate::report::text;
use crate::runtime::config::{self, Policy};
use crate::runtime::global::global;

/// Whether the finding describes a hang that is about to happen.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// A hazard: the program can go on.
    Hazard,
    /// The thread would block forever: it must not go on.
    Fatal,
    /// Reported where a panic is not allowed (a thread-local destructor).
    NoPanic,
}

/// Records a finding and acts on it. Returns only when the program may go on.
/// A panic is located at the user's call (every caller up to the wrapper's
/// method tracks its caller).
#[track_caller]
pub(crate) fn report(finding: Finding, severity: Severity) {
    let g = global();
    g.write_to_sink(&finding);
    let failing = finding.is_failing(config::strict());
    let policy = config::policy();
    // Under `collect` (as under `lockcheck run`) the text is only needed to
    // break a hang; a finding seen a thousand times is not rendered each time.
    let rendered = if policy != Policy::Collect || severity == Severity::Fatal {
        text::render(std::slice::from_ref(&finding), false)
    } else {
        String::new()
    };
    let new = g.findings.lock().add(finding);
    let panicking = std::thread::panicking();
    match policy {
        Policy::Panic if failing && severity != Severity::NoPanic && !panicking => {
            panic!("lockcheck found a problem\n{rendered}");
        }
        Policy::Log | Policy::Panic if new => eprint!("{rendered}"),
        _ => {}
    }
    if severity == Severity::Fatal {
        if panicking {
            // A panic during unwinding aborts anyway; say why first.
            eprint!("{rendered}");
            eprintln!(
                "lockcheck: aborting: this thread would block forever while already panicking"
            );
            std::process::abort();
        }
        let summary = rendered.lines().next().unwrap_or_default().to_owned();
        panic!("lockcheck broke a hang instead of blocking forever: {summary}");
    }
}

/// A thread ended with locks its state says it holds: a guard was leaked.
pub(crate) fn thread_exited_holding(thread: &ThreadInfo, held: &HeldLock) {
    report(findings::exited_holding(thread, held), Severity::NoPanic);
}
