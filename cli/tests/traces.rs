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

/// `lockcheck analyze --format json` of `trace` (with `extra` arguments
/// first): the JSON document, its findings and the output.
fn analyze_doc(trace: &Path, extra: &[&str]) -> (serde_json::Value, Vec<Finding>, Output) {
    let mut args = vec!["analyze", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(trace.to_str().expect("utf-8"));
    let out = lockcheck(&args);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}); stderr: {}",
            trace.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = serde_json::from_value(doc["findings"].clone()).expect("findings parse");
    (doc, findings, out)
}

fn analyze(trace: &Path) -> (Vec<Finding>, Output) {
    let (_, findings, out) = analyze_doc(trace, &[]);
    (findings, out)
}

fn fixtures_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("fixtures/traces")
}

fn external_dir() -> PathBuf {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("tests/external-traces");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

#[test]
fn every_trace_fixture_gets_its_expected_verdict() {
    let specs = FixtureSpec::read_dir_with(&fixtures_dir(), "std").expect("trace fixtures");
    assert!(specs.len() >= 6);
    let mut failures = Vec::new();
    for spec in &specs {
        let (doc, findings, out) = analyze_doc(&spec.path, &[]);
        let found = Verdict::of(&findings);
        if found != spec.expected {
            failures.push(format!(
                "{}: expected {}, found {found}",
                spec.name, spec.expected
            ));
        }
        let failing = findings.iter().any(|f| f.is_failing(false));
        // A trace with a line skipped is never a pass, nor a plain finding.
        let skipped = doc["skipped_lines"].as_u64() != Some(0);
        let want = if skipped { 2 } else { i32::from(failing) };
        if out.status.code() != Some(want) {
            failures.push(format!("{}: exit {:?}", spec.name, out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_malformed_line_is_named_counted_and_fails_the_analysis_after_the_rest() {
    let trace = fixtures_dir().join("malformed.std");
    let (doc, findings, out) = analyze_doc(&trace, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("malformed.std:5: expected THREAD|OP(TARGET)|LOCATION"),
        "{stderr}"
    );
    assert_eq!(findings.len(), 1, "the cycle after the bad line is found");
    assert_eq!(out.status.code(), Some(2), "not fully checked: {stderr}");
    assert!(
        stderr.contains("lockcheck: error: 1 malformed line skipped"),
        "{stderr}"
    );
    assert_eq!(doc["skipped_lines"], 1);
    assert_eq!(doc["traces"][0]["skipped_lines"], 1);
    assert_eq!(doc["traces"][0]["skipped"][0]["line"], 5);
    assert_eq!(doc["traces"][0]["lines"], 11);
    // --keep-going: the exit status of the findings, the skip still counted.
    let (doc, _, out) = analyze_doc(&trace, &["--keep-going"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(doc["skipped_lines"], 1);
    // The text report says it on stdout, and never that it is clean.
    let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("malformed.std: 1 of 11 lines skipped as malformed (the first at line 5)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("; 1 malformed line skipped (exit status 2"),
        "{stdout}"
    );
}

#[test]
fn a_skipped_line_alone_is_not_clean_and_keep_going_exits_as_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("cut.std");
    std::fs::write(&trace, "T1|acq(a)|1\nT1|rel(a)|2\nT1|acq(a\n").unwrap();
    let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("lockcheck: no findings in the lines read; 1 malformed line skipped"),
        "{stdout}"
    );
    assert!(!stdout.contains("lockcheck: no findings\n"), "{stdout}");
    let out = lockcheck(&["analyze", "--keep-going", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 malformed line skipped (--keep-going"));
    // Every line skipped: no events, and still the count and exit 2.
    std::fs::write(&trace, "T1|zap(a)|1\nT1|zap(b)|2\n").unwrap();
    let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .ends_with("lockcheck: no events; 2 malformed lines skipped (exit status 2; --keep-going to exit as if they were not there)\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Near miss: the same trace whole is clean, exit 0.
    std::fs::write(&trace, "T1|acq(a)|1\nT1|rel(a)|2\n").unwrap();
    let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "lockcheck: no findings\n"
    );
    // `graph` prints what it read, and does not pass a trace it skipped in.
    std::fs::write(&trace, "T1|acq(a)|1\nbad\nT1|rel(a)|2\n").unwrap();
    let out = lockcheck(&["graph", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph"));
    let out = lockcheck(&["graph", "--keep-going", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_malformed_first_line_does_not_hide_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let std_trace = dir.path().join("first.std");
    std::fs::write(
        &std_trace,
        "# comment\n\nT1|acq(a|1\nT1|acq(a)|2\nT1|acq(b)|3\nT1|rel(b)|4\nT1|rel(a)|5\n\
         T2|acq(b)|6\nT2|acq(a)|7\nT2|rel(a)|8\nT2|rel(b)|9\n",
    )
    .unwrap();
    let (doc, findings, out) = analyze_doc(&std_trace, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("first.std:3: expected OP(TARGET)"),
        "{stderr}"
    );
    assert_eq!(doc["traces"][0]["skipped"][0]["line"], 3);
    assert_eq!(findings.len(), 1, "read as STD: the cycle is found");
    assert_eq!(out.status.code(), Some(2));
    // A lockcheck trace that lost its header is read as one, and the error
    // names the line where the header should be.
    let lct = dir.path().join("headless.lct");
    std::fs::write(&lct, "\n1 T1 thread \"main\"\n2 T1 end\n").unwrap();
    let out = lockcheck(&["analyze", lct.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "headless.lct:2: not a lockcheck trace (expected the first line `lockcheck-trace 1`"
        ),
        "{stderr}"
    );
}

#[test]
fn an_empty_trace_says_no_events_not_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.std", ""),
        ("blank.std", "\n  \n"),
        ("comments.lct", "# nothing yet\n"),
    ] {
        let trace = dir.path().join(name);
        std::fs::write(&trace, text).unwrap();
        let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("{name}: no events: nothing was checked")),
            "{stdout}"
        );
        assert!(stdout.ends_with("lockcheck: no events\n"), "{stdout}");
        assert!(!stdout.contains("no findings"), "{stdout}");
        let (doc, findings, _) = analyze_doc(&trace, &[]);
        assert!(findings.is_empty());
        assert_eq!(doc["traces"][0]["events"], 0, "{name}");
        for format in ["lockcheck", "std"] {
            let out = lockcheck(&["analyze", "--input-format", format, trace.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{name} as {format}");
        }
    }
    // Near miss: a header and nothing else has no events either; one event is checked.
    let trace = dir.path().join("one.lct");
    std::fs::write(&trace, "lockcheck-trace 1\n1 T1 end\n").unwrap();
    let out = lockcheck(&["analyze", trace.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "lockcheck: no findings\n"
    );
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
        let (doc, _, out) = analyze_doc(&path, &[]);
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            code == Some(0) || code == Some(1),
            "{}: exit {code:?}: {stderr}",
            path.display(),
        );
        // Read to the end: every line read, none skipped, events from them.
        assert!(!stderr.contains("warning"), "{}: {stderr}", path.display());
        let lines = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .count();
        let t = &doc["traces"][0];
        assert_eq!(t["lines"], lines, "{}: {t}", path.display());
        assert_eq!(t["skipped_lines"], 0, "{}: {t}", path.display());
        assert!(t["events"].as_u64() > Some(0), "{}: {t}", path.display());
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "lockcheck: error: {}:1: not a trace lockcheck knows: `hello`",
            prose.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
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

#[test]
fn traces_analysed_together_report_what_each_reports_alone_in_the_order_given() {
    // Analysed in parallel, each in its own pass: the report must not
    // depend on which finished first.
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("fixtures/traces");
    let names = [
        "dining_philosophers.std",
        "locked_counter.std",
        "opposite_orders.std",
        "unsynchronised_counter.std",
        "gate_lock.std",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let mut alone = Vec::new();
    for path in &paths {
        let (findings, _) = analyze(path);
        alone.extend(findings.into_iter().map(|f| (f.kind, f.key)));
    }
    assert!(alone.len() >= 4, "the traces have findings: {alone:?}");
    for _ in 0..3 {
        let mut args = vec!["analyze", "--format", "json"];
        args.extend(paths.iter().map(|p| p.to_str().expect("utf-8")));
        let out = lockcheck(&args);
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON document");
        let together: Vec<Finding> =
            serde_json::from_value(doc["findings"].clone()).expect("findings parse");
        let together: Vec<_> = together.into_iter().map(|f| (f.kind, f.key)).collect();
        assert_eq!(together, alone);
        let files: Vec<&str> = doc["traces"]
            .as_array()
            .expect("what was read of each trace")
            .iter()
            .map(|t| t["file"].as_str().expect("file"))
            .collect();
        let given: Vec<&str> = paths.iter().map(|p| p.to_str().expect("utf-8")).collect();
        assert_eq!(files, given, "in the order given");
    }
    // One unreadable trace among them: the error names it.
    let missing = dir.join("no-such-trace.std");
    let out = lockcheck(&[
        "analyze",
        paths[0].to_str().expect("utf-8"),
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-trace.std: cannot open"),
        "{stderr}"
    );
}
