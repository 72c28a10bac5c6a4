//! The spool a running program records into, and its merge into a finished
//! trace.
//!
//! Each thread buffers its own trace lines and appends them to the spool as
//! one chunk, `# chunk T<thread> <nbytes>\n` and then exactly `nbytes` bytes
//! of whole lines: threads never wait for each other to record, and one
//! write call per chunk keeps chunks whole. Within one thread's chunks the
//! lines' sequence numbers increase; across threads chunks interleave in any
//! order, so [`finalize`] merges them back into one ordered trace.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::fx_hash::FxHashMap;

use super::lockcheck_format::write_event;
use super::lockcheck_format::{parse_u64, put_u64, HEADER};
use super::temp_file::TempFile;
use crate::event::{Event, ThreadId};

/// The start of every chunk header line.
const CHUNK: &[u8] = b"# chunk T";

/// A chunk header is short; reading at most this much of one keeps a
/// corrupt spool from being read whole in search of a newline.
const MAX_HEADER: u64 = 64;

/// The largest chunk body the merge loads. A recording writes a thread's
/// buffer out at 64 KiB, so its chunks are that plus the last event's few
/// lines; a length past this is a corrupt header, which must not make the
/// merge allocate what it claims.
const MAX_CHUNK: u64 = 64 << 20;

/// Appends one chunk (header line + body) to `out` (a Vec the caller writes
/// with one write call).
pub fn chunk(out: &mut Vec<u8>, thread: ThreadId, body: &[u8]) {
    out.reserve(body.len() + 40);
    out.extend_from_slice(CHUNK);
    put_u64(out, thread.0);
    out.push(b' ');
    put_u64(out, body.len() as u64);
    out.push(b'\n');
    out.extend_from_slice(body);
}

/// Where a recording into `trace` keeps its spool until it is finished:
/// beside it, `<trace>.spool`.
pub fn path_for(trace: &std::path::Path) -> std::path::PathBuf {
    let mut spool = trace.as_os_str().to_owned();
    spool.push(".spool");
    spool.into()
}

/// Whether a file's first bytes are those of a spool (a recording the
/// program did not finish: it was killed before its exit hook ran).
pub fn is_spool(head: &[u8]) -> bool {
    head.starts_with(CHUNK)
}

/// How the recording a spool holds ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The program's exit hook wrote every thread's lines.
    Complete,
    /// Lines may be missing: the program was killed before its exit hook
    /// ran (the spool is finished by `lockcheck run` or `analyze`), or the
    /// hook could not write some thread's lines. The trace then starts with
    /// an `incomplete` line ([`crate::event::Event::Incomplete`]).
    Cut,
}

/// Merges a spool into a finished trace at `out`: the header, then every
/// line in seq order; a [`Ending::Cut`] recording's with an `incomplete`
/// line first.
/// Memory: the chunk index (offset, length per chunk) plus one loaded chunk
/// per thread.
/// Returns the number of event lines written.
///
/// A last chunk cut short (the program was killed mid-write) is used up to
/// its last complete line. A malformed chunk header is an error of kind
/// [`io::ErrorKind::InvalidData`] naming its byte offset. The trace is
/// written to a temporary file beside `out` and renamed onto it, so that a
/// reader never sees half a trace.
pub fn finalize(spool: &Path, out: &Path, ending: Ending) -> io::Result<u64> {
    let mut file = File::open(spool)?;
    let threads = index(&mut file)?;
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = TempFile::new_in(dir)?;
    let mut writer = BufWriter::new(temp.file());
    writer.write_all(HEADER.as_bytes())?;
    writer.write_all(b"\n")?;
    if ending == Ending::Cut {
        // Seq 0, before every recorded line (the recorder numbers from 1):
        // a reader knows from the start what it reads.
        let mut line = Vec::new();
        write_event(&mut line, 0, ThreadId(0), &Event::Incomplete);
        writer.write_all(&line)?;
    }
    let written = merge(&mut file, threads, &mut writer)?;
    writer.flush()?;
    drop(writer);
    temp.persist(out)?;
    Ok(written)
}

/// Where one chunk's body lies in the spool.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Span {
    offset: u64,
    len: u64,
    /// The spool ended inside this body: its last line may be partial.
    cut: bool,
}

/// First pass: every chunk's span, per thread in file order, reading only
/// the header lines (bodies are skipped by seeking).
fn index(file: &mut File) -> io::Result<Vec<VecDeque<Span>>> {
    let end = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    let mut slots: FxHashMap<u64, usize> = FxHashMap::default();
    let mut threads: Vec<VecDeque<Span>> = Vec::new();
    let mut pos = 0u64;
    let mut line = Vec::new();
    while pos < end {
        line.clear();
        (&mut reader)
            .take(MAX_HEADER)
            .read_until(b'\n', &mut line)?;
        if line.last() != Some(&b'\n') {
            let cut_short = pos + line.len() as u64 >= end;
            if cut_short && line.iter().zip(CHUNK).all(|(a, b)| a == b) {
                // A header cut short by the end of the spool: the program
                // died writing it, and its chunk has no body yet.
                break;
            }
            return Err(bad_header(pos, &line));
        }
        let (thread, len) = parse_header(&line).ok_or_else(|| bad_header(pos, &line))?;
        if len > MAX_CHUNK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "spool chunk header at byte {pos} claims {len} bytes, more than a recording writes in one chunk ({MAX_CHUNK})"
                ),
            ));
        }
        let offset = pos + line.len() as u64;
        let available = end - offset;
        let span = Span {
            offset,
            len: len.min(available),
            cut: len > available,
        };
        let slot = *slots.entry(thread).or_insert_with(|| {
            threads.push(VecDeque::new());
            threads.len() - 1
        });
        if span.len > 0 {
            threads[slot].push_back(span);
        }
        if span.cut {
            break;
        }
        pos = offset + len;
        let skip = i64::try_from(len).map_err(|_| bad_header(pos, &line))?;
        reader.seek_relative(skip)?;
    }
    Ok(threads)
}

/// `# chunk T<thread> <nbytes>\n` → (thread, nbytes).
fn parse_header(line: &[u8]) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(CHUNK)?.strip_suffix(b"\n")?;
    let space = rest.iter().position(|b| *b == b' ')?;
    Some((parse_u64(&rest[..space])?, parse_u64(&rest[space + 1..])?))
}

fn bad_header(offset: u64, line: &[u8]) -> io::Error {
    let shown = String::from_utf8_lossy(line);
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "malformed spool chunk header at byte {offset}: expected `# chunk T<thread> <nbytes>`, found {:?}",
            shown.trim_end_matches('\n')
        ),
    )
}

/// One thread's lines: its current chunk, loaded, and the chunks to come.
struct Cursor {
    chunks: VecDeque<Span>,
    body: Vec<u8>,
    /// Start of the current line in `body`.
    pos: usize,
    /// The seq of the line last handed out: the merge key of a line whose
    /// own seq cannot be read, which keeps it next to its thread's
    /// neighbours (the trace reader then reports it with its line number).
    last_seq: u64,
}

impl Cursor {
    /// The current line (without its newline) and its merge key, loading
    /// the next chunk when this one is used up; `None` when the thread has
    /// no lines left.
    fn current(&mut self, file: &mut File) -> io::Result<Option<(&[u8], u64)>> {
        loop {
            if self.pos < self.body.len() {
                let rest = &self.body[self.pos..];
                let len = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
                if rest[..len].trim_ascii().is_empty() {
                    self.pos += len + 1;
                    continue;
                }
                let line = &self.body[self.pos..self.pos + len];
                let key = seq_of(line).unwrap_or(self.last_seq);
                return Ok(Some((line, key)));
            }
            let Some(span) = self.chunks.pop_front() else {
                return Ok(None);
            };
            self.load(file, span)?;
        }
    }

    fn load(&mut self, file: &mut File, span: Span) -> io::Result<()> {
        let len = usize::try_from(span.len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "spool chunk too large"))?;
        self.body.clear();
        self.body.resize(len, 0);
        file.seek(SeekFrom::Start(span.offset))?;
        file.read_exact(&mut self.body)?;
        if span.cut {
            // Only whole lines: a partial last one was never finished.
            let whole = self
                .body
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            self.body.truncate(whole);
        }
        self.pos = 0;
        Ok(())
    }

    fn advance(&mut self, line_len: usize, key: u64) {
        self.pos += line_len + 1;
        self.last_seq = key;
    }
}

/// Second pass: a k-way merge of the threads' lines by seq.
fn merge(file: &mut File, threads: Vec<VecDeque<Span>>, out: &mut impl Write) -> io::Result<u64> {
    let mut cursors: Vec<Cursor> = threads
        .into_iter()
        .map(|chunks| Cursor {
            chunks,
            body: Vec::new(),
            pos: 0,
            last_seq: 0,
        })
        .collect();
    // Keyed by (seq, thread slot): equal seqs (a broken spool) still come
    // out in one fixed order.
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (slot, cursor) in cursors.iter_mut().enumerate() {
        if let Some((_, key)) = cursor.current(file)? {
            heap.push(Reverse((key, slot)));
        }
    }
    let mut written = 0u64;
    while let Some(Reverse((_, slot))) = heap.pop() {
        let cursor = &mut cursors[slot];
        let Some((line, key)) = cursor.current(file)? else {
            continue;
        };
        out.write_all(line)?;
        out.write_all(b"\n")?;
        if !line.trim_ascii_start().starts_with(b"#") {
            written += 1;
        }
        let len = line.len();
        cursor.advance(len, key);
        if let Some((_, next)) = cursor.current(file)? {
            heap.push(Reverse((next, slot)));
        }
    }
    Ok(written)
}

/// The seq a trace line starts with.
fn seq_of(line: &[u8]) -> Option<u64> {
    let digits = line.split(|b| *b == b' ').next()?;
    parse_u64(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::trace::lockcheck_format::{write_event, LockcheckReader};

    fn end_line(seq: u64, thread: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_event(
            &mut out,
            seq,
            ThreadId(thread),
            &Event::End {
                thread: ThreadId(thread),
            },
        );
        out
    }

    fn body(thread: u64, seqs: &[u64]) -> Vec<u8> {
        seqs.iter().flat_map(|s| end_line(*s, thread)).collect()
    }

    fn run(spool: &[u8]) -> (io::Result<u64>, String) {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("spool"), dir.path().join("t.lct"));
        std::fs::write(&input, spool).unwrap();
        let n = finalize(&input, &output, Ending::Complete);
        let text = std::fs::read_to_string(&output).unwrap_or_default();
        (n, text)
    }

    fn seqs(text: &str) -> Vec<u64> {
        text.lines()
            .skip(1)
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn interleaved_chunks_of_three_threads_merge_in_seq_order() {
        let mut spool = Vec::new();
        // Chunks land in the spool in flush order, not seq order.
        chunk(&mut spool, ThreadId(3), &body(3, &[2, 9, 10]));
        chunk(&mut spool, ThreadId(1), &body(1, &[1, 4, 12]));
        chunk(&mut spool, ThreadId(2), &body(2, &[3, 5]));
        chunk(&mut spool, ThreadId(3), &body(3, &[13]));
        chunk(&mut spool, ThreadId(2), &body(2, &[6, 7, 8, 11]));
        chunk(&mut spool, ThreadId(1), &body(1, &[14, 15]));
        let (n, text) = run(&spool);
        assert_eq!(n.unwrap(), 15);
        assert!(text.starts_with("lockcheck-trace 1\n"));
        assert_eq!(seqs(&text), (1..=15).collect::<Vec<_>>());
        assert!(
            text.contains("\n9 T3 end\n10 T3 end\n11 T2 end\n"),
            "{text}"
        );
        let events: Vec<_> = LockcheckReader::new(text.as_bytes(), "t.lct").collect();
        assert_eq!(events.len(), 15);
        assert!(events.iter().all(Result::is_ok), "{events:?}");
    }

    #[test]
    fn a_cut_last_chunk_is_used_up_to_its_last_whole_line() {
        let mut spool = Vec::new();
        chunk(&mut spool, ThreadId(1), &body(1, &[1, 3]));
        chunk(&mut spool, ThreadId(2), &body(2, &[2, 4, 5]));
        let whole = spool.len();
        // Cut inside the last line ("5 T2 end\n").
        let (n, text) = run(&spool[..whole - 3]);
        assert_eq!(n.unwrap(), 4);
        assert_eq!(seqs(&text), [1, 2, 3, 4]);
        // Cut inside a chunk header: that chunk never started.
        let mut more = spool.clone();
        more.extend_from_slice(b"# chunk T1 4");
        let (n, text) = run(&more);
        assert_eq!(n.unwrap(), 5);
        assert_eq!(seqs(&text), [1, 2, 3, 4, 5]);
        // Cut right after a header.
        let mut more = spool.clone();
        chunk(&mut more, ThreadId(1), &body(1, &[6]));
        let (n, _) = run(&more[..more.len() - 9]);
        assert_eq!(n.unwrap(), 5);
    }

    #[test]
    fn an_empty_spool_is_a_header_only_trace() {
        let (n, text) = run(b"");
        assert_eq!(n.unwrap(), 0);
        assert_eq!(text, "lockcheck-trace 1\n");
    }

    #[test]
    fn a_malformed_chunk_header_names_its_offset() {
        let mut spool = Vec::new();
        chunk(&mut spool, ThreadId(1), &body(1, &[1]));
        let offset = spool.len();
        spool.extend_from_slice(b"# chunk 2 9\n2 T2 end\n");
        let (n, text) = run(&spool);
        let err = n.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .starts_with(&format!("malformed spool chunk header at byte {offset}:")),
            "{err}"
        );
        assert_eq!(text, "", "no trace is left behind");
        // Garbage with no newline in sight is malformed too, not a header
        // to read to the end.
        let (n, _) = run(&[b'x'; 200]);
        assert!(n.unwrap_err().to_string().contains("at byte 0:"));
    }

    #[test]
    fn a_chunk_length_past_what_a_recording_writes_is_refused_not_allocated() {
        let mut spool = Vec::new();
        chunk(&mut spool, ThreadId(1), &body(1, &[1]));
        let offset = spool.len();
        spool.extend_from_slice(format!("# chunk T2 {}\n2 T2 end\n", MAX_CHUNK + 1).as_bytes());
        let (n, _) = run(&spool);
        let err = n.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .starts_with(&format!("spool chunk header at byte {offset} claims")),
            "{err}"
        );
        // Near miss: a chunk claiming more than the spool holds, within the
        // limit, is a chunk cut short: its whole lines are kept.
        let mut spool = Vec::new();
        chunk(&mut spool, ThreadId(1), &body(1, &[1]));
        spool.extend_from_slice(b"# chunk T2 100000\n2 T2 end\n3 T2 e");
        let (n, text) = run(&spool);
        assert_eq!(n.unwrap(), 2);
        assert_eq!(seqs(&text), [1, 2]);
    }

    #[test]
    fn a_line_without_a_seq_stays_with_its_thread() {
        let mut spool = Vec::new();
        let mut b = body(1, &[1]);
        b.extend_from_slice(b"garbage\n");
        b.extend(end_line(4, 1));
        chunk(&mut spool, ThreadId(1), &b);
        chunk(&mut spool, ThreadId(2), &body(2, &[2, 3]));
        let (n, text) = run(&spool);
        assert_eq!(n.unwrap(), 5);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "lockcheck-trace 1",
                "1 T1 end",
                "garbage",
                "2 T2 end",
                "3 T2 end",
                "4 T1 end"
            ]
        );
    }

    #[test]
    fn chunk_writes_a_header_and_the_body() {
        let mut out = Vec::new();
        chunk(&mut out, ThreadId(7), b"1 T7 end\n");
        assert_eq!(out, b"# chunk T7 9\n1 T7 end\n");
    }
}
