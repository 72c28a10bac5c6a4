//! Every fixture program runs through `lockcheck run --format json`, and its
//! findings must match the verdict in its header and name every line marked
//! `// <- reported`. A few fixtures also get checks of the details their
//! lesson is about (the 5-cycle, the gate, the merged deadlock).

use std::path::Path;
use std::process::Command;

use lockcheck::finding::Finding;
use lockcheck::fixture::{FixtureSpec, Verdict};
use lockcheck::FindingKind;

mod common;

struct Run {
    findings: Vec<Finding>,
    code: i32,
}

fn run_fixture(name: &str, extra: &[&str]) -> Run {
    let exe = common::fixture_exe(name);
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--format", "json"])
        // A fixture that hangs (a regression) fails its test instead of
        // hanging the suite: killed, it exits 124, which no verdict expects.
        .args(if extra.contains(&"--timeout") {
            &[][..]
        } else {
            &["--timeout", "120s"][..]
        })
        .args(extra)
        .arg("--")
        .arg(&exe)
        .output()
        .expect("run lockcheck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON document ({e}):\n{stdout}"));
    let findings = serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("{name}: findings do not parse: {e}"));
    Run {
        findings,
        code: out.status.code().expect("lockcheck exits normally"),
    }
}

/// What one run of `spec` got wrong, each line starting with `label`: its
/// verdict, a marked line its report does not name, or its exit status.
fn run_failures(spec: &FixtureSpec, label: &str, run: &Run) -> Vec<String> {
    let mut failures = Vec::new();
    let found = Verdict::of(&run.findings);
    if found != spec.expected {
        failures.push(format!(
            "{label}: expected {}, found {}",
            spec.expected, found
        ));
    }
    let missing = spec.unreported_lines(&run.findings);
    if !missing.is_empty() {
        failures.push(format!(
            "{label}: marked lines {missing:?} not named by the report"
        ));
    }
    let failing = run.findings.iter().any(|f| f.is_failing(false));
    let expected_code = if failing { 1 } else { 0 };
    if run.code != expected_code {
        failures.push(format!(
            "{label}: exit {} (expected {expected_code})",
            run.code
        ));
    }
    failures
}

fn specs() -> Vec<FixtureSpec> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    FixtureSpec::read_dir(&dir).expect("fixtures parse")
}

#[test]
fn every_fixture_gets_its_expected_verdict_and_names_its_lines() {
    let specs = specs();
    assert!(
        specs.len() >= 10,
        "the catalogue has at least the ten lessons"
    );
    let mut failures = Vec::new();
    for spec in &specs {
        let options: Vec<&str> = spec.run_with.iter().map(String::as_str).collect();
        for run_number in 1..=spec.runs {
            let run = run_fixture(&spec.name, &options);
            let label = format!("{} (run {run_number} of {})", spec.name, spec.runs);
            failures.extend(run_failures(spec, &label, &run));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Without backtraces (as under `lockcheck fixtures`, or a plain `cargo
/// test`), a mutex's first edge under one other lock is parked instead of
/// entering the graph at once: the lock fixtures (the ones that run once)
/// must keep their verdicts, name their lines and exit as they do with
/// backtraces.
#[test]
fn the_lock_fixtures_agree_with_parked_edges_too() {
    let mut failures = Vec::new();
    for spec in specs().iter().filter(|s| s.runs == 1) {
        let mut options: Vec<&str> = spec.run_with.iter().map(String::as_str).collect();
        options.push("--no-backtrace");
        let run = run_fixture(&spec.name, &options);
        let label = format!("{} (--no-backtrace)", spec.name);
        failures.extend(run_failures(spec, &label, &run));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_is_listed_in_the_fixture_readme() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/README.md"))
            .expect("fixtures/README.md");
    for spec in specs() {
        assert!(
            readme.contains(&format!("`{}`", spec.name)),
            "{} missing from fixtures/README.md",
            spec.name
        );
    }
}

#[test]
fn dining_philosophers_is_one_cycle_of_five_forks() {
    let run = run_fixture("dining_philosophers", &[]);
    assert_eq!(run.findings.len(), 1);
    let cycle = run.findings[0].cycle.as_ref().expect("cycle detail");
    assert_eq!(cycle.edges.len(), 5);
    let mut forks: Vec<String> = cycle
        .edges
        .iter()
        .map(|e| e.from.name.clone().expect("named forks"))
        .collect();
    forks.sort();
    assert_eq!(forks, ["fork 0", "fork 1", "fork 2", "fork 3", "fork 4"]);
    assert!(!cycle.single_thread, "five philosopher threads");
}

#[test]
fn gate_lock_cycle_names_the_waiter_and_fails_only_when_strict() {
    let run = run_fixture("gate_lock", &[]);
    assert_eq!(run.code, 0);
    let gate = run.findings[0]
        .cycle
        .as_ref()
        .and_then(|c| c.guarded_by.as_ref())
        .expect("guarded");
    assert_eq!(gate.name.as_deref(), Some("waiter"));
    assert_eq!(run_fixture("gate_lock", &["--strict"]).code, 1);
}

#[test]
fn the_forced_deadlock_is_one_deadlock_finding_with_its_order_edges() {
    for _ in 0..3 {
        let run = run_fixture("noodles_and_fork_hang", &[]);
        assert_eq!(run.findings.len(), 1, "{:#?}", run.findings);
        let f = &run.findings[0];
        assert_eq!(f.kind, FindingKind::Deadlock);
        assert_eq!(f.waits.len(), 2, "both threads, with what they hold");
        let names: Vec<_> = f.threads.iter().filter_map(|t| t.name.clone()).collect();
        assert!(names.contains(&"alice".to_owned()) && names.contains(&"bob".to_owned()));
        let edges = &f.cycle.as_ref().expect("order edges").edges;
        assert_eq!(edges.len(), 2);
    }
}

#[test]
fn the_same_fixture_without_a_hang_is_a_cycle_not_a_deadlock() {
    let run = run_fixture("noodles_and_fork", &[]);
    assert_eq!(run.findings.len(), 1);
    assert_eq!(run.findings[0].kind, FindingKind::LockOrderCycle);
    assert!(!run.findings[0].cycle.as_ref().unwrap().single_thread);
}

#[test]
fn class_order_finds_what_instance_order_cannot() {
    // Near miss of bank_transfer_classes: the same run checked on instances.
    let run = run_fixture("bank_transfer_classes", &["--order", "instance"]);
    assert!(run.findings.is_empty(), "{:#?}", run.findings);
    let run = run_fixture("bank_transfer_classes", &["--order", "class"]);
    assert_eq!(run.findings.len(), 1);
    assert_eq!(run.findings[0].cycle.as_ref().unwrap().edges.len(), 1);
}

#[test]
fn lockcheck_off_in_the_environment_turns_checking_off() {
    // The near-miss pair: the same program with and without LOCKCHECK=off,
    // run directly (not through `lockcheck run`, which clears LOCKCHECK).
    let exe = common::fixture_exe("noodles_and_fork");
    for (off, expected) in [(false, 1), (true, 0)] {
        let report = tempfile::NamedTempFile::new().expect("temp file");
        let mut cmd = Command::new(&exe);
        cmd.env("LOCKCHECK_REPORT", report.path())
            .env("LOCKCHECK_POLICY", "collect");
        if off {
            cmd.env("LOCKCHECK", "off");
        }
        let status = cmd.status().expect("run fixture");
        assert!(status.success());
        let text = std::fs::read_to_string(report.path()).expect("report");
        assert_eq!(text.lines().count(), expected, "LOCKCHECK=off: {off}");
    }
}
