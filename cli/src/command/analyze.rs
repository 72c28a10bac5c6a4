//! `lockcheck analyze` and `lockcheck graph`: the live detectors over
//! recorded traces.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::report;
use crate::suppress::Suppressions;
use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::{Finding, FindingSet};
use lockcheck::trace::{self, ReadSummary, TraceFormat};

use super::{CliError, Format, InputFormat, Order, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

fn granularity(order: Order) -> OrderGranularity {
    match order {
        Order::Instance => OrderGranularity::Instance,
        Order::Class => OrderGranularity::Class,
    }
}

/// Which checks an analysis runs, and what fails it.
#[derive(Copy, Clone)]
pub(super) struct Checks {
    pub(super) order: Order,
    pub(super) strict: bool,
    pub(super) lockset: bool,
    /// Lines skipped as malformed do not make the exit status 2.
    pub(super) keep_going: bool,
}

/// Malformed lines of one trace shown on stderr one by one; the rest are
/// counted.
const WARNINGS_SHOWN: u64 = 20;

/// Reads one trace through the detectors. Malformed lines are reported on
/// stderr (`file:line: what`), skipped and counted in the summary; an
/// unreadable trace is an error.
fn analyze_one(
    path: &Path,
    input: Option<InputFormat>,
    mut analyzer: Analyzer,
) -> Result<(Analyzer, ReadSummary), CliError> {
    let format = input.map(|f| match f {
        InputFormat::Lockcheck => TraceFormat::Lockcheck,
        InputFormat::Std => TraceFormat::Std,
    });
    let mut events = trace::open(path, format).map_err(|e| CliError(e.to_string()))?;
    let mut read = ReadSummary::new(path.display().to_string());
    let mut fatal = None;
    // Each event lent by the reader, not moved out of it (see
    // `EventSource::for_each_event`).
    events.for_each_event(&mut |item| {
        match item {
            Ok(event) => {
                read.events += 1;
                analyzer.event(event);
            }
            Err(e) if e.fatal => {
                fatal = Some(CliError(e.to_string()));
                return ControlFlow::Break(());
            }
            Err(e) => {
                read.skip(&e);
                if read.skipped_lines <= WARNINGS_SHOWN {
                    eprintln!("lockcheck: warning: {e}; line skipped");
                }
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    read.lines = events.lines_read();
    read.incomplete = analyzer.incomplete();
    if read.skipped_lines > WARNINGS_SHOWN {
        eprintln!(
            "lockcheck: warning: {}: {} malformed lines skipped in all",
            path.display(),
            read.skipped_lines
        );
    }
    Ok((analyzer, read))
}

/// What the text report says of the traces read, line by line: each one
/// with skipped lines or no events, then the closing summary, which never
/// reads as clean when something was not checked.
fn text_summary(
    findings: &[Finding],
    strict: bool,
    traces: &[ReadSummary],
    keep_going: bool,
) -> String {
    let mut lines = Vec::new();
    for t in traces {
        if t.skipped_lines > 0 {
            let first = t.skipped.first().map_or(0, |s| s.line);
            lines.push(format!(
                "lockcheck: {}: {} of {} lines skipped as malformed (the first at line {first}): the trace was not fully checked",
                t.file, t.skipped_lines, t.lines
            ));
        } else if t.events == 0 {
            lines.push(format!(
                "lockcheck: {}: no events: nothing was checked",
                t.file
            ));
        }
        if t.incomplete {
            lines.push(format!("lockcheck: {}: {}", t.file, trace::INCOMPLETE));
        }
    }
    let skipped: u64 = traces.iter().map(|t| t.skipped_lines).sum();
    let events: u64 = traces.iter().map(|t| t.events).sum();
    let found = if events == 0 && findings.is_empty() {
        "lockcheck: no events".to_owned()
    } else if findings.is_empty() && traces.iter().any(|t| !t.checked_whole()) {
        "lockcheck: no findings in the lines read".to_owned()
    } else {
        report::text::summary(findings, strict)
    };
    lines.push(if skipped > 0 {
        let plural = if skipped == 1 { "" } else { "s" };
        let status = if keep_going {
            "--keep-going: exit status as if they were not there"
        } else {
            "exit status 2; --keep-going to exit as if they were not there"
        };
        format!("{found}; {skipped} malformed line{plural} skipped ({status})")
    } else {
        found
    });
    lines.join("\n")
}

/// Each trace through its own analyzer, in one pass, on as many threads as
/// the machine has cores (and no more than there are traces): the
/// findings and what was read of each, in the order the traces were given,
/// so that the report does not depend on which finished first.
fn analyze_all(
    traces: &[PathBuf],
    input: Option<InputFormat>,
    checks: Checks,
) -> Vec<Result<(Vec<Finding>, ReadSummary), CliError>> {
    let one = |path: &PathBuf| {
        let analyzer = Analyzer::new(granularity(checks.order)).with_lockset(checks.lockset);
        analyze_one(path, input, analyzer).map(|(analyzer, read)| (analyzer.finish(), read))
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(traces.len());
    if workers <= 1 {
        return traces.iter().map(one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<_> = (0..traces.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = traces.get(i) else { break };
                        done.push((i, one(path)));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            // A worker that panicked has already printed why; its traces
            // are reported as not analysed below.
            for (i, result) in handle.join().unwrap_or_default() {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .zip(traces)
        .map(|(result, path)| {
            result.unwrap_or_else(|| {
                Err(CliError(format!(
                    "{}: the analysis of this trace failed",
                    path.display()
                )))
            })
        })
        .collect()
}

/// `lockcheck analyze`.
pub(super) fn analyze(
    traces: &[PathBuf],
    format: Format,
    input: Option<InputFormat>,
    checks: Checks,
    suppressions: &Suppressions,
) -> Result<i32, CliError> {
    let strict = checks.strict;
    let mut set = FindingSet::new();
    let mut read = Vec::with_capacity(traces.len());
    for result in analyze_all(traces, input, checks) {
        let (found, summary) = result?;
        read.push(summary);
        for finding in found {
            set.add(finding);
        }
    }
    let mut findings: Vec<Finding> = set.into_vec();
    suppressions.apply(&mut findings);
    print_report(&findings, &read, format, strict, checks.keep_going)?;
    let status = exit_status(&findings, strict, &read, checks.keep_going);
    if status == EXIT_ERROR {
        // The one line an exit status 2 comes with, whatever the format.
        let skipped: u64 = read.iter().map(|t| t.skipped_lines).sum();
        if skipped > 0 {
            eprintln!(
                "lockcheck: error: {skipped} malformed line{} skipped: not every trace was fully checked (--keep-going to exit as if they were not there)",
                if skipped == 1 { "" } else { "s" }
            );
        } else if let Some(cut) = read.iter().find(|t| t.incomplete) {
            eprintln!(
                "lockcheck: error: {}: {} (--keep-going to exit on the findings alone)",
                cut.file,
                trace::INCOMPLETE
            );
        }
    }
    Ok(status)
}

/// The report of traces' findings on stdout, in `format`, with what was
/// read of each trace (`analyze`, and `merge` of analyses).
pub(super) fn print_report(
    findings: &[Finding],
    read: &[ReadSummary],
    format: Format,
    strict: bool,
    keep_going: bool,
) -> Result<(), CliError> {
    match format {
        Format::Json => super::print_json(findings, strict, report::json::Source::Traces(read))?,
        Format::Sarif => println!(
            "{}",
            report::sarif::render_analysis(findings, strict, read, keep_going)
        ),
        Format::Text => {
            let summary = text_summary(findings, strict, read, keep_going);
            super::run::print_text(findings, &summary);
        }
    }
    Ok(())
}

/// 2 when lines were skipped as malformed or a recording is incomplete (a
/// trace not fully checked is never a pass, nor a plain finding), unless
/// `keep_going`; else 1 for failing findings, 0 for none.
pub(super) fn exit_status(
    findings: &[Finding],
    strict: bool,
    read: &[ReadSummary],
    keep_going: bool,
) -> i32 {
    let not_whole = read.iter().any(|t| !t.checked_whole());
    if not_whole && !keep_going {
        EXIT_ERROR
    } else if findings.iter().any(|f| f.is_failing(strict)) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// `lockcheck graph`: DOT on stdout, or SVG through Graphviz.
pub(super) fn graph(
    path: &Path,
    input: Option<InputFormat>,
    order: Order,
    svg: bool,
    keep_going: bool,
) -> Result<i32, CliError> {
    // The whole run's graph: locks dropped before the trace ends included.
    let (analyzer, read) = analyze_one(
        path,
        input,
        Analyzer::new(granularity(order)).keeping_dropped_locks(),
    )?;
    let dot = report::dot::render(analyzer.order_graph(), &{
        // Findings are needed for the red edges; the analyzer is consumed
        // by `finish`, so the graph is rendered from a second pass's copy
        // (whose warnings repeat the first's).
        let (again, _) = analyze_one(path, input, Analyzer::new(granularity(order)))?;
        again.finish()
    });
    // The graph of a trace not read whole is printed, but does not pass.
    let status = if read.skipped_lines > 0 && !keep_going {
        eprintln!(
            "lockcheck: error: {}: {} of {} lines skipped as malformed: the graph lacks what they held (--keep-going to exit 0)",
            read.file, read.skipped_lines, read.lines
        );
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    };
    if !svg {
        println!("{dot}");
        return Ok(status);
    }
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            CliError(if e.kind() == std::io::ErrorKind::NotFound {
                "--svg needs Graphviz's `dot`, which is not installed (apt-get install graphviz); without --svg the DOT text is printed".to_owned()
            } else {
                format!("cannot run Graphviz's `dot`: {e}")
            })
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| CliError(format!("cannot write to Graphviz's `dot`: {e}")))?;
    }
    let status_of_dot = child
        .wait()
        .map_err(|e| CliError(format!("Graphviz's `dot` failed: {e}")))?;
    if status_of_dot.success() {
        Ok(status)
    } else {
        Err(CliError(format!(
            "Graphviz's `dot` failed ({status_of_dot})"
        )))
    }
}
