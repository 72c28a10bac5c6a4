//! `lockcheck run`: run a program with detection on, collect the findings the
//! library writes to a report file, print them.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::report;
use lockcheck::finding::{
    Announcement, Finding, FindingSet, Unchecked, ANNOUNCEMENT_KEY, UNCHECKED_KEY,
};
use lockcheck::trace::spool;

use super::{
    CheckOptions, CliError, Format, Order, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_TIMED_OUT,
};

/// Where the program's own output goes.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) enum ProgramOutput {
    /// Its stdout and stderr reach the user's.
    Inherit,
    /// Its stdout goes to our stderr (our stdout carries the JSON report).
    StdoutToStderr,
    /// Discarded (the fixture table).
    Quiet,
}

/// What one run of a program gave.
pub(super) struct Outcome {
    pub(super) findings: Vec<Finding>,
    pub(super) status: ExitStatus,
    /// The `--timeout` the program outlived (it was killed), if it did.
    pub(super) timed_out: Option<Duration>,
    /// How many processes reported to lockcheck: 0 means the program was
    /// not checked at all (not built with lockcheck, checking turned off, or
    /// a dependency patch that did not take).
    pub(super) processes_checked: usize,
    /// What the program's processes said they could not check
    /// ([`lockcheck::finding::UNCHECKED_KEY`]), once each.
    pub(super) unchecked: Vec<String>,
}

impl Outcome {
    /// How the program ended, for the JSON report.
    pub(super) fn summary(&self) -> report::json::RunSummary {
        use std::os::unix::process::ExitStatusExt;
        report::json::RunSummary {
            processes_checked: self.processes_checked,
            exit_code: self.status.code(),
            signal: self.status.signal(),
            timed_out: self.timed_out.is_some(),
            unchecked: self.unchecked.clone(),
        }
    }
}

/// Runs `command` with detection on and collects its findings.
pub(super) fn collect(
    options: &CheckOptions,
    command: &[OsString],
    output: ProgramOutput,
) -> Result<Outcome, CliError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError("no program to run".to_owned()))?;
    let report_file = tempfile::Builder::new()
        .prefix("lockcheck-report-")
        .suffix(".jsonl")
        .tempfile()
        .map_err(|e| CliError(format!("cannot create a report file: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("LOCKCHECK_REPORT", report_file.path())
        .env("LOCKCHECK_POLICY", "collect")
        .env("LOCKCHECK_STRICT", if options.strict { "1" } else { "0" })
        .env("LOCKCHECK_LOCKSET", if options.lockset { "1" } else { "0" })
        .env(
            "LOCKCHECK_BACKTRACE",
            if options.no_backtrace { "0" } else { "1" },
        )
        .env(
            "LOCKCHECK_ORDER",
            match options.order {
                Order::Instance => "instance",
                Order::Class => "class",
            },
        )
        .env_remove("LOCKCHECK")
        .env_remove("LOCKCHECK_TRACE");
    // Under --timeout the program is asked, before it is killed, what each
    // of its threads waits for (see the library's `runtime::snapshot`).
    let snapshot_dir = options
        .timeout
        .map(|_| {
            tempfile::Builder::new()
                .prefix("lockcheck-snapshot-")
                .tempdir()
                .map_err(|e| CliError(format!("cannot create a snapshot directory: {e}")))
        })
        .transpose()?;
    let snapshot = snapshot_dir.as_ref().map(|d| d.path().join("request"));
    if let Some(snapshot) = &snapshot {
        cmd.env("LOCKCHECK_SNAPSHOT", snapshot);
    }
    let trace = options.trace.as_deref().map(prepare_trace).transpose()?;
    if let Some(trace) = &trace {
        cmd.env("LOCKCHECK_TRACE", trace);
    }
    match output {
        ProgramOutput::Inherit => {}
        ProgramOutput::StdoutToStderr => {
            use std::os::fd::AsFd;
            let stderr = std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| CliError(format!("cannot pass the program's output on: {e}")))?;
            cmd.stdout(stderr);
        }
        ProgramOutput::Quiet => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    let program = program.to_string_lossy();
    let mut child = cmd.spawn().map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            "program not found".to_owned()
        } else {
            e.to_string()
        };
        CliError(format!("cannot run `{program}`: {what}"))
    })?;
    let (status, timed_out) = match options.timeout {
        None => (child.wait(), None),
        Some(limit) => wait_or_kill(&mut child, limit, snapshot.as_deref()),
    };
    let status = status.map_err(|e| CliError(format!("cannot wait for `{program}`: {e}")))?;
    let Report {
        findings,
        processes_checked,
        unchecked,
    } = read_report(report_file.path())?;
    if let Some(trace) = &trace {
        finish_trace(trace)?;
    }
    Ok(Outcome {
        findings,
        status,
        timed_out,
        processes_checked,
        unchecked,
    })
}

/// How often a program under `--timeout` is asked whether it has ended.
const POLL: Duration = Duration::from_millis(10);

/// How long a program past its timeout has to write its snapshot (its
/// watcher looks every 100 ms) before it is killed anyway.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(2);

/// Waits for the program for `limit` at most; past it, asks it for a
/// snapshot of its threads at `snapshot` (a `hang` finding in the report
/// file; up to [`SNAPSHOT_WAIT`]), kills it and reaps it, and says so with
/// the limit. SIGKILL, because a hung program may
/// answer nothing gentler; what it found survives, since the library writes
/// each finding to the report file as it is made (and `finish_trace`
/// finishes a killed program's recording). Processes the program started
/// are not killed.
fn wait_or_kill(
    child: &mut Child,
    limit: Duration,
    snapshot: Option<&Path>,
) -> (std::io::Result<ExitStatus>, Option<Duration>) {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Ok(status), None),
            Ok(None) => {}
            Err(e) => return (Err(e), None),
        }
        let now = Instant::now();
        if now >= deadline {
            if let Some(path) = snapshot {
                if let Some(status) = ask_for_snapshot(child, path, limit) {
                    // It ended while being asked: not killed.
                    return (Ok(status), None);
                }
            }
            if let Err(e) = child.kill() {
                return (Err(e), None);
            }
            return (child.wait(), Some(limit));
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

/// Writes the snapshot request (its first line is the snapshot's reason)
/// and waits until the program has answered — it removes the request once
/// the snapshot is in the report file — or [`SNAPSHOT_WAIT`] has passed.
/// A program that does not watch (not built with lockcheck, or one that
/// never used it) simply does not answer. Returns the program's status if
/// it ended meanwhile.
fn ask_for_snapshot(child: &mut Child, path: &Path, limit: Duration) -> Option<ExitStatus> {
    let reason = format!(
        "the program had not ended after {} (lockcheck run --timeout)\n",
        humantime::format_duration(limit)
    );
    if std::fs::write(path, reason).is_err() {
        return None;
    }
    let asked = Instant::now();
    while path.exists() && asked.elapsed() < SNAPSHOT_WAIT {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(POLL);
    }
    None
}

/// The path to record into, made absolute (the program may change its
/// directory), with what an earlier recording left there removed.
fn prepare_trace(path: &Path) -> Result<PathBuf, CliError> {
    let absolute = std::path::absolute(path).map_err(|e| {
        CliError(format!(
            "{}: cannot record a trace there: {e}",
            path.display()
        ))
    })?;
    if !absolute.parent().is_some_and(Path::is_dir) {
        return Err(CliError(format!(
            "{}: cannot record a trace there: its directory does not exist",
            path.display()
        )));
    }
    for stale in [absolute.clone(), spool::path_for(&absolute)] {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError(format!(
                    "{}: cannot replace the earlier recording: {e}",
                    stale.display()
                )))
            }
        }
    }
    Ok(absolute)
}

/// The program finishes its trace as it exits; one killed before that
/// leaves the raw recording (the spool), finished here.
fn finish_trace(trace: &Path) -> Result<(), CliError> {
    let spool = spool::path_for(trace);
    if spool.exists() {
        lockcheck::trace::spool::finalize(&spool, trace, spool::Ending::Cut)
            .map_err(|e| CliError(format!("{}: cannot finish the trace: {e}", spool.display())))?;
        let _ = std::fs::remove_file(&spool);
        eprintln!(
            "lockcheck: warning: {}: the program ended without finishing its recording (was it \
             killed?); the trace is marked incomplete, and its analysis says so",
            trace.display()
        );
    }
    if !trace.exists() {
        eprintln!(
            "lockcheck: warning: {}: the program recorded no trace (does it use lockcheck's locks, threads or Shared?)",
            trace.display()
        );
    }
    Ok(())
}

/// What the report file holds.
struct Report {
    findings: Vec<Finding>,
    /// Processes that announced themselves.
    processes_checked: usize,
    /// What they could not check, once each.
    unchecked: Vec<String>,
}

/// Reads the findings the library appended, one JSON object a line, and
/// merges repeats (the library writes every detection; counts add up
/// here); counts the processes that announced themselves
/// ([`lockcheck::finding::ANNOUNCEMENT_KEY`]), and keeps what they said
/// they could not check ([`lockcheck::finding::UNCHECKED_KEY`]).
fn read_report(path: &std::path::Path) -> Result<Report, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError(format!("{}: cannot read the report: {e}", path.display())))?;
    let mut set = FindingSet::new();
    let mut processes = 0;
    let mut unchecked: Vec<String> = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| {
            CliError(format!(
                "{}:{}: cannot read the report: {e}",
                path.display(),
                i + 1
            ))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |e: serde_json::Error| {
            CliError(format!(
                "{}:{}: malformed finding: {e}",
                path.display(),
                i + 1
            ))
        };
        let mut value: serde_json::Value = serde_json::from_str(&line).map_err(malformed)?;
        if let Some(announcement) = value.get_mut(ANNOUNCEMENT_KEY) {
            serde_json::from_value::<Announcement>(announcement.take()).map_err(malformed)?;
            processes += 1;
            continue;
        }
        if let Some(gap) = value.get_mut(UNCHECKED_KEY) {
            let gap: Unchecked = serde_json::from_value(gap.take()).map_err(malformed)?;
            // Each process says each gap once; several processes may say
            // the same.
            if !unchecked.contains(&gap.what) {
                unchecked.push(gap.what);
            }
            continue;
        }
        set.add(serde_json::from_value(value).map_err(malformed)?);
    }
    Ok(Report {
        findings: set.into_vec(),
        processes_checked: processes,
        unchecked,
    })
}

/// The exit status of a run: 1 for failing findings; else 124 for a
/// program killed at its timeout; else 2 for a program that never reported
/// to lockcheck, or one that said it could not check some of what it did
/// (unless `uninstrumented_ok`), since "no findings" was not earned; else
/// the program's own failure (128+N for a signal), so that a crash is
/// never read as clean.
pub(super) fn exit_code(outcome: &Outcome, strict: bool, uninstrumented_ok: bool) -> i32 {
    if outcome.findings.iter().any(|f| f.is_failing(strict)) {
        return EXIT_FINDINGS;
    }
    if outcome.timed_out.is_some() {
        return EXIT_TIMED_OUT;
    }
    if (outcome.processes_checked == 0 || !outcome.unchecked.is_empty()) && !uninstrumented_ok {
        return EXIT_ERROR;
    }
    let status = outcome.status;
    if status.success() {
        return EXIT_CLEAN;
    }
    if let Some(code) = status.code() {
        return code;
    }
    use std::os::unix::process::ExitStatusExt;
    status.signal().map_or(EXIT_FINDINGS, |s| 128 + s)
}

/// Prints a text report: coloured, through `anstream`, which keeps the
/// colour on a terminal and drops it in a pipe, a file, or under `NO_COLOR`.
///
/// Where the colour is dropped, a report of plain ASCII text (every one
/// measured) is rendered without it and written as it is: that is what
/// `anstream` makes of it coloured, byte for byte (it drops the styles'
/// escapes and keeps printable ASCII and newlines), without its scan of
/// every byte, about 26 instructions a byte (callgrind, issue 16's trace
/// of 1M events: 909M of 5,117M for a report of 35 MB). Any other byte (a
/// name's control character, escape or non-ASCII letter) goes through
/// `anstream` as before.
pub(super) fn print_text(findings: &[Finding], summary: &str) {
    use std::io::Write;
    let mut out = anstream::stdout();
    if out.current_choice() == anstream::ColorChoice::Never {
        let plain = report::text::render(findings, false);
        if is_plain_ascii(&plain) && is_plain_ascii(summary) {
            let mut raw = std::io::stdout().lock();
            let _ = raw.write_all(plain.as_bytes());
            let _ = writeln!(raw, "{summary}");
            return;
        }
    }
    let _ = write!(out, "{}", report::text::render(findings, true));
    let _ = writeln!(out, "{summary}");
}

/// Printable ASCII and newlines only: text that `anstream`'s stripping
/// leaves as it is. A block at a time, with no early exit inside a block,
/// so that the compiler compares many bytes at once: a byte-by-byte `all`
/// cost about 11 instructions a byte (callgrind, issue 16's report).
fn is_plain_ascii(text: &str) -> bool {
    text.as_bytes().chunks(64).all(|block| {
        let bad = block.iter().fold(0u8, |bad, &b| {
            bad | u8::from((b < b' ' && b != b'\n') || b > b'~')
        });
        bad == 0
    })
}

/// `lockcheck run`.
pub(super) fn run(options: &CheckOptions, command: &[OsString]) -> Result<i32, CliError> {
    let output = match options.format {
        Format::Json | Format::Sarif => ProgramOutput::StdoutToStderr,
        Format::Text => ProgramOutput::Inherit,
    };
    let suppressions = super::suppressions(options.suppress.as_deref())?;
    let mut outcome = collect(options, command, output)?;
    suppressions.apply(&mut outcome.findings);
    let program = command[0].to_string_lossy();
    let code = exit_code(&outcome, options.strict, options.allow_uninstrumented);
    let unchecked = outcome.processes_checked == 0 && !options.allow_uninstrumented;
    // JSON carries how the program ended in every case, a checked run's or not.
    if options.format == Format::Json {
        super::print_json(
            &outcome.findings,
            options.strict,
            report::json::Source::Run(&outcome.summary()),
        )?;
    }
    if unchecked && code == EXIT_ERROR {
        // Not "no findings": nothing was checked.
        eprintln!(
            "lockcheck: error: `{program}` never reported to lockcheck: is it built with \
             lockcheck, and did the parking_lot patch take? (--allow-uninstrumented to run it \
             anyway)"
        );
        return Ok(code);
    }
    match options.format {
        Format::Json => {}
        Format::Sarif => println!(
            "{}",
            report::sarif::render(&outcome.findings, options.strict)
        ),
        Format::Text => {
            let mut summary = report::text::summary(&outcome.findings, options.strict);
            if outcome.processes_checked == 0 {
                // Allowed (--allow-uninstrumented) or cut by the timeout,
                // and still not "no findings": nothing was checked.
                summary = format!(
                    "lockcheck: nothing checked: `{program}` never reported to lockcheck{}",
                    if outcome.timed_out.is_some() {
                        " before it was killed at its timeout"
                    } else {
                        ""
                    }
                );
            } else if outcome.timed_out.is_some() {
                // What it found before it was killed: not a finished run's answer.
                summary.push_str(" before the program was killed at its timeout");
            }
            if !outcome.unchecked.is_empty() {
                if outcome.findings.is_empty() {
                    summary = "lockcheck: no findings in what was checked".to_owned();
                }
                summary.push_str(&format!(
                    "\nlockcheck: not everything was checked:\n  {}",
                    outcome.unchecked.join("\n  ")
                ));
            }
            print_text(&outcome.findings, &summary);
        }
    }
    // The gap rule's exit 2, not a program's own exit 2 under
    // --allow-uninstrumented.
    if !outcome.unchecked.is_empty() && !options.allow_uninstrumented && code == EXIT_ERROR {
        eprintln!(
            "lockcheck: error: `{program}` said it could not check part of what it did, so its \
             run is not clean (--allow-uninstrumented to accept that): {}",
            outcome.unchecked.join("; ")
        );
    }
    if let Some(limit) = outcome.timed_out {
        eprintln!(
            "lockcheck: `{program}` had not ended after {}: killed it; the report holds what it \
             found until then{}",
            humantime::format_duration(limit),
            if unchecked {
                " (it had not reported to lockcheck yet)"
            } else {
                ""
            }
        );
    } else if !outcome.status.success()
        && !outcome
            .findings
            .iter()
            .any(|f| f.is_failing(options.strict))
    {
        eprintln!(
            "lockcheck: `{program}` failed ({}) with no finding: the exit status is the program's own",
            outcome.status
        );
    }
    Ok(code)
}
