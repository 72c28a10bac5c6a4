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
//!
//! This module is the vocabulary both sides share: the header, the ops and
//! their fields, the words of kinds, modes and attempts, and how ids,
//! numbers, sites and names are spelled. The writer ([`write_event`] and the
//! declarations) appends lines inside the traced program; the reader
//! ([`LockcheckReader`]) streams them back as events.

mod read;
mod write;

pub(super) use read::looks_like_event;
pub use read::LockcheckReader;
pub use write::{write_event, write_lock, write_var};

use crate::event::{AcquireMode, Attempt, LockKind, Site};

/// The first line of every trace in this format (blank and `#` lines may
/// come before it).
pub const HEADER: &str = "lockcheck-trace 1";

/// The op names, a line's third field. Both sides name an op through these,
/// so that the writer cannot spell one the reader does not know.
mod op {
    pub const LOCK: &[u8] = b"lock";
    pub const VAR: &[u8] = b"var";
    pub const THREAD: &[u8] = b"thread";
    pub const GUARD: &[u8] = b"guard";
    pub const REQUEST: &[u8] = b"req";
    pub const ACQUIRE: &[u8] = b"acq";
    pub const RELEASE: &[u8] = b"rel";
    pub const CHANGE_MODE: &[u8] = b"mode";
    pub const READ: &[u8] = b"r";
    pub const WRITE: &[u8] = b"w";
    pub const SPAWN: &[u8] = b"spawn";
    pub const JOIN: &[u8] = b"join";
    pub const NOTIFY: &[u8] = b"notify";
    pub const ARRIVE: &[u8] = b"arrive";
    pub const WAIT: &[u8] = b"wait";
    pub const WAIT_TIMED: &[u8] = b"wait-timed";
    pub const SEND: &[u8] = b"send";
    pub const RECEIVE: &[u8] = b"recv";
    pub const RECEIVE_TRY: &[u8] = b"recv-try";
    pub const ROOM_WAIT: &[u8] = b"room-wait";
    pub const ROOM: &[u8] = b"room";
    pub const YIELD: &[u8] = b"yield";
    pub const END: &[u8] = b"end";
    pub const DROP_LOCK: &[u8] = b"drop-lock";
    pub const DROP_VAR: &[u8] = b"drop-var";
    pub const INCOMPLETE: &[u8] = b"incomplete";
}

/// The ops a line may have, as listed in messages about an unknown one.
const OPS: &str =
    "lock, var, thread, guard, req, acq, rel, mode, r, w, spawn, join, notify, wait, wait-timed, arrive, send, recv, recv-try, room-wait, room, yield, end, drop-lock, drop-var, incomplete";

/// The whole line an op takes, for messages about a missing or extra field.
fn usage(name: &[u8]) -> &'static str {
    match name {
        op::LOCK => "<seq> T<thread> lock L<id> <kind> <site> <name>",
        op::VAR => "<seq> T<thread> var V<id> <site> <name>",
        op::THREAD => "<seq> T<thread> thread <name>",
        op::GUARD => "<seq> T<thread> guard V<id> L<id>",
        op::REQUEST => "<seq> T<thread> req L<id> <mode> <site>",
        op::ACQUIRE => "<seq> T<thread> acq L<id> <mode> <attempt> <site>",
        op::RELEASE => "<seq> T<thread> rel L<id> <site>",
        op::CHANGE_MODE => "<seq> T<thread> mode L<id> <from-mode> <to-mode> <site>",
        op::READ => "<seq> T<thread> r V<id> <site> [update]",
        op::WRITE => "<seq> T<thread> w V<id> <site> [update]",
        op::SPAWN => "<seq> T<thread> spawn T<child> <site>",
        op::JOIN => "<seq> T<thread> join T<child> <site>",
        op::NOTIFY => "<seq> T<thread> notify C<id> <site>",
        op::ARRIVE => "<seq> T<thread> arrive C<id> N<parties> <site>",
        op::WAIT => "<seq> T<thread> wait C<id> L<id> <site>",
        op::WAIT_TIMED => "<seq> T<thread> wait-timed C<id> L<id> <site>",
        op::SEND => "<seq> T<thread> send M<id> <site>",
        op::RECEIVE => "<seq> T<thread> recv M<id> <site>",
        op::RECEIVE_TRY => "<seq> T<thread> recv-try M<id> <site>",
        op::ROOM_WAIT => "<seq> T<thread> room-wait C<id> <site>",
        op::ROOM => "<seq> T<thread> room C<id> <site>",
        op::YIELD => "<seq> T<thread> yield <site>",
        op::DROP_LOCK => "<seq> T<thread> drop-lock L<id>",
        op::DROP_VAR => "<seq> T<thread> drop-var V<id>",
        op::INCOMPLETE => "<seq> T<thread> incomplete",
        _ => "<seq> T<thread> end",
    }
}

/// The optional last field of `r` and `w`: the access is half of a
/// read-modify-write.
const UPDATE: &[u8] = b"update";

/// A field that names something by number, `<prefix><n>` (`L12`).
#[derive(Copy, Clone)]
struct IdField {
    /// The letter before the number.
    prefix: u8,
    /// What messages call the field.
    what: &'static str,
}

impl IdField {
    const fn new(prefix: u8, what: &'static str) -> Self {
        IdField { prefix, what }
    }
}

/// The acting thread, a line's second field.
const THREAD_ID: IdField = IdField::new(b'T', "thread");
/// The thread that `spawn` started or `join` waited for.
const CHILD_ID: IdField = IdField::new(b'T', "child thread");
const LOCK_ID: IdField = IdField::new(b'L', "lock id");
const VAR_ID: IdField = IdField::new(b'V', "variable id");
const CONDITION_ID: IdField = IdField::new(b'C', "condition id");
const CHANNEL_ID: IdField = IdField::new(b'C', "channel id");
/// A barrier's party count (`N3`: a round of three threads).
const PARTIES: IdField = IdField::new(b'N', "party count");
const MESSAGE_ID: IdField = IdField::new(b'M', "message id");

/// A field holding one word out of a closed set. The reader decodes by
/// looking the word up among [`Word::ALL`]'s encodings, so that a value has
/// its spelling in one place only.
trait Word: Copy + 'static {
    /// Every value, in the order messages list them.
    const ALL: &'static [Self];
    /// What a message about a word that is none of these calls the field.
    const WHAT: &'static str;

    /// How `self` is written.
    fn word(self) -> &'static str;

    /// The value written as `word`, if any.
    fn from_word(word: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.word().as_bytes() == word)
    }

    /// The words as a message lists them: `a, b or c`.
    fn expected() -> String {
        let words: Vec<&str> = Self::ALL.iter().map(|value| value.word()).collect();
        match words.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

impl Word for LockKind {
    const ALL: &'static [Self] = &[
        LockKind::Mutex,
        LockKind::RwLock,
        LockKind::ReentrantMutex,
        LockKind::AsyncMutex,
        LockKind::AsyncRwLock,
    ];
    const WHAT: &'static str = "kind";

    fn word(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwLock => "rwlock",
            LockKind::ReentrantMutex => "reentrant-mutex",
            LockKind::AsyncMutex => "async-mutex",
            LockKind::AsyncRwLock => "async-rwlock",
        }
    }
}

impl Word for AcquireMode {
    const ALL: &'static [Self] = &[
        AcquireMode::Exclusive,
        AcquireMode::Read,
        AcquireMode::RecursiveRead,
        AcquireMode::Upgradable,
    ];
    // `from-mode` and `to-mode` too: a bad word is "malformed mode".
    const WHAT: &'static str = "mode";

    fn word(self) -> &'static str {
        match self {
            AcquireMode::Exclusive => "exclusive",
            AcquireMode::Read => "read",
            AcquireMode::RecursiveRead => "recursive-read",
            AcquireMode::Upgradable => "upgradable",
        }
    }
}

impl Word for Attempt {
    const ALL: &'static [Self] = &[Attempt::Blocking, Attempt::Try];
    const WHAT: &'static str = "attempt";

    fn word(self) -> &'static str {
        match self {
            Attempt::Blocking => "blocking",
            Attempt::Try => "try",
        }
    }
}

// ------------------------------------------------------ sites and names
//
// The encoders run inside the traced program, on every event: they append
// to the caller's buffer with no allocation of their own, and quote a file
// only when it has to be.

/// The name field of a lock or variable that has none.
const NO_NAME: &[u8] = b"-";

/// ` <file>:<line>:<col>`, the file quoted only when a bare one could not be
/// read back (see [`needs_quotes`]).
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

/// A bare file could not be read back when it is empty, or holds a space (it
/// would split the line), a quote (it would open a string), a backslash or a
/// control character.
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
        None => out.extend_from_slice(NO_NAME),
    }
}

fn put_json(out: &mut Vec<u8>, s: &str) {
    let mut quoted = String::with_capacity(s.len() + 2);
    crate::json::put_str(&mut quoted, s);
    out.extend_from_slice(quoted.as_bytes());
}

/// A site field split into its file as written (bare, or a JSON string with
/// its quotes) and its line and column; `None` if it is not
/// `FILE:LINE:COLUMN`. A bare file is split off the last two `:`, as it may
/// hold `:` itself.
fn split_site(field: &[u8]) -> Option<(&[u8], u32, u32)> {
    let (file, numbers) = if field.first() == Some(&b'"') {
        let end = closing_quote(field)?;
        (&field[..=end], field[end + 1..].strip_prefix(b":")?)
    } else {
        let last = field.iter().rposition(|b| *b == b':')?;
        let middle = field[..last].iter().rposition(|b| *b == b':')?;
        (&field[..middle], &field[middle + 1..])
    };
    let colon = numbers.iter().position(|b| *b == b':')?;
    let line = parse_u32(&numbers[..colon])?;
    let column = parse_u32(&numbers[colon + 1..])?;
    Some((file, line, column))
}

/// The file of a site as [`split_site`] found it, decoded.
fn decode_file(file: &[u8]) -> Result<String, String> {
    if file.first() == Some(&b'"') {
        crate::json::parse_str(file)
            .map_err(|e| format!("malformed site: its file is not a valid JSON string ({e})"))
    } else {
        std::str::from_utf8(file)
            .map(str::to_owned)
            .map_err(|_| "malformed site: its file is not UTF-8".to_owned())
    }
}

/// A name field decoded: `None` for `-`.
fn decode_name(field: &[u8]) -> Result<Option<String>, String> {
    if field == NO_NAME {
        return Ok(None);
    }
    if field.first() != Some(&b'"') {
        return Err(format!(
            "malformed name: expected - or a JSON string, found `{}`",
            show(field)
        ));
    }
    crate::json::parse_str(field)
        .map(Some)
        .map_err(|e| format!("malformed name: not a valid JSON string ({e})"))
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

// ------------------------------------------------------------- numbers

/// Decimal digits without `fmt` (which costs a trait object call per
/// argument on the writer's hot path).
pub(in crate::trace) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
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

/// A decimal number, or `None` (empty, not digits, too large).
pub(in crate::trace) fn parse_u64(digits: &[u8]) -> Option<u64> {
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
pub(in crate::trace) fn show(field: &[u8]) -> String {
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
pub(super) mod tests {
    use super::*;
    use crate::event::{Event, LockId, LockInfo, Name, ThreadId, VarId, VarInfo};
    use crate::trace::TraceError;

    pub(super) fn site(file: &'static str, line: u32, column: u32) -> Site {
        Site { file, line, column }
    }

    pub(super) fn lock(
        id: u64,
        kind: LockKind,
        name: Option<&'static str>,
        file: &'static str,
    ) -> LockInfo {
        LockInfo {
            id: LockId(id),
            kind,
            name: name.map(Name::Static),
            created: site(file, 3, 9),
        }
    }

    pub(super) fn read_all(bytes: &[u8]) -> Vec<Result<Event, TraceError>> {
        LockcheckReader::new(bytes, "t.lct").collect()
    }

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
            name: Some("counter\tn\n".into()),
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
            Event::GuardedBy {
                var: var.clone(),
                lock: fork.clone(),
            },
            Event::Request {
                thread: t1,
                lock: rw.clone(),
                mode: AcquireMode::RecursiveRead,
                site: s,
            },
            Event::Acquire {
                thread: t1,
                lock: rw.clone(),
                mode: AcquireMode::Upgradable,
                attempt: Attempt::Try,
                site: site("src/with space.rs", 1, 2),
            },
            Event::ChangeMode {
                thread: t1,
                lock: rw.clone(),
                from: AcquireMode::Upgradable,
                to: AcquireMode::Exclusive,
                site: s,
            },
            Event::Acquire {
                thread: t1,
                lock: re.clone(),
                mode: AcquireMode::Read,
                attempt: Attempt::Blocking,
                site: s,
            },
            Event::Release {
                thread: t1,
                lock: re.clone(),
                site: s,
            },
            Event::Read {
                thread: t2,
                var: var.clone(),
                site: s,
                update: true,
            },
            Event::Write {
                thread: t2,
                var: anon.clone(),
                site: s,
                update: false,
            },
            Event::Read {
                thread: t2,
                var: anon.clone(),
                site: s,
                update: false,
            },
            Event::Write {
                thread: t2,
                var: var.clone(),
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
                lock: fork.clone(),
                condition: LockId(99),
                site: s,
                timed: false,
            },
            Event::Wait {
                thread: t2,
                lock: fork.clone(),
                condition: LockId(99),
                site: s,
                timed: true,
            },
            Event::Notify {
                thread: t1,
                condition: LockId(99),
                site: s,
            },
            Event::Arrive {
                thread: t1,
                barrier: LockId(98),
                parties: 2,
                site: s,
            },
            Event::RoomWait {
                thread: t1,
                channel: LockId(97),
                site: s,
            },
            Event::RoomMade {
                thread: t2,
                channel: LockId(97),
                site: s,
            },
            Event::Yield {
                thread: t1,
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
                blocking: true,
            },
            Event::Receive {
                thread: t2,
                message: 7,
                site: s,
                blocking: false,
            },
            Event::End { thread: t2 },
            // Last: after them, the dropped ones are no longer declared.
            Event::VarDropped {
                thread: t1,
                var: anon.clone(),
            },
            Event::LockDropped {
                thread: t2,
                lock: re.clone(),
            },
        ];
        let mut out = HEADER.as_bytes().to_vec();
        out.push(b'\n');
        let mut seq = 0;
        for l in [fork.clone(), rw.clone(), re.clone()] {
            seq += 1;
            write_lock(&mut out, seq, t1, &l);
        }
        for v in [var.clone(), anon.clone()] {
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
    fn every_listed_op_has_its_own_usage() {
        for name in OPS.split(", ") {
            let usage = usage(name.as_bytes());
            assert!(
                usage.starts_with(&format!("<seq> T<thread> {name}")),
                "{name}: {usage}"
            );
        }
    }

    fn words_round_trip<T: Word + PartialEq + std::fmt::Debug>() {
        for value in T::ALL {
            assert_eq!(T::from_word(value.word().as_bytes()), Some(*value));
        }
        assert_eq!(T::from_word(b""), None);
    }

    #[test]
    fn every_word_reads_back_as_its_value() {
        words_round_trip::<LockKind>();
        words_round_trip::<AcquireMode>();
        words_round_trip::<Attempt>();
    }

    #[test]
    fn expected_words_are_listed_with_a_final_or() {
        assert_eq!(Attempt::expected(), "blocking or try");
        assert_eq!(
            LockKind::expected(),
            "mutex, rwlock, reentrant-mutex, async-mutex or async-rwlock"
        );
        assert_eq!(
            AcquireMode::expected(),
            "exclusive, read, recursive-read or upgradable"
        );
    }

    #[test]
    fn sites_split_at_the_last_two_colons_or_after_the_quoted_file() {
        assert_eq!(
            split_site(b"src/a:b.rs:4:2"),
            Some((&b"src/a:b.rs"[..], 4, 2))
        );
        assert_eq!(
            split_site(b"\"a b:1.rs\":3:9"),
            Some((&b"\"a b:1.rs\""[..], 3, 9))
        );
        assert_eq!(split_site(b"\"\":0:0"), Some((&b"\"\""[..], 0, 0)));
        for bad in [
            &b"a.rs:1"[..],
            b"a.rs:x:1",
            b"a.rs:1:99999999999",
            b"\"a.rs\"1:1",
            b"\"a.rs:1:1",
        ] {
            assert_eq!(split_site(bad), None, "{}", show(bad));
        }
    }

    #[test]
    fn numbers_are_written_and_read_as_plain_decimals() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 12_345, u64::MAX] {
            out.clear();
            put_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
            assert_eq!(parse_u64(&out), Some(n));
        }
        assert_eq!(parse_u64(b"18446744073709551616"), None, "too large");
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u32(b"4294967296"), None);
    }
}
