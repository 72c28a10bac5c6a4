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

use crate::fx_hash::FxHashMap;

use super::intern::intern;
use super::lines::{Place, TraceLines};
use super::lockcheck_format::show;
use super::TraceError;
use crate::event::{
    AccessKind, AcquireMode, Attempt, Event, LockId, LockInfo, LockKind, Name, Site, ThreadId,
    VarId, VarInfo,
};

/// Reads STD events one line at a time (memory: the names seen, not the
/// trace).
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
    // Keyed by the name as written, so that a name seen before costs one
    // hash lookup, no interning and no allocation.
    threads: FxHashMap<String, ThreadId>,
    locks: FxHashMap<String, LockInfo>,
    vars: FxHashMap<String, VarInfo>,
    /// Events decoded from the current line but not handed out yet.
    queued: VecDeque<Event>,
}

/// A site is the program location the trace gives (its LOCATION field), in
/// the trace's file: the same code is the same site, so repeated findings
/// merge. Without a location, the trace line.
fn site_at(place: Place, location: &[u8]) -> Site {
    let line = parse_u32(location).unwrap_or_else(|| u32::try_from(place.line).unwrap_or(u32::MAX));
    Site {
        file: place.file,
        line,
        column: 0,
    }
}

impl Decoder {
    /// The thread named `name` (`T11`, or a bare `11` meaning `T11`); a
    /// thread seen for the first time also yields its name.
    fn thread(&mut self, name: &str) -> ThreadId {
        if let Some(id) = self.threads.get(name) {
            return *id;
        }
        let full = if name.bytes().all(|b| b.is_ascii_digit()) {
            format!("T{name}")
        } else {
            name.to_owned()
        };
        // `11` and `T11` are one thread.
        let id = match self.threads.get(&full) {
            Some(id) => *id,
            None => {
                let id = ThreadId(self.threads.len() as u64 + 1);
                self.threads.insert(full.clone(), id);
                self.queued.push_back(Event::ThreadName {
                    thread: id,
                    name: full.as_str().into(),
                });
                id
            }
        };
        self.threads.insert(name.to_owned(), id);
        id
    }

    fn lock(&mut self, name: &str, site: Site) -> LockInfo {
        if let Some(lock) = self.locks.get(name) {
            return lock.clone();
        }
        let lock = LockInfo {
            id: LockId(self.locks.len() as u64 + 1),
            kind: LockKind::ReentrantMutex,
            // STD has no drop events: a lock or variable lives to the end, and its
            // name with it (static names clone for free on every event).
            name: Some(Name::Static(intern(name))),
            created: site,
        };
        self.locks.insert(name.to_owned(), lock.clone());
        lock
    }

    fn var(&mut self, name: &str, site: Site) -> VarInfo {
        if let Some(var) = self.vars.get(name) {
            return var.clone();
        }
        let var = VarInfo {
            id: VarId(self.vars.len() as u64 + 1),
            name: Some(Name::Static(intern(name))),
            created: site,
        };
        self.vars.insert(name.to_owned(), var.clone());
        var
    }

    /// Decodes the line at `place` into `self.queued` (in the order the
    /// events happen).
    fn decode(&mut self, text: &[u8], place: Place) -> Result<(), TraceError> {
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
        let not_utf8 = |_| place.error("not UTF-8".to_owned(), false);
        let op = std::str::from_utf8(name).map_err(not_utf8)?;
        let target = std::str::from_utf8(target).map_err(not_utf8)?;
        let thread = std::str::from_utf8(thread.trim_ascii()).map_err(not_utf8)?;
        if target.is_empty() {
            return Err(place.error(format!("`{op}` has no target"), false));
        }
        let location = location.map(|l| l.trim_ascii());
        let site = site_at(place, location.unwrap_or(b""));
        let thread = self.thread(thread);
        let event = match op {
            // STD has no read-modify-writes: `update` is always false.
            "r" => Event::access(AccessKind::Read, thread, self.var(target, site), site, false),
            "w" => Event::access(AccessKind::Write, thread, self.var(target, site), site, false),
            "acq" => Event::Acquire {
                thread,
                lock: self.lock(target, site),
                mode: AcquireMode::Exclusive,
                attempt: Attempt::Blocking,
                site,
            },
            "req" => Event::Request {
                thread,
                lock: self.lock(target, site),
                mode: AcquireMode::Exclusive,
                site,
            },
            "rel" => Event::Release {
                thread,
                lock: self.lock(target, site),
                site,
            },
            "fork" => Event::Spawn {
                parent: thread,
                child: self.thread(target),
                site,
            },
            "join" => Event::Join {
                parent: thread,
                child: self.thread(target),
                site,
            },
            "wait" => {
                let lock = self.lock(target, site);
                Event::Wait {
                    thread,
                    condition: lock.id,
                    lock,
                    site,
                    // STD does not say; Java's `wait(ms)` is logged alike.
                    timed: false,
                }
            }
            "notify" | "notifyAll" => Event::Notify {
                thread,
                condition: self.lock(target, site).id,
                site,
            },
            "begin" | "end" => return Ok(()),
            other => {
                return Err(place.error(
                    format!("unknown operation `{}` (expected r, w, acq, rel, req, fork, join, wait, notify, notifyAll, begin, end)", show(other.as_bytes())),
                    false,
                ))
            }
        };
        self.queued.push_back(event);
        Ok(())
    }
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
            if let Err(e) = self.decoder.decode(text, place) {
                self.decoder.queued.clear();
                return Some(Err(e));
            }
        }
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
}

/// A decimal number, or `None` (empty, not digits, too large).
fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
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
    fn locations_are_whole_decimal_numbers() {
        assert_eq!(parse_u32(b"345"), Some(345));
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"3a"), None);
        assert_eq!(parse_u32(b"99999999999"), None);
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
}
