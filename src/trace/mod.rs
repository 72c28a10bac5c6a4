//! Trace files, read as a stream of [`Event`]s for
//! [`crate::analysis::Analyzer`], in two formats: lockcheck's own
//! ([`lockcheck_format`], `lockcheck-trace 1`, written through the per-thread
//! [`spool`]) and RAPID's STD text format ([`std_format`]).

pub mod intern;
mod lines;
pub mod lockcheck_format;
pub mod spool;
pub mod std_format;

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use crate::event::Event;

/// A problem at one line of a trace: `file:line: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The trace file.
    pub file: String,
    /// 1-based line (0: the file as a whole).
    pub line: u64,
    /// What is wrong.
    pub message: String,
    /// The rest of the trace cannot be read safely.
    pub fatal: bool,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// The trace formats lockcheck reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// lockcheck's own: a `lockcheck-trace 1` header, then `SEQ T<thread> OP …`.
    Lockcheck,
    /// RAPID's STD: `THREAD|OP(TARGET)|LOCATION`.
    Std,
}

impl TraceFormat {
    /// Detects the format from the first non-empty line.
    ///
    /// ```
    /// use lockcheck::trace::TraceFormat;
    /// assert_eq!(TraceFormat::detect("lockcheck-trace 1"), Some(TraceFormat::Lockcheck));
    /// assert_eq!(TraceFormat::detect("T0|acq(L1)|12"), Some(TraceFormat::Std));
    /// assert_eq!(TraceFormat::detect("hello"), None);
    /// ```
    pub fn detect(first_line: &str) -> Option<TraceFormat> {
        let line = first_line.trim();
        // First: any version, so that an unsupported one gets the reader's
        // "unsupported version" rather than "not a trace".
        if line.starts_with("lockcheck-trace") {
            Some(TraceFormat::Lockcheck)
        } else if line.split('|').count() >= 2 && line.contains('(') {
            Some(TraceFormat::Std)
        } else {
            None
        }
    }
}

/// A stream of events (or per-line problems) from a trace.
pub type EventStream = Box<dyn Iterator<Item = Result<Event, TraceError>>>;

/// Opens an unfinished recording: merged into a temporary trace first,
/// which is read as `<spool> (merged)` (its line numbers are the merged
/// trace's).
fn open_spool(path: &Path, name: &str) -> Result<EventStream, TraceError> {
    let whole = |message: String| TraceError {
        file: name.to_owned(),
        line: 0,
        message,
        fatal: true,
    };
    let merged = tempfile::NamedTempFile::new()
        .map_err(|e| whole(format!("cannot make room to finish this recording: {e}")))?;
    spool::finalize(path, merged.path(), spool::Ending::Cut)
        .map_err(|e| whole(format!("cannot finish this recording: {e}")))?;
    // Open before the temporary name goes away with `merged`: the open file
    // stays readable.
    let file = std::fs::File::open(merged.path())
        .map_err(|e| whole(format!("cannot read the finished recording: {e}")))?;
    let file_name = intern::intern(&format!("{name} (merged)"));
    Ok(Box::new(lockcheck_format::LockcheckReader::new(
        std::io::BufReader::new(file),
        file_name,
    )))
}

/// Opens a trace, detecting its format unless one is given.
pub fn open(path: &Path, format: Option<TraceFormat>) -> Result<EventStream, TraceError> {
    let name = path.display().to_string();
    let whole = |message: String| TraceError {
        file: name.clone(),
        line: 0,
        message,
        fatal: true,
    };
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot open: {e}")))?;
    let mut reader = std::io::BufReader::new(file);
    let buf = reader
        .fill_buf()
        .map_err(|e| whole(format!("cannot read: {e}")))?;
    if spool::is_spool(buf) && format != Some(TraceFormat::Std) {
        return open_spool(path, &name);
    }
    let format = match format {
        Some(f) => f,
        None => {
            let head = String::from_utf8_lossy(&buf[..buf.len().min(4096)]).into_owned();
            let first = head
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .unwrap_or("");
            TraceFormat::detect(first).ok_or_else(|| {
                whole("not a trace lockcheck knows (expected a lockcheck trace, first line `lockcheck-trace 1`, or STD lines `THREAD|OP(TARGET)|LOCATION`); use --input-format".to_owned())
            })?
        }
    };
    let file_name = intern::intern(&name);
    Ok(match format {
        TraceFormat::Lockcheck => {
            Box::new(lockcheck_format::LockcheckReader::new(reader, file_name))
        }
        TraceFormat::Std => Box::new(std_format::StdReader::new(reader, file_name)),
    })
}
