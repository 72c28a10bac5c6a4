//! `lockcheck analyze` and `lockcheck graph`: the live detectors over
//! recorded traces.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::{Finding, FindingSet};
use lockcheck::report;
use lockcheck::suppress::Suppressions;
use lockcheck::trace::{self, TraceFormat};

use super::{CliError, Format, InputFormat, Order, EXIT_CLEAN, EXIT_FINDINGS};

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
}

/// Reads one trace through the detectors. Malformed lines are reported on
/// stderr (`file:line: what`) and skipped; an unreadable trace is an error.
fn analyze_one(
    path: &Path,
    input: Option<InputFormat>,
    mut analyzer: Analyzer,
) -> Result<Analyzer, CliError> {
    let format = input.map(|f| match f {
        InputFormat::Lockcheck => TraceFormat::Lockcheck,
        InputFormat::Std => TraceFormat::Std,
    });
    let events = trace::open(path, format).map_err(|e| CliError(e.to_string()))?;
    let mut skipped = 0u64;
    for item in events {
        match item {
            Ok(event) => analyzer.event(&event),
            Err(e) if e.fatal => return Err(CliError(e.to_string())),
            Err(e) => {
                skipped += 1;
                if skipped <= 20 {
                    eprintln!("lockcheck: warning: {e}; line skipped");
                }
            }
        }
    }
    if skipped > 20 {
        eprintln!(
            "lockcheck: warning: {}: {skipped} malformed lines skipped in all",
            path.display()
        );
    }
    Ok(analyzer)
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
    for path in traces {
        let analyzer = analyze_one(
            path,
            input,
            Analyzer::new(granularity(checks.order)).with_lockset(checks.lockset),
        )?;
        for finding in analyzer.finish() {
            set.add(finding);
        }
    }
    let mut findings: Vec<Finding> = set.into_vec();
    suppressions.apply(&mut findings);
    match format {
        Format::Json => super::print_json(&findings, strict, None)?,
        Format::Sarif => println!("{}", report::sarif::render(&findings, strict)),
        Format::Text => {
            super::run::print_text(&findings, &report::text::summary(&findings, strict));
        }
    }
    Ok(if findings.iter().any(|f| f.is_failing(strict)) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

/// `lockcheck graph`: DOT on stdout, or SVG through Graphviz.
pub(super) fn graph(
    path: &Path,
    input: Option<InputFormat>,
    order: Order,
    svg: bool,
) -> Result<i32, CliError> {
    // The whole run's graph: locks dropped before the trace ends included.
    let analyzer = analyze_one(
        path,
        input,
        Analyzer::new(granularity(order)).keeping_dropped_locks(),
    )?;
    let dot = report::dot::render(analyzer.order_graph(), &{
        // Findings are needed for the red edges; the analyzer is consumed
        // by `finish`, so the graph is rendered from a second pass's copy.
        let again = analyze_one(path, input, Analyzer::new(granularity(order)))?;
        again.finish()
    });
    if !svg {
        println!("{dot}");
        return Ok(EXIT_CLEAN);
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
    let status = child
        .wait()
        .map_err(|e| CliError(format!("Graphviz's `dot` failed: {e}")))?;
    if status.success() {
        Ok(EXIT_CLEAN)
    } else {
        Err(CliError(format!("Graphviz's `dot` failed ({status})")))
    }
}
