//! The patch route: a crate whose dependency locks with parking_lot, built
//! with `[patch.crates-io] parking_lot = { path = "shims/parking_lot-0.12" }`,
//! has the dependency's locks checked too — a lock-order cycle between the
//! crate's own lock and the dependency's is found — and `cargo tree` shows
//! the patch took. The dependency is tracing-mutex (a registry crate built
//! on parking_lot 0.12's `RawMutex` through lock_api), already downloaded
//! as a dev-dependency of this package, so the build runs `--offline`.
//!
//! The build has its own target directory under this one's `target/`, kept
//! between runs: the first run compiles lockcheck and the dependency once
//! (about half a minute on two cores), later ones only the small crate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const APP: &str = r#"
use std::sync::Arc;

fn main() {
    lockcheck::config::set_policy(lockcheck::config::Policy::Collect);
    let reverse = std::env::args().nth(1).as_deref() == Some("reverse");
    let mine = Arc::new(lockcheck::Mutex::named("app.accounts", ()));
    // The dependency's lock: tracing-mutex's Mutex, whose raw lock is
    // parking_lot's RawMutex, which the patch makes lockcheck's.
    let theirs = Arc::new(tracing_mutex::parkinglot::Mutex::new(()));
    {
        let _mine = mine.lock();
        let _theirs = theirs.lock();
    }
    let (m, t) = (mine.clone(), theirs.clone());
    let other = std::thread::spawn(move || {
        if reverse {
            let _theirs = t.lock();
            let _mine = m.lock();
        } else {
            let _mine = m.lock();
            let _theirs = t.lock();
        }
    });
    other.join().unwrap();
    for f in lockcheck::findings() {
        let names: Vec<String> = f
            .locks
            .iter()
            .map(|l| l.name.clone().unwrap_or_else(|| format!("lock created at {}", l.created)))
            .collect();
        println!("finding {} {}", f.kind, names.join(" | "));
        for site in f.sites() {
            println!("site {site}");
        }
    }
    println!("done");
}
"#;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Writes the small crate (once per test process: the tests run in
/// parallel) and returns its directory.
fn app_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(write_app).clone()
}

fn write_app() -> PathBuf {
    let dir = repo().join("target").join("patch-route").join("app");
    std::fs::create_dir_all(dir.join("src")).expect("app dir");
    let manifest = format!(
        r#"[package]
name = "patch-route-app"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
lockcheck = {{ path = "{repo}" }}
tracing-mutex = {{ version = "0.3", features = ["parkinglot"] }}

[patch.crates-io]
parking_lot = {{ path = "{repo}/shims/parking_lot-0.12" }}

[workspace]
"#,
        repo = repo().display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("app manifest");
    std::fs::write(dir.join("src/main.rs"), APP).expect("app source");
    dir
}

fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("../target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo")
}

/// Builds the app (once for both tests: cargo serialises on its lock) and
/// runs it with `args`; its stdout.
fn run_app(args: &[&str]) -> String {
    let dir = app_dir();
    let built = cargo(&dir, &["build", "--quiet"]);
    assert!(
        built.status.success(),
        "the app did not build through the patch:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let exe = dir.join("../target/debug/patch-route-app");
    let out = Command::new(&exe)
        .args(args)
        .env_remove("LOCKCHECK_REPORT")
        .output()
        .expect("run the app");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.ends_with("done\n"), "{stdout}");
    stdout
}

#[test]
fn the_patch_took_and_cargo_tree_says_so() {
    let dir = app_dir();
    let tree = cargo(&dir, &["tree", "-e", "normal", "-i", "parking_lot"]);
    let text = String::from_utf8_lossy(&tree.stdout);
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("parking_lot v0.12") && first.contains("shims/parking_lot-0.12"),
        "parking_lot is not the shim: {text}"
    );
    assert!(text.contains("tracing-mutex"), "{text}");
}

#[test]
fn a_cycle_between_the_apps_lock_and_the_dependencys_is_found() {
    let out = run_app(&["reverse"]);
    let cycle = out
        .lines()
        .find(|l| l.starts_with("finding lock-order-cycle"))
        .unwrap_or_else(|| panic!("no cycle through the dependency's lock:\n{out}"));
    assert!(cycle.contains("app.accounts"), "{cycle}");
    // The dependency's lock has no name, and lock_api made it from a
    // constant: it is named by where it was first locked, the dependency's
    // own line (past lock_api's frames), not one of lockcheck's.
    assert!(
        cycle.contains("mutex first locked at ") && cycle.contains("tracing-mutex-0.3"),
        "{cycle}"
    );
    assert!(!cycle.contains("lockcheck"), "{cycle}");
    // The app's side of each edge is its own line: `mine.lock()` in the
    // first block (line 12 of APP) and `m.lock()` under `theirs` (line 19).
    let sites: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("site "))
        .collect();
    assert!(sites.contains(&"src/main.rs:12:26"), "{out}");
    assert!(sites.contains(&"src/main.rs:19:27"), "{out}");
}

#[test]
fn the_same_order_on_both_threads_is_not_a_finding() {
    let out = run_app(&[]);
    assert!(
        !out.lines().any(|l| l.starts_with("finding")),
        "a consistent order was reported:\n{out}"
    );
}
