//! The reader: a trace streamed back as events, one line at a time.

use std::io::BufRead;

use crate::fx_hash::FxHashMap;

use super::{
    closing_quote, decode_file, decode_name, op, parse_u64, show, split_site, usage, IdField, Word,
    CHANNEL_ID, CHILD_ID, CONDITION_ID, HEADER, LOCK_ID, MESSAGE_ID, OPS, PARTIES, THREAD_ID,
    UPDATE, VAR_ID,
};
use crate::event::{AccessKind, Event, LockId, LockInfo, Name, Site, ThreadId, VarId, VarInfo};
use crate::trace::intern::intern;
use crate::trace::lines::TraceLines;
use crate::trace::TraceError;

/// Reads a lockcheck trace one line at a time (memory: the declared locks,
/// variables and files, not the trace). A malformed line is an error item
/// and is skipped; a missing or unsupported header is a fatal one, after
/// which the stream ends.
pub struct LockcheckReader<R: BufRead> {
    lines: TraceLines<R>,
    header_seen: bool,
    done: bool,
    decoder: Decoder,
}

impl<R: BufRead> LockcheckReader<R> {
    /// A reader of `reader`, whose name (for messages) is `file`.
    pub fn new(reader: R, file: &'static str) -> Self {
        LockcheckReader {
            lines: TraceLines::new(reader, file),
            header_seen: false,
            done: false,
            decoder: Decoder::default(),
        }
    }
}

impl<R: BufRead> Iterator for LockcheckReader<R> {
    type Item = Result<Event, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (text, place) = match self.lines.next_line() {
                Some(Ok(line)) => line,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                // Also with no header: a file of blank and comment lines
                // only is an empty trace (any other first line was checked
                // as the header).
                None => {
                    self.done = true;
                    return None;
                }
            };
            if !self.header_seen {
                if let Err(message) = header(text) {
                    // Nothing after a wrong header can be trusted.
                    self.done = true;
                    return Some(Err(place.error(message, true)));
                }
                self.header_seen = true;
                continue;
            }
            match self.decoder.decode(text) {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => {}
                Err(message) => return Some(Err(place.error(message, false))),
            }
        }
        None
    }
}

impl<R: BufRead> crate::trace::EventSource for LockcheckReader<R> {
    fn lines_read(&self) -> u64 {
        self.lines.lines_read()
    }
}

/// Whether a trimmed line has the shape of an event line,
/// `<seq> T<thread> …`, for format detection.
pub(in crate::trace) fn looks_like_event(line: &[u8]) -> bool {
    let mut fields = line.split(|b| *b == b' ');
    let seq = fields.next().and_then(parse_u64);
    let thread = fields
        .next()
        .and_then(|f| f.strip_prefix(b"T"))
        .and_then(parse_u64);
    seq.is_some() && thread.is_some()
}

/// Checks the first line that says something: why it is not [`HEADER`], if
/// it is not.
fn header(line: &[u8]) -> Result<(), String> {
    if line == HEADER.as_bytes() {
        return Ok(());
    }
    match line.strip_prefix(b"lockcheck-trace") {
        Some(rest) if rest.first().is_none_or(u8::is_ascii_whitespace) => {
            let version = rest.trim_ascii();
            if version.is_empty() {
                Err(
                    "lockcheck trace header without a version (expected `lockcheck-trace 1`)"
                        .to_owned(),
                )
            } else {
                Err(format!(
                    "unsupported version {} (this lockcheck reads `{HEADER}`)",
                    show(version)
                ))
            }
        }
        _ => Err(format!(
            "not a lockcheck trace (expected the first line `{HEADER}`, found `{}`)",
            show(line)
        )),
    }
}

/// Decodes the lines after the header, remembering what they declared and
/// the last sequence number.
#[derive(Default)]
struct Decoder {
    last_seq: Option<u64>,
    declared: Declared,
}

/// What earlier lines declared, for later lines to name by id.
#[derive(Default)]
struct Declared {
    locks: FxHashMap<u64, LockInfo>,
    vars: FxHashMap<u64, VarInfo>,
    /// Site files as written (bare or quoted) → interned: a file seen before
    /// costs one hash lookup, no JSON decoding and no global lock.
    files: FxHashMap<Box<[u8]>, &'static str>,
}

impl Decoder {
    /// Decodes one line: an event, or `None` for a declaration.
    fn decode(&mut self, text: &[u8]) -> Result<Option<Event>, String> {
        let mut fields = Fields { rest: text };
        let seq = fields.next().unwrap_or_default();
        let seq = parse_u64(seq).ok_or_else(|| {
            format!(
                "malformed sequence number: expected a decimal number, found `{}`",
                show(seq)
            )
        })?;
        if let Some(last) = self.last_seq {
            if seq <= last {
                return Err(format!(
                    "sequence number {seq} after {last}: events out of order"
                ));
            }
        }
        self.last_seq = Some(seq);
        let Some(thread) = fields.next() else {
            return Err(
                "missing thread after the sequence number (expected `<seq> T<thread> <op> …`)"
                    .to_owned(),
            );
        };
        let thread = ThreadId(parse_id(thread, THREAD_ID)?);
        let Some(name) = fields.next() else {
            return Err(format!("missing operation (expected one of {OPS})"));
        };
        let mut line = Line {
            fields,
            usage: usage(name),
            declared: &mut self.declared,
        };
        let event = match name {
            op::LOCK => {
                let lock = LockInfo {
                    id: LockId(line.id(LOCK_ID)?),
                    kind: line.word("kind")?,
                    created: line.created_site()?,
                    name: line.name()?,
                };
                line.finish()?;
                let id = lock.id.0;
                if !declare(&mut self.declared.locks, id, lock) {
                    return Err(format!(
                        "L{id} declared again with a different kind, site or name"
                    ));
                }
                return Ok(None);
            }
            op::VAR => {
                let var = VarInfo {
                    id: VarId(line.id(VAR_ID)?),
                    created: line.created_site()?,
                    name: line.name()?,
                };
                line.finish()?;
                let id = var.id.0;
                if !declare(&mut self.declared.vars, id, var) {
                    return Err(format!(
                        "V{id} declared again with a different site or name"
                    ));
                }
                return Ok(None);
            }
            op::THREAD => {
                let Some(name) = line.name()? else {
                    return Err(
                        "malformed name: a thread's name is a JSON string, not `-`".to_owned()
                    );
                };
                Event::ThreadName {
                    thread,
                    name: match name {
                        Name::Shared(name) => name,
                        Name::Static(name) => name.into(),
                    },
                }
            }
            op::GUARD => Event::GuardedBy {
                var: line.var()?,
                lock: line.lock()?,
            },
            op::REQUEST => Event::Request {
                thread,
                lock: line.lock()?,
                mode: line.word("mode")?,
                site: line.site()?,
            },
            op::ACQUIRE => Event::Acquire {
                thread,
                lock: line.lock()?,
                mode: line.word("mode")?,
                attempt: line.word("attempt")?,
                site: line.site()?,
            },
            op::RELEASE => Event::Release {
                thread,
                lock: line.lock()?,
                site: line.site()?,
            },
            op::CHANGE_MODE => Event::ChangeMode {
                thread,
                lock: line.lock()?,
                from: line.word("from-mode")?,
                to: line.word("to-mode")?,
                site: line.site()?,
            },
            op::READ | op::WRITE => {
                let kind = if name == op::READ {
                    AccessKind::Read
                } else {
                    AccessKind::Write
                };
                let var = line.var()?;
                let site = line.site()?;
                Event::access(kind, thread, var, site, line.optional(UPDATE))
            }
            op::SPAWN => Event::Spawn {
                parent: thread,
                child: ThreadId(line.id(CHILD_ID)?),
                site: line.site()?,
            },
            op::JOIN => Event::Join {
                parent: thread,
                child: ThreadId(line.id(CHILD_ID)?),
                site: line.site()?,
            },
            op::ARRIVE => Event::Arrive {
                thread,
                barrier: LockId(line.id(CONDITION_ID)?),
                parties: line.id(PARTIES)?,
                site: line.site()?,
            },
            op::NOTIFY => Event::Notify {
                thread,
                condition: LockId(line.id(CONDITION_ID)?),
                site: line.site()?,
            },
            op::WAIT | op::WAIT_TIMED => Event::Wait {
                thread,
                condition: LockId(line.id(CONDITION_ID)?),
                lock: line.lock()?,
                site: line.site()?,
                timed: name == op::WAIT_TIMED,
            },
            op::SEND => Event::Send {
                thread,
                message: line.id(MESSAGE_ID)?,
                site: line.site()?,
            },
            op::RECEIVE | op::RECEIVE_TRY => Event::Receive {
                thread,
                message: line.id(MESSAGE_ID)?,
                site: line.site()?,
                blocking: name == op::RECEIVE,
            },
            op::ROOM_WAIT => Event::RoomWait {
                thread,
                channel: LockId(line.id(CHANNEL_ID)?),
                site: line.site()?,
            },
            op::ROOM => Event::RoomMade {
                thread,
                channel: LockId(line.id(CHANNEL_ID)?),
                site: line.site()?,
            },
            op::YIELD => Event::Yield {
                thread,
                site: line.site()?,
            },
            op::END => Event::End { thread },
            // A dropped lock or variable leaves the declarations: its id is
            // never used again, and the reader's memory follows the live ones.
            op::DROP_LOCK => {
                let lock = line.lock()?;
                line.finish()?;
                self.declared.locks.remove(&lock.id.0);
                return Ok(Some(Event::LockDropped { thread, lock }));
            }
            op::INCOMPLETE => Event::Incomplete,
            op::DROP_VAR => {
                let var = line.var()?;
                line.finish()?;
                self.declared.vars.remove(&var.id.0);
                return Ok(Some(Event::VarDropped { thread, var }));
            }
            other => {
                return Err(format!(
                    "unknown operation `{}` (expected one of {OPS})",
                    show(other)
                ))
            }
        };
        line.finish()?;
        Ok(Some(event))
    }
}

/// Records `info` as the declaration of `id`; false if an earlier
/// declaration of it differs. The same declaration again is harmless: two
/// threads' buffers may both declare a lock or variable they share.
fn declare<T: PartialEq>(table: &mut FxHashMap<u64, T>, id: u64, info: T) -> bool {
    match table.get(&id) {
        Some(old) => *old == info,
        None => {
            table.insert(id, info);
            true
        }
    }
}

/// The fields of one line, split at single spaces. A field that opens with
/// `"` runs to its closing quote first, so quoted names and files may hold
/// spaces.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let from = if self.rest[0] == b'"' {
            closing_quote(self.rest).map_or(self.rest.len(), |q| q + 1)
        } else {
            0
        };
        let end = self.rest[from..]
            .iter()
            .position(|b| *b == b' ')
            .map_or(self.rest.len(), |p| from + p);
        let field = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or_default();
        Some(field)
    }
}

/// The fields after the op, each decoded by what it is: a message about a
/// missing one names it and quotes the op's usage, and an id is looked up
/// among the declarations.
struct Line<'a, 'd> {
    fields: Fields<'a>,
    usage: &'static str,
    declared: &'d mut Declared,
}

impl<'a> Line<'a, '_> {
    fn field(&mut self, what: &str) -> Result<&'a [u8], String> {
        self.fields
            .next()
            .ok_or_else(|| format!("missing {what} (expected `{}`)", self.usage))
    }

    fn id(&mut self, id: IdField) -> Result<u64, String> {
        let field = self.field(id.what)?;
        parse_id(field, id)
    }

    /// A word field (a kind, mode or attempt) that messages call `what`
    /// when it is missing.
    fn word<T: Word>(&mut self, what: &str) -> Result<T, String> {
        let field = self.field(what)?;
        T::from_word(field).ok_or_else(|| {
            format!(
                "malformed {}: expected {}, found `{}`",
                T::WHAT,
                T::expected(),
                show(field)
            )
        })
    }

    /// A name field (`None` for `-`), shared by whatever keeps it: it goes
    /// away with the lock or variable it names.
    fn name(&mut self) -> Result<Option<Name>, String> {
        let name = decode_name(self.field("name")?)?;
        Ok(name.map(|name| Name::shared(&name)))
    }

    /// The site of an event.
    fn site(&mut self) -> Result<Site, String> {
        let field = self.field("site")?;
        self.declared.site(field)
    }

    /// The site where a declared lock or variable was created.
    fn created_site(&mut self) -> Result<Site, String> {
        let field = self.field("created site")?;
        self.declared.site(field)
    }

    /// A lock id, resolved to the lock an earlier line declared.
    fn lock(&mut self) -> Result<LockInfo, String> {
        let id = self.id(LOCK_ID)?;
        self.declared.locks.get(&id).cloned().ok_or_else(|| {
            format!("L{id} used before its declaration (no `lock L{id} …` line earlier)")
        })
    }

    /// A variable id, resolved to the variable an earlier line declared.
    fn var(&mut self) -> Result<VarInfo, String> {
        let id = self.id(VAR_ID)?;
        self.declared.vars.get(&id).cloned().ok_or_else(|| {
            format!("V{id} used before its declaration (no `var V{id} …` line earlier)")
        })
    }

    /// Consumes `word` if it is the next field.
    fn optional(&mut self, word: &[u8]) -> bool {
        let before = self.fields.rest;
        if self.fields.next() == Some(word) {
            true
        } else {
            self.fields.rest = before;
            false
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        match self.fields.next() {
            None => Ok(()),
            Some(extra) => Err(format!(
                "unexpected field `{}` at the end (expected `{}`)",
                show(extra),
                self.usage
            )),
        }
    }
}

impl Declared {
    /// A site field decoded, its file interned once per spelling.
    fn site(&mut self, field: &[u8]) -> Result<Site, String> {
        let (file, line, column) = split_site(field).ok_or_else(|| {
            format!(
                "malformed site: expected FILE:LINE:COLUMN, found `{}`",
                show(field)
            )
        })?;
        let file = match self.files.get(file) {
            Some(interned) => *interned,
            None => {
                let interned = intern(&decode_file(file)?);
                self.files.insert(file.into(), interned);
                interned
            }
        };
        Ok(Site { file, line, column })
    }
}

fn parse_id(field: &[u8], id: IdField) -> Result<u64, String> {
    field
        .strip_prefix(&[id.prefix])
        .and_then(parse_u64)
        .ok_or_else(|| {
            format!(
                "malformed {}: expected {}<number>, found `{}`",
                id.what,
                id.prefix as char,
                show(field)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::read_all;
    use super::*;

    fn errors(text: &str) -> Vec<TraceError> {
        read_all(text.as_bytes())
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }

    /// The one error a trace of `lines` (after the header) gives.
    fn one_error(lines: &str) -> TraceError {
        let errs = errors(&format!("{HEADER}\n{lines}"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        errs.into_iter().next().unwrap()
    }

    const DECLS: &str = "1 T1 lock L1 mutex a.rs:1:1 -\n2 T1 var V1 a.rs:2:1 -\n";

    #[test]
    fn blank_and_comment_lines_are_skipped_even_before_the_header() {
        let text = format!("# expect: clean\n\n{HEADER}\r\n# a comment\n\n1 T1 end\r\n");
        let out = read_all(text.as_bytes());
        assert_eq!(
            out,
            [Ok(Event::End {
                thread: ThreadId(1)
            })]
        );
    }

    #[test]
    fn a_wrong_or_missing_header_is_fatal() {
        for (text, want) in [
            (
                "T0|acq(L1)|1\n1 T1 end\n",
                "not a lockcheck trace (expected the first line",
            ),
            ("lockcheck-trace 2\n1 T1 end\n", "unsupported version 2"),
            (
                "lockcheck-trace\n",
                "lockcheck trace header without a version",
            ),
            ("1 T1 end\n", "not a lockcheck trace"),
        ] {
            let out = read_all(text.as_bytes());
            assert_eq!(
                out.len(),
                1,
                "{text:?}: nothing after a fatal error: {out:?}"
            );
            let err = out[0].as_ref().unwrap_err();
            assert!(err.fatal, "{err}");
            assert_eq!(err.line, 1, "{text:?}: the header's line is named");
            assert!(err.message.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_file_of_blank_and_comment_lines_is_an_empty_trace() {
        for text in ["", "\n\n", "# only a comment\n", "  \n# a\r\n#b"] {
            let mut reader = LockcheckReader::new(text.as_bytes(), "t.lct");
            assert_eq!(reader.next(), None, "{text:?}");
            assert_eq!(
                crate::trace::EventSource::lines_read(&reader),
                text.lines().count() as u64
            );
        }
    }

    #[test]
    fn an_event_line_is_told_from_other_text() {
        for line in ["1 T1 end", "12 T3 acq L1 read try a.rs:1:1", "0 T0"] {
            assert!(looks_like_event(line.as_bytes()), "{line}");
        }
        for line in [
            "T0|acq(L1)|1",
            "1 1 end",
            "x T1 end",
            "1 T end",
            "lockcheck-trace 1",
        ] {
            assert!(!looks_like_event(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn an_unknown_op_lists_the_ops() {
        let err = one_error("1 T1 zap L1\n");
        assert!(!err.fatal);
        assert_eq!(err.line, 2);
        assert_eq!(
            err.to_string(),
            format!("t.lct:2: unknown operation `zap` (expected one of {OPS})")
        );
    }

    #[test]
    fn malformed_fields_say_which_and_what_was_expected() {
        for (line, want) in [
            ("x T1 end", "malformed sequence number: expected a decimal number, found `x`"),
            ("3 1 end", "malformed thread: expected T<number>, found `1`"),
            ("3 T1", "missing operation"),
            ("3 T1 acq", "missing lock id (expected `<seq> T<thread> acq L<id> <mode> <attempt> <site>`)"),
            ("3 T1 acq X1 read try a.rs:1:1", "malformed lock id: expected L<number>, found `X1`"),
            ("3 T1 acq L1 shared try a.rs:1:1", "malformed mode: expected exclusive, read, recursive-read or upgradable, found `shared`"),
            ("3 T1 acq L1 read maybe a.rs:1:1", "malformed attempt: expected blocking or try, found `maybe`"),
            ("3 T1 rel L1 a.rs:1", "malformed site: expected FILE:LINE:COLUMN, found `a.rs:1`"),
            ("3 T1 rel L1 a.rs:x:1", "malformed site"),
            ("3 T1 rel L1 \"a.rs\"1:1", "malformed site"),
            ("3 T1 rel L1 \"a.rs:1:1", "malformed site"),
            ("3 T1 rel L1 \"a\\q.rs\":1:1", "malformed site: its file is not a valid JSON string"),
            ("3 T1 rel L1 a.rs:1:1 extra", "unexpected field `extra` at the end"),
            ("3 T1 r V1 a.rs:1:1 updat", "unexpected field `updat`"),
            ("3 T1 lock L2 spinlock a.rs:1:1 -", "malformed kind: expected mutex, rwlock, reentrant-mutex, async-mutex or async-rwlock"),
            ("3 T1 lock L2 mutex a.rs:1:1 fork", "malformed name: expected - or a JSON string, found `fork`"),
            ("3 T1 var V2 a.rs:1:1 \"fork", "malformed name: not a valid JSON string"),
            ("3 T1 thread -", "malformed name: a thread's name is a JSON string, not `-`"),
            ("3 T1 spawn 2 a.rs:1:1", "malformed child thread: expected T<number>, found `2`"),
            ("3 T1 wait L1 L1 a.rs:1:1", "malformed condition id: expected C<number>"),
            ("3 T1 send 5 a.rs:1:1", "malformed message id: expected M<number>"),
            ("3 T1 acq  L1 read try a.rs:1:1", "malformed lock id: expected L<number>, found ``"),
            ("3 T1 lock L1 rwlock a.rs:1:1 -", "L1 declared again with a different kind, site or name"),
        ] {
            let err = one_error(&format!("{DECLS}{line}\n"));
            assert!(!err.fatal, "{line}: {err}");
            assert_eq!(err.line, 4, "{line}");
            assert!(err.message.starts_with(want), "{line}: {err}");
        }
    }

    #[test]
    fn an_identical_declaration_again_is_harmless() {
        let text =
            format!("{HEADER}\n{DECLS}3 T2 lock L1 mutex a.rs:1:1 -\n4 T2 rel L1 a.rs:1:1\n");
        let out = read_all(text.as_bytes());
        assert!(matches!(out[..], [Ok(Event::Release { .. })]), "{out:?}");
    }

    #[test]
    fn a_lock_or_variable_must_be_declared_first() {
        let err = one_error("1 T1 acq L4 read try a.rs:1:1\n");
        assert_eq!(
            err.message,
            "L4 used before its declaration (no `lock L4 …` line earlier)"
        );
        let err = one_error("1 T1 w V3 a.rs:1:1\n");
        assert_eq!(
            err.message,
            "V3 used before its declaration (no `var V3 …` line earlier)"
        );
    }

    #[test]
    fn a_sequence_number_must_increase_and_the_bad_line_is_skipped() {
        let text = format!("{HEADER}\n5 T1 end\n5 T2 end\n3 T2 end\n6 T3 end\n");
        let out = read_all(text.as_bytes());
        let messages: Vec<String> = out
            .iter()
            .map(|r| match r {
                Ok(e) => format!("{e:?}"),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(
            messages,
            [
                "End { thread: ThreadId(1) }",
                "t.lct:3: sequence number 5 after 5: events out of order",
                "t.lct:4: sequence number 3 after 5: events out of order",
                "End { thread: ThreadId(3) }",
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_a_malformed_line_not_a_panic() {
        let text = b"lockcheck-trace 1\n1 T1 lock L1 mutex \xff.rs:1:1 -\n2 T1 lock L2 mutex a.rs:1:1 \"\xfe\"\n3 T1 \xff\n4 T1 end\n";
        let out = read_all(text);
        let errs: Vec<_> = out.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errs.len(), 3, "{out:?}");
        assert_eq!(errs[0].message, "malformed site: its file is not UTF-8");
        assert!(errs[1].message.starts_with("malformed name"));
        assert!(errs[2].message.starts_with("unknown operation `\u{fffd}`"));
        assert!(matches!(out.last(), Some(Ok(Event::End { .. }))));
    }

    #[test]
    fn garbage_and_truncated_lines_never_panic() {
        let mut trace = HEADER.as_bytes().to_vec();
        trace.extend_from_slice(
            b"\n1 T1 lock L1 rwlock \"a b.rs\":1:1 \"x \\\" y\"\n2 T1 var V1 c:d.rs:2:3 -\n\
              3 T1 acq L1 upgradable blocking a.rs:1:1\n4 T1 mode L1 upgradable exclusive a.rs:1:1\n\
              5 T1 w V1 a.rs:1:1 update\n6 T1 wait C1 L1 \"\":0:0\n7 T1 thread \"\\u00e9\"\n",
        );
        // Every prefix: a trace cut anywhere.
        for cut in 0..=trace.len() {
            let _ = read_all(&trace[..cut]).len();
        }
        // Every line with each byte replaced by each of a few nasty bytes.
        for i in 0..trace.len() {
            for b in [b'"', b'\\', b' ', b':', b'\n', 0xff, b'-', 0] {
                let mut bad = trace.clone();
                bad[i] = b;
                let _ = read_all(&bad).len();
            }
        }
        // Pseudo-random bytes after a good header.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200 {
            let mut bytes = HEADER.as_bytes().to_vec();
            bytes.push(b'\n');
            for _ in 0..300 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pool = b"0123 T L V C M \"\\:-\n\xffacqrelmodeupdatewait";
                bytes.push(pool[(x % pool.len() as u64) as usize]);
            }
            let _ = read_all(&bytes).len();
        }
    }
}
