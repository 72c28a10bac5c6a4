//! Traces written to break the reader or the analysis: ids as large as
//! they come, ids meant to be used as indices, lines cut anywhere. Each must
//! end in a report or a one-line error naming a line, never a panic, a hang
//! or an allocation the trace sized.

use std::path::Path;
use std::process::{Command, Output};

use lockcheck::analysis::Analyzer;
use lockcheck::event::ThreadId;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck::trace::std_format::StdReader;
use lockcheck::trace::{self, spool, EventSource, TraceError};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

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

// ------------------------------------------------------------ mutations
//
// Valid traces, mutated: byte flips, truncation, lines duplicated or
// deleted, huge numbers in id and number fields. Whatever comes of it, every
// reader and the analysis must end without a panic, and every problem must
// be an error naming a line of the input (`file:line: …`).

/// A lockcheck trace using every op, with several threads.
const LOCKCHECK_SEED: &str = "lockcheck-trace 1
1 T1 thread \"main\"
2 T1 lock L1 mutex a.rs:1:1 \"m\"
3 T1 lock L2 rwlock \"b c.rs\":2:1 -
4 T1 lock L3 reentrant-mutex a.rs:3:1 \"r\"
5 T1 var V1 a.rs:4:1 \"x\"
6 T1 guard V1 L1
7 T1 spawn T2 a.rs:5:1
8 T2 req L1 exclusive a.rs:6:1
9 T2 acq L1 exclusive blocking a.rs:6:1
10 T2 w V1 a.rs:7:1 update
11 T2 wait C1 L1 a.rs:8:1
12 T1 notify C1 a.rs:9:1
13 T2 acq L1 exclusive blocking a.rs:8:1
14 T2 rel L1 a.rs:6:1
15 T2 acq L2 upgradable try a.rs:10:1
16 T2 mode L2 upgradable exclusive a.rs:11:1
17 T2 rel L2 a.rs:10:1
18 T2 send M1 a.rs:12:1
19 T1 recv M1 a.rs:13:1
20 T1 acq L3 exclusive blocking a.rs:14:1
21 T1 acq L3 exclusive blocking a.rs:15:1
22 T1 rel L3 a.rs:15:1
23 T1 rel L3 a.rs:14:1
24 T2 end
25 T1 join T2 a.rs:16:1
26 T1 r V1 a.rs:17:1
27 T1 drop-var V1
28 T1 drop-lock L2
";

/// STD traces: the fixtures' and one of the external ones.
fn std_seeds() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut seeds = Vec::new();
    for name in [
        "fixtures/traces/wait_notify.std",
        "fixtures/traces/dining_philosophers.std",
        "fixtures/traces/deadlocked_at_end.std",
        "fixtures/traces/unsynchronised_counter.std",
        "tests/external-traces/cond_var_fp_dlf.std",
    ] {
        let bytes = std::fs::read(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        seeds.push((name.to_owned(), bytes));
    }
    seeds
}

/// Numbers that have broken, or could break, a reader or the analysis.
const HUGE: [&str; 7] = [
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "4294967296",
    "888888881",
    "0",
    "999999999999999999999999999999",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the byte at (index mod length).
    Flip(usize, u8),
    /// Cut the input at (index mod length).
    Truncate(usize),
    /// Repeat a line.
    DuplicateLine(usize),
    /// Delete a line.
    DeleteLine(usize),
    /// Replace a run of digits with one of [`HUGE`].
    HugeNumber(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that mean something to the readers, and any byte.
    let byte = prop_oneof![
        prop::sample::select(b" |()\":\\\n-#TLVCM0123456789".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::DeleteLine),
        (any::<usize>(), 0..HUGE.len()).prop_map(|(i, h)| Mutation::HugeNumber(i, h)),
    ]
}

/// The byte ranges of `input`'s lines, newline included.
fn line_spans(input: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, b) in input.iter().enumerate() {
        if *b == b'\n' {
            spans.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < input.len() {
        spans.push(start..input.len());
    }
    spans
}

fn apply(input: &mut Vec<u8>, m: &Mutation) {
    if input.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let i = i % input.len();
            input[i] = b;
        }
        Mutation::Truncate(i) => input.truncate(i % input.len()),
        Mutation::DuplicateLine(i) => {
            let spans = line_spans(input);
            let span = spans[i % spans.len()].clone();
            let line = input[span.clone()].to_vec();
            input.splice(span.end..span.end, line);
        }
        Mutation::DeleteLine(i) => {
            let spans = line_spans(input);
            let span = spans[i % spans.len()].clone();
            input.drain(span);
        }
        Mutation::HugeNumber(i, h) => {
            let mut runs = Vec::new();
            let mut start = None;
            for (j, b) in input.iter().enumerate() {
                match (b.is_ascii_digit(), start) {
                    (true, None) => start = Some(j),
                    (false, Some(s)) => {
                        runs.push(s..j);
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                runs.push(s..input.len());
            }
            if !runs.is_empty() {
                let run = runs[i % runs.len()].clone();
                input.splice(run, HUGE[h].bytes());
            }
        }
    }
}

fn mutated(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut input = seed.to_vec();
    for m in mutations {
        apply(&mut input, m);
    }
    input
}

/// How many lines `input` has, as a reader numbers them.
fn line_count(input: &[u8]) -> u64 {
    line_spans(input).len() as u64
}

/// Checks that `error` names a line of the input it came from: a line that
/// exists, and `file:line:` in its message.
fn assert_names_a_line(error: &TraceError, file: &str, lines: u64) {
    assert!(
        error.line >= 1 && error.line <= lines.max(1),
        "line {} of {lines}: {error}",
        error.line
    );
    let prefix = format!("{file}:{}: ", error.line);
    assert!(error.to_string().starts_with(&prefix), "{error}");
}

/// Reads every item of `events`, checks each error, and feeds the events
/// to the analysis, whose findings are then made. Unless an error ended the
/// reading (a fatal one: the header), every line was read: none was dropped
/// silently at the end.
fn read_and_analyse(mut events: impl EventSource, file: &str, lines: u64) {
    let mut analyzer = Analyzer::default().with_lockset(true);
    let mut fatal = false;
    for item in &mut events {
        match item {
            Ok(event) => analyzer.event(&event),
            Err(e) => {
                assert_names_a_line(&e, file, lines);
                fatal |= e.fatal;
            }
        }
    }
    if !fatal {
        assert_eq!(events.lines_read(), lines, "{file}: read to the end");
    }
    let _ = analyzer.finish();
}

/// The lines of a lockcheck trace as a spool would hold them: each line in
/// a chunk of its thread, two lines a chunk, chunks of threads interleaved.
fn as_spool(trace: &str) -> Vec<u8> {
    let mut by_thread: Vec<(u64, Vec<u8>)> = Vec::new();
    for line in trace.lines().skip(1) {
        let thread = line
            .split(' ')
            .nth(1)
            .and_then(|t| t.strip_prefix('T'))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        match by_thread.iter_mut().find(|(t, _)| *t == thread) {
            Some((_, body)) => body.extend_from_slice(format!("{line}\n").as_bytes()),
            None => by_thread.push((thread, format!("{line}\n").into_bytes())),
        }
    }
    let mut out = Vec::new();
    for (thread, body) in &by_thread {
        let lines: Vec<&[u8]> = body.split_inclusive(|b| *b == b'\n').collect();
        for pair in lines.chunks(2) {
            spool::chunk(&mut out, ThreadId(*thread), &pair.concat());
        }
    }
    out
}

fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(cases);
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x7ace_5eed);
    }
    config
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_mutated_lockcheck_trace_never_panics_and_each_error_names_its_line(
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let input = mutated(LOCKCHECK_SEED.as_bytes(), &mutations);
        let lines = line_count(&input);
        read_and_analyse(LockcheckReader::new(&input[..], "m.lct"), "m.lct", lines);
        // Read as the other format too: a trace may be given the wrong one.
        read_and_analyse(StdReader::new(&input[..], "m.lct"), "m.lct", lines);
    }

    #[test]
    fn a_mutated_std_trace_never_panics_and_each_error_names_its_line(
        which in 0usize..5,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = std_seeds();
        let (_, seed) = &seeds[which % seeds.len()];
        let input = mutated(seed, &mutations);
        let lines = line_count(&input);
        read_and_analyse(StdReader::new(&input[..], "m.std"), "m.std", lines);
        read_and_analyse(LockcheckReader::new(&input[..], "m.std"), "m.std", lines);
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// A mutated spool is merged or refused (naming the byte where its
    /// chunk framing broke), and what it merges into is read as above.
    #[test]
    fn a_mutated_spool_is_merged_or_refused_naming_where(
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let input = mutated(&as_spool(LOCKCHECK_SEED), &mutations);
        let dir = tempfile::tempdir().expect("temp dir");
        let (spool_path, out) = (dir.path().join("t.lct.spool"), dir.path().join("t.lct"));
        std::fs::write(&spool_path, &input).expect("write");
        match spool::finalize(&spool_path, &out, spool::Ending::Cut) {
            Ok(_) => {
                let merged = std::fs::read(&out).expect("the merged trace");
                let lines = line_count(&merged);
                read_and_analyse(LockcheckReader::new(&merged[..], "t.lct"), "t.lct", lines);
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{}", e);
                prop_assert!(e.to_string().contains(" at byte "), "{}", e);
            }
        }
    }

    /// Format detection and the analysis end to end, through `trace::open`
    /// as `lockcheck analyze` opens a file: the file is refused naming a
    /// line, or read with every error naming a line.
    #[test]
    fn a_mutated_file_is_detected_and_analysed_or_refused_naming_a_line(
        which in 0usize..6,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut seeds = std_seeds();
        seeds.push(("lockcheck".to_owned(), LOCKCHECK_SEED.as_bytes().to_vec()));
        let (_, seed) = &seeds[which % seeds.len()];
        let input = mutated(seed, &mutations);
        // A spool is read as the trace it merges into, with other lines.
        prop_assume!(!spool::is_spool(&input));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trace");
        std::fs::write(&path, &input).expect("write");
        let file = path.display().to_string();
        let lines = line_count(&input);
        match trace::open(&path, None) {
            Ok(events) => read_and_analyse(events, &file, lines),
            Err(e) => assert_names_a_line(&e, &file, lines),
        }
    }
}

/// The command itself on mutated traces: exit 0, 1 or 2 (never a panic's
/// 101), a JSON document on stdout unless the file was refused, and with
/// exit 2 a one-line error; every warning names `file:line`.
#[test]
fn lockcheck_analyze_on_mutated_traces_exits_0_1_or_2_with_lines_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seeds = std_seeds();
    seeds.push(("lockcheck".to_owned(), LOCKCHECK_SEED.as_bytes().to_vec()));
    let mut runner = proptest::test_runner::TestRunner::new(config(24));
    let strategy = (0..seeds.len(), prop::collection::vec(mutation(), 1..6));
    runner
        .run(&strategy, |(which, mutations)| {
            let input = mutated(&seeds[which].1, &mutations);
            let path = dir.path().join("trace");
            std::fs::write(&path, &input).expect("write");
            let file = path.to_str().expect("utf-8");
            let out = lockcheck(&["analyze", "--format", "json", file]);
            let err = stderr(&out);
            let code = out.status.code();
            prop_assert!(matches!(code, Some(0..=2)), "exit {:?}: {}", code, err);
            for line in err.lines() {
                if let Some(warning) = line.strip_prefix("lockcheck: warning: ") {
                    prop_assert!(warning.starts_with(&format!("{file}:")), "{}", line);
                }
            }
            let doc: Result<serde_json::Value, _> = serde_json::from_slice(&out.stdout);
            match doc {
                Ok(doc) => {
                    let skipped = doc["skipped_lines"].as_u64().unwrap_or(u64::MAX);
                    prop_assert_eq!(code == Some(2), skipped > 0, "{}", err);
                }
                Err(_) => {
                    // Refused: one line naming file:line.
                    prop_assert_eq!(code, Some(2));
                    prop_assert!(out.stdout.is_empty());
                    prop_assert!(
                        err.starts_with(&format!("lockcheck: error: {file}:")),
                        "{}",
                        err
                    );
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
