//! What happens when the live runtime finds something: record it, write it
//! to the report file, then panic, log or carry on as configured. A finding
//! that would otherwise hang the program is always broken by a panic.

use crate::detect::findings;
use crate::event::{HeldLock, ThreadInfo};
use crate::finding::Finding;
use crate::report::text;
use crate::runtime::config::{self, Policy};
use crate::runtime::global::global;
use crate::runtime::late_report::{self, Frames, Gate, LateFinding};

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

/// As [`report`], for a thread that is breaking a hang or about to block:
/// the finding's backtraces are symbolised after this returns or panics
/// (see `late_report`), so that the hang is broken (or the wait entered)
/// without waiting for them. The panic message then has the finding
/// without its frames; the full finding reaches the report file,
/// [`crate::findings`] and, by the policy, stderr. A finding without stacks,
/// a thread already panicking (it aborts next) and a build that aborts on
/// panic are reported in place, as [`report`] does.
///
/// Returns the gate the reporter waits on before it symbolises: the caller
/// drops it once it is out of the way (see `late_report`). A panic here
/// drops it while unwinding, after the panic hook has run.
#[track_caller]
pub(crate) fn report_late(late: LateFinding, severity: Severity) -> Option<Gate> {
    if !late.has_stacks() || std::thread::panicking() || !cfg!(panic = "unwind") {
        report(late.make(Frames::Symbolised), severity);
        return None;
    }
    let bare = late.make(Frames::Omitted);
    let failing = bare.is_failing(config::strict());
    let policy = config::policy();
    let panics = policy == Policy::Panic && failing && severity != Severity::NoPanic;
    let rendered = if panics || severity == Severity::Fatal {
        text::render(std::slice::from_ref(&bare), false)
    } else {
        String::new()
    };
    let gate = late_report::hand_over(late, bare);
    if panics {
        panic!(
            "lockcheck found a problem\n{rendered}(backtraces follow on stderr once symbolised)"
        );
    }
    if severity == Severity::Fatal {
        let summary = rendered.lines().next().unwrap_or_default().to_owned();
        panic!("lockcheck broke a hang instead of blocking forever: {summary}");
    }
    Some(gate)
}

/// [`report_late`] of a finding that would hang this thread: panics, to
/// break the hang.
#[track_caller]
pub(crate) fn break_hang(late: LateFinding) -> ! {
    let _gate = report_late(late, Severity::Fatal);
    unreachable!("a fatal finding is reported by a panic")
}

/// A finding that would hang this thread where a panic cannot end the
/// hang (see `acquire::OnCycle::Abort`): reported in full, then the process
/// aborts, so that the program ends instead of hanging.
pub(crate) fn abort_hang(late: LateFinding) -> ! {
    let finding = late.make(Frames::Symbolised);
    let rendered = text::render(std::slice::from_ref(&finding), false);
    let g = global();
    g.write_to_sink(&finding);
    g.findings.lock().add(finding);
    eprint!("{rendered}");
    eprintln!("lockcheck: aborting: a panic here would not end this hang");
    std::process::abort();
}

/// Records a finding handed over by [`report_late`], now symbolised: the
/// report file, this process's findings, and stderr under `log` and `panic`
/// when it is new (the panic that broke the hang showed it without frames).
pub(crate) fn record(finding: Finding) {
    let g = global();
    g.write_to_sink(&finding);
    let policy = config::policy();
    let rendered = if policy == Policy::Collect {
        String::new()
    } else {
        text::render(std::slice::from_ref(&finding), false)
    };
    if g.findings.lock().add(finding) && policy != Policy::Collect {
        eprint!("{rendered}");
    }
}

/// A thread ended with locks its state says it holds: a guard was leaked.
pub(crate) fn thread_exited_holding(thread: &ThreadInfo, held: &HeldLock) {
    report(findings::exited_holding(thread, held), Severity::NoPanic);
}
