//! Recording a run and analysing the recording gives the live run's
//! findings: every fixture program runs once under
//! `lockcheck run --trace FILE`, then `lockcheck analyze FILE` must find the
//! same findings (kind and sites), no more and no fewer. Both sides come from
//! the same run, so the races of a run are compared with that run's trace.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use lockcheck::finding::Finding;
use lockcheck::fixture::{FixtureSpec, Verdict};

mod common;

/// What identifies a finding across the two drivers: its kind and its key
/// (built from the sites involved).
fn identities(findings: &[Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| format!("{} {}", f.kind.as_str(), f.key))
        .collect()
}

fn findings_of(stdout: &[u8], what: &str) -> Vec<Finding> {
    let stdout = String::from_utf8_lossy(stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON document ({e}):\n{stdout}"));
    serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("{what}: findings do not parse: {e}"))
}

/// The analysis options that mirror a fixture's run options.
fn analyze_options(run_with: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = run_with.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--order" => {
                out.push(arg.clone());
                out.extend(args.next().cloned());
            }
            "--strict" | "--lockset" => out.push(arg.clone()),
            _ => {}
        }
    }
    out
}

#[test]
fn every_fixture_recorded_then_analysed_gives_the_live_findings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let specs = FixtureSpec::read_dir(&dir).expect("fixtures parse");
    assert!(specs.len() >= 10, "the fixture programs are found");
    let scratch = tempfile::tempdir().expect("temporary directory");
    let mut failures = Vec::new();
    for spec in &specs {
        let trace = scratch.path().join(format!("{}.lct", spec.name));
        let live = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
            .args(["run", "--format", "json", "--trace"])
            .arg(&trace)
            .args(&spec.run_with)
            .arg("--")
            .arg(common::fixture_exe(&spec.name))
            .output()
            .expect("run lockcheck");
        let live = findings_of(&live.stdout, &spec.name);
        let offline = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
            .args(["analyze", "--format", "json"])
            .args(analyze_options(&spec.run_with))
            .arg(&trace)
            .output()
            .expect("run lockcheck analyze");
        let stderr = String::from_utf8_lossy(&offline.stderr);
        if !stderr.trim().is_empty() {
            failures.push(format!("{}: analyze complained:\n{stderr}", spec.name));
        }
        let offline = findings_of(&offline.stdout, &spec.name);
        let (live, offline) = (identities(&live), identities(&offline));
        if live.is_empty() && spec.expected != Verdict::default() {
            failures.push(format!("{}: the live run found nothing", spec.name));
        }
        if live != offline {
            failures.push(format!(
                "{}:\n  live only:  {:?}\n  trace only: {:?}",
                spec.name,
                live.difference(&offline).collect::<Vec<_>>(),
                offline.difference(&live).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
