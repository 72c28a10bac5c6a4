//! RAPID's STD text format: one event a line, `THREAD|OP(TARGET)|LOCATION`.
//!
//! Ops: `r` and `w` (a variable), `acq` and `rel` (a lock), `fork` and `join`
//! (a thread), `begin` and `end` (transaction markers, which no detector here
//! uses). The dialect of the SUnhang traces is read too: `req(l)` before
//! `acq(l)` (the thread asks for the lock: if the trace ends before the
//! `acq`, it was still waiting), `fork(11)` meaning thread `T11`, and Java's
//! monitor `wait(l)`, `notify(l)`, `notifyAll(l)`. Locks are Java monitors,
//! so a thread may take one it holds again. A site is the event's program
//! location in the trace's file (`trace.std:LOCATION:0`); messages about
//! malformed lines give the trace's own line.

use std::collections::VecDeque;
use std::io::BufRead;
use std::ops::ControlFlow;

use crate::fx_hash::FxHashMap;

use super::intern::intern;
use super::lines::{Place, TraceLines};
use super::lockcheck_format::show;
use super::TraceError;
use crate::event::{
    AccessKind, AcquireMode, Attempt, Event, LockId, LockInfo, LockKind, Name, Site, ThreadId,
    VarId, VarInfo,
};

/// Reads STD events one line at a time (memory: the names seen and a
/// bounded memo of lines, not the trace).
pub struct StdReader<R> {
    /// The lines, split as bytes: only names are checked as UTF-8.
    lines: TraceLines<R>,
    decoder: Decoder,
}

impl<R: BufRead> StdReader<R> {
    /// A reader of `input`, whose name (for messages and sites) is `file`.
    pub fn new(input: R, file: &'static str) -> Self {
        StdReader {
            lines: TraceLines::new(input, file),
            decoder: Decoder::default(),
        }
    }
}

/// Decodes lines into events, giving each name seen its id.
#[derive(Default)]
struct Decoder {
    // Keyed by the name's bytes as written, so that a name seen before
    // costs one hash lookup: no UTF-8 check (its bytes were checked when
    // it was first seen), no interning and no allocation.
    threads: NameMap<ThreadId>,
    locks: NameMap<LockInfo>,
    vars: NameMap<VarInfo>,
    /// Thread names decoded from the current line but not handed out yet
    /// (they go before the line's event; most lines have none).
    queued: VecDeque<Event>,
    /// The short thread name last looked up, packed, and its thread: lines
    /// mostly come in runs of one thread's, and an entry of `threads` never
    /// changes once made, so a repeat costs a comparison, not a lookup.
    last_thread: Option<(u128, ThreadId)>,
    /// Events of lines decoded before, by the lines' bytes.
    memo: LineMemo,
}

/// The events of short lines decoded lately, by the lines' bytes: a
/// trace's lines repeat (a few threads, locks and program locations), and
/// a line whose names are known decodes to the same event every time, so
/// a repeat is lent from here, with no field split, no name looked up and
/// no event built. Callgrind, the analyze bench's traces of 2M events, with
/// the lock-order edges the analysis remembers (`analysis::known`): see
/// [`MEMO_SLOTS`] and the commit that made it.
///
/// Only lines with a location are kept: without one, an event's site is
/// the line's number. A line that fails to decode is never kept (it fails
/// the same way every time, and says so each time). The memo is dropped,
/// and its lookups with it, when few lines are found in it (see
/// [`MEMO_CHECKED`]): in a trace of distinct lines it would cost a lookup
/// and a copy a line.
#[derive(Default)]
struct LineMemo {
    /// [`MEMO_SLOTS`] slots (none before the first line kept), each the
    /// last line kept of those whose keys map to it, and its event.
    slots: Vec<Option<((u128, u128), Event)>>,
    /// Lines found, and lines looked up and not found.
    hits: u64,
    misses: u64,
    /// Dropped: no more lookups.
    off: bool,
}

/// The lines a [`LineMemo`] holds at most, each in the slot its key maps to
/// (a line displaces the one there): about 600 KB, which stays in cache. A
/// table of the first 65,536 distinct lines (9 MB) found more of them, and
/// took fewer instructions (callgrind, the analyze bench's traces of 2M
/// events: mixed 743 an event against 982 here, accesses 635 against
/// 938), but a line looked up in it was a cache miss: criterion, end to
/// end, mixed 2.3 M events/s against 3.2 here, accesses 2.7 against 4.0
/// (locks 8.2 against 7.3, its 1,058 distinct lines fitting either).
const MEMO_SLOTS: usize = 1 << 12;

/// Lookups a [`LineMemo`] makes before it checks that lines repeat: the
/// analyze bench's traces first write each of their 4,096 variables once.
/// After that, it is dropped as soon as fewer than one lookup in five found
/// its line (issue 16's trace, whose locations all differ: 0.2%).
const MEMO_CHECKED: u64 = 1 << 14;

/// The longest line a [`LineMemo`] keeps, in bytes: two packed names.
const MEMO_LONGEST: usize = 2 * SHORT_NAME;

impl LineMemo {
    /// The memo's key of `line`, if it may be kept: its first
    /// [`SHORT_NAME`] bytes packed, then the rest (each with its length,
    /// so distinct lines have distinct keys).
    #[inline(always)]
    fn key(&self, line: &[u8]) -> Option<(u128, u128)> {
        if self.off || line.len() > MEMO_LONGEST {
            return None;
        }
        let split = line.len().min(SHORT_NAME);
        Some((pack(&line[..split]), pack(&line[split..])))
    }

    /// The slot of `key`: its words folded, multiplied (FxHash's constant)
    /// and the top bits taken.
    #[inline(always)]
    fn slot(key: (u128, u128)) -> usize {
        let fold = |w: u128| (w as u64) ^ ((w >> 64) as u64).rotate_left(29);
        let h = (fold(key.0) ^ fold(key.1).rotate_left(13)).wrapping_mul(0xf135_7aea_2e62_a9c5);
        (h >> (64 - MEMO_SLOTS.trailing_zeros())) as usize
    }

    /// The event of the line of `key`, if it is kept.
    #[inline(always)]
    fn get(&mut self, key: (u128, u128)) -> Option<&Event> {
        let found = match self.slots.get(Self::slot(key)) {
            Some(Some((kept, event))) if *kept == key => Some(event),
            _ => None,
        };
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Keeps `event` as the line of `key`'s (which [`Self::get`] did not
    /// find), unless the memo is dropped now (see [`MEMO_CHECKED`]).
    fn keep(&mut self, key: (u128, u128), event: &Event) {
        if self.hits + self.misses >= MEMO_CHECKED && self.hits * 4 < self.misses {
            self.off = true;
            self.slots = Vec::new();
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(MEMO_SLOTS, || None);
        }
        if let Some(slot) = self.slots.get_mut(Self::slot(key)) {
            *slot = Some((key, event.clone()));
        }
    }
}

/// Names as written in a trace, to what they stand for. A name of at most
/// 15 bytes (every name of the traces measured: `T3`, `L12`, `V4095`) is
/// its bytes and length packed in one `u128`: hashing it is two
/// multiplications and comparing it one integer comparison, where a boxed
/// key cost a hash of its bytes, a pointer chase (a cache miss in a table
/// of thousands of variables) and a `memcmp` call. Longer names are boxed.
struct NameMap<V> {
    short: FxHashMap<u128, V>,
    long: FxHashMap<Box<[u8]>, V>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap {
            short: FxHashMap::default(),
            long: FxHashMap::default(),
        }
    }
}

/// The longest name packed in a `u128` (its last byte holds the length).
const SHORT_NAME: usize = 15;

/// `name`'s bytes in place (byte `i` of the name is byte `i` of the
/// number) and its length in the top byte: distinct names of up to
/// [`SHORT_NAME`] bytes pack apart. Read as overlapping words from both
/// ends, which put the bytes they share in the same places; each half of
/// the number is made with 64-bit shifts, where shifting the `u128` by a
/// length-dependent amount cost about 35 instructions a name (callgrind,
/// the analyze bench's mixed trace, names of 2 to 5 bytes).
#[inline(always)]
fn pack(name: &[u8]) -> u128 {
    let n = name.len();
    debug_assert!(n <= SHORT_NAME);
    let word = |at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&name[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&name[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    // The shortest names (`T3`, `L12`) by their bytes as a pattern, which
    // needs no bounds check: indexing them cost about 17 instructions a
    // name more (callgrind, the analyze bench's locks trace).
    let (low, high) = match *name {
        [] => (0, 0),
        [a] => (u64::from(a), 0),
        [a, b] => (u64::from(u16::from_le_bytes([a, b])), 0),
        [a, b, c] => (
            u64::from(u16::from_le_bytes([a, b])) | u64::from(c) << 16,
            0,
        ),
        _ if n < 8 => (half(0) | half(n - 4) << (8 * (n - 4)), 0),
        _ if n == 8 => (word(0), 0),
        // Bytes 8.. are the top `n - 8` bytes of the word ending the name.
        _ => (word(0), word(n - 8) >> (8 * (16 - n))),
    };
    u128::from(low) | u128::from(high | (n as u64) << 56) << 64
}

impl<V> NameMap<V> {
    // Always inlined: as a call from the reader's loop it cost about 30
    // instructions a lookup more (callgrind).
    #[inline(always)]
    fn get(&self, name: &[u8]) -> Option<&V> {
        if name.len() <= SHORT_NAME {
            self.short.get(&pack(name))
        } else {
            self.long.get(name)
        }
    }

    fn insert(&mut self, name: &[u8], value: V) {
        if name.len() <= SHORT_NAME {
            self.short.insert(pack(name), value);
        } else {
            self.long.insert(name.into(), value);
        }
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }
}

/// An STD operation, told from its name's bytes.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Acquire,
    Request,
    Release,
    Fork,
    Join,
    Wait,
    Notify,
    /// `begin` and `end`, which no detector uses.
    Marker,
    Unknown,
}

impl Op {
    /// By length, then the bytes as one array (integer comparisons, where
    /// a match on byte strings compared them one by one).
    #[inline(always)]
    fn of(name: &[u8]) -> Op {
        match *name {
            [b'r'] => Op::Read,
            [b'w'] => Op::Write,
            [a, b, c] => match [a, b, c] {
                [b'a', b'c', b'q'] => Op::Acquire,
                [b'r', b'e', b'l'] => Op::Release,
                [b'r', b'e', b'q'] => Op::Request,
                [b'e', b'n', b'd'] => Op::Marker,
                _ => Op::Unknown,
            },
            _ => match name {
                b"fork" => Op::Fork,
                b"join" => Op::Join,
                b"wait" => Op::Wait,
                b"notify" | b"notifyAll" => Op::Notify,
                b"begin" => Op::Marker,
                _ => Op::Unknown,
            },
        }
    }
}

/// A site is the program location the trace gives (its LOCATION field), in
/// the trace's file: the same code is the same site, so repeated findings
/// merge. Without a location, the trace line (and false).
fn site_at(place: Place, location: &[u8]) -> (Site, bool) {
    let located = parse_u32(location);
    let line = located.unwrap_or_else(|| u32::try_from(place.line).unwrap_or(u32::MAX));
    let site = Site {
        file: place.file,
        line,
        column: 0,
    };
    (site, located.is_some())
}

/// Whether `bytes` are UTF-8 (names are checked only when first seen).
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// The name's text, checked UTF-8 by the caller.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl Decoder {
    /// The thread already named `name`, if any (always inlined, as
    /// [`NameMap::get`]).
    #[inline(always)]
    fn known_thread(&mut self, name: &[u8]) -> Option<ThreadId> {
        if name.len() > SHORT_NAME {
            return self.threads.long.get(name).copied();
        }
        let key = pack(name);
        if let Some((last, id)) = self.last_thread {
            if last == key {
                return Some(id);
            }
        }
        let id = self.threads.short.get(&key).copied()?;
        self.last_thread = Some((key, id));
        Some(id)
    }

    /// The thread named `name` (`T11`, or a bare `11` meaning `T11`), UTF-8;
    /// a thread seen for the first time also yields its name.
    fn thread(&mut self, name: &[u8]) -> ThreadId {
        if let Some(id) = self.threads.get(name) {
            return *id;
        }
        let name = text(name);
        let full = if name.bytes().all(|b| b.is_ascii_digit()) {
            format!("T{name}")
        } else {
            name.to_owned()
        };
        // `11` and `T11` are one thread.
        let id = match self.threads.get(full.as_bytes()) {
            Some(id) => *id,
            None => {
                let id = ThreadId(self.threads.len() as u64 + 1);
                self.threads.insert(full.as_bytes(), id);
                self.queued.push_back(Event::ThreadName {
                    thread: id,
                    name: full.as_str().into(),
                });
                id
            }
        };
        self.threads.insert(name.as_bytes(), id);
        id
    }

    /// A lock seen for the first time, named `name` (UTF-8).
    fn new_lock(&mut self, name: &[u8], site: Site) -> LockInfo {
        let lock = LockInfo {
            id: LockId(self.locks.len() as u64 + 1),
            kind: LockKind::ReentrantMutex,
            // STD has no drop events: a lock or variable lives to the end, and its
            // name with it (static names clone for free on every event).
            name: Some(Name::Static(intern(text(name)))),
            created: site,
        };
        self.locks.insert(name, lock.clone());
        lock
    }

    /// A variable seen for the first time, named `name` (UTF-8).
    fn new_var(&mut self, name: &[u8], site: Site) -> VarInfo {
        let var = VarInfo {
            id: VarId(self.vars.len() as u64 + 1),
            name: Some(Name::Static(intern(text(name)))),
            created: site,
        };
        self.vars.insert(name, var.clone());
        var
    }

    /// Decodes the line at `place`: its event, if it has one; the thread
    /// names it introduces go to `self.queued`. (Inlined into its one
    /// caller: the event is built where it is returned, not moved.)
    #[inline(always)]
    ///
    /// `located` is set when the event's site is the line's location (not
    /// its number): the same line then always decodes to the same event.
    fn decode(
        &mut self,
        text: &[u8],
        place: Place,
        located: &mut bool,
    ) -> Result<Option<Event>, TraceError> {
        let (thread, name, target, location) = match split_plain(text) {
            Some(parts) => parts,
            None => split(text, place)?,
        };
        let kind = Op::of(name);
        // A known name is ASCII; a target or thread found in its table was
        // checked when first seen. (The checks come in the order they
        // always did: op, target, thread, then an empty target.)
        let not_utf8 = || place.error("not UTF-8".to_owned(), false);
        if kind == Op::Unknown && !is_utf8(name) {
            return Err(not_utf8());
        }
        let known_lock = match kind {
            Op::Acquire | Op::Request | Op::Release | Op::Wait | Op::Notify => {
                self.locks.get(target).cloned()
            }
            _ => None,
        };
        let known_var = match kind {
            Op::Read | Op::Write => self.vars.get(target).cloned(),
            _ => None,
        };
        if known_lock.is_none() && known_var.is_none() && !is_utf8(target) {
            return Err(not_utf8());
        }
        let thread = thread.trim_ascii();
        let known_thread = self.known_thread(thread);
        if known_thread.is_none() && !is_utf8(thread) {
            return Err(not_utf8());
        }
        if target.is_empty() {
            return Err(place.error(format!("`{}` has no target", self::text(name)), false));
        }
        let location = location.map(|l| l.trim_ascii());
        let (site, from_location) = site_at(place, location.unwrap_or(b""));
        *located = from_location;
        let thread = match known_thread {
            Some(id) => id,
            None => self.thread(thread),
        };
        let lock = |this: &mut Self| match known_lock {
            Some(lock) => lock,
            None => this.new_lock(target, site),
        };
        let var = |this: &mut Self| match known_var {
            Some(var) => var,
            None => this.new_var(target, site),
        };
        let event = match kind {
            // STD has no read-modify-writes: `update` is always false.
            Op::Read => Event::access(AccessKind::Read, thread, var(self), site, false),
            Op::Write => Event::access(AccessKind::Write, thread, var(self), site, false),
            Op::Acquire => Event::Acquire {
                thread,
                lock: lock(self),
                mode: AcquireMode::Exclusive,
                attempt: Attempt::Blocking,
                site,
            },
            Op::Request => Event::Request {
                thread,
                lock: lock(self),
                mode: AcquireMode::Exclusive,
                site,
            },
            Op::Release => Event::Release {
                thread,
                lock: lock(self),
                site,
            },
            Op::Fork => Event::Spawn {
                parent: thread,
                child: self.thread(target),
                site,
            },
            Op::Join => Event::Join {
                parent: thread,
                child: self.thread(target),
                site,
            },
            Op::Wait => {
                let lock = lock(self);
                Event::Wait {
                    thread,
                    condition: lock.id,
                    lock,
                    site,
                    // STD does not say; Java's `wait(ms)` is logged alike.
                    timed: false,
                }
            }
            Op::Notify => Event::Notify {
                thread,
                condition: lock(self).id,
                site,
            },
            Op::Marker => return Ok(None),
            Op::Unknown => {
                return Err(place.error(
                    format!("unknown operation `{}` (expected r, w, acq, rel, req, fork, join, wait, notify, notifyAll, begin, end)", show(name)),
                    false,
                ))
            }
        };
        Ok(Some(event))
    }
}

/// A line's fields: thread, op name, target and location (if any).
type Fields<'a> = (&'a [u8], &'a [u8], &'a [u8], Option<&'a [u8]>);

/// The fields of a line of the plain shape every trace measured has,
/// `THREAD|name(TARGET)` then `|LOCATION` or the end, with the name all
/// letters and no `(`, `)` or `|` in the target: one pass over the bytes
/// after the thread, where [`split`] scans them three times (for the second
/// bar, the closing parenthesis and the opening one). `None` for any other
/// line, which [`split`] reads (to the same fields, or its error).
///
/// Each field is found by a search over a subslice that stops at a byte of
/// a class (a table lookup), not by an index loop checked against the
/// line's length at every byte. (A word-at-a-time search, as for the
/// newline, cost more on fields this short: 2,556M instructions against
/// 2,463M on the analyze bench's mixed trace of 2M events.)
#[inline]
fn split_plain(text: &[u8]) -> Option<Fields<'_>> {
    let bar = text.iter().position(|b| *b == b'|')?;
    let (thread, rest) = (&text[..bar], &text[bar + 1..]);
    let name_len = rest
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    if name_len == 0 || rest.get(name_len) != Some(&b'(') {
        return None;
    }
    let (name, rest) = (&rest[..name_len], &rest[name_len + 1..]);
    let close = rest.iter().position(|b| ENDS_TARGET[usize::from(*b)])?;
    if rest[close] != b')' {
        return None;
    }
    let (target, rest) = (&rest[..close], &rest[close + 1..]);
    let location = match rest.split_first() {
        None => None,
        Some((b'|', location)) => Some(location),
        Some(_) => return None,
    };
    Some((thread, name, target, location))
}

/// The bytes that end a plain line's target: `(`, `)` and `|` (only `)`
/// ends it well).
static ENDS_TARGET: [bool; 256] = {
    let mut ends = [false; 256];
    ends[b'(' as usize] = true;
    ends[b')' as usize] = true;
    ends[b'|' as usize] = true;
    ends
};

/// The fields of any line, or why it has none.
#[cold]
fn split(text: &[u8], place: Place) -> Result<Fields<'_>, TraceError> {
    let Some(bar) = text.iter().position(|b| *b == b'|') else {
        return Err(place.error(
            format!(
                "expected THREAD|OP(TARGET)|LOCATION, found `{}`",
                show(text)
            ),
            false,
        ));
    };
    let (thread, rest) = (&text[..bar], &text[bar + 1..]);
    let (op, location) = match rest.iter().position(|b| *b == b'|') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let op = op.trim_ascii();
    let Some((name, target)) = op.strip_suffix(b")").and_then(|o| {
        o.iter()
            .position(|b| *b == b'(')
            .map(|i| (&o[..i], &o[i + 1..]))
    }) else {
        return Err(place.error(format!("expected OP(TARGET), found `{}`", show(op)), false));
    };
    Ok((thread, name, target, location))
}

impl<R: BufRead> Iterator for StdReader<R> {
    type Item = Result<Event, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.decoder.queued.pop_front() {
                return Some(Ok(event));
            }
            let (text, place) = match self.lines.next_line()? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            match self.decoder.decode(text, place, &mut false) {
                Ok(Some(event)) if self.decoder.queued.is_empty() => return Some(Ok(event)),
                // After the names it introduced.
                Ok(Some(event)) => self.decoder.queued.push_back(event),
                Ok(None) => {}
                Err(e) => {
                    self.decoder.queued.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Lends `event` to `f`, then drops it. An event of a line owns nothing
/// on the heap (its lock's or variable's name is interned, static), so
/// its drop does nothing, and is skipped after a check the compiler sees
/// through, instead of the call to the drop glue of every kind of event
/// (about 23 instructions an event, callgrind, the analyze bench's
/// traces). Any other event is dropped as usual.
///
/// `decoded` is the decoder's whole answer, an event: lent from inside it,
/// it is not copied out of it first.
#[inline(always)]
fn lend(
    f: &mut dyn FnMut(Result<&Event, TraceError>) -> ControlFlow<()>,
    decoded: Result<Option<Event>, TraceError>,
) -> ControlFlow<()> {
    let decoded = std::mem::ManuallyDrop::new(decoded);
    let Ok(Some(event)) = &*decoded else {
        // Not an event after all (the caller's match says it is).
        drop(std::mem::ManuallyDrop::into_inner(decoded));
        return ControlFlow::Continue(());
    };
    let flow = f(Ok(event));
    if owns_heap(event) {
        drop(std::mem::ManuallyDrop::into_inner(decoded));
    }
    flow
}

/// Whether dropping `event` may free something: false only for the kinds
/// a line decodes to with a static name or none.
#[inline(always)]
fn owns_heap(event: &Event) -> bool {
    let shared = |name: &Option<Name>| matches!(name, Some(Name::Shared(_)));
    match event {
        Event::Read { var, .. } | Event::Write { var, .. } => shared(&var.name),
        Event::Acquire { lock, .. }
        | Event::Request { lock, .. }
        | Event::Release { lock, .. }
        | Event::Wait { lock, .. } => shared(&lock.name),
        Event::Spawn { .. } | Event::Join { .. } | Event::Notify { .. } => false,
        _ => true,
    }
}

/// Whether a trimmed line has the shape of an STD event,
/// `THREAD|OP(TARGET)…`, for format detection.
pub(super) fn looks_like_event(line: &[u8]) -> bool {
    let mut parts = line.split(|b| *b == b'|');
    let thread = parts.next().unwrap_or_default().trim_ascii();
    let Some(op) = parts.next().map(<[u8]>::trim_ascii) else {
        return false;
    };
    let name_end = op.iter().position(|b| *b == b'(');
    !thread.is_empty()
        && op.ends_with(b")")
        && name_end.is_some_and(|i| i > 0 && op[..i].iter().all(u8::is_ascii_alphabetic))
}

impl<R: BufRead> super::EventSource for StdReader<R> {
    fn lines_read(&self) -> u64 {
        self.lines.lines_read()
    }

    /// What [`Iterator::next`] yields, one item after another, each event
    /// decoded in place and lent to `f`, or lent from the [`LineMemo`] when
    /// its line was decoded before (the iterator decodes every line: the
    /// two are checked against each other by a unit test and the fuzz
    /// target).
    fn for_each_event(&mut self, f: &mut dyn FnMut(Result<&Event, TraceError>) -> ControlFlow<()>) {
        loop {
            while let Some(event) = self.decoder.queued.pop_front() {
                if f(Ok(&event)).is_break() {
                    return;
                }
            }
            let flow = match self.lines.next_line() {
                None => return,
                Some(Err(e)) => f(Err(e)),
                Some(Ok((text, place))) => {
                    let key = self.decoder.memo.key(text);
                    if let Some(event) = key.and_then(|k| self.decoder.memo.get(k)) {
                        if f(Ok(event)).is_break() {
                            return;
                        }
                        continue;
                    }
                    let mut located = false;
                    let decoded = self.decoder.decode(text, place, &mut located);
                    if let (Some(key), Ok(Some(event)), true) = (key, &decoded, located) {
                        self.decoder.memo.keep(key, event);
                    }
                    self.lend_decoded(f, decoded)
                }
            };
            if flow.is_break() {
                return;
            }
        }
    }
}

impl<R: BufRead> StdReader<R> {
    /// Lends what a line decoded to (after the names it introduced).
    #[inline(always)]
    fn lend_decoded(
        &mut self,
        f: &mut dyn FnMut(Result<&Event, TraceError>) -> ControlFlow<()>,
        decoded: Result<Option<Event>, TraceError>,
    ) -> ControlFlow<()> {
        match decoded {
            // Lent where it was decoded, not moved out first.
            decoded @ Ok(Some(_)) if self.decoder.queued.is_empty() => lend(f, decoded),
            // After the names it introduced.
            Ok(Some(event)) => {
                self.decoder.queued.push_back(event);
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => {
                self.decoder.queued.clear();
                f(Err(e))
            }
        }
    }
}

/// A decimal number, or `None` (empty, not digits, too large).
fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 9 {
        // Nine digits cannot overflow: no checked arithmetic.
        let mut n = 0u32;
        for d in digits {
            let d = d.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u32::from(d);
        }
        return Some(n);
    }
    digits.iter().try_fold(0u32, |n, d| {
        let d = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u32::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<Result<Event, TraceError>> {
        StdReader::new(text.as_bytes(), "t.std").collect()
    }

    fn ok_events(text: &str) -> Vec<Event> {
        events(text).into_iter().map(Result::unwrap).collect()
    }

    fn kinds(text: &str) -> Vec<&'static str> {
        ok_events(text)
            .iter()
            .map(|e| match e {
                Event::ThreadName { .. } => "name",
                Event::Request { .. } => "req",
                Event::Acquire { .. } => "acq",
                Event::Release { .. } => "rel",
                Event::Read { .. } => "r",
                Event::Write { .. } => "w",
                Event::Spawn { .. } => "fork",
                Event::Join { .. } => "join",
                Event::Wait { .. } => "wait",
                Event::Notify { .. } => "notify",
                other => panic!("the STD reader made {other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_op_is_read() {
        let text = "T0|r(V1)|1\nT0|w(V1)|2\nT0|acq(L1)|3\nT0|rel(L1)|4\nT0|fork(T1)|5\n\
                    T1|req(L1)|6\nT1|acq(L1)|6\nT1|wait(L1)|7\nT1|rel(L1)|8\nT0|notify(L1)|9\n\
                    T0|notifyAll(L1)|10\nT0|join(T1)|11\nT0|begin(x)|12\nT0|end(x)|13";
        assert_eq!(
            kinds(text),
            [
                "name", "r", "w", "acq", "rel", "name", "fork", "req", "acq", "wait", "rel",
                "notify", "notify", "join"
            ]
        );
    }

    #[test]
    fn a_bare_number_in_fork_names_thread_t_number() {
        let evs = ok_events("T9|fork(11)|22\nT11|r(x)|9");
        let Event::Spawn { child, .. } = &evs[2] else {
            panic!("{evs:?}")
        };
        let Event::Read { thread, .. } = &evs[3] else {
            panic!("{evs:?}")
        };
        assert_eq!(child, thread, "fork(11) and T11 are one thread");
    }

    #[test]
    fn sites_are_program_locations_in_the_trace_file() {
        let evs = ok_events("\nT0|acq(L1)|345\nT0|rel(L1)");
        let Event::Acquire { site, lock, .. } = &evs[1] else {
            panic!("{evs:?}")
        };
        assert_eq!((site.file, site.line, site.column), ("t.std", 345, 0));
        let Event::Release { site, .. } = &evs[2] else {
            panic!("{evs:?}")
        };
        assert_eq!(site.line, 3, "no location: the trace line");
        assert_eq!(lock.kind, LockKind::ReentrantMutex, "Java monitors");
    }

    #[test]
    fn a_name_that_is_not_utf8_is_a_malformed_line() {
        let bytes = b"T0|acq(\xff)|1\nT0|acq(L1)|2\n";
        let out: Vec<_> = StdReader::new(&bytes[..], "t.std").collect();
        let err = out[0].as_ref().unwrap_err();
        assert_eq!((err.line, err.message.as_str()), (1, "not UTF-8"));
        assert!(out.iter().any(|e| matches!(e, Ok(Event::Acquire { .. }))));
    }

    #[test]
    fn an_event_line_is_told_from_other_text() {
        for line in ["T0|acq(L1)|12", "1|notifyAll(x)", " T1 | fork(2) | 3"] {
            assert!(looks_like_event(line.trim().as_bytes()), "{line}");
        }
        for line in [
            "hello",
            "a|b",
            "|acq(l)|1",
            "T0|(l)|1",
            "T0|acq(l|1",
            "1 T1 end",
        ] {
            assert!(!looks_like_event(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn the_one_pass_split_finds_what_the_general_one_does() {
        let place = Place {
            file: "t.std",
            line: 1,
        };
        let mut plain = 0;
        for thread in ["T0", " T1 ", "", "11"] {
            for op in [
                "acq(L1)",
                "r(V)",
                "notifyAll(x)",
                "acq()",
                "acq(a(b))",
                "acq(L1))",
                "(L1)",
                " acq(L1) ",
                "acq(L1",
                "ac q(L1)",
                "acq(L1)x",
                "é(x)",
                "acq(é)",
            ] {
                for location in ["", "|12", "|", "| 3 ", "|1|2"] {
                    let line = format!("{thread}|{op}{location}");
                    if let Some(fields) = split_plain(line.as_bytes()) {
                        plain += 1;
                        let general = split(line.as_bytes(), place).ok();
                        assert_eq!(Some(fields), general, "{line}");
                    }
                }
            }
        }
        assert!(plain > 40, "the plain shape was found {plain} times");
    }

    #[test]
    fn the_lending_loop_yields_what_the_iterator_does() {
        use crate::trace::EventSource;
        let text = "# c\nT0|acq(L1)|1\n11|fork(12)|2\n12|r(x)|3\ngarbage\nT0|zap(L1)|4\n\
                    T9|acq()|5\nT0|acq(\u{e9})|6\nT0|wait(L1)|7\nT5|begin(x)|8\nT0|rel(L1)";
        let by_next = events(text);
        let mut lent = Vec::new();
        StdReader::new(text.as_bytes(), "t.std").for_each_event(&mut |item| {
            lent.push(item.cloned());
            ControlFlow::Continue(())
        });
        assert_eq!(lent, by_next);
        assert!(by_next.iter().filter(|i| i.is_err()).count() >= 3);
        // A break stops at once.
        let mut seen = 0;
        StdReader::new(text.as_bytes(), "t.std").for_each_event(&mut |_| {
            seen += 1;
            ControlFlow::Break(())
        });
        assert_eq!(seen, 1);
    }

    #[test]
    fn lines_lent_from_the_memo_are_what_decoding_them_gives() {
        use crate::trace::EventSource;
        // Repeats of: lines with and without a location (whose sites are
        // their line numbers), names first seen, a fork by number, errors,
        // markers, a long name, a line too long for the memo.
        let once = "T0|acq(L1)|1\nT0|rel(L1)\n11|fork(12)|2\n12|r(x)|3\nT0|zap(L1)|4\n\
                    T9|acq()|5\nT5|begin(x)|8\nT1|w(a_16_byte_name__)|9\n\
                    T1|w(a_name_longer_than_fifteen_and_the_line_too)|10\nT1|r(V7)|12x\n";
        let text = once.repeat(3);
        let by_next = events(&text);
        let mut reader = StdReader::new(text.as_bytes(), "t.std");
        let mut lent = Vec::new();
        reader.for_each_event(&mut |item| {
            lent.push(item.cloned());
            ControlFlow::Continue(())
        });
        assert_eq!(lent, by_next);
        let memo = &reader.decoder.memo;
        let kept = memo.slots.iter().flatten().count();
        assert_eq!(kept, 4, "the located lines short enough");
        assert_eq!(memo.hits, 8, "their two repeats");
    }

    #[test]
    fn a_memo_of_lines_that_do_not_repeat_is_dropped() {
        let event = Event::Notify {
            thread: ThreadId(1),
            condition: LockId(1),
            site: Site::caller(),
        };
        // Lines that do not repeat: dropped once checked.
        let mut memo = LineMemo::default();
        for i in 0..=MEMO_CHECKED as u128 {
            assert!(memo.get((i, 0)).is_none());
            memo.keep((i, 0), &event);
        }
        assert!(memo.slots.is_empty());
        assert!(memo.off && memo.key(b"T0|r(x)|1").is_none());
        // Near miss: lines that repeat keep it, in its slots.
        let mut memo = LineMemo::default();
        for i in 0..=MEMO_CHECKED as u128 * 4 {
            let key = (i % 100, 7);
            if memo.get(key).is_none() {
                memo.keep(key, &event);
            }
        }
        assert!(!memo.off && memo.slots.len() == MEMO_SLOTS);
        assert!(memo.get((3, 7)).is_some() && memo.get((3, 8)).is_none());
    }

    #[test]
    fn locations_are_whole_decimal_numbers() {
        assert_eq!(parse_u32(b"345"), Some(345));
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"3a"), None);
        assert_eq!(parse_u32(b"99999999999"), None);
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"0000000000012"), Some(12));
        assert_eq!(parse_u32(b"12345678/"), None);
    }

    #[test]
    fn malformed_lines_name_their_line_and_reading_goes_on() {
        let out = events("T0|acq(L1)|1\ngarbage\nT0|zap(L1)|3\nT0|acq()|4\nT0|rel(L1)|5");
        let errors: Vec<&TraceError> = out.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].line, 2);
        assert!(errors[1]
            .to_string()
            .starts_with("t.std:3: unknown operation `zap`"));
        assert!(errors.iter().all(|e| !e.fatal));
        assert!(matches!(out.last(), Some(Ok(Event::Release { .. }))));
    }

    #[test]
    fn names_pack_apart_and_long_names_are_kept_whole() {
        let mut seen = std::collections::HashMap::new();
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=SHORT_NAME {
            for fill in [b'a', b'z', 0, 0xff] {
                let mut name = vec![fill; len];
                names.push(name.clone());
                for i in 0..len {
                    name[i] = b'0' + i as u8;
                    names.push(name.clone());
                }
            }
        }
        for name in &names {
            if let Some(other) = seen.insert(pack(name), name.clone()) {
                assert_eq!(&other, name, "two names packed alike");
            }
        }
        let mut map = NameMap::default();
        for (i, name) in names.iter().enumerate() {
            map.insert(name, i);
        }
        let long = [
            b"a_lock_name_longer_than_fifteen".as_slice(),
            b"a_lock_name_longer_than_fifteen!",
        ];
        map.insert(long[0], 1000);
        map.insert(long[1], 1001);
        assert_eq!(map.get(long[0]), Some(&1000));
        assert_eq!(map.get(long[1]), Some(&1001));
        assert_eq!(map.get(b"a_lock_name_longer_than_fifteen?"), None);
        assert_eq!(map.len(), seen.len() + 2);
        for name in &names {
            assert_eq!(map.get(name).map(|i| &names[*i]), Some(name));
        }
    }
}
