//! `lockcheck merge`: the JSON reports of many `lockcheck analyze` runs —
//! independent traces analysed as independent jobs (a CI matrix, a batch
//! system) — as one report, each finding once.
//!
//! Findings merge as they do within one analysis (by their key: the same
//! sites are the same finding, its count the sum, other cycles through the
//! same sites kept); what was read of every trace is kept, so that a trace
//! not fully checked in any input makes the merged report say so and exit 2,
//! exactly as `analyze` of that trace would.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::suppress::Suppressions;
use lockcheck::finding::{Finding, FindingSet};
use lockcheck::trace::ReadSummary;

use super::analyze::{exit_status, print_report};
use super::{CliError, Format};

/// What merge reads of a report: its findings and what was read of its
/// traces (every report `analyze --format json` or `merge --format json`
/// writes has both).
#[derive(Deserialize)]
struct AnalyzeReport {
    findings: Vec<Finding>,
    traces: Option<Vec<ReadSummary>>,
}

/// Reads one report, streaming it from the file (nothing is allocated for
/// the file as text). A file that is not an analysis report is an error
/// naming it, with the line and column serde stopped at.
fn read_report(path: &Path) -> Result<(Vec<Finding>, Vec<ReadSummary>), CliError> {
    let file = File::open(path)
        .map_err(|e| CliError(format!("{}: cannot read the report: {e}", path.display())))?;
    let report: AnalyzeReport = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
        // serde's message ends with the position, which leads the line here.
        let message = e.to_string();
        let what = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(what, _)| what);
        CliError(format!(
            "{}:{}:{}: not a lockcheck JSON report ({what}); merge reads what `lockcheck analyze --format json` writes",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let traces = report.traces.ok_or_else(|| {
        CliError(format!(
            "{}: a report without `traces` (one of `lockcheck run`?): merge reads the reports of `lockcheck analyze --format json`, which say what was read of each trace",
            path.display()
        ))
    })?;
    Ok((report.findings, traces))
}

/// How `merge` reports and what fails it.
#[derive(Copy, Clone)]
pub(super) struct MergeOptions {
    pub(super) format: Format,
    pub(super) strict: bool,
    pub(super) keep_going: bool,
}

/// `lockcheck merge`.
pub(super) fn merge(
    reports: &[PathBuf],
    options: MergeOptions,
    suppressions: &Suppressions,
) -> Result<i32, CliError> {
    let mut set = FindingSet::new();
    let mut read = Vec::new();
    for path in reports {
        let (findings, traces) = read_report(path)?;
        read.extend(traces);
        for finding in findings {
            set.add(finding);
        }
    }
    let mut findings = set.into_vec();
    suppressions.apply(&mut findings);
    let (strict, keep_going) = (options.strict, options.keep_going);
    print_report(&findings, &read, options.format, strict, keep_going)?;
    let status = exit_status(&findings, strict, &read, keep_going);
    if status == super::EXIT_ERROR {
        if let Some(t) = read.iter().find(|t| !t.checked_whole()) {
            let why = match (t.skipped_lines, t.incomplete) {
                (0, _) => "an incomplete recording".to_owned(),
                (1, false) => "1 malformed line skipped".to_owned(),
                (n, false) => format!("{n} malformed lines skipped"),
                (n, true) => format!("{n} malformed lines skipped, an incomplete recording"),
            };
            eprintln!(
                "lockcheck: error: {}: not fully checked in the report that analysed it ({why}); --keep-going to exit on the findings alone",
                t.file
            );
        }
    }
    Ok(status)
}
