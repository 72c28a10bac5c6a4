//! The JSON report: one document with a `findings` array, so that
//! `lockcheck run --format json -- prog | jq` works.

use serde::Serialize;

use lockcheck::finding::Finding;
use lockcheck::trace::ReadSummary;

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
    /// `lockcheck analyze`: lines skipped as malformed, in all the traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_lines: Option<u64>,
    /// `lockcheck analyze`: what was read of each trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces: Option<&'a [ReadSummary]>,
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

/// What a report says beside its findings: where they come from.
#[derive(Copy, Clone, Debug, Default)]
pub enum Source<'a> {
    /// Nothing more.
    #[default]
    Findings,
    /// A program run: how it ended.
    Run(&'a RunSummary),
    /// Traces: what was read of each.
    Traces(&'a [ReadSummary]),
}

/// Renders findings as one pretty-printed JSON document.
///
/// ```
/// let doc = lockcheck_cli::report::json::render(&[], false);
/// assert!(doc.contains("\"findings\": []"));
/// ```
pub fn render(findings: &[Finding], strict: bool) -> String {
    to_json(&report(findings, strict, Source::Findings))
}

/// Renders the findings of traces, with what was read of each (lines,
/// events, lines skipped as malformed) and the total of skipped lines.
///
/// ```
/// let read = [lockcheck::trace::ReadSummary::new("t.std")];
/// let doc = lockcheck_cli::report::json::render_analysis(&[], false, &read);
/// let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
/// assert_eq!(doc["skipped_lines"], 0);
/// assert_eq!(doc["traces"][0]["events"], 0);
/// ```
pub fn render_analysis(findings: &[Finding], strict: bool, traces: &[ReadSummary]) -> String {
    to_json(&report(findings, strict, Source::Traces(traces)))
}

/// Writes the report document to `out` as it is serialised, so that a
/// report of many findings is never held in memory as text, then a newline.
pub fn write(
    out: &mut impl std::io::Write,
    findings: &[Finding],
    strict: bool,
    source: Source<'_>,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &report(findings, strict, source))?;
    out.write_all(b"\n")
}

fn report<'a>(findings: &'a [Finding], strict: bool, source: Source<'a>) -> JsonReport<'a> {
    let (run, traces) = match source {
        Source::Findings => (None, None),
        Source::Run(run) => (Some(run), None),
        Source::Traces(traces) => (None, Some(traces)),
    };
    JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
        run,
        skipped_lines: traces.map(|t| t.iter().map(|t| t.skipped_lines).sum()),
        traces,
    }
}

fn to_json(report: &JsonReport<'_>) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
