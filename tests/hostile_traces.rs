//! Traces written to break the reader or the analysis: ids as large as
//! they come, ids meant to be used as indices, lines cut anywhere. Each must
//! end in a report or a one-line error naming a line, never a panic, a hang
//! or an allocation the trace sized.

use std::path::Path;
use std::process::{Command, Output};

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .output()
        .expect("run lockcheck")
}

/// `lockcheck analyze --format json` of a trace holding `text`.
fn analyze_text(dir: &Path, name: &str, text: &str) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the trace");
    lockcheck(&["analyze", "--format", "json", path.to_str().expect("utf-8")])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The trace ids that used to be vector-clock indices: the largest, one
/// past `isize::MAX` (a capacity overflow), and two that allocated
/// gigabytes. Each thread is one clock component whatever its id.
#[test]
fn huge_thread_ids_are_names_not_indices() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, body) in [
        ("max.lct", "1 T18446744073709551615 thread \"main\"\n"),
        (
            "spawn.lct",
            "1 T1 spawn T9223372036854775808 a.rs:1:1\n2 T9223372036854775808 end\n3 T1 join T9223372036854775808 a.rs:2:1\n",
        ),
        ("four_g.lct", "1 T4294967296 thread \"w\"\n2 T4294967296 end\n"),
        ("short.lct", "7 T888888881 thread \"\"\n"),
    ] {
        let out = analyze_text(dir.path(), name, &format!("lockcheck-trace 1\n{body}"));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(doc["findings"], serde_json::json!([]), "{name}");
    }
}

/// Races between threads with huge ids are still found (the ids name the
/// threads in the report), and the same accesses ordered by a join are not.
#[test]
fn a_race_between_threads_with_huge_ids_is_found_and_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = |join: &str| {
        format!(
            "lockcheck-trace 1\n1 T1 var V18446744073709551615 a.rs:1:1 \"x\"\n\
             2 T1 spawn T18446744073709551615 a.rs:2:1\n\
             3 T18446744073709551615 w V18446744073709551615 a.rs:3:1\n\
             4 T18446744073709551615 end\n{join}\
             6 T1 w V18446744073709551615 a.rs:6:1\n"
        )
    };
    let out = analyze_text(dir.path(), "race.lct", &trace(""));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{doc:#}");
    assert_eq!(findings[0]["kind"], "data-race");
    let ids: Vec<&serde_json::Value> = findings[0]["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert!(
        ids.contains(&&serde_json::json!(u64::MAX)),
        "the report keeps the trace's id: {ids:?}"
    );
    let out = analyze_text(
        dir.path(),
        "joined.lct",
        &trace("5 T1 join T18446744073709551615 a.rs:5:1\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
