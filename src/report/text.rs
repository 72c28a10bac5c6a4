//! The text report, shaped like a compiler diagnostic: kind, one-line
//! summary, the primary site, then each thread, lock and edge with its site.

use std::fmt::Write;

use crate::event::WokenBy;
use crate::finding::{
    AccessNote, BlockedThread, Finding, FindingKind, Frame, HeldRef, OrderEdge, SourceLocation,
    ThreadWait, WaitNote, WaitOnKind,
};

/// An ANSI SGR style: the escape that starts it. Four fixed styles, so
/// written out here rather than built with a styling crate (the library
/// keeps its dependencies to the live checks').
#[derive(Copy, Clone)]
struct Style(&'static str);

/// Ends any style.
const RESET: &str = "\x1b[0m";
const ERROR: Style = Style("\x1b[1;31m");
const WARNING: Style = Style("\x1b[1;33m");
const SUPPRESSED: Style = Style("\x1b[1;36m");
const EMPHASIS: Style = Style("\x1b[1m");

/// Whether the report is coloured.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, s: &str) -> String {
        if self.color {
            format!("{}{s}{RESET}", style.0)
        } else {
            s.to_owned()
        }
    }
}

/// Renders findings as text; `color` adds ANSI colours (the command line
/// prints through `anstream`, which drops them where they do not belong).
pub fn render(findings: &[Finding], color: bool) -> String {
    let style = Painter { color };
    let mut out = String::new();
    for f in findings {
        render_one(&mut out, f, &style);
    }
    out
}

/// The site a reader looks at first: where the thread waits (the closing
/// wait of a deadlock), where a cycle's closing edge was taken, or the first
/// event.
fn primary_site(f: &Finding) -> Option<String> {
    if let Some(w) = f.waits.first() {
        return Some(w.site.to_string());
    }
    if let Some(b) = f.blocked.first() {
        return Some(b.site.to_string());
    }
    if let Some(a) = f.accesses.first() {
        return Some(a.site.to_string());
    }
    if let Some(e) = f.cycle.as_ref().and_then(|c| c.edges.first()) {
        return Some(e.to_site.to_string());
    }
    f.events.first().map(|e| e.site.to_string())
}

fn render_one(out: &mut String, f: &Finding, style: &Painter) {
    let (level, color) = if f.suppressed.is_some() {
        ("suppressed", SUPPRESSED)
    } else if f.is_guarded() || f.kind == FindingKind::Hang {
        // A hang snapshot explains a timeout; it is no error of its own.
        ("warning", WARNING)
    } else {
        ("error", ERROR)
    };
    let head = style.paint(color, &format!("{level}[{}]", f.kind));
    let _ = write!(out, "{head}: {}", f.summary);
    if f.count > 1 {
        let _ = write!(out, " (seen {} times)", f.count);
    }
    out.push('\n');
    if let Some(site) = primary_site(f) {
        let _ = writeln!(out, "  --> {site}");
    }
    for w in &f.waits {
        render_wait(out, f.kind, w);
    }
    // Lock waits are shown above, joins by their notes.
    for b in f
        .blocked
        .iter()
        .filter(|b| !matches!(b.waits_on.kind, WaitOnKind::Lock | WaitOnKind::Join))
    {
        render_blocked(out, b);
    }
    for (i, a) in f.accesses.iter().enumerate() {
        render_access(out, a, i > 0);
    }
    if let Some(v) = &f.variable {
        let _ = writeln!(out, "   = {v} was created at {}", v.created);
    }
    for e in &f.events {
        let _ = writeln!(out, "   = {} {} at {}", e.thread, e.label, e.site);
    }
    if let Some(c) = &f.cycle {
        let title = if f.kind == FindingKind::Deadlock {
            "lock order behind this deadlock"
        } else {
            "lock order"
        };
        let _ = writeln!(out, "   = {title}:");
        for e in &c.edges {
            render_edge(out, e);
        }
        for other in &c.other_cycles {
            let _ = writeln!(out, "   = the same sites, over other locks:");
            for e in other {
                render_edge(out, e);
            }
        }
    }
    for n in &f.notes {
        let _ = writeln!(out, "   = {}: {n}", style.paint(EMPHASIS, "note"));
    }
    if let Some(reason) = &f.suppressed {
        let _ = writeln!(
            out,
            "   = {}: {reason}",
            style.paint(EMPHASIS, "suppressed")
        );
    }
    out.push('\n');
}

fn render_wait(out: &mut String, kind: FindingKind, w: &ThreadWait) {
    let verb = if kind == FindingKind::Deadlock {
        "waits for"
    } else {
        "asks for"
    };
    let _ = writeln!(out, "   = {}", w.thread);
    for h in &w.holds {
        render_held(out, h);
    }
    let _ = writeln!(
        out,
        "       {verb} {} ({}) at {}",
        w.waits_for,
        w.mode.as_str(),
        w.site
    );
    render_frames(out, &w.backtrace, &w.site);
}

fn render_blocked(out: &mut String, b: &BlockedThread) {
    let _ = writeln!(out, "   = {}", b.thread);
    for h in &b.holds {
        render_held(out, h);
    }
    let _ = writeln!(out, "       waits for {} at {}", b.waits_for(), b.site);
    render_frames(out, &b.backtrace, &b.site);
}

fn render_access(out: &mut String, a: &AccessNote, previous: bool) {
    let what = if previous { "previous " } else { "" };
    let update = if a.in_update { " (in an update)" } else { "" };
    let _ = writeln!(
        out,
        "   = {what}{} by {} at {}{update}",
        a.kind.as_str(),
        a.thread,
        a.site
    );
    if a.held.is_empty() {
        let _ = writeln!(out, "       holding no locks");
    }
    for h in &a.held {
        render_held(out, h);
    }
    render_frames(out, &a.backtrace, &a.site);
}

fn render_held(out: &mut String, h: &HeldRef) {
    let _ = writeln!(
        out,
        "       holds {} ({}), acquired at {}",
        h.lock,
        h.mode.as_str(),
        h.site
    );
}

fn render_edge(out: &mut String, e: &OrderEdge) {
    if let Some(w) = &e.wait {
        render_wait_edge(out, e, w);
        return;
    }
    let _ = writeln!(
        out,
        "       {} -> {}: {} took {} ({}) at {} while holding {} (acquired at {})",
        e.from,
        e.to,
        e.thread,
        e.to,
        e.acquire_mode.as_str(),
        e.to_site,
        e.from,
        e.from_site
    );
    render_frames(out, &e.backtrace, &e.to_site);
}

/// A hold-and-wait edge: the wait its thread held `from` across, and what
/// its waker had taken before it ended the wait.
fn render_wait_edge(out: &mut String, e: &OrderEdge, w: &WaitNote) {
    let waited = match (w.by, &w.released) {
        // A Java monitor is its own condition; a condition variable has an
        // id of its own and waits with a mutex.
        (WokenBy::Notify, Some(r)) if r.id == w.on => format!("waited on {r}"),
        (WokenBy::Notify, Some(r)) => format!("waited on condition variable #{} with {r}", w.on),
        (WokenBy::Notify, None) => format!("waited on condition #{}", w.on),
        (WokenBy::Message, _) => "received a message".to_owned(),
        (WokenBy::End, _) => format!("joined {}", w.waker),
        (WokenBy::Arrival, _) => format!("waited at barrier #{}", w.on),
        (WokenBy::Room, _) => "waited for room in a bounded channel".to_owned(),
    };
    let _ = writeln!(
        out,
        "       {} -> {}: {} {waited} at {} while holding {} (acquired at {})",
        e.from, e.to, e.thread, w.wait_site, e.from, e.from_site
    );
    let ended = match w.by {
        WokenBy::Notify => format!("before notifying it at {}", w.wake_site),
        WokenBy::Message => format!("before sending it at {}", w.wake_site),
        WokenBy::End => "before it ended".to_owned(),
        WokenBy::Arrival => format!("before arriving there at {}", w.wake_site),
        WokenBy::Room => format!("before receiving from it at {}", w.wake_site),
    };
    let _ = writeln!(
        out,
        "           and {} took {} ({}) at {} {ended}",
        w.waker,
        e.to,
        e.acquire_mode.as_str(),
        e.to_site,
    );
}

/// The frames above `site` (its callers; see [`super::frames::callers`]).
fn render_frames(out: &mut String, frames: &[Frame], site: &SourceLocation) {
    for fr in super::frames::callers(frames, site) {
        match &fr.location {
            Some(loc) => {
                let _ = writeln!(out, "           at {} ({loc})", fr.function);
            }
            None => {
                let _ = writeln!(out, "           at {}", fr.function);
            }
        }
    }
}

/// The closing summary line: how many findings of each kind, and how many fail.
pub fn summary(findings: &[Finding], strict: bool) -> String {
    if findings.is_empty() {
        return "lockcheck: no findings".to_owned();
    }
    let mut parts = Vec::new();
    for kind in FindingKind::ALL {
        let n = findings.iter().filter(|f| f.kind == kind).count();
        if n > 0 {
            parts.push(format!("{n} {kind}"));
        }
    }
    let suppressed = findings.iter().filter(|f| f.suppressed.is_some()).count();
    let guarded = findings
        .iter()
        .filter(|f| f.suppressed.is_none() && f.kind != FindingKind::Hang && !f.is_failing(strict))
        .count();
    let mut line = format!(
        "lockcheck: {} finding{} ({})",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        parts.join(", ")
    );
    if guarded > 0 {
        let _ = write!(
            line,
            "; {guarded} guarded by a gate lock, not failing (use --strict to fail on them)"
        );
    }
    if suppressed > 0 {
        let _ = write!(line, "; {suppressed} suppressed (not failing)");
    }
    line
}
