//! The JSON report: one document with a `findings` array, so that
//! `lockcheck run --format json -- prog | jq` works.

use serde::Serialize;

use crate::finding::Finding;

/// The JSON report document.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    /// Which lockcheck wrote it.
    pub lockcheck: &'static str,
    /// Findings that fail the run.
    pub failing: usize,
    /// Every finding, failing or not.
    pub findings: &'a [Finding],
    /// `lockcheck run`: how the program ended and how many of its
    /// processes were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<&'a RunSummary>,
}

/// How a program run by `lockcheck run` ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Processes that reported to lockcheck (0: nothing was checked).
    pub processes_checked: usize,
    /// The program's exit code, if it exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// It outlived `--timeout` and was killed.
    pub timed_out: bool,
}

/// Renders findings as one pretty-printed JSON document.
///
/// ```
/// let doc = lockcheck::report::json::render(&[], false);
/// assert!(doc.contains("\"findings\": []"));
/// ```
pub fn render(findings: &[Finding], strict: bool) -> String {
    render_report(findings, strict, None)
}

/// Renders the findings of a `lockcheck run`, with how the program ended.
pub fn render_run(findings: &[Finding], strict: bool, run: &RunSummary) -> String {
    render_report(findings, strict, Some(run))
}

fn render_report(findings: &[Finding], strict: bool, run: Option<&RunSummary>) -> String {
    let report = JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
        run,
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
