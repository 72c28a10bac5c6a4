//! `lockcheck merge`: the JSON reports of traces analysed as separate jobs,
//! merged into what one analysis of all of them reports — each finding once,
//! its count the sum — and never clean when an input was not fully checked
//! or is not a report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lockcheck::finding::Finding;

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .output()
        .expect("run lockcheck")
}

fn trace(name: &str) -> String {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/traces"))
        .join(name)
        .display()
        .to_string()
}

/// `lockcheck analyze --format json ARGS` written to a file in `dir`.
fn report(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let mut all = vec!["analyze", "--format", "json"];
    all.extend_from_slice(args);
    let out = lockcheck(&all);
    let path = dir.join(name);
    std::fs::write(&path, &out.stdout).expect("write the report");
    path
}

fn findings_of(out: &Output) -> (Vec<Finding>, serde_json::Value) {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let findings = serde_json::from_value(doc["findings"].clone()).expect("findings");
    (findings, doc)
}

/// Key and count of each finding, sorted.
fn keys(findings: &[Finding]) -> Vec<(String, u64)> {
    let mut keys: Vec<(String, u64)> = findings.iter().map(|f| (f.key.clone(), f.count)).collect();
    keys.sort();
    keys
}

#[test]
fn merged_reports_say_what_one_analysis_of_every_trace_says() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (a, b, c) = (
        trace("opposite_orders.std"),
        trace("hold_and_wait.std"),
        trace("unsynchronised_counter.std"),
    );
    let one = report(dir.path(), "one.json", &[&a, &b]);
    let two = report(dir.path(), "two.json", &[&a, &c]);
    let merged = lockcheck(&[
        "merge",
        "--format",
        "json",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
    ]);
    let together = lockcheck(&["analyze", "--format", "json", &a, &b, &a, &c]);
    let (merged_findings, doc) = findings_of(&merged);
    let (together_findings, _) = findings_of(&together);
    assert_eq!(keys(&merged_findings), keys(&together_findings));
    // opposite_orders.std was in both reports: its cycle is one finding,
    // seen twice.
    assert!(
        merged_findings
            .iter()
            .any(|f| f.count == 2 && f.summary.contains("`noodles`")),
        "{merged_findings:#?}"
    );
    assert_eq!(doc["traces"].as_array().map(Vec::len), Some(4));
    assert_eq!(doc["skipped_lines"], 0);
    assert_eq!(merged.status.code(), together.status.code());
    assert_eq!(merged.status.code(), Some(1));
    // The text report counts the same findings.
    let text = lockcheck(&["merge", one.to_str().unwrap(), two.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&format!("{} findings", merged_findings.len())),
        "{stdout}"
    );
}

#[test]
fn a_report_of_a_trace_not_fully_checked_keeps_the_merge_from_passing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let clean = report(dir.path(), "clean.json", &[&trace("locked_counter.std")]);
    let skipped = report(
        dir.path(),
        "skipped.json",
        &[
            "--keep-going",
            &trace("wait_notify.std"),
            &trace("malformed.std"),
        ],
    );
    let alone = lockcheck(&["merge", clean.to_str().unwrap()]);
    assert_eq!(alone.status.code(), Some(0), "{alone:?}");
    let both = lockcheck(&["merge", clean.to_str().unwrap(), skipped.to_str().unwrap()]);
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(
        stderr.contains("malformed.std: not fully checked")
            && stderr.contains("1 malformed line skipped"),
        "{stderr}"
    );
    let going = lockcheck(&[
        "merge",
        "--keep-going",
        clean.to_str().unwrap(),
        skipped.to_str().unwrap(),
    ]);
    // malformed.std has a cycle: the findings decide once told to go on.
    assert_eq!(going.status.code(), Some(1), "{going:?}");
}

#[test]
fn what_is_not_an_analysis_report_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let good = report(dir.path(), "good.json", &[&trace("opposite_orders.std")]);
    let text = std::fs::read_to_string(&good).expect("read");
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).expect("write");
    let run_report = dir.path().join("run.json");
    std::fs::write(
        &run_report,
        r#"{"lockcheck": "0.1.0", "failing": 0, "findings": [], "run": {"processes_checked": 0, "timed_out": false}}"#,
    )
    .expect("write");
    let missing = dir.path().join("missing.json");
    for (path, says) in [
        (&truncated, "truncated.json:"),
        (&run_report, "a report without `traces`"),
        (&missing, "cannot read the report"),
    ] {
        let out = lockcheck(&["merge", good.to_str().unwrap(), path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}: {out:?}", path.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(says), "{}: {stderr}", path.display());
        assert!(out.stdout.is_empty(), "no report when an input is bad");
    }
}

/// Mutations of a real report (cut at every length step, bytes flipped):
/// each is merged or refused with exit 2, never a crash.
#[test]
fn hostile_reports_are_merged_or_refused_never_a_crash() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let good = report(dir.path(), "good.json", &[&trace("hold_and_wait.std")]);
    let bytes = std::fs::read(&good).expect("read");
    let bad = dir.path().join("bad.json");
    let mut tried = 0;
    let mut mutate = |mutated: &[u8]| {
        std::fs::write(&bad, mutated).expect("write");
        let out = lockcheck(&["merge", "--format", "json", bad.to_str().unwrap()]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "exit {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tried += 1;
    };
    for cut in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
        mutate(&bytes[..cut]);
    }
    for at in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x55;
        mutate(&flipped);
    }
    assert!(tried >= 60, "{tried}");
}
