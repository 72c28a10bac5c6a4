//! A trace read line by line: the part that both formats' readers share.

use std::io::Read;

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

/// How much is read from the input at a time: lines are scanned in place in
/// a buffer this size (grown, up to [`MAX_LINE`] and one read more, only for
/// a line that does not fit).
const CHUNK: usize = 64 * 1024;

/// The lines of a trace that say something: blank lines and `#` comments
/// are skipped. The input is read in chunks into one buffer, and each line
/// is handed out as a slice of it, found by a word-at-a-time scan for the
/// newline: `read_until` through a `Take` cost about 320 instructions a
/// line, this about 120 (callgrind, the lines of a 200k-event trace from
/// the analyze bench's generator, 17 bytes on average). Lines are split
/// as bytes; what is UTF-8 is each reader's business.
pub(super) struct TraceLines<R> {
    input: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// The line last read.
    place: Place,
    /// The input has no more bytes.
    eof: bool,
    /// The input ended or could not be read, and every line was handed out.
    done: bool,
}

impl<R: Read> TraceLines<R> {
    /// The lines of `input`, whose name (for messages) is `file`.
    pub fn new(input: R, file: &'static str) -> Self {
        TraceLines {
            input,
            buf: Vec::new(),
            start: 0,
            end: 0,
            place: Place { file, line: 0 },
            eof: false,
            done: false,
        }
    }

    /// The next line, trimmed, and where it is. `None` at the end of the
    /// input, and after an error reading it (which is fatal: where the
    /// next line would start is not known).
    ///
    /// A line already whole in the buffer is found inline, in the reader's
    /// loop; everything else (a read, a line too long, the end, a blank or
    /// comment line) is the first step of [`Self::next_line_slow`]'s loop.
    /// As one call, a line cost about 30 instructions more (callgrind, the
    /// analyze bench's mixed trace of 2M events).
    #[inline(always)]
    pub fn next_line(&mut self) -> Option<Result<(&[u8], Place), TraceError>> {
        if !self.done {
            if let Some(i) = find_newline(&self.buf[self.start..self.end]) {
                let from = self.start;
                self.start += i + 1;
                self.place.line += 1;
                let (from, to) = trimmed(&self.buf, from, from + i);
                if says_something(&self.buf[from..to]) {
                    return Some(Ok((&self.buf[from..to], self.place)));
                }
            }
        }
        self.next_line_slow()
    }

    /// [`Self::next_line`] past the lines whole in the buffer.
    #[inline(never)]
    fn next_line_slow(&mut self) -> Option<Result<(&[u8], Place), TraceError>> {
        loop {
            if self.done {
                return None;
            }
            let (from, to) = match find_newline(&self.buf[self.start..self.end]) {
                Some(i) => {
                    let from = self.start;
                    self.start += i + 1;
                    (from, from + i)
                }
                None if self.end - self.start > MAX_LINE => {
                    // Longer than any line may be, and no newline yet.
                    self.place.line += 1;
                    self.start = 0;
                    self.end = 0;
                    if let Err(e) = self.skip_rest_of_line() {
                        self.place.line -= 1;
                        return Some(Err(self.read_error(&e)));
                    }
                    let message = format!("line longer than {MAX_LINE} bytes (not a trace line)");
                    return Some(Err(self.place.error(message, false)));
                }
                None if self.eof => {
                    if self.start == self.end {
                        self.done = true;
                        return None;
                    }
                    // The last line, without a newline.
                    let from = self.start;
                    self.start = self.end;
                    (from, self.end)
                }
                None => {
                    if let Err(e) = self.fill() {
                        return Some(Err(self.read_error(&e)));
                    }
                    continue;
                }
            };
            self.place.line += 1;
            let (from, to) = trimmed(&self.buf, from, to);
            if says_something(&self.buf[from..to]) {
                return Some(Ok((&self.buf[from..to], self.place)));
            }
        }
    }

    /// Reads more input after the unread bytes (moved to the front); the
    /// buffer never grows past one byte more than the longest line.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Full of one unfinished line, shorter than the limit (a longer
            // one was reported): room for one byte more than the longest.
            let len = (self.buf.len() * 2).clamp(CHUNK, MAX_LINE + 1);
            self.buf.resize(len, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Consumes the input up to and including the next newline, holding
    /// none of it beyond one chunk (what follows the newline is kept).
    fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            self.fill()?;
            if let Some(i) = find_newline(&self.buf[self.start..self.end]) {
                self.start += i + 1;
                return Ok(());
            }
            if self.eof {
                self.start = self.end;
                return Ok(());
            }
            self.start = self.end;
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

/// The first newline in `bytes`, eight bytes at a time (SWAR: a zero byte
/// of `word ^ 0x0a0a…` is a newline), for lines of a few dozen bytes where
/// a call to a vectorised search costs more than it saves.
#[inline]
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // Exact for the lowest zero byte (borrows only run upward).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| at + i)
}

/// `buf[from..to]` without ASCII whitespace at either end, as a range (a
/// line most often has none: two comparisons).
#[inline]
fn trimmed(buf: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    while from < to && buf[from].is_ascii_whitespace() {
        from += 1;
    }
    while to > from && buf[to - 1].is_ascii_whitespace() {
        to -= 1;
    }
    (from, to)
}

/// A trimmed line is neither blank nor a `#` comment.
fn says_something(trimmed: &[u8]) -> bool {
    !trimmed.is_empty() && !trimmed.starts_with(b"#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

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
            lines.buf.capacity() <= 2 * MAX_LINE,
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

    #[test]
    fn the_newline_search_finds_the_first_at_every_offset() {
        for len in 0..40 {
            for nl in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[nl] = b'\n';
                if nl + 3 < len {
                    bytes[nl + 3] = b'\n';
                }
                // Bytes that differ from a newline in one bit, and high ones.
                for (i, b) in bytes.iter_mut().enumerate().take(nl) {
                    *b = [0x0b, 0x8a, 0x09, 0xff, 0x00][i % 5];
                }
                assert_eq!(find_newline(&bytes), Some(nl), "{len} {nl}");
            }
            assert_eq!(find_newline(&vec![0x0b; len]), None);
        }
    }

    #[test]
    fn lines_across_chunk_boundaries_are_whole() {
        let mut input = Vec::new();
        let mut want = Vec::new();
        for i in 0..40_000 {
            let line = format!("T{}|w(V{})|{}", i % 7, i * 31 % 1000, i);
            input.extend_from_slice(line.as_bytes());
            input.extend_from_slice(if i % 3 == 0 { b"\r\n" } else { b"\n" });
            want.push(line);
        }
        input.extend_from_slice(b"last");
        want.push("last".to_owned());
        let mut lines = TraceLines::new(&input[..], "t");
        let mut got = Vec::new();
        while let Some(line) = lines.next_line() {
            let (text, place) = line.unwrap();
            assert_eq!(place.line as usize, got.len() + 1);
            got.push(String::from_utf8(text.to_vec()).unwrap());
        }
        assert_eq!(got, want);
    }
}
