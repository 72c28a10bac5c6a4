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

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
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

/// Fixtures whose live run finds a deadlock through a join, or one of the
/// second rule (every thread blocked in a condition variable, channel,
/// barrier or join wait), which a trace cannot show (such waits are not
/// recorded while they wait): the analysis must find everything else, and
/// these deadlocks are live only.
const WAIT_DEADLOCKS_LIVE_ONLY: &[&str] = &[
    "pool_shutdown_join",
    "bounded_send_under_lock",
    "lost_wakeup",
    "barrier_short",
    "held_across_wait_hang",
    "async_join_while_holding",
];

#[test]
fn every_fixture_recorded_then_analysed_gives_the_live_findings() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("fixtures");
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
        let (mut live, offline) = (identities(&live), identities(&offline));
        if live.is_empty() && spec.expected != Verdict::default() {
            failures.push(format!("{}: the live run found nothing", spec.name));
        }
        if WAIT_DEADLOCKS_LIVE_ONLY.contains(&spec.name.as_str()) {
            let before = live.len();
            live.retain(|id| !id.starts_with("deadlock "));
            if live.len() == before {
                failures.push(format!("{}: no deadlock through a wait", spec.name));
            }
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

fn analyze_json(trace: &Path) -> Vec<Finding> {
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["analyze", "--format", "json"])
        .arg(trace)
        .output()
        .expect("run lockcheck analyze");
    findings_of(&out.stdout, &trace.display().to_string())
}

#[test]
fn the_environment_switch_records_a_run_outside_the_command() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let trace = scratch.path().join("noodles.lct");
    let out = Command::new(common::fixture_exe("noodles_and_fork"))
        .env("LOCKCHECK_TRACE", &trace)
        .env("LOCKCHECK_POLICY", "collect")
        .output()
        .expect("run the fixture");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&trace).expect("the trace was written");
    assert!(text.starts_with("lockcheck-trace 1\n"), "{text}");
    assert!(
        !scratch.path().join("noodles.lct.spool").exists(),
        "the spool is merged and removed at exit"
    );
    let kinds: Vec<&str> = analyze_json(&trace)
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert_eq!(kinds, ["lock-order-cycle"]);
}

#[test]
fn a_process_that_finds_the_spool_locked_leaves_the_recording_alone() {
    // What a child process finds when it inherits LOCKCHECK_TRACE from a
    // parent that is recording: the spool, locked by the parent (here, by
    // this test).
    let scratch = tempfile::tempdir().expect("temporary directory");
    let trace = scratch.path().join("parent.lct");
    let spool = scratch.path().join("parent.lct.spool");
    std::fs::write(&spool, killed_programs_spool()).expect("write the spool");
    let parents_spool = std::fs::File::open(&spool).expect("open the spool");
    parents_spool.lock().expect("lock the spool");
    let run_fixture = || {
        Command::new(common::fixture_exe("noodles_and_fork"))
            .env("LOCKCHECK_TRACE", &trace)
            .env("LOCKCHECK_POLICY", "collect")
            .output()
            .expect("run the fixture")
    };
    let child = run_fixture();
    assert!(child.status.success(), "{child:?}");
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        stderr.contains("is being recorded by another process")
            && stderr.contains("this process is not recorded"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&spool).expect("read the spool"),
        killed_programs_spool(),
        "the parent's spool is left as it was"
    );
    assert!(!trace.exists(), "no trace is written over the parent's");
    // Near miss: once the spool is no longer locked, the same run records.
    drop(parents_spool);
    let alone = run_fixture();
    assert!(alone.status.success(), "{alone:?}");
    let text = std::fs::read_to_string(&trace).expect("the trace was written");
    assert!(text.starts_with("lockcheck-trace 1\n"), "{text}");
}

/// A spool as a program killed before its exit hook leaves it: two
/// threads' chunks, out of order in the file, that deadlock each other.
fn killed_programs_spool() -> String {
    let chunk = |thread: u32, body: &str| format!("# chunk T{thread} {}\n{body}", body.len());
    [
        chunk(2, "4 T2 acq L2 exclusive blocking a.rs:4:1\n5 T2 req L1 exclusive a.rs:5:1\n"),
        chunk(
            1,
            "1 T1 lock L1 mutex a.rs:1:1 \"a\"\n2 T1 lock L2 mutex a.rs:2:1 \"b\"\n3 T1 acq L1 exclusive blocking a.rs:3:1\n",
        ),
        chunk(1, "6 T1 req L2 exclusive a.rs:6:1\n"),
    ]
    .concat()
}

#[test]
fn an_unfinished_recording_is_analysed_as_it_stands() {
    // Recorded outside `lockcheck run` (LOCKCHECK_TRACE) by a program that
    // was killed: `analyze` reads the spool itself.
    let scratch = tempfile::tempdir().expect("temporary directory");
    let spool = scratch.path().join("run.lct.spool");
    std::fs::write(&spool, killed_programs_spool()).expect("write the spool");
    let kinds: Vec<&str> = analyze_json(&spool)
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert_eq!(kinds, ["deadlock"]);
}

#[test]
fn a_recording_left_unfinished_by_a_killed_program_is_finished_by_the_command() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let trace = scratch.path().join("killed.lct");
    let spool = killed_programs_spool();
    let source = scratch.path().join("left-behind");
    std::fs::write(&source, spool).expect("write the spool");
    // The stand-in for the killed program is no lockcheck program.
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--allow-uninstrumented", "--trace"])
        .arg(&trace)
        .args(["--", "sh", "-c", "cp \"$0\" \"$1\""])
        .arg(&source)
        .arg(scratch.path().join("killed.lct.spool"))
        .output()
        .expect("run lockcheck");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&trace).expect("the command finished the trace");
    assert!(
        text.starts_with("lockcheck-trace 1\n0 T0 incomplete\n"),
        "a trace finished by the command says it is incomplete:\n{text}"
    );
    let seqs: Vec<u64> = text
        .lines()
        .skip(2)
        .map(|l| {
            l.split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("seq")
        })
        .collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4, 5, 6],
        "merged in sequence order:\n{text}"
    );
    let kinds: Vec<&str> = analyze_json(&trace)
        .iter()
        .map(|f| f.kind.as_str())
        .collect();
    assert_eq!(kinds, ["deadlock"], "both threads wait for each other");
}

#[test]
fn the_graph_of_a_recorded_dining_philosophers_shows_the_five_cycle_in_red() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let trace = scratch.path().join("dining.lct");
    let status = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--format", "json", "--trace"])
        .arg(&trace)
        .arg("--")
        .arg(common::fixture_exe("dining_philosophers"))
        .output()
        .expect("run lockcheck")
        .status;
    assert_eq!(status.code(), Some(1), "the cycle fails the run");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .arg("graph")
        .arg(&trace)
        .output()
        .expect("run lockcheck graph");
    let dot = String::from_utf8_lossy(&out.stdout);
    let red = dot
        .lines()
        .filter(|l| l.contains("->") && l.contains("red"))
        .count();
    assert_eq!(red, 5, "{dot}");
}

#[test]
fn a_trace_in_a_directory_that_does_not_exist_is_refused_before_the_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--trace", "no/such/dir/run.lct", "--", "true"])
        .output()
        .expect("run lockcheck");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no/such/dir/run.lct") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn a_program_killed_while_it_records_keeps_the_declarations_its_threads_use() {
    // Its main thread declares every lock and is killed with those lines
    // still in its buffer; the workers' lines that reached the spool use
    // the locks, and one of them closed a lock-order cycle.
    let scratch = tempfile::tempdir().expect("temporary directory");
    let trace = scratch.path().join("killed.lct");
    let live = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["run", "--format", "json", "--trace"])
        .arg(&trace)
        .arg("--")
        .arg(common::fixture_exe("killed_mid_recording"))
        .output()
        .expect("run lockcheck");
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(
        stderr.contains("ended without finishing its recording"),
        "the command says the recording was cut short:\n{stderr}"
    );
    let live_kinds: Vec<String> = findings_of(&live.stdout, "the live run")
        .iter()
        .map(|f| f.kind.as_str().to_owned())
        .collect();
    assert_eq!(live_kinds, ["lock-order-cycle"]);

    let text = std::fs::read_to_string(&trace).expect("the command finished the trace");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("lockcheck-trace 1"));
    assert_eq!(
        lines.next(),
        Some("0 T0 incomplete"),
        "a trace finished from a killed program's spool says so first"
    );
    for name in ["work", "first", "second"] {
        assert!(
            text.lines()
                .any(|l| l.contains(" lock L") && l.ends_with(&format!("\"{name}\""))),
            "`{name}` is declared in the trace:\n{}",
            &text[..text.len().min(2000)]
        );
    }

    let analysis = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["analyze", "--format", "json"])
        .arg(&trace)
        .output()
        .expect("run lockcheck analyze");
    let stderr = String::from_utf8_lossy(&analysis.stderr);
    assert!(
        !stderr.contains("skipped"),
        "every line of what reached the spool is readable:\n{stderr}"
    );
    assert!(
        stderr.contains("the recording is incomplete"),
        "the analysis says what it could not check:\n{stderr}"
    );
    assert_eq!(
        analysis.status.code(),
        Some(2),
        "an incomplete recording is not a whole run's answer"
    );
    let found = findings_of(&analysis.stdout, "the analysis");
    let kinds: Vec<&str> = found.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["lock-order-cycle"],
        "the worker's cycle is found, and the holds whose releases were lost with the \
         killed threads are not taken for misuse: {found:#?}"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&analysis.stdout).expect("one JSON document");
    assert_eq!(doc["traces"][0]["incomplete"], true, "{}", doc["traces"]);
    let kept_going = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["analyze", "--keep-going"])
        .arg(&trace)
        .output()
        .expect("run lockcheck analyze");
    assert_eq!(
        kept_going.status.code(),
        Some(1),
        "exit on the findings alone"
    );
    let text = String::from_utf8_lossy(&kept_going.stdout);
    assert!(text.contains("the recording is incomplete"), "{text}");
}
