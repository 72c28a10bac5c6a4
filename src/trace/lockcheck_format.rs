//! lockcheck's own trace format, version 1: line-oriented UTF-8 text, read
//! and written here (the README's "Trace format" section is the reference).
//!
//! ```text
//! lockcheck-trace 1
//! 1 T1 lock L1 mutex src/main.rs:4:13 "fork"
//! 2 T1 acq L1 exclusive blocking src/main.rs:9:5
//! 3 T1 rel L1 src/main.rs:11:1
//! ```
//!
//! After the header, each line is `<seq> T<thread> <op> <fields…>`: `seq`
//! is the global order, the thread the acting one. Locks and variables are
//! declared once (`lock`, `var`) and then named by id, so that an event line
//! stays short and the reader's memory grows with the locks and variables,
//! not with the trace.

use std::io::BufRead;

use rustc_hash::FxHashMap;

use super::intern::intern;
use super::TraceError;
use crate::event::{
    AcquireMode, Attempt, Event, LockId, LockInfo, LockKind, Site, ThreadId, VarId, VarInfo,
};

/// The first line of every trace in this format (blank and `#` lines may
/// come before it).
pub const HEADER: &str = "lockcheck-trace 1";

/// The ops a line may have, as listed in messages about an unknown one.
const OPS: &str =
    "lock, var, thread, guard, req, acq, rel, mode, r, w, spawn, join, notify, wait, send, recv, end";

// ---------------------------------------------------------------- writing
//
// The writers run inside the traced program, on every event: they append
// bytes to the caller's buffer with no formatting machinery and no
// allocation of their own, and quote a file only when it has to be.

/// Appends the declaration line of a lock.
pub fn write_lock(out: &mut Vec<u8>, seq: u64, thread: ThreadId, lock: &LockInfo) {
    start(out, seq, thread, b"lock");
    put_id(out, b'L', lock.id.0);
    put_word(out, kind_str(lock.kind));
    put_site(out, &lock.created);
    put_name(out, lock.name);
    out.push(b'\n');
}

/// Appends the declaration line of a shared variable.
pub fn write_var(out: &mut Vec<u8>, seq: u64, thread: ThreadId, var: &VarInfo) {
    start(out, seq, thread, b"var");
    put_id(out, b'V', var.id.0);
    put_site(out, &var.created);
    put_name(out, var.name);
    out.push(b'\n');
}

/// Appends the line of one event (every [`Event`] variant has one; the locks
/// and variables it names are written by id and must have been declared with
/// [`write_lock`] / [`write_var`] at a smaller `seq`).
///
/// The thread column is the event's own thread (the parent for
/// `Spawn`/`Join`); only `GuardedBy`, which has none, writes `thread` there.
pub fn write_event(out: &mut Vec<u8>, seq: u64, thread: ThreadId, event: &Event) {
    match event {
        Event::Request {
            thread,
            lock,
            mode,
            site,
        } => {
            start(out, seq, *thread, b"req");
            put_id(out, b'L', lock.id.0);
            put_word(out, mode_str(*mode));
            put_site(out, site);
        }
        Event::Acquire {
            thread,
            lock,
            mode,
            attempt,
            site,
        } => {
            start(out, seq, *thread, b"acq");
            put_id(out, b'L', lock.id.0);
            put_word(out, mode_str(*mode));
            put_word(out, attempt_str(*attempt));
            put_site(out, site);
        }
        Event::Release { thread, lock, site } => {
            start(out, seq, *thread, b"rel");
            put_id(out, b'L', lock.id.0);
            put_site(out, site);
        }
        Event::Read {
            thread,
            var,
            site,
            update,
        } => put_access(out, seq, *thread, b"r", var, site, *update),
        Event::Write {
            thread,
            var,
            site,
            update,
        } => put_access(out, seq, *thread, b"w", var, site, *update),
        Event::GuardedBy { var, lock } => {
            start(out, seq, thread, b"guard");
            put_id(out, b'V', var.id.0);
            put_id(out, b'L', lock.id.0);
        }
        Event::Spawn {
            parent,
            child,
            site,
        } => {
            start(out, seq, *parent, b"spawn");
            put_id(out, b'T', child.0);
            put_site(out, site);
        }
        Event::Join {
            parent,
            child,
            site,
        } => {
            start(out, seq, *parent, b"join");
            put_id(out, b'T', child.0);
            put_site(out, site);
        }
        Event::Wait {
            thread,
            lock,
            condition,
            site,
        } => {
            start(out, seq, *thread, b"wait");
            put_id(out, b'C', condition.0);
            put_id(out, b'L', lock.id.0);
            put_site(out, site);
        }
        Event::Notify {
            thread,
            condition,
            site,
        } => {
            start(out, seq, *thread, b"notify");
            put_id(out, b'C', condition.0);
            put_site(out, site);
        }
        Event::ChangeMode {
            thread,
            lock,
            from,
            to,
            site,
        } => {
            start(out, seq, *thread, b"mode");
            put_id(out, b'L', lock.id.0);
            put_word(out, mode_str(*from));
            put_word(out, mode_str(*to));
            put_site(out, site);
        }
        Event::Send {
            thread,
            message,
            site,
        } => {
            start(out, seq, *thread, b"send");
            put_id(out, b'M', *message);
            put_site(out, site);
        }
        Event::Receive {
            thread,
            message,
            site,
        } => {
            start(out, seq, *thread, b"recv");
            put_id(out, b'M', *message);
            put_site(out, site);
        }
        Event::End { thread } => start(out, seq, *thread, b"end"),
        Event::ThreadName { thread, name } => {
            start(out, seq, *thread, b"thread");
            out.push(b' ');
            put_json(out, name);
        }
    }
    out.push(b'\n');
}

/// `<seq> T<thread> <op>`.
fn start(out: &mut Vec<u8>, seq: u64, thread: ThreadId, op: &[u8]) {
    put_u64(out, seq);
    out.extend_from_slice(b" T");
    put_u64(out, thread.0);
    out.push(b' ');
    out.extend_from_slice(op);
}

fn put_access(
    out: &mut Vec<u8>,
    seq: u64,
    thread: ThreadId,
    op: &[u8],
    var: &VarInfo,
    site: &Site,
    update: bool,
) {
    start(out, seq, thread, op);
    put_id(out, b'V', var.id.0);
    put_site(out, site);
    if update {
        out.extend_from_slice(b" update");
    }
}

/// ` <prefix><n>`, e.g. ` L12`.
fn put_id(out: &mut Vec<u8>, prefix: u8, n: u64) {
    out.push(b' ');
    out.push(prefix);
    put_u64(out, n);
}

fn put_word(out: &mut Vec<u8>, word: &str) {
    out.push(b' ');
    out.extend_from_slice(word.as_bytes());
}

/// ` <file>:<line>:<col>`, the file quoted only when a bare one could not be
/// read back (empty, or holding a space, a quote, a backslash or a control
/// character).
fn put_site(out: &mut Vec<u8>, site: &Site) {
    out.push(b' ');
    if needs_quotes(site.file) {
        put_json(out, site.file);
    } else {
        out.extend_from_slice(site.file.as_bytes());
    }
    out.push(b':');
    put_u64(out, u64::from(site.line));
    out.push(b':');
    put_u64(out, u64::from(site.column));
}

fn needs_quotes(file: &str) -> bool {
    file.is_empty()
        || file
            .bytes()
            .any(|b| b == b' ' || b == b'"' || b == b'\\' || b.is_ascii_control())
}

/// ` -` or ` "<name>"`: names are always quoted, so that `-` can mean none.
fn put_name(out: &mut Vec<u8>, name: Option<&str>) {
    out.push(b' ');
    match name {
        Some(name) => put_json(out, name),
        None => out.push(b'-'),
    }
}

fn put_json(out: &mut Vec<u8>, s: &str) {
    // Serialising a `str` into a `Vec` cannot fail (no I/O error, no
    // non-string key), so there is no error to hand on.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Decimal digits without `fmt` (which costs a trait object call per
/// argument on this hot path).
pub(super) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn kind_str(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Mutex => "mutex",
        LockKind::RwLock => "rwlock",
        LockKind::ReentrantMutex => "reentrant-mutex",
    }
}

fn mode_str(mode: AcquireMode) -> &'static str {
    match mode {
        AcquireMode::Exclusive => "exclusive",
        AcquireMode::Read => "read",
        AcquireMode::RecursiveRead => "recursive-read",
        AcquireMode::Upgradable => "upgradable",
    }
}

fn attempt_str(attempt: Attempt) -> &'static str {
    match attempt {
        Attempt::Blocking => "blocking",
        Attempt::Try => "try",
    }
}

// ---------------------------------------------------------------- reading

/// Reads a lockcheck trace one line at a time (memory: the declared locks,
/// variables and files, not the trace). A malformed line is an error item
/// and is skipped; a missing or unsupported header is a fatal one, after
/// which the stream ends.
pub struct LockcheckReader<R: BufRead> {
    input: R,
    /// The current line's bytes, reused from line to line.
    text: Vec<u8>,
    file: &'static str,
    line: u64,
    header_seen: bool,
    done: bool,
    last_seq: Option<u64>,
    locks: FxHashMap<u64, LockInfo>,
    vars: FxHashMap<u64, VarInfo>,
    /// Site files as written (bare or quoted) → interned: a file seen before
    /// costs one hash lookup, no JSON decoding and no global lock.
    files: FxHashMap<Box<[u8]>, &'static str>,
}

impl<R: BufRead> LockcheckReader<R> {
    /// A reader of `reader`, whose name (for messages) is `file`.
    pub fn new(reader: R, file: &'static str) -> Self {
        LockcheckReader {
            input: reader,
            text: Vec::new(),
            file,
            line: 0,
            header_seen: false,
            done: false,
            last_seq: None,
            locks: FxHashMap::default(),
            vars: FxHashMap::default(),
            files: FxHashMap::default(),
        }
    }

    fn error(&self, message: String, fatal: bool) -> TraceError {
        TraceError {
            file: self.file.to_owned(),
            line: self.line,
            message,
            fatal,
        }
    }

    fn header(&self, line: &[u8]) -> Result<(), String> {
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
        let thread = ThreadId(parse_id(thread, b'T', "thread")?);
        let Some(op) = fields.next() else {
            return Err(format!("missing operation (expected one of {OPS})"));
        };
        let mut line = Line {
            fields,
            usage: usage(op),
        };
        let event = match op {
            b"lock" => {
                let id = parse_id(line.field("lock id")?, b'L', "lock id")?;
                let lock = LockInfo {
                    id: LockId(id),
                    kind: parse_kind(line.field("kind")?)?,
                    created: self.site(line.field("created site")?)?,
                    name: parse_name(line.field("name")?)?,
                };
                line.finish()?;
                match self.locks.get(&id) {
                    // Declared by two buffers: harmless if they agree.
                    Some(old) if *old != lock => {
                        return Err(format!(
                            "L{id} declared again with a different kind, site or name"
                        ))
                    }
                    Some(_) => {}
                    None => {
                        self.locks.insert(id, lock);
                    }
                }
                return Ok(None);
            }
            b"var" => {
                let id = parse_id(line.field("variable id")?, b'V', "variable id")?;
                let var = VarInfo {
                    id: VarId(id),
                    created: self.site(line.field("created site")?)?,
                    name: parse_name(line.field("name")?)?,
                };
                line.finish()?;
                match self.vars.get(&id) {
                    Some(old) if *old != var => {
                        return Err(format!(
                            "V{id} declared again with a different site or name"
                        ))
                    }
                    Some(_) => {}
                    None => {
                        self.vars.insert(id, var);
                    }
                }
                return Ok(None);
            }
            b"thread" => {
                let Some(name) = parse_name(line.field("name")?)? else {
                    return Err(
                        "malformed name: a thread's name is a JSON string, not `-`".to_owned()
                    );
                };
                Event::ThreadName {
                    thread,
                    name: name.into(),
                }
            }
            b"guard" => Event::GuardedBy {
                var: self.var(line.field("variable id")?)?,
                lock: self.lock(line.field("lock id")?)?,
            },
            b"req" => Event::Request {
                thread,
                lock: self.lock(line.field("lock id")?)?,
                mode: parse_mode(line.field("mode")?)?,
                site: self.site(line.field("site")?)?,
            },
            b"acq" => Event::Acquire {
                thread,
                lock: self.lock(line.field("lock id")?)?,
                mode: parse_mode(line.field("mode")?)?,
                attempt: parse_attempt(line.field("attempt")?)?,
                site: self.site(line.field("site")?)?,
            },
            b"rel" => Event::Release {
                thread,
                lock: self.lock(line.field("lock id")?)?,
                site: self.site(line.field("site")?)?,
            },
            b"mode" => Event::ChangeMode {
                thread,
                lock: self.lock(line.field("lock id")?)?,
                from: parse_mode(line.field("from-mode")?)?,
                to: parse_mode(line.field("to-mode")?)?,
                site: self.site(line.field("site")?)?,
            },
            b"r" | b"w" => {
                let var = self.var(line.field("variable id")?)?;
                let site = self.site(line.field("site")?)?;
                let update = line.optional(b"update");
                if op == b"r" {
                    Event::Read {
                        thread,
                        var,
                        site,
                        update,
                    }
                } else {
                    Event::Write {
                        thread,
                        var,
                        site,
                        update,
                    }
                }
            }
            b"spawn" => Event::Spawn {
                parent: thread,
                child: ThreadId(parse_id(line.field("child thread")?, b'T', "child thread")?),
                site: self.site(line.field("site")?)?,
            },
            b"join" => Event::Join {
                parent: thread,
                child: ThreadId(parse_id(line.field("child thread")?, b'T', "child thread")?),
                site: self.site(line.field("site")?)?,
            },
            b"notify" => Event::Notify {
                thread,
                condition: LockId(parse_id(line.field("condition id")?, b'C', "condition id")?),
                site: self.site(line.field("site")?)?,
            },
            b"wait" => Event::Wait {
                thread,
                condition: LockId(parse_id(line.field("condition id")?, b'C', "condition id")?),
                lock: self.lock(line.field("lock id")?)?,
                site: self.site(line.field("site")?)?,
            },
            b"send" => Event::Send {
                thread,
                message: parse_id(line.field("message id")?, b'M', "message id")?,
                site: self.site(line.field("site")?)?,
            },
            b"recv" => Event::Receive {
                thread,
                message: parse_id(line.field("message id")?, b'M', "message id")?,
                site: self.site(line.field("site")?)?,
            },
            b"end" => Event::End { thread },
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

    fn lock(&self, field: &[u8]) -> Result<LockInfo, String> {
        let id = parse_id(field, b'L', "lock id")?;
        self.locks.get(&id).copied().ok_or_else(|| {
            format!("L{id} used before its declaration (no `lock L{id} …` line earlier)")
        })
    }

    fn var(&self, field: &[u8]) -> Result<VarInfo, String> {
        let id = parse_id(field, b'V', "variable id")?;
        self.vars.get(&id).copied().ok_or_else(|| {
            format!("V{id} used before its declaration (no `var V{id} …` line earlier)")
        })
    }

    /// `<file>:<line>:<col>`, the file bare (split off the last two `:`, as
    /// a file may hold `:`) or a JSON string.
    fn site(&mut self, field: &[u8]) -> Result<Site, String> {
        let malformed = || {
            format!(
                "malformed site: expected FILE:LINE:COLUMN, found `{}`",
                show(field)
            )
        };
        let (file, numbers) = if field.first() == Some(&b'"') {
            let end = closing_quote(field).ok_or_else(malformed)?;
            let rest = field[end + 1..].strip_prefix(b":").ok_or_else(malformed)?;
            (&field[..=end], rest)
        } else {
            let last = field
                .iter()
                .rposition(|b| *b == b':')
                .ok_or_else(malformed)?;
            let middle = field[..last]
                .iter()
                .rposition(|b| *b == b':')
                .ok_or_else(malformed)?;
            (&field[..middle], &field[middle + 1..])
        };
        let colon = numbers
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(malformed)?;
        let line = parse_u32(&numbers[..colon]).ok_or_else(malformed)?;
        let column = parse_u32(&numbers[colon + 1..]).ok_or_else(malformed)?;
        let file = match self.files.get(file) {
            Some(interned) => *interned,
            None => {
                let decoded = if file.first() == Some(&b'"') {
                    serde_json::from_slice::<String>(file).map_err(|e| {
                        format!("malformed site: its file is not a valid JSON string ({e})")
                    })?
                } else {
                    std::str::from_utf8(file)
                        .map_err(|_| "malformed site: its file is not UTF-8".to_owned())?
                        .to_owned()
                };
                let interned = intern(&decoded);
                self.files.insert(file.into(), interned);
                interned
            }
        };
        Ok(Site { file, line, column })
    }
}

impl<R: BufRead> Iterator for LockcheckReader<R> {
    type Item = Result<Event, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.text.clear();
            match self.input.read_until(b'\n', &mut self.text) {
                Ok(0) => {
                    self.done = true;
                    if self.header_seen {
                        return None;
                    }
                    let mut e = self.error(
                        format!("not a lockcheck trace (no `{HEADER}` header line)"),
                        true,
                    );
                    e.line = 0;
                    return Some(Err(e));
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    self.line += 1;
                    return Some(Err(self.error(format!("cannot read: {e}"), true)));
                }
            }
            self.line += 1;
            let text = std::mem::take(&mut self.text);
            let trimmed = text.trim_ascii();
            let item = if trimmed.is_empty() || trimmed.starts_with(b"#") {
                None
            } else if !self.header_seen {
                match self.header(trimmed) {
                    Ok(()) => {
                        self.header_seen = true;
                        None
                    }
                    Err(message) => {
                        // Nothing after a wrong header can be trusted.
                        self.done = true;
                        Some(Err(self.error(message, true)))
                    }
                }
            } else {
                match self.decode(trimmed) {
                    Ok(event) => event.map(Ok),
                    Err(message) => Some(Err(self.error(message, false))),
                }
            };
            self.text = text;
            if item.is_some() {
                return item;
            }
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

/// The fields after the op, with the op's usage for messages.
struct Line<'a> {
    fields: Fields<'a>,
    usage: &'static str,
}

impl<'a> Line<'a> {
    fn field(&mut self, what: &str) -> Result<&'a [u8], String> {
        self.fields
            .next()
            .ok_or_else(|| format!("missing {what} (expected `{}`)", self.usage))
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

fn usage(op: &[u8]) -> &'static str {
    match op {
        b"lock" => "<seq> T<thread> lock L<id> <kind> <site> <name>",
        b"var" => "<seq> T<thread> var V<id> <site> <name>",
        b"thread" => "<seq> T<thread> thread <name>",
        b"guard" => "<seq> T<thread> guard V<id> L<id>",
        b"req" => "<seq> T<thread> req L<id> <mode> <site>",
        b"acq" => "<seq> T<thread> acq L<id> <mode> <attempt> <site>",
        b"rel" => "<seq> T<thread> rel L<id> <site>",
        b"mode" => "<seq> T<thread> mode L<id> <from-mode> <to-mode> <site>",
        b"r" => "<seq> T<thread> r V<id> <site> [update]",
        b"w" => "<seq> T<thread> w V<id> <site> [update]",
        b"spawn" => "<seq> T<thread> spawn T<child> <site>",
        b"join" => "<seq> T<thread> join T<child> <site>",
        b"notify" => "<seq> T<thread> notify C<id> <site>",
        b"wait" => "<seq> T<thread> wait C<id> L<id> <site>",
        b"send" => "<seq> T<thread> send M<id> <site>",
        b"recv" => "<seq> T<thread> recv M<id> <site>",
        _ => "<seq> T<thread> end",
    }
}

/// The index of the `"` closing the string that opens `field`, skipping
/// backslash escapes.
fn closing_quote(field: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < field.len() {
        match field[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn parse_id(field: &[u8], prefix: u8, what: &str) -> Result<u64, String> {
    field
        .strip_prefix(&[prefix])
        .and_then(parse_u64)
        .ok_or_else(|| {
            format!(
                "malformed {what}: expected {}<number>, found `{}`",
                prefix as char,
                show(field)
            )
        })
}

fn parse_name(field: &[u8]) -> Result<Option<&'static str>, String> {
    if field == b"-" {
        return Ok(None);
    }
    if field.first() != Some(&b'"') {
        return Err(format!(
            "malformed name: expected - or a JSON string, found `{}`",
            show(field)
        ));
    }
    let name = serde_json::from_slice::<String>(field)
        .map_err(|e| format!("malformed name: not a valid JSON string ({e})"))?;
    Ok(Some(intern(&name)))
}

fn parse_kind(field: &[u8]) -> Result<LockKind, String> {
    match field {
        b"mutex" => Ok(LockKind::Mutex),
        b"rwlock" => Ok(LockKind::RwLock),
        b"reentrant-mutex" => Ok(LockKind::ReentrantMutex),
        _ => Err(format!(
            "malformed kind: expected mutex, rwlock or reentrant-mutex, found `{}`",
            show(field)
        )),
    }
}

fn parse_mode(field: &[u8]) -> Result<AcquireMode, String> {
    match field {
        b"exclusive" => Ok(AcquireMode::Exclusive),
        b"read" => Ok(AcquireMode::Read),
        b"recursive-read" => Ok(AcquireMode::RecursiveRead),
        b"upgradable" => Ok(AcquireMode::Upgradable),
        _ => Err(format!(
            "malformed mode: expected exclusive, read, recursive-read or upgradable, found `{}`",
            show(field)
        )),
    }
}

fn parse_attempt(field: &[u8]) -> Result<Attempt, String> {
    match field {
        b"blocking" => Ok(Attempt::Blocking),
        b"try" => Ok(Attempt::Try),
        _ => Err(format!(
            "malformed attempt: expected blocking or try, found `{}`",
            show(field)
        )),
    }
}

/// A decimal number, or `None` (empty, not digits, too large).
pub(super) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        let d = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    parse_u64(digits).and_then(|n| u32::try_from(n).ok())
}

/// A field as a message quotes it: on one line, and not too long.
fn show(field: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&field[..field.len().min(MAX)]);
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    if field.len() > MAX {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(file: &'static str, line: u32, column: u32) -> Site {
        Site { file, line, column }
    }

    fn lock(id: u64, kind: LockKind, name: Option<&'static str>, file: &'static str) -> LockInfo {
        LockInfo {
            id: LockId(id),
            kind,
            name,
            created: site(file, 3, 9),
        }
    }

    fn read_all(bytes: &[u8]) -> Vec<Result<Event, TraceError>> {
        LockcheckReader::new(bytes, "t.lct").collect()
    }

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
    fn every_event_round_trips() {
        let t1 = ThreadId(1);
        let t2 = ThreadId(2);
        let fork = lock(
            1,
            LockKind::Mutex,
            Some("fork \"left\" 1"),
            "src/with space.rs",
        );
        let rw = lock(2, LockKind::RwLock, None, "C:\\src\\odd.rs");
        let re = lock(3, LockKind::ReentrantMutex, Some(""), "");
        let var = VarInfo {
            id: VarId(7),
            name: Some("counter\tn\n"),
            created: site("src/a:b.rs", 4, 2),
        };
        let anon = VarInfo {
            id: VarId(8),
            name: None,
            created: site("src/é.rs", 5, 1),
        };
        let s = site("src/main.rs", 10, 5);
        let events = vec![
            Event::ThreadName {
                thread: t2,
                name: "worker \"2\"".into(),
            },
            Event::GuardedBy { var, lock: fork },
            Event::Request {
                thread: t1,
                lock: rw,
                mode: AcquireMode::RecursiveRead,
                site: s,
            },
            Event::Acquire {
                thread: t1,
                lock: rw,
                mode: AcquireMode::Upgradable,
                attempt: Attempt::Try,
                site: site("src/with space.rs", 1, 2),
            },
            Event::ChangeMode {
                thread: t1,
                lock: rw,
                from: AcquireMode::Upgradable,
                to: AcquireMode::Exclusive,
                site: s,
            },
            Event::Acquire {
                thread: t1,
                lock: re,
                mode: AcquireMode::Read,
                attempt: Attempt::Blocking,
                site: s,
            },
            Event::Release {
                thread: t1,
                lock: re,
                site: s,
            },
            Event::Read {
                thread: t2,
                var,
                site: s,
                update: true,
            },
            Event::Write {
                thread: t2,
                var: anon,
                site: s,
                update: false,
            },
            Event::Read {
                thread: t2,
                var: anon,
                site: s,
                update: false,
            },
            Event::Write {
                thread: t2,
                var,
                site: s,
                update: true,
            },
            Event::Spawn {
                parent: t1,
                child: t2,
                site: s,
            },
            Event::Join {
                parent: t1,
                child: t2,
                site: s,
            },
            Event::Wait {
                thread: t2,
                lock: fork,
                condition: LockId(99),
                site: s,
            },
            Event::Notify {
                thread: t1,
                condition: LockId(99),
                site: s,
            },
            Event::Send {
                thread: t1,
                message: u64::MAX,
                site: s,
            },
            Event::Receive {
                thread: t2,
                message: u64::MAX,
                site: s,
            },
            Event::End { thread: t2 },
        ];
        let mut out = HEADER.as_bytes().to_vec();
        out.push(b'\n');
        let mut seq = 0;
        for l in [fork, rw, re] {
            seq += 1;
            write_lock(&mut out, seq, t1, &l);
        }
        for v in [var, anon] {
            seq += 1;
            write_var(&mut out, seq, t1, &v);
        }
        for e in &events {
            seq += 1;
            write_event(&mut out, seq, t1, e);
        }
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(text.lines().count(), 1 + 5 + events.len(), "{text}");
        assert!(
            text.contains("1 T1 lock L1 mutex \"src/with space.rs\":3:9 \"fork \\\"left\\\" 1\"\n")
        );
        assert!(
            text.contains(" src/a:b.rs:4:2 "),
            "a `:` alone needs no quotes"
        );
        let back: Vec<Event> = read_all(&out).into_iter().map(Result::unwrap).collect();
        assert_eq!(back, events);
    }

    #[test]
    fn the_thread_column_is_the_events_own_thread() {
        let mut out = Vec::new();
        let s = site("a.rs", 1, 1);
        let spawn = Event::Spawn {
            parent: ThreadId(4),
            child: ThreadId(5),
            site: s,
        };
        write_event(&mut out, 12, ThreadId(9), &spawn);
        assert_eq!(out, b"12 T4 spawn T5 a.rs:1:1\n");
        out.clear();
        let l = lock(1, LockKind::Mutex, None, "a.rs");
        let v = VarInfo {
            id: VarId(2),
            name: None,
            created: s,
        };
        write_event(
            &mut out,
            13,
            ThreadId(9),
            &Event::GuardedBy { var: v, lock: l },
        );
        assert_eq!(
            out, b"13 T9 guard V2 L1\n",
            "GuardedBy has no thread of its own"
        );
    }

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
                "",
                "not a lockcheck trace (no `lockcheck-trace 1` header line)",
            ),
            ("# only a comment\n", "not a lockcheck trace (no"),
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
            assert!(err.message.starts_with(want), "{text:?}: {err}");
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
            ("3 T1 lock L2 spinlock a.rs:1:1 -", "malformed kind: expected mutex, rwlock or reentrant-mutex"),
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
