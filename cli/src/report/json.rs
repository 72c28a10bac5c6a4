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
    /// What its processes said they could not check (empty: everything
    /// they met was checked).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
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
    let mut chunks = Chunks::new(&mut *out);
    let mut json = serde_json::Serializer::with_formatter(&mut chunks, Pretty::default());
    report(findings, strict, source).serialize(&mut json)?;
    chunks.put(b"\n")?;
    chunks.flush_chunk()
}

/// serde_json's `PrettyFormatter` with its two-space indent, byte for byte
/// (the report's test compares the two), but each line break and its
/// indentation go out in one write where the original writes the break,
/// then the indent once per level. A finding of a trace (a data race with
/// its two accesses and their held locks) is some 3 KB of lines nested up to
/// eight deep: on issue 16's shape (1 M events, 57 k findings, 177 MB of
/// JSON) printing took 3,100 M instructions, most of them in small writes.
#[derive(Default)]
struct Pretty {
    level: usize,
    has_value: bool,
}

/// A comma, a newline and the indentation of [`INDENTED`] levels.
const BREAK: &[u8] = b",\n                                                                                                                                ";

/// Levels of indentation [`BREAK`] holds.
const INDENTED: usize = (BREAK.len() - 2) / 2;

impl Pretty {
    /// A new line (after a comma unless `first`) indented to the level.
    #[inline]
    fn line<W: ?Sized + std::io::Write>(&self, out: &mut W, first: bool) -> std::io::Result<()> {
        let from = usize::from(first);
        if self.level <= INDENTED {
            return out.write_all(&BREAK[from..2 + 2 * self.level]);
        }
        out.write_all(&BREAK[from..2])?;
        for _ in 0..self.level {
            out.write_all(b"  ")?;
        }
        Ok(())
    }

    #[inline]
    fn end<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        close: &[u8],
    ) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(out, true)?;
        }
        out.write_all(close)
    }
}

impl serde_json::ser::Formatter for Pretty {
    #[inline]
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(b"[")
    }

    #[inline]
    fn end_array<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.end(out, b"]")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(out, first)
    }

    #[inline]
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    #[inline]
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(b"{")
    }

    #[inline]
    fn end_object<W: ?Sized + std::io::Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.end(out, b"}")
    }

    #[inline]
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(out, first)
    }

    #[inline]
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        out: &mut W,
    ) -> std::io::Result<()> {
        out.write_all(b": ")
    }

    #[inline]
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// How much of the report is gathered before it is written out.
const CHUNK: usize = 64 * 1024;

/// The report's bytes gathered in chunks in front of `out`: most of what
/// the serialiser writes is a few bytes (a quote, `": "`, a key), which
/// are copied here by fixed-size moves instead of a call to `memcpy`
/// (a `BufWriter`'s copy) each.
struct Chunks<'a, W: ?Sized> {
    out: &'a mut W,
    buf: Box<[u8]>,
    len: usize,
}

impl<'a, W: ?Sized + std::io::Write> Chunks<'a, W> {
    fn new(out: &'a mut W) -> Self {
        Chunks {
            out,
            buf: vec![0; CHUNK].into_boxed_slice(),
            len: 0,
        }
    }

    /// Appends `bytes`, writing out the chunk first when they do not fit.
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let n = bytes.len();
        if n > CHUNK - self.len {
            return self.put_cold(bytes);
        }
        let dst = &mut self.buf[self.len..self.len + n];
        // Overlapping fixed-size moves from both ends (what `memcpy` does
        // for small sizes, without the call).
        if n > 16 {
            dst.copy_from_slice(bytes);
        } else if n >= 8 {
            dst[..8].copy_from_slice(&bytes[..8]);
            dst[n - 8..].copy_from_slice(&bytes[n - 8..]);
        } else if n >= 4 {
            dst[..4].copy_from_slice(&bytes[..4]);
            dst[n - 4..].copy_from_slice(&bytes[n - 4..]);
        } else if n > 0 {
            dst[0] = bytes[0];
            dst[n / 2] = bytes[n / 2];
            dst[n - 1] = bytes[n - 1];
        }
        self.len += n;
        Ok(())
    }

    #[cold]
    fn put_cold(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.flush_chunk()?;
        if bytes.len() >= CHUNK {
            return self.out.write_all(bytes);
        }
        self.buf[..bytes.len()].copy_from_slice(bytes);
        self.len = bytes.len();
        Ok(())
    }

    /// Writes out what is gathered.
    fn flush_chunk(&mut self) -> std::io::Result<()> {
        let len = std::mem::take(&mut self.len);
        self.out.write_all(&self.buf[..len])
    }
}

impl<W: ?Sized + std::io::Write> std::io::Write for Chunks<'_, W> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.put(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.put(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_chunk()?;
        self.out.flush()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Through `Pretty` and `Chunks`, as `write` prints.
    fn ours(value: &serde_json::Value) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chunks = Chunks::new(&mut out);
        let mut json = serde_json::Serializer::with_formatter(&mut chunks, Pretty::default());
        value.serialize(&mut json).unwrap();
        chunks.flush_chunk().unwrap();
        out
    }

    #[test]
    fn the_formatter_prints_what_serde_json_pretty_prints() {
        use serde_json::{json, Value};
        let mut deep = json!({"leaf": [1, "two", null, true, {}, []]});
        let mut values = vec![deep.clone()];
        // Past the levels one break holds, and back.
        for level in 0..(INDENTED + 8) {
            deep = if level % 2 == 0 {
                json!({ "k": deep, "e": {}, "s": "a\"b\\c\n\u{1}é" })
            } else {
                json!([deep, [], level, -1.5])
            };
            values.push(deep.clone());
        }
        values.extend([
            json!(null),
            json!([]),
            json!({}),
            json!("x"),
            Value::from(7),
        ]);
        // A string longer than a chunk.
        values.push(json!({ "long": "y".repeat(3 * CHUNK), "after": [1] }));
        for value in &values {
            let want = serde_json::to_vec_pretty(value).unwrap();
            assert!(ours(value) == want, "{}", String::from_utf8_lossy(&want));
        }
    }
}
