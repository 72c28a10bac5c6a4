//! Helpers shared by the integration tests. Each test binary uses a part
//! of them, so the rest is dead code there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lockcheck::{Finding, FindingKind};

/// Data-race findings so far on the `Shared` named `name`. Tests share
/// their process, so each looks only at the variables it made.
pub fn races_on(name: &str) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| f.kind == FindingKind::DataRace)
        .filter(|f| f.variable.as_ref().and_then(|v| v.name.as_deref()) == Some(name))
        .collect()
}

/// A fixture program's executable, as a plain `cargo test` builds it
/// (target/<profile>/examples; the tests run from target/<profile>/deps).
/// `cargo test --test NAME` alone does not build examples: run
/// `cargo build --workspace --examples` first.
pub fn fixture_exe(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir")
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo build --workspace --examples` (or `cargo test --workspace`) first",
        path.display()
    );
    path
}

/// Findings are collected, not panicked on, and backtraces are off: the
/// tests look at findings through [`about`].
pub fn collect() {
    lockcheck::config::set_policy(lockcheck::config::Policy::Collect);
    lockcheck::config::set_backtraces(false);
}

/// Findings that involve a lock whose name starts with `prefix`. Tests in
/// one binary share their process's findings, so each names its locks
/// uniquely and looks only at its own.
pub fn about(prefix: &str) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        })
        .collect()
}

/// The kinds of `findings`, in order.
pub fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// Runs `f` on a fresh thread and joins it; returns whether it finished
/// without panicking.
pub fn on_thread(f: impl FnOnce() + Send + 'static) -> bool {
    std::thread::spawn(f).join().is_ok()
}

/// As [`on_thread`] for a thread that a regression would hang: fails the
/// test if the thread has not finished within ten seconds (the thread is
/// left behind).
pub fn on_thread_within(f: impl FnOnce() + Send + 'static) -> bool {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        let _ = done.send(ok);
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the thread hung: the detector did not stop it")
}
