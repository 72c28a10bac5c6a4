//! The lockset check (Eraser), off by default: it predicts a race that
//! this run's interleaving hid, labelled as predicted; a variable with one
//! lock held at every access stays clean; a write counts only the locks held
//! exclusively. Live (the switch set from code) and under `lockcheck run
//! --lockset`. Its own test binary, since the switch is process-wide; the
//! tests that flip it hold [`SWITCH`], so that they do not flip it under
//! each other.

use std::process::Command;
use std::sync::Arc;

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
mod common;

use common::races_on;
use lockcheck::config::{self, Policy};
use lockcheck::{thread, Finding, Mutex, RwLock, Shared};

/// Held by every test that sets the process-wide lockset switch.
static SWITCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn switch_lockset() -> std::sync::MutexGuard<'static, ()> {
    // A test that failed while holding it poisoned it; the switch is still
    // usable (each test sets it before use).
    SWITCH
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Thread 1 writes under `lock`; thread 2, spawned after thread 1 was
/// joined, takes and releases `lock` and then writes without it. Run in the
/// other order, thread 2's write and thread 1's are unordered.
fn hidden_race(name: &'static str, lock: &Arc<Mutex<()>>) {
    let x = Arc::new(Shared::named(name, 0));
    let (l1, x1) = (lock.clone(), x.clone());
    thread::spawn(move || {
        let _g = l1.lock();
        x1.set(1);
    })
    .join()
    .unwrap();
    let (l2, x2) = (lock.clone(), x.clone());
    thread::spawn(move || {
        drop(l2.lock());
        x2.set(2);
    })
    .join()
    .unwrap();
}

#[test]
fn the_lockset_check_predicts_a_race_the_interleaving_hid() {
    let _switch = switch_lockset();
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
    let lock = Arc::new(Mutex::named("lockset.m", ()));

    config::set_lockset(false);
    hidden_race("lockset.off", &lock);
    assert!(
        races_on("lockset.off").is_empty(),
        "happens-before sees no race"
    );

    config::set_lockset(true);
    hidden_race("lockset.on", &lock);
    let found = races_on("lockset.on");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].summary.starts_with("predicted data race"),
        "{}",
        found[0].summary
    );

    // Near miss: every access under the lock.
    let x = Arc::new(Shared::named("lockset.guarded", 0));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (l, x) = (lock.clone(), x.clone());
            thread::spawn(move || {
                let _g = l.lock();
                x.set(i);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert!(races_on("lockset.guarded").is_empty());
    config::set_lockset(false);
}

/// Two threads, the second spawned after the first was joined (so
/// happens-before orders them), each write the `Shared` named `name` while
/// holding `lock`'s read guard, or its write guard when `exclusive`. A read
/// guard protects no write: two readers hold it at once.
fn writes_under_guards(name: &'static str, lock: &Arc<RwLock<()>>, exclusive: bool) {
    let x = Arc::new(Shared::named(name, 0));
    for i in 0..2 {
        let (lock, x) = (lock.clone(), x.clone());
        thread::spawn(move || {
            if exclusive {
                let _g = lock.write();
                x.set(i);
            } else {
                let _g = lock.read();
                x.set(i);
            }
        })
        .join()
        .unwrap();
    }
}

fn assert_one_predicted_race(found: &[Finding], what: &str) {
    assert_eq!(found.len(), 1, "{what}: {found:#?}");
    assert!(
        found[0].summary.starts_with("predicted data race"),
        "{what}: {}",
        found[0].summary
    );
}

#[test]
fn a_write_counts_only_locks_held_exclusively() {
    let _switch = switch_lockset();
    config::set_policy(Policy::Collect);
    config::set_backtraces(false);
    let lock = Arc::new(RwLock::named("lockset.rw", ()));

    config::set_lockset(true);
    writes_under_guards("lockset.read_guards", &lock, false);
    writes_under_guards("lockset.write_guards", &lock, true);
    config::set_lockset(false);
    writes_under_guards("lockset.read_guards.off", &lock, false);

    assert_one_predicted_race(&races_on("lockset.read_guards"), "under read guards");
    // The near miss: the write guard excludes the other writer.
    let write = races_on("lockset.write_guards");
    assert!(write.is_empty(), "under write guards: {write:#?}");
    // And without the check the join orders the writes: the finding above
    // is the lockset check's, not happens-before's.
    let off = races_on("lockset.read_guards.off");
    assert!(off.is_empty(), "lockset off: {off:#?}");
}

// --- `lockcheck run --lockset` ---------------------------------------------
//
// The programs it runs are this test binary itself, asked to run one of the
// ignored tests below in a process of its own: it gets lockcheck's settings
// from the environment `lockcheck run` gives it, as any program does.

/// Not a test on its own: the program
/// [`lockcheck_run_lockset_predicts_what_only_the_lockset_check_sees`] runs
/// under `lockcheck run`: writes under read guards, ordered by a join.
#[test]
#[ignore = "a program for `lockcheck run`, started by another test of this file"]
fn program_writing_under_read_guards() {
    // Run by hand with --include-ignored, beside the tests above, it must
    // not meet the switch they flip.
    let _switch = switch_lockset();
    let lock = Arc::new(RwLock::named("run.rw", ()));
    writes_under_guards("run.read_guards", &lock, false);
}

/// Not a test on its own: the near miss of
/// [`program_writing_under_read_guards`], under write guards.
#[test]
#[ignore = "a program for `lockcheck run`, started by another test of this file"]
fn program_writing_under_write_guards() {
    // Run by hand with --include-ignored, beside the tests above, it must
    // not meet the switch they flip.
    let _switch = switch_lockset();
    let lock = Arc::new(RwLock::named("run.rw", ()));
    writes_under_guards("run.write_guards", &lock, true);
}

/// `lockcheck run --format json [--lockset] -- <this test binary> <program>`:
/// the findings and the exit status.
fn run_program(program: &str, lockset: bool) -> (Vec<Finding>, i32) {
    let exe = std::env::current_exe().expect("test executable path");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockcheck"));
    cmd.args(["run", "--format", "json", "--no-backtrace"])
        // A program that hangs (a regression) fails the test instead of
        // hanging the suite.
        .args(["--timeout", "120s"]);
    if lockset {
        cmd.arg("--lockset");
    }
    cmd.arg("--")
        .arg(&exe)
        .args(["--exact", program, "--ignored", "--test-threads=1"]);
    let out = cmd.output().expect("run lockcheck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 passed"),
        "{program} did not run as one test:\n{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    let findings = serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("findings do not parse ({e}):\n{stdout}"));
    let code = out.status.code().expect("lockcheck exits, not killed");
    (findings, code)
}

#[test]
fn lockcheck_run_lockset_predicts_what_only_the_lockset_check_sees() {
    let (found, code) = run_program("program_writing_under_read_guards", true);
    assert_one_predicted_race(&found, "run --lockset, read guards");
    assert_eq!(
        found[0].variable.as_ref().and_then(|v| v.name.as_deref()),
        Some("run.read_guards")
    );
    assert_eq!(code, 1, "a predicted race fails the run");

    // Without --lockset, happens-before alone: the join orders the writes.
    let (found, code) = run_program("program_writing_under_read_guards", false);
    assert!(found.is_empty(), "run without --lockset: {found:#?}");
    assert_eq!(code, 0);

    // The near miss: under the write guard, clean with --lockset too.
    let (found, code) = run_program("program_writing_under_write_guards", true);
    assert!(found.is_empty(), "run --lockset, write guards: {found:#?}");
    assert_eq!(code, 0);
}
