//! The events that recording adds, each analysed from a small lockcheck
//! trace: the case a detector must report beside the near miss it must not.

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::Finding;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck::FindingKind;

/// Declarations shared by every trace below: a mutex, an rwlock, a variable.
const HEAD: &str = "lockcheck-trace 1
1 T1 lock L1 mutex a.rs:1:1 \"m\"
2 T1 lock L2 rwlock a.rs:2:1 \"rw\"
3 T1 var V1 a.rs:3:1 \"x\"
";

fn analyse_with(body: &str, lockset: bool) -> Vec<Finding> {
    let text = format!("{HEAD}{body}");
    let mut analyzer = Analyzer::new(OrderGranularity::Instance).with_lockset(lockset);
    for event in LockcheckReader::new(text.as_bytes(), "test.lct") {
        let event = event.unwrap_or_else(|e| panic!("{e}"));
        analyzer.event(&event);
    }
    analyzer.finish()
}

fn analyse(body: &str) -> Vec<Finding> {
    analyse_with(body, false)
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

#[test]
fn a_message_orders_its_send_before_its_receive() {
    let ordered = analyse(
        "10 T1 w V1 a.rs:10:1
11 T1 send M1 a.rs:11:1
12 T2 recv M1 a.rs:12:1
13 T2 w V1 a.rs:13:1
",
    );
    assert!(ordered.is_empty(), "{ordered:?}");
    // The receiver got another message: nothing orders the two writes.
    let unordered = analyse(
        "10 T1 w V1 a.rs:10:1
11 T1 send M1 a.rs:11:1
12 T3 send M2 a.rs:12:1
13 T2 recv M2 a.rs:13:1
14 T2 w V1 a.rs:14:1
",
    );
    assert_eq!(kinds(&unordered), [FindingKind::DataRace]);
}

#[test]
fn a_notification_orders_the_notifier_before_the_woken_wait() {
    // T1 waits on C9 with m; T2 writes x without m, notifies C9; T1 wakes
    // (takes m back) and reads x.
    let body = |condition: &str| {
        format!(
            "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 wait C9 L1 a.rs:11:1
12 T2 w V1 a.rs:12:1
13 T2 notify {condition} a.rs:13:1
14 T1 acq L1 exclusive blocking a.rs:11:1
15 T1 r V1 a.rs:15:1
16 T1 rel L1 a.rs:10:1
"
        )
    };
    let woken = analyse(&body("C9"));
    assert!(woken.is_empty(), "{woken:?}");
    let other_condition = analyse(&body("C8"));
    assert_eq!(kinds(&other_condition), [FindingKind::DataRace]);
}

#[test]
fn a_downgrade_releases_the_write_to_the_readers_it_lets_in() {
    let written_before = analyse(
        "10 T1 acq L2 exclusive blocking a.rs:10:1
11 T1 w V1 a.rs:11:1
12 T1 mode L2 exclusive read a.rs:10:1
13 T1 rel L2 a.rs:10:1
14 T2 acq L2 read blocking a.rs:14:1
15 T2 r V1 a.rs:15:1
16 T2 rel L2 a.rs:14:1
",
    );
    assert!(written_before.is_empty(), "{written_before:?}");
    // Written after the downgrade, under the read lock only: two readers do
    // not order each other.
    let written_after = analyse(
        "10 T1 acq L2 exclusive blocking a.rs:10:1
11 T1 mode L2 exclusive read a.rs:10:1
12 T2 acq L2 read blocking a.rs:12:1
13 T1 w V1 a.rs:13:1
14 T2 r V1 a.rs:14:1
15 T2 rel L2 a.rs:12:1
16 T1 rel L2 a.rs:10:1
",
    );
    assert_eq!(kinds(&written_after), [FindingKind::DataRace]);
}

#[test]
fn an_upgrade_request_under_a_second_read_of_the_same_lock_is_a_self_deadlock() {
    let stuck = analyse(
        "10 T1 acq L2 upgradable blocking a.rs:10:1
11 T1 acq L2 recursive-read blocking a.rs:11:1
12 T1 req L2 exclusive a.rs:12:1
",
    );
    assert_eq!(kinds(&stuck), [FindingKind::SelfDeadlock]);
    let alone = analyse(
        "10 T1 acq L2 upgradable blocking a.rs:10:1
11 T1 req L2 exclusive a.rs:12:1
12 T1 mode L2 upgradable exclusive a.rs:10:1
13 T1 rel L2 a.rs:10:1
",
    );
    assert!(alone.is_empty(), "{alone:?}");
}

#[test]
fn a_thread_that_ends_holding_a_lock_leaked_it() {
    let leaked = analyse(
        "10 T2 acq L1 exclusive blocking a.rs:10:1
11 T2 end
",
    );
    assert_eq!(kinds(&leaked), [FindingKind::LockMisuse]);
    assert!(leaked[0].summary.contains("exited while holding"));
    let released = analyse(
        "10 T2 acq L1 exclusive blocking a.rs:10:1
11 T2 rel L1 a.rs:10:1
12 T2 end
",
    );
    assert!(released.is_empty(), "{released:?}");
}

#[test]
fn a_guarded_variable_must_be_accessed_under_its_guard() {
    let unguarded = analyse(
        "10 T1 guard V1 L1
11 T1 w V1 a.rs:11:1
",
    );
    assert_eq!(kinds(&unguarded), [FindingKind::DataRace]);
    let guarded = analyse(
        "10 T1 guard V1 L1
11 T1 acq L1 exclusive blocking a.rs:11:1
12 T1 w V1 a.rs:12:1
13 T1 rel L1 a.rs:11:1
",
    );
    assert!(guarded.is_empty(), "{guarded:?}");
}

#[test]
fn a_request_is_checked_once_not_again_at_its_acquisition() {
    let found = analyse(
        "10 T1 acq L2 read blocking a.rs:10:1
11 T1 req L2 read a.rs:11:1
12 T1 acq L2 read blocking a.rs:11:1
",
    );
    assert_eq!(kinds(&found), [FindingKind::SelfDeadlock]);
    assert_eq!(
        found[0].count, 1,
        "the request and its acquisition are one event"
    );
}

#[test]
fn the_lockset_option_predicts_a_race_that_a_lock_hand_off_hid() {
    // T2 takes and releases m after T1's write, so happens-before orders
    // the writes; but T2 writes without m, which another schedule races.
    let body = |second_write_locked: bool| {
        let (take, give) = if second_write_locked {
            (
                "15 T2 acq L1 exclusive blocking a.rs:15:1\n",
                "17 T2 rel L1 a.rs:15:1\n",
            )
        } else {
            ("", "")
        };
        format!(
            "10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 w V1 a.rs:11:1
12 T1 rel L1 a.rs:10:1
13 T2 acq L1 exclusive blocking a.rs:13:1
14 T2 rel L1 a.rs:13:1
{take}16 T2 w V1 a.rs:16:1
{give}"
        )
    };
    let hidden = analyse_with(&body(false), true);
    assert_eq!(kinds(&hidden), [FindingKind::DataRace]);
    assert!(hidden[0].summary.contains("predicted"), "{hidden:?}");
    assert!(analyse_with(&body(false), false).is_empty());
    let locked = analyse_with(&body(true), true);
    assert!(locked.is_empty(), "{locked:?}");
}

#[test]
fn an_upgrade_waits_for_the_readers_and_deadlocks_with_one_that_waits_for_it() {
    // T2 holds m and an upgradable read of rw; T3 reads rw. T2 upgrades,
    // waiting for T3 to leave.
    let start = "10 T2 acq L1 exclusive blocking a.rs:10:1
11 T2 acq L2 upgradable blocking a.rs:11:1
12 T3 acq L2 read blocking a.rs:12:1
13 T2 req L2 exclusive a.rs:13:1
";
    // T3 then asks for m: each waits for the other, from that request on
    // (so it is found there, even though T3 then gives up, as a thread
    // that lockcheck broke out of the deadlock does).
    let stuck = analyse(&format!(
        "{start}14 T3 req L1 exclusive a.rs:14:1
15 T3 rel L2 a.rs:12:1
16 T3 end
"
    ));
    assert_eq!(kinds(&stuck), [FindingKind::Deadlock], "{stuck:?}");
    // T3 leaves instead: the upgrade goes through.
    let leaves = analyse(&format!(
        "{start}14 T3 rel L2 a.rs:12:1
15 T2 mode L2 upgradable exclusive a.rs:11:1
16 T2 rel L2 a.rs:11:1
17 T2 rel L1 a.rs:10:1
"
    ));
    assert!(leaves.is_empty(), "{leaves:?}");
}

#[test]
fn a_dropped_lock_or_variable_leaves_the_declarations() {
    let text = format!(
        "{HEAD}10 T1 acq L1 exclusive blocking a.rs:10:1
11 T1 w V1 a.rs:11:1
12 T1 rel L1 a.rs:10:1
13 T1 drop-lock L1
14 T1 drop-var V1
15 T1 acq L1 exclusive blocking a.rs:15:1
16 T1 r V1 a.rs:16:1
"
    );
    let items: Vec<_> = LockcheckReader::new(text.as_bytes(), "test.lct").collect();
    let dropped = items
        .iter()
        .filter(|i| {
            matches!(
                i,
                Ok(lockcheck::event::Event::LockDropped { .. }
                    | lockcheck::event::Event::VarDropped { .. })
            )
        })
        .count();
    assert_eq!(dropped, 2, "{items:?}");
    // Uses after the drop name what no longer exists.
    let errors: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("test.lct:10:") && errors[0].contains("L1"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("test.lct:11:") && errors[1].contains("V1"),
        "{errors:?}"
    );
    // And the analysis of what was read is clean: nothing raced, nothing leaked.
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    for event in items.into_iter().flatten() {
        analyzer.event(&event);
    }
    assert!(analyzer.finish().is_empty());
}

/// A thread spawned after a join takes the joined thread's clock slot (so
/// that clocks grow with the threads running at once): what the joined
/// thread did stays ordered before it, and nothing else is ordered by the
/// reuse.
#[test]
fn a_slot_reused_after_a_join_orders_only_what_the_join_ordered() {
    // T3 is spawned by T1 after T1 joined T2: T2's write is ordered before
    // T3's.
    let ordered = analyse(
        "10 T1 spawn T2 a.rs:10:1
11 T2 w V1 a.rs:11:1
12 T1 join T2 a.rs:12:1
13 T1 spawn T3 a.rs:13:1
14 T3 w V1 a.rs:14:1
",
    );
    assert!(ordered.is_empty(), "{ordered:?}");
    // T5 joined T2 too, but knows nothing of T3 (which took T2's slot):
    // their writes race.
    let second_joiner = analyse(
        "10 T1 spawn T2 a.rs:10:1
11 T1 spawn T5 a.rs:11:1
12 T2 w V1 a.rs:12:1
13 T1 join T2 a.rs:13:1
14 T5 join T2 a.rs:14:1
15 T1 spawn T3 a.rs:15:1
16 T3 w V1 a.rs:16:1
17 T5 w V1 a.rs:17:1
",
    );
    assert_eq!(kinds(&second_joiner), [FindingKind::DataRace]);
    let racing: Vec<u64> = second_joiner[0].threads.iter().map(|t| t.id).collect();
    assert!(racing.contains(&3) && racing.contains(&5), "{racing:?}");
    // T2 goes on after its join (a trace inconsistent there): its write is
    // not ordered before T3's.
    let after_join = analyse(
        "10 T1 spawn T2 a.rs:10:1
11 T2 w V1 a.rs:11:1
12 T1 join T2 a.rs:12:1
13 T1 spawn T3 a.rs:13:1
14 T2 w V1 a.rs:14:1
15 T3 w V1 a.rs:15:1
",
    );
    assert_eq!(
        kinds(&after_join),
        [FindingKind::DataRace],
        "{after_join:?}"
    );
    let racing: Vec<u64> = after_join[0].threads.iter().map(|t| t.id).collect();
    assert!(racing.contains(&2) && racing.contains(&3), "{racing:?}");
}
