//! The default policy, as a user's `#[test]` meets it: a failing finding
//! panics in the thread that caused it, with the full report in the panic
//! message; a guarded cycle does not panic. This file sets no policy.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Mutex as StdMutex, Once, OnceLock};

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

/// Where each panic whose message names `tag` was raised, as (file, line).
/// The hook is the process's, installed once: it notes every panic's
/// message and location, then hands the panic to the hook it replaced.
fn panic_sites(tag: &str) -> Vec<(String, u32)> {
    type Seen = StdMutex<Vec<(String, String, u32)>>;
    static SEEN: OnceLock<Seen> = OnceLock::new();
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if let Some(at) = info.location() {
                let seen = SEEN.get_or_init(Default::default);
                let entry = (message, at.file().to_string(), at.line());
                seen.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
            }
            previous(info);
        }));
    });
    let seen = SEEN.get_or_init(Default::default);
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.iter()
        .filter(|(message, _, _)| message.contains(tag))
        .map(|(_, file, line)| (file.clone(), *line))
        .collect()
}

fn here(line: u32) -> Vec<(String, u32)> {
    vec![("tests/panic_policy.rs".to_string(), line)]
}

// Through the wrappers' out-of-line slow paths, a panic still names the
// call in the user's code: every frame on the way tracks its caller, and
// no report is made from inside a closure.

#[test]
fn a_self_deadlock_panics_at_the_users_second_lock() {
    lockcheck::config::set_backtraces(false);
    panic_sites("");
    let m = Mutex::named("policyloc.self", ());
    let mut line = 0;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _first = m.lock();
        line = line!() + 1;
        let _again = m.lock();
    }));
    let message = panic_message(result).expect("re-locking the mutex panics");
    assert!(message.contains("error[self-deadlock]"), "{message}");
    assert_eq!(panic_sites("policyloc.self"), here(line));
}

#[test]
fn a_lock_order_cycle_panics_at_the_acquire_that_closed_it() {
    lockcheck::config::set_backtraces(false);
    panic_sites("");
    let a = Mutex::named("policyloc.a", ());
    let b = Mutex::named("policyloc.b", ());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    let mut line = 0;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _b = b.lock();
        line = line!() + 1;
        let _a = a.lock();
    }));
    assert!(panic_message(result).is_some());
    assert_eq!(panic_sites("policyloc.a"), here(line));
}

#[test]
fn a_data_race_panics_at_the_second_access() {
    panic_sites("");
    let n = lockcheck::Shared::named("policyloc.n", 0u64);
    let (tx, rx) = std::sync::mpsc::channel();
    let line = AtomicU32::new(0);
    let (n, line_of_second) = (&n, &line);
    let second = std::thread::scope(|s| {
        // std's channel orders the two for the run, but makes no
        // happens-before that lockcheck sees.
        s.spawn(move || {
            n.set(1);
            tx.send(()).unwrap();
        });
        s.spawn(move || {
            rx.recv().unwrap();
            line_of_second.store(line!() + 1, Relaxed);
            n.set(2);
        })
        .join()
    });
    let message = panic_message(second).expect("the second access panics");
    assert!(message.contains("error[data-race]"), "{message}");
    assert_eq!(panic_sites("policyloc.n"), here(line.load(Relaxed)));
}
