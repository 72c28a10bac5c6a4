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
/// `cargo build --examples` first.
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
        "{} is not built; run `cargo build --examples` (or a plain `cargo test`) first",
        path.display()
    );
    path
}
