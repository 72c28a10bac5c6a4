//! What every fuzz target checks of a trace read: no panic (libFuzzer
//! reports one as a crash), every problem an error naming a line of the
//! input, and the events through every detector.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lockcheck::analysis::Analyzer;
use lockcheck::trace::{EventSource, TraceError};

/// How many lines `input` has, as the readers number them (a last line
/// without a newline counts).
pub fn line_count(input: &[u8]) -> u64 {
    let newlines = input.iter().filter(|b| **b == b'\n').count() as u64;
    newlines + u64::from(input.last().is_some_and(|b| *b != b'\n'))
}

/// Panics unless `error` names a line of an input of `lines` lines, as
/// `file:line: …`.
pub fn assert_names_a_line(error: &TraceError, lines: u64) {
    assert!(
        error.line >= 1 && error.line <= lines.max(1),
        "line {} of {lines}: {error}",
        error.line
    );
    let prefix = format!("{}:{}: ", error.file, error.line);
    assert!(error.to_string().starts_with(&prefix), "{error}");
}

/// Reads every item of `events`, checks each error, feeds the events to the
/// analysis (lockset check on), and makes its findings. `lines` is how many
/// lines the input has, when known (a spool is read as the trace it merges
/// into): then every error names one of them, and unless a fatal error
/// ended the reading, all of them were read. The items are read as
/// `lockcheck analyze` reads them ([`EventSource::for_each_event`]).
pub fn read_and_analyse(mut events: impl EventSource, lines: Option<u64>) {
    let mut analyzer = Analyzer::default().with_lockset(true);
    let mut fatal = false;
    events.for_each_event(&mut |item| {
        match item {
            Ok(event) => analyzer.event(event),
            Err(e) => {
                assert_names_a_line(&e, lines.unwrap_or(u64::MAX));
                fatal |= e.fatal;
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    if let (Some(lines), false) = (lines, fatal) {
        assert_eq!(events.lines_read(), lines, "read to the end");
    }
    let _ = analyzer.finish();
}

/// A file named `name` holding `data`, in a temporary directory kept for
/// the whole fuzzing run (the targets that read files write one per input).
pub fn write_input(name: &str, data: &[u8]) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write the input");
    path
}

/// The path as `lockcheck` names it in messages.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}
