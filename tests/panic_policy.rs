//! The default policy, as a user's `#[test]` meets it: a failing finding
//! panics in the thread that caused it, with the full report in the panic
//! message; a guarded cycle does not panic. This file sets no policy.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lockcheck::Mutex;

fn panic_message(result: std::thread::Result<()>) -> Option<String> {
    let payload = result.err()?;
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
}

#[test]
fn a_lock_order_cycle_fails_the_test_that_caused_it_with_the_report() {
    lockcheck::config::set_backtraces(false);
    let a = Mutex::named("policy.a", ());
    let b = Mutex::named("policy.b", ());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _b = b.lock();
        let _a = a.lock();
    }));
    let message = panic_message(result).expect("the closing acquire panics");
    assert!(message.contains("error[lock-order-cycle]"), "{message}");
    assert!(message.contains("`policy.a`") && message.contains("`policy.b`"));
    assert!(message.contains("tests/panic_policy.rs:"), "{message}");
    // The panic released the lock it had just taken: both are free.
    assert!(a.try_lock().is_some() && b.try_lock().is_some());
}

#[test]
fn a_guarded_cycle_does_not_fail_the_test() {
    lockcheck::config::set_backtraces(false);
    let gate = Mutex::named("policygate.g", ());
    let a = Mutex::named("policygate.a", ());
    let b = Mutex::named("policygate.b", ());
    let result = catch_unwind(AssertUnwindSafe(|| {
        for first_a in [true, false] {
            let _g = gate.lock();
            let (x, y) = if first_a { (&a, &b) } else { (&b, &a) };
            let _x = x.lock();
            let _y = y.lock();
        }
    }));
    assert!(result.is_ok());
    let guarded = lockcheck::findings()
        .into_iter()
        .filter(|f| f.summary.contains("policygate.a"))
        .collect::<Vec<_>>();
    assert_eq!(guarded.len(), 1);
    assert!(guarded[0].is_guarded());
}
