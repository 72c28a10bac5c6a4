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
}

/// Renders findings as one pretty-printed JSON document.
///
/// ```
/// let doc = lockcheck::report::json::render(&[], false);
/// assert!(doc.contains("\"findings\": []"));
/// ```
pub fn render(findings: &[Finding], strict: bool) -> String {
    let report = JsonReport {
        lockcheck: env!("CARGO_PKG_VERSION"),
        failing: findings.iter().filter(|f| f.is_failing(strict)).count(),
        findings,
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
