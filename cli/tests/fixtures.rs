//! Every fixture program runs through `lockcheck run --format json`, and its
//! findings must match the verdict in its header and name every line marked
//! `// <- reported`. A few fixtures also get checks of the details their
//! lesson is about (the 5-cycle, the gate, the merged deadlock). And
//! `lockcheck fixtures`, the command that prints the table, runs end to end:
//! on this checkout, and on fixtures made to disagree with their headers.

use std::path::Path;
use std::process::Command;

use lockcheck::finding::Finding;
use lockcheck::fixture::{FixtureSpec, Verdict};
use lockcheck::FindingKind;

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
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
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("fixtures");
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
    let readme = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("fixtures/README.md"),
    )
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
    // On: the process announces itself, then reports its cycle. Off: not
    // a line (a run of it reads as unchecked, not as clean).
    for (off, expected) in [(false, 2), (true, 0)] {
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
        assert_eq!(
            text.lines().count(),
            expected,
            "LOCKCHECK=off: {off}:\n{text}"
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("{\"lockcheck-process\":"))
                .count(),
            usize::from(!off),
            "{text}"
        );
    }
}

// --- `lockcheck fixtures`, the README's first command -----------------------

/// The cells of one row of the `lockcheck fixtures` table (columns are
/// separated by two spaces or more, and no cell holds two spaces).
fn cells(row: &str) -> Vec<&str> {
    row.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// `lockcheck fixtures --manifest-path <this checkout> <names>`, with
/// `env` set, from `dir`: exit status, stdout, stderr.
fn fixtures_command(names: &[&str], env: &[(&str, &str)], dir: &Path) -> (i32, String, String) {
    let manifest = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("Cargo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .arg("fixtures")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(names)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run lockcheck fixtures");
    (
        out.status.code().expect("lockcheck exits, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The whole command as the README gives it: it builds the examples (with
/// the cargo that runs this test: `cargo test` has built them already, so
/// the build finds them fresh), runs every fixture and prints one row each,
/// all agreeing, and exits 0.
#[test]
fn lockcheck_fixtures_prints_a_row_per_fixture_and_exits_0_when_all_agree() {
    let specs = specs();
    let (code, stdout, stderr) = fixtures_command(
        &[],
        &[],
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
    );
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("lockcheck: building the fixtures (cargo build --examples)"),
        "stderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        cells(lines[0]),
        ["fixture", "lesson", "expected", "found", "agree"],
        "{stdout}"
    );
    assert!(lines[1].chars().all(|c| c == '-' || c == ' '), "{stdout}");
    let rows = &lines[2..2 + specs.len()];
    for (spec, row) in specs.iter().zip(rows) {
        let cells = cells(row);
        assert_eq!(cells.len(), 5, "{row}");
        assert_eq!(
            cells[0], spec.name,
            "rows in the fixtures' order:\n{stdout}"
        );
        assert_eq!(cells[1], spec.lesson, "{row}");
        let expected = spec.expected.to_string();
        assert_eq!(cells[2], expected, "{row}");
        let found = if spec.runs > 1 {
            format!("{expected} (every run of {})", spec.runs)
        } else {
            expected
        };
        assert_eq!(cells[3], found, "{row}");
        assert_eq!(cells[4], "yes", "{row}");
    }
    assert_eq!(
        &lines[2 + specs.len()..],
        [
            "",
            &format!(
                "all {} fixtures agree with their expected verdicts",
                specs.len()
            )
        ],
        "{stdout}"
    );
}

/// The near miss: fixtures whose programs do not do what their headers
/// say. A stand-in for cargo reports another fixture's executable under a
/// fixture's name: `counter_locked` (expects clean) runs `counter_race`,
/// and `rwlock_read_guard_write` (expects a data race on its marked lines)
/// runs `counter_race`'s race, on other lines. Both rows disagree, the
/// honest one beside them agrees, and the command exits 1.
#[test]
fn lockcheck_fixtures_fails_when_a_fixture_disagrees_with_its_header() {
    let built = |name: &str| common::fixture_exe(name).display().to_string();
    let artifact = |name: &str, exe: String| {
        serde_json::json!({
            "reason": "compiler-artifact",
            "target": { "kind": ["example"], "name": name },
            "executable": exe,
        })
        .to_string()
    };
    let cargo_output = [
        artifact("counter_locked", built("counter_race")),
        artifact("rwlock_read_guard_write", built("counter_race")),
        artifact("mutex_reacquire", built("mutex_reacquire")),
    ]
    .join("\n");
    let dir = stand_in_cargo("printf '%s\\n' \"$CARGO_OUTPUT\"\n");
    let (code, stdout, stderr) = fixtures_command(
        &[
            "counter_locked",
            "rwlock_read_guard_write",
            "mutex_reacquire",
        ],
        &[("CARGO", "sh"), ("CARGO_OUTPUT", &cargo_output)],
        dir.path(),
    );
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .map(cells)
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
    };
    let locked = row("counter_locked");
    assert_eq!(
        locked[2..],
        ["clean", "data-race (not every run of 20)", "NO"]
    );
    let read_guard = row("rwlock_read_guard_write");
    assert_eq!(read_guard[2], "data-race");
    assert!(
        read_guard[3].starts_with("data-race (line ") && read_guard[3].contains("not named)"),
        "the marked lines are not named: {read_guard:?}"
    );
    assert_eq!(read_guard[4], "NO");
    let honest = row("mutex_reacquire");
    assert_eq!(honest[2..], ["self-deadlock", "self-deadlock", "yes"]);
    assert!(
        stdout.trim_end().ends_with("2 of 3 fixtures disagree"),
        "{stdout}"
    );
}

/// A build that fails is lockcheck's own error (exit 2, one line naming
/// the manifest), not a table.
#[test]
fn lockcheck_fixtures_exits_2_when_the_build_fails() {
    let dir = stand_in_cargo("exit 101\n");
    let (code, stdout, stderr) =
        fixtures_command(&["mutex_reacquire"], &[("CARGO", "sh")], dir.path());
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout, "", "no table");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("lockcheck: error:"))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    assert!(
        error.contains("Cargo.toml: building the fixtures failed"),
        "{error}"
    );
}

/// A directory holding a stand-in for cargo: `lockcheck fixtures` runs
/// `$CARGO build --examples …`, so with `CARGO=sh` and this directory as
/// the current one, sh runs the script `build` with `script`. (A script of
/// its own run as `$CARGO` would have to be executed right after it was
/// written, which fails now and then with "text file busy" while other
/// tests start processes.)
fn stand_in_cargo(script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("build"), script).expect("write the stand-in");
    dir
}
