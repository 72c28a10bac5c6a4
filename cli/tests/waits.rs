//! Waits on condition variables, channels, joins and barriers under
//! `lockcheck run`: the deadlocks of the second rule ("nobody left to wake
//! anyone") and of a cycle through the end of a scope are reported, and
//! their near misses are not. The programs are the scenarios of
//! `tests/programs/waits.rs`, each a process of its own: the libtest
//! harness's main thread waits where lockcheck does not see, so the second
//! rule cannot fire inside a test binary.

use std::process::Command;

use lockcheck::finding::{Finding, WaitOnKind};
use lockcheck::FindingKind;

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
mod common;

/// `lockcheck run --format json -- waits SCENARIO`: the findings and the
/// exit status.
fn run(scenario: &str) -> (Vec<Finding>, i32) {
    let exe = common::fixture_exe("waits");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--format", "json", "--no-backtrace"])
        // A hang (a regression) fails the test instead of the suite.
        .args(["--timeout", "60s"])
        .arg("--")
        .arg(&exe)
        .arg(scenario)
        .output()
        .expect("run lockcheck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{scenario}: stdout is not JSON ({e}):\n{stdout}"));
    let findings = serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("{scenario}: findings do not parse: {e}"));
    (findings, out.status.code().expect("lockcheck exits"))
}

/// The one deadlock `scenario` must report, with the kinds of its waits.
fn one_deadlock(scenario: &str) -> (Finding, Vec<WaitOnKind>) {
    let (findings, code) = run(scenario);
    assert_eq!(code, 1, "{scenario}: {findings:#?}");
    let deadlocks: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::Deadlock)
        .collect();
    assert_eq!(deadlocks.len(), 1, "{scenario}: {findings:#?}");
    let f = deadlocks[0].clone();
    let mut kinds: Vec<WaitOnKind> = f.blocked.iter().map(|b| b.waits_on.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    (f, kinds)
}

/// Near misses: no finding, exit 0.
fn clean(scenario: &str) {
    let (findings, code) = run(scenario);
    assert!(findings.is_empty(), "{scenario}: {findings:#?}");
    assert_eq!(code, 0, "{scenario}");
}

#[test]
fn a_receiver_holding_the_lock_its_only_sender_needs_is_a_deadlock() {
    let (f, kinds) = one_deadlock("receiver_holds_the_senders_lock");
    assert_eq!(kinds, [WaitOnKind::Lock, WaitOnKind::Receive], "{f:#?}");
    assert!(
        f.summary.contains("nobody is left to wake them"),
        "{}",
        f.summary
    );
    let receiver = f
        .blocked
        .iter()
        .find(|b| b.waits_on.kind == WaitOnKind::Receive)
        .expect("the receiver");
    assert_eq!(receiver.holds[0].lock.name.as_deref(), Some("waits.books"));
}

#[test]
fn a_scope_that_ends_under_the_lock_its_thread_needs_is_a_deadlock() {
    let (f, kinds) = one_deadlock("scope_end_under_a_lock");
    assert_eq!(kinds, [WaitOnKind::Join, WaitOnKind::Lock], "{f:#?}");
    assert!(f.summary.contains("cycle"), "{}", f.summary);
}

#[test]
fn a_busy_notifier_is_no_deadlock() {
    clean("busy_notifier");
}

#[test]
fn a_std_thread_that_notifies_later_is_no_deadlock() {
    clean("std_thread_notifies_later");
}

#[test]
fn a_timed_wait_in_a_loop_is_no_deadlock() {
    clean("timed_wait_in_a_loop");
}

#[test]
fn a_recv_that_ends_because_every_sender_is_gone_is_clean() {
    clean("recv_after_every_sender_is_gone");
}

#[test]
fn a_rendezvous_producer_and_consumer_are_clean() {
    clean("rendezvous_producer_consumer");
}
