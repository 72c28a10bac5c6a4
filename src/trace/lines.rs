//! A trace read line by line: the part that both formats' readers share.

use std::io::BufRead;

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
            match self.input.read_until(b'\n', &mut self.text) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    self.place.line += 1;
                    return Some(Err(self.place.error(format!("cannot read: {e}"), true)));
                }
            }
            self.place.line += 1;
            // Trimmed twice: a borrow handed out from inside the loop
            // would, for the borrow checker, hold `text` on every turn.
            if says_something(self.text.trim_ascii()) {
                return Some(Ok((self.text.trim_ascii(), self.place)));
            }
        }
    }

    /// The trace as a whole, for messages about all of it.
    pub fn whole(&self) -> Place {
        Place {
            line: 0,
            ..self.place
        }
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
        assert_eq!(lines.whole(), Place { file: "t", line: 0 });
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
