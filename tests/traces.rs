//! `lockcheck analyze` and `lockcheck graph` on traces: every trace fixture
//! (fixtures/traces/*.std, verdict in its `# expect:` header), the STD
//! traces recorded by other projects (tests/external-traces, copied from the
//! project's shared folder so that a fresh clone has them), and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lockcheck::finding::Finding;
use lockcheck::fixture::{FixtureSpec, Verdict};
use lockcheck::FindingKind;

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .output()
        .expect("run lockcheck")
}

fn analyze(trace: &Path) -> (Vec<Finding>, Output) {
    let out = lockcheck(&[
        "analyze",
        "--format",
        "json",
        trace.to_str().expect("utf-8"),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}); stderr: {}",
            trace.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = serde_json::from_value(doc["findings"].clone()).expect("findings parse");
    (findings, out)
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/traces")
}

fn external_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/external-traces");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

#[test]
fn every_trace_fixture_gets_its_expected_verdict() {
    let specs = FixtureSpec::read_dir_with(&fixtures_dir(), "std").expect("trace fixtures");
    assert!(specs.len() >= 6);
    let mut failures = Vec::new();
    for spec in &specs {
        let (findings, out) = analyze(&spec.path);
        let found = Verdict::of(&findings);
        if found != spec.expected {
            failures.push(format!(
                "{}: expected {}, found {found}",
                spec.name, spec.expected
            ));
        }
        let failing = findings.iter().any(|f| f.is_failing(false));
        if out.status.code() != Some(if failing { 1 } else { 0 }) {
            failures.push(format!("{}: exit {:?}", spec.name, out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_malformed_line_is_named_and_the_rest_is_analysed() {
    let (findings, out) = analyze(&fixtures_dir().join("malformed.std"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("malformed.std:5: expected THREAD|OP(TARGET)|LOCATION"),
        "{stderr}"
    );
    assert_eq!(findings.len(), 1, "the cycle after the bad line is found");
}

#[test]
fn the_deadlock_a_trace_ends_in_names_both_waits() {
    let (findings, _) = analyze(&fixtures_dir().join("deadlocked_at_end.std"));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, FindingKind::Deadlock);
    assert_eq!(findings[0].waits.len(), 2);
}

#[test]
fn every_external_trace_is_read_to_the_end() {
    let mut read = 0;
    for entry in std::fs::read_dir(external_dir()).expect("list traces") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "std") {
            continue;
        }
        let (_, out) = analyze(&path);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "{}: exit {code:?}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        read += 1;
    }
    assert_eq!(read, 14, "all 14 external traces");
}

#[test]
fn the_lock_order_cycles_of_the_external_traces_are_reported() {
    let dir = external_dir();
    for name in [
        "cond_var_fp_dlf",
        "cond_var_fp_idiomatic_dlf",
        "cond_var_tn_dlf",
    ] {
        let (findings, _) = analyze(&dir.join(format!("{name}.std")));
        let cycles: Vec<_> = findings
            .iter()
            .filter(|f| f.kind == FindingKind::LockOrderCycle)
            .collect();
        assert_eq!(cycles.len(), 1, "{name}");
        assert_eq!(cycles[0].cycle.as_ref().unwrap().edges.len(), 2, "{name}");
    }
    // The RAPID README example takes one lock at a time: nothing to report.
    let (findings, _) = analyze(&dir.join("rapid_readme_example.std"));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn graph_prints_dot_with_the_cycle_in_red() {
    let trace = fixtures_dir().join("opposite_orders.std");
    let out = lockcheck(&["graph", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("`noodles`") && dot.contains("`fork`"), "{dot}");
    assert_eq!(
        dot.matches("color = red, fontcolor = red, penwidth = 2")
            .count(),
        2
    );
    // Near miss: a trace without a cycle has no red edge.
    let clean = fixtures_dir().join("locked_counter.std");
    let out = lockcheck(&["graph", clean.to_str().unwrap()]);
    assert!(!String::from_utf8(out.stdout).unwrap().contains("red"));
}

#[test]
fn the_dining_philosophers_graph_shows_the_five_cycle_in_red() {
    let trace = fixtures_dir().join("dining_philosophers.std");
    let (findings, _) = analyze(&trace);
    assert_eq!(findings[0].cycle.as_ref().unwrap().edges.len(), 5);
    let out = lockcheck(&["graph", trace.to_str().unwrap()]);
    let dot = String::from_utf8(out.stdout).unwrap();
    assert_eq!(dot.matches("penwidth = 2").count(), 5, "{dot}");
}

#[test]
fn a_cycle_whose_halves_a_join_kept_apart_is_classified_as_ordered() {
    let ordered = |name: &str| {
        let (findings, out) = analyze(&fixtures_dir().join(name));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: still a failing finding"
        );
        findings[0]
            .cycle
            .as_ref()
            .unwrap()
            .ordered_by_happens_before
    };
    assert!(ordered("joined_halves.std"));
    // Near miss: both halves forked at once, and only the locks ordered them.
    assert!(!ordered("opposite_orders.std"));
}

#[test]
fn unreadable_and_unknown_traces_are_errors_with_exit_2() {
    let out = lockcheck(&["analyze", "/nonexistent/trace.std"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("lockcheck: error: /nonexistent/trace.std: cannot open"));
    let dir = tempfile::tempdir().unwrap();
    let prose = dir.path().join("notes.txt");
    std::fs::write(&prose, "hello\nworld\n").unwrap();
    let out = lockcheck(&["analyze", prose.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a trace lockcheck knows"));
}

fn analyze_with_suppressions(file: &Path, trace: &Path) -> Output {
    lockcheck(&[
        "analyze",
        "--suppress",
        file.to_str().unwrap(),
        trace.to_str().unwrap(),
    ])
}

#[test]
fn a_suppressed_finding_is_reported_and_counted_but_does_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known.toml");
    std::fs::write(
        &file,
        "[[suppress]]\nlock = \"noodles\"\nreason = \"known since 2026-11\"\n",
    )
    .unwrap();
    let trace = fixtures_dir().join("opposite_orders.std");
    let out = analyze_with_suppressions(&file, &trace);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("suppressed[lock-order-cycle]"), "{stdout}");
    assert!(stdout.contains("1 suppressed"), "{stdout}");
    // Near miss: an entry for another lock leaves the finding failing.
    std::fs::write(&file, "[[suppress]]\nlock = \"spoon\"\n").unwrap();
    let out = analyze_with_suppressions(&file, &trace);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn lockcheck_toml_in_the_current_directory_is_read_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lockcheck.toml"),
        "[[suppress]]\nkind = \"lock-order-cycle\"\n",
    )
    .unwrap();
    let trace = fixtures_dir().join("opposite_orders.std");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["analyze", trace.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_bad_suppressions_file_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[suppress]]\nlok = \"noodles\"\n").unwrap();
    let trace = fixtures_dir().join("opposite_orders.std");
    let out = analyze_with_suppressions(&file, &trace);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml:2:1:"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
