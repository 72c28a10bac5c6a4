//! `assert_no_findings` says "clean" only when it was earned: not with
//! checking turned off, nor after the process met something it could not
//! check (here: more locks held at once than a thread's held stack
//! tracks; a task lockcheck does not see is in `tokio_tasks.rs`, checks
//! compiled out in `feature_off.rs`). One test, alone in its process:
//! turning checking off and a gap met are process-wide.

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn no_findings_is_asserted_only_when_checking_was_on() {
    lockcheck::config::set_policy(lockcheck::config::Policy::Collect);
    let m = lockcheck::Mutex::named("earned.m", 0);
    *m.lock() += 1;
    // On, nothing found, nothing unchecked: clean.
    assert!(lockcheck::unchecked().is_empty());
    lockcheck::assert_no_findings();
    // Off: no finding can be made, so none is asserted absent.
    lockcheck::config::set_enabled(false);
    *m.lock() += 1;
    let said = std::panic::catch_unwind(lockcheck::assert_no_findings)
        .expect_err("assert_no_findings panics with checking off");
    assert!(message(said).contains("checking is off"));
    lockcheck::config::set_enabled(true);
    lockcheck::assert_no_findings();
    // A gap: 64 locks held at once, past the held stack's depth.
    let locks: Vec<lockcheck::Mutex<u32>> = (0..64).map(lockcheck::Mutex::new).collect();
    let guards: Vec<_> = locks.iter().map(|l| l.lock()).collect();
    drop(guards);
    let gaps = lockcheck::unchecked();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(
        gaps[0].contains("deeper acquisitions are not checked"),
        "{gaps:?}"
    );
    let said = std::panic::catch_unwind(lockcheck::assert_no_findings)
        .expect_err("assert_no_findings panics when not everything was checked");
    let said = message(said);
    assert!(
        said.contains("not everything was checked") && said.contains(&gaps[0]),
        "{said}"
    );
}
