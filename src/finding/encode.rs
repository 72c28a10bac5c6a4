//! Findings as JSON lines, written by hand: the library appends one line a
//! finding to the report file (`LOCKCHECK_REPORT`), and `lockcheck run`
//! reads them back with serde (the library's `serde` feature, which the
//! command turns on). The field names and enum spellings here are the ones
//! serde's derives use for these types, so that a line decodes into the
//! finding it encodes; `cli/tests/report_lines.rs` checks that for findings
//! of every kind.

use crate::event::{AccessKind, AcquireMode, LockKind};
use crate::json::put_str;

use super::{
    AccessNote, Announcement, BlockedThread, CycleDetail, Finding, Frame, HeldRef, LockRef,
    OrderEdge, SiteNote, SourceLocation, ThreadRef, ThreadWait, Unchecked, VarRef, WaitNote,
    WaitOn, ANNOUNCEMENT_KEY, UNCHECKED_KEY,
};

/// The finding as one line of JSON, without the newline.
///
/// ```
/// use lockcheck::{Finding, FindingKind};
/// let f = Finding::new(FindingKind::Deadlock, "two threads".into(), "k".into());
/// let line = lockcheck::finding::to_json_line(&f);
/// assert!(line.starts_with(r#"{"kind":"deadlock","summary":"two threads","key":"k","count":1,"#));
/// ```
pub fn to_json_line(f: &Finding) -> String {
    let mut out = Object::new(String::with_capacity(512));
    out.str("kind", f.kind.as_str());
    out.str("summary", &f.summary);
    out.str("key", &f.key);
    out.u64("count", f.count);
    out.list("threads", &f.threads, thread);
    out.list("locks", &f.locks, lock);
    out.list("waits", &f.waits, wait);
    // Absent when empty, as serde skips it: lines of findings without it
    // stay as they were.
    if !f.blocked.is_empty() {
        out.list("blocked", &f.blocked, blocked);
    }
    if let Some(c) = &f.cycle {
        out.field("cycle", |out| cycle(out, c));
    }
    if let Some(v) = &f.variable {
        out.field("variable", |out| var(out, v));
    }
    out.list("accesses", &f.accesses, access);
    out.list("events", &f.events, site_note);
    out.list("notes", &f.notes, |out, n| put_str(out, n));
    if let Some(reason) = &f.suppressed {
        out.str("suppressed", reason);
    }
    out.finish()
}

/// The line a process appends when it starts being checked:
/// `{"lockcheck-process":{"pid":4242,"version":"0.1.0"}}`.
pub fn announcement_line(a: &Announcement) -> String {
    let mut inner = Object::new(String::new());
    inner.u64("pid", u64::from(a.pid));
    inner.str("version", &a.version);
    let mut out = Object::new(String::new());
    out.field(ANNOUNCEMENT_KEY, |out| out.push_str(&inner.finish()));
    out.finish()
}

/// The line a process appends when it meets something it cannot check:
/// `{"lockcheck-unchecked":{"pid":4242,"what":"…"}}`.
pub fn unchecked_line(u: &Unchecked) -> String {
    let mut inner = Object::new(String::new());
    inner.u64("pid", u64::from(u.pid));
    inner.str("what", &u.what);
    let mut out = Object::new(String::new());
    out.field(UNCHECKED_KEY, |out| out.push_str(&inner.finish()));
    out.finish()
}

/// A JSON object being written: fields are appended with their commas.
struct Object {
    out: String,
    first: bool,
}

impl Object {
    fn new(mut out: String) -> Self {
        out.push('{');
        Object { out, first: true }
    }

    fn field(&mut self, name: &str, value: impl FnOnce(&mut String)) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        put_str(&mut self.out, name);
        self.out.push(':');
        value(&mut self.out);
    }

    fn str(&mut self, name: &str, value: &str) {
        self.field(name, |out| put_str(out, value));
    }

    fn u64(&mut self, name: &str, value: u64) {
        self.field(name, |out| out.push_str(&value.to_string()));
    }

    fn bool(&mut self, name: &str, value: bool) {
        self.field(name, |out| {
            out.push_str(if value { "true" } else { "false" })
        });
    }

    fn opt_str(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(name, value);
        }
    }

    fn list<T>(&mut self, name: &str, items: &[T], each: impl Fn(&mut String, &T)) {
        self.field(name, |out| array(out, items, each));
    }

    fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Writes a JSON array of `items`, each by `each`.
fn array<T>(out: &mut String, items: &[T], each: impl Fn(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

/// Writes one nested object built by `fields`.
fn object(out: &mut String, fields: impl FnOnce(&mut Object)) {
    let mut o = Object::new(std::mem::take(out));
    fields(&mut o);
    *out = o.finish();
}

fn location(out: &mut String, l: &SourceLocation) {
    object(out, |o| {
        o.str("file", &l.file);
        o.u64("line", u64::from(l.line));
        o.u64("column", u64::from(l.column));
    });
}

fn thread(out: &mut String, t: &ThreadRef) {
    object(out, |o| {
        o.u64("id", t.id);
        o.opt_str("name", t.name.as_deref());
        if t.task {
            o.bool("task", true);
        }
    });
}

fn lock(out: &mut String, l: &LockRef) {
    object(out, |o| {
        o.u64("id", l.id);
        o.str("kind", lock_kind(l.kind));
        o.opt_str("name", l.name.as_deref());
        o.field("created", |out| location(out, &l.created));
    });
}

fn held(out: &mut String, h: &HeldRef) {
    object(out, |o| {
        o.field("lock", |out| lock(out, &h.lock));
        o.str("mode", mode(h.mode));
        o.field("site", |out| location(out, &h.site));
    });
}

fn frame(out: &mut String, f: &Frame) {
    object(out, |o| {
        o.str("function", &f.function);
        if let Some(l) = &f.location {
            o.field("location", |out| location(out, l));
        }
    });
}

fn edge(out: &mut String, e: &OrderEdge) {
    object(out, |o| {
        o.field("from", |out| lock(out, &e.from));
        o.field("to", |out| lock(out, &e.to));
        o.field("from_site", |out| location(out, &e.from_site));
        o.field("to_site", |out| location(out, &e.to_site));
        o.str("held_mode", mode(e.held_mode));
        o.str("acquire_mode", mode(e.acquire_mode));
        o.field("thread", |out| thread(out, &e.thread));
        o.list("backtrace", &e.backtrace, frame);
        if let Some(w) = &e.wait {
            o.field("wait", |out| wait_note(out, w));
        }
    });
}

fn wait_note(out: &mut String, w: &WaitNote) {
    object(out, |o| {
        o.str("by", w.by.as_str());
        o.u64("on", w.on);
        if let Some(released) = &w.released {
            o.field("released", |out| lock(out, released));
        }
        o.field("wait_site", |out| location(out, &w.wait_site));
        o.field("waker", |out| thread(out, &w.waker));
        o.field("wake_site", |out| location(out, &w.wake_site));
    });
}

fn cycle(out: &mut String, c: &CycleDetail) {
    object(out, |o| {
        o.list("edges", &c.edges, edge);
        o.list("other_cycles", &c.other_cycles, |out, edges| {
            array(out, edges, edge)
        });
        if let Some(gate) = &c.guarded_by {
            o.field("guarded_by", |out| lock(out, gate));
        }
        o.bool("single_thread", c.single_thread);
        o.bool("ordered_by_happens_before", c.ordered_by_happens_before);
    });
}

fn wait(out: &mut String, w: &ThreadWait) {
    object(out, |o| {
        o.field("thread", |out| thread(out, &w.thread));
        o.list("holds", &w.holds, held);
        o.field("waits_for", |out| lock(out, &w.waits_for));
        o.str("mode", mode(w.mode));
        o.field("site", |out| location(out, &w.site));
        o.list("backtrace", &w.backtrace, frame);
    });
}

fn wait_on(out: &mut String, w: &WaitOn) {
    object(out, |o| {
        o.str("kind", w.kind.as_str());
        o.u64("id", w.id);
        o.opt_str("name", w.name.as_deref());
        if let Some(created) = &w.created {
            o.field("created", |out| location(out, created));
        }
    });
}

fn blocked(out: &mut String, b: &BlockedThread) {
    object(out, |o| {
        o.field("thread", |out| thread(out, &b.thread));
        o.list("holds", &b.holds, held);
        o.field("waits_on", |out| wait_on(out, &b.waits_on));
        o.field("site", |out| location(out, &b.site));
        o.list("backtrace", &b.backtrace, frame);
    });
}

fn var(out: &mut String, v: &VarRef) {
    object(out, |o| {
        o.u64("id", v.id);
        o.opt_str("name", v.name.as_deref());
        o.field("created", |out| location(out, &v.created));
    });
}

fn access(out: &mut String, a: &AccessNote) {
    object(out, |o| {
        o.field("thread", |out| thread(out, &a.thread));
        o.str("kind", access_kind(a.kind));
        o.field("site", |out| location(out, &a.site));
        o.list("held", &a.held, held);
        o.bool("in_update", a.in_update);
        o.list("backtrace", &a.backtrace, frame);
    });
}

fn site_note(out: &mut String, s: &SiteNote) {
    object(out, |o| {
        o.str("label", &s.label);
        o.field("site", |out| location(out, &s.site));
        o.field("thread", |out| thread(out, &s.thread));
    });
}

/// serde's kebab-case spelling of the variant (not the report wording of
/// `LockKind::as_str`).
fn lock_kind(k: LockKind) -> &'static str {
    match k {
        LockKind::Mutex => "mutex",
        LockKind::RwLock => "rw-lock",
        LockKind::ReentrantMutex => "reentrant-mutex",
        LockKind::AsyncMutex => "async-mutex",
        LockKind::AsyncRwLock => "async-rw-lock",
    }
}

/// serde's kebab-case spelling of the variant.
fn mode(m: AcquireMode) -> &'static str {
    match m {
        AcquireMode::Exclusive => "exclusive",
        AcquireMode::Read => "read",
        AcquireMode::RecursiveRead => "recursive-read",
        AcquireMode::Upgradable => "upgradable",
    }
}

/// serde's kebab-case spelling of the variant.
fn access_kind(k: AccessKind) -> &'static str {
    match k {
        AccessKind::Read => "read",
        AccessKind::Write => "write",
    }
}
