//! A re-lock after `unlocked` that a finding stops, under the `panic`
//! policy (the default in tests): the panic reaches the user's call as any
//! finding's does, with the guard whole (it holds its lock again, untracked)
//! and released as it unwinds. In a file of its own: the policy is the
//! process's, and the other test files collect instead.

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use lockcheck::config::{self, Policy};
use lockcheck::{FindingKind, Mutex, MutexGuard};

#[test]
fn a_cycle_closed_by_the_relock_panics_at_the_unlocked_call_and_unwinds_cleanly() {
    config::set_policy(Policy::Panic);
    config::set_backtraces(false);
    let a = Arc::new(Mutex::named("relockpanic.a", 0));
    let b = Arc::new(Mutex::named("relockpanic.b", ()));
    let (done, outcome) = mpsc::channel();
    {
        let (a, b) = (a.clone(), b.clone());
        thread::spawn(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                {
                    let _a = a.lock();
                    drop(b.lock()); // a -> b
                }
                let mut held = a.lock();
                let mut inner = None;
                // Re-locked under b: b -> a closes the cycle.
                MutexGuard::unlocked(&mut held, || inner = Some(b.lock()));
            }));
            let message = match ran {
                Ok(()) => None,
                Err(payload) => Some(
                    payload
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_default(),
                ),
            };
            let _ = done.send(message);
        });
    }
    let message = outcome
        .recv_timeout(Duration::from_secs(10))
        .expect("the thread finished (no hang, no abort)")
        .expect("the finding panicked the thread");
    assert!(message.contains("lock order cycle"), "{message}");
    assert!(
        !a.is_locked() && !b.is_locked(),
        "both released as it unwound"
    );
    let found: Vec<_> = lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.name.as_deref() == Some("relockpanic.a"))
        })
        .map(|f| f.kind)
        .collect();
    assert_eq!(found, [FindingKind::LockOrderCycle]);
}
