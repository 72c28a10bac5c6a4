//! Backtraces in reports: captured when something new is learned, trimmed
//! to the user's frames (no lockcheck, std or parking_lot frames). Its own
//! test binary, since it turns capture on for the whole process.

use std::sync::Arc;

use lockcheck::config::{self, Policy};
use lockcheck::{FindingKind, Mutex};

#[inline(never)]
fn take_both_in_the_wrong_order(a: &Mutex<()>, b: &Mutex<()>) {
    let _b = b.lock();
    let _a = a.lock();
}

#[test]
fn a_cycle_report_shows_the_users_frames_and_only_those() {
    config::set_policy(Policy::Collect);
    config::set_backtraces(true);
    let a = Arc::new(Mutex::named("bt.a", ()));
    let b = Arc::new(Mutex::named("bt.b", ()));
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    take_both_in_the_wrong_order(&a, &b);
    let finding = lockcheck::findings()
        .into_iter()
        .find(|f| f.kind == FindingKind::LockOrderCycle)
        .expect("the cycle");
    let frames: Vec<&str> = finding
        .cycle
        .as_ref()
        .unwrap()
        .edges
        .iter()
        .flat_map(|e| e.backtrace.iter().map(|f| f.function.as_str()))
        .collect();
    assert!(
        frames
            .iter()
            .any(|f| f.contains("take_both_in_the_wrong_order")),
        "{frames:#?}"
    );
    for internal in [
        "lockcheck::",
        "std::",
        "core::",
        "parking_lot",
        "backtrace::",
    ] {
        assert!(
            frames
                .iter()
                .all(|f| !f.trim_start_matches('<').starts_with(internal)),
            "{internal} frame in {frames:#?}"
        );
    }
}
