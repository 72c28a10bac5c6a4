//! An analysis keeps what a trace names only while something needs it: a
//! dropped lock's or variable's name leaves with it, so that memory follows
//! the live locks and variables, not every name the trace ever declared.

use std::sync::{Arc, Weak};

use lockcheck::analysis::Analyzer;
use lockcheck::event::{Event, LockInfo, Name, VarInfo};
use lockcheck::trace::lockcheck_format::LockcheckReader;

/// The trace's events, through the reader, into one analyzer; `watch`
/// sees each event first, and `at_end` the end of the stream, while the
/// reader and the analyzer both still exist.
fn analyse(trace: &str, mut watch: impl FnMut(&Event), at_end: impl FnOnce()) -> Analyzer {
    let mut analyzer = Analyzer::default();
    let mut reader = LockcheckReader::new(trace.as_bytes(), "memory.lct");
    for event in reader.by_ref() {
        let event = event.expect("a well-formed trace");
        watch(&event);
        analyzer.event(&event);
    }
    at_end();
    drop(reader);
    analyzer
}

fn shared_name(name: &Option<Name>) -> Weak<str> {
    match name {
        Some(Name::Shared(name)) => Arc::downgrade(name),
        other => panic!("a name read from a trace is shared, found {other:?}"),
    }
}

fn lock_of(event: &Event) -> Option<&LockInfo> {
    match event {
        Event::Acquire { lock, .. } => Some(lock),
        _ => None,
    }
}

fn var_of(event: &Event) -> Option<&VarInfo> {
    match event {
        Event::Write { var, .. } => Some(var),
        _ => None,
    }
}

const TRACE: &str = "lockcheck-trace 1
1 T1 lock L1 mutex a.rs:1:1 \"dropped lock\"
2 T1 lock L2 mutex a.rs:2:1 \"live lock\"
3 T1 var V1 a.rs:3:1 \"dropped var\"
4 T1 acq L1 exclusive blocking a.rs:4:1
5 T1 acq L2 exclusive blocking a.rs:5:1
6 T1 w V1 a.rs:6:1
7 T1 rel L2 a.rs:7:1
8 T1 rel L1 a.rs:8:1
9 T1 drop-var V1
10 T1 drop-lock L1
";

#[test]
fn a_dropped_locks_and_variables_names_leave_with_them() {
    let names: std::cell::RefCell<Vec<(String, Weak<str>)>> = Default::default();
    let alive = |names: &[(String, Weak<str>)]| -> Vec<String> {
        names
            .iter()
            .filter(|(_, weak)| weak.upgrade().is_some())
            .map(|(name, _)| name.clone())
            .collect()
    };
    let analyzer = analyse(
        TRACE,
        |event| {
            let mut names = names.borrow_mut();
            if let Some(lock) = lock_of(event) {
                let name = lock.name.as_deref().unwrap_or("").to_owned();
                names.push((name, shared_name(&lock.name)));
            }
            if let Some(var) = var_of(event) {
                let name = var.name.as_deref().unwrap_or("").to_owned();
                names.push((name, shared_name(&var.name)));
            }
        },
        || {
            assert_eq!(
                alive(&names.borrow()),
                ["live lock"],
                "only the lock still alive at the end keeps its name"
            );
        },
    );
    drop(analyzer);
    let names = names.into_inner();
    assert_eq!(names.len(), 3, "every name was seen");
    assert!(
        names.iter().all(|(_, weak)| weak.upgrade().is_none()),
        "nothing else holds a name once the analysis is over"
    );
}

#[test]
fn a_finding_keeps_the_names_it_reports_after_their_locks_are_dropped() {
    // Opposite orders, then both locks dropped: the cycle's report still
    // names them (findings own their text).
    let trace = "lockcheck-trace 1
1 T1 lock L1 mutex a.rs:1:1 \"noodles\"
2 T1 lock L2 mutex a.rs:2:1 \"fork\"
3 T1 acq L1 exclusive blocking a.rs:3:1
4 T1 acq L2 exclusive blocking a.rs:4:1
5 T1 rel L2 a.rs:5:1
6 T1 rel L1 a.rs:6:1
7 T1 acq L2 exclusive blocking a.rs:7:1
8 T1 acq L1 exclusive blocking a.rs:8:1
9 T1 rel L1 a.rs:9:1
10 T1 rel L2 a.rs:10:1
11 T1 drop-lock L1
12 T1 drop-lock L2
";
    let found = analyse(trace, |_| {}, || {}).finish();
    assert_eq!(found.len(), 1, "{found:#?}");
    let mut reported: Vec<String> = found[0]
        .locks
        .iter()
        .filter_map(|l| l.name.clone())
        .collect();
    reported.sort();
    assert_eq!(reported, ["fork", "noodles"]);
}
