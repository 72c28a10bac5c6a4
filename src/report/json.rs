//! The JSON report: one document with a `findings` array, so that
//! `lockcheck run --format json -- prog | jq` works.

use serde::Serialize;

use crate::finding::Finding;
use crate::trace::ReadSummary;

/// The JSON report document.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    /// Which lockcheck wrote it.
    pub lockcheck: &'static str,
    /// Findings that fail the run.
    pub failing: usize,
    /// Every finding, failing or not.
    pub findings: &'a [Finding],
    /// `lockcheck analyze`: lines skipped as malformed, in all the traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_lines: Option<u64>,
    /// `lockcheck analyze`: what was read of each trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces: Option<&'a [ReadSummary]>,
}

/// Renders findings as one pretty-printed JSON document.
///
/// ```
/// let doc = lockcheck::report::json::render(&[], false);
/// assert!(doc.contains("\"findings\": []"));
/// ```
pub fn render(findings: &[Finding], strict: bool) -> String {
    to_json(&JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
        skipped_lines: None,
        traces: None,
    })
}

/// Renders the findings of traces, with what was read of each (lines,
/// events, lines skipped as malformed) and the total of skipped lines.
///
/// ```
/// let read = [lockcheck::trace::ReadSummary::new("t.std")];
/// let doc = lockcheck::report::json::render_analysis(&[], false, &read);
/// let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
/// assert_eq!(doc["skipped_lines"], 0);
/// assert_eq!(doc["traces"][0]["events"], 0);
/// ```
pub fn render_analysis(findings: &[Finding], strict: bool, traces: &[ReadSummary]) -> String {
    to_json(&JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
        skipped_lines: Some(traces.iter().map(|t| t.skipped_lines).sum()),
        traces: Some(traces),
    })
}

fn to_json(report: &JsonReport<'_>) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
