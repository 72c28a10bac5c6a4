//! A hang lockcheck cannot break is still explained: `lockcheck run
//! --timeout` asks the program, before it kills it, what each of its
//! threads waits for (one `hang` finding; the exit status stays 124), and a
//! running program started with `LOCKCHECK_SNAPSHOT=PATH` answers a request
//! written to PATH. The program is `tests/programs/hang_unseen.rs`: its
//! main thread holds `snapshot.conn` and waits in a std channel, its
//! worker waits for `snapshot.conn`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lockcheck::finding::{Finding, WaitOnKind};
use lockcheck::FindingKind;

#[path = "../../tests/common/mod.rs"]
mod common;

/// The worker, blocked on `snapshot.conn`, and the main thread, which
/// lockcheck cannot see into, in one `hang` finding.
fn assert_explains_the_hang(f: &Finding) {
    assert_eq!(f.kind, FindingKind::Hang, "{f:#?}");
    assert!(!f.is_failing(true), "a snapshot alone never fails a run");
    assert_eq!(f.blocked.len(), 1, "{f:#?}");
    let worker = &f.blocked[0];
    assert_eq!(worker.thread.name.as_deref(), Some("worker"));
    assert_eq!(worker.waits_on.kind, WaitOnKind::Lock);
    assert_eq!(worker.waits_on.name.as_deref(), Some("snapshot.conn"));
    assert!(
        f.notes.iter().any(|n| n.contains("'main'")
            && n.contains("running, or blocked where lockcheck does not see")),
        "{:#?}",
        f.notes
    );
}

#[test]
fn a_program_killed_at_its_timeout_says_what_each_thread_waited_for() {
    let exe = common::fixture_exe("hang_unseen");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args([
            "run",
            "--format",
            "json",
            "--no-backtrace",
            "--timeout",
            "3s",
            "--",
        ])
        .arg(&exe)
        .output()
        .expect("run lockcheck");
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings: Vec<Finding> = serde_json::from_value(doc["findings"].clone()).expect("findings");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_explains_the_hang(&findings[0]);
    assert!(
        findings[0]
            .summary
            .starts_with("the program had not ended after 3s"),
        "{}",
        findings[0].summary
    );
    assert_eq!(doc["run"]["timed_out"], true);
}

#[test]
fn a_running_program_answers_a_snapshot_request() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let request = dir.path().join("request");
    let report = dir.path().join("report.jsonl");
    let mut child = Command::new(common::fixture_exe("hang_unseen"))
        .env("LOCKCHECK_SNAPSHOT", &request)
        .env("LOCKCHECK_REPORT", &report)
        // Reported as it is found, as without `lockcheck run`: the snapshot
        // goes to stderr too.
        .env("LOCKCHECK_POLICY", "log")
        .env("LOCKCHECK_BACKTRACE", "0")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    // Asked until the worker is seen blocked (it registers after the
    // grace period); each answer removes the request.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answered = 0;
    let hang = loop {
        assert!(
            Instant::now() < deadline,
            "no snapshot with the worker blocked"
        );
        std::fs::write(&request, "asked by the test\n").expect("write the request");
        while request.exists() {
            assert!(Instant::now() < deadline, "the request was never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        answered += 1;
        let text = std::fs::read_to_string(&report).expect("the report file");
        let last: Option<Finding> = text
            .lines()
            .rev()
            .find(|l| l.contains("\"hang\""))
            .map(|l| serde_json::from_str(l).expect("a finding line"));
        if let Some(f) = last.filter(|f| !f.blocked.is_empty()) {
            break f;
        }
    };
    child.kill().expect("kill the program");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let said: Vec<String> = stderr.lines().map_while(Result::ok).collect();
    let _ = child.wait();
    assert_explains_the_hang(&hang);
    assert!(
        hang.summary.starts_with("asked by the test"),
        "{}",
        hang.summary
    );
    assert!(
        said.iter()
            .any(|l| l.contains("hang") && l.contains("asked by the test")),
        "the snapshot is on stderr too ({answered} asked): {said:#?}"
    );
}
