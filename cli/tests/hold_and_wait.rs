//! Hold-and-wait in traces: a lock held across an untimed wait whose waker
//! had taken that lock (or one ordered back to it) before it notified is a
//! lock-order cycle through the wait, in STD traces (Java `wait`/`notify`)
//! and in lockcheck's own; each case beside the near misses it must not
//! report — a waker that only *tried* the lock, a timed wait, a wait no
//! notification ended, a waker that never took the lock.

use std::path::Path;
use std::process::Command;

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::event::WokenBy;
use lockcheck::finding::Finding;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck::FindingKind;

/// Two threads, the lock `conn` (L1), the condition's mutex `queue` (L2),
/// and the condition C9. T2 (the waker) takes `conn` with `ATTEMPT` and
/// lets it go, then T1 waits (`WAIT`) on C9 holding `conn`, and T2
/// notifies it.
const TEMPLATE: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"conn\"
3 T1 lock L2 mutex a.rs:2:1 \"queue\"
4 T1 spawn T2 a.rs:3:1
5 T2 thread \"waker\"
6 T2 acq L1 exclusive ATTEMPT y.rs:12:5
7 T2 rel L1 y.rs:13:5
8 T1 acq L1 exclusive blocking x.rs:38:9
9 T1 acq L2 exclusive blocking x.rs:39:9
10 T1 WAIT C9 L2 x.rs:40:9
11 T2 acq L2 exclusive blocking y.rs:14:5
12 T2 notify C9 y.rs:15:5
13 T2 rel L2 y.rs:16:5
14 T1 acq L2 exclusive blocking x.rs:40:9
15 T1 rel L2 x.rs:41:9
16 T1 rel L1 x.rs:42:9
17 T1 join T2 a.rs:4:1
";

fn analyse(attempt: &str, wait: &str) -> Vec<Finding> {
    analyse_text(&TEMPLATE.replace("ATTEMPT", attempt).replace("WAIT", wait))
}

/// The findings of a lockcheck trace through the `Analyzer`.
fn analyse_text(text: &str) -> Vec<Finding> {
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    for event in LockcheckReader::new(text.as_bytes(), "test.lct") {
        let event = event.unwrap_or_else(|e| panic!("the test's trace is malformed: {e}"));
        analyzer.event(&event);
    }
    analyzer.finish()
}

#[test]
fn a_lock_held_across_a_wait_its_waker_took_is_a_cycle_through_the_wait() {
    let found = analyse("blocking", "wait");
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.kind, FindingKind::LockOrderCycle);
    assert!(f.summary.contains("through a wait"), "{}", f.summary);
    let cycle = f.cycle.as_ref().expect("a cycle");
    assert_eq!(cycle.edges.len(), 1);
    let edge = &cycle.edges[0];
    assert_eq!(edge.from.name.as_deref(), Some("conn"));
    assert_eq!(edge.to.name.as_deref(), Some("conn"));
    assert_eq!(
        (edge.from_site.file.as_str(), edge.from_site.line),
        ("x.rs", 38)
    );
    assert_eq!(
        (edge.to_site.file.as_str(), edge.to_site.line),
        ("y.rs", 12)
    );
    assert_eq!(edge.thread.name.as_deref(), Some("main"));
    let wait = edge.wait.as_ref().expect("the edge is a wait");
    assert_eq!(wait.by, WokenBy::Notify);
    assert_eq!(wait.on, 9);
    assert_eq!(
        wait.released.as_ref().and_then(|r| r.name.as_deref()),
        Some("queue")
    );
    assert_eq!(
        (wait.wait_site.file.as_str(), wait.wait_site.line),
        ("x.rs", 40)
    );
    assert_eq!(wait.waker.name.as_deref(), Some("waker"));
    assert_eq!(
        (wait.wake_site.file.as_str(), wait.wake_site.line),
        ("y.rs", 15)
    );
    // Both threads are in it, and it is not one thread's own cycle.
    assert_eq!(f.threads.len(), 2, "{:?}", f.threads);
    assert!(!cycle.single_thread);
    let text = lockcheck::report::text::render(&found, false);
    assert!(
        text.contains(
            "waited on condition variable #9 with `queue` at x.rs:40:9 while holding `conn`"
        ),
        "{text}"
    );
    assert!(
        text.contains("took `conn` (exclusive) at y.rs:12:5 before notifying it at y.rs:15:5"),
        "{text}"
    );
}

#[test]
fn a_waker_that_only_tried_the_lock_is_no_hazard() {
    // A try cannot hang: on the other schedule it fails, and the waker
    // goes on to notify.
    let found = analyse("try", "wait");
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_timed_wait_is_no_hazard() {
    let found = analyse("blocking", "wait-timed");
    assert!(found.is_empty(), "{found:#?}");
}

/// T2 takes `conn` with `ATTEMPT`... and ends; T1 holds `conn` while it
/// joins T2 (BEFORE or AFTER releasing it).
const JOIN: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"conn\"
3 T1 spawn T2 a.rs:3:1
4 T2 thread \"child\"
5 T2 acq L1 exclusive blocking y.rs:12:5
6 T2 rel L1 y.rs:13:5
7 T2 end
8 T1 acq L1 exclusive blocking x.rs:38:9
HOLD_ACROSS
";

#[test]
fn a_join_while_holding_a_lock_the_child_took_is_a_cycle_through_the_join() {
    let held = JOIN.replace(
        "HOLD_ACROSS",
        "9 T1 join T2 x.rs:39:9\n10 T1 rel L1 x.rs:40:9",
    );
    let found = analyse_text(&held);
    assert_eq!(found.len(), 1, "{found:#?}");
    let edge = &found[0].cycle.as_ref().expect("a cycle").edges[0];
    let wait = edge.wait.as_ref().expect("through the join");
    assert_eq!(wait.by, WokenBy::End);
    assert_eq!(wait.waker.name.as_deref(), Some("child"));
    assert_eq!(
        (wait.wait_site.file.as_str(), wait.wait_site.line),
        ("x.rs", 39)
    );
    let text = lockcheck::report::text::render(&found, false);
    assert!(
        text.contains("joined thread 'child'") && text.contains("before it ended"),
        "{text}"
    );
    // The near miss: the lock is let go before the join.
    let released = JOIN.replace(
        "HOLD_ACROSS",
        "9 T1 rel L1 x.rs:40:9\n10 T1 join T2 x.rs:39:9",
    );
    assert!(analyse_text(&released).is_empty());
}

/// T2 takes `conn` and sends M1; T1 receives it (RECV) while holding `conn`.
const MESSAGE: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"conn\"
3 T1 spawn T2 a.rs:3:1
4 T2 thread \"sender\"
5 T2 acq L1 exclusive blocking y.rs:12:5
6 T2 rel L1 y.rs:13:5
7 T2 send M1 y.rs:14:5
8 T1 acq L1 exclusive blocking x.rs:38:9
9 T1 RECV M1 x.rs:39:9
10 T1 rel L1 x.rs:40:9
";

#[test]
fn a_receive_while_holding_a_lock_its_sender_took_is_a_cycle_unless_it_only_tried() {
    let found = analyse_text(&MESSAGE.replace("RECV", "recv"));
    assert_eq!(found.len(), 1, "{found:#?}");
    let wait = found[0].cycle.as_ref().expect("a cycle").edges[0]
        .wait
        .clone()
        .expect("through the receive");
    assert_eq!((wait.by, wait.on), (WokenBy::Message, 1));
    assert_eq!(
        (wait.wake_site.file.as_str(), wait.wake_site.line),
        ("y.rs", 14)
    );
    // `try_recv` and `recv_timeout` give up by themselves.
    assert!(analyse_text(&MESSAGE.replace("RECV", "recv-try")).is_empty());
}

/// A bounded channel C5 of one place, full: T1 holds `ledger` while its
/// send waits for room (`room-wait`); T2, which took LEDGER_TAKEN before,
/// receives M1 and so makes the room (`room`); T1's send goes through.
const ROOM: &str = "lockcheck-trace 1
1 T1 thread \"producer\"
2 T1 lock L1 mutex a.rs:1:1 \"ledger\"
3 T1 lock L2 mutex a.rs:2:1 \"stats\"
4 T1 send M1 x.rs:10:5
5 T1 spawn T2 a.rs:3:1
6 T2 thread \"consumer\"
7 T2 acq LEDGER_TAKEN exclusive blocking y.rs:12:5
8 T2 rel LEDGER_TAKEN y.rs:13:5
9 T1 acq L1 exclusive blocking x.rs:38:9
10 T1 room-wait C5 x.rs:39:9
11 T2 recv M1 y.rs:14:5
12 T2 room C5 y.rs:14:5
13 T1 send M2 x.rs:39:9
14 T1 rel L1 x.rs:40:9
";

#[test]
fn a_lock_held_across_a_send_waiting_for_room_its_receiver_took_is_a_cycle() {
    let found = analyse_text(&ROOM.replace("LEDGER_TAKEN", "L1"));
    assert_eq!(found.len(), 1, "{found:#?}");
    let edge = &found[0].cycle.as_ref().expect("a cycle").edges[0];
    assert_eq!(edge.from.name.as_deref(), Some("ledger"));
    assert_eq!(edge.to.name.as_deref(), Some("ledger"));
    let wait = edge.wait.as_ref().expect("through the send");
    assert_eq!((wait.by, wait.on), (WokenBy::Room, 5));
    assert_eq!(wait.waker.name.as_deref(), Some("consumer"));
    assert_eq!(
        (wait.wait_site.line, wait.wake_site.line),
        (39, 14),
        "{wait:#?}"
    );
    let text = lockcheck::report::text::render(&found, false);
    assert!(
        text.contains("waited for room in a bounded channel")
            && text.contains("before receiving from it at y.rs:14:5"),
        "{text}"
    );
}

#[test]
fn a_send_waiting_for_room_near_misses_are_clean() {
    // The receiver never took `ledger`.
    assert!(analyse_text(&ROOM.replace("LEDGER_TAKEN", "L2")).is_empty());
    // The sender does not hold `ledger` while its send waits.
    let released = ROOM
        .replace("LEDGER_TAKEN", "L1")
        .replace("9 T1 acq L1 exclusive blocking x.rs:38:9\n", "")
        .replace("14 T1 rel L1 x.rs:40:9\n", "");
    assert!(analyse_text(&released).is_empty(), "{released}");
    // The send found room: no `room-wait`, so the receive made none.
    let no_wait = ROOM
        .replace("LEDGER_TAKEN", "L1")
        .replace("10 T1 room-wait C5 x.rs:39:9\n", "")
        .replace("12 T2 room C5 y.rs:14:5\n", "");
    assert!(analyse_text(&no_wait).is_empty(), "{no_wait}");
}

/// `lockcheck analyze` of a trace fixture: its findings.
fn analyze_file(path: &Path) -> Vec<Finding> {
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .expect("run lockcheck");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    serde_json::from_value(doc["findings"].clone()).expect("findings")
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The 8 SUnhang traces in which SUnhang finds a cycle get one each (5 of
/// them only through a Java `wait`), and the other 5 none.
#[test]
fn the_external_traces_get_sunhangs_cycles_and_no_others() {
    let dir = root().join("tests/external-traces");
    let through_a_wait = [
        "apache_42031",
        "cond_var_fn_idiomatic",
        "memcached_567",
        "mysql_50038",
        "mysql_68251",
    ];
    let lock_only = ["cond_var_fp", "cond_var_fp_idiomatic", "cond_var_tn"];
    let none = [
        "jdk_8012019",
        "log4j_38137",
        "lucene_2783",
        "pool_146",
        "pool_149",
    ];
    let cycles = |name: &str| -> Vec<Finding> {
        analyze_file(&dir.join(format!("{name}_dlf.std")))
            .into_iter()
            .filter(|f| f.kind == FindingKind::LockOrderCycle)
            .collect()
    };
    for name in through_a_wait {
        let found = cycles(name);
        assert_eq!(found.len(), 1, "{name}: {found:#?}");
        let edges = &found[0].cycle.as_ref().expect("cycle").edges;
        assert!(edges.iter().any(|e| e.wait.is_some()), "{name}: {edges:#?}");
    }
    for name in lock_only {
        let found = cycles(name);
        assert_eq!(found.len(), 1, "{name}: {found:#?}");
        let edges = &found[0].cycle.as_ref().expect("cycle").edges;
        assert!(edges.iter().all(|e| e.wait.is_none()), "{name}: {edges:#?}");
    }
    for name in none {
        assert!(cycles(name).is_empty(), "{name}");
    }
}

/// `lockcheck graph` draws the wait edge dashed, in red with its cycle.
#[test]
fn the_graph_draws_the_wait_edge_dashed_in_its_cycle() {
    let trace = root().join("fixtures/traces/hold_and_wait_through_a_third.std");
    let out = Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .arg("graph")
        .arg(&trace)
        .output()
        .expect("run lockcheck");
    let dot = String::from_utf8(out.stdout).expect("UTF-8");
    let red = "color = red, fontcolor = red, penwidth = 2";
    let dashed: Vec<&str> = dot
        .lines()
        .filter(|l| l.contains("style = dashed"))
        .collect();
    assert_eq!(dashed.len(), 1, "{dot}");
    assert!(
        dashed[0].contains(red) && dashed[0].contains(":20:0"),
        "{dot}"
    );
    assert_eq!(dot.matches(red).count(), 2, "{dot}");
}

/// Two threads meet at barrier C5 (two parties); T1 arrives holding `conn`,
/// T2 took it (TAKE_BEFORE) on its way there, or only after (TAKE_AFTER).
const BARRIER: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"conn\"
3 T1 var V1 a.rs:2:1 \"x\"
4 T1 spawn T2 a.rs:3:1
5 T2 thread \"party\"
TAKE_BEFORE
8 T1 acq L1 exclusive blocking x.rs:38:9
9 T1 w V1 x.rs:39:9
10 T1 arrive C5 N2 x.rs:40:9
11 T2 arrive C5 N2 y.rs:14:5
12 T2 r V1 y.rs:15:5
TAKE_AFTER
15 T1 rel L1 x.rs:41:9
";

const TAKE: &str = "6 T2 acq L1 exclusive blocking y.rs:12:5\n7 T2 rel L1 y.rs:13:5";

#[test]
fn a_lock_held_at_a_barrier_another_party_took_on_its_way_is_a_cycle_through_it() {
    let before = BARRIER
        .replace("TAKE_BEFORE", TAKE)
        .replace("TAKE_AFTER", "");
    let found = analyse_text(&before);
    assert_eq!(found.len(), 1, "{found:#?}");
    let wait = found[0].cycle.as_ref().expect("a cycle").edges[0]
        .wait
        .clone()
        .expect("through the barrier");
    assert_eq!((wait.by, wait.on), (WokenBy::Arrival, 5));
    assert_eq!(wait.waker.name.as_deref(), Some("party"));
    // The near miss: taken after the barrier, once `conn` is free again
    // (the write before the barrier and the read after it are ordered by
    // the round, so no race either).
    let after = BARRIER
        .replace("TAKE_BEFORE", "")
        .replace(
            "TAKE_AFTER",
            "13 T1 rel L1 x.rs:41:9\n14 T2 acq L1 exclusive blocking y.rs:16:5\n15 T2 rel L1 y.rs:17:5",
        )
        .replace("15 T1 rel L1 x.rs:41:9\n", "");
    let found = analyse_text(&after);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_barrier_orders_what_comes_before_it_with_what_comes_after() {
    let ordered = BARRIER.replace("TAKE_BEFORE", "").replace("TAKE_AFTER", "");
    assert!(analyse_text(&ordered).is_empty(), "ordered by the round");
    // Without T2's arrival the read is not ordered after the write.
    let unordered = ordered.replace("11 T2 arrive C5 N2 y.rs:14:5\n", "");
    let found = analyse_text(&unordered);
    assert!(
        found.iter().any(|f| f.kind == FindingKind::DataRace),
        "{found:#?}"
    );
}
