//! The `lockcheck run` command line, end to end: exit statuses (clean, findings,
//! lockcheck's own errors, the program's own failure or signal passed on),
//! the text and JSON reports, where the program's own output goes, `--strict`,
//! `--timeout`, and the merging of repeated findings from the report file.

use std::process::{Command, Output};

use lockcheck::Finding;

// The helpers the library's tests use too.
#[path = "../../tests/common/mod.rs"]
mod common;

/// `lockcheck <args>`, with its output captured.
fn lockcheck(args: &[&str]) -> Output {
    lockcheck_cmd(args).output().expect("run lockcheck")
}

fn lockcheck_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockcheck"));
    cmd.args(args);
    cmd
}

/// `lockcheck run <options> -- <fixture>`.
fn run_fixture(name: &str, options: &[&str]) -> Output {
    let exe = common::fixture_exe(name);
    let mut args = vec!["run"];
    args.extend_from_slice(options);
    args.push("--");
    args.push(exe.to_str().expect("utf-8 path"));
    lockcheck(&args)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("lockcheck exits, not killed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// The findings of a `--format json` report; panics unless the whole of
/// stdout is one JSON document.
fn json_findings(out: &Output) -> Vec<Finding> {
    let text = stdout(out);
    let doc: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"));
    serde_json::from_value(doc["findings"].clone())
        .unwrap_or_else(|e| panic!("findings do not parse as lockcheck::Finding ({e}):\n{text}"))
}

/// Asserts that stderr is exactly one line starting `lockcheck: error:`; returns it.
fn single_error_line(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{err}");
    assert!(
        lines[0].starts_with("lockcheck: error:"),
        "stderr does not start with `lockcheck: error:`:\n{err}"
    );
    lines[0].to_owned()
}

#[test]
fn program_not_found_is_a_lockcheck_error_naming_the_program() {
    let name = "lockcheck-test-no-such-program";
    let out = lockcheck(&["run", "--", name]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let line = single_error_line(&out);
    assert!(line.contains(name), "program name missing: {line}");
    assert!(line.contains("program not found"), "reason missing: {line}");
    assert_eq!(stdout(&out), "", "stdout should be empty");
}

#[test]
fn failing_program_without_findings_passes_its_exit_code_on() {
    let out = lockcheck(&["run", "--allow-uninstrumented", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code(&out), 3, "stderr:\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("failed (exit status: 3) with no finding"),
        "a program's own failure is told apart from findings:\n{}",
        stderr(&out)
    );
}

#[test]
fn clean_program_exits_0_with_no_findings_summary() {
    let out = run_fixture("counter_locked", &[]);
    assert_eq!(code(&out), 0, "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.trim_end().ends_with("lockcheck: no findings"),
        "stdout:\n{text}"
    );
}

#[test]
fn a_program_that_never_reported_to_lockcheck_is_not_clean() {
    for program in [&["true"][..], &["sh", "-c", "exit 3"]] {
        let mut args = vec!["run", "--"];
        args.extend_from_slice(program);
        let out = lockcheck(&args);
        assert_eq!(code(&out), 2, "{program:?}: stderr:\n{}", stderr(&out));
        let line = single_error_line(&out);
        assert!(
            line.contains(&format!("`{}` never reported to lockcheck", program[0])),
            "{line}"
        );
        assert!(
            !stdout(&out).contains("no findings"),
            "nothing was checked, so nothing is said to be clean:\n{}",
            stdout(&out)
        );
    }
    // JSON says it too: no process was checked.
    let out = lockcheck(&["run", "--format", "json", "--", "true"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["run"]["processes_checked"], 0, "{doc}");
    // A checked program's JSON carries how it ended.
    let out = run_fixture("counter_locked", &["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["run"]["processes_checked"], 1, "{doc}");
    assert_eq!(doc["run"]["exit_code"], 0, "{doc}");
    // Allowed: the run is the program's, and still not called clean.
    let out = lockcheck(&["run", "--allow-uninstrumented", "--", "true"]);
    assert_eq!(code(&out), 0, "stderr:\n{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim_end(),
        "lockcheck: nothing checked: `true` never reported to lockcheck"
    );
}

#[test]
fn a_program_part_of_which_lockcheck_could_not_check_is_not_clean() {
    // A plain tokio::spawn task's async lock: not checked, and said so.
    let out = run_fixture("unseen_task", &[]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.starts_with("lockcheck: error: `")
            && l.contains("could not check part of what it did")
            && l.contains("not spawned by lockcheck::tokio::spawn")),
        "stderr:\n{err}"
    );
    assert!(
        !stdout(&out).contains("lockcheck: no findings\n")
            && !stdout(&out).trim_end().ends_with("lockcheck: no findings"),
        "not called clean:\n{}",
        stdout(&out)
    );
    // JSON says what was not checked.
    let out = run_fixture("unseen_task", &["--format", "json"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["run"]["processes_checked"], 1, "{doc}");
    let gaps = doc["run"]["unchecked"].as_array().expect("a list of gaps");
    assert_eq!(gaps.len(), 1, "said once: {doc}");
    assert!(
        gaps[0]
            .as_str()
            .is_some_and(|g| g.contains("lockcheck::tokio::instrument")),
        "{doc}"
    );
    // Allowed: the program's own status, and the summary says what was
    // not checked.
    let out = run_fixture("unseen_task", &["--allow-uninstrumented"]);
    assert_eq!(code(&out), 0, "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("lockcheck: no findings in what was checked\nlockcheck: not everything was checked:\n  a lockcheck::tokio lock"),
        "stdout:\n{text}"
    );
    // The near miss: a program lockcheck sees whole has no gap in its JSON.
    let out = run_fixture("async_guard_migrates", &["--format", "json"]);
    assert_eq!(code(&out), 0, "stderr:\n{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert!(doc["run"].get("unchecked").is_none(), "{doc}");
}

#[test]
fn a_program_with_checking_turned_off_never_reports() {
    let exe = common::fixture_exe("counter_locked");
    let out = lockcheck_cmd(&["run", "--"])
        .arg(&exe)
        .env("LOCKCHECK", "off")
        .output()
        .expect("run lockcheck");
    // `run` removes LOCKCHECK from the program's environment, so the
    // program is checked anyway.
    assert_eq!(code(&out), 0, "stderr:\n{}", stderr(&out));
    let script = format!("LOCKCHECK=off exec {}", exe.display());
    let out = lockcheck(&["run", "--", "sh", "-c", &script]);
    assert_eq!(
        code(&out),
        2,
        "checking turned off inside the run: nothing checked\n{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_option_before_the_program_is_a_usage_error() {
    let out = lockcheck(&["run", "--formt", "json", "--", "true"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("unexpected argument '--formt'"),
        "clap names the option:\n{}",
        stderr(&out)
    );
    // Options after the program are the program's.
    let out = lockcheck(&[
        "run",
        "--allow-uninstrumented",
        "sh",
        "-c",
        "exit 4",
        "--formt",
    ]);
    assert_eq!(code(&out), 4, "stderr:\n{}", stderr(&out));
}

#[test]
fn program_killed_by_signal_exits_128_plus_signal() {
    let out = lockcheck(&[
        "run",
        "--allow-uninstrumented",
        "--",
        "sh",
        "-c",
        "kill -9 $$",
    ]);
    assert_eq!(code(&out), 128 + 9, "stderr:\n{}", stderr(&out));
}

#[test]
fn json_format_prints_one_document_and_moves_program_stdout_to_stderr() {
    let out = run_fixture("noodles_and_fork", &["--format", "json"]);
    let findings = json_findings(&out);
    assert_eq!(findings.len(), 1, "findings: {findings:#?}");
    assert_eq!(findings[0].kind.as_str(), "lock-order-cycle");
    assert!(
        stderr(&out).contains("noodles left"),
        "program output missing from stderr:\n{}",
        stderr(&out)
    );
    assert!(
        !stdout(&out).contains("noodles left"),
        "program output leaked into stdout"
    );
    assert_eq!(code(&out), 1, "stderr:\n{}", stderr(&out));
}

#[test]
fn malformed_report_line_is_an_error_naming_file_and_line() {
    // The program prints the report path (text format: its stdout is ours),
    // then writes a line that is not JSON into the report.
    let script = r#"echo "$LOCKCHECK_REPORT"; echo not-json >> "$LOCKCHECK_REPORT""#;
    let out = lockcheck(&["run", "--", "sh", "-c", script]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let report_path = stdout(&out).trim().to_owned();
    assert!(
        !report_path.is_empty(),
        "the program printed no report path"
    );
    let line = single_error_line(&out);
    assert!(
        line.contains(&format!("{report_path}:1:")),
        "report path and line 1 missing: {line}"
    );
    assert!(line.contains("malformed finding"), "reason missing: {line}");
}

#[test]
fn text_format_reports_self_deadlock_with_site_and_summary() {
    let out = run_fixture("mutex_reacquire", &[]);
    let text = stdout(&out);
    assert!(text.contains("error[self-deadlock]"), "stdout:\n{text}");
    assert!(
        text.contains("fixtures/mutex_reacquire.rs:"),
        "stdout:\n{text}"
    );
    assert!(
        text.contains("lockcheck: 1 finding (1 self-deadlock)"),
        "stdout:\n{text}"
    );
    assert_eq!(code(&out), 1, "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("panicked") && err.contains("lockcheck broke a hang"),
        "the program's panic message is missing from stderr:\n{err}"
    );
}

#[test]
fn strict_turns_guarded_cycle_into_failure() {
    let relaxed = run_fixture("gate_lock", &[]);
    assert_eq!(code(&relaxed), 0, "stdout:\n{}", stdout(&relaxed));
    let summary = stdout(&relaxed)
        .lines()
        .rfind(|l| l.starts_with("lockcheck:"))
        .map(str::to_owned)
        .expect("summary line");
    assert!(summary.contains("guarded"), "summary: {summary}");

    let strict = run_fixture("gate_lock", &["--strict"]);
    assert_eq!(code(&strict), 1, "stdout:\n{}", stdout(&strict));
}

#[test]
fn repeated_findings_are_merged_with_a_count() {
    let finding = serde_json::json!({
        "kind": "lock-misuse",
        "summary": "a test finding written twice",
        "key": "cli-test-repeated",
        "count": 1,
        "threads": [],
        "locks": [],
    });
    // Check the test's own premise: this is a valid lockcheck::Finding.
    serde_json::from_value::<Finding>(finding.clone()).expect("valid Finding");
    let script = r#"printf '%s\n%s\n' "$FINDING" "$FINDING" >> "$LOCKCHECK_REPORT""#;
    let out = lockcheck_cmd(&["run", "--format", "json", "--", "sh", "-c", script])
        .env("FINDING", finding.to_string())
        .output()
        .expect("run lockcheck");
    let findings = json_findings(&out);
    assert_eq!(findings.len(), 1, "findings: {findings:#?}");
    assert_eq!(findings[0].count, 2, "findings: {findings:#?}");
}

#[test]
fn a_program_that_outlives_its_timeout_is_killed_and_exits_124() {
    let out = lockcheck(&["run", "--timeout", "1s", "--", "sleep", "600"]);
    assert_eq!(code(&out), 124, "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`sleep` had not ended after 1s: killed it"),
        "stderr:\n{err}"
    );
    assert!(
        stdout(&out)
            .trim_end()
            .ends_with("lockcheck: nothing checked: `sleep` never reported to lockcheck before it was killed at its timeout"),
        "a killed program's summary does not read as a finished run's, nor as a checked one's:\n{}",
        stdout(&out)
    );
}

#[test]
fn what_a_program_found_before_its_timeout_is_reported() {
    // The fixture reports a lock-order cycle and ends (in milliseconds,
    // well within the timeout); `exec` then makes the program lockcheck
    // started a process that never ends.
    let fixture = common::fixture_exe("noodles_and_fork");
    let out = lockcheck(&[
        "run",
        "--format",
        "json",
        "--no-backtrace",
        "--timeout",
        "5s",
        "--",
        "sh",
        "-c",
        "\"$0\" && exec sleep 600",
        fixture.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(
        code(&out),
        1,
        "failing findings come first:\n{}",
        stderr(&out)
    );
    let kinds: Vec<String> = json_findings(&out)
        .iter()
        .map(|f| f.kind.as_str().to_owned())
        .collect();
    assert_eq!(kinds, ["lock-order-cycle"]);
    assert!(
        stderr(&out).contains("had not ended after 5s: killed it"),
        "stderr:\n{}",
        stderr(&out)
    );
}

#[test]
fn a_program_that_ends_within_its_timeout_is_left_alone() {
    let out = lockcheck(&[
        "run",
        "--allow-uninstrumented",
        "--timeout",
        "10m",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(
        code(&out),
        3,
        "its own status is passed on:\n{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("had not ended"),
        "stderr:\n{}",
        stderr(&out)
    );
}

#[test]
fn a_timeout_without_a_unit_is_a_usage_error_naming_the_option() {
    let out = lockcheck(&["run", "--timeout", "5", "--", "true"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines()
            .next()
            .is_some_and(|l| l.contains("'--timeout <DURATION>'") && l.contains("time unit needed")),
        "stderr:\n{err}"
    );
}

#[test]
fn run_without_program_is_a_usage_error() {
    let out = lockcheck(&["run"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", stderr(&out));
}

#[test]
fn text_reports_are_coloured_only_where_colour_belongs() {
    let trace = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/.."),
        "/fixtures/traces/opposite_orders.std"
    );
    let text = |env: &[(&str, &str)]| {
        let mut cmd = lockcheck_cmd(&["analyze", trace]);
        cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run lockcheck");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Captured through a pipe: plain text.
    let piped = text(&[]);
    assert!(piped.contains("error[lock-order-cycle]"), "{piped}");
    assert!(!piped.contains('\x1b'), "{piped:?}");
    // As on a terminal (forced, since the test has none): coloured.
    let forced = text(&[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains("\x1b["), "{forced:?}");
    assert!(forced.contains("lock-order-cycle"));
    // NO_COLOR wins, even over a forced terminal.
    let no_color = text(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!no_color.contains('\x1b'), "{no_color:?}");
}
