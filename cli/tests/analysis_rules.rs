//! Rules of the trace analysis that no other test would see broken, each
//! checked through the `Analyzer` and through `lockcheck analyze` on a small
//! trace, beside the near miss it must not report:
//! - an acquire of a lock another thread holds in a conflicting mode, or a
//!   release of a lock the thread does not hold, is a `lock-misuse` (the
//!   trace is inconsistent), while a lock handed over is not;
//! - under `--lockset`, a write counts only the locks held exclusively: two
//!   threads writing under an `RwLock`'s read guard are a predicted race,
//!   under its write guard they are not.

use std::io::Write;
use std::process::Output;

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::Finding;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck::FindingKind;

/// Declarations every trace below starts with: two named threads, a mutex,
/// an rwlock and a variable.
const HEAD: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"m\"
3 T1 lock L2 rwlock a.rs:2:1 \"rw\"
4 T1 var V1 a.rs:3:1 \"x\"
5 T1 spawn T2 a.rs:4:1
6 T2 thread \"worker\"
";

/// The trace `HEAD` then `body`.
fn trace(body: &str) -> String {
    format!("{HEAD}{body}")
}

/// The findings of `text` (a lockcheck trace) through the `Analyzer`.
fn analyse(text: &str, lockset: bool) -> Vec<Finding> {
    let mut analyzer = Analyzer::new(OrderGranularity::Instance).with_lockset(lockset);
    for event in LockcheckReader::new(text.as_bytes(), "test.lct") {
        let event = event.unwrap_or_else(|e| panic!("the test's trace is malformed: {e}"));
        analyzer.event(&event);
    }
    analyzer.finish()
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// `lockcheck analyze --format json <options> FILE` on `text`, written to a
/// temporary file named `*{suffix}`: its findings and exit status. Panics
/// unless stdout is one JSON report and stderr is empty (a skipped line
/// would be reported there, and the test's trace must be well formed).
fn analyze_cli(text: &str, suffix: &str, options: &[&str]) -> (Vec<Finding>, i32) {
    let mut file = tempfile::Builder::new()
        .prefix("analysis-rules-")
        .suffix(suffix)
        .tempfile()
        .expect("temporary trace file");
    file.write_all(text.as_bytes()).expect("write the trace");
    let out: Output = std::process::Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .arg("analyze")
        .args(["--format", "json"])
        .args(options)
        .arg(file.path())
        .output()
        .expect("run lockcheck analyze");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr:\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    let findings = serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("findings do not parse ({e}):\n{stdout}"));
    let code = out.status.code().expect("lockcheck exits, not killed");
    (findings, code)
}

// --- lock-misuse: an acquire of a lock another thread holds ---------------

/// main holds m when the worker's acquisition of it is recorded.
const ACQUIRED_WHILE_HELD: &str = "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T2 acq L1 exclusive blocking a.rs:11:1
12 T2 rel L1 a.rs:11:1
13 T1 rel L1 a.rs:10:1
";

/// The near miss: main releases m before the worker takes it.
const HANDED_OVER: &str = "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 rel L1 a.rs:10:1
12 T2 acq L1 exclusive blocking a.rs:11:1
13 T2 rel L1 a.rs:11:1
";

/// Two readers at once hold the rwlock in modes that do not exclude each
/// other: no misuse either.
const TWO_READERS: &str = "10 T1 acq L2 read blocking a.rs:10:1
11 T2 acq L2 read blocking a.rs:11:1
12 T2 rel L2 a.rs:11:1
13 T1 rel L2 a.rs:10:1
";

#[test]
fn an_acquire_of_a_lock_another_thread_holds_is_lock_misuse() {
    let found = analyse(&trace(ACQUIRED_WHILE_HELD), false);
    assert_eq!(kinds(&found), [FindingKind::LockMisuse], "{found:#?}");
    let summary = &found[0].summary;
    assert!(
        summary.contains("acquired (trace says) while") && summary.contains("main"),
        "the summary names the holder: {summary}"
    );
    assert!(summary.contains("worker"), "and the acquirer: {summary}");
    assert!(
        found[0].events.iter().any(|e| e.site.line == 11),
        "the acquisition's site: {found:#?}"
    );
}

#[test]
fn a_lock_handed_over_or_shared_by_readers_is_no_misuse() {
    for (name, body) in [("handed over", HANDED_OVER), ("two readers", TWO_READERS)] {
        let found = analyse(&trace(body), false);
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

#[test]
fn lockcheck_analyze_reports_an_acquire_of_a_held_lock_and_passes_a_hand_over() {
    let (found, code) = analyze_cli(&trace(ACQUIRED_WHILE_HELD), ".lct", &[]);
    assert_eq!(kinds(&found), [FindingKind::LockMisuse], "{found:#?}");
    assert!(found[0].summary.contains("acquired (trace says) while"));
    assert_eq!(code, 1, "a lock-misuse fails the analysis");

    let (found, code) = analyze_cli(&trace(HANDED_OVER), ".lct", &[]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, 0);
}

/// The same rule on RAPID's STD format, whose locks are Java monitors
/// (reentrant): re-entry by the holder is fine, another thread is not.
#[test]
fn lockcheck_analyze_reports_an_acquire_of_a_held_monitor_in_std_traces() {
    let held =
        "T1|acq(m)|10\nT1|acq(m)|11\nT2|acq(m)|12\nT2|rel(m)|13\nT1|rel(m)|14\nT1|rel(m)|15\n";
    let (found, code) = analyze_cli(held, ".std", &["--input-format", "std"]);
    assert_eq!(kinds(&found), [FindingKind::LockMisuse], "{found:#?}");
    assert!(found[0].summary.contains("acquired (trace says) while"));
    assert_eq!(code, 1);

    let handed =
        "T1|acq(m)|10\nT1|acq(m)|11\nT1|rel(m)|14\nT1|rel(m)|15\nT2|acq(m)|12\nT2|rel(m)|13\n";
    let (found, code) = analyze_cli(handed, ".std", &["--input-format", "std"]);
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(code, 0);
}

// --- lock-misuse: a release of a lock not held ----------------------------

/// The worker releases m, which main took and released.
const RELEASED_NOT_HELD: &str = "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 rel L1 a.rs:10:1
12 T2 rel L1 a.rs:12:1
";

/// main releases m twice.
const RELEASED_TWICE: &str = "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 rel L1 a.rs:10:1
12 T1 rel L1 a.rs:12:1
";

#[test]
fn a_release_of_a_lock_not_held_is_lock_misuse() {
    for (name, body, thread) in [
        ("another thread's", RELEASED_NOT_HELD, "worker"),
        ("a second", RELEASED_TWICE, "main"),
    ] {
        let found = analyse(&trace(body), false);
        assert_eq!(
            kinds(&found),
            [FindingKind::LockMisuse],
            "{name}: {found:#?}"
        );
        let summary = &found[0].summary;
        assert!(
            summary.contains("unlocked a lock it does not hold") && summary.contains(thread),
            "{name}: {summary}"
        );
        assert!(
            found[0].events.iter().any(|e| e.site.line == 12),
            "{name}: the release's site: {found:#?}"
        );
    }
    // The near miss, each release ending a hold, is the hand-over above.
    assert!(analyse(&trace(HANDED_OVER), false).is_empty());
}

#[test]
fn lockcheck_analyze_reports_a_release_of_a_lock_not_held() {
    let (found, code) = analyze_cli(&trace(RELEASED_NOT_HELD), ".lct", &[]);
    assert_eq!(kinds(&found), [FindingKind::LockMisuse], "{found:#?}");
    assert!(found[0]
        .summary
        .contains("unlocked a lock it does not hold"));
    assert_eq!(code, 1);

    let (found, code) = analyze_cli("T1|acq(m)|1\nT1|rel(m)|2\nT2|rel(m)|3\n", ".std", &[]);
    assert_eq!(kinds(&found), [FindingKind::LockMisuse], "std: {found:#?}");
    assert_eq!(code, 1);
}

/// A lock-misuse says the trace is inconsistent, but the analysis goes on:
/// a race after both kinds of misuse is still found.
#[test]
fn the_analysis_goes_on_after_a_lock_misuse() {
    let body = "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T2 acq L1 exclusive blocking a.rs:11:1
12 T2 rel L1 a.rs:11:1
13 T1 rel L1 a.rs:10:1
14 T2 rel L1 a.rs:14:1
15 T1 w V1 a.rs:15:1
16 T2 w V1 a.rs:16:1
";
    let found = analyse(&trace(body), false);
    assert_eq!(
        kinds(&found),
        [
            FindingKind::LockMisuse,
            FindingKind::LockMisuse,
            FindingKind::DataRace
        ],
        "{found:#?}"
    );
}

// --- the lockset check: a write counts only exclusive holds ---------------

/// The worker, then (after the worker was joined) a second thread, each
/// write x holding rw in `mode`. The join orders the writes, so
/// happens-before sees no race; the lockset check asks whether one lock
/// protects every write, and a read hold protects no write: two readers
/// hold it at once.
fn writes_under(mode: &str) -> String {
    trace(&format!(
        "10 T2 acq L2 {mode} blocking a.rs:10:1
11 T2 w V1 a.rs:11:1
12 T2 rel L2 a.rs:10:1
13 T2 end
14 T1 join T2 a.rs:14:1
15 T1 spawn T3 a.rs:15:1
16 T3 acq L2 {mode} blocking a.rs:16:1
17 T3 w V1 a.rs:17:1
18 T3 rel L2 a.rs:16:1
19 T3 end
20 T1 join T3 a.rs:20:1
"
    ))
}

fn assert_one_predicted_race(found: &[Finding], what: &str) {
    assert_eq!(kinds(found), [FindingKind::DataRace], "{what}: {found:#?}");
    assert!(
        found[0].summary.starts_with("predicted data race"),
        "{what}: {}",
        found[0].summary
    );
}

#[test]
fn writes_under_a_read_guard_are_a_predicted_race_and_under_a_write_guard_are_not() {
    let read = analyse(&writes_under("read"), true);
    assert_one_predicted_race(&read, "writes under read guards");
    // Without the lockset check, happens-before (the join) orders them.
    let read_hb = analyse(&writes_under("read"), false);
    assert!(read_hb.is_empty(), "{read_hb:#?}");
    // The near miss: the write guard excludes the other writer.
    let write = analyse(&writes_under("exclusive"), true);
    assert!(write.is_empty(), "{write:#?}");
}

#[test]
fn lockcheck_analyze_lockset_counts_only_exclusive_holds_for_writes() {
    let (read, code) = analyze_cli(&writes_under("read"), ".lct", &["--lockset"]);
    assert_one_predicted_race(&read, "writes under read guards");
    assert_eq!(code, 1);

    let (read_hb, code) = analyze_cli(&writes_under("read"), ".lct", &[]);
    assert!(read_hb.is_empty(), "without --lockset: {read_hb:#?}");
    assert_eq!(code, 0);

    let (write, code) = analyze_cli(&writes_under("exclusive"), ".lct", &["--lockset"]);
    assert!(write.is_empty(), "{write:#?}");
    assert_eq!(code, 0);
}

/// A task (T2) that yields holding a lock of `kind`.
fn yields_holding(kind: &str) -> String {
    format!(
        "{HEAD}7 T1 lock L3 {kind} a.rs:5:1 \"held\"
8 T2 acq L3 exclusive blocking a.rs:6:1
9 T2 yield a.rs:7:1
10 T2 rel L3 a.rs:6:1
"
    )
}

#[test]
fn a_task_that_yields_holding_a_blocking_lock_is_held_across_await() {
    let text = yields_holding("mutex");
    let found = analyse(&text, false);
    assert_eq!(kinds(&found), [FindingKind::HeldAcrossAwait], "{found:#?}");
    assert_eq!(found[0].events[0].site.line, 6, "where the lock was taken");
    let (cli, status) = analyze_cli(&text, ".lct", &[]);
    assert_eq!(kinds(&cli), [FindingKind::HeldAcrossAwait]);
    assert_eq!(status, 1);
}

#[test]
fn a_task_that_yields_holding_an_async_lock_is_clean() {
    let text = yields_holding("async-mutex");
    assert!(analyse(&text, false).is_empty());
    let (cli, status) = analyze_cli(&text, ".lct", &[]);
    assert!(cli.is_empty());
    assert_eq!(status, 0);
}
