//! A deadlock is broken before its report is symbolised: symbolising
//! backtraces is slow (the first time in a process it loads the program's
//! debug information), and the threads of the cycle must not wait for it.
//! The report is still whole afterwards: symbolised, and in the findings.
//! Its own test binary, since it turns backtraces on for the whole process.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use lockcheck::config::{self, Policy};
use lockcheck::{Finding, FindingKind, Mutex};

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
mod common;

/// Far beyond what a break takes (the 50 ms grace period, then a panic).
const DEADLINE: Duration = Duration::from_secs(20);

/// Takes `first`, waits until the other thread holds its own first lock,
/// then takes `second`: with the other thread doing the same in the other
/// order, a certain deadlock. Not inlined, so that it is a frame of the
/// report's backtraces.
#[inline(never)]
fn take_in_order(first: &Mutex<()>, second: &Mutex<()>, both_hold_one: &Barrier) {
    let _first = first.lock();
    both_hold_one.wait();
    let _second = second.lock();
}

/// The functions of every frame of every wait in `finding`.
fn wait_frames(finding: &Finding) -> Vec<String> {
    finding
        .waits
        .iter()
        .flat_map(|w| w.backtrace.iter().map(|f| f.function.clone()))
        .collect()
}

#[test]
fn a_deadlock_is_broken_while_symbolisation_is_held_back() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(true);
    let a = Arc::new(Mutex::named("late.a", ()));
    let b = Arc::new(Mutex::named("late.b", ()));
    let both_hold_one = Arc::new(Barrier::new(2));
    let (finished, finish) = mpsc::channel();
    // Until this is dropped, every symbolisation in the process waits: had
    // the thread that closes the cycle symbolised its report (or the
    // lock-order cycle it found on the way) before panicking, it would wait
    // here with its lock held, and neither thread would finish.
    let held_back = lockcheck::stack::hold_symbolisation();
    let spawn = |first: &Arc<Mutex<()>>, second: &Arc<Mutex<()>>, name: &'static str| {
        let (first, second) = (Arc::clone(first), Arc::clone(second));
        let (both_hold_one, finished) = (Arc::clone(&both_hold_one), finished.clone());
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                take_in_order(&first, &second, &both_hold_one);
                let _ = finished.send(name);
            })
            .expect("spawn")
    };
    let alice = spawn(&a, &b, "alice");
    let bob = spawn(&b, &a, "bob");
    // One of them closes the cycle and panics, which releases its first
    // lock; the other then takes its second lock and finishes.
    let survivor = finish
        .recv_timeout(DEADLINE)
        .expect("the deadlock was not broken while symbolisation was held back");
    drop(held_back);
    let ok = [alice.join().is_ok(), bob.join().is_ok()];
    assert_eq!(
        ok,
        if survivor == "alice" {
            [true, false]
        } else {
            [false, true]
        },
        "the thread that finished is the one that did not panic"
    );
    let deadlocks: Vec<Finding> = lockcheck::take_findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::Deadlock)
        .filter(|f| f.locks.iter().any(|l| l.name.as_deref() == Some("late.a")))
        .collect();
    assert_eq!(deadlocks.len(), 1, "{deadlocks:#?}");
    // Symbolised after the break, and in the findings by the time they are
    // asked for.
    let frames = wait_frames(&deadlocks[0]);
    assert!(
        frames.iter().any(|f| f.contains("take_in_order")),
        "the report's waits have their frames: {frames:#?}"
    );
}

/// The same under `lockcheck run`, where the findings reach the report file:
/// the fixture's deadlock is reported with the frames symbolised after it
/// was broken (the program's exit waits for them), not without them.
#[test]
fn under_run_the_broken_deadlock_is_reported_with_its_frames() {
    let exe = common::fixture_exe("noodles_and_fork_hang");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--format", "json", "--timeout", "120s", "--"])
        .arg(&exe)
        .output()
        .expect("run lockcheck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    let findings: Vec<Finding> =
        serde_json::from_value(doc["findings"].clone()).expect("findings parse");
    assert_eq!(out.status.code(), Some(1), "{findings:#?}");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].kind, FindingKind::Deadlock);
    let frames = wait_frames(&findings[0]);
    assert!(
        frames.iter().any(|f| f.contains("noodles_and_fork_hang")),
        "the waits have the fixture's frames: {frames:#?}"
    );
}

/// Waits for `child` (its stderr piped) to end, within [`DEADLINE`]: its
/// exit status and all it wrote on stderr. Killed, and the test failed,
/// past the deadline.
fn finish_within_deadline(
    mut child: std::process::Child,
    what: &str,
) -> (std::process::ExitStatus, String) {
    let mut pipe = child.stderr.take().expect("piped stderr");
    let (sent, stderr) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        let _ = sent.send(text);
    });
    let Ok(stderr) = stderr.recv_timeout(DEADLINE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} did not end within {DEADLINE:?}");
    };
    let status = child.wait().expect("wait for the child");
    (status, stderr)
}

/// Under policy `panic` (a `#[test]`'s), the thread that breaks the hang
/// panics at the user's call with the report made without frames, and the
/// report follows on stderr once symbolised (before the program ends).
#[test]
fn under_policy_panic_the_panic_is_at_the_users_call_and_the_report_follows() {
    let exe = common::fixture_exe("noodles_and_fork_hang");
    let child = Command::new(&exe)
        .env("LOCKCHECK_POLICY", "panic")
        .env("LOCKCHECK_BACKTRACE", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("LOCKCHECK")
        .env_remove("LOCKCHECK_REPORT")
        .env_remove("LOCKCHECK_TRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the fixture");
    let (status, stderr) = finish_within_deadline(child, "the fixture");
    assert!(status.success(), "{status}\n{stderr}");
    assert!(
        stderr.contains("panicked at fixtures/noodles_and_fork_hang.rs:"),
        "the panic is located at the fixture's call:\n{stderr}"
    );
    let message = stderr
        .find("(backtraces follow on stderr once symbolised)")
        .unwrap_or_else(|| panic!("the panic message says the frames follow:\n{stderr}"));
    assert!(
        stderr[message..].contains("error[lock-order-cycle]"),
        "the symbolised report follows the panic message:\n{stderr}"
    );
}

/// Set in the environment of [`exits_right_after_a_break`] when it runs as
/// the program of [`the_process_exit_waits_for_the_report`].
const CHILD: &str = "BREAK_BEFORE_SYMBOLS_CHILD";

/// The program of [`the_process_exit_waits_for_the_report`]: breaks a
/// deadlock between two threads it never joins, and exits as soon as the
/// survivor is done, long before the report could be symbolised, had the
/// exit not waited for it.
#[test]
#[ignore = "a program run by the_process_exit_waits_for_the_report"]
fn exits_right_after_a_break() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let a = Arc::new(Mutex::named("exit.a", ()));
    let b = Arc::new(Mutex::named("exit.b", ()));
    let both_hold_one = Arc::new(Barrier::new(2));
    let (finished, finish) = mpsc::channel();
    for (first, second) in [(&a, &b), (&b, &a)] {
        let (first, second) = (Arc::clone(first), Arc::clone(second));
        let (both_hold_one, finished) = (Arc::clone(&both_hold_one), finished.clone());
        std::thread::spawn(move || {
            take_in_order(&first, &second, &both_hold_one);
            let _ = finished.send(());
        });
    }
    let broken = finish.recv_timeout(DEADLINE).is_ok();
    std::process::exit(if broken { 0 } else { 3 });
}

/// A program that exits right after lockcheck broke its deadlock still
/// gets the report, with its frames, into the report file: the exit waits
/// for the symbolisation that the break did not.
#[test]
fn the_process_exit_waits_for_the_report() {
    let report = tempfile::NamedTempFile::new().expect("a report file");
    let child = Command::new(std::env::current_exe().expect("this test's executable"))
        .args(["--ignored", "--exact", "exits_right_after_a_break"])
        .env(CHILD, "1")
        .env("LOCKCHECK_REPORT", report.path())
        .env("LOCKCHECK_POLICY", "collect")
        .env("LOCKCHECK_BACKTRACE", "1")
        .env_remove("LOCKCHECK")
        .env_remove("LOCKCHECK_TRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let (status, stderr) = finish_within_deadline(child, "the program");
    assert!(status.success(), "{status}\n{stderr}");
    let lines = std::fs::read_to_string(report.path()).expect("read the report file");
    // Beside the findings, the line in which the process announced itself.
    let findings: Vec<Finding> = lines
        .lines()
        .filter(|line| !line.starts_with("{\"lockcheck-process\":"))
        .map(|line| serde_json::from_str(line).expect("a finding a line"))
        .collect();
    let deadlock = findings
        .iter()
        .find(|f| f.kind == FindingKind::Deadlock)
        .unwrap_or_else(|| panic!("no deadlock in the report file: {findings:#?}\n{stderr}"));
    let frames = wait_frames(deadlock);
    assert!(
        frames.iter().any(|f| f.contains("take_in_order")),
        "the report file's deadlock has its frames: {frames:#?}"
    );
}
