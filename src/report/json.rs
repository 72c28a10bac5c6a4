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
    let report = report(findings, strict, None);
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes the report document of `findings` (and of a run, if given) to
/// `out` as it is serialised, so that a report of many findings is never
/// held in memory as text, then a newline.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Finding],
    strict: bool,
    run: Option<&RunSummary>,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &report(findings, strict, run))?;
    out.write_all(b"\n")
}

fn report<'a>(
    findings: &'a [Finding],
    strict: bool,
    run: Option<&'a RunSummary>,
) -> JsonReport<'a> {
    JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
        run,
    }
}
