//! Trace files, read as a stream of [`Event`]s for
//! [`crate::analysis::Analyzer`], in two formats: lockcheck's own
//! ([`lockcheck_format`], `lockcheck-trace 1`, written through the per-thread
//! [`spool`]) and RAPID's STD text format ([`std_format`]).

pub mod intern;
mod lines;
pub mod lockcheck_format;
pub mod spool;
pub mod std_format;
mod temp_file;

use std::fmt;
use std::io::Read;
use std::ops::ControlFlow;
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

/// How many skipped lines a [`ReadSummary`] lists one by one (it counts
/// them all).
pub const SKIPPED_SHOWN: usize = 20;

/// A line skipped as malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SkippedLine {
    /// 1-based line.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// What reading one trace came to: how much of it was read, how many events
/// it gave, and which lines were skipped as malformed, so that a report
/// never presents a trace it could not read whole, or an empty one, as
/// checked and clean.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReadSummary {
    /// The trace file, as named on the command line.
    pub file: String,
    /// Lines read (blank and comment lines included).
    pub lines: u64,
    /// Events read and analysed.
    pub events: u64,
    /// Lines skipped as malformed.
    pub skipped_lines: u64,
    /// The trace is a recording cut short ([`crate::event::Event::Incomplete`]):
    /// some threads' last events are missing from it.
    pub incomplete: bool,
    /// The first [`SKIPPED_SHOWN`] of them.
    pub skipped: Vec<SkippedLine>,
}

/// What a report says of an incomplete recording.
pub const INCOMPLETE: &str = "the recording is incomplete (the program was killed before it \
finished it), so the last events of some threads are missing: the run was not fully checked";

impl ReadSummary {
    /// Whether all of the trace was checked: no line skipped, and not an
    /// incomplete recording.
    pub fn checked_whole(&self) -> bool {
        self.skipped_lines == 0 && !self.incomplete
    }

    /// The summary of a trace not read yet.
    pub fn new(file: impl Into<String>) -> Self {
        ReadSummary {
            file: file.into(),
            ..ReadSummary::default()
        }
    }

    /// Counts a line skipped for `error` (listed among the first ones).
    pub fn skip(&mut self, error: &TraceError) {
        self.skipped_lines = self.skipped_lines.saturating_add(1);
        if self.skipped.len() < SKIPPED_SHOWN {
            self.skipped.push(SkippedLine {
                line: error.line,
                message: error.message.clone(),
            });
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

/// How many lines that say something (not blank, not `#` comments)
/// format detection looks at: one malformed line at the top of a trace does
/// not hide what the others are.
pub const DETECT_LINES: usize = 16;

/// How much of a file format detection reads ahead (the lines it looks at
/// must be whole within it).
const DETECT_BYTES: u64 = 64 * 1024;

/// What the first lines of a file say it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    /// A trace in this format.
    Format(TraceFormat),
    /// Nothing but blank and comment lines: an empty trace.
    Empty,
    /// None of the lines looked at is a trace line: this line is the first
    /// of them.
    Unknown {
        /// 1-based line.
        line: u64,
        /// The line, shortened for a message.
        found: String,
    },
}

impl TraceFormat {
    /// Detects the format from the first [`DETECT_LINES`] lines of `head`
    /// that say something (only whole lines count, unless `whole`: `head`
    /// is the whole file, and its last line may have no newline). A
    /// `lockcheck-trace` header first is lockcheck's format, whatever its
    /// version (the reader then says what is wrong with it); otherwise the
    /// format most of those lines are in, STD on a tie.
    ///
    /// ```
    /// use lockcheck::trace::{Detected, TraceFormat};
    /// let fmt = |text: &str| TraceFormat::detect(text.as_bytes(), true);
    /// assert_eq!(fmt("lockcheck-trace 1\n"), Detected::Format(TraceFormat::Lockcheck));
    /// assert_eq!(fmt("garbage\nT0|acq(L1)|12\n"), Detected::Format(TraceFormat::Std));
    /// assert_eq!(fmt("# only a comment\n\n"), Detected::Empty);
    /// assert!(matches!(fmt("\nhello\n"), Detected::Unknown { line: 2, .. }));
    /// ```
    pub fn detect(head: &[u8], whole: bool) -> Detected {
        let mut first: Option<(u64, &[u8])> = None;
        let (mut std, mut lockcheck, mut seen) = (0usize, 0usize, 0usize);
        let mut rest = head;
        let mut number = 0u64;
        while !rest.is_empty() && seen < DETECT_LINES {
            let (line, after) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None if whole => (rest, &rest[rest.len()..]),
                // A line cut by the end of what was read ahead.
                None => break,
            };
            rest = after;
            number += 1;
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            if first.is_none() {
                if line.starts_with(b"lockcheck-trace") {
                    return Detected::Format(TraceFormat::Lockcheck);
                }
                first = Some((number, line));
            }
            seen += 1;
            std += usize::from(std_format::looks_like_event(line));
            lockcheck += usize::from(lockcheck_format::looks_like_event(line));
        }
        match first {
            _ if lockcheck > std => Detected::Format(TraceFormat::Lockcheck),
            _ if std > 0 => Detected::Format(TraceFormat::Std),
            Some((line, text)) => Detected::Unknown {
                line,
                found: lockcheck_format::show(text),
            },
            None if whole => Detected::Empty,
            // The read-ahead holds no whole line: the first one is longer.
            None => Detected::Unknown {
                line: number + 1,
                found: lockcheck_format::show(rest),
            },
        }
    }
}

/// A stream of events (or per-line problems) from a trace, which knows how
/// far into the trace it has read.
pub trait EventSource: Iterator<Item = Result<Event, TraceError>> {
    /// Lines of the trace read so far, blank and comment lines included:
    /// at the end, every line of it.
    fn lines_read(&self) -> u64;

    /// Hands every item the iterator would yield to `f`, in the same order,
    /// until the trace ends or `f` breaks. An event is lent, not moved: a
    /// reader may build it in place and drop it after `f` returns, where
    /// each `next` moved it through two `Option<Result<…>>` layers and a
    /// call through the box (about 45 instructions an event, callgrind,
    /// the analyze bench's STD traces).
    ///
    /// ```
    /// use lockcheck::trace::{std_format::StdReader, EventSource};
    /// let mut reader = StdReader::new(&b"T0|acq(L1)|1\nT0|zap(L1)|2\n"[..], "t.std");
    /// let (mut events, mut errors) = (0, 0);
    /// reader.for_each_event(&mut |item| {
    ///     match item {
    ///         Ok(_) => events += 1,
    ///         Err(_) => errors += 1,
    ///     }
    ///     std::ops::ControlFlow::Continue(())
    /// });
    /// assert_eq!((events, errors), (2, 1), "T0's name, its acquire; the unknown op");
    /// ```
    fn for_each_event(&mut self, f: &mut dyn FnMut(Result<&Event, TraceError>) -> ControlFlow<()>) {
        for item in &mut *self {
            let flow = match item {
                Ok(event) => f(Ok(&event)),
                Err(e) => f(Err(e)),
            };
            if flow.is_break() {
                return;
            }
        }
    }
}

impl<S: EventSource + ?Sized> EventSource for Box<S> {
    fn lines_read(&self) -> u64 {
        (**self).lines_read()
    }

    fn for_each_event(&mut self, f: &mut dyn FnMut(Result<&Event, TraceError>) -> ControlFlow<()>) {
        (**self).for_each_event(f)
    }
}

/// A trace being read, in whichever format.
pub type EventStream = Box<dyn EventSource>;

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
    let merged = temp_file::TempFile::new_in(&std::env::temp_dir())
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

/// Opens a trace, detecting its format unless one is given (see
/// [`TraceFormat::detect`]). A file of blank and comment lines only is an
/// empty trace, of no events.
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
    // Read ahead for detection, then read the trace from the start of what
    // was read ahead: nothing is read twice.
    let mut head = Vec::new();
    (&mut reader)
        .take(DETECT_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| whole(format!("cannot read: {e}")))?;
    if spool::is_spool(&head) && format != Some(TraceFormat::Std) {
        return open_spool(path, &name);
    }
    let format = match format {
        Some(f) => f,
        None => {
            let is_whole = (head.len() as u64) < DETECT_BYTES;
            match TraceFormat::detect(&head, is_whole) {
                Detected::Format(f) => f,
                // Either reader reads blank and comment lines as nothing.
                Detected::Empty => TraceFormat::Std,
                Detected::Unknown { line, found } => {
                    return Err(TraceError {
                        file: name.clone(),
                        line,
                        message: format!(
                            "not a trace lockcheck knows: `{found}` is neither a lockcheck trace's header (`lockcheck-trace 1`) nor an STD event (`THREAD|OP(TARGET)|LOCATION`), and neither is any line of the first {DETECT_LINES} that say something; use --input-format to read it as one"
                        ),
                        fatal: true,
                    })
                }
            }
        }
    };
    let input = std::io::Cursor::new(head).chain(reader);
    let file_name = intern::intern(&name);
    Ok(match format {
        TraceFormat::Lockcheck => {
            Box::new(lockcheck_format::LockcheckReader::new(input, file_name))
        }
        TraceFormat::Std => Box::new(std_format::StdReader::new(input, file_name)),
    })
}
