//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

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
