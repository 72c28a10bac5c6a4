//! The synthetic trace generator (`gen_trace`, `src/bin/gen_trace.rs` over
//! `benches/trace_gen/mod.rs`): a generated trace, analysed in-process with
//! `lockcheck::trace::open` and `Analyzer`, has exactly the lock-order cycles
//! and data races planted in it and nothing else, and one seed gives one
//! trace, byte for byte.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::Finding;
use lockcheck::trace;
use lockcheck::FindingKind;

/// Runs `gen_trace` with `args` (split at spaces) into `out`.
fn generate(out: &Path, args: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_gen_trace"))
        .args(args.split_whitespace())
        .args(["--quiet", "--output", out.to_str().expect("utf-8 path")])
        .status()
        .expect("run gen_trace");
    assert!(status.success(), "gen_trace {args:?}: {status}");
}

/// The small instance of the brief: 20,000 events, 8 workers, 50 locks,
/// 200 variables, 3 cycles and 4 races planted.
const SMALL: &str =
    "--events 20000 --threads 8 --locks 50 --vars 200 --cycles 3 --races 4 --profile mixed";

/// Every event of the trace through the analyzer (no line may be malformed).
fn analyze(path: &Path) -> (Vec<Finding>, u64) {
    let events = trace::open(path, None).expect("open the generated trace");
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    for event in events {
        analyzer.event(&event.unwrap_or_else(|e| panic!("malformed generated line: {e}")));
    }
    let count = analyzer.events();
    (analyzer.finish(), count)
}

fn event_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("read trace")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}: {}", f.kind, f.summary))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn planted_cycles_and_races_are_the_only_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("small.std");
    generate(&path, &format!("{SMALL} --seed 7"));
    let lines = event_lines(&path);
    assert!(
        (19_000..=21_000).contains(&lines),
        "asked for about 20,000 events, got {lines}"
    );

    let (findings, _) = analyze(&path);
    let all = describe(&findings);
    let cycles: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::LockOrderCycle)
        .collect();
    let races: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::DataRace)
        .collect();
    assert_eq!(cycles.len(), 3, "lock-order cycles:\n{all}");
    assert_eq!(races.len(), 4, "data races:\n{all}");
    assert_eq!(findings.len(), 7, "nothing but the planted ones:\n{all}");

    // Each planted cycle is one finding, on its own pair CA<i> / CB<i>, not
    // guarded, seen once.
    let mut pairs = BTreeSet::new();
    for f in &cycles {
        let mut names: Vec<String> = f.locks.iter().filter_map(|l| l.name.clone()).collect();
        names.sort();
        assert_eq!(names.len(), 2, "{}", f.summary);
        let i = names[0].strip_prefix("CA").expect("a planted cycle lock");
        assert_eq!(names[1], format!("CB{i}"), "{}", f.summary);
        assert!(!f.is_guarded(), "{}", f.summary);
        assert_eq!(f.count, 1, "{}", f.summary);
        pairs.insert(i.to_owned());
    }
    assert_eq!(pairs.len(), 3, "three distinct planted pairs:\n{all}");

    // Each planted race is one finding on its own variable R<j>, by two
    // different threads.
    let vars: BTreeSet<String> = races
        .iter()
        .map(|f| {
            let var = f.variable.as_ref().and_then(|v| v.name.clone());
            let var = var.unwrap_or_else(|| panic!("a race without a variable: {}", f.summary));
            assert!(
                var.starts_with('R'),
                "race on an unplanted variable: {}",
                f.summary
            );
            assert_eq!(f.count, 1, "{}", f.summary);
            assert_ne!(f.threads[0].id, f.threads[1].id, "{}", f.summary);
            var
        })
        .collect();
    assert_eq!(vars.len(), 4, "four distinct racy variables:\n{all}");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (
        dir.path().join("a.std"),
        dir.path().join("b.std"),
        dir.path().join("c.std"),
    );
    generate(&a, &format!("{SMALL} --seed 7"));
    generate(&b, &format!("{SMALL} --seed 7"));
    let bytes = std::fs::read(&a).expect("read a");
    assert!(
        bytes == std::fs::read(&b).expect("read b"),
        "two runs with one seed differ"
    );
    generate(&c, &format!("{SMALL} --seed 8"));
    assert!(
        bytes != std::fs::read(&c).expect("read c"),
        "another seed gave the same trace"
    );
}

/// The bench's other two profiles are clean too, and stdout output is the
/// file output.
#[test]
fn every_profile_is_clean_without_plants() {
    let dir = tempfile::tempdir().expect("temp dir");
    for profile in ["mixed", "locks", "accesses"] {
        let path = dir.path().join(format!("{profile}.std"));
        let args = format!("--events 20000 --threads 4 --locks 16 --vars 64 --profile {profile}");
        generate(&path, &args);
        let (findings, events) = analyze(&path);
        assert!(
            findings.is_empty(),
            "{profile}: expected no finding:\n{}",
            describe(&findings)
        );
        assert!(events >= 19_000, "{profile}: {events} events");
        let text = std::fs::read_to_string(&path).expect("read trace");
        let has_access = text.contains("|r(") || text.contains("|w(");
        assert_eq!(has_access, profile != "locks", "{profile}");

        let stdout = Command::new(env!("CARGO_BIN_EXE_gen_trace"))
            .args(args.split_whitespace())
            .arg("--quiet")
            .output()
            .expect("run gen_trace");
        assert!(stdout.status.success());
        assert!(
            stdout.stdout == text.as_bytes(),
            "{profile}: stdout differs"
        );
    }
}

#[test]
fn impossible_requests_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_gen_trace"))
        .args(["--threads", "1", "--races", "1"])
        .output()
        .expect("run gen_trace");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 2 threads"));
}
