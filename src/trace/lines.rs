//! A trace read line by line: the part that both formats' readers share.

use std::io::{BufRead, Read};

use super::TraceError;

/// Where a line is, for messages about it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Place {
    /// The trace's name.
    pub file: &'static str,
    /// 1-based line (0: the file as a whole).
    pub line: u64,
}

impl Place {
    /// A problem here.
    pub fn error(self, message: String, fatal: bool) -> TraceError {
        TraceError {
            file: self.file.to_owned(),
            line: self.line,
            message,
            fatal,
        }
    }
}

/// The longest line a trace may have, in bytes. Real lines are a few dozen
/// bytes (a name or a file path makes them longer); a longer one is
/// reported and skipped without being held in memory, so that a file with
/// no newline in gigabytes cannot make the reader allocate gigabytes.
pub const MAX_LINE: usize = 1 << 20;

/// The lines of a trace that say something: blank lines and `#` comments
/// are skipped, and each line is read into one buffer reused from line to
/// line. Lines are split as bytes; what is UTF-8 is each reader's business.
pub(super) struct TraceLines<R> {
    input: R,
    text: Vec<u8>,
    /// The line last read.
    place: Place,
    /// The input ended or could not be read.
    done: bool,
}

impl<R: BufRead> TraceLines<R> {
    /// The lines of `input`, whose name (for messages) is `file`.
    pub fn new(input: R, file: &'static str) -> Self {
        TraceLines {
            input,
            text: Vec::new(),
            place: Place { file, line: 0 },
            done: false,
        }
    }

    /// The next line, trimmed, and where it is. `None` at the end of the
    /// input, and after an error reading it (which is fatal: where the
    /// next line would start is not known).
    pub fn next_line(&mut self) -> Option<Result<(&[u8], Place), TraceError>> {
        loop {
            if self.done {
                return None;
            }
            self.text.clear();
            // One byte more than the longest line, to tell a line of
            // exactly MAX_LINE bytes from a longer one.
            let limit = MAX_LINE as u64 + 1;
            match (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.text)
            {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => return Some(Err(self.read_error(&e))),
            }
            self.place.line += 1;
            if self.text.len() > MAX_LINE && self.text.last() != Some(&b'\n') {
                self.text.clear();
                if let Err(e) = self.skip_rest_of_line() {
                    self.place.line -= 1;
                    return Some(Err(self.read_error(&e)));
                }
                let message = format!("line longer than {MAX_LINE} bytes (not a trace line)");
                return Some(Err(self.place.error(message, false)));
            }
            // Trimmed twice: a borrow handed out from inside the loop
            // would, for the borrow checker, hold `text` on every turn.
            if says_something(self.text.trim_ascii()) {
                return Some(Ok((self.text.trim_ascii(), self.place)));
            }
        }
    }

    /// Consumes the input up to and including the next newline, holding
    /// none of it.
    fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(());
            }
            match buf.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    self.input.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.input.consume(n);
                }
            }
        }
    }

    /// A read failed at the next line: fatal, as where the line after it
    /// would start is not known.
    fn read_error(&mut self, e: &std::io::Error) -> TraceError {
        self.done = true;
        self.place.line += 1;
        self.place.error(format!("cannot read: {e}"), true)
    }

    /// Lines read so far, blank and comment lines included: the number of
    /// the last one.
    pub fn lines_read(&self) -> u64 {
        self.place.line
    }
}

/// A trimmed line is neither blank nor a `#` comment.
fn says_something(trimmed: &[u8]) -> bool {
    !trimmed.is_empty() && !trimmed.starts_with(b"#")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader whose every read fails.
    struct Broken;

    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }

    impl BufRead for Broken {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            Err(std::io::Error::other("disk on fire"))
        }

        fn consume(&mut self, _: usize) {}
    }

    #[test]
    fn blank_and_comment_lines_are_skipped_but_counted() {
        let mut lines = TraceLines::new(&b"# c\n\n  a b \r\n\t\n#x\nc"[..], "t");
        let (text, place) = lines.next_line().unwrap().unwrap();
        assert_eq!((text, place.line), (&b"a b"[..], 3));
        let (text, place) = lines.next_line().unwrap().unwrap();
        assert_eq!((text, place.line), (&b"c"[..], 6));
        assert!(lines.next_line().is_none());
        assert!(lines.next_line().is_none());
        assert_eq!(lines.lines_read(), 6);
    }

    #[test]
    fn a_line_too_long_is_skipped_whole_and_reading_goes_on() {
        let mut input = b"a\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * MAX_LINE));
        input.extend_from_slice(b"\nb\n");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE));
        input.extend_from_slice(b"\n");
        input.extend(std::iter::repeat_n(b'z', MAX_LINE + 1));
        let mut lines = TraceLines::new(&input[..], "t");
        assert_eq!(lines.next_line().unwrap().unwrap().0, b"a");
        let err = lines.next_line().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("t:2: line longer than {MAX_LINE} bytes (not a trace line)")
        );
        assert!(!err.fatal);
        assert!(
            lines.text.capacity() <= 2 * MAX_LINE,
            "the long line was not held"
        );
        let (text, place) = lines.next_line().unwrap().unwrap();
        assert_eq!((text, place.line), (&b"b"[..], 3));
        let (text, place) = lines.next_line().unwrap().unwrap();
        assert_eq!(
            (text.len(), place.line),
            (MAX_LINE, 4),
            "exactly the limit is a line"
        );
        let err = lines.next_line().unwrap().unwrap_err();
        assert_eq!(err.line, 5, "a long last line without a newline");
        assert!(lines.next_line().is_none());
        assert_eq!(lines.lines_read(), 5);
    }

    #[test]
    fn a_read_error_is_fatal_and_ends_the_lines() {
        let mut lines = TraceLines::new(Broken, "t");
        let err = lines.next_line().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "t:1: cannot read: disk on fire");
        assert!(err.fatal);
        assert!(lines.next_line().is_none());
    }
}
