//! The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers:
//! one run of the `lockcheck` tool, a rule per finding kind and a result per
//! finding. Built with the `serde-sarif` types.
//!
//! A result's primary location is the site a reader looks at first (as in
//! the text report); every other site of the finding is a related location
//! with a message saying what happened there. The finding's `key` is the
//! result's partial fingerprint, so code scanning matches a finding across
//! runs instead of opening it again.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use lockcheck::finding::{Finding, FindingKind, SourceLocation, WaitOnKind};
use lockcheck::trace::ReadSummary;

/// The schema a document names in `$schema` (the one GitHub's docs use).
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The name of the partial fingerprint that carries a finding's `key`.
pub const FINGERPRINT: &str = "lockcheckKey/v1";

/// The `uriBaseId` of relative file paths: the root of the sources.
pub const SRCROOT: &str = "%SRCROOT%";

/// Renders findings as one pretty-printed SARIF 2.1.0 document.
///
/// Every finding kind is listed as a rule, with or without results. A result
/// has level `error`, or `warning` for a lock-order cycle guarded by a gate
/// lock (unless `strict`, under which it fails the run too). A finding
/// silenced by a suppressions file keeps its level and carries an `external`
/// suppression with the reason as its justification, as SARIF viewers expect.
///
/// ```
/// let doc = lockcheck_cli::report::sarif::render(&[], false);
/// let sarif: serde_json::Value = serde_json::from_str(&doc).unwrap();
/// assert_eq!(sarif["version"], "2.1.0");
/// assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
/// assert_eq!(sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"], "self-deadlock");
/// ```
pub fn render(findings: &[Finding], strict: bool) -> String {
    let sarif = Sarif::builder()
        .schema(SCHEMA_URI)
        .version("2.1.0")
        .runs(vec![run(findings, strict)])
        .build();
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&sarif).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Renders the findings of traces, as [`render`] does, with the analysis's
/// invocation: `executionSuccessful` false when lines were skipped as
/// malformed (unless `keep_going`), and a tool execution notification for
/// each trace that had skipped lines (one per line listed, with its
/// location in the trace) or no events at all.
///
/// ```
/// let mut read = lockcheck::trace::ReadSummary::new("t.std");
/// read.events = 3;
/// let doc = lockcheck_cli::report::sarif::render_analysis(&[], false, &[read], false);
/// let sarif: serde_json::Value = serde_json::from_str(&doc).unwrap();
/// assert_eq!(sarif["runs"][0]["invocations"][0]["executionSuccessful"], true);
/// ```
pub fn render_analysis(
    findings: &[Finding],
    strict: bool,
    traces: &[ReadSummary],
    keep_going: bool,
) -> String {
    let mut run = run(findings, strict);
    run.invocations = Some(vec![invocation(traces, keep_going)]);
    let sarif = Sarif::builder()
        .schema(SCHEMA_URI)
        .version("2.1.0")
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&sarif).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn invocation(traces: &[ReadSummary], keep_going: bool) -> Invocation {
    let level = if keep_going { "warning" } else { "error" };
    let notification = |text: String, level: &str, at: Option<(&str, u64)>| {
        let mut n = Notification::builder()
            .message(Message::builder().text(text).build())
            .level(json!(level))
            .build();
        if let Some((file, line)) = at {
            let site = SourceLocation {
                file: file.to_owned(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: 0,
            };
            n.locations = Some(vec![location(&site, "the line skipped".to_owned(), None)]);
        }
        n
    };
    let mut notes = Vec::new();
    for t in traces {
        if t.skipped_lines > 0 {
            notes.push(notification(
                format!(
                    "{}: {} of {} lines skipped as malformed: the trace was not fully checked",
                    t.file, t.skipped_lines, t.lines
                ),
                level,
                None,
            ));
            for line in &t.skipped {
                notes.push(notification(
                    format!("{}:{}: {}; line skipped", t.file, line.line, line.message),
                    level,
                    Some((&t.file, line.line)),
                ));
            }
        }
        if t.incomplete {
            notes.push(notification(
                format!("{}: {}", t.file, lockcheck::trace::INCOMPLETE),
                level,
                None,
            ));
        }
        if t.events == 0 {
            notes.push(notification(
                format!("{}: no events: nothing was checked", t.file),
                "note",
                None,
            ));
        }
    }
    let mut invocation = Invocation::builder()
        .execution_successful(traces.iter().all(ReadSummary::checked_whole) || keep_going)
        .build();
    if !notes.is_empty() {
        invocation.tool_execution_notifications = Some(notes);
    }
    invocation
}

fn run(findings: &[Finding], strict: bool) -> Run {
    let mut driver = ToolComponent::builder()
        .name("lockcheck")
        .version(env!("CARGO_PKG_VERSION"))
        .rules(
            FindingKind::ALL
                .iter()
                .map(|&k| rule(k))
                .collect::<Vec<_>>(),
        )
        .build();
    // Omitted unless Cargo.toml names a home page or a repository.
    let homepage = option_env!("CARGO_PKG_HOMEPAGE").unwrap_or_default();
    let repository = option_env!("CARGO_PKG_REPOSITORY").unwrap_or_default();
    if let Some(uri) = [homepage, repository].into_iter().find(|u| !u.is_empty()) {
        driver.information_uri = Some(uri.to_owned());
    }
    Run::builder()
        .tool(Tool::builder().driver(driver).build())
        // `column!()` and `#[track_caller]` count Unicode code points.
        .column_kind(json!("unicodeCodePoints"))
        .results(
            findings
                .iter()
                .map(|f| result(f, strict))
                .collect::<Vec<_>>(),
        )
        .build()
}

/// The rule of a finding kind: (name, short description, full description).
fn rule_text(kind: FindingKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        FindingKind::SelfDeadlock => (
            "SelfDeadlock",
            "A thread asks for a lock it already holds.",
            "A thread asks for a lock it already holds, in a mode that waits for itself: a \
             mutex locked twice, a write lock under its own read lock (or the reverse), a plain \
             read under its own read (which hangs as soon as a writer queues in between), an \
             upgrade while the thread still reads. The thread would wait for itself forever.",
        ),
        FindingKind::Deadlock => (
            "Deadlock",
            "Threads are blocked in a cycle of waits.",
            "Threads are blocked right now in a cycle of waits: each one waits for a lock \
             that another one of them holds, so none of them can go on.",
        ),
        FindingKind::LockOrderCycle => (
            "LockOrderCycle",
            "Locks are taken in orders that can deadlock.",
            "The lock-order graph has a cycle: one lock is taken while holding another \
             somewhere, and the other while holding the first elsewhere. Some schedule of \
             these threads deadlocks, even if this run did not hang. A cycle whose every edge \
             was taken under one common gate lock cannot deadlock and is reported as a warning.",
        ),
        FindingKind::DataRace => (
            "DataRace",
            "Two accesses to shared data are not ordered by any synchronisation.",
            "Two accesses to one shared variable from different threads, at least one of them \
             a write, are not ordered by any synchronisation (a lock, a join, a message, an \
             atomic): the outcome depends on the schedule, whether or not this run lost an \
             update. Also reported: an access to a variable declared guarded by a lock without \
             holding that lock.",
        ),
        FindingKind::LockMisuse => (
            "LockMisuse",
            "A lock is used against its contract.",
            "A lock is used against its contract: a thread ends while it still holds the lock \
             (a leaked guard), or a thread that does not hold the lock unlocks it.",
        ),
        FindingKind::HeldAcrossAwait => (
            "HeldAcrossAwait",
            "A blocking lock is held while its task waits at an `.await`.",
            "A task yielded at an `.await` while it held a blocking lock (a lockcheck \
             `Mutex` or `RwLock`, std-shaped or parking_lot-shaped): until the task is polled \
             again the lock stays taken, and any task that wants it blocks its worker thread, \
             which may be the one the holder needs to resume. Hold an async lock across \
             `.await`, or release the guard before it.",
        ),
        FindingKind::Hang => (
            "Hang",
            "The program had not ended: what each thread was blocked on.",
            "A snapshot of a program that had not ended when its timeout came (or when it \
             was asked for one): every thread lockcheck knows, with the lock, condition \
             variable, channel, join or barrier it was blocked on and the locks it held, or \
             that it was running or blocked where lockcheck does not see.",
        ),
    }
}

fn rule(kind: FindingKind) -> ReportingDescriptor {
    let (name, short, full) = rule_text(kind);
    ReportingDescriptor::builder()
        .id(kind.as_str())
        .name(name)
        .short_description(MultiformatMessageString::builder().text(short).build())
        .full_description(MultiformatMessageString::builder().text(full).build())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!("error"))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec!["concurrency".to_owned()])
                .build(),
        )
        .build()
}

fn result(f: &Finding, strict: bool) -> SarifResult {
    let level = if f.is_guarded() && !strict {
        ResultLevel::Warning
    } else {
        ResultLevel::Error
    };
    let rule_index = FindingKind::ALL
        .iter()
        .position(|&k| k == f.kind)
        .unwrap_or_default();
    let mut props = BTreeMap::new();
    props.insert("count".to_owned(), json!(f.count));
    if let Some(c) = &f.cycle {
        if let Some(gate) = &c.guarded_by {
            // The lock's name, or how the text report names an unnamed lock.
            let gate = gate.name.clone().unwrap_or_else(|| gate.to_string());
            props.insert("guardedBy".to_owned(), json!(gate));
        }
        props.insert("singleThread".to_owned(), json!(c.single_thread));
        props.insert(
            "orderedByHappensBefore".to_owned(),
            json!(c.ordered_by_happens_before),
        );
    }
    let mut out = SarifResult::builder()
        .rule_id(f.kind.as_str())
        .rule_index(rule_index as i64)
        .level(level)
        .message(Message::builder().text(f.summary.clone()).build())
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT.to_owned(), f.key.clone())]))
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();

    if let Some(reason) = &f.suppressed {
        let mut suppression = Suppression::builder().kind(json!("external")).build();
        if !reason.is_empty() {
            suppression.justification = Some(reason.clone());
        }
        out.suppressions = Some(vec![suppression]);
    }

    let mut sites = labelled_sites(f);
    if let Some(i) = primary_index(f, &sites) {
        let (site, label) = sites.remove(i);
        out.locations = Some(vec![location(site, label, None)]);
    }
    // A site named twice for the same reason is shown once.
    let mut seen = Vec::new();
    sites.retain(|s| {
        let new = !seen.contains(s);
        if new {
            seen.push(s.clone());
        }
        new
    });
    if !sites.is_empty() {
        out.related_locations = Some(
            sites
                .into_iter()
                .enumerate()
                .map(|(i, (site, label))| location(site, label, Some(i as i64 + 1)))
                .collect(),
        );
    }
    out
}

/// Every site of the finding with what happened there, in the order of
/// [`Finding::sites`].
fn labelled_sites(f: &Finding) -> Vec<(&SourceLocation, String)> {
    let mut out = Vec::new();
    for w in &f.waits {
        let verb = if f.kind == FindingKind::Deadlock {
            "waits for"
        } else {
            "asks for"
        };
        out.push((
            &w.site,
            format!("{} {verb} {} ({})", w.thread, w.waits_for, w.mode.as_str()),
        ));
        for h in &w.holds {
            out.push((
                &h.site,
                format!(
                    "{} acquired ({}) by {}, still held when it {verb} {}",
                    h.lock,
                    h.mode.as_str(),
                    w.thread,
                    w.waits_for
                ),
            ));
        }
    }
    // Lock waits are above; the other blocked threads of a deadlock follow,
    // in the order of `Finding::sites`.
    for b in f
        .blocked
        .iter()
        .filter(|b| b.waits_on.kind != WaitOnKind::Lock)
    {
        out.push((&b.site, format!("{} waits for {}", b.thread, b.waits_for())));
        for h in &b.holds {
            out.push((
                &h.site,
                format!(
                    "{} acquired ({}) by {}, still held when it waits for {}",
                    h.lock,
                    h.mode.as_str(),
                    b.thread,
                    b.waits_for()
                ),
            ));
        }
    }
    for (i, a) in f.accesses.iter().enumerate() {
        let previous = if i > 0 { "previous " } else { "" };
        let update = if a.in_update { " in an update" } else { "" };
        let held = if a.held.is_empty() {
            ", holding no locks".to_owned()
        } else {
            let locks: Vec<String> = a.held.iter().map(|h| h.lock.to_string()).collect();
            format!(", holding {}", locks.join(", "))
        };
        out.push((
            &a.site,
            format!(
                "{previous}{} by {}{update}{held}",
                a.kind.as_str(),
                a.thread
            ),
        ));
    }
    for e in &f.events {
        out.push((&e.site, format!("{} {}", e.thread, e.label)));
    }
    if let Some(c) = &f.cycle {
        // Every cycle of the finding: the same sites over other locks are
        // one finding, and each cycle's edges are its locations.
        for e in c.cycles().flatten() {
            if let Some(w) = &e.wait {
                // A hold-and-wait: the waiter's lock, its wait, and what
                // its waker took before notifying.
                out.push((
                    &e.from_site,
                    format!(
                        "{} acquired, then held across a wait ({})",
                        e.from, e.thread
                    ),
                ));
                out.push((
                    &w.wait_site,
                    format!(
                        "waited ({}) while holding {} ({})",
                        w.by.as_str(),
                        e.from,
                        e.thread
                    ),
                ));
                out.push((
                    &e.to_site,
                    format!("{} acquired before ending the wait ({})", e.to, w.waker),
                ));
                if w.by != lockcheck::event::WokenBy::End {
                    out.push((&w.wake_site, format!("ended the wait ({})", w.waker)));
                }
                continue;
            }
            out.push((
                &e.from_site,
                format!(
                    "{} acquired, then held while acquiring {} ({})",
                    e.from, e.to, e.thread
                ),
            ));
            out.push((
                &e.to_site,
                format!("{} acquired while holding {} ({})", e.to, e.from, e.thread),
            ));
        }
    }
    out
}

/// Which of [`labelled_sites`] is the primary location: the first wait's
/// site, else the first access's, else the first cycle edge's `to_site`,
/// else the first event's (as in the text report).
fn primary_index(f: &Finding, sites: &[(&SourceLocation, String)]) -> Option<usize> {
    let blocked = f
        .blocked
        .iter()
        .any(|b| b.waits_on.kind != WaitOnKind::Lock);
    if !f.waits.is_empty() || blocked || !f.accesses.is_empty() {
        return Some(0);
    }
    match f.cycle.as_ref().and_then(|c| c.edges.first()) {
        // The edges come after the events; the first edge's to_site is the
        // second of its pair.
        Some(_) => Some(f.events.len() + 1).filter(|&i| i < sites.len()),
        None => (!sites.is_empty()).then_some(0),
    }
}

fn location(site: &SourceLocation, label: String, id: Option<i64>) -> Location {
    let mut artifact = ArtifactLocation::builder()
        .uri(file_uri(&site.file))
        .build();
    if !is_absolute(&site.file) {
        artifact.uri_base_id = Some(SRCROOT.to_owned());
    }
    let mut physical = PhysicalLocation::builder()
        .artifact_location(artifact)
        .build();
    // SARIF lines and columns are 1-based: 0 means unknown.
    if site.line > 0 {
        let mut region = Region::builder().start_line(i64::from(site.line)).build();
        if site.column > 0 {
            region.start_column = Some(i64::from(site.column));
        }
        physical.region = Some(region);
    }
    let mut loc = Location::builder()
        .physical_location(physical)
        .message(Message::builder().text(label).build())
        .build();
    loc.id = id;
    loc
}

fn is_absolute(file: &str) -> bool {
    let b = file.as_bytes();
    file.starts_with('/')
        || file.starts_with('\\')
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'/' | b'\\'))
}

/// A file path as a URI reference: relative paths stay relative (resolved
/// against [`SRCROOT`]), absolute ones become `file://` URIs; `\` separators
/// become `/`, and every byte but an unreserved character or `/` is
/// percent-encoded.
///
/// ```
/// use lockcheck_cli::report::sarif::file_uri;
/// assert_eq!(file_uri("src/main.rs"), "src/main.rs");
/// assert_eq!(file_uri("/home/me/my app/src/lib.rs"), "file:///home/me/my%20app/src/lib.rs");
/// ```
pub fn file_uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    let mut out = String::with_capacity(path.len() + 8);
    if is_absolute(file) {
        out.push_str("file://");
        if !path.starts_with('/') {
            // A drive letter: file:///C:/…
            out.push('/');
        }
    }
    for (i, b) in path.bytes().enumerate() {
        let drive_colon = i == 1 && b == b':' && is_absolute(file);
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') || drive_colon
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn uris() {
        assert_eq!(file_uri("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(file_uri("src\\main.rs"), "src/main.rs");
        assert_eq!(file_uri("C:\\x\\y.rs"), "file:///C:/x/y.rs");
        assert_eq!(file_uri("a:b/ü.rs"), "a%3Ab/%C3%BC.rs");
    }

    #[test]
    fn suppressed_finding_keeps_its_level_and_says_why() {
        let mut f = Finding::new(
            FindingKind::LockMisuse,
            "thread #1 exited while holding `jobs`".into(),
            "k".into(),
        );
        f.suppressed = Some("known leak, see #12".into());
        let doc: Value = serde_json::from_str(&render(&[f], false)).unwrap();
        let r = &doc["runs"][0]["results"][0];
        assert_eq!(r["level"], "error");
        assert_eq!(r["ruleId"], "lock-misuse");
        assert_eq!(r["suppressions"][0]["kind"], "external");
        assert_eq!(r["suppressions"][0]["justification"], "known leak, see #12");
        assert!(r.get("locations").is_none(), "no site, no location");
    }

    #[test]
    fn empty_render_lists_every_rule() {
        let doc: Value = serde_json::from_str(&render(&[], false)).unwrap();
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), FindingKind::ALL.len());
        assert!(doc["runs"][0]["tool"]["driver"]
            .get("informationUri")
            .is_none());
    }
}
